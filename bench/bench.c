/* bench.c: `aplcl bench`, throughput of the fused loss + gradient per device, case by case.
 *
 * Per device: the copy bandwidth of a float4 copy kernel (the yardstick), then each case (shape x
 * logit regime x storage type x target format): checked against the CPU reference, warmed up,
 * timed over repeats, reported as time, elements/s, GB/s by a written-down byte count and the
 * fraction of the copy bandwidth. Also writes/reads fixed inputs for bench/peer.py. Not a test:
 * `aplcl check` and tests/ cover correctness; a case is only checked here so no wrong result is
 * ever timed.
 */
#define _POSIX_C_SOURCE 200809L /* isatty, mkdir */
#include "bench.h"
#include "bench_head.h"
#include "cases.h"
#include "cli.h"
#include "plainc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SHAPES 32
#define WARMUPS 2
#define MIN_AUTO_REPS 5
/* Shapes above this many elements get the short list of storage/target combinations. */
#define BIG_ELEMS ((size_t)8 << 20)
/* With --accumulate the gradient buffer starts at this value (exact in f32, f16 and bf16). */
#define ACC_START 0.25f

static const char *const dtype_names[] = {"f32", "f16", "bf16"};
static const char *const fmt_names[] = {"f32", "u8", "bits", "csr"};

typedef struct {
    aplcl_dtype dtype;
    aplcl_target_format fmt;
} combo;

static const combo combos_quick[] = {
    {APLCL_DTYPE_F32, APLCL_TARGET_F32},  {APLCL_DTYPE_F32, APLCL_TARGET_U8},
    {APLCL_DTYPE_F32, APLCL_TARGET_BITS}, {APLCL_DTYPE_F32, APLCL_TARGET_CSR},
    {APLCL_DTYPE_F16, APLCL_TARGET_U8},   {APLCL_DTYPE_BF16, APLCL_TARGET_U8}};
static const combo combos_big[] = {{APLCL_DTYPE_F32, APLCL_TARGET_U8},
                                   {APLCL_DTYPE_F32, APLCL_TARGET_BITS},
                                   {APLCL_DTYPE_F32, APLCL_TARGET_CSR},
                                   {APLCL_DTYPE_BF16, APLCL_TARGET_U8}};

typedef struct {
    size_t rows, cols;
} shape;

typedef struct {
    /* options */
    const char *device, *csv, *json, *chart, *save_dir, *load_dir;
    int quick, accumulate, fixed_reps, max_reps, force_wall, shapes_given;
    double budget_s; /* auto reps: stop adding repeats past this much timing per case */
    shape shapes[MAX_SHAPES];
    int nshapes;
    int regimes[2], nregimes;
    unsigned dtype_mask, fmt_mask; /* 0: the default combinations per shape */
    /* state */
    FILE *human, *csvf, *jsonf;
    int tty;
    cli_bench_row *rows;
    size_t nrows, caprows;
    int failures, ncases, case_no;
} bench_state;

/* One shape and regime's inputs, with the derived forms built on first use. */
typedef struct {
    size_t rows, cols;
    int trained;
    uint64_t seed;
    float *x;
    uint8_t *y;
    float *yf;
    uint32_t *bits;
    uint64_t *row_ptr;
    uint32_t *indices;
    size_t nnz;
    int csr_ready;
    uint16_t *x16;
    aplcl_dtype x16_dtype;
} inputs;

static void inputs_free(inputs *in) {
    free(in->x), free(in->y), free(in->yf), free(in->bits), free(in->row_ptr);
    free(in->indices), free(in->x16);
    memset(in, 0, sizeof *in);
}

static size_t dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }

static float from_storage(aplcl_dtype d, uint16_t h) {
    float f;
    cases_from_storage(d, &h, &f, 1);
    return f;
}

/* ---- progress (stderr) ---- */

static void progress(bench_state *s, size_t elems, const char *fmt, ...) {
    if (s->quick || s->human == stderr)
        return;
    if (!s->tty && elems < BIG_ELEMS)
        return; /* in a log, only the slow cases */
    va_list ap;
    va_start(ap, fmt);
    fputs(s->tty ? "\r\033[K" : "", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(s->tty ? "" : "\n", stderr);
    fflush(stderr);
    va_end(ap);
}

static void progress_clear(bench_state *s) {
    if (s->tty && !s->quick && s->human != stderr)
        fputs("\r\033[K", stderr);
}

/* ---- output ---- */

static void emit(bench_state *s, const cli_bench_row *r) {
    if (s->nrows == s->caprows) {
        size_t cap = s->caprows ? 2 * s->caprows : 64;
        cli_bench_row *n = realloc(s->rows, cap * sizeof *n);
        if (!n) {
            fprintf(stderr, "aplcl bench: out of memory\n");
            exit(1);
        }
        s->rows = n, s->caprows = cap;
    }
    s->rows[s->nrows++] = *r;
    if (s->csvf)
        cli_bench_csv_row(s->csvf, r);
    if (s->jsonf)
        cli_bench_json_row(s->jsonf, r);
    progress_clear(s);
    char combo_s[24], chk[40];
    snprintf(combo_s, sizeof combo_s, "%s/%s%s", r->dtype, r->targets, r->accumulate ? "+acc" : "");
    if (isnan(r->err_tol))
        snprintf(chk, sizeof chk, "%s", r->checked);
    else
        snprintf(chk, sizeof chk, "%s (%.2f)", r->checked, r->err_tol);
    if (isnan(r->median_ms)) {
        fprintf(s->human, "%-12s %-7s %-13s %9s %9s %9s %4s %8s %7s %7s  %s\n", r->shape, r->regime,
                combo_s, "-", "-", "-", "-", "-", "-", "-", chk);
    } else {
        char frac[16] = "-";
        if (!isnan(r->frac_copy))
            snprintf(frac, sizeof frac, "%.1f%%", 100.0 * r->frac_copy);
        fprintf(s->human, "%-12s %-7s %-13s %9.3f %9.3f %9.3f %4d %8.3f %7.2f %7s  %s\n", r->shape,
                r->regime, combo_s, r->median_ms, r->min_ms, r->max_ms, r->reps, r->gelem_s,
                r->gb_s, frac, chk);
    }
    fflush(s->human);
}

static void table_header(bench_state *s) {
    fprintf(s->human, "%-12s %-7s %-13s %9s %9s %9s %4s %8s %7s %7s  %s\n", "shape", "regime",
            "dtype/targets", "median_ms", "min_ms", "max_ms", "reps", "Gelem/s", "GB/s", "of_copy",
            "check (worst err/tol)");
}

/* ---- derived inputs ---- */

static int ensure_targets(inputs *in, aplcl_target_format fmt) {
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
        if (cli_bench_pack(in->y, in->rows, in->cols, fmt, in->bits, NULL, NULL, 0))
            return 1;
    }
    if (fmt == APLCL_TARGET_CSR && !in->csr_ready) {
        in->nnz = cli_count_positives(in->y, n);
        in->row_ptr = malloc((in->rows + 1) * sizeof *in->row_ptr);
        in->indices = malloc((in->nnz ? in->nnz : 1) * sizeof *in->indices);
        if (!in->row_ptr || !in->indices)
            return 1;
        if (cli_bench_pack(in->y, in->rows, in->cols, fmt, NULL, in->row_ptr, in->indices, in->nnz))
            return 1;
        in->csr_ready = 1;
    }
    return 0;
}

static int ensure_storage(inputs *in, aplcl_dtype d) {
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

/* Bytes one call moves, by the formula in the output header. */
static double case_bytes(const inputs *in, combo c, int acc) {
    double n = (double)in->rows * (double)in->cols, ds = (double)dtype_bytes(c.dtype), t;
    switch (c.fmt) {
    case APLCL_TARGET_F32:
        t = 4.0 * n;
        break;
    case APLCL_TARGET_U8:
        t = n;
        break;
    case APLCL_TARGET_BITS:
        t = (double)in->rows * (double)APLCL_BITS_WORDS(in->cols) * 4.0;
        break;
    default:
        t = ((double)in->rows + 1) * 8.0 + (double)in->nnz * 4.0;
        break;
    }
    return n * ds + t + n * ds + (acc ? n * ds : 0.0);
}

/* ---- the check against the CPU reference ---- */

typedef struct {
    int ok;
    double err_tol, loss_dev, loss_ref;
    char why[160];
} check_result;

static void check_case(aplcl_ctx *ctx, const aplcl_params *p, inputs *in, combo c, int acc,
                       cl_mem grad, cl_mem loss, cl_mem counts, check_result *res) {
    cl_command_queue q = aplcl_ctx_queue(ctx);
    size_t rows = in->rows, cols = in->cols, n = rows * cols, ds = dtype_bytes(c.dtype);
    size_t crows = ((size_t)1 << 20) / cols;
    if (crows == 0)
        crows = 1;
    if (crows > rows)
        crows = rows;
    size_t cn = crows * cols;
    float *xr = c.dtype == APLCL_DTYPE_F32 ? NULL : malloc(cn * sizeof *xr);
    float *yf = malloc(cn * sizeof *yf);
    double *rg = malloc(cn * sizeof *rg);
    unsigned char *gd = malloc(cn * ds);
    res->ok = 0;
    res->err_tol = 0.0;
    if ((c.dtype != APLCL_DTYPE_F32 && !xr) || !yf || !rg || !gd) {
        snprintf(res->why, sizeof res->why, "out of host memory");
        goto out;
    }
    float dloss = 0.0f;
    cl_ulong cnt[APLCL_COUNT_LEN] = {0};
    cl_int err = clEnqueueReadBuffer(q, loss, CL_TRUE, 0, sizeof dloss, &dloss, 0, NULL, NULL);
    if (!err)
        err = clEnqueueReadBuffer(q, counts, CL_TRUE, 0, sizeof cnt, cnt, 0, NULL, NULL);
    if (err) {
        snprintf(res->why, sizeof res->why, "reading results: OpenCL error %d", (int)err);
        goto out;
    }
    if (cnt[APLCL_COUNT_ELEMENTS] != n || cnt[APLCL_COUNT_INVALID_TARGETS] ||
        cnt[APLCL_COUNT_NONFINITE_LOGITS]) {
        snprintf(res->why, sizeof res->why,
                 "counts: %llu elements (expected %zu), %llu invalid targets, %llu non-finite",
                 (unsigned long long)cnt[0], n, (unsigned long long)cnt[1],
                 (unsigned long long)cnt[2]);
        goto out;
    }
    /* The tolerance rule of the tests and `aplcl check` (common/cases.h), per storage type; the
     * gradient multiplier is grad_scale (SUM). Accumulating: against ref + ACC_START, with the
     * start value's rounding on top. Against the rule bench used before (rel 1e-5 / 1e-3 / 8e-3,
     * floor 1e-7): tighter everywhere except f16 elements with |ref| < 1.6e-4, where the floor is
     * 1e-7 + 2^-24 (f16's subnormal spacing) instead of 1e-7, as the tests have it; the old floor
     * did not cover the kernel's 1e-7 plus the f16 rounding of a subnormal gradient. */
    double rtol = cases_grad_rtol(c.dtype), scale = fabs((double)p->grad_scale);
    double atol =
        acc ? cases_grad_acc_atol(c.dtype, scale, ACC_START) : cases_grad_atol(c.dtype, scale);
    double ref_loss = 0.0, worst = 0.0;
    size_t bad = 0, first_bad = 0;
    double bad_dev = 0, bad_ref = 0;
    for (size_t r0 = 0; r0 < rows; r0 += crows) {
        size_t nr = rows - r0 < crows ? rows - r0 : crows, m = nr * cols, base = r0 * cols;
        const float *xl = in->x + base;
        if (xr) {
            for (size_t i = 0; i < m; ++i)
                xr[i] = from_storage(c.dtype, in->x16[base + i]);
            xl = xr;
        }
        for (size_t i = 0; i < m; ++i)
            yf[i] = (float)in->y[base + i];
        double l = 0.0;
        aplcl_status st = aplcl_ref_compute(p, nr, cols, xl, yf, rg, NULL, &l);
        if (st != APLCL_SUCCESS) {
            snprintf(res->why, sizeof res->why, "reference: %s", aplcl_status_string(st));
            goto out;
        }
        ref_loss += l;
        err = clEnqueueReadBuffer(q, grad, CL_TRUE, base * ds, m * ds, gd, 0, NULL, NULL);
        if (err) {
            snprintf(res->why, sizeof res->why, "reading gradient: OpenCL error %d", (int)err);
            goto out;
        }
        for (size_t i = 0; i < m; ++i) {
            double dev;
            if (c.dtype == APLCL_DTYPE_F32) {
                float f;
                memcpy(&f, gd + 4 * i, 4);
                dev = f;
            } else {
                uint16_t h;
                memcpy(&h, gd + 2 * i, 2);
                dev = from_storage(c.dtype, h);
            }
            double ref = rg[i] + (acc ? ACC_START : 0.0);
            double e = fabs(dev - ref) / cases_tol(ref, rtol, atol);
            if (!(e <= 1.0)) {
                if (!bad++)
                    first_bad = base + i, bad_dev = dev, bad_ref = ref;
            }
            if (!(e <= worst))
                worst = e; /* NaN sticks */
        }
    }
    res->loss_dev = dloss;
    res->loss_ref = ref_loss;
    double le = fabs((double)dloss - ref_loss) /
                cases_tol(ref_loss, CASES_SUM_RTOL, CASES_ATOL * cases_loss_scale(p, n));
    if (!(le <= worst))
        worst = le;
    res->err_tol = worst;
    if (bad) {
        snprintf(res->why, sizeof res->why,
                 "%zu gradient elements out of tolerance, first at %zu: %.9g vs reference %.9g",
                 bad, first_bad, bad_dev, bad_ref);
        goto out;
    }
    if (!(le <= 1.0)) {
        snprintf(res->why, sizeof res->why, "loss %.9g vs reference %.9g", (double)dloss, ref_loss);
        goto out;
    }
    res->ok = 1;
out:
    free(xr), free(yf), free(rg), free(gd);
}

/* ---- one case ---- */

typedef struct {
    aplcl_ctx *ctx;
    char id[16];
    cli_copy_result copy;
    int timing;
} device_state;

static void row_init(cli_bench_row *r, const device_state *d, const inputs *in, combo c, int acc) {
    memset(r, 0, sizeof *r);
    snprintf(r->device, sizeof r->device, "%s", d ? aplcl_ctx_device_name(d->ctx) : "");
    snprintf(r->device_id, sizeof r->device_id, "%s", d ? d->id : "cpu");
    snprintf(r->shape, sizeof r->shape, "%zux%zu", in->rows, in->cols);
    r->regime = in->trained ? "trained" : "early";
    r->targets = fmt_names[c.fmt];
    r->dtype = dtype_names[c.dtype];
    r->accumulate = acc;
    r->median_ms = r->min_ms = r->max_ms = r->gelem_s = r->gb_s = NAN;
    r->copy_gb_s = d ? d->copy.gb_s : NAN;
    r->frac_copy = r->err_tol = r->loss = NAN;
    r->bytes = NAN;
    r->timing = d ? cli_timing_name(d->timing) : "wall";
}

static cl_mem make_buffer(cl_context c, cl_mem_flags flags, size_t bytes, const void *host,
                          cl_int *err) {
    if (*err != CL_SUCCESS)
        return NULL;
    return clCreateBuffer(c, flags | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes ? bytes : 4,
                          (void *)host, err);
}

static void run_case(bench_state *s, device_state *d, inputs *in, combo c) {
    aplcl_ctx *ctx = d->ctx;
    cl_context cc = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    aplcl_params p = aplcl_params_default();
    size_t rows = in->rows, cols = in->cols, n = rows * cols, ds = dtype_bytes(c.dtype);
    int acc = s->accumulate;
    cli_bench_row r;
    row_init(&r, d, in, c, acc);
    ++s->case_no;
    char what[96];
    snprintf(what, sizeof what, "[%d/%d] %s %s %s/%s", s->case_no, s->ncases, r.shape, r.regime,
             r.dtype, r.targets);
    cl_mem bx = NULL, bt = NULL, bi = NULL, bg = NULL, bl = NULL, bc = NULL;
    double *times = NULL;
    if (ensure_storage(in, c.dtype) || ensure_targets(in, c.fmt)) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: out of host memory\n", what);
        ++s->failures;
        goto out;
    }
    r.bytes = case_bytes(in, c, acc);
    const void *xs = c.dtype == APLCL_DTYPE_F32 ? (const void *)in->x : (const void *)in->x16;
    const void *td = c.fmt == APLCL_TARGET_F32    ? (const void *)in->yf
                     : c.fmt == APLCL_TARGET_U8   ? (const void *)in->y
                     : c.fmt == APLCL_TARGET_BITS ? (const void *)in->bits
                                                  : (const void *)in->row_ptr;
    size_t tbytes = c.fmt == APLCL_TARGET_F32    ? n * 4
                    : c.fmt == APLCL_TARGET_U8   ? n
                    : c.fmt == APLCL_TARGET_BITS ? rows * APLCL_BITS_WORDS(cols) * 4
                                                 : (rows + 1) * 8;
    aplcl_io io;
    memset(&io, 0, sizeof io); /* what aplcl_io_default() gives */
    io.dtype = c.dtype;
    io.targets.format = c.fmt;
    io.grad_accumulate = acc;
    if (c.fmt == APLCL_TARGET_CSR)
        io.targets.nnz = in->nnz;
    progress(s, n, "%s: uploading", what);
    cl_int err = CL_SUCCESS;
    bx = make_buffer(cc, CL_MEM_READ_ONLY, n * ds, xs, &err);
    bt = make_buffer(cc, CL_MEM_READ_ONLY, tbytes, td, &err);
    if (c.fmt == APLCL_TARGET_CSR && in->nnz)
        bi = make_buffer(cc, CL_MEM_READ_ONLY, in->nnz * 4, in->indices, &err);
    bg = make_buffer(cc, CL_MEM_READ_WRITE, n * ds, NULL, &err);
    bl = make_buffer(cc, CL_MEM_READ_WRITE, sizeof(cl_float), NULL, &err);
    bc = make_buffer(cc, CL_MEM_READ_WRITE, APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, &err);
    if (err == CL_SUCCESS && acc) {
        float f = ACC_START;
        float fr = f; /* ACC_START is exact in every storage type */
        uint16_t h = 0;
        if (c.dtype != APLCL_DTYPE_F32)
            cases_to_storage(c.dtype, &fr, &h, 1);
        err = clEnqueueFillBuffer(q, bg, c.dtype == APLCL_DTYPE_F32 ? (void *)&f : (void *)&h, ds,
                                  0, n * ds, 0, NULL, NULL);
    }
    if (err != CL_SUCCESS) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: creating buffers: OpenCL error %d\n", what, (int)err);
        ++s->failures;
        goto out;
    }
    io.logits = bx;
    io.targets.data = bt;
    io.targets.indices = bi;
    io.grad = bg;
    io.loss = bl;
    io.counts = bc;

    progress(s, n, "%s: checking against the CPU reference", what);
    aplcl_status st = aplcl_compute_io(ctx, &p, rows, cols, &io, 0, NULL, NULL);
    if (st == APLCL_SUCCESS && clFinish(q) != CL_SUCCESS)
        st = APLCL_ERR_OPENCL;
    if (st != APLCL_SUCCESS) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: %s (OpenCL error %d)\n", what, aplcl_status_string(st),
                (int)aplcl_last_cl_error());
        if (st == APLCL_ERR_KERNEL_BUILD)
            fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++s->failures;
        goto out;
    }
    check_result cr;
    check_case(ctx, &p, in, c, acc, bg, bl, bc, &cr);
    r.err_tol = cr.err_tol;
    r.loss = cr.loss_dev;
    if (!cr.ok) {
        r.checked = "MISMATCH";
        progress_clear(s);
        fprintf(stderr, "aplcl bench: %s: MISMATCH, not timed: %s\n", what, cr.why);
        ++s->failures;
        goto out;
    }
    r.checked = "ok";

    /* Timing: the loss is written (an engine logs it), the counters are not. */
    io.counts = NULL;
    progress(s, n, "%s: timing", what);
    double warm = 0.0;
    for (int i = 0; i < WARMUPS; ++i) {
        if ((st = cli_bench_time_call(ctx, &d->timing, &p, rows, cols, &io, &warm)) !=
            APLCL_SUCCESS)
            break;
    }
    int reps = s->fixed_reps;
    if (!reps) {
        reps = s->max_reps;
        if (warm > 0 && warm * reps > s->budget_s)
            reps = (int)(s->budget_s / warm);
        if (reps < MIN_AUTO_REPS)
            reps = MIN_AUTO_REPS;
        if (reps > s->max_reps)
            reps = s->max_reps;
    }
    times = malloc((size_t)reps * sizeof *times);
    for (int i = 0; st == APLCL_SUCCESS && times && i < reps; ++i)
        st = cli_bench_time_call(ctx, &d->timing, &p, rows, cols, &io, &times[i]);
    if (!times || st != APLCL_SUCCESS) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: timing: %s\n", what,
                times ? aplcl_status_string(st) : "out of host memory");
        ++s->failures;
        goto out;
    }
    double med, mn, mx;
    cli_stats(times, reps, &med, &mn, &mx);
    r.reps = reps;
    r.timing = cli_timing_name(d->timing);
    r.median_ms = med * 1e3, r.min_ms = mn * 1e3, r.max_ms = mx * 1e3;
    r.gelem_s = (double)n / med * 1e-9;
    r.gb_s = r.bytes / med * 1e-9;
    r.frac_copy = d->copy.gb_s > 0 ? r.gb_s / d->copy.gb_s : NAN;
out:
    emit(s, &r);
    const cl_mem ms[] = {bx, bt, bi, bg, bl, bc};
    cli_release_all(ms, sizeof ms / sizeof ms[0]);
    free(times);
}

/* ---- case lists ---- */

static size_t case_combos(const bench_state *s, shape sh, combo *out) {
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

static int make_inputs(inputs *in, shape sh, int trained) {
    memset(in, 0, sizeof *in);
    size_t n = sh.rows * sh.cols;
    in->rows = sh.rows, in->cols = sh.cols, in->trained = trained;
    in->seed = cli_bench_seed(sh.rows, sh.cols, trained);
    in->x = malloc(n * sizeof *in->x);
    in->y = malloc(n);
    if (!in->x || !in->y) {
        inputs_free(in);
        fprintf(stderr, "aplcl bench: %zux%zu: out of host memory\n", sh.rows, sh.cols);
        return 1;
    }
    cli_bench_make_inputs(sh.rows, sh.cols, trained, in->seed, in->x, in->y);
    return 0;
}

static void print_device_header(bench_state *s, device_state *d) {
    FILE *h = s->human;
    fprintf(h, "\naplcl bench: device %s: %s\n", d->id, aplcl_ctx_device_name(d->ctx));
    if (d->copy.gb_s > 0)
        fprintf(h,
                "copy bandwidth: float4 copy kernel over %zu MiB, kernel profiling events, "
                "median of %d: %.3f ms (min %.3f, max %.3f) -> %.2f GB/s (2 x bytes / time)\n",
                d->copy.bytes >> 20, d->copy.reps, d->copy.median_s * 1e3, d->copy.min_s * 1e3,
                d->copy.max_s * 1e3, d->copy.gb_s);
    else
        fprintf(h, "copy bandwidth: not measured (the copy kernel failed); no fraction shown\n");
    fprintf(h, "timing: %s; median, min and max of ", cli_timing_description(d->timing));
    if (s->fixed_reps)
        fprintf(h, "%d repeats", s->fixed_reps);
    else
        fprintf(h, "up to %d repeats (fewer, at least %d, where more would take over %.0f s)",
                s->max_reps, MIN_AUTO_REPS, s->budget_s);
    fprintf(h, " after %d warm-up calls\n", WARMUPS);
    fprintf(h,
            "case: aplcl_params_default() (reference APL), SUM, gradient%s and loss written;"
            " dtype = storage of logits and gradient\n",
            s->accumulate ? " accumulated (grad +=)" : "");
    fprintf(h,
            "bytes per call: logits read + targets read + gradient written%s; "
            "f32 4, f16/bf16 2 bytes per element; targets f32 4, u8 1 per element, "
            "bits N*ceil(C/32)*4, csr (N+1)*8 + nnz*4\n",
            s->accumulate ? " + gradient read" : "");
    fprintf(h, "check: each gradient element against aplcl_ref_compute (16-bit storage: on the "
               "rounded logits), |dev-ref| <= max(rtol |ref|, atol), rtol 1e-5 (+2^-11 f16, "
               "+2^-8 bf16), atol 1e-7 (+2^-24 f16); loss within 1e-6 relative\n");
    table_header(s);
}

/* Runs a tiny case once to learn whether marker profiling works (the header says which). */
static void probe_timing(device_state *d) {
    cl_context cc = aplcl_ctx_cl_context(d->ctx);
    float x[64] = {0};
    uint8_t y[64] = {0};
    cl_int err = CL_SUCCESS;
    cl_mem bx = make_buffer(cc, CL_MEM_READ_ONLY, sizeof x, x, &err);
    cl_mem by = make_buffer(cc, CL_MEM_READ_ONLY, sizeof y, y, &err);
    cl_mem bg = make_buffer(cc, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    if (err == CL_SUCCESS) {
        aplcl_io io;
        memset(&io, 0, sizeof io);
        io.logits = bx, io.targets.format = APLCL_TARGET_U8, io.targets.data = by, io.grad = bg;
        aplcl_params p = aplcl_params_default();
        double t;
        cli_bench_time_call(d->ctx, &d->timing, &p, 1, 64, &io, &t);
    }
    cli_release_all((const cl_mem[]){bx, by, bg}, 3);
}

static int open_device(bench_state *s, const char *spec, device_state *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", spec);
    aplcl_status st = aplcl_ctx_create(&d->ctx, spec);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl bench: device '%s': %s\n", spec, aplcl_status_string(st));
        if (st == APLCL_ERR_KERNEL_BUILD)
            fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++s->failures;
        return 1;
    }
    if (cli_bench_copy_bandwidth(d->ctx, s->quick ? 5 : 10, &d->copy))
        d->copy.gb_s = 0;
    d->timing = s->force_wall ? CLI_TIMING_WALL : CLI_TIMING_EVENTS;
    probe_timing(d);
    print_device_header(s, d);
    return 0;
}

/* The CPU reference on the loaded inputs, wall clock (for bench/peer.py). */
static void time_reference(bench_state *s, inputs *in) {
    size_t n = in->rows * in->cols;
    cli_bench_row r;
    combo c = {APLCL_DTYPE_F32, APLCL_TARGET_F32};
    row_init(&r, NULL, in, c, 0);
    snprintf(r.device, sizeof r.device, "CPU reference (aplcl_ref_compute, double, 1 thread)");
    r.checked = "reference";
    r.bytes = (double)n * (4 + 4 + 8); /* logits, float targets read; double gradient written */
    double *g = malloc(n * sizeof *g);
    int reps = s->fixed_reps ? s->fixed_reps : s->max_reps;
    double *t = malloc((size_t)reps * sizeof *t);
    aplcl_params p = aplcl_params_default();
    if (!g || !t || ensure_targets(in, APLCL_TARGET_F32)) {
        r.checked = "error";
        ++s->failures;
        goto out;
    }
    fprintf(s->human, "\naplcl bench: CPU reference (aplcl_ref_compute: double precision, one "
                      "thread, f32 inputs, double gradient), host wall clock, 1 warm-up call\n");
    table_header(s);
    double loss = 0.0, t0 = cli_now_s();
    aplcl_ref_compute(&p, in->rows, in->cols, in->x, in->yf, g, NULL, &loss);
    double warm = cli_now_s() - t0;
    if (!s->fixed_reps && warm * reps > s->budget_s) {
        reps = (int)(s->budget_s / warm);
        if (reps < MIN_AUTO_REPS)
            reps = MIN_AUTO_REPS;
        if (reps > s->max_reps)
            reps = s->max_reps;
    }
    for (int i = 0; i < reps; ++i) {
        t0 = cli_now_s();
        aplcl_ref_compute(&p, in->rows, in->cols, in->x, in->yf, g, NULL, &loss);
        t[i] = cli_now_s() - t0;
    }
    double med, mn, mx;
    cli_stats(t, reps, &med, &mn, &mx);
    r.reps = reps;
    r.loss = loss;
    r.median_ms = med * 1e3, r.min_ms = mn * 1e3, r.max_ms = mx * 1e3;
    r.gelem_s = (double)n / med * 1e-9;
    r.gb_s = r.bytes / med * 1e-9;
out:
    emit(s, &r);
    free(g), free(t);
}

/* The plain-C yardstick (plainc.c) on the same inputs, after the kernel's cases; not on the big
 * shapes (its own gradient buffer would add up to 655 MB of host memory). */
static void plainc_case(bench_state *s, const device_state *d, const inputs *in) {
    if (in->rows * in->cols > BIG_ELEMS)
        return;
    cli_bench_row r;
    cli_plainc_row(in->x, in->y, in->rows, in->cols, in->trained,
                   s->fixed_reps ? s->fixed_reps : s->max_reps, d->copy.gb_s, &r);
    s->failures += strcmp(r.checked, "ok") != 0;
    emit(s, &r);
    cli_plainc_ratio(s->human, s->rows, s->nrows);
}

/* ---- options ---- */

static int parse_shapes(bench_state *s, const char *list) {
    s->nshapes = 0;
    const char *p = list;
    while (*p) {
        char *end;
        errno = 0;
        unsigned long long r = strtoull(p, &end, 10);
        if (end == p || (*end != 'x' && *end != 'X'))
            return 1;
        p = end + 1;
        unsigned long long c = strtoull(p, &end, 10);
        if (end == p || errno || !r || !c || c > UINT32_MAX || r > SIZE_MAX / c / 8)
            return 1;
        if (s->nshapes == MAX_SHAPES)
            return 1;
        s->shapes[s->nshapes++] = (shape){(size_t)r, (size_t)c};
        p = end;
        if (*p == ',')
            ++p;
        else if (*p)
            return 1;
    }
    return s->nshapes == 0;
}

static int parse_names(const char *list, const char *const *names, int count, unsigned *mask) {
    *mask = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int i = 0;
        while (i < count && strcmp(tok, names[i]) != 0)
            ++i;
        if (i == count)
            return 1;
        *mask |= 1u << i;
    }
    return *mask == 0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: aplcl bench [--device D] [--quick] [--csv FILE|-] [--json FILE|-]\n"
            "                   [--chart FILE.svg] [--shapes RxC,...] [--reps N]\n"
            "                   [--regime early|trained|both] [--dtypes f32,f16,bf16]\n"
            "                   [--targets f32,u8,bits,csr] [--accumulate] [--timing events|wall]\n"
            "       aplcl bench --save-inputs DIR --shapes RxC --regime early|trained\n"
            "       aplcl bench --load-inputs DIR [--device D] [--csv FILE|-] ...\n"
            "       aplcl bench head [--shape NxDxC] [--reps R] [--budget BYTES] [--targets T]\n"
            "                        [--reduction mean|sum] [--no-bias] [--no-unfused] [--csv F]\n"
            "                        (linear head: chunked vs unfused time and device memory)\n"
            "Devices: D (\"P:D\" or a name substring), else $APLCL_DEVICE, else all. Default "
            "shapes 64x80,\n"
            "4096x80, 4096x1000, 16384x10000, 1024x100000 (--quick: 64x80, 4096x1000).\n");
}

enum {
    B_DEVICE,
    B_CSV,
    B_JSON,
    B_CHART,
    B_SHAPES,
    B_REPS,
    B_REGIME,
    B_DTYPES,
    B_TARGETS,
    B_SAVE,
    B_LOAD,
    B_TIMING,
    B_QUICK,
    B_ACCUMULATE,
    B_COUNT
};

/* Returns 0 to go on, else the exit status (0 after --help, which printed the usage). */
static int parse_args(bench_state *s, int argc, char **argv) {
    cli_option o[B_COUNT] = {
        {"--device", 1, NULL},      {"--csv", 1, NULL},         {"--json", 1, NULL},
        {"--chart", 1, NULL},       {"--shapes", 1, NULL},      {"--reps", 1, NULL},
        {"--regime", 1, NULL},      {"--dtypes", 1, NULL},      {"--targets", 1, NULL},
        {"--save-inputs", 1, NULL}, {"--load-inputs", 1, NULL}, {"--timing", 1, NULL},
        {"--quick", 0, NULL},       {"--accumulate", 0, NULL}};
    int pr = cli_parse("aplcl bench", argc, argv, o, B_COUNT, NULL, 0, NULL);
    if (pr != CLI_PARSE_OK) {
        if (pr == CLI_PARSE_HELP)
            usage(stdout);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    s->device = cli_device_choice(o[B_DEVICE].value);
    s->csv = o[B_CSV].value;
    s->json = o[B_JSON].value;
    s->chart = o[B_CHART].value;
    s->save_dir = o[B_SAVE].value;
    s->load_dir = o[B_LOAD].value;
    s->quick = o[B_QUICK].value != NULL;
    s->accumulate = o[B_ACCUMULATE].value != NULL;
    s->shapes_given = o[B_SHAPES].value != NULL;
    s->max_reps = s->quick ? 10 : 20;
    s->budget_s = s->quick ? 2.0 : 5.0;
    const char *v;
    if ((v = o[B_TIMING].value)) {
        if (strcmp(v, "wall") != 0 && strcmp(v, "events") != 0) {
            fprintf(stderr, "aplcl bench: --timing wants events or wall\n");
            return CLI_EXIT_USAGE;
        }
        s->force_wall = strcmp(v, "wall") == 0;
    }
    if ((v = o[B_REPS].value)) {
        int64_t r;
        if (cli_parse_i64("aplcl bench", "--reps", v, 1, 100000, &r))
            return CLI_EXIT_USAGE;
        s->fixed_reps = s->max_reps = (int)r;
    }
    const char *shapes = o[B_SHAPES].value;
    if (!shapes)
        shapes = s->quick ? "64x80,4096x1000"
                          : "64x80,4096x80,4096x1000,16384x10000,"
                            "1024x100000";
    if (parse_shapes(s, shapes)) {
        fprintf(stderr, "aplcl bench: --shapes wants RxC[,RxC...], e.g. 4096x1000\n");
        return CLI_EXIT_USAGE;
    }
    s->nregimes = 2, s->regimes[0] = 0, s->regimes[1] = 1;
    if ((v = o[B_REGIME].value)) {
        if (strcmp(v, "early") == 0 || strcmp(v, "trained") == 0)
            s->nregimes = 1, s->regimes[0] = strcmp(v, "trained") == 0;
        else if (strcmp(v, "both") != 0) {
            fprintf(stderr, "aplcl bench: --regime wants early, trained or both\n");
            return CLI_EXIT_USAGE;
        }
    }
    if ((v = o[B_DTYPES].value) && parse_names(v, dtype_names, 3, &s->dtype_mask)) {
        fprintf(stderr, "aplcl bench: --dtypes wants a list of f32, f16, bf16\n");
        return CLI_EXIT_USAGE;
    }
    if ((v = o[B_TARGETS].value) && parse_names(v, fmt_names, 4, &s->fmt_mask)) {
        fprintf(stderr, "aplcl bench: --targets wants a list of f32, u8, bits, csr\n");
        return CLI_EXIT_USAGE;
    }
    if (s->csv && s->json && strcmp(s->csv, "-") == 0 && strcmp(s->json, "-") == 0) {
        fprintf(stderr, "aplcl bench: --csv - and --json - cannot both use stdout\n");
        return CLI_EXIT_USAGE;
    }
    if (s->save_dir && s->load_dir) {
        fprintf(stderr, "aplcl bench: --save-inputs and --load-inputs exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int save_inputs(bench_state *s) {
    if (!s->shapes_given || s->nshapes != 1 || s->nregimes != 1) {
        fprintf(stderr, "aplcl bench: --save-inputs needs one shape (--shapes RxC) and one "
                        "regime (--regime early|trained)\n");
        return 2;
    }
    if (mkdir(s->save_dir, 0777) != 0 && errno != EEXIST) {
        perror(s->save_dir);
        return 1;
    }
    inputs in;
    if (make_inputs(&in, s->shapes[0], s->regimes[0]))
        return 1;
    int rc = cli_bench_save_inputs(s->save_dir, in.rows, in.cols, in.trained, in.seed, in.x, in.y);
    if (!rc)
        printf("aplcl bench: wrote %zux%zu %s inputs (seed %llu, %zu positives) to %s\n", in.rows,
               in.cols, in.trained ? "trained" : "early", (unsigned long long)in.seed,
               cli_count_positives(in.y, in.rows * in.cols), s->save_dir);
    inputs_free(&in);
    return rc;
}

static FILE *open_out(const char *path) {
    if (!path)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        perror(path);
    return f;
}

int cli_bench(int argc, char **argv) {
    if (argc > 0 && strcmp(argv[0], "head") == 0)
        return cli_bench_head(argc - 1, argv + 1);
    bench_state s;
    memset(&s, 0, sizeof s);
    int pa = parse_args(&s, argc, argv);
    if (pa != 0)
        return pa;
    if (s.save_dir)
        return save_inputs(&s);

    inputs loaded;
    memset(&loaded, 0, sizeof loaded);
    if (s.load_dir) {
        if (cli_bench_load_inputs(s.load_dir, &loaded.rows, &loaded.cols, &loaded.trained,
                                  &loaded.seed, &loaded.x, &loaded.y))
            return 1;
        s.nshapes = 1, s.shapes[0] = (shape){loaded.rows, loaded.cols};
        s.nregimes = 1, s.regimes[0] = loaded.trained;
    }
    s.human = ((s.csv && strcmp(s.csv, "-") == 0) || (s.json && strcmp(s.json, "-") == 0)) ? stderr
                                                                                           : stdout;
    s.tty = isatty(fileno(stderr));
    if ((s.csv && !(s.csvf = open_out(s.csv))) || (s.json && !(s.jsonf = open_out(s.json)))) {
        inputs_free(&loaded);
        return 1;
    }
    if (s.csvf)
        cli_bench_csv_header(s.csvf);

    /* devices */
    size_t ndev = 0;
    cli_device_spec *specs = cli_device_specs(s.device, "aplcl bench", &ndev);
    if (!specs) {
        inputs_free(&loaded);
        return 1;
    }
    combo cl[12];
    for (int i = 0; i < s.nshapes; ++i)
        s.ncases += (int)case_combos(&s, s.shapes[i], cl) * s.nregimes;

    for (size_t di = 0; di < ndev; ++di) {
        device_state d;
        if (open_device(&s, specs[di], &d))
            continue;
        s.case_no = 0;
        for (int si = 0; si < s.nshapes; ++si) {
            size_t nc = case_combos(&s, s.shapes[si], cl);
            for (int ri = 0; ri < s.nregimes; ++ri) {
                inputs gen, *in = &loaded;
                if (!s.load_dir) {
                    progress(&s, s.shapes[si].rows * s.shapes[si].cols,
                             "generating %zux%zu %s inputs", s.shapes[si].rows, s.shapes[si].cols,
                             s.regimes[ri] ? "trained" : "early");
                    if (make_inputs(&gen, s.shapes[si], s.regimes[ri])) {
                        ++s.failures;
                        continue;
                    }
                    in = &gen;
                }
                for (size_t k = 0; k < nc; ++k)
                    run_case(&s, &d, in, cl[k]);
                plainc_case(&s, &d, in);
                if (!s.load_dir)
                    inputs_free(&gen);
            }
        }
        aplcl_ctx_destroy(d.ctx);
    }
    if (s.load_dir)
        time_reference(&s, &loaded);
    inputs_free(&loaded);
    free(specs);

    if (s.quick) { /* the one-line summary per regime that README and scripts/main.sh show */
        fputc('\n', s.human);
        for (size_t i = 0; i < s.nrows; ++i) {
            const cli_bench_row *r = &s.rows[i];
            if (strcmp(r->shape, "4096x1000") || strcmp(r->dtype, "f32") ||
                strcmp(r->targets, "u8") || isnan(r->median_ms))
                continue;
            fprintf(s.human,
                    "%s  4096x1000 f32/u8 %-7s fwd+bwd: median %.3f ms (min %.3f, max %.3f), "
                    "%.3f G elem/s, %.2f GB/s, %.1f%% of copy (%.2f GB/s)\n",
                    r->device, r->regime, r->median_ms, r->min_ms, r->max_ms, r->gelem_s, r->gb_s,
                    100.0 * r->frac_copy, r->copy_gb_s);
        }
    }
    if (s.failures)
        fprintf(stderr, "aplcl bench: %d failure(s): mismatch, error or unusable device\n",
                s.failures);
    int rc = s.failures ? 1 : 0;
    if (s.chart && cli_bench_chart(s.chart, s.rows, s.nrows))
        rc = 1;
    if (cli_close_output(s.csvf, s.csv, "aplcl bench") ||
        cli_close_output(s.jsonf, s.json, "aplcl bench") ||
        cli_close_output(stdout, NULL, "aplcl bench"))
        rc = 1;
    free(s.rows);
    return rc;
}
