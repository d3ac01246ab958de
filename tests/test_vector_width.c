/* test_vector_width: per-element results do not depend on the kernel's vector width.
 *
 * aplcl.h: APLCL_VECTOR_WIDTH (1, 2, 4, 8, 16) changes only the order of the reduced loss's sums;
 * every per-element gradient and loss is the same bits. Widths 1 and 2 used to differ from 4 to
 * 16 by up to ~200 ulp (PoCL's scalar exp/log/log1p round differently from its vector ones).
 * Each width gets its own context, created with the variable set. Not here: agreement with the
 * reference (test_device_vs_ref).
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test_util.h"

enum { ROWS = 37, COLS = 61, N = ROWS * COLS, NW = 5 };
static const char *const widths[NW] = {"1", "2", "4", "8", "16"};

typedef struct {
    float grad[N], loss[N];
    double sum;
} outputs;

/* Logits N(0, 4) with far tails and the default clip's kink; targets hard, soft and ignored. */
static void make_inputs(float *x, float *y, uint8_t *y8) {
    cli_rng r = cli_rng_seed(4711);
    const float tails[] = {-104.0f, -100.0f, -88.0f, -30.0f, -2.944439f, 18.42f, 30.0f, 100.0f};
    for (size_t i = 0; i < N; ++i) {
        x[i] = i < 8 ? tails[i] : (float)cli_rng_normal(&r, 0.0, 4.0);
        double u = cli_rng_uniform(&r);
        y[i] = u < 0.3 ? 1.0f : u < 0.9 ? 0.0f : u < 0.95 ? 0.25f : -1.0f;
        y8[i] = u < 0.3 ? 1 : u < 0.95 ? 0 : APLCL_TARGET_U8_IGNORE;
    }
}

static int run(const char *width, const aplcl_params *p, int u8, const float *x, const float *y,
               const uint8_t *y8, outputs *o) {
    aplcl_ctx *ctx = NULL;
    aplcl_status st = tu_ctx_create_with_env(&ctx, "APLCL_VECTOR_WIDTH", width);
    if (st != APLCL_SUCCESS) {
        TU_FAIL_AT_(__FILE__, __LINE__, "width %s: aplcl_ctx_create = %s", width,
                    tu_status_name(st));
        return 0;
    }
    st = u8 ? tu_host_u8(ctx, p, ROWS, COLS, x, y8, o->grad, o->loss, &o->sum)
            : aplcl_host_compute(ctx, p, ROWS, COLS, x, y, o->grad, o->loss, &o->sum);
    aplcl_ctx_destroy(ctx);
    CHECK_STATUS(st, APLCL_SUCCESS);
    return st == APLCL_SUCCESS;
}

/* First element whose bits differ, or -1. */
static long first_diff(const float *a, const float *b) {
    for (size_t i = 0; i < N; ++i)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return (long)i;
    return -1;
}

int main(void) {
    int rc = tu_device_check();
    if (rc)
        return rc;
    static float x[N], y[N];
    static uint8_t y8[N];
    make_inputs(x, y, y8);
    struct {
        const char *name;
        aplcl_params p;
    } sets[6];
    sets[0].name = "default", sets[0].p = aplcl_params_default();
    sets[1].name = "bce", sets[1].p = aplcl_params_bce();
    sets[2].name = "focal(2) differentiated", sets[2].p = aplcl_params_focal(2.0f);
    sets[2].p.focus_grad = 1;
    sets[3].name = "asl(4,1,0.05) differentiated, MEAN",
    sets[3].p = aplcl_params_asl(4.0f, 1.0f, 0.05f);
    sets[3].p.focus_grad = 1, sets[3].p.reduction = APLCL_REDUCE_MEAN;
    sets[4].name = "poly1(1), NONE", sets[4].p = aplcl_params_poly1(1.0f);
    sets[4].p.reduction = APLCL_REDUCE_NONE;
    sets[5].name = "focal(0.5) differentiated, clip 0.001", sets[5].p = aplcl_params_focal(0.5f);
    sets[5].p.focus_grad = 1, sets[5].p.clip = 0.001f;

    static outputs out[NW];
    for (size_t k = 0; k < sizeof sets / sizeof sets[0]; ++k) {
        for (int u8 = 0; u8 <= 1; ++u8) {
            int mark = tu_case_begin();
            int ok = 1;
            for (int w = 0; w < NW; ++w)
                ok &= run(widths[w], &sets[k].p, u8, x, y, y8, &out[w]);
            for (int w = 0; ok && w < NW - 1; ++w) {
                long g = first_diff(out[w].grad, out[NW - 1].grad);
                long l = first_diff(out[w].loss, out[NW - 1].loss);
                if (g >= 0)
                    TU_FAIL_AT_(__FILE__, __LINE__,
                                "%s: width %s gradient[%ld] = %.9g, width 16: %.9g (x = %g)",
                                sets[k].name, widths[w], g, (double)out[w].grad[g],
                                (double)out[NW - 1].grad[g], (double)x[g]);
                if (l >= 0)
                    TU_FAIL_AT_(__FILE__, __LINE__,
                                "%s: width %s loss[%ld] = %.9g, width 16: %.9g (x = %g)",
                                sets[k].name, widths[w], l, (double)out[w].loss[l],
                                (double)out[NW - 1].loss[l], (double)x[l]);
                /* the reduced loss may differ in its last bits only (another summation order) */
                CHECK_NEAR(out[w].sum, out[NW - 1].sum, 1e-6, 0.0);
            }
            tu_case_end(mark, "%s%s: widths 1, 2, 4, 8, 16 give the same bits per element",
                        sets[k].name, u8 ? " (u8 targets)" : "");
        }
    }
    return tu_exit_code();
}
