/* test_head.c: the linear head (aplcl_head_compute) against a CPU reference.
 *
 * Reference: logits = X W^T + b in double (rounded to float, as the reference takes float
 * logits), aplcl_ref_compute on them, then dX = G W, dW = G^T X, db = column sums of G in double.
 * Covers every target format, SUM/MEAN/NONE, bias or not, buffer offsets, finite differences of
 * the reference loss for dW, dX and db, chunked against one chunk, dW/db accumulation, forward
 * only, determinism, an out-of-order queue, wait lists, and argument checks; CLBlast's direct
 * and indirect GEMM each forced (never left to CLBlast's per-device choice, see force_gemm).
 */
#include "test_util.h"

#include <clblast_c.h>

static aplcl_ctx *g_ctx;
static aplcl_head *g_head;

/* ---- host problem ---- */

typedef struct {
    size_t n, d, c;
    float *x, *w, *b; /* b NULL: no bias */
    aplcl_target_format fmt;
    float *yf;       /* dense float targets as the reference reads them (-1: ignored) */
    cases_targets t; /* packed in fmt (BITS with its ignore mask) */
} problem;

/* X ~ N(0,1), W ~ N(0, 1.5/sqrt(D)), b ~ N(0, 1): logits of a few units. Targets by format:
 * F32 positives, negatives, soft 0.3 and ignored; U8 and BITS with ignore; CSR 0/1. */
static void make_problem(problem *pr, size_t n, size_t d, size_t c, int bias,
                         aplcl_target_format fmt, uint64_t seed) {
    memset(pr, 0, sizeof *pr);
    cli_rng r = cli_rng_seed(seed);
    pr->n = n, pr->d = d, pr->c = c, pr->fmt = fmt;
    pr->x = tu_xmalloc(n * d * sizeof(float));
    pr->w = tu_xmalloc(c * d * sizeof(float));
    for (size_t i = 0; i < n * d; ++i)
        pr->x[i] = (float)cli_rng_normal(&r, 0.0, 1.0);
    for (size_t i = 0; i < c * d; ++i)
        pr->w[i] = (float)cli_rng_normal(&r, 0.0, 1.5 / sqrt((double)d));
    if (bias) {
        pr->b = tu_xmalloc(c * sizeof(float));
        for (size_t i = 0; i < c; ++i)
            pr->b[i] = (float)cli_rng_normal(&r, 0.0, 1.0);
    }
    pr->yf = tu_xmalloc(n * c * sizeof(float));
    for (size_t i = 0; i < n * c; ++i) {
        double u = cli_rng_uniform(&r);
        float y = u < 0.3 ? 1.0f : 0.0f;
        if (fmt == APLCL_TARGET_F32 && u > 0.85)
            y = u > 0.93 ? -1.0f : 0.3f;
        if ((fmt == APLCL_TARGET_U8 || fmt == APLCL_TARGET_BITS) && u > 0.9)
            y = -1.0f;
        pr->yf[i] = y;
    }
    CHECK_STATUS(cases_pack_targets(fmt, n, c, pr->yf, 1, &pr->t), APLCL_SUCCESS);
}

static void free_problem(problem *pr) {
    free(pr->x), free(pr->w), free(pr->b), free(pr->yf);
    cases_targets_free(&pr->t);
    memset(pr, 0, sizeof *pr);
}

/* ---- the CPU reference ---- */

typedef struct {
    double loss;
    uint64_t counts[APLCL_COUNT_LEN];
    double *dx, *dw, *db; /* plain gradients (no accumulation) */
} reference;

static void ref_logits(const problem *pr, const float *x, const float *w, const float *b,
                       float *L) {
    for (size_t i = 0; i < pr->n; ++i)
        for (size_t j = 0; j < pr->c; ++j) {
            double s = b ? (double)b[j] : 0.0;
            for (size_t k = 0; k < pr->d; ++k)
                s += (double)x[i * pr->d + k] * (double)w[j * pr->d + k];
            L[i * pr->c + j] = (float)s;
        }
}

/* The reference loss for perturbed inputs (finite differences). */
static double ref_loss_of(const aplcl_params *p, const problem *pr, const float *x, const float *w,
                          const float *b) {
    float *L = tu_xmalloc(pr->n * pr->c * sizeof(float));
    ref_logits(pr, x, w, b, L);
    double loss = NAN;
    CHECK_STATUS(aplcl_ref_compute(p, pr->n, pr->c, L, pr->yf, NULL, NULL, &loss), APLCL_SUCCESS);
    free(L);
    return loss;
}

static void ref_compute(const aplcl_params *p, const problem *pr, reference *ref) {
    size_t n = pr->n, d = pr->d, c = pr->c;
    float *L = tu_xmalloc(n * c * sizeof(float));
    double *G = tu_xmalloc(n * c * sizeof(double));
    ref_logits(pr, pr->x, pr->w, pr->b, L);
    CHECK_STATUS(tu_ref_counts(p, n, c, L, pr->yf, G, NULL, &ref->loss, ref->counts),
                 APLCL_SUCCESS);
    ref->dx = tu_xmalloc(n * d * sizeof(double));
    ref->dw = tu_xmalloc(c * d * sizeof(double));
    ref->db = tu_xmalloc(c * sizeof(double));
    for (size_t i = 0; i < n; ++i)
        for (size_t k = 0; k < d; ++k) {
            double s = 0;
            for (size_t j = 0; j < c; ++j)
                s += G[i * c + j] * (double)pr->w[j * d + k];
            ref->dx[i * d + k] = s;
        }
    for (size_t j = 0; j < c; ++j) {
        double sb = 0;
        for (size_t i = 0; i < n; ++i)
            sb += G[i * c + j];
        ref->db[j] = sb;
        for (size_t k = 0; k < d; ++k) {
            double s = 0;
            for (size_t i = 0; i < n; ++i)
                s += G[i * c + j] * (double)pr->x[i * d + k];
            ref->dw[j * d + k] = s;
        }
    }
    free(L), free(G);
}

static void free_reference(reference *ref) {
    free(ref->dx), free(ref->dw), free(ref->db);
    memset(ref, 0, sizeof *ref);
}

/* ---- device side ---- */

static cl_context g_cl;
static cl_command_queue g_q;

/* Device copies of a problem and its outputs; every float buffer's data starts at element
 * `off` (0 or a few, to exercise the offsets). */
typedef struct {
    size_t off;
    cl_mem x, w, b, t0, t1, dx, dw, db, loss, counts;
    aplcl_head_io io;
} device_problem;

static void dev_upload(device_problem *dp, const problem *pr, size_t off) {
    memset(dp, 0, sizeof *dp);
    size_t n = pr->n, d = pr->d, c = pr->c, f = sizeof(float);
    dp->off = off;
    dp->x = tu_buffer(g_cl, (off + n * d) * f, NULL);
    tu_write(g_q, dp->x, off * f, pr->x, n * d * f);
    dp->w = tu_buffer(g_cl, (off + c * d) * f, NULL);
    tu_write(g_q, dp->w, off * f, pr->w, c * d * f);
    if (pr->b) {
        dp->b = tu_buffer(g_cl, (off + c) * f, NULL);
        tu_write(g_q, dp->b, off * f, pr->b, c * f);
    }
    dp->dx = tu_buffer(g_cl, (off + n * d) * f, NULL);
    dp->dw = tu_buffer(g_cl, (off + c * d) * f, NULL);
    dp->db = tu_buffer(g_cl, (off + c) * f, NULL);
    dp->loss = tu_buffer(g_cl, (off + 1) * f, NULL);
    dp->counts = tu_buffer(g_cl, (off + APLCL_COUNT_LEN) * sizeof(cl_ulong), NULL);
    aplcl_head_io io = aplcl_head_io_default();
    io.x = dp->x, io.x_offset = off;
    io.w = dp->w, io.w_offset = off;
    io.b = dp->b, io.b_offset = off;
    io.dx = dp->dx, io.dx_offset = off;
    io.dw = dp->dw, io.dw_offset = off;
    io.db = dp->db, io.db_offset = off;
    io.loss = dp->loss, io.loss_offset = off;
    io.counts = dp->counts, io.counts_offset = off;
    io.targets.format = pr->fmt;
    dp->t0 = tu_buffer(g_cl, pr->t.data_bytes, pr->t.data);
    dp->t1 = pr->t.aux ? tu_buffer(g_cl, pr->t.aux_bytes, pr->t.aux) : NULL;
    io.targets.data = dp->t0;
    if (pr->fmt == APLCL_TARGET_BITS)
        io.targets.ignore = dp->t1;
    if (pr->fmt == APLCL_TARGET_CSR) {
        io.targets.indices = dp->t1;
        io.targets.nnz = pr->t.nnz;
    }
    dp->io = io;
}

static void dev_release(device_problem *dp) {
    cl_mem ms[] = {dp->x,  dp->w,  dp->b,  dp->t0,   dp->t1,
                   dp->dx, dp->dw, dp->db, dp->loss, dp->counts};
    cli_release_all(ms, sizeof ms / sizeof ms[0]);
    memset(dp, 0, sizeof *dp);
}

/* Outputs read back from the device. */
typedef struct {
    float loss;
    cl_ulong counts[APLCL_COUNT_LEN];
    float *dx, *dw, *db;
} result;

static void read_result(const device_problem *dp, const problem *pr, result *r) {
    size_t f = sizeof(float), off = dp->off;
    r->dx = tu_xmalloc(pr->n * pr->d * f);
    r->dw = tu_xmalloc(pr->c * pr->d * f);
    r->db = tu_xmalloc(pr->c * f);
    tu_read(g_q, dp->loss, off * f, &r->loss, f);
    tu_read(g_q, dp->counts, off * sizeof(cl_ulong), r->counts, sizeof r->counts);
    tu_read(g_q, dp->dx, off * f, r->dx, pr->n * pr->d * f);
    tu_read(g_q, dp->dw, off * f, r->dw, pr->c * pr->d * f);
    tu_read(g_q, dp->db, off * f, r->db, pr->c * f);
}

static void free_result(result *r) {
    free(r->dx), free(r->dw), free(r->db);
    memset(r, 0, sizeof *r);
}

/* One aplcl_head_compute on h, waited for; returns its status. */
static aplcl_status head_call(aplcl_head *h, const problem *pr, const aplcl_params *p,
                              const aplcl_head_io *io, size_t budget) {
    cl_event ev = NULL;
    aplcl_status st = aplcl_head_compute(h, p, pr->n, pr->d, pr->c, io, budget, 0, NULL, &ev);
    if (st == APLCL_SUCCESS) {
        CHECK(ev != NULL);
        CHECK_EQ(clWaitForEvents(1, &ev), CL_SUCCESS);
    }
    if (ev)
        clReleaseEvent(ev);
    return st;
}

/* Zeroes dW and db, poisons dX with NaN (it must be overwritten, never read), runs the head on h
 * and waits. Returns the status. */
static aplcl_status run_head(aplcl_head *h, device_problem *dp, const problem *pr,
                             const aplcl_params *p, size_t budget) {
    tu_fill_f32(g_q, dp->dx, dp->off, pr->n * pr->d, NAN);
    tu_fill_f32(g_q, dp->dw, dp->off, pr->c * pr->d, 0.0f);
    tu_fill_f32(g_q, dp->db, dp->off, pr->c, 0.0f);
    return head_call(h, pr, p, &dp->io, budget);
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; ++i)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* got vs want, elementwise within rtol plus an absolute floor of atol_frac * max|want| (products
 * of rounded float logits: cancellation makes small entries relatively noisy). */
static void check_vec(const char *what, const float *got, const double *want, size_t n, double rtol,
                      double atol_frac) {
    double atol = fmax(atol_frac * max_abs(want, n), 1e-30);
    tu_cmp cmp = tu_compare_f32(got, want, n, rtol, atol);
    TU_CMP_CHECK(what, cmp, NULL);
}

static void check_against_ref(const result *r, const reference *ref, const problem *pr,
                              int backward) {
    CHECK_NEAR(r->loss, ref->loss, 2e-5, 1e-6);
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        CHECK_EQ_U64(r->counts[k], ref->counts[k]);
    if (!backward)
        return;
    check_vec("dX", r->dx, ref->dx, pr->n * pr->d, 1e-4, 2e-5);
    check_vec("dW", r->dw, ref->dw, pr->c * pr->d, 1e-4, 2e-5);
    check_vec("db", r->db, ref->db, pr->c, 1e-4, 2e-5);
}

/* Device results against each other: max |a - b| <= rtol * max |b| (chunking reorders sums). */
static void check_close_f32(const char *what, const float *a, const float *b, size_t n,
                            double rtol) {
    double m = 0, diff = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; ++i) {
        m = fmax(m, fabs((double)b[i]));
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= diff))
            diff = e, worst = i;
    }
    if (!(diff <= rtol * m))
        TU_FAIL_AT_(__FILE__, __LINE__, "%s: max |diff| %.3g at [%zu] (%.9g vs %.9g) > %.3g * %.3g",
                    what, diff, worst, (double)a[worst], (double)b[worst], rtol, m);
}

/* ---- one case: a problem, its reference and its device copy ---- */

typedef struct {
    problem pr;
    reference ref; /* all zero when built without parameters */
    device_problem dp;
} head_case;

/* The problem (make_problem), its reference for p (none when p is NULL), uploaded at offset off. */
static void case_open(head_case *hc, size_t n, size_t d, size_t c, int bias,
                      aplcl_target_format fmt, uint64_t seed, const aplcl_params *p, size_t off) {
    make_problem(&hc->pr, n, d, c, bias, fmt, seed);
    memset(&hc->ref, 0, sizeof hc->ref);
    if (p)
        ref_compute(p, &hc->pr, &hc->ref);
    dev_upload(&hc->dp, &hc->pr, off);
}

static void case_close(head_case *hc) {
    dev_release(&hc->dp), free_reference(&hc->ref), free_problem(&hc->pr);
}

/* Runs the head with the budget and checks loss, counts and gradients against the reference. */
static void case_run_vs_ref(head_case *hc, const aplcl_params *p, size_t budget) {
    CHECK_STATUS(run_head(g_head, &hc->dp, &hc->pr, p, budget), APLCL_SUCCESS);
    result r;
    read_result(&hc->dp, &hc->pr, &r);
    check_against_ref(&r, &hc->ref, &hc->pr, 1);
    free_result(&r);
}

/* ---- test cases ---- */

/* Every format x reduction x bias on three shapes, one chunk, against the reference. */
static void test_vs_reference(void) {
    /* 150 x 8 x 20: dX in row blocks of 64 (64 + 64 + 22) */
    const size_t shapes[][3] = {{7, 5, 3}, {33, 17, 65}, {150, 8, 20}};
    const aplcl_target_format fmts[] = {APLCL_TARGET_F32, APLCL_TARGET_U8, APLCL_TARGET_BITS,
                                        APLCL_TARGET_CSR};
    uint64_t seed = 100;
    for (size_t s = 0; s < 3; ++s)
        for (int bias = 0; bias <= 1; ++bias)
            for (size_t f = 0; f < 4; ++f)
                for (int red = 0; red <= 1; ++red) {
                    int mark = tu_case_begin();
                    aplcl_params p = aplcl_params_default();
                    p.reduction = red ? APLCL_REDUCE_MEAN : APLCL_REDUCE_SUM;
                    head_case hc;
                    case_open(&hc, shapes[s][0], shapes[s][1], shapes[s][2], bias, fmts[f], ++seed,
                              &p, s == 1 ? 3 : 0);
                    case_run_vs_ref(&hc, &p, SIZE_MAX);
                    tu_case_end(mark, "vs reference %zux%zux%zu %s %s %s", hc.pr.n, hc.pr.d,
                                hc.pr.c, bias ? "bias" : "no-bias", cases_format_name(fmts[f]),
                                cases_reduction_name(p.reduction));
                    case_close(&hc);
                }

    /* MEAN with a normalizer, grad_scale, NONE, and focusing differentiated */
    const struct {
        aplcl_reduction red;
        double normalizer;
        float grad_scale;
        int focus_grad;
    } variants[] = {{APLCL_REDUCE_MEAN, 123.0, 0.5f, 0},
                    {APLCL_REDUCE_NONE, 0.0, 2.0f, 0},
                    {APLCL_REDUCE_MEAN, 0.0, 64.0f, 1}};
    for (int k = 0; k < 3; ++k) {
        int mark = tu_case_begin();
        aplcl_params p = aplcl_params_default();
        p.reduction = variants[k].red, p.normalizer = variants[k].normalizer;
        p.grad_scale = variants[k].grad_scale, p.focus_grad = variants[k].focus_grad;
        head_case hc;
        case_open(&hc, 33, 17, 65, 1, APLCL_TARGET_F32, 200 + k, &p, 1);
        case_run_vs_ref(&hc, &p, SIZE_MAX);
        tu_case_end(mark, "vs reference 33x17x65 f32 %s normalizer %g grad_scale %g focus_grad %d",
                    cases_reduction_name(p.reduction), p.normalizer, (double)p.grad_scale,
                    p.focus_grad);
        case_close(&hc);
    }
}

/* Central differences of the reference loss (double GEMMs, float logits) against the device's
 * dW, dX and db, on a tiny shape. */
static void test_finite_differences(void) {
    for (int red = 0; red <= 1; ++red) {
        int mark = tu_case_begin();
        head_case hc;
        aplcl_params p = aplcl_params_default();
        p.reduction = red ? APLCL_REDUCE_MEAN : APLCL_REDUCE_SUM;
        p.focus_grad = 1; /* the true derivative (a detached weight is not the loss's) */
        case_open(&hc, 3, 4, 5, 1, APLCL_TARGET_F32, 300 + red, NULL, 0);
        CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, SIZE_MAX), APLCL_SUCCESS);
        result r;
        read_result(&hc.dp, &hc.pr, &r);
        const double h = 2e-3;
        struct {
            const char *name;
            float *v;
            const float *got;
            size_t len;
        } params[] = {{"dW", hc.pr.w, r.dw, hc.pr.c * hc.pr.d},
                      {"dX", hc.pr.x, r.dx, hc.pr.n * hc.pr.d},
                      {"db", hc.pr.b, r.db, hc.pr.c}};
        for (size_t q = 0; q < 3; ++q) {
            double scale = 0;
            for (size_t i = 0; i < params[q].len; ++i)
                scale = fmax(scale, fabs((double)params[q].got[i]));
            for (size_t i = 0; i < params[q].len; ++i) {
                float keep = params[q].v[i];
                params[q].v[i] = (float)(keep + h);
                double up = ref_loss_of(&p, &hc.pr, hc.pr.x, hc.pr.w, hc.pr.b);
                double hu = (double)params[q].v[i] - keep;
                params[q].v[i] = (float)(keep - h);
                double dn = ref_loss_of(&p, &hc.pr, hc.pr.x, hc.pr.w, hc.pr.b);
                double hd = keep - (double)params[q].v[i];
                params[q].v[i] = keep;
                double fd = (up - dn) / (hu + hd);
                double got = params[q].got[i];
                if (!(fabs(got - fd) <= 2e-4 * fabs(fd) + 1e-4 * scale))
                    TU_FAIL_AT_(__FILE__, __LINE__, "%s[%zu]: device %.9g, finite difference %.9g",
                                params[q].name, i, got, fd);
            }
        }
        tu_case_end(mark, "finite differences 3x4x5 %s, focus_grad 1 (dW, dX, db)",
                    cases_reduction_name(p.reduction));
        free_result(&r), case_close(&hc);
    }
}

/* Budgets for 1-, 2- and 3-row chunks against one chunk; the plan and stats agree. */
static void test_chunking(void) {
    const struct {
        aplcl_target_format fmt;
        aplcl_reduction red;
        int bias;
    } cases[] = {{APLCL_TARGET_F32, APLCL_REDUCE_MEAN, 1},
                 {APLCL_TARGET_U8, APLCL_REDUCE_MEAN, 0},
                 {APLCL_TARGET_BITS, APLCL_REDUCE_MEAN, 1},
                 {APLCL_TARGET_CSR, APLCL_REDUCE_SUM, 1},
                 {APLCL_TARGET_CSR, APLCL_REDUCE_MEAN, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; ++k) {
        int mark = tu_case_begin();
        head_case hc;
        aplcl_params p = aplcl_params_default();
        p.reduction = cases[k].red;
        case_open(&hc, 33, 17, 65, cases[k].bias, cases[k].fmt, 400 + k, NULL, 2);
        CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, SIZE_MAX), APLCL_SUCCESS);
        result one;
        read_result(&hc.dp, &hc.pr, &one);
        aplcl_head_stats stats;
        CHECK_STATUS(aplcl_head_get_stats(g_head, &stats), APLCL_SUCCESS);
        CHECK_EQ(stats.chunk_rows, hc.pr.n);
        CHECK_EQ(stats.chunks, 1);
        size_t need_all = 0;
        CHECK_STATUS(aplcl_head_scratch_bytes(g_head, hc.pr.n, hc.pr.d, hc.pr.c, &hc.dp.io, hc.pr.n,
                                              &need_all),
                     APLCL_SUCCESS);
        CHECK_EQ(stats.call_scratch_bytes, need_all);
        CHECK(need_all >= hc.pr.n * hc.pr.c * sizeof(float) + APLCL_HEAD_FIXED_SCRATCH);

        const size_t want_rows[] = {1, 2, 3};
        for (size_t q = 0; q < 3; ++q) {
            size_t need = 0, rows = 0, plan_bytes = 0;
            CHECK_STATUS(aplcl_head_scratch_bytes(g_head, hc.pr.n, hc.pr.d, hc.pr.c, &hc.dp.io,
                                                  want_rows[q] + (q == 1), &need),
                         APLCL_SUCCESS);
            /* q == 1: one byte short of 3 rows gives 2 */
            size_t budget = q == 1 ? need - 1 : need;
            CHECK_STATUS(aplcl_head_plan(g_head, hc.pr.n, hc.pr.d, hc.pr.c, &hc.dp.io, budget,
                                         &rows, &plan_bytes),
                         APLCL_SUCCESS);
            CHECK_EQ(rows, want_rows[q]);
            CHECK(plan_bytes <= budget);
            CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, budget), APLCL_SUCCESS);
            CHECK_STATUS(aplcl_head_get_stats(g_head, &stats), APLCL_SUCCESS);
            CHECK_EQ(stats.chunk_rows, want_rows[q]);
            CHECK_EQ(stats.chunks, (hc.pr.n + want_rows[q] - 1) / want_rows[q]);
            CHECK(stats.call_scratch_bytes <= budget);
            CHECK(stats.held_bytes <= budget); /* shrunk from the one-chunk call */
            result r;
            read_result(&hc.dp, &hc.pr, &r);
            CHECK_NEAR(r.loss, one.loss, 1e-5, 1e-7);
            for (int i = 0; i < APLCL_COUNT_LEN; ++i)
                CHECK_EQ_U64(r.counts[i], one.counts[i]);
            check_close_f32("dX chunked", r.dx, one.dx, hc.pr.n * hc.pr.d, 1e-5);
            check_close_f32("dW chunked", r.dw, one.dw, hc.pr.c * hc.pr.d, 1e-5);
            check_close_f32("db chunked", r.db, one.db, hc.pr.c, 1e-5);
            free_result(&r);
        }
        CHECK_STATUS(aplcl_head_get_stats(g_head, &stats), APLCL_SUCCESS);
        CHECK(stats.peak_held_bytes >= need_all);
        tu_case_end(mark, "chunks of 1, 2, 3 rows = one chunk, 33x17x65 %s %s %s",
                    cases_format_name(hc.pr.fmt), cases_reduction_name(p.reduction),
                    cases[k].bias ? "bias" : "no-bias");
        free_result(&one), case_close(&hc);
    }

    /* a budget below one row */
    int mark = tu_case_begin();
    size_t one_row = 0, rows = 99, bytes = 0;
    CHECK_STATUS(aplcl_head_scratch_bytes(g_head, 33, 17, 65, NULL, 1, &one_row), APLCL_SUCCESS);
    CHECK_STATUS(aplcl_head_plan(g_head, 33, 17, 65, NULL, one_row - 1, &rows, &bytes),
                 APLCL_ERR_SCRATCH_BUDGET);
    CHECK_EQ(rows, 0);
    CHECK_EQ(bytes, one_row);
    CHECK_STATUS(aplcl_head_plan(g_head, 33, 17, 65, NULL, 0, NULL, NULL),
                 APLCL_ERR_SCRATCH_BUDGET);
    CHECK_STATUS(aplcl_head_scratch_bytes(g_head, 33, 17, 65, NULL, 0, &bytes),
                 APLCL_ERR_INVALID_SIZE);
    CHECK_STATUS(aplcl_head_scratch_bytes(g_head, 33, 17, 65, NULL, 34, &bytes),
                 APLCL_ERR_INVALID_SIZE);
    tu_case_end(mark, "plan: a budget below one row is APLCL_ERR_SCRATCH_BUDGET");
}

/* dW and db accumulate: from a non-zero start, and two calls = twice one call. */
static void test_accumulate(void) {
    for (int chunked = 0; chunked <= 1; ++chunked) {
        int mark = tu_case_begin();
        aplcl_params p = aplcl_params_default();
        p.reduction = APLCL_REDUCE_MEAN;
        head_case hc;
        case_open(&hc, 33, 17, 65, 1, APLCL_TARGET_CSR, 500 + chunked, &p, 0);
        size_t budget = SIZE_MAX;
        if (chunked)
            CHECK_STATUS(aplcl_head_scratch_bytes(g_head, 33, 17, 65, NULL, 4, &budget),
                         APLCL_SUCCESS);
        CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, budget), APLCL_SUCCESS);
        result once;
        read_result(&hc.dp, &hc.pr, &once);
        /* a second call on top of the first */
        CHECK_STATUS(head_call(g_head, &hc.pr, &p, &hc.dp.io, budget), APLCL_SUCCESS);
        result twice;
        read_result(&hc.dp, &hc.pr, &twice);
        float *dw2 = tu_xmalloc(hc.pr.c * hc.pr.d * sizeof(float)), *db2 = tu_xmalloc(hc.pr.c * 4);
        for (size_t i = 0; i < hc.pr.c * hc.pr.d; ++i)
            dw2[i] = 2.0f * once.dw[i];
        for (size_t i = 0; i < hc.pr.c; ++i)
            db2[i] = 2.0f * once.db[i];
        check_close_f32("dW after two calls", twice.dw, dw2, hc.pr.c * hc.pr.d, 1e-6);
        check_close_f32("db after two calls", twice.db, db2, hc.pr.c, 1e-6);
        check_close_f32("dX after two calls (overwritten)", twice.dx, once.dx, hc.pr.n * hc.pr.d,
                        0.0);

        /* from a non-zero start */
        cli_rng r = cli_rng_seed(77);
        float *w0 = tu_xmalloc(hc.pr.c * hc.pr.d * 4), *b0 = tu_xmalloc(hc.pr.c * 4);
        double *wwant = tu_xmalloc(hc.pr.c * hc.pr.d * 8), *bwant = tu_xmalloc(hc.pr.c * 8);
        for (size_t i = 0; i < hc.pr.c * hc.pr.d; ++i) {
            w0[i] = (float)cli_rng_normal(&r, 0.0, 0.01);
            wwant[i] = w0[i] + hc.ref.dw[i];
        }
        for (size_t i = 0; i < hc.pr.c; ++i) {
            b0[i] = (float)cli_rng_normal(&r, 0.0, 0.01);
            bwant[i] = b0[i] + hc.ref.db[i];
        }
        tu_write(g_q, hc.dp.dw, 0, w0, hc.pr.c * hc.pr.d * 4);
        tu_write(g_q, hc.dp.db, 0, b0, hc.pr.c * 4);
        CHECK_STATUS(head_call(g_head, &hc.pr, &p, &hc.dp.io, budget), APLCL_SUCCESS);
        result from;
        read_result(&hc.dp, &hc.pr, &from);
        check_vec("dW0 + dW", from.dw, wwant, hc.pr.c * hc.pr.d, 1e-4, 2e-5);
        check_vec("db0 + db", from.db, bwant, hc.pr.c, 1e-4, 2e-5);
        tu_case_end(mark, "dW, db accumulate (%s)", chunked ? "4-row chunks" : "one chunk");
        free(dw2), free(db2), free(w0), free(b0), free(wwant), free(bwant);
        free_result(&once), free_result(&twice), free_result(&from);
        case_close(&hc);
    }
}

/* No dX, dW, db: the loss and counts only; MEAN over ignorable targets uses the summed counts. */
static void test_forward_only(void) {
    const aplcl_target_format fmts[] = {APLCL_TARGET_F32, APLCL_TARGET_CSR};
    for (size_t f = 0; f < 2; ++f) {
        int mark = tu_case_begin();
        head_case hc;
        aplcl_params p = aplcl_params_default();
        p.reduction = APLCL_REDUCE_MEAN;
        case_open(&hc, 33, 17, 65, 1, fmts[f], 600 + f, &p, 0);
        CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, SIZE_MAX), APLCL_SUCCESS);
        result full;
        read_result(&hc.dp, &hc.pr, &full);
        size_t budget = 0;
        CHECK_STATUS(aplcl_head_scratch_bytes(g_head, hc.pr.n, hc.pr.d, hc.pr.c, NULL, 5, &budget),
                     APLCL_SUCCESS);
        for (int chunked = 0; chunked <= 1; ++chunked) {
            aplcl_head_io io = hc.dp.io;
            io.dx = io.dw = io.db = NULL;
            tu_fill_f32(g_q, hc.dp.loss, 0, 1, NAN);
            CHECK_STATUS(head_call(g_head, &hc.pr, &p, &io, chunked ? budget : SIZE_MAX),
                         APLCL_SUCCESS);
            result r;
            read_result(&hc.dp, &hc.pr, &r);
            CHECK_NEAR(r.loss, hc.ref.loss, 2e-5, 1e-6);
            if (!chunked)
                CHECK_EQ_DBL(r.loss, full.loss);
            for (int k = 0; k < APLCL_COUNT_LEN; ++k)
                CHECK_EQ_U64(r.counts[k], hc.ref.counts[k]);
            /* gradients untouched since the full call */
            CHECK(memcmp(r.dw, full.dw, hc.pr.c * hc.pr.d * 4) == 0);
            CHECK(memcmp(r.db, full.db, hc.pr.c * 4) == 0);
            CHECK(memcmp(r.dx, full.dx, hc.pr.n * hc.pr.d * 4) == 0);
            free_result(&r);
        }
        tu_case_end(mark, "forward only, 33x17x65 %s mean (one chunk and 5-row chunks)",
                    cases_format_name(hc.pr.fmt));
        free_result(&full), case_close(&hc);
    }
}

/* CLBlast runs a GEMM either as one "direct" kernel or "indirect" (pre-processing kernels that pad
 * and copy through the head's temporary buffer, then the main kernel). Which one it picks for a
 * shape is its own tuned choice (m * n * k against XGEMM_MIN_INDIRECT_SIZE^3 from its per-device
 * database) and differs between CPUs, so no case here relies on it: a case that must cover one
 * path forces it through CLBlast's public CLBlastOverrideParameters for this device ("GemmRoutine",
 * single precision). The head sizes its temporary buffer with CLBlastSGemmTempBufferSize, which
 * reads the same database, so plan and run agree. The override is process-wide and cannot be
 * undone (CLBlast has no getter for the tuned value), so these cases run last in main(). */
typedef enum { GEMM_INDIRECT, GEMM_DIRECT } gemm_path;

static int force_gemm(aplcl_ctx *ctx, gemm_path path) {
    const char *names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    /* m * n * k < 1 never holds: always indirect; < (2^20)^3 = 2^60 always holds here: direct */
    size_t values[] = {path == GEMM_INDIRECT ? 1 : (size_t)1 << 20};
    CLBlastStatusCode s = CLBlastOverrideParameters(aplcl_ctx_device(ctx), "GemmRoutine",
                                                    CLBlastPrecisionSingle, 1, names, values);
    CHECK_EQ(s, CLBlastSuccess);
    return s == CLBlastSuccess;
}

/* A shape where the indirect GEMM pads and copies W, X and G: one chunk (its dX product in row
 * blocks of D = 256: 256 + 44), and 280-row chunks (blocks 256 + 24, then a 20-row chunk), with W
 * and dW at non-zero offsets; once with every GEMM forced indirect (the temporary buffer is used
 * and accounted) and once forced direct (no temporary buffer). Same reference both times. */
static void test_gemm_paths(void) {
    head_case hc;
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    case_open(&hc, 300, 256, 4096, 1, APLCL_TARGET_F32, 1100, &p, 5);
    const gemm_path paths[] = {GEMM_INDIRECT, GEMM_DIRECT};
    for (size_t g = 0; g < 2; ++g) {
        const int indirect = paths[g] == GEMM_INDIRECT;
        if (!force_gemm(g_ctx, paths[g]))
            continue;
        size_t budget280 = 0;
        CHECK_STATUS(
            aplcl_head_scratch_bytes(g_head, hc.pr.n, hc.pr.d, hc.pr.c, &hc.dp.io, 280, &budget280),
            APLCL_SUCCESS);
        const size_t budgets[] = {SIZE_MAX, budget280};
        for (int b = 0; b < 2; ++b) {
            int mark = tu_case_begin();
            CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, budgets[b]), APLCL_SUCCESS);
            aplcl_head_stats stats;
            CHECK_STATUS(aplcl_head_get_stats(g_head, &stats), APLCL_SUCCESS);
            CHECK_EQ(stats.chunk_rows, b ? 280 : hc.pr.n);
            if (indirect)
                CHECK_GT(stats.blas_temp_bytes, 0);
            else
                CHECK_EQ(stats.blas_temp_bytes, 0);
            CHECK(stats.blas_temp_bytes <= stats.call_scratch_bytes);
            result r;
            read_result(&hc.dp, &hc.pr, &r);
            check_against_ref(&r, &hc.ref, &hc.pr, 1);
            tu_case_end(mark,
                        "%s CLBlast GEMMs (forced), 300x256x4096 f32 mean, %s (temp %.1f MiB)",
                        indirect ? "indirect" : "direct", b ? "280-row chunks" : "one chunk",
                        stats.blas_temp_bytes / 1048576.0);
            free_result(&r);
        }
    }
    case_close(&hc);
}

/* Same call twice: same bits, one chunk and 3-row chunks. */
static void test_determinism(void) {
    int mark = tu_case_begin();
    head_case hc;
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    case_open(&hc, 33, 17, 65, 1, APLCL_TARGET_F32, 700, NULL, 0);
    size_t budget3 = 0;
    CHECK_STATUS(aplcl_head_scratch_bytes(g_head, hc.pr.n, hc.pr.d, hc.pr.c, NULL, 3, &budget3),
                 APLCL_SUCCESS);
    const size_t budgets[] = {SIZE_MAX, budget3};
    for (int b = 0; b < 2; ++b) {
        result r[2];
        for (int k = 0; k < 2; ++k) {
            CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, budgets[b]), APLCL_SUCCESS);
            read_result(&hc.dp, &hc.pr, &r[k]);
        }
        CHECK(memcmp(&r[0].loss, &r[1].loss, sizeof r[0].loss) == 0);
        CHECK(memcmp(r[0].dx, r[1].dx, hc.pr.n * hc.pr.d * 4) == 0);
        CHECK(memcmp(r[0].dw, r[1].dw, hc.pr.c * hc.pr.d * 4) == 0);
        CHECK(memcmp(r[0].db, r[1].db, hc.pr.c * 4) == 0);
        free_result(&r[0]), free_result(&r[1]);
    }
    tu_case_end(mark, "determinism: same call twice, same bits (one chunk, 3-row chunks)");
    case_close(&hc);
}

/* The call waits for its wait list and returns at once (a blocking call would hang here). */
static void test_wait_list(void) {
    int mark = tu_case_begin();
    head_case hc;
    aplcl_params p = aplcl_params_default();
    case_open(&hc, 7, 5, 3, 1, APLCL_TARGET_U8, 800, &p, 0);
    tu_fill_f32(g_q, hc.dp.dw, 0, hc.pr.c * hc.pr.d, 0.0f);
    tu_fill_f32(g_q, hc.dp.db, 0, hc.pr.c, 0.0f);
    cl_int err;
    cl_event gate = clCreateUserEvent(g_cl, &err);
    CHECK_EQ(err, CL_SUCCESS);
    cl_event done = NULL;
    CHECK_STATUS(aplcl_head_compute(g_head, &p, hc.pr.n, hc.pr.d, hc.pr.c, &hc.dp.io, SIZE_MAX, 1,
                                    &gate, &done),
                 APLCL_SUCCESS);
    cl_int status = CL_COMPLETE;
    clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status, NULL);
    CHECK(status != CL_COMPLETE);
    clSetUserEventStatus(gate, CL_COMPLETE);
    CHECK_EQ(clWaitForEvents(1, &done), CL_SUCCESS);
    clReleaseEvent(done), clReleaseEvent(gate);
    result r;
    read_result(&hc.dp, &hc.pr, &r);
    check_against_ref(&r, &hc.ref, &hc.pr, 1);
    tu_case_end(mark, "wait list: nothing runs before the user event, then the right result");
    free_result(&r), case_close(&hc);
}

/* A context on an out-of-order queue: CLBlast calls are fenced; same bits as in order. */
static void test_out_of_order(void) {
    int mark = tu_case_begin();
    cl_int err;
    cl_command_queue q = clCreateCommandQueue(g_cl, aplcl_ctx_device(g_ctx),
                                              CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err != CL_SUCCESS) {
        printf("skip out-of-order queue: not supported (%d)\n", (int)err);
        return;
    }
    aplcl_ctx *octx = NULL;
    aplcl_head *ohead = NULL;
    CHECK_STATUS(tu_ctx_create_from_queue(&octx, q), APLCL_SUCCESS);
    clReleaseCommandQueue(q); /* the context holds it */
    if (octx)
        CHECK_STATUS(aplcl_head_create(&ohead, octx), APLCL_SUCCESS);
    if (!ohead) {
        aplcl_ctx_destroy(octx);
        tu_case_end(mark, "out-of-order queue");
        return;
    }
    tu_case_end(mark, "out-of-order queue: context and head");
    /* small on CLBlast's direct GEMM, large on its indirect one (padding kernels, then the GEMM),
     * each path forced (see force_gemm) */
    const size_t shapes[2][4] = {{33, 17, 65, 3}, {300, 256, 4096, 280}};
    const gemm_path paths[2] = {GEMM_DIRECT, GEMM_INDIRECT};
    for (int k = 0; k < 2; ++k) {
        mark = tu_case_begin();
        force_gemm(g_ctx, paths[k]);
        head_case hc;
        aplcl_params p = aplcl_params_default();
        p.reduction = APLCL_REDUCE_MEAN;
        case_open(&hc, shapes[k][0], shapes[k][1], shapes[k][2], 1, APLCL_TARGET_F32, 900 + k, NULL,
                  0);
        size_t budget = 0;
        CHECK_STATUS(aplcl_head_scratch_bytes(g_head, hc.pr.n, hc.pr.d, hc.pr.c, NULL, shapes[k][3],
                                              &budget),
                     APLCL_SUCCESS);
        CHECK_STATUS(run_head(g_head, &hc.dp, &hc.pr, &p, budget), APLCL_SUCCESS);
        result in_order;
        read_result(&hc.dp, &hc.pr, &in_order);
        CHECK_STATUS(run_head(ohead, &hc.dp, &hc.pr, &p, budget), APLCL_SUCCESS);
        aplcl_head_stats stats;
        CHECK_STATUS(aplcl_head_get_stats(ohead, &stats), APLCL_SUCCESS);
        if (paths[k] == GEMM_INDIRECT)
            CHECK_GT(stats.blas_temp_bytes, 0);
        else
            CHECK_EQ(stats.blas_temp_bytes, 0);
        result r;
        read_result(&hc.dp, &hc.pr, &r);
        CHECK(memcmp(&r.loss, &in_order.loss, sizeof r.loss) == 0);
        CHECK(memcmp(r.dx, in_order.dx, hc.pr.n * hc.pr.d * 4) == 0);
        CHECK(memcmp(r.dw, in_order.dw, hc.pr.c * hc.pr.d * 4) == 0);
        CHECK(memcmp(r.db, in_order.db, hc.pr.c * 4) == 0);
        tu_case_end(mark,
                    "out-of-order queue, %zux%zux%zu in %zu-row chunks, %s GEMMs: same bits as "
                    "in order",
                    hc.pr.n, hc.pr.d, hc.pr.c, shapes[k][3], k ? "indirect" : "direct");
        free_result(&r), free_result(&in_order), case_close(&hc);
    }
    aplcl_head_destroy(ohead);
    aplcl_ctx_destroy(octx);
}

/* Argument checks: each bad call returns its status and enqueues nothing (the loss keeps its
 * sentinel). */
static void test_bad_input(void) {
    head_case hc;
    aplcl_params p = aplcl_params_default();
    case_open(&hc, 7, 5, 3, 1, APLCL_TARGET_F32, 1000, NULL, 0);
    const float sentinel = 12345.0f;
    tu_fill_f32(g_q, hc.dp.loss, 0, 1, sentinel);
    const size_t n = hc.pr.n, d = hc.pr.d, c = hc.pr.c, B = SIZE_MAX;
    aplcl_head_io io;
    cl_mem sub = NULL, foreign = NULL;
    cl_event fev = NULL;
    /* SETUP changes io or p from the good call; the call gets the rest. */
#define BAD(want, setup, ...)                                                                      \
    do {                                                                                           \
        int mark_ = tu_case_begin();                                                               \
        io = hc.dp.io;                                                                             \
        p = aplcl_params_default();                                                                \
        setup;                                                                                     \
        CHECK_STATUS(aplcl_head_compute(__VA_ARGS__), want);                                       \
        tu_case_end(mark_, "bad input -> %s: %s; %s", tu_status_name(want), #setup, #__VA_ARGS__); \
    } while (0)

    BAD(APLCL_ERR_NULL_ARGUMENT, (void)0, NULL, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_NULL_ARGUMENT, (void)0, g_head, NULL, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_NULL_ARGUMENT, (void)0, g_head, &p, n, d, c, NULL, B, 0, NULL, NULL);
    BAD(APLCL_ERR_NULL_ARGUMENT, io.x = NULL, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_NULL_ARGUMENT, io.w = NULL, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_NULL_ARGUMENT, io.targets.data = NULL, g_head, &p, n, d, c, &io, B, 0, NULL,
        NULL);
    BAD(APLCL_ERR_NULL_ARGUMENT, (void)0, g_head, &p, n, d, c, &io, B, 1, NULL, NULL);
    /* n or c 0 is an empty batch, no error (loss 0 written: test_empty); d 0 is an error */
    BAD(APLCL_ERR_INVALID_SIZE, (void)0, g_head, &p, n, 0, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_SIZE_OVERFLOW, (void)0, g_head, &p, SIZE_MAX / 2, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_SIZE_OVERFLOW, (void)0, g_head, &p, n, (size_t)1 << 40, c, &io, B, 0, NULL, NULL);
    /* N*D = 2^32 elements: more than CLBlast's int indexing */
    BAD(APLCL_ERR_SIZE_OVERFLOW, (void)0, g_head, &p, (size_t)1 << 20, (size_t)1 << 12, 1, &io, B,
        0, NULL, NULL);
    BAD(APLCL_ERR_SIZE_OVERFLOW, io.x_offset = SIZE_MAX - 2, g_head, &p, n, d, c, &io, B, 0, NULL,
        NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, (void)0, g_head, &p, n + 1, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.w_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.b_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.dx_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.dw_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.db_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.loss_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.counts_offset = 1, g_head, &p, n, d, c, &io, B, 0, NULL,
        NULL);
    BAD(APLCL_ERR_BUFFER_TOO_SMALL, io.targets.data_offset = 1, g_head, &p, n, d, c, &io, B, 0,
        NULL, NULL);
    /* outputs may overlap nothing else */
    BAD(APLCL_ERR_BUFFER_OVERLAP, io.dx = io.x, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_OVERLAP, io.dw = io.w, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_OVERLAP, io.db = io.b, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_OVERLAP, io.loss = io.dx, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_BUFFER_OVERLAP, (io.db = io.dw, io.db_offset = 2), g_head, &p, n, d, c, &io, B, 0,
        NULL, NULL);
    {
        cl_buffer_region reg = {0, 4 * sizeof(float)};
        cl_int err;
        sub = clCreateSubBuffer(hc.dp.dw, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &reg,
                                &err);
        CHECK_EQ(err, CL_SUCCESS);
    }
    BAD(APLCL_ERR_BUFFER_OVERLAP, (io.loss = sub, io.loss_offset = 3), g_head, &p, n, d, c, &io, B,
        0, NULL, NULL);
    clReleaseMemObject(sub);
    BAD(APLCL_ERR_INVALID_PARAMS, p.gamma_neg = -1.0f, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
    /* MEAN: grad_scale / normalizer overflows float */
    BAD(APLCL_ERR_INVALID_PARAMS,
        (p.reduction = APLCL_REDUCE_MEAN, p.normalizer = 1e-300, p.grad_scale = 1e30f), g_head, &p,
        n, d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_INVALID_TARGET_FORMAT, io.targets.format = (aplcl_target_format)9, g_head, &p, n,
        d, c, &io, B, 0, NULL, NULL);
    BAD(APLCL_ERR_SCRATCH_BUDGET, (void)0, g_head, &p, n, d, c, &io, 100, 0, NULL, NULL);

    /* a buffer and an event from another OpenCL context */
    aplcl_ctx *other = NULL;
    if (aplcl_ctx_create(&other, NULL) == APLCL_SUCCESS) {
        cl_int err;
        foreign = clCreateBuffer(aplcl_ctx_cl_context(other), CL_MEM_READ_WRITE, 4096, NULL, &err);
        fev = clCreateUserEvent(aplcl_ctx_cl_context(other), &err);
        BAD(APLCL_ERR_CONTEXT_MISMATCH, io.w = foreign, g_head, &p, n, d, c, &io, B, 0, NULL, NULL);
        BAD(APLCL_ERR_CONTEXT_MISMATCH, io.db = foreign, g_head, &p, n, d, c, &io, B, 0, NULL,
            NULL);
        BAD(APLCL_ERR_CONTEXT_MISMATCH, (void)0, g_head, &p, n, d, c, &io, B, 1, &fev, NULL);
        clSetUserEventStatus(fev, CL_COMPLETE);
        clReleaseEvent(fev);
        clReleaseMemObject(foreign);
        aplcl_ctx_destroy(other);
    } else {
        CHECK(!"a second context could not be created");
    }
#undef BAD

    int mark = tu_case_begin();
    p = aplcl_params_default();
    float loss = 0;
    CHECK_EQ(clFinish(g_q), CL_SUCCESS);
    tu_read(g_q, hc.dp.loss, 0, &loss, sizeof loss);
    CHECK_EQ_DBL(loss, sentinel);
    /* and a good call still works afterwards */
    CHECK_STATUS(aplcl_head_compute(g_head, &p, n, d, c, &hc.dp.io, B, 0, NULL, NULL),
                 APLCL_SUCCESS);
    CHECK_EQ(clFinish(g_q), CL_SUCCESS);
    tu_read(g_q, hc.dp.loss, 0, &loss, sizeof loss);
    CHECK(loss != sentinel && isfinite(loss));
    tu_case_end(mark, "bad calls enqueued nothing; a good call afterwards runs");

    mark = tu_case_begin();
    aplcl_head *hh = (aplcl_head *)&mark;
    CHECK_STATUS(aplcl_head_create(NULL, g_ctx), APLCL_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aplcl_head_create(&hh, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK(hh == NULL);
    aplcl_head_destroy(NULL);
    CHECK_STATUS(aplcl_head_get_stats(NULL, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aplcl_head_plan(NULL, 1, 1, 1, NULL, B, NULL, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aplcl_head_plan(g_head, 0, 1, 1, NULL, B, NULL, NULL), APLCL_ERR_INVALID_SIZE);
    CHECK(strcmp(aplcl_status_string(APLCL_ERR_SCRATCH_BUDGET), "unknown aplcl status") != 0);
    CHECK(strcmp(aplcl_status_string(APLCL_ERR_BLAS), "unknown aplcl status") != 0);
    tu_case_end(mark, "create/destroy/plan/stats argument checks");
    case_close(&hc);
}

int main(void) {
    int rc = tu_ctx_create(&g_ctx);
    if (rc)
        return rc;
    g_cl = aplcl_ctx_cl_context(g_ctx);
    g_q = aplcl_ctx_queue(g_ctx);
    aplcl_status st = aplcl_head_create(&g_head, g_ctx);
    if (st != APLCL_SUCCESS) {
        printf("aplcl_head_create: %s (cl/CLBlast error %d)\n%s\n", tu_status_name(st),
               (int)aplcl_last_cl_error(), aplcl_last_build_log());
        aplcl_ctx_destroy(g_ctx);
        return 1;
    }
    test_vs_reference();
    test_finite_differences();
    test_chunking();
    test_accumulate();
    test_forward_only();
    test_determinism();
    test_wait_list();
    test_bad_input();
    /* these force CLBlast's GEMM path, which stays forced for the rest of the process */
    test_gemm_paths();
    test_out_of_order();
    aplcl_head_destroy(g_head);
    aplcl_ctx_destroy(g_ctx);
    return tu_exit_code();
}
