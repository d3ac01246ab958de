/* test_sum_large: the reduced loss over 10^7 elements against the double reference.
 *
 * 10000 x 1000 early-training logits N(0,2) with about 3% positives and the reference defaults:
 * the device's summed loss must be within 1e-6 relative of the compensated double sum, with and
 * without a gradient, and the MEAN likewise (its gradient is spot-checked under the element rule).
 * Per-element accuracy on odd shapes is test_device_vs_ref's concern.
 */
#include "test_util.h"

#define ROWS 10000
#define COLS 1000
#define N ((size_t)ROWS * COLS)

int main(void) {
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;

    float *x = tu_xmalloc(N * sizeof(float)), *y = tu_xmalloc(N * sizeof(float));
    cli_rng r = cli_rng_seed(10000000);
    for (size_t i = 0; i < N; i++) {
        x[i] = (float)cli_rng_normal(&r, 0.0, 2.0);
        y[i] = cli_rng_uniform(&r) < 0.03 ? 1.0f : 0.0f;
    }
    float *g = tu_xmalloc(N * sizeof(float));
    double *rg = tu_xmalloc(N * sizeof(double));

    for (int mean = 0; mean <= 1; mean++) {
        aplcl_params p = aplcl_params_default();
        if (mean)
            p.reduction = APLCL_REDUCE_MEAN;
        const char *red = mean ? "MEAN" : "SUM";
        double want = NAN;
        uint64_t counts[APLCL_COUNT_LEN] = {0};
        CHECK_STATUS(tu_ref_counts(&p, ROWS, COLS, x, y, mean ? rg : NULL, NULL, &want, counts),
                     APLCL_SUCCESS);
        CHECK_EQ_U64(counts[APLCL_COUNT_ELEMENTS], N);

        /* forward only */
        int mark = tu_case_begin();
        double loss = NAN;
        CHECK_STATUS(aplcl_host_compute(ctx, &p, ROWS, COLS, x, y, NULL, NULL, &loss),
                     APLCL_SUCCESS);
        CHECK_NEAR(loss, want, CASES_SUM_RTOL, 0.0);
        tu_case_end(mark, "10^7 %s, forward only: %.10g vs reference %.10g (rel %.2g)", red, loss,
                    want, fabs(loss - want) / fabs(want));

        /* with the gradient (MEAN adds the count pass) */
        mark = tu_case_begin();
        loss = NAN;
        CHECK_STATUS(aplcl_host_compute(ctx, &p, ROWS, COLS, x, y, g, NULL, &loss), APLCL_SUCCESS);
        CHECK_NEAR(loss, want, CASES_SUM_RTOL, 0.0);
        if (mean) {
            tu_cmp c = tu_compare_f32(g, rg, N, CASES_RTOL, CASES_ATOL / (double)N);
            TU_CMP_CHECK("MEAN gradient", c, x);
        }
        tu_case_end(mark, "10^7 %s, with gradient: %.10g vs reference %.10g (rel %.2g)", red, loss,
                    want, fabs(loss - want) / fabs(want));
    }

    free(x);
    free(y);
    free(g);
    free(rg);
    aplcl_ctx_destroy(ctx);
    return tu_exit_code();
}
