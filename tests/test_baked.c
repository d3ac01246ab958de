/* test_baked: loss programs with the constants built in give the generic kernel's bits.
 *
 * src/program_baked.c builds, on a parameter set's third call, a loss program with that set's
 * constants compiled in, and keeps at most APL_BAKED_SLOTS (8) of them per context. A call must
 * not change its results when that happens: for every case here, calls 1 to 4 on one context
 * (1 and 2 generic, 3 and 4 baked) and a context with APLCL_BAKE=0 give the same bits for every
 * gradient, every per-element loss and the reduced loss. Twelve parameter sets, cycled twice,
 * also make the table evict and rebuild. With the default APLCL_BAKE=1 the build runs on a thread
 * of its own: calls before and after the switch give the same bits, and destroying a context
 * while a build runs is safe. APLCL_BAKE=2 makes a baked program that fails to build
 * fail the call, so nothing here passes by falling back to the generic kernel. Not here: agreement
 * with the reference (test_device_vs_ref), the sparse-step queue (test_queue).
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test_util.h"

enum { ROWS = 37, COLS = 61, N = ROWS * COLS, CALLS = 4, NSETS = 12 };

typedef struct {
    uint16_t grad[N * 2]; /* N values of the largest storage (f32) */
    float loss[N];
    double sum;
} outputs;

/* Logits N(0, 4) with far tails; targets hard, soft (F32 only) and ignored. */
static void make_inputs(float *x, uint16_t *x16, float *y, uint8_t *y8, float *pw) {
    cli_rng r = cli_rng_seed(90210);
    const float tails[] = {-104.0f, -100.0f, -30.0f, -2.944439f, 18.42f, 30.0f, 100.0f};
    for (size_t i = 0; i < N; ++i) {
        x[i] = i < 7 ? tails[i] : (float)cli_rng_normal(&r, 0.0, 4.0);
        uint32_t b;
        memcpy(&b, &x[i], 4);
        x16[i] = (uint16_t)(b >> 16); /* bf16 by truncation; as f16 bits any pattern will do */
        if ((x16[i] & 0x7c00) == 0x7c00)
            x16[i] &= 0x3fff; /* no f16 inf/NaN */
        double u = cli_rng_uniform(&r);
        y[i] = u < 0.3 ? 1.0f : u < 0.9 ? 0.0f : u < 0.95 ? 0.25f : -1.0f;
        y8[i] = u < 0.3 ? 1 : u < 0.95 ? 0 : APLCL_TARGET_U8_IGNORE;
    }
    for (size_t c = 0; c < COLS; ++c)
        pw[c] = 0.5f + (float)c / COLS;
}

static void make_sets(aplcl_params *s) {
    s[0] = aplcl_params_default();
    s[1] = aplcl_params_bce();
    s[2] = aplcl_params_focal(2.0f), s[2].focus_grad = 1;
    s[3] = aplcl_params_asl(4.0f, 1.0f, 0.05f), s[3].focus_grad = 1;
    s[3].reduction = APLCL_REDUCE_MEAN;
    s[4] = aplcl_params_poly1(1.0f), s[4].reduction = APLCL_REDUCE_NONE;
    s[5] = aplcl_params_focal(0.5f), s[5].focus_grad = 1, s[5].clip = 0.001f;
    s[6] = aplcl_params_default(), s[6].gamma_pos = 1.5f, s[6].eps = 0.0f;
    s[7] = aplcl_params_default(), s[7].clip = 0.2f, s[7].grad_scale = 0.5f;
    s[8] = aplcl_params_default(), s[8].n_alpha = 3, s[8].alpha[2] = 0.25f;
    s[9] = aplcl_params_asl(2.0f, 0.0f, 0.0f), s[9].n_beta = 2, s[9].beta[0] = 1.0f,
    s[9].beta[1] = 0.5f;
    s[10] = aplcl_params_default(), s[10].gamma_neg = 0.0f;
    s[11] = aplcl_params_asl(3.0f, 2.0f, 0.1f), s[11].reduction = APLCL_REDUCE_MEAN,
    s[11].normalizer = 7.0;
}

typedef struct {
    aplcl_dtype dtype;
    aplcl_target_format tfmt;
    int weighted;
    int nsets; /* the first nsets parameter sets (each baked program costs a build) */
} variant;

static const variant variants[] = {
    {APLCL_DTYPE_F32, APLCL_TARGET_U8, 0, NSETS}, {APLCL_DTYPE_F32, APLCL_TARGET_F32, 0, 4},
    {APLCL_DTYPE_F16, APLCL_TARGET_F32, 0, 2},    {APLCL_DTYPE_BF16, APLCL_TARGET_U8, 0, 2},
    {APLCL_DTYPE_F32, APLCL_TARGET_F32, 1, 3},
};

static const float *g_x;
static const uint16_t *g_x16;
static const float *g_y, *g_pw;
static const uint8_t *g_y8;

static int run(aplcl_ctx *ctx, const variant *v, const aplcl_params *p, outputs *o) {
    const void *x = v->dtype == APLCL_DTYPE_F32 ? (const void *)g_x : (const void *)g_x16;
    const void *t = v->tfmt == APLCL_TARGET_U8 ? (const void *)g_y8 : (const void *)g_y;
    aplcl_weights w = {g_pw, 0, NULL, 0, APLCL_WEIGHT_ELEMENT};
    memset(o, 0, sizeof *o);
    aplcl_status st = tu_host(ctx, p, ROWS, COLS, v->dtype, x, v->tfmt, t, v->weighted ? &w : NULL,
                              o->grad, o->loss, &o->sum, NULL);
    CHECK_STATUS(st, APLCL_SUCCESS);
    return st == APLCL_SUCCESS;
}

static aplcl_ctx *ctx_with_bake(const char *bake) {
    aplcl_ctx *ctx = NULL;
    aplcl_status st = tu_ctx_create_with_env(&ctx, "APLCL_BAKE", bake);
    if (st != APLCL_SUCCESS)
        TU_FAIL_AT_(__FILE__, __LINE__, "APLCL_BAKE=%s: aplcl_ctx_create = %s", bake,
                    tu_status_name(st));
    return st == APLCL_SUCCESS ? ctx : NULL;
}

/* Fails with the first differing element, if any. */
static void check_same(const char *what, const outputs *got, const outputs *want, size_t gbytes) {
    for (size_t i = 0; i < N; ++i) {
        if (memcmp((const char *)got->grad + i * gbytes, (const char *)want->grad + i * gbytes,
                   gbytes) != 0) {
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: gradient[%zu] differs (x = %g)", what, i,
                        (double)g_x[i]);
            break;
        }
        if (memcmp(&got->loss[i], &want->loss[i], sizeof(float)) != 0) {
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: loss[%zu] = %.9g, want %.9g", what, i,
                        (double)got->loss[i], (double)want->loss[i]);
            break;
        }
    }
    CHECK(memcmp(&got->sum, &want->sum, sizeof(double)) == 0);
}

int main(void) {
    int rc = tu_device_check();
    if (rc)
        return rc;
    static float x[N], y[N], pw[COLS];
    static uint16_t x16[N];
    static uint8_t y8[N];
    make_inputs(x, x16, y, y8, pw);
    g_x = x, g_x16 = x16, g_y = y, g_y8 = y8, g_pw = pw;
    aplcl_params sets[NSETS];
    make_sets(sets);

    aplcl_ctx *generic = ctx_with_bake("0");
    aplcl_ctx *baking = ctx_with_bake("2"); /* 2: a baked build that fails fails the call */
    static outputs want, got;
    for (int round = 0; generic && baking && round < 2; ++round) {
        for (size_t vi = 0; vi < sizeof variants / sizeof variants[0]; ++vi) {
            const variant *v = &variants[vi];
            size_t gbytes = v->dtype == APLCL_DTYPE_F32 ? 4 : 2;
            for (int k = 0; k < v->nsets; ++k) {
                int mark = tu_case_begin();
                if (!run(generic, v, &sets[k], &want))
                    continue;
                for (int c = 0; c < CALLS; ++c) {
                    char what[96];
                    snprintf(what, sizeof what, "round %d, variant %zu, set %d, call %d", round, vi,
                             k, c + 1);
                    if (run(baking, v, &sets[k], &got))
                        check_same(what, &got, &want, gbytes);
                }
                tu_case_end(mark,
                            "round %d, dtype %d, targets %d%s, set %d: calls 1-%d (generic, then "
                            "baked) = APLCL_BAKE=0, bit for bit",
                            round, (int)v->dtype, (int)v->tfmt, v->weighted ? ", weighted" : "", k,
                            CALLS);
            }
        }
    }
    /* The default, APLCL_BAKE=1: the build runs on its own thread while calls go on. Every call
     * (generic before the switch, baked after, whichever it was) must give the same bits; calls
     * go on for 3 s, past a build's ~1 s, so the switch happens inside the loop. Then a context
     * destroyed while its build still runs (it waits for the builder). */
    aplcl_ctx *async = ctx_with_bake("1");
    if (generic && async) {
        int mark = tu_case_begin();
        run(generic, &variants[0], &sets[0], &want);
        double t0 = cli_now_s();
        int calls = 0;
        for (; calls < 20 || cli_now_s() - t0 < 3.0; ++calls) {
            if (!run(async, &variants[0], &sets[0], &got))
                break;
            check_same("APLCL_BAKE=1", &got, &want, 4);
        }
        tu_case_end(mark, "APLCL_BAKE=1: %d calls over the build's switch = APLCL_BAKE=0", calls);
    }
    aplcl_ctx_destroy(async);
    aplcl_ctx *early_exit = ctx_with_bake("1");
    /* the 3rd call starts a build; none follows, so which kernel runs never depends on timing */
    for (int c = 0; early_exit && c < 3; ++c)
        run(early_exit, &variants[0], &sets[1], &got);
    aplcl_ctx_destroy(early_exit);

    aplcl_ctx_destroy(generic);
    aplcl_ctx_destroy(baking);
    return tu_exit_code();
}
