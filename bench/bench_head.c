/* bench_head.c: `aplcl bench head`, the chunked linear head against the unfused path.
 *
 * Chunked: aplcl_head_compute with a scratch budget (default: 1/8 of the unfused path's N*C*4*2
 * bytes). Unfused: X W^T + b into a full N x C logits buffer (CLBlast SGEMM, the same column-major
 * forms as the head), aplcl_compute_io over all of it with the gradient in place, then
 * dX = G W, dW += G^T X (SGEMM) and db += G^T 1 (SGEMV). Both are run once and compared before
 * anything is timed; then each is timed as host wall time from enqueue to clFinish, median of
 * --reps. Not a test: tests/test_head.c checks the head against the CPU reference.
 *
 * Over the ~600-line guide on purpose (about 620): one measurement, set up, compared and timed
 * top to bottom over one problem/outputs state; split, its halves would only pass that state
 * back and forth. Its options are the first 80 lines.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "bench_head.h"
#include "aplcl_head.h"
#include "bench.h"
#include "options.h"

#include <clblast_c.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The case, and the default: the same D and C with 1/8 of the rows (one unfused call of
 * the full case takes minutes on a 2-core CPU device). */
#define FULL_N 32768
#define QUICK_N 4096
#define DEF_D 512
#define DEF_C 8192

typedef struct {
    double median, min, max;
} timing;

static timing stats_of(double *t, int n) {
    timing s;
    cli_stats(t, n, &s.median, &s.min, &s.max);
    return s;
}

/* "NxDxC" */
int bench_parse_shape(const char *s, size_t *n, size_t *d, size_t *c) {
    uint64_t v[3];
    const char *p = s;
    for (int i = 0; i < 3; ++i) { /* the tools' one number rule: digits only */
        if (cli_scan_u64(&p, &v[i]) || v[i] == 0 || v[i] > SIZE_MAX)
            return 1;
        if (i < 2 && *p != 'x' && *p != 'X')
            return 1;
        p += i < 2;
    }
    if (*p)
        return 1;
    *n = (size_t)v[0], *d = (size_t)v[1], *c = (size_t)v[2];
    return 0;
}

/* A byte count with an optional K, M or G (binary) suffix. */
int bench_parse_bytes(const char *s, size_t *out) {
    const char *end = s;
    double v = 0;
    if (cli_scan_f64(&end, &v) || !(v > 0)) /* decimal only: no "0x10", no " 1M" */
        return 1;
    double mul = 1;
    if (*end == 'K' || *end == 'k')
        mul = 1024.0, ++end;
    else if (*end == 'M' || *end == 'm')
        mul = 1048576.0, ++end;
    else if (*end == 'G' || *end == 'g')
        mul = 1073741824.0, ++end;
    if (*end == 'i')
        ++end;
    if (*end == 'B')
        ++end;
    if (*end || v * mul >= 0x1p63)
        return 1;
    *out = (size_t)(v * mul);
    return 0;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: aplcl bench head [--device D] [--shape NxDxC] [--reps R] [--budget BYTES]\n"
        "                        [--targets csr|u8|f32|bits] [--reduction mean|sum]\n"
        "                        [--no-bias] [--no-unfused] [--csv FILE|-]\n"
        "  Times the linear head (logits = X W^T + b, APL, dX, dW, db) chunked under a scratch\n"
        "  budget against the unfused path over full N x C logits, after checking they agree.\n"
        "  --shape   default %dx%dx%d (the issue's case is %dx%dx%d: minutes per call on a\n"
        "            small CPU device)\n"
        "  --budget  chunked scratch budget, e.g. 256M (default: N*C*4*2 / 8, 1/8 of what the\n"
        "            unfused path holds for logits and gradient if they were separate)\n"
        "  --reps    timed repeats per path after one checked warm-up (default 3)\n"
        "  --csv     one CSV line per path (\"-\": stdout; the human lines then go to stderr)\n",
        QUICK_N, DEF_D, DEF_C, FULL_N, DEF_D, DEF_C);
}

static double mib(double bytes) { return bytes / 1048576.0; }

/* ---- device buffers ---- */

typedef struct {
    cl_context cc;
    cl_command_queue q;
    cl_int err;
} dev;

static cl_mem buf(dev *dv, size_t bytes, const void *host) {
    if (dv->err != CL_SUCCESS)
        return NULL;
    return clCreateBuffer(dv->cc, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                          bytes ? bytes : 4, (void *)host, &dv->err);
}

static cl_int zero(cl_command_queue q, cl_mem m, size_t bytes) {
    cl_float z = 0.0f;
    return clEnqueueFillBuffer(q, m, &z, sizeof z, 0, bytes, 0, NULL, NULL);
}

typedef struct {
    cl_mem dx, dw, db, loss, counts;
} outputs;

static void release(cl_mem m) {
    if (m)
        clReleaseMemObject(m);
}

/* ---- the two paths ---- */

typedef struct {
    aplcl_ctx *ctx;
    aplcl_head *head;
    cl_command_queue q;
    size_t n, d, c;
    aplcl_params p;
    cl_mem x, w, b, ones, logits;
    aplcl_targets targets;
    size_t budget;
} problem;

static const char *blas_or_status(int is_blas, int code, char *buf, size_t size) {
    if (is_blas)
        snprintf(buf, size, "CLBlast status %d", code);
    else
        snprintf(buf, size, "%s (OpenCL %d)", aplcl_status_string((aplcl_status)code),
                 (int)aplcl_last_cl_error());
    return buf;
}

/* dW and db accumulate: zeroed before each timed call of either path. Returns 0 on success. */
static int zero_outputs(problem *pb, outputs *o) {
    cl_int e = zero(pb->q, o->dw, pb->c * pb->d * 4);
    if (!e && o->db)
        e = zero(pb->q, o->db, pb->c * 4);
    if (!e)
        e = clFinish(pb->q);
    if (e)
        fprintf(stderr, "aplcl bench head: zeroing outputs: OpenCL error %d\n", (int)e);
    return e != CL_SUCCESS;
}

/* Zeroes dW and db (they accumulate), then times one call of the path to clFinish. */
static int run_chunked(problem *pb, outputs *o, double *sec) {
    if (zero_outputs(pb, o))
        return 1;
    cl_int e = CL_SUCCESS;
    aplcl_head_io io = aplcl_head_io_default();
    io.x = pb->x, io.w = pb->w, io.b = pb->b, io.targets = pb->targets;
    io.dx = o->dx, io.dw = o->dw, io.db = o->db, io.loss = o->loss, io.counts = o->counts;
    double t0 = cli_now_s();
    aplcl_status st =
        aplcl_head_compute(pb->head, &pb->p, pb->n, pb->d, pb->c, &io, pb->budget, 0, NULL, NULL);
    if (st == APLCL_SUCCESS)
        e = clFinish(pb->q);
    *sec = cli_now_s() - t0;
    if (st != APLCL_SUCCESS || e) {
        char why[96];
        fprintf(stderr, "aplcl bench head: chunked: %s\n",
                st != APLCL_SUCCESS ? blas_or_status(0, st, why, sizeof why) : "clFinish failed");
        return 1;
    }
    return 0;
}

static int run_unfused(problem *pb, outputs *o, double *sec) {
    if (zero_outputs(pb, o))
        return 1;
    cl_int e = CL_SUCCESS;
    /* the head's column-major forms (src/head.c), over all N rows: the row-major N x C logits
     * are a column-major C x N matrix CLBlast uses in place */
    const CLBlastLayout CM = CLBlastLayoutColMajor;
    const CLBlastTranspose N = CLBlastTransposeNo, T = CLBlastTransposeYes;
    size_t n = pb->n, d = pb->d, c = pb->c;
    cl_command_queue *q = &pb->q;
    CLBlastStatusCode s = CLBlastSuccess;
    aplcl_status st = APLCL_SUCCESS;
    double t0 = cli_now_s();
    /* L^T = b 1^T + W X^T */
    if (pb->b)
        s = CLBlastSgemm(CM, N, N, c, n, 1, 1.0f, pb->b, 0, c, pb->ones, 0, 1, 0.0f, pb->logits, 0,
                         c, q, NULL);
    if (s == CLBlastSuccess)
        s = CLBlastSgemm(CM, T, N, c, n, d, 1.0f, pb->w, 0, d, pb->x, 0, d, pb->b ? 1.0f : 0.0f,
                         pb->logits, 0, c, q, NULL);
    if (s == CLBlastSuccess) {
        aplcl_io io = aplcl_io_default();
        io.logits = pb->logits;
        io.targets = pb->targets;
        io.grad = pb->logits;
        io.loss = o->loss;
        io.counts = o->counts;
        st = aplcl_compute_io(pb->ctx, &pb->p, n, c, &io, 0, NULL, NULL);
    }
    /* dX^T = W^T G^T, dW^T += X^T G, db += G^T 1 */
    if (s == CLBlastSuccess && st == APLCL_SUCCESS)
        s = CLBlastSgemm(CM, N, N, d, n, c, 1.0f, pb->w, 0, d, pb->logits, 0, c, 0.0f, o->dx, 0, d,
                         q, NULL);
    if (s == CLBlastSuccess && st == APLCL_SUCCESS)
        s = CLBlastSgemm(CM, N, T, d, c, n, 1.0f, pb->x, 0, d, pb->logits, 0, c, 1.0f, o->dw, 0, d,
                         q, NULL);
    if (s == CLBlastSuccess && st == APLCL_SUCCESS && o->db)
        s = CLBlastSgemv(CM, N, c, n, 1.0f, pb->logits, 0, c, pb->ones, 0, 1, 1.0f, o->db, 0, 1, q,
                         NULL);
    if (s == CLBlastSuccess && st == APLCL_SUCCESS)
        e = clFinish(pb->q);
    *sec = cli_now_s() - t0;
    if (s != CLBlastSuccess || st != APLCL_SUCCESS || e) {
        char why[96];
        fprintf(stderr, "aplcl bench head: unfused: %s\n",
                s != CLBlastSuccess   ? blas_or_status(1, s, why, sizeof why)
                : st != APLCL_SUCCESS ? blas_or_status(0, st, why, sizeof why)
                                      : "clFinish failed");
        return 1;
    }
    return 0;
}

/* max |a - b| / max |b| over n floats read from two buffers. */
static double rel_diff(cl_command_queue q, cl_mem a, cl_mem b, size_t n, int *err) {
    float *ha = malloc(n * sizeof *ha), *hb = malloc(n * sizeof *hb);
    double m = 0, diff = 0;
    if (!ha || !hb || clEnqueueReadBuffer(q, a, CL_TRUE, 0, n * 4, ha, 0, NULL, NULL) ||
        clEnqueueReadBuffer(q, b, CL_TRUE, 0, n * 4, hb, 0, NULL, NULL)) {
        *err = 1;
    } else {
        for (size_t i = 0; i < n; ++i) {
            m = fmax(m, fabs((double)hb[i]));
            double e = fabs((double)ha[i] - (double)hb[i]);
            if (!(e <= diff))
                diff = e; /* NaN sticks */
        }
    }
    free(ha), free(hb);
    return m > 0 ? diff / m : diff;
}

/* The unfused path's extra device memory: the logits (gradient in place), the ones vector and
 * the largest temporary buffer CLBlast allocates inside one of its calls. */
static size_t unfused_extra(problem *pb, size_t *blas_temp) {
    const CLBlastLayout CM = CLBlastLayoutColMajor;
    const CLBlastTranspose N = CLBlastTransposeNo, T = CLBlastTransposeYes;
    size_t n = pb->n, d = pb->d, c = pb->c, t[4] = {0, 0, 0, 0}, m = 0;
    CLBlastSGemmTempBufferSize(CM, N, N, c, n, 1, 0, c, 0, 1, 0, c, &pb->q, &t[0]);
    CLBlastSGemmTempBufferSize(CM, T, N, c, n, d, 0, d, 0, d, 0, c, &pb->q, &t[1]);
    CLBlastSGemmTempBufferSize(CM, N, N, d, n, c, 0, d, 0, c, 0, d, &pb->q, &t[2]);
    CLBlastSGemmTempBufferSize(CM, N, T, d, c, n, 0, d, 0, c, 0, d, &pb->q, &t[3]);
    for (int i = 0; i < 4; ++i)
        m = t[i] > m ? t[i] : m;
    *blas_temp = m;
    return n * c * 4 + n * 4 + m;
}

typedef struct {
    const char *path;
    timing t;
    int reps;
    size_t extra_bytes, chunk_rows, chunks;
    double loss;
} path_result;

static void csv_row(FILE *f, const char *device, const problem *pb, const char *targets,
                    const path_result *r, const char *check) {
    cli_csv_field(f, device);
    fprintf(f, ",%s,%zux%zux%zu,%s,%s,%zu,%zu,%zu,%zu,%.3f,%.3f,%.3f,%d,%.9g,%s\n", r->path, pb->n,
            pb->d, pb->c, targets, pb->p.reduction == APLCL_REDUCE_MEAN ? "mean" : "sum",
            strcmp(r->path, "chunked") == 0 ? pb->budget : 0, r->chunk_rows, r->chunks,
            r->extra_bytes, 1e3 * r->t.median, 1e3 * r->t.min, 1e3 * r->t.max, r->reps, r->loss,
            check);
}

enum {
    H_DEVICE,
    H_SHAPE,
    H_REPS,
    H_BUDGET,
    H_TARGETS,
    H_REDUCTION,
    H_NO_BIAS,
    H_NO_UNFUSED,
    H_CSV,
    H_COUNT
};

int cli_bench_head(int argc, char **argv) {
    cli_option opts[H_COUNT] = {
        {"--device", 1, NULL},  {"--shape", 1, NULL},      {"--reps", 1, NULL},
        {"--budget", 1, NULL},  {"--targets", 1, NULL},    {"--reduction", 1, NULL},
        {"--no-bias", 0, NULL}, {"--no-unfused", 0, NULL}, {"--csv", 1, NULL}};
    int pr = cli_parse("aplcl bench head", argc, argv, opts, H_COUNT, NULL, 0, NULL);
    if (pr != CLI_PARSE_OK) {
        if (pr == CLI_PARSE_HELP)
            usage(stdout);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    size_t n = QUICK_N, d = DEF_D, c = DEF_C, reps = 3, budget = 0;
    const char *o;
    uint64_t u64;
    if ((o = opts[H_SHAPE].value) && bench_parse_shape(o, &n, &d, &c)) {
        fprintf(stderr, "aplcl bench head: bad --shape '%s' (want NxDxC)\n", o);
        return 2;
    }
    if ((o = opts[H_REPS].value)) {
        if (cli_parse_u64("aplcl bench head", "--reps", o, 1, 1000, &u64))
            return 2;
        reps = (size_t)u64;
    }
    if ((o = opts[H_BUDGET].value) && bench_parse_bytes(o, &budget)) {
        fprintf(stderr, "aplcl bench head: bad --budget '%s' (bytes, K/M/G suffix allowed)\n", o);
        return 2;
    }
    aplcl_target_format fmt = APLCL_TARGET_CSR;
    const char *tname = "csr";
    if ((o = opts[H_TARGETS].value)) {
        static const char *const names[] = {"f32", "u8", "bits", "csr"};
        int found = -1;
        for (int i = 0; i < 4; ++i)
            if (strcmp(o, names[i]) == 0)
                found = i;
        if (found < 0) {
            fprintf(stderr, "aplcl bench head: bad --targets '%s' (csr, u8, f32, bits)\n", o);
            return 2;
        }
        fmt = (aplcl_target_format)found, tname = names[found];
    }
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    if ((o = opts[H_REDUCTION].value)) {
        if (strcmp(o, "sum") == 0)
            p.reduction = APLCL_REDUCE_SUM;
        else if (strcmp(o, "mean") != 0) {
            fprintf(stderr, "aplcl bench head: bad --reduction '%s' (mean, sum)\n", o);
            return 2;
        }
    }
    int bias = !opts[H_NO_BIAS].value;
    int do_unfused = !opts[H_NO_UNFUSED].value;
    const char *csv = opts[H_CSV].value;
    FILE *human = csv && strcmp(csv, "-") == 0 ? stderr : stdout;
    FILE *csvf = NULL;
    if (csv) {
        csvf = strcmp(csv, "-") == 0 ? stdout : fopen(csv, "w");
        if (!csvf) {
            fprintf(stderr, "aplcl bench head: cannot write %s\n", csv);
            return 2;
        }
    }
    if (budget == 0)
        budget = n * c * 4 * 2 / 8;

    aplcl_ctx *ctx = NULL;
    aplcl_head *head = NULL;
    aplcl_status st = cli_ctx_create(&ctx, cli_device_choice(opts[H_DEVICE].value));
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl bench head: %s\n", aplcl_status_string(st));
        if (csvf && csvf != stdout)
            fclose(csvf);
        return st == APLCL_ERR_NO_PLATFORM || st == APLCL_ERR_NO_DEVICE ? 77 : 1;
    }
    const char *devname = aplcl_ctx_device_name(ctx);
    fprintf(human, "aplcl bench head: %s\n", devname);
    double t_create = cli_now_s();
    st = aplcl_head_create(&head, ctx);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl bench head: aplcl_head_create: %s (error %d)\n%s\n",
                aplcl_status_string(st), (int)aplcl_last_cl_error(), aplcl_last_build_log());
        aplcl_ctx_destroy(ctx);
        if (csvf && csvf != stdout)
            fclose(csvf);
        return 1;
    }
    t_create = cli_now_s() - t_create;

    int rc = 1;
    problem pb;
    memset(&pb, 0, sizeof pb);
    pb.ctx = ctx, pb.head = head, pb.q = aplcl_ctx_queue(ctx);
    pb.n = n, pb.d = d, pb.c = c, pb.p = p, pb.budget = budget;
    outputs oc = {0}, ou = {0};
    float *hx = NULL, *hw = NULL, *hb = NULL, *hyf = NULL, *ones = NULL;
    uint8_t *hy = NULL;
    uint32_t *hbits = NULL, *hidx = NULL;
    uint64_t *hrp = NULL;
    size_t nnz = 0;

    /* inputs: X ~ N(0,1), W ~ N(0, 1/sqrt(D)), b ~ N(0, 0.5): logits about N(0, 1.1); labels
     * positive with probability clamp(3/C, 0.01, 0.5), as `aplcl bench` */
    hx = malloc(n * d * 4), hw = malloc(c * d * 4), hb = malloc(c * 4), hy = malloc(n * c);
    ones = malloc(n * 4);
    if (!hx || !hw || !hb || !hy || !ones)
        goto oom;
    cli_rng r = {0x6865616462656e63ull ^ (n * 1000003u + d * 1009u + c)};
    for (size_t i = 0; i < n * d; ++i)
        hx[i] = (float)cli_rng_normal(&r, 0.0, 1.0);
    for (size_t i = 0; i < c * d; ++i)
        hw[i] = (float)cli_rng_normal(&r, 0.0, 1.0 / sqrt((double)d));
    for (size_t i = 0; i < c; ++i)
        hb[i] = (float)cli_rng_normal(&r, 0.0, 0.5);
    for (size_t i = 0; i < n; ++i)
        ones[i] = 1.0f;
    double rate = 3.0 / (double)c;
    rate = rate < 0.01 ? 0.01 : rate > 0.5 ? 0.5 : rate;
    for (size_t i = 0; i < n * c; ++i) {
        hy[i] = cli_rng_uniform(&r) < rate;
        nnz += hy[i];
    }

    dev dv = {aplcl_ctx_cl_context(ctx), pb.q, CL_SUCCESS};
    pb.x = buf(&dv, n * d * 4, hx);
    pb.w = buf(&dv, c * d * 4, hw);
    pb.b = bias ? buf(&dv, c * 4, hb) : NULL;
    pb.ones = buf(&dv, n * 4, ones);
    pb.targets.format = fmt;
    size_t words = APLCL_BITS_WORDS(c);
    switch (fmt) {
    case APLCL_TARGET_F32:
        if (!(hyf = malloc(n * c * 4)))
            goto oom;
        for (size_t i = 0; i < n * c; ++i)
            hyf[i] = hy[i];
        pb.targets.data = buf(&dv, n * c * 4, hyf);
        break;
    case APLCL_TARGET_U8:
        pb.targets.data = buf(&dv, n * c, hy);
        break;
    case APLCL_TARGET_BITS:
        if (!(hbits = calloc(n * words, 4)) || cli_pack_u8(hy, n, c, fmt, hbits, NULL, NULL, 0))
            goto oom;
        pb.targets.data = buf(&dv, n * words * 4, hbits);
        break;
    default:
        hrp = malloc((n + 1) * 8), hidx = malloc((nnz ? nnz : 1) * 4);
        if (!hrp || !hidx || cli_pack_u8(hy, n, c, fmt, NULL, hrp, hidx, nnz))
            goto oom;
        pb.targets.data = buf(&dv, (n + 1) * 8, hrp);
        pb.targets.indices = nnz ? buf(&dv, nnz * 4, hidx) : NULL;
        pb.targets.nnz = nnz;
        break;
    }
    outputs *os[2] = {&oc, &ou};
    for (int k = 0; k < 1 + do_unfused; ++k) {
        os[k]->dx = buf(&dv, n * d * 4, NULL);
        os[k]->dw = buf(&dv, c * d * 4, NULL);
        os[k]->db = bias ? buf(&dv, c * 4, NULL) : NULL;
        os[k]->loss = buf(&dv, 4, NULL);
        os[k]->counts = buf(&dv, APLCL_COUNT_LEN * 8, NULL);
    }
    if (do_unfused)
        pb.logits = buf(&dv, n * c * 4, NULL);
    if (dv.err != CL_SUCCESS) {
        fprintf(stderr, "aplcl bench head: allocating device buffers: OpenCL error %d\n",
                (int)dv.err);
        goto out;
    }

    size_t rows = 0, need = 0;
    st = aplcl_head_plan(head, n, d, c, NULL, budget, &rows, &need);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl bench head: budget %zu bytes: %s (one row needs %zu)\n", budget,
                aplcl_status_string(st), need);
        goto out;
    }
    fprintf(human,
            "shape %zux%zux%zu (N x D x C), f32, %s targets (%zu positives), %s, %s; head created "
            "in %.1f s (kernels + CLBlast build)\n",
            n, d, c, tname, nnz, p.reduction == APLCL_REDUCE_MEAN ? "mean" : "sum",
            bias ? "bias" : "no bias", t_create);
    if (n < FULL_N && d == DEF_D && c == DEF_C)
        fprintf(human,
                "note: %zu rows, not the issue's %d: the quick default (one unfused call "
                "of the full case takes minutes on a small CPU device); "
                "--shape %dx%dx%d runs it\n",
                n, FULL_N, FULL_N, DEF_D, DEF_C);

    /* warm-up, and the check: both paths must agree before anything is timed */
    double tw_c = 0, tw_u = 0;
    if (run_chunked(&pb, &oc, &tw_c))
        goto out;
    fprintf(stderr, "  warm-up chunked: %.2f s\n", tw_c);
    aplcl_head_stats hs;
    aplcl_head_get_stats(head, &hs);
    float loss_c = NAN, loss_u = NAN;
    cl_ulong cnt_c[APLCL_COUNT_LEN] = {0}, cnt_u[APLCL_COUNT_LEN] = {0};
    clEnqueueReadBuffer(pb.q, oc.loss, CL_TRUE, 0, 4, &loss_c, 0, NULL, NULL);
    clEnqueueReadBuffer(pb.q, oc.counts, CL_TRUE, 0, sizeof cnt_c, cnt_c, 0, NULL, NULL);
    const char *check = "unchecked";
    double e_loss = NAN, e_dx = NAN, e_dw = NAN, e_db = NAN;
    if (do_unfused) {
        if (run_unfused(&pb, &ou, &tw_u))
            goto out;
        fprintf(stderr, "  warm-up unfused: %.2f s\n", tw_u);
        clEnqueueReadBuffer(pb.q, ou.loss, CL_TRUE, 0, 4, &loss_u, 0, NULL, NULL);
        clEnqueueReadBuffer(pb.q, ou.counts, CL_TRUE, 0, sizeof cnt_u, cnt_u, 0, NULL, NULL);
        int err = 0;
        e_loss = fabs((double)loss_c - (double)loss_u) / fmax(fabs((double)loss_u), 1e-30);
        e_dx = rel_diff(pb.q, oc.dx, ou.dx, n * d, &err);
        e_dw = rel_diff(pb.q, oc.dw, ou.dw, c * d, &err);
        e_db = bias ? rel_diff(pb.q, oc.db, ou.db, c, &err) : 0.0;
        int same_counts = memcmp(cnt_c, cnt_u, sizeof cnt_c) == 0;
        int ok =
            !err && same_counts && e_loss <= 1e-5 && e_dx <= 1e-4 && e_dw <= 1e-4 && e_db <= 1e-4;
        check = ok ? "ok" : "MISMATCH";
        fprintf(human,
                "check: chunked vs unfused: loss %.9g vs %.9g (rel %.2g), counts %s, max|diff| / "
                "max|unfused|: dX %.2g, dW %.2g, db %.2g -> %s\n",
                (double)loss_c, (double)loss_u, e_loss, same_counts ? "equal" : "DIFFER", e_dx,
                e_dw, e_db, check);
        if (!ok) {
            fprintf(stderr, "aplcl bench head: the paths disagree; nothing timed\n");
            goto out;
        }
    }

    /* timing, the paths alternating so that machine noise hits both */
    double *tc = malloc(reps * sizeof *tc), *tu = malloc(reps * sizeof *tu);
    if (!tc || !tu) {
        free(tc), free(tu);
        goto oom;
    }
    int failed = 0;
    for (size_t i = 0; i < reps && !failed; ++i) {
        failed = run_chunked(&pb, &oc, &tc[i]);
        if (!failed && do_unfused)
            failed = run_unfused(&pb, &ou, &tu[i]);
        fprintf(stderr, "  rep %zu/%zu: chunked %.2f s%s", i + 1, reps, tc[i],
                do_unfused ? "" : "\n");
        if (do_unfused)
            fprintf(stderr, ", unfused %.2f s\n", failed ? NAN : tu[i]);
    }
    if (failed) {
        free(tc), free(tu);
        goto out;
    }
    path_result rc_ = {
        "chunked", stats_of(tc, (int)reps), (int)reps, hs.peak_held_bytes, hs.chunk_rows, hs.chunks,
        loss_c};
    size_t blas_temp_u = 0;
    path_result ru = {"unfused", {NAN, NAN, NAN}, (int)reps, 0, n, 1, loss_u};
    if (do_unfused) {
        ru.t = stats_of(tu, (int)reps);
        ru.extra_bytes = unfused_extra(&pb, &blas_temp_u);
    }
    free(tc), free(tu);

    fprintf(human,
            "chunked: median %.1f ms (min %.1f, max %.1f, %zu reps); budget %.1f MiB -> %zu rows "
            "x %zu chunks; scratch %.1f MiB (logits %.1f + CLBlast temp %.1f + fixed %.1f)\n",
            1e3 * rc_.t.median, 1e3 * rc_.t.min, 1e3 * rc_.t.max, reps, mib((double)budget),
            hs.chunk_rows, hs.chunks, mib((double)hs.peak_held_bytes),
            mib((double)hs.chunk_rows * c * 4), mib((double)hs.blas_temp_bytes),
            mib(APLCL_HEAD_FIXED_SCRATCH));
    if (do_unfused) {
        fprintf(human,
                "unfused: median %.1f ms (min %.1f, max %.1f, %zu reps); extra %.1f MiB (logits "
                "and gradient in place %.1f + ones %.2f + CLBlast temp %.1f)\n",
                1e3 * ru.t.median, 1e3 * ru.t.min, 1e3 * ru.t.max, reps,
                mib((double)ru.extra_bytes), mib((double)n * c * 4), mib((double)n * 4),
                mib((double)blas_temp_u));
        fprintf(human, "chunked/unfused: time %.3f, extra device memory %.3f\n",
                rc_.t.median / ru.t.median, (double)rc_.extra_bytes / (double)ru.extra_bytes);
    }
    if (csvf) {
        fprintf(csvf, "device,path,shape,targets,reduction,budget_bytes,chunk_rows,chunks,"
                      "extra_bytes,median_ms,min_ms,max_ms,reps,loss,check\n");
        csv_row(csvf, devname, &pb, tname, &rc_, check);
        if (do_unfused)
            csv_row(csvf, devname, &pb, tname, &ru, check);
        fflush(csvf);
    }
    rc = 0;
    goto out;
oom:
    fprintf(stderr, "aplcl bench head: out of host memory\n");
out:
    for (int k = 0; k < 2; ++k) {
        outputs *q = k ? &ou : &oc;
        release(q->dx), release(q->dw), release(q->db), release(q->loss), release(q->counts);
    }
    release(pb.x), release(pb.w), release(pb.b), release(pb.ones), release(pb.logits);
    release(pb.targets.data), release(pb.targets.indices);
    free(hx), free(hw), free(hb), free(hyf), free(ones), free(hy), free(hbits), free(hidx);
    free(hrp);
    aplcl_head_destroy(head);
    aplcl_ctx_destroy(ctx);
    if (cli_close_output(csvf, csv, "aplcl bench head") ||
        cli_close_output(stdout, NULL, "aplcl bench head"))
        rc = 1;
    return rc;
}
