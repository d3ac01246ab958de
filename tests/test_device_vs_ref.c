/* test_device_vs_ref: aplcl_host_compute and aplcl_host_compute_u8 against aplcl_ref_compute.
 *
 * Odd shapes (1x1 up to 1000x1003), logits N(0,3) with a slice uniform in [-100,100] and logits
 * exactly at the kinks (p == clip, p == eps and their float neighbours) and far tails, every
 * preset plus custom settings, both focusing modes, every reduction, grad_scale, soft and ignored
 * targets, and NULL optional outputs. The tolerance rule is the (see test_util.h). Device
 * buffers, offsets and events are test_device_api's concern, bad input test_bad_input's.
 */
#include "test_util.h"

/* ---- shapes and their inputs ---- */
typedef struct shape {
    size_t rows, cols;
    float *x;    /* logits */
    float *y;    /* float targets: hard, soft, -1 ignored */
    uint8_t *y8; /* u8 targets: 0, 1, 255 */
    float *y8f;  /* the same as floats for the reference (255 -> -1) */
} shape;

/* Logits at the kinks of the presets (clip 0.05, custom clip 0.1, eps 1e-8 on both sides), two
 * float neighbours either way, and the far tails. */
static void push5(float *b, size_t *n, float c) {
    float lo = nextafterf(c, -INFINITY), hi = nextafterf(c, INFINITY);
    b[(*n)++] = nextafterf(lo, -INFINITY);
    b[(*n)++] = lo;
    b[(*n)++] = c;
    b[(*n)++] = hi;
    b[(*n)++] = nextafterf(hi, INFINITY);
}

static size_t boundary_logits(float *b) {
    size_t n = 0;
    /* p == c at x = ln(c / (1 - c)), computed in double from the float parameter value */
    const double cuts[] = {(double)0.05f, (double)0.1f, (double)1e-8f};
    for (size_t i = 0; i < 3; i++)
        push5(b, &n, (float)log(cuts[i] / (1.0 - cuts[i])));
    /* 1 - p == eps (negatives' floor when clip is 0) */
    push5(b, &n, (float)-log(cuts[2] / (1.0 - cuts[2])));
    const float tails[] = {0.0f,   18.42f, -18.42f, 16.7f,  -16.7f,  30.0f,  -30.0f, 87.5f,
                           -87.5f, 88.0f,  -88.0f,  100.0f, -100.0f, 104.0f, -104.0f};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
        b[n++] = tails[i];
    return n;
}

static void make_shape(shape *s, size_t rows, size_t cols, uint64_t seed) {
    size_t n = rows * cols;
    s->rows = rows;
    s->cols = cols;
    s->x = tu_xmalloc(n * sizeof(float));
    s->y = tu_xmalloc(n * sizeof(float));
    s->y8 = tu_xmalloc(n);
    s->y8f = tu_xmalloc(n * sizeof(float));
    float b[64];
    size_t nb = boundary_logits(b);
    cli_rng r = cli_rng_seed(seed);
    for (size_t i = 0; i < n; i++) {
        double u = cli_rng_uniform(&r);
        float y = u < 0.05   ? -1.0f
                  : u < 0.35 ? 1.0f
                  : u < 0.45 ? (float)cli_rng_range(&r, 0.01, 0.99)
                             : 0.0f;
        float x;
        if (i % 4 == 1) {
            /* every boundary logit meets positive, negative and soft targets in turn */
            size_t k = i / 4 + (size_t)seed;
            x = b[k % nb];
            static const float t3[3] = {1.0f, 0.0f, 0.3f};
            if (y >= 0.0f)
                y = t3[(k / nb) % 3];
        } else if (i % 10 == 3) {
            x = (float)cli_rng_range(&r, -100.0, 100.0);
        } else {
            x = (float)cli_rng_normal(&r, 0.0, 3.0);
        }
        s->x[i] = x;
        s->y[i] = y;
        if (y < 0.0f)
            s->y8[i] = APLCL_TARGET_U8_IGNORE;
        else if (y == 0.0f || y == 1.0f)
            s->y8[i] = (uint8_t)y;
        else /* u8 has no soft targets */
            s->y8[i] = cli_rng_uniform(&r) < 0.5 ? 1 : 0;
        s->y8f[i] = s->y8[i] == APLCL_TARGET_U8_IGNORE ? -1.0f : (float)s->y8[i];
    }
    /* keep at least one counted element, so MEAN over the count is defined */
    if (s->y[0] < 0)
        s->y[0] = 1.0f;
    if (s->y8[0] == APLCL_TARGET_U8_IGNORE) {
        s->y8[0] = 0;
        s->y8f[0] = 0.0f;
    }
}

static void free_shape(shape *s) {
    free(s->x);
    free(s->y);
    free(s->y8);
    free(s->y8f);
}

/* ---- one comparison ---- */
typedef struct worst {
    double grad, elem, loss;
} worst;

enum { OUT_ALL = 0, OUT_NO_GRAD = 1, OUT_NO_ELEM = 2, OUT_NO_LOSS = 3, OUT_IN_PLACE = 4 };

/* Checks one output's comparison, labelled, and keeps the worst |diff|/tol in *worst. */
static void compare_part(const char *label, const shape *s, int u8, int outs, const char *part,
                         const float *x, double *worst, tu_cmp c) {
    char what[160];
    snprintf(what, sizeof what, "%s %zux%zu %s outs=%d: %s", label, s->rows, s->cols,
             u8 ? "u8" : "f32", outs, part);
    TU_CMP_CHECK(what, c, x);
    if (c.worst_ratio > *worst)
        *worst = c.worst_ratio;
}

/* Runs the device on one shape and target format with one choice of NULL outputs and compares
 * with the reference. Returns 0 when something failed. */
static int compare_one(aplcl_ctx *ctx, const aplcl_params *p, const shape *s, int u8, int outs,
                       worst *w, const char *label) {
    size_t n = s->rows * s->cols;
    const float *yref = u8 ? s->y8f : s->y;
    double *rg = tu_xmalloc(n * sizeof(double)), *re = tu_xmalloc(n * sizeof(double));
    float *g = tu_xmalloc(n * sizeof(float)), *e = tu_xmalloc(n * sizeof(float));
    float *xcopy = NULL;
    double rloss = NAN, loss = NAN;
    uint64_t rc[APLCL_COUNT_LEN] = {0};
    int mark = tu_case_begin();

    CHECK_STATUS(tu_ref_counts(p, s->rows, s->cols, s->x, yref, rg, re, &rloss, rc), APLCL_SUCCESS);
    for (size_t i = 0; i < n; i++)
        g[i] = e[i] = NAN;

    float *gp = outs == OUT_NO_GRAD ? NULL : g;
    float *ep = outs == OUT_NO_ELEM ? NULL : e;
    double *lp = outs == OUT_NO_LOSS ? NULL : &loss;
    const float *xp = s->x;
    if (outs == OUT_IN_PLACE) {
        xcopy = tu_xmalloc(n * sizeof(float));
        memcpy(xcopy, s->x, n * sizeof(float));
        xp = gp = xcopy;
    }
    uint64_t dc[APLCL_COUNT_LEN] = {0, 0, 0};
    aplcl_status st = u8 ? tu_host(ctx, p, s->rows, s->cols, APLCL_DTYPE_F32, xp, APLCL_TARGET_U8,
                                   s->y8, NULL, gp, ep, lp, dc)
                         : tu_host(ctx, p, s->rows, s->cols, APLCL_DTYPE_F32, xp, APLCL_TARGET_F32,
                                   s->y, NULL, gp, ep, lp, dc);
    if (st != APLCL_SUCCESS)
        TU_FAIL_AT_(__FILE__, __LINE__, "%s %zux%zu %s: host_compute returned %s (cl error %d)",
                    label, s->rows, s->cols, u8 ? "u8" : "f32", tu_status_name(st),
                    (int)aplcl_last_cl_error());

    CHECK_EQ_U64(dc[APLCL_COUNT_ELEMENTS], rc[APLCL_COUNT_ELEMENTS]);
    CHECK_EQ_U64(dc[APLCL_COUNT_INVALID_TARGETS], 0);
    CHECK_EQ_U64(dc[APLCL_COUNT_NONFINITE_LOGITS], 0);

    /* The gradient multiplier scale s of the tolerance rule, and the loss's. */
    double lscale = cases_loss_scale(p, rc[APLCL_COUNT_ELEMENTS]);
    double gscale = fabs((double)p->grad_scale) * lscale;
    if (gp)
        compare_part(label, s, u8, outs, "grad", s->x, &w->grad,
                     tu_compare_f32(gp, rg, n, cases_grad_rtol(APLCL_DTYPE_F32),
                                    cases_grad_atol(APLCL_DTYPE_F32, gscale)));
    if (ep)
        compare_part(label, s, u8, outs, "elem_loss", s->x, &w->elem,
                     tu_compare_f32(ep, re, n, CASES_RTOL, CASES_ATOL));
    if (lp) /* the reduced loss: cases_sum_ok's rule */
        compare_part(label, s, u8, outs, "reduced loss", NULL, &w->loss,
                     tu_compare_f64(lp, &rloss, 1, CASES_SUM_RTOL, CASES_ATOL * lscale));
    free(rg);
    free(re);
    free(g);
    free(e);
    free(xcopy);
    return tu_failures == mark;
}

/* ---- parameter sets: every preset and two custom sets (common/cases.h) ---- */
typedef struct redvar {
    const char *name;
    aplcl_reduction r;
    double normalizer;
    float grad_scale;
} redvar;

static const redvar k_red[] = {
    {"SUM", APLCL_REDUCE_SUM, 0.0, 1.0f},
    {"SUM*0.5", APLCL_REDUCE_SUM, 0.0, 0.5f},
    {"MEAN(count)", APLCL_REDUCE_MEAN, 0.0, 1.0f},
    {"MEAN(-1)", APLCL_REDUCE_MEAN, -1.0, 1.0f},
    {"MEAN(123)*0.5", APLCL_REDUCE_MEAN, 123.0, 0.5f},
    {"NONE*0.5", APLCL_REDUCE_NONE, 0.0, 0.5f},
};

static const cases_set_id k_sets[] = {CASES_APL_DEFAULT, CASES_BCE,     CASES_FOCAL_2,
                                      CASES_ASL_4_1_005, CASES_POLY1_1, CASES_CUSTOM_3A2B,
                                      CASES_CUSTOM_8A8B, CASES_FOCAL_01};
enum { NPS = sizeof k_sets / sizeof k_sets[0] };

int main(void) {
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;

    static const size_t dims[][2] = {{1, 1}, {1, 7}, {1, 1000}, {3, 5}, {17, 13}, {33, 257}};
    enum { NS = sizeof dims / sizeof dims[0] };
    shape shapes[NS];
    for (size_t i = 0; i < NS; i++)
        make_shape(&shapes[i], dims[i][0], dims[i][1], 1000 + i);

    cases_param_set ps[NPS];
    for (size_t k = 0; k < NPS; k++)
        ps[k] = cases_param_set_get(k_sets[k]);
    for (size_t k = 0; k < NPS; k++) {
        for (int fg = 0; fg <= 1; fg++) {
            for (size_t r = 0; r < sizeof k_red / sizeof k_red[0]; r++) {
                aplcl_params p = ps[k].p;
                p.focus_grad = fg;
                p.reduction = k_red[r].r;
                p.normalizer = k_red[r].normalizer;
                p.grad_scale = k_red[r].grad_scale;
                char label[128];
                snprintf(label, sizeof label, "%s fg=%d %s", ps[k].name, fg, k_red[r].name);
                int mark = tu_case_begin();
                worst w = {0, 0, 0};
                int calls = 0;
                for (size_t si = 0; si < NS; si++) {
                    for (int u8 = 0; u8 <= 1; u8++) {
                        compare_one(ctx, &p, &shapes[si], u8, OUT_ALL, &w, label);
                        calls++;
                    }
                }
                /* NULL optional outputs and the in-place gradient on an odd mid-size shape */
                for (int outs = OUT_NO_GRAD; outs <= OUT_IN_PLACE; outs++) {
                    compare_one(ctx, &p, &shapes[4], outs & 1, outs, &w, label);
                    calls++;
                }
                tu_case_end(mark, "%-44s %2d calls, worst |diff|/tol grad %.2g elem %.2g loss %.2g",
                            label, calls, w.grad, w.elem, w.loss);
            }
        }
    }

    /* Over 10^6 elements, for a few settings only (runtime). */
    shape big;
    make_shape(&big, 1000, 1003, 77);
    const struct {
        size_t ps;
        int fg;
        size_t red;
        int u8;
    } bigs[] = {{0, 0, 0, 0}, {0, 1, 2, 1}, {1, 0, 4, 0}, {5, 1, 5, 0}, {6, 0, 1, 1}};
    for (size_t i = 0; i < sizeof bigs / sizeof bigs[0]; i++) {
        aplcl_params p = ps[bigs[i].ps].p;
        p.focus_grad = bigs[i].fg;
        p.reduction = k_red[bigs[i].red].r;
        p.normalizer = k_red[bigs[i].red].normalizer;
        p.grad_scale = k_red[bigs[i].red].grad_scale;
        char label[128];
        snprintf(label, sizeof label, "%s fg=%d %s", ps[bigs[i].ps].name, bigs[i].fg,
                 k_red[bigs[i].red].name);
        int mark = tu_case_begin();
        worst w = {0, 0, 0};
        compare_one(ctx, &p, &big, bigs[i].u8, OUT_ALL, &w, label);
        tu_case_end(mark, "1000x1003 %s %-36s worst |diff|/tol grad %.2g elem %.2g loss %.2g",
                    bigs[i].u8 ? "u8 " : "f32", label, w.grad, w.elem, w.loss);
    }
    free_shape(&big);

    for (size_t i = 0; i < NS; i++)
        free_shape(&shapes[i]);
    aplcl_ctx_destroy(ctx);
    return tu_exit_code();
}
