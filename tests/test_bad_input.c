/* test_bad_input: every bad input the header lists, for aplcl_compute and aplcl_host_compute*.
 *
 * Argument errors (NULLs, sizes, overflow, params, target format, short buffers, overlap, foreign
 * contexts) must return their status and write nothing; valid calls must write nothing outside
 * their ranges (guard elements keep their sentinels); invalid targets and non-finite logits are
 * counted exactly; a broken or missing kernel source gives KERNEL_BUILD / KERNEL_SOURCE. Numerical
 * accuracy is test_device_vs_ref's concern. Runs with APLCL_CACHE_DIR=off.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdtemp, dirent */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef APLCL_SOURCE_DIR
#error "APLCL_SOURCE_DIR (the source tree, for kernels/) must be defined by the build"
#endif
#ifndef APLCL_BINARY_DIR
#define APLCL_BINARY_DIR "/tmp"
#endif

#define ROWS 5
#define COLS 7
#define N (ROWS * COLS)
#define GUARD 8

/* Element offsets, all non-zero. */
enum { OX = 3, OY = 2, OG = 4, OE = 6, OL = 1, OC = 2 };

static const float SENT = -777.25f;
static const cl_ulong SENT_U64 = 0xDEADBEEFCAFEF00Dull;
static const uint8_t SENT_U8 = 0xA5;

static float g_x[N], g_y[N], g_y8f[N];
static uint8_t g_y8[N];
static size_t g_ignored;

static cl_context g_cl;
static cl_command_queue g_q;

static void make_inputs(void) {
    cli_rng r = cli_rng_seed(7);
    g_ignored = 0;
    for (size_t i = 0; i < N; i++) {
        g_x[i] = (float)cli_rng_normal(&r, 0.5, 3.0);
        double u = cli_rng_uniform(&r);
        g_y[i] = u < 0.4 ? 1.0f : 0.0f;
        g_y8[i] = u < 0.4 ? 1 : 0;
        if (i % 9 == 4) {
            g_y[i] = -1.0f;
            g_y8[i] = APLCL_TARGET_U8_IGNORE;
            g_ignored++;
        }
        g_y8f[i] = g_y8[i] == APLCL_TARGET_U8_IGNORE ? -1.0f : (float)g_y8[i];
    }
}

/* ---- buffers with guard elements ---- */

/* A buffer of `count` elements of `esize` bytes: all sentinel, then `src` (n elements) copied to
 * element `off`. */
static cl_mem guarded(cl_context c, size_t esize, size_t count, const void *src, size_t off,
                      size_t n) {
    size_t bytes = esize * count;
    unsigned char *h = tu_xmalloc(bytes);
    for (size_t i = 0; i < count; i++) {
        if (esize == 4)
            memcpy(h + 4 * i, &SENT, 4);
        else if (esize == 8)
            memcpy(h + 8 * i, &SENT_U64, 8);
        else
            h[i] = SENT_U8;
    }
    if (src)
        memcpy(h + esize * off, src, esize * n);
    cl_mem m = tu_buffer(c, bytes, h);
    free(h);
    return m;
}

static void *read_all(cl_mem m, size_t bytes) {
    void *h = tu_xmalloc(bytes);
    tu_read(g_q, m, 0, h, bytes);
    return h;
}

/* Elements of m outside [off, off + n) (all of it with n = 0) must still hold the sentinel;
 * inside, `expect` (if given) must hold bit for bit. */
static void check_guards(const char *what, cl_mem m, size_t esize, size_t count, size_t off,
                         size_t n, const void *expect) {
    unsigned char *h = read_all(m, esize * count);
    size_t bad = 0, first = (size_t)-1;
    for (size_t i = 0; i < count; i++) {
        const void *want;
        if (i >= off && i < off + n) {
            if (!expect)
                continue;
            want = (const unsigned char *)expect + esize * (i - off);
        } else {
            want = esize == 4   ? (const void *)&SENT
                   : esize == 8 ? (const void *)&SENT_U64
                                : (const void *)&SENT_U8;
        }
        if (memcmp(h + esize * i, want, esize) != 0) {
            if (!bad)
                first = i;
            bad++;
        }
    }
    if (bad)
        TU_FAIL_AT_(__FILE__, __LINE__,
                    "%s: %zu element(s) changed outside the written range (first [%zu], range "
                    "[%zu, %zu) of %zu)",
                    what, bad, first, off, off + n, count);
    free(h);
}

/* ---- aplcl_compute arguments ---- */
typedef struct args {
    aplcl_ctx *ctx;
    const aplcl_params *p;
    size_t rows, cols;
    cl_mem x;
    size_t ox;
    cl_mem y;
    size_t oy;
    aplcl_target_format fmt;
    cl_mem g;
    size_t og;
    cl_mem e;
    size_t oe;
    cl_mem l;
    size_t ol;
    cl_mem c;
    size_t oc;
    cl_uint nw;
    const cl_event *w;
} args;

static aplcl_status call(const args *a, cl_event *ev) {
    return aplcl_compute(a->ctx, a->p, a->rows, a->cols, a->x, a->ox, a->y, a->oy, a->fmt, a->g,
                         a->og, a->e, a->oe, a->l, a->ol, a->c, a->oc, a->nw, a->w, ev);
}

/* The main buffer set: inputs with guards, outputs all sentinel. */
typedef struct set {
    cl_mem x, y, y8, g, e, l, c;
} set;

static set make_set(void) {
    set s;
    s.x = guarded(g_cl, 4, OX + N + GUARD, g_x, OX, N);
    s.y = guarded(g_cl, 4, OY + N + GUARD, g_y, OY, N);
    s.y8 = guarded(g_cl, 1, OY + N + GUARD, g_y8, OY, N);
    s.g = guarded(g_cl, 4, OG + N + GUARD, NULL, 0, 0);
    s.e = guarded(g_cl, 4, OE + N + GUARD, NULL, 0, 0);
    s.l = guarded(g_cl, 4, OL + 1 + GUARD, NULL, 0, 0);
    s.c = guarded(g_cl, 8, OC + APLCL_COUNT_LEN + GUARD, NULL, 0, 0);
    return s;
}

static void free_set(set *s) {
    cl_mem all[] = {s->x, s->y, s->y8, s->g, s->e, s->l, s->c};
    for (size_t i = 0; i < 7; i++)
        if (all[i])
            clReleaseMemObject(all[i]);
}

static args base_args(aplcl_ctx *ctx, const aplcl_params *p, const set *s) {
    args a = {ctx,  p,  ROWS, COLS, s->x, OX, s->y, OY,  APLCL_TARGET_F32, s->g, OG,
              s->e, OE, s->l, OL,   s->c, OC, 0,    NULL};
    return a;
}

/* Every output of `s` untouched, inputs unchanged. */
static void check_untouched(const char *what, const set *s) {
    char buf[160];
    snprintf(buf, sizeof buf, "%s: grad", what);
    check_guards(buf, s->g, 4, OG + N + GUARD, 0, 0, NULL);
    snprintf(buf, sizeof buf, "%s: elem_loss", what);
    check_guards(buf, s->e, 4, OE + N + GUARD, 0, 0, NULL);
    snprintf(buf, sizeof buf, "%s: loss", what);
    check_guards(buf, s->l, 4, OL + 1 + GUARD, 0, 0, NULL);
    snprintf(buf, sizeof buf, "%s: counts", what);
    check_guards(buf, s->c, 8, OC + APLCL_COUNT_LEN + GUARD, 0, 0, NULL);
    snprintf(buf, sizeof buf, "%s: logits", what);
    check_guards(buf, s->x, 4, OX + N + GUARD, OX, N, g_x);
    snprintf(buf, sizeof buf, "%s: targets", what);
    check_guards(buf, s->y, 4, OY + N + GUARD, OY, N, g_y);
}

/* Runs one call that must be rejected with `want` (or `want2`, when the header allows either). */
static void expect_reject(const char *what, const args *a, aplcl_status want, aplcl_status want2) {
    cl_event ev = NULL;
    aplcl_status st = call(a, &ev);
    if (st != want && st != want2) {
        TU_FAIL_AT_(__FILE__, __LINE__, "%s: aplcl_compute returned %s, expected %s%s%s", what,
                    tu_status_name(st), tu_status_name(want), want2 != want ? " or " : "",
                    want2 != want ? tu_status_name(want2) : "");
    }
    if (ev)
        clReleaseEvent(ev);
}

static void test_compute_rejects(aplcl_ctx *ctx) {
    aplcl_params p = aplcl_params_default();
    set s = make_set();
    args a;
    int mark = tu_case_begin();

#define REJ(what, mod, want)                                                                       \
    a = base_args(ctx, &p, &s);                                                                    \
    mod;                                                                                           \
    expect_reject(what, &a, want, want)
    REJ("NULL ctx", a.ctx = NULL, APLCL_ERR_NULL_ARGUMENT);
    REJ("NULL params", a.p = NULL, APLCL_ERR_NULL_ARGUMENT);
    REJ("NULL logits", a.x = NULL, APLCL_ERR_NULL_ARGUMENT);
    REJ("NULL targets", a.y = NULL, APLCL_ERR_NULL_ARGUMENT);
    tu_case_end(mark, "aplcl_compute: NULL ctx/params/logits/targets (empty shapes: test_empty)");

    mark = tu_case_begin();
    REJ("rows*cols overflow", (a.rows = SIZE_MAX / 2, a.cols = 3), APLCL_ERR_SIZE_OVERFLOW);
    REJ("rows*cols*4 overflow", (a.rows = SIZE_MAX / 8, a.cols = 3), APLCL_ERR_SIZE_OVERFLOW);
    REJ("logits offset + size overflow", a.ox = SIZE_MAX - 2, APLCL_ERR_SIZE_OVERFLOW);
    REJ("targets offset + size overflow", a.oy = SIZE_MAX - 2, APLCL_ERR_SIZE_OVERFLOW);
    REJ("grad offset + size overflow", a.og = SIZE_MAX - 2, APLCL_ERR_SIZE_OVERFLOW);
    REJ("elem_loss offset + size overflow", a.oe = SIZE_MAX - 2, APLCL_ERR_SIZE_OVERFLOW);
    REJ("loss offset + 1 overflow", a.ol = SIZE_MAX, APLCL_ERR_SIZE_OVERFLOW);
    REJ("counts offset + 3 overflow", a.oc = SIZE_MAX - 1, APLCL_ERR_SIZE_OVERFLOW);
    /* Offsets whose byte position overflows: either status describes it. */
    a = base_args(ctx, &p, &s);
    a.ox = SIZE_MAX / 4;
    expect_reject("logits byte offset overflow", &a, APLCL_ERR_SIZE_OVERFLOW,
                  APLCL_ERR_BUFFER_TOO_SMALL);
    a = base_args(ctx, &p, &s);
    a.oc = SIZE_MAX / 8;
    expect_reject("counts byte offset overflow", &a, APLCL_ERR_SIZE_OVERFLOW,
                  APLCL_ERR_BUFFER_TOO_SMALL);
    /* Large but representable: simply too big for the buffers. */
    REJ("10^6 x 10^6", (a.rows = 1000000, a.cols = 1000000), APLCL_ERR_BUFFER_TOO_SMALL);
    tu_case_end(mark, "aplcl_compute: size and offset overflow");

    mark = tu_case_begin();
    aplcl_params bad = p;
    bad.gamma_neg = -1.0f;
    REJ("negative gamma", a.p = &bad, APLCL_ERR_INVALID_PARAMS);
    aplcl_params bad2 = p;
    bad2.grad_scale = NAN;
    REJ("NaN grad_scale", a.p = &bad2, APLCL_ERR_INVALID_PARAMS);
    REJ("target format 2", a.fmt = (aplcl_target_format)2, APLCL_ERR_INVALID_TARGET_FORMAT);
    REJ("target format -1", a.fmt = (aplcl_target_format)-1, APLCL_ERR_INVALID_TARGET_FORMAT);
    tu_case_end(mark, "aplcl_compute: invalid params, unknown target format");

    /* Each buffer one element short of offset + size. */
    mark = tu_case_begin();
    cl_mem sx = guarded(g_cl, 4, OX + N - 1, NULL, 0, 0);
    cl_mem sy = guarded(g_cl, 4, OY + N - 1, NULL, 0, 0);
    cl_mem sy8 = guarded(g_cl, 1, OY + N - 1, NULL, 0, 0);
    cl_mem sy8full = guarded(g_cl, 1, OY + N, NULL, 0, 0); /* right for u8, 4x short for f32 */
    cl_mem sg = guarded(g_cl, 4, OG + N - 1, NULL, 0, 0);
    cl_mem se = guarded(g_cl, 4, OE + N - 1, NULL, 0, 0);
    cl_mem sl = guarded(g_cl, 4, OL, NULL, 0, 0);
    cl_mem sc = guarded(g_cl, 8, OC + APLCL_COUNT_LEN - 1, NULL, 0, 0);
    REJ("logits short by one", a.x = sx, APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("f32 targets short by one", a.y = sy, APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("u8 targets short by one", (a.y = sy8, a.fmt = APLCL_TARGET_U8),
        APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("f32 targets in a u8-sized buffer", a.y = sy8full, APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("grad short by one", a.g = sg, APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("elem_loss short by one", a.e = se, APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("loss short by one", a.l = sl, APLCL_ERR_BUFFER_TOO_SMALL);
    REJ("counts short by one", a.c = sc, APLCL_ERR_BUFFER_TOO_SMALL);
    check_guards("short grad", sg, 4, OG + N - 1, 0, 0, NULL);
    check_guards("short elem_loss", se, 4, OE + N - 1, 0, 0, NULL);
    check_guards("short loss", sl, 4, OL, 0, 0, NULL);
    check_guards("short counts", sc, 8, OC + APLCL_COUNT_LEN - 1, 0, 0, NULL);
    cl_mem shorts[] = {sx, sy, sy8, sy8full, sg, se, sl, sc};
    for (size_t i = 0; i < 8; i++)
        clReleaseMemObject(shorts[i]);
    tu_case_end(mark, "aplcl_compute: every buffer one element too small");

    /* Overlaps other than the exact in-place gradient. */
    mark = tu_case_begin();
    REJ("grad over logits, offset +1", (a.g = s.x, a.og = OX + 1), APLCL_ERR_BUFFER_OVERLAP);
    REJ("grad over logits, offset -1", (a.g = s.x, a.og = OX - 1), APLCL_ERR_BUFFER_OVERLAP);
    REJ("elem_loss exactly over logits", (a.e = s.x, a.oe = OX), APLCL_ERR_BUFFER_OVERLAP);
    REJ("elem_loss over grad", (a.e = s.g, a.oe = 0), APLCL_ERR_BUFFER_OVERLAP);
    REJ("loss inside grad", (a.l = s.g, a.ol = OG + 10), APLCL_ERR_BUFFER_OVERLAP);
    REJ("grad over f32 targets", (a.g = s.y, a.og = OY), APLCL_ERR_BUFFER_OVERLAP);
    REJ("counts bytes inside grad", (a.c = s.g, a.oc = 3), APLCL_ERR_BUFFER_OVERLAP);
    tu_case_end(mark, "aplcl_compute: partial and non-gradient overlaps -> BUFFER_OVERLAP");

    /* Objects of another OpenCL context on the same device. */
    mark = tu_case_begin();
    cl_device_id dev = aplcl_ctx_device(ctx);
    cl_int err;
    cl_context other = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    CL_CHECK(err);
    if (other) {
        cl_mem ox = guarded(other, 4, OX + N + GUARD, g_x, OX, N);
        cl_mem og = guarded(other, 4, OG + N + GUARD, NULL, 0, 0);
        cl_mem oc = guarded(other, 8, OC + APLCL_COUNT_LEN + GUARD, NULL, 0, 0);
        cl_event uev = clCreateUserEvent(other, &err);
        CL_CHECK(err);
        REJ("logits from another context", a.x = ox, APLCL_ERR_CONTEXT_MISMATCH);
        REJ("grad from another context", a.g = og, APLCL_ERR_CONTEXT_MISMATCH);
        REJ("counts from another context", a.c = oc, APLCL_ERR_CONTEXT_MISMATCH);
        REJ("wait event from another context", (a.nw = 1, a.w = &uev), APLCL_ERR_CONTEXT_MISMATCH);
        if (uev) {
            clSetUserEventStatus(uev, CL_COMPLETE);
            clReleaseEvent(uev);
        }
        clReleaseMemObject(ox);
        clReleaseMemObject(og);
        clReleaseMemObject(oc);
        clReleaseContext(other);
    }
    tu_case_end(mark,
                "aplcl_compute: buffers and events of another cl_context -> CONTEXT_MISMATCH");
#undef REJ

    mark = tu_case_begin();
    CL_CHECK(clFinish(g_q));
    check_untouched("after the rejected calls", &s);
    tu_case_end(mark, "aplcl_compute: rejected calls wrote nothing");
    free_set(&s);
}

/* Valid calls: in-range results right, guards intact. */
static void check_valid_outputs(const char *what, const set *s, const aplcl_params *p, int u8,
                                size_t og, size_t gcount) {
    static double rg[N], re[N];
    double rl = 0.0;
    uint64_t rc[APLCL_COUNT_LEN] = {0};
    CHECK_STATUS(tu_ref_counts(p, ROWS, COLS, g_x, u8 ? g_y8f : g_y, rg, re, &rl, rc),
                 APLCL_SUCCESS);
    float *hg = read_all(s->g, gcount * 4);
    float *he = read_all(s->e, (OE + N + GUARD) * 4);
    float *hl = read_all(s->l, (OL + 1 + GUARD) * 4);
    cl_ulong *hc = read_all(s->c, (OC + APLCL_COUNT_LEN + GUARD) * 8);
    double lscale =
        p->reduction == APLCL_REDUCE_MEAN ? 1.0 / (double)rc[APLCL_COUNT_ELEMENTS] : 1.0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s: grad", what);
    TU_CMP_CHECK(buf, tu_compare_f32(hg + og, rg, N, CASES_RTOL, CASES_ATOL * lscale), g_x);
    snprintf(buf, sizeof buf, "%s: elem_loss", what);
    TU_CMP_CHECK(buf, tu_compare_f32(he + OE, re, N, CASES_RTOL, CASES_ATOL), g_x);
    snprintf(buf, sizeof buf, "%s: loss", what);
    TU_CMP_CHECK(buf, tu_compare_f32(hl + OL, &rl, 1, CASES_SUM_RTOL, CASES_ATOL * lscale), NULL);
    for (int k = 0; k < APLCL_COUNT_LEN; k++)
        CHECK_EQ_U64(hc[OC + k], rc[k]);
    CHECK_EQ_U64(rc[APLCL_COUNT_ELEMENTS], N - g_ignored);
    /* guards: compare the written ranges with themselves, everything else with the sentinel */
    check_guards("grad guards", s->g, 4, gcount, og, N, hg + og);
    check_guards("elem_loss guards", s->e, 4, OE + N + GUARD, OE, N, he + OE);
    check_guards("loss guards", s->l, 4, OL + 1 + GUARD, OL, 1, hl + OL);
    check_guards("counts guards", s->c, 8, OC + APLCL_COUNT_LEN + GUARD, OC, APLCL_COUNT_LEN,
                 hc + OC);
    free(hg);
    free(he);
    free(hl);
    free(hc);
}

static void test_compute_valid(aplcl_ctx *ctx) {
    for (int variant = 0; variant < 3; variant++) {
        static const char *names[] = {"f32 SUM", "u8 MEAN", "in-place f32 SUM"};
        int mark = tu_case_begin();
        set s = make_set();
        aplcl_params p = aplcl_params_default();
        args a = base_args(ctx, &p, &s);
        if (variant == 1) {
            p.reduction = APLCL_REDUCE_MEAN;
            a.y = s.y8;
            a.fmt = APLCL_TARGET_U8;
        }
        size_t og = OG, gcount = OG + N + GUARD;
        cl_mem gbuf = s.g;
        if (variant == 2) { /* the gradient replaces the logits in place */
            a.g = s.x;
            a.og = OX;
            og = OX;
            gcount = OX + N + GUARD;
            gbuf = s.x;
        }
        cl_event ev = NULL;
        CHECK_STATUS(call(&a, &ev), APLCL_SUCCESS);
        if (ev) {
            CL_CHECK(clWaitForEvents(1, &ev));
            clReleaseEvent(ev);
        }
        set view = s;
        view.g = gbuf;
        check_valid_outputs(names[variant], &view, &p, variant == 1, og, gcount);
        if (variant == 2)
            check_guards("untouched grad buffer", s.g, 4, OG + N + GUARD, 0, 0, NULL);
        else
            check_guards("logits unchanged", s.x, 4, OX + N + GUARD, OX, N, g_x);
        free_set(&s);
        tu_case_end(mark, "aplcl_compute valid, %s: right values, nothing written past a range",
                    names[variant]);
    }

    /* Buffers of exactly offset + size, and grad and elem_loss in disjoint ranges of one buffer. */
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    cl_mem x = guarded(g_cl, 4, OX + N, g_x, OX, N);
    cl_mem y = guarded(g_cl, 4, OY + N, g_y, OY, N);
    cl_mem ge = guarded(g_cl, 4, 2 * N + 1, NULL, 0, 0);
    cl_mem l = guarded(g_cl, 4, OL + 1, NULL, 0, 0);
    cl_mem c = guarded(g_cl, 8, OC + APLCL_COUNT_LEN, NULL, 0, 0);
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute(ctx, &p, ROWS, COLS, x, OX, y, OY, APLCL_TARGET_F32, ge, 0, ge,
                               N + 1, l, OL, c, OC, 0, NULL, &ev),
                 APLCL_SUCCESS);
    if (ev) {
        CL_CHECK(clWaitForEvents(1, &ev));
        clReleaseEvent(ev);
    }
    static double rg[N], re[N];
    double rl;
    aplcl_ref_compute(&p, ROWS, COLS, g_x, g_y, rg, re, &rl);
    float *h = read_all(ge, (2 * N + 1) * 4);
    TU_CMP_CHECK("shared buffer: grad", tu_compare_f32(h, rg, N, CASES_RTOL, CASES_ATOL), g_x);
    TU_CMP_CHECK("shared buffer: elem_loss",
                 tu_compare_f32(h + N + 1, re, N, CASES_RTOL, CASES_ATOL), g_x);
    CHECK(memcmp(&h[N], &SENT, 4) == 0); /* the gap between them */
    free(h);
    cl_mem all[] = {x, y, ge, l, c};
    for (size_t i = 0; i < 5; i++)
        clReleaseMemObject(all[i]);
    tu_case_end(
        mark, "aplcl_compute valid: exact-size buffers; grad and elem_loss disjoint in one buffer");
}

/* ---- host entry points ---- */
static void test_host_rejects(aplcl_ctx *ctx) {
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default(), bad = p;
    bad.eps = 1.0f;
    float g[N], e[N];
    double loss = 12.5;
    for (size_t i = 0; i < N; i++)
        g[i] = e[i] = SENT;
    for (int u8 = 0; u8 <= 1; u8++) {
#define HOST(c, pp, r, cc, x, y)                                                                   \
    (u8 ? tu_host_u8(c, pp, r, cc, x, (y) ? g_y8 : NULL, g, e, &loss)                              \
        : aplcl_host_compute(c, pp, r, cc, x, (y) ? g_y : NULL, g, e, &loss))
        CHECK_STATUS(HOST(NULL, &p, ROWS, COLS, g_x, 1), APLCL_ERR_NULL_ARGUMENT);
        CHECK_STATUS(HOST(ctx, NULL, ROWS, COLS, g_x, 1), APLCL_ERR_NULL_ARGUMENT);
        CHECK_STATUS(HOST(ctx, &p, ROWS, COLS, NULL, 1), APLCL_ERR_NULL_ARGUMENT);
        CHECK_STATUS(HOST(ctx, &p, ROWS, COLS, g_x, 0), APLCL_ERR_NULL_ARGUMENT);
        CHECK_STATUS(HOST(ctx, &p, SIZE_MAX / 2, 3, g_x, 1), APLCL_ERR_SIZE_OVERFLOW);
        CHECK_STATUS(HOST(ctx, &p, SIZE_MAX / 8, 3, g_x, 1), APLCL_ERR_SIZE_OVERFLOW);
        CHECK_STATUS(HOST(ctx, &bad, ROWS, COLS, g_x, 1), APLCL_ERR_INVALID_PARAMS);
#undef HOST
    }
    size_t changed = 0;
    for (size_t i = 0; i < N; i++)
        changed += memcmp(&g[i], &SENT, 4) != 0 || memcmp(&e[i], &SENT, 4) != 0;
    CHECK_EQ(changed, 0);
    CHECK_EQ_DBL(loss, 12.5);
    tu_case_end(mark,
                "aplcl_host_compute{,_io u8}: NULL, overflow, params rejected; nothing written");
}

/* ---- invalid targets and non-finite logits: statuses and exact counts ---- */
static void check_zeroed_and_rest(const char *what, const float *g, const float *e, const int *skip,
                                  const float *x, const float *yref, const aplcl_params *p) {
    static double rg[N], re[N];
    double rl;
    aplcl_ref_compute(p, ROWS, COLS, x, yref, rg, re, &rl); /* returns the same error */
    for (size_t i = 0; i < N; i++) {
        if (skip[i]) {
            if (!(g[i] == 0.0f && e[i] == 0.0f))
                TU_FAIL_AT_(__FILE__, __LINE__, "%s: element %zu should be 0, grad %g loss %g",
                            what, i, (double)g[i], (double)e[i]);
            rg[i] = re[i] = 0.0;
        }
    }
    char buf[128];
    snprintf(buf, sizeof buf, "%s: grad", what);
    TU_CMP_CHECK(buf, tu_compare_f32(g, rg, N, CASES_RTOL, CASES_ATOL), NULL);
    snprintf(buf, sizeof buf, "%s: elem_loss", what);
    TU_CMP_CHECK(buf, tu_compare_f32(e, re, N, CASES_RTOL, CASES_ATOL), NULL);
}

/* One host call (u8 targets or float) on inputs with bad values: its status, exact counts, zeros
 * where skip is set and the reference elsewhere (yref: the targets as the reference reads them). */
static void host_bad_call(aplcl_ctx *ctx, const aplcl_params *p, const float *x, const void *y,
                          int u8, const float *yref, const int *skip, aplcl_status want,
                          const uint64_t counts[APLCL_COUNT_LEN], const char *what) {
    static float g[N], e[N];
    double loss = NAN;
    uint64_t c[APLCL_COUNT_LEN];
    for (size_t i = 0; i < N; i++)
        g[i] = e[i] = SENT;
    /* the counters are the call's own (aplcl_host_compute_io) */
    aplcl_status st = tu_host(ctx, p, ROWS, COLS, APLCL_DTYPE_F32, x,
                              u8 ? APLCL_TARGET_U8 : APLCL_TARGET_F32, y, NULL, g, e, &loss, c);
    CHECK_STATUS(st, want);
    CHECK_EQ_U64(c[APLCL_COUNT_ELEMENTS], counts[APLCL_COUNT_ELEMENTS]);
    CHECK_EQ_U64(c[APLCL_COUNT_INVALID_TARGETS], counts[APLCL_COUNT_INVALID_TARGETS]);
    CHECK_EQ_U64(c[APLCL_COUNT_NONFINITE_LOGITS], counts[APLCL_COUNT_NONFINITE_LOGITS]);
    if (want == APLCL_ERR_NONFINITE_LOGIT)
        CHECK(isfinite(loss));
    check_zeroed_and_rest(what, g, e, skip, x, yref, p);
}

static void test_bad_values(aplcl_ctx *ctx) {
    aplcl_params p = aplcl_params_default();

    /* f32 targets: 2 NaN, 3 of 2.0 (placed on non-ignored positions) */
    int mark = tu_case_begin();
    float y[N];
    int skip[N] = {0};
    memcpy(y, g_y, sizeof y);
    const size_t bad_t[] = {0, 10, 20, 30, 33};
    for (size_t k = 0; k < 5; k++) {
        y[bad_t[k]] = k < 2 ? NAN : 2.0f;
        skip[bad_t[k]] = 1;
    }
    const uint64_t want_t[APLCL_COUNT_LEN] = {N - g_ignored - 5, 5, 0};
    host_bad_call(ctx, &p, g_x, y, 0, y, skip, APLCL_ERR_INVALID_TARGET, want_t,
                  "f32 invalid targets");
    tu_case_end(mark,
                "host f32: NaN and 2.0 targets -> INVALID_TARGET, counts exact, zeros written");

    /* u8 codes 7 (x3) and 2 */
    mark = tu_case_begin();
    uint8_t y8[N];
    float y8f[N];
    memcpy(y8, g_y8, sizeof y8);
    memcpy(y8f, g_y8f, sizeof y8f);
    memset(skip, 0, sizeof skip);
    const size_t bad_u[] = {1, 11, 21, 32};
    for (size_t k = 0; k < 4; k++) {
        y8[bad_u[k]] = k < 3 ? 7 : 2;
        y8f[bad_u[k]] = 2.0f; /* the reference's float equivalent: invalid */
        skip[bad_u[k]] = 1;
    }
    const uint64_t want_u[APLCL_COUNT_LEN] = {N - g_ignored - 4, 4, 0};
    host_bad_call(ctx, &p, g_x, y8, 1, y8f, skip, APLCL_ERR_INVALID_TARGET, want_u,
                  "u8 invalid codes");
    tu_case_end(mark, "host u8: codes 7 and 2 -> INVALID_TARGET, counts exact, zeros written");

    /* logits +inf (x2), -inf, NaN */
    mark = tu_case_begin();
    float x[N];
    memcpy(x, g_x, sizeof x);
    memset(skip, 0, sizeof skip);
    const size_t bad_x[] = {2, 12, 23, 34};
    const float bad_v[] = {INFINITY, INFINITY, -INFINITY, NAN};
    for (size_t k = 0; k < 4; k++) {
        x[bad_x[k]] = bad_v[k];
        skip[bad_x[k]] = 1;
    }
    /* valid targets: counted as elements (the MEAN count reads targets only) */
    const uint64_t want_x[APLCL_COUNT_LEN] = {N - g_ignored, 0, 4};
    host_bad_call(ctx, &p, x, g_y, 0, g_y, skip, APLCL_ERR_NONFINITE_LOGIT, want_x,
                  "non-finite logits");
    tu_case_end(mark, "host: inf/-inf/NaN logits -> NONFINITE_LOGIT, counts exact, zeros written");

    /* The device entry point: success, and the counts buffer tells. */
    mark = tu_case_begin();
    for (int kind = 0; kind < 3; kind++) {
        cl_mem bx = guarded(g_cl, 4, N, kind == 2 ? x : g_x, 0, N);
        cl_mem by = kind == 1 ? guarded(g_cl, 1, N, y8, 0, N)
                              : guarded(g_cl, 4, N, kind == 0 ? y : g_y, 0, N);
        cl_mem bg = guarded(g_cl, 4, N, NULL, 0, 0);
        cl_mem bc = guarded(g_cl, 8, APLCL_COUNT_LEN, NULL, 0, 0);
        cl_event ev = NULL;
        CHECK_STATUS(aplcl_compute(ctx, &p, ROWS, COLS, bx, 0, by, 0,
                                   kind == 1 ? APLCL_TARGET_U8 : APLCL_TARGET_F32, bg, 0, NULL, 0,
                                   NULL, 0, bc, 0, 0, NULL, &ev),
                     APLCL_SUCCESS);
        cl_ulong hc[APLCL_COUNT_LEN] = {0, 0, 0};
        CL_CHECK(clEnqueueReadBuffer(g_q, bc, CL_TRUE, 0, sizeof hc, hc, ev ? 1 : 0,
                                     ev ? &ev : NULL, NULL));
        uint64_t nbad = kind == 0 ? 5 : 4;
        CHECK_EQ_U64(hc[APLCL_COUNT_ELEMENTS], N - g_ignored - (kind < 2 ? nbad : 0));
        CHECK_EQ_U64(hc[APLCL_COUNT_INVALID_TARGETS], kind < 2 ? nbad : 0);
        CHECK_EQ_U64(hc[APLCL_COUNT_NONFINITE_LOGITS], kind == 2 ? nbad : 0);
        if (ev)
            clReleaseEvent(ev);
        clReleaseMemObject(bx);
        clReleaseMemObject(by);
        clReleaseMemObject(bg);
        clReleaseMemObject(bc);
    }
    tu_case_end(mark,
                "aplcl_compute: invalid targets / non-finite logits counted in the counts buffer");
}

/* ---- kernel source override ---- */

/* Copies every regular file of src into dst, appending `junk` (NULL: none) to each. Returns the
 * number of files copied. */
static int copy_kernels(const char *src, const char *dst, const char *junk) {
    DIR *d = opendir(src);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char from[4096], to[4096];
        snprintf(from, sizeof from, "%s/%s", src, de->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, de->d_name);
        struct stat st;
        if (stat(from, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        FILE *in = fopen(from, "rb");
        FILE *out = in ? fopen(to, "wb") : NULL;
        if (out) {
            char buf[8192];
            size_t k;
            while ((k = fread(buf, 1, sizeof buf, in)) > 0)
                fwrite(buf, 1, k, out);
            if (junk)
                fputs(junk, out);
            n++;
            fclose(out);
        }
        if (in)
            fclose(in);
    }
    closedir(d);
    return n;
}

/* A context whose kernels come from folder dir (the kernel_dir option). */
static aplcl_status create_with_kernel_dir(aplcl_ctx **c, const char *dir) {
    aplcl_ctx_options o = aplcl_ctx_options_default();
    o.kernel_dir = dir;
    return aplcl_ctx_create_ex(c, &o);
}

/* With kernel_dir = dir, aplcl_ctx_create_ex fails with `want` and leaves no context. */
static void ctx_create_fails(const char *dir, aplcl_status want) {
    aplcl_ctx *c = (aplcl_ctx *)&c;
    aplcl_status st = create_with_kernel_dir(&c, dir);
    CHECK_STATUS(st, want);
    CHECK(c == NULL);
    if (st == APLCL_SUCCESS && c)
        aplcl_ctx_destroy(c);
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            remove(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

static void test_kernel_override(void) {
    const char *kdir = APLCL_SOURCE_DIR "/kernels";
    char good[4096], broken[4096], empty[4096];
    snprintf(good, sizeof good, "%s/aplcl-kernels-good-XXXXXX", APLCL_BINARY_DIR);
    snprintf(broken, sizeof broken, "%s/aplcl-kernels-broken-XXXXXX", APLCL_BINARY_DIR);
    snprintf(empty, sizeof empty, "%s/aplcl-kernels-empty-XXXXXX", APLCL_BINARY_DIR);
    if (!mkdtemp(good) || !mkdtemp(broken) || !mkdtemp(empty)) {
        TU_FAIL_AT_(__FILE__, __LINE__, "mkdtemp failed under %s", APLCL_BINARY_DIR);
        return;
    }

    /* Control: an unmodified copy builds, so a failure below is the junk's doing. */
    int mark = tu_case_begin();
    int n = copy_kernels(kdir, good, NULL);
    if (n == 0)
        TU_FAIL_AT_(__FILE__, __LINE__, "no kernel files found in %s", kdir);
    aplcl_ctx *c = NULL;
    aplcl_status st = create_with_kernel_dir(&c, good);
    CHECK_STATUS(st, APLCL_SUCCESS);
    if (st == APLCL_ERR_KERNEL_BUILD)
        printf("build log:\n%s\n", aplcl_last_build_log());
    aplcl_ctx_destroy(c);
    tu_case_end(mark, "kernel_dir = unmodified copy of kernels/ (%d file(s)): builds", n);

    mark = tu_case_begin();
    n = copy_kernels(kdir, broken, "\n@@@ deliberately broken by test_bad_input @@@ }}}\n");
    ctx_create_fails(broken, APLCL_ERR_KERNEL_BUILD);
    const char *log = aplcl_last_build_log();
    CHECK(log != NULL);
    if (log)
        CHECK(log[0] != '\0');
    tu_case_end(mark, "kernel_dir = broken copy: KERNEL_BUILD, build log of %zu chars",
                log ? strlen(log) : (size_t)0);

    mark = tu_case_begin();
    ctx_create_fails(APLCL_BINARY_DIR "/no-such-aplcl-kernel-dir-xyz", APLCL_ERR_KERNEL_SOURCE);
    ctx_create_fails(empty, APLCL_ERR_KERNEL_SOURCE);
    tu_case_end(mark, "kernel_dir = missing / empty folder: KERNEL_SOURCE");

    /* The library reads no development variable: APLCL_KERNEL_DIR naming the broken copy (and
     * the other knobs set to invalid values) leave aplcl_ctx_create on the embedded kernels. */
    mark = tu_case_begin();
    setenv("APLCL_KERNEL_DIR", broken, 1);
    setenv("APLCL_VECTOR_WIDTH", "3", 1);
    setenv("APLCL_QUEUE", "junk", 1);
    c = NULL;
    CHECK_STATUS(aplcl_ctx_create(&c, NULL), APLCL_SUCCESS);
    aplcl_ctx_destroy(c);
    unsetenv("APLCL_KERNEL_DIR");
    unsetenv("APLCL_VECTOR_WIDTH");
    unsetenv("APLCL_QUEUE");
    tu_case_end(mark, "APLCL_KERNEL_DIR, APLCL_VECTOR_WIDTH, APLCL_QUEUE ignored by the library");

    remove_dir(good);
    remove_dir(broken);
    remove_dir(empty);
}

int main(void) {
    /* A cached program binary must not hide the broken source below. */
    setenv("APLCL_CACHE_DIR", "off", 1);
    unsetenv("APLCL_KERNEL_DIR");
    make_inputs();
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;
    g_cl = aplcl_ctx_cl_context(ctx);
    g_q = aplcl_ctx_queue(ctx);

    test_compute_rejects(ctx);
    test_compute_valid(ctx);
    test_host_rejects(ctx);
    test_bad_values(ctx);
    aplcl_ctx_destroy(ctx);

    test_kernel_override();
    return tu_exit_code();
}
