/* bench_inputs.c: the case matrix of `aplcl bench` and its inputs.
 *
 * Which storage x target combinations a shape gets (the default lists, --quick, --dtypes and
 * --targets), the generated logits and targets of one shape and regime with their derived forms
 * (f32 targets, BITS, CSR, 16-bit storage) built on first use, the byte count of a case, and
 * the check that a shape's buffers can fit before anything is allocated. Not the running or
 * checking of a case (bench_case.c, bench_check.c).
 */
#define _POSIX_C_SOURCE 200809L /* sysconf */
#include "bench_run.h"
#include "cases.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const bench_dtype_names[3] = {"f32", "f16", "bf16"};
const char *const bench_fmt_names[4] = {"f32", "u8", "bits", "csr"};

static const combo combos_quick[] = {
    {APLCL_DTYPE_F32, APLCL_TARGET_F32},  {APLCL_DTYPE_F32, APLCL_TARGET_U8},
    {APLCL_DTYPE_F32, APLCL_TARGET_BITS}, {APLCL_DTYPE_F32, APLCL_TARGET_CSR},
    {APLCL_DTYPE_F16, APLCL_TARGET_U8},   {APLCL_DTYPE_BF16, APLCL_TARGET_U8}};
static const combo combos_big[] = {{APLCL_DTYPE_F32, APLCL_TARGET_U8},
                                   {APLCL_DTYPE_F32, APLCL_TARGET_BITS},
                                   {APLCL_DTYPE_F32, APLCL_TARGET_CSR},
                                   {APLCL_DTYPE_BF16, APLCL_TARGET_U8}};

void bench_inputs_free(inputs *in) {
    free(in->x), free(in->y), free(in->yf), free(in->bits), free(in->row_ptr);
    free(in->indices), free(in->x16);
    memset(in, 0, sizeof *in);
}

size_t bench_dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }

float bench_from_storage(aplcl_dtype d, uint16_t h) {
    float f;
    cases_from_storage(d, &h, &f, 1);
    return f;
}

/* ---- derived inputs ---- */

int bench_ensure_targets(inputs *in, aplcl_target_format fmt) {
    size_t n = in->rows * in->cols;
    if (fmt == APLCL_TARGET_F32 && !in->yf) {
        if (!(in->yf = malloc(n * sizeof *in->yf)))
            return 1;
        for (size_t i = 0; i < n; ++i)
            in->yf[i] = (float)in->y[i];
    }
    if (fmt == APLCL_TARGET_BITS && !in->bits) {
        if (!(in->bits = malloc(in->rows * APLCL_BITS_WORDS(in->cols) * sizeof *in->bits)))
            return 1;
        if (cli_pack_u8(in->y, in->rows, in->cols, fmt, in->bits, NULL, NULL, 0))
            return 1;
    }
    if (fmt == APLCL_TARGET_CSR && !in->csr_ready) {
        in->nnz = cli_count_positives(in->y, n);
        in->row_ptr = malloc((in->rows + 1) * sizeof *in->row_ptr);
        in->indices = malloc((in->nnz ? in->nnz : 1) * sizeof *in->indices);
        if (!in->row_ptr || !in->indices)
            return 1;
        if (cli_pack_u8(in->y, in->rows, in->cols, fmt, NULL, in->row_ptr, in->indices, in->nnz))
            return 1;
        in->csr_ready = 1;
    }
    return 0;
}

int bench_ensure_storage(inputs *in, aplcl_dtype d) {
    if (d == APLCL_DTYPE_F32 || (in->x16 && in->x16_dtype == d))
        return 0;
    size_t n = in->rows * in->cols;
    if (!in->x16 && !(in->x16 = malloc(n * sizeof *in->x16)))
        return 1;
    if (d == APLCL_DTYPE_F16)
        aplcl_f32_to_f16(in->x, in->x16, n);
    else
        aplcl_f32_to_bf16(in->x, in->x16, n);
    in->x16_dtype = d;
    return 0;
}

uint64_t bench_targets_bytes(size_t rows, size_t cols, aplcl_target_format fmt) {
    uint64_t n = (uint64_t)rows * cols;
    switch (fmt) {
    case APLCL_TARGET_F32:
        return 4 * n;
    case APLCL_TARGET_U8:
        return n;
    case APLCL_TARGET_BITS:
        return (uint64_t)rows * APLCL_BITS_WORDS(cols) * 4;
    default:
        return ((uint64_t)rows + 1) * 8;
    }
}

/* Bytes one call moves, by the formula in the output header. */
double bench_case_bytes(const inputs *in, combo c, int acc) {
    double n = (double)in->rows * (double)in->cols, ds = (double)bench_dtype_bytes(c.dtype);
    double t = (double)bench_targets_bytes(in->rows, in->cols, c.fmt);
    if (c.fmt == APLCL_TARGET_CSR)
        t += (double)in->nnz * 4.0;
    return n * ds + t + n * ds + (acc ? n * ds : 0.0);
}

/* ---- case lists ---- */

size_t bench_case_combos(const bench_state *s, shape sh, combo *out) {
    size_t k = 0;
    if (s->dtype_mask || s->fmt_mask) {
        unsigned dm = s->dtype_mask ? s->dtype_mask : 1u, fm = s->fmt_mask ? s->fmt_mask : 2u;
        for (int d = 0; d < 3; ++d)
            for (int f = 0; f < 4; ++f)
                if ((dm >> d & 1) && (fm >> f & 1))
                    out[k++] = (combo){(aplcl_dtype)d, (aplcl_target_format)f};
        return k;
    }
    if (s->quick) {
        memcpy(out, combos_quick, sizeof combos_quick);
        return sizeof combos_quick / sizeof combos_quick[0];
    }
    if (sh.rows * sh.cols > BIG_ELEMS) {
        memcpy(out, combos_big, sizeof combos_big);
        return sizeof combos_big / sizeof combos_big[0];
    }
    for (int d = 0; d < 3; ++d)
        for (int f = 0; f < 4; ++f)
            out[k++] = (combo){(aplcl_dtype)d, (aplcl_target_format)f};
    return k;
}

int bench_make_inputs(inputs *in, shape sh, int trained) {
    memset(in, 0, sizeof *in);
    size_t n = sh.rows * sh.cols;
    in->rows = sh.rows, in->cols = sh.cols, in->trained = trained;
    in->seed = cli_bench_seed(sh.rows, sh.cols, trained);
    in->x = malloc(n * sizeof *in->x);
    in->y = malloc(n);
    if (!in->x || !in->y) {
        bench_inputs_free(in);
        fprintf(stderr, "aplcl bench: %zux%zu: out of host memory\n", sh.rows, sh.cols);
        return 1;
    }
    cli_bench_make_inputs(sh.rows, sh.cols, trained, in->seed, in->x, in->y);
    return 0;
}

/* Bytes of a case's largest device buffer: the logits and the gradient (N*C in the storage type)
 * or the targets. CSR indices are left out: nnz is not known before generating, and at the
 * positive rate (at most 1/2) they take at most as many bytes as 16-bit logits. */
static uint64_t largest_buffer(shape sh, combo c) {
    uint64_t b = (uint64_t)sh.rows * sh.cols * bench_dtype_bytes(c.dtype);
    uint64_t t = bench_targets_bytes(sh.rows, sh.cols, c.fmt);
    return t > b ? t : b;
}

int bench_shape_fits(const combo *cl, size_t nc, shape sh, uint64_t max_alloc, char *why,
                     size_t cap) {
    /* 16 bytes per element bound every buffer below (host: 5 + 2 + 4 + CSR's ~4 + bits). */
    if (!sh.rows || !sh.cols || sh.rows > SIZE_MAX / 16 / sh.cols) {
        snprintf(why, cap, "%zu x %zu elements overflow the host's address space", sh.rows,
                 sh.cols);
        return 1;
    }
    uint64_t n = (uint64_t)sh.rows * sh.cols, host = 5 * n; /* f32 logits and u8 targets */
    int any16 = 0, anyf32 = 0, anybits = 0, anycsr = 0;
    for (size_t k = 0; k < nc; ++k) {
        uint64_t b = largest_buffer(sh, cl[k]);
        if (max_alloc && b > max_alloc) {
            snprintf(why, cap,
                     "the %s/%s case needs a %llu-byte buffer, above the device's largest "
                     "allocation (CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes)",
                     bench_dtype_names[cl[k].dtype], bench_fmt_names[cl[k].fmt],
                     (unsigned long long)b, (unsigned long long)max_alloc);
            return 1;
        }
        any16 |= cl[k].dtype != APLCL_DTYPE_F32;
        anyf32 |= cl[k].fmt == APLCL_TARGET_F32;
        anybits |= cl[k].fmt == APLCL_TARGET_BITS;
        anycsr |= cl[k].fmt == APLCL_TARGET_CSR;
    }
    /* The derived forms stay for all of a shape's cases; CSR at the positive rate (<= 1/2). */
    host +=
        (any16 ? 2 * n : 0) + (anyf32 ? 4 * n : 0) + (anycsr ? 8 * (uint64_t)sh.rows + 2 * n : 0);
    host += anybits ? bench_targets_bytes(sh.rows, sh.cols, APLCL_TARGET_BITS) : 0;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t phys = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    if (phys && host > phys) {
        snprintf(why, cap,
                 "its inputs need about %llu bytes of host memory, above the %llu bytes this "
                 "machine has",
                 (unsigned long long)host, (unsigned long long)phys);
        return 1;
    }
    return 0;
}

void bench_each_case(bench_state *s, const bench_backend *b, inputs *loaded) {
    combo cl[MAX_COMBOS];
    for (int si = 0; si < s->nshapes; ++si) {
        size_t nc = bench_case_combos(s, s->shapes[si], cl);
        char why[256];
        if (bench_shape_fits(cl, nc, s->shapes[si], b->max_alloc, why, sizeof why)) {
            bench_progress_clear(s);
            fprintf(stderr, "aplcl bench: %zux%zu on device %s: %s; shape skipped\n",
                    s->shapes[si].rows, s->shapes[si].cols, b->id, why);
            ++s->failures;
            s->case_no += (int)nc * s->nregimes;
            continue;
        }
        for (int ri = 0; ri < s->nregimes; ++ri) {
            inputs gen, *in = loaded;
            if (!s->load_dir) {
                bench_progress(s, s->shapes[si].rows * s->shapes[si].cols,
                               "generating %zux%zu %s inputs", s->shapes[si].rows,
                               s->shapes[si].cols, s->regimes[ri] ? "trained" : "early");
                if (bench_make_inputs(&gen, s->shapes[si], s->regimes[ri])) {
                    ++s->failures;
                    continue;
                }
                in = &gen;
            }
            for (size_t k = 0; k < nc; ++k)
                b->run(s, b->dev, in, cl[k]);
            if (b->after_regime)
                b->after_regime(s, b->dev, in);
            if (!s->load_dir)
                bench_inputs_free(&gen);
        }
    }
}
