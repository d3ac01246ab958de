/* test_spec_floor.c: docs/apl-spec.md section 4 says that where q < eps the floor blocks the
 * negative's log term: the 1/q^ term is 0, only the beta series is left (the whole negative
 * gradient 0 with BCE's coefficients). Checks that on the CPU reference, at logits past the
 * floor (clip 0, eps 1e-8: x > ln((1-eps)/eps) = 18.42), and that just below it the log term is
 * there. Host only.
 */
#include "test_util.h"

#include <math.h>

/* The reference's gradient of one negative (y = 0) at logit x. */
static double neg_grad(const aplcl_params *p, float x) {
    const float y = 0.0f;
    double g = NAN, l = NAN, loss = NAN;
    CHECK_EQ(aplcl_ref_compute(p, 1, 1, &x, &y, &g, &l, &loss), APLCL_SUCCESS);
    return g;
}

int main(void) {
    int m = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    p.clip = 0.0f;
    p.eps = 1e-8f;
    p.gamma_neg = 0.0f; /* w- = 1: the gradient is dF-/dp * s alone */
    const float past[4] = {18.5f, 20.0f, 30.0f, 80.0f};
    for (int i = 0; i < 4; ++i)
        CHECK_EQ_DBL(neg_grad(&p, past[i]), 0.0); /* BCE's coefficients: nothing is left */
    /* below the floor the 1/q^ term is there: BCE's gradient p */
    double below = neg_grad(&p, 18.0f), want = 1.0 / (1.0 + exp(-18.0));
    CHECK(fabs(below - want) <= 1e-12);
    tu_case_end(m, "q < eps (x past 18.42, clip 0): negative gradient 0; at x = 18: %.12g", below);

    /* with a beta_1 the series is left: dF-/dp = (beta_1 - 1) and the gradient (beta_1 - 1) s */
    m = tu_case_begin();
    p.n_beta = 1;
    p.beta[0] = 3.0f;
    double x = 19.0, s = 1.0 / (1.0 + exp(-x)) * (1.0 / (1.0 + exp(x)));
    double g = neg_grad(&p, (float)x);
    CHECK(fabs(g - 2.0 * s) <= 1e-9 * fabs(2.0 * s));
    tu_case_end(m, "q < eps with beta_1 = 3: gradient %.9g = (beta_1 - 1) p(1-p) = %.9g", g,
                2.0 * s);
    return tu_exit_code();
}
