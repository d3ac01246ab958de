/* test_ref_gradcheck: the CPU reference's gradient against central finite differences.
 *
 * Logits are multiples of 1/64 and h = 2^-12, so x +- h are exact floats the reference evaluates in
 * double. Differentiated weight: grad = difference quotient of the reduced loss; detached: weight
 * times the quotient of the unweighted bracket F. Kinks (p == clip, p == eps) are avoided; no
 * device.
 */
#include "test_util.h"

#define GC_H (1.0 / 4096.0)
#define GC_RTOL 1e-5
#define GC_ATOL 1e-9 /* times the gradient multiplier scale */
#define GC_ROWS 2
#define GC_COLS 64
#define GC_N (GC_ROWS * GC_COLS)

/* Reduced loss (the scalar aplcl_ref_compute returns). */
static double reduced_loss(const aplcl_params *p, const float *x, const float *y) {
    double loss = NAN;
    aplcl_status st = aplcl_ref_compute(p, GC_ROWS, GC_COLS, x, y, NULL, NULL, &loss);
    if (st != APLCL_SUCCESS)
        TU_FAIL_AT_(__FILE__, __LINE__, "aplcl_ref_compute: %s", tu_status_name(st));
    return loss;
}

/* Builds logits and targets avoiding the kinks of p: positions near x = ln(c/(1-c)) for c = clip
 * (negatives), c = eps (positives) and, with clip 0, 1 - eps (negatives) are nudged away. */
static void make_points(const aplcl_params *p, float *x, float *y) {
    static const float pattern[8] = {1.0f, 0.0f, 0.3f, 1.0f, 0.0f, -1.0f, 0.7f, 0.0f};
    double kinks[3];
    int nk = 0;
    if (p->clip > 0)
        kinks[nk++] = log((double)p->clip / (1.0 - (double)p->clip));
    if (p->eps > 0) {
        double xe = log((double)p->eps / (1.0 - (double)p->eps));
        kinks[nk++] = xe;
        kinks[nk++] = -xe;
    }
    size_t n = 0;
    for (int copy = 0; copy < 2; copy++) {
        for (int i = 0; i < 60; i++) {
            float xi = -6.0f + (float)i * (13.0f / 64.0f);
            for (int k = 0; k < nk; k++)
                if (fabs((double)xi - kinks[k]) < 0.05)
                    xi += 0.125f; /* still a multiple of 1/64 */
            x[n] = xi;
            y[n] = pattern[(i + 3 * copy) % 8];
            n++;
        }
    }
    /* Far tails: the eps floor (if any) binds here, and BCE's gradient tends to -1 / +1. */
    static const float sx[8] = {-20.0f, -20.0f, 20.0f, 20.0f, -20.0f, 20.0f, -9.5f, 9.5f};
    static const float sy[8] = {1.0f, 0.0f, 1.0f, 0.0f, 0.3f, 0.3f, 1.0f, 0.0f};
    for (int i = 0; i < 8; i++) {
        x[n] = sx[i];
        y[n] = sy[i];
        n++;
    }
}

/* Gradient multiplier scale: grad_scale, divided by the MEAN denominator. */
static double grad_factor(const aplcl_params *p, const float *x, const float *y) {
    uint64_t counts[APLCL_COUNT_LEN] = {0, 0, 0};
    double loss;
    tu_ref_counts(p, GC_ROWS, GC_COLS, x, y, NULL, NULL, &loss, counts);
    return cases_grad_scale(p, counts[APLCL_COUNT_ELEMENTS]);
}

/* Expected gradient by finite differences, for the parameters' own focusing mode. */
static void fd_gradient(const aplcl_params *p, const float *x, const float *y, double *want) {
    double factor = grad_factor(p, x, y);
    float xp[GC_N];
    if (p->focus_grad) {
        /* Differentiated weight: the gradient is the true derivative of the reduced loss. */
        memcpy(xp, x, sizeof xp);
        for (size_t k = 0; k < GC_N; k++) {
            xp[k] = (float)((double)x[k] + GC_H);
            double lp = reduced_loss(p, xp, y);
            xp[k] = (float)((double)x[k] - GC_H);
            double lm = reduced_loss(p, xp, y);
            xp[k] = x[k];
            want[k] = (double)p->grad_scale * (lp - lm) / (2.0 * GC_H);
        }
        return;
    }
    /* Detached weight: w * dF/dx, with dF/dx from the unweighted loss (gamma = 0) of all-positive
     * and all-negative targets; elements are independent, so every logit moves at once. */
    aplcl_params q = *p;
    q.gamma_pos = q.gamma_neg = 0.0f;
    q.reduction = APLCL_REDUCE_SUM;
    q.grad_scale = 1.0f;
    float ones[GC_N], zeros[GC_N], xm[GC_N];
    double fpp[GC_N], fpm[GC_N], fnp[GC_N], fnm[GC_N], loss;
    for (size_t k = 0; k < GC_N; k++) {
        ones[k] = 1.0f;
        zeros[k] = 0.0f;
        xp[k] = (float)((double)x[k] + GC_H);
        xm[k] = (float)((double)x[k] - GC_H);
    }
    aplcl_ref_compute(&q, GC_ROWS, GC_COLS, xp, ones, NULL, fpp, &loss);
    aplcl_ref_compute(&q, GC_ROWS, GC_COLS, xm, ones, NULL, fpm, &loss);
    aplcl_ref_compute(&q, GC_ROWS, GC_COLS, xp, zeros, NULL, fnp, &loss);
    aplcl_ref_compute(&q, GC_ROWS, GC_COLS, xm, zeros, NULL, fnm, &loss);
    double m = tu_decimal(p->clip);
    for (size_t k = 0; k < GC_N; k++) {
        double yk = (double)y[k];
        if (yk < 0) {
            want[k] = 0.0;
            continue;
        }
        double pr = tu_sigmoid((double)x[k]);
        double pm = m > 0 ? fmax(pr - m, 0.0) : pr;
        double wp = pow(1.0 - pr, tu_decimal(p->gamma_pos)); /* pow(0, 0) = 1 */
        double wn = pow(pm, tu_decimal(p->gamma_neg));
        double dfp = (fpp[k] - fpm[k]) / (2.0 * GC_H);
        double dfn = (fnp[k] - fnm[k]) / (2.0 * GC_H);
        want[k] = factor * (yk * wp * dfp + (1.0 - yk) * wn * dfn);
    }
}

static void run_case(const char *name, aplcl_params p) {
    for (int fg = 0; fg <= 1; fg++) {
        int mark = tu_case_begin();
        p.focus_grad = fg;
        CHECK_STATUS(aplcl_params_validate(&p), APLCL_SUCCESS);
        float x[GC_N], y[GC_N];
        make_points(&p, x, y);
        double grad[GC_N], want[GC_N], loss;
        CHECK_STATUS(aplcl_ref_compute(&p, GC_ROWS, GC_COLS, x, y, grad, NULL, &loss),
                     APLCL_SUCCESS);
        fd_gradient(&p, x, y, want);
        double factor = grad_factor(&p, x, y);
        tu_cmp c = tu_compare_f64(grad, want, GC_N, GC_RTOL, GC_ATOL * fabs(factor));
        TU_CMP_CHECK("gradient vs finite differences", c, x);
        tu_case_end(mark, "%-40s focus_grad=%d  worst |diff|/tol %.2g", name, fg, c.worst_ratio);
    }
}

int main(void) {
    aplcl_params p;

    run_case("defaults", aplcl_params_default());

    p = aplcl_params_default();
    p.gamma_pos = 2.0f;
    run_case("gamma_pos 2", p);

    p = aplcl_params_default();
    p.gamma_pos = 1.5f;
    p.gamma_neg = 2.5f;
    run_case("gamma_pos 1.5, gamma_neg 2.5", p);

    p = aplcl_params_default();
    p.clip = 0.0f;
    p.gamma_neg = 2.5f;
    run_case("clip 0, gamma_neg 2.5", p);

    p = aplcl_params_default();
    p.clip = 0.2f;
    run_case("clip 0.2", p);

    p = aplcl_params_default();
    p.eps = 0.0f;
    run_case("eps 0", p);

    p = aplcl_params_default();
    p.clip = 0.0f;
    p.eps = 1e-8f;
    run_case("clip 0, eps 1e-8 (negatives floored too)", p);

    p = aplcl_params_default();
    p.eps = 1e-3f;
    p.gamma_pos = 1.0f;
    run_case("eps 1e-3, gamma_pos 1", p);

    /* Every leading term on both sides, deterministic coefficients in [-1, 3). */
    cli_rng rng = cli_rng_seed(0x5eed);
    p = aplcl_params_default();
    p.n_alpha = p.n_beta = APLCL_MAX_TERMS;
    for (int j = 0; j < APLCL_MAX_TERMS; j++) {
        p.alpha[j] = (float)cli_rng_range(&rng, -1.0, 3.0);
        p.beta[j] = (float)cli_rng_range(&rng, -1.0, 3.0);
    }
    run_case("8 alpha + 8 beta terms", p);

    cases_param_set set = cases_param_set_get(CASES_CUSTOM_3A2B);
    run_case(set.name, set.p);

    p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    p.normalizer = 0.0;
    run_case("MEAN over the non-ignored count", p);

    p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    p.normalizer = 123.0;
    p.grad_scale = 0.5f;
    run_case("MEAN normalizer 123, grad_scale 0.5", p);

    p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_NONE;
    p.grad_scale = 0.5f;
    run_case("NONE, grad_scale 0.5", p);

    p = aplcl_params_default();
    p.grad_scale = 0.5f;
    run_case("SUM, grad_scale 0.5", p);

    for (int k = CASES_BCE; k < CASES_N_PRESETS; k++) { /* the default ran first */
        set = cases_param_set_get((cases_set_id)k);
        run_case(set.name, set.p);
    }

    return tu_exit_code();
}
