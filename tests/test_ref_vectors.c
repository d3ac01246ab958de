/* test_ref_vectors: the CPU reference (aplcl_ref_compute) against hand-worked values.
 *
 * Every row of the spec's section 6 table (loss, detached and differentiated gradient), the batch
 * vector with each reduction, the closed forms of the reference defaults (sections 3 and 4), the
 * presets' documented fields and the presets' losses against their textbook formulas. No OpenCL
 * device is used; the gradient of arbitrary settings is checked by test_ref_gradcheck instead.
 */
#include "test_util.h"

/* Hand-worked values carry 12-13 significant digits. */
#define VEC_RTOL 1e-9
#define VEC_ATOL 1e-12

/* Loss and gradient of one element under SUM (so grad = d loss / dx). */
static aplcl_status ref1(const aplcl_params *p, float x, float y, double *loss, double *grad) {
    double el = NAN;
    aplcl_status st = aplcl_ref_compute(p, 1, 1, &x, &y, grad, &el, loss);
    if (st == APLCL_SUCCESS && !(el == *loss))
        TU_FAIL_AT_(__FILE__, __LINE__, "elem_loss %.17g != SUM loss %.17g for one element", el,
                    *loss);
    return st;
}

/* ---- section 6 table ---- */
typedef struct vec_row {
    float x, y;
    int preset; /* 0 defaults, 1 defaults with gamma_pos 1, 2 BCE */
    double loss, g_det, g_full;
} vec_row;

static const vec_row k_rows[] = {
    {0.0f, 1.0f, 0, 0.505647180560, -0.5625, -0.5625},
    {2.0f, 1.0f, 0, 0.025486759794, -0.045498192053, -0.045498192053},
    {-3.0f, 1.0f, 0, 3.230260058616, -1.014982760081, -1.014982760081},
    {0.0f, 0.0f, 0, 0.024515053512, 0.018639204545, 0.073117101239},
    {2.0f, 0.0f, 0, 0.846414950692, 0.295620637658, 0.723489934592},
    {-2.5f, 0.0f, 0, 1.171294918574e-08, 3.217441603103e-08, 1.591936059275e-07},
    {-3.0f, 0.0f, 0, 0.0, 0.0, 0.0},
    {1.0f, 1.0f, 1, 0.036235049554, -0.055004496573, -0.081494440396},
    /* Blank "change" column: the table's gamma_pos 1 does not touch negatives, so both readings
     * of the row agree; run it with gamma_pos 1 and again with the defaults. */
    {1.0f, 0.0f, 1, 0.245860224676, 0.132628488110, 0.416533900052},
    {1.0f, 0.0f, 0, 0.245860224676, 0.132628488110, 0.416533900052},
    {-20.0f, 1.0f, 0, 18.670680728952, 0.0, 0.0},
    {0.0f, 1.0f, 2, 0.693147180560, -0.5, -0.5},
};

static aplcl_params row_params(int preset) {
    aplcl_params p = preset == 2 ? aplcl_params_bce() : aplcl_params_default();
    if (preset == 1)
        p.gamma_pos = 1.0f;
    return p;
}

static void test_table(void) {
    static const char *names[] = {"defaults", "gamma_pos 1", "BCE"};
    for (size_t r = 0; r < sizeof k_rows / sizeof k_rows[0]; r++) {
        const vec_row *v = &k_rows[r];
        int mark = tu_case_begin();
        for (int fg = 0; fg <= 1; fg++) {
            aplcl_params p = row_params(v->preset);
            p.focus_grad = fg;
            double loss = NAN, grad = NAN;
            CHECK_STATUS(ref1(&p, v->x, v->y, &loss, &grad), APLCL_SUCCESS);
            CHECK_NEAR(loss, v->loss, VEC_RTOL, VEC_ATOL);
            CHECK_NEAR(grad, fg ? v->g_full : v->g_det, VEC_RTOL, VEC_ATOL);
            if (v->loss == 0.0) { /* spec: exactly zero below the clip */
                CHECK_EQ_DBL(loss, 0.0);
                CHECK_EQ_DBL(grad, 0.0);
            }
        }
        tu_case_end(mark, "table row %zu: x=%g y=%g (%s)", r + 1, (double)v->x, (double)v->y,
                    names[v->preset]);
    }
}

/* ---- batch vector, and each reduction on it ---- */
static void test_batch(void) {
    const float X[6] = {0.0f, 2.0f, -3.0f, 1.0f, -2.5f, -20.0f};
    const float Y[6] = {1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f};
    const double want_el[6] = {0.505647180560, 0.846414950692,     3.230260058616,
                               0.245860224676, 1.171294918574e-08, 18.670680728952};
    const double want_g[6] = {-0.5625,        0.295620637658,     -1.014982760081,
                              0.132628488110, 3.217441603103e-08, 0.0};
    const double want_sum = 23.498863155209;
    double g[6], el[6], loss = NAN;
    uint64_t counts[APLCL_COUNT_LEN] = {99, 99, 99};

    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    CHECK_STATUS(tu_ref_counts(&p, 2, 3, X, Y, g, el, &loss, counts), APLCL_SUCCESS);
    CHECK_NEAR(loss, want_sum, VEC_RTOL, VEC_ATOL);
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(el[i], want_el[i], VEC_RTOL, VEC_ATOL);
        CHECK_NEAR(g[i], want_g[i], VEC_RTOL, VEC_ATOL);
    }
    CHECK_EQ_U64(counts[APLCL_COUNT_ELEMENTS], 6);
    CHECK_EQ_U64(counts[APLCL_COUNT_INVALID_TARGETS], 0);
    CHECK_EQ_U64(counts[APLCL_COUNT_NONFINITE_LOGITS], 0);
    /* Optional outputs may be NULL. */
    loss = NAN;
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 3, X, Y, NULL, NULL, &loss), APLCL_SUCCESS);
    CHECK_NEAR(loss, want_sum, VEC_RTOL, VEC_ATOL);
    tu_case_end(mark, "batch 2x3, SUM: loss %.12f", loss);

    /* MEAN over the 6 non-ignored elements, then with a caller normaliser, with grad_scale. */
    mark = tu_case_begin();
    p.reduction = APLCL_REDUCE_MEAN;
    p.normalizer = 0.0;
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 3, X, Y, g, el, &loss), APLCL_SUCCESS);
    CHECK_NEAR(loss, want_sum / 6.0, VEC_RTOL, VEC_ATOL);
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(g[i], want_g[i] / 6.0, VEC_RTOL, VEC_ATOL / 6.0);
        CHECK_NEAR(el[i], want_el[i], VEC_RTOL, VEC_ATOL); /* element losses stay unreduced */
    }
    p.normalizer = 4.0;
    p.grad_scale = 3.0f;
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 3, X, Y, g, el, &loss), APLCL_SUCCESS);
    CHECK_NEAR(loss, want_sum / 4.0, VEC_RTOL, VEC_ATOL);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(g[i], want_g[i] * 3.0 / 4.0, VEC_RTOL, VEC_ATOL);
    tu_case_end(mark, "batch 2x3, MEAN (count, normalizer 4, grad_scale 3)");

    /* NONE: each element's own gradient times grad_scale; the scalar is still the plain sum. */
    mark = tu_case_begin();
    p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_NONE;
    p.grad_scale = 0.5f;
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 3, X, Y, g, el, &loss), APLCL_SUCCESS);
    CHECK_NEAR(loss, want_sum, VEC_RTOL, VEC_ATOL);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(g[i], want_g[i] * 0.5, VEC_RTOL, VEC_ATOL);
    tu_case_end(mark, "batch 2x3, NONE with grad_scale 0.5");

    /* Ignored targets (-1) contribute nothing and are not counted by MEAN. */
    mark = tu_case_begin();
    const float Yi[6] = {1.0f, -1.0f, 1.0f, 0.0f, -1.0f, 1.0f};
    p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    CHECK_STATUS(tu_ref_counts(&p, 2, 3, X, Yi, g, el, &loss, counts), APLCL_SUCCESS);
    double s4 = want_el[0] + want_el[2] + want_el[3] + want_el[5];
    CHECK_NEAR(loss, s4 / 4.0, VEC_RTOL, VEC_ATOL);
    CHECK_EQ_U64(counts[APLCL_COUNT_ELEMENTS], 4);
    CHECK_EQ_DBL(g[1], 0.0);
    CHECK_EQ_DBL(g[4], 0.0);
    CHECK_EQ_DBL(el[1], 0.0);
    CHECK_EQ_DBL(el[4], 0.0);
    CHECK_NEAR(g[0], want_g[0] / 4.0, VEC_RTOL, VEC_ATOL);
    tu_case_end(mark, "batch 2x3 with two ignored targets, MEAN over 4");
}

/* ---- closed forms of the reference defaults (sections 3 and 4) ----
 * With the spec's decimal constants (clip 0.05, eps 1e-8), as its table is computed: the float
 * parameter 0.05f stands for 0.05 (the table's row x = -2.5, y = 0 tells the two apart). */
static void test_default_closed_forms(void) {
    const float xs[] = {-6.0f, -2.75f, -2.0f, -1.0f, -0.3f, 0.25f, 0.8f, 1.5f, 3.0f, 5.0f, 9.0f};
    int mark = tu_case_begin();
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
        double x = xs[k], p = tu_sigmoid(x), s = p * (1.0 - p);
        double loss, grad;
        aplcl_params P = aplcl_params_default();
        for (int fg = 0; fg <= 1; fg++) {
            P.focus_grad = fg;
            /* positive: l+ = -ln p - (1-p) + 1.25 (1-p)^2, dl+/dx = -(1-p)^2 (1 + 2.5 p);
             * gamma_pos = 0, so both focusing modes agree */
            CHECK_STATUS(ref1(&P, xs[k], 1.0f, &loss, &grad), APLCL_SUCCESS);
            double q = 1.0 - p;
            CHECK_NEAR(loss, tu_softplus(-x) - q + 1.25 * q * q, VEC_RTOL, VEC_ATOL);
            CHECK_NEAR(grad, -q * q * (1.0 + 2.5 * p), VEC_RTOL, VEC_ATOL);
            /* negative: l- = -(p-0.05)^4 ln(1.05-p) for p > 0.05, else exactly 0 */
            CHECK_STATUS(ref1(&P, xs[k], 0.0f, &loss, &grad), APLCL_SUCCESS);
            double m = 0.05, pm = p - m; /* the spec's decimal clip */
            if (pm > 0) {
                double qq = 1.0 + m - p, F = -log(qq), w = pow(pm, 4);
                double gdet = w * s / qq;
                double gfull = gdet + 4.0 * pow(pm, 3) * s * F;
                CHECK_NEAR(loss, w * F, VEC_RTOL, VEC_ATOL);
                CHECK_NEAR(grad, fg ? gfull : gdet, VEC_RTOL, VEC_ATOL);
            } else {
                CHECK_EQ_DBL(loss, 0.0);
                CHECK_EQ_DBL(grad, 0.0);
            }
        }
    }
    tu_case_end(mark, "defaults: closed forms of l+, l-, dl+/dx, dl-/dx on %zu logits",
                sizeof xs / sizeof xs[0]);
}

/* ---- presets: documented fields ---- */

/* Coefficients from index `from` (0-based) up to n are BCE's 1/j, as stored in float. */
static int coefs_bce_from(const float *c, int n, int from) {
    for (int j = from; j < n; j++)
        if (c[j] != (float)(1.0 / (j + 1)))
            return 0;
    return 1;
}

static void test_preset_fields(void) {
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    CHECK_EQ_DBL(p.gamma_pos, 0.0f);
    CHECK_EQ_DBL(p.gamma_neg, 4.0f);
    CHECK_EQ_DBL(p.clip, 0.05f);
    CHECK_EQ_DBL(p.eps, 1e-8f);
    CHECK_GE(p.n_alpha, 2);
    CHECK_EQ_DBL(p.alpha[0], 0.0f);
    CHECK_EQ_DBL(p.alpha[1], 1.75f);
    CHECK(coefs_bce_from(p.alpha, p.n_alpha, 2));
    CHECK(coefs_bce_from(p.beta, p.n_beta, 0)); /* "no beta" */
    CHECK_EQ(p.focus_grad, 0);
    CHECK_EQ(p.reduction, APLCL_REDUCE_SUM);
    CHECK_EQ_DBL(p.grad_scale, 1.0f);
    CHECK_STATUS(aplcl_params_validate(&p), APLCL_SUCCESS);
    tu_case_end(mark, "preset default: documented fields");

    /* the other presets: gammas, clip, eps, and their series coefficients from term k on */
    const struct {
        cases_set_id id;
        float gamma_pos, gamma_neg, clip, eps;
        int alpha_from, beta_from;
    } presets[] = {{CASES_BCE, 0.0f, 0.0f, 0.0f, 0.0f, 0, 0},
                   {CASES_FOCAL_2, 2.0f, 2.0f, 0.0f, 0.0f, 0, 0},
                   {CASES_ASL_4_1_005, 1.0f, 4.0f, 0.05f, 1e-8f, 0, 0},
                   {CASES_POLY1_1, 0.0f, 0.0f, 0.0f, 0.0f, 1, 1}};
    for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++) {
        mark = tu_case_begin();
        cases_param_set set = cases_param_set_get(presets[k].id);
        p = set.p;
        CHECK_EQ_DBL(p.gamma_pos, presets[k].gamma_pos);
        CHECK_EQ_DBL(p.gamma_neg, presets[k].gamma_neg);
        CHECK_EQ_DBL(p.clip, presets[k].clip);
        CHECK_EQ_DBL(p.eps, presets[k].eps);
        CHECK_EQ(p.focus_grad, 0);
        if (presets[k].id == CASES_POLY1_1) {
            CHECK_GE(p.n_alpha, 1);
            CHECK_GE(p.n_beta, 1);
            CHECK_EQ_DBL(p.alpha[0], 2.0f);
            CHECK_EQ_DBL(p.beta[0], 2.0f);
        }
        CHECK(coefs_bce_from(p.alpha, p.n_alpha, presets[k].alpha_from));
        CHECK(coefs_bce_from(p.beta, p.n_beta, presets[k].beta_from));
        CHECK_STATUS(aplcl_params_validate(&p), APLCL_SUCCESS);
        tu_case_end(mark, "preset %s: documented fields", set.name);
    }
}

/* ---- presets: losses and gradients against textbook formulas ----
 * Each runs in both focusing modes (set explicitly) and otherwise as the preset comes, so a
 * preset with a non-SUM reduction or a grad_scale other than 1 shows up here. */
typedef struct textbook {
    double lp, gp_det, gp_full; /* positive: loss, gradients */
    double ln, gn_det, gn_full; /* negative */
} textbook;

static textbook tb_bce(double x) {
    double p = tu_sigmoid(x);
    textbook t = {tu_softplus(-x), p - 1.0, p - 1.0, tu_softplus(x), p, p};
    return t;
}
static textbook tb_focal(double x, double g) {
    double p = tu_sigmoid(x), q = 1.0 - p, s = p * q;
    textbook t;
    t.lp = pow(q, g) * tu_softplus(-x);
    t.gp_det = -pow(q, g + 1.0);
    t.gp_full = t.gp_det - g * pow(q, g - 1.0) * s * tu_softplus(-x);
    t.ln = pow(p, g) * tu_softplus(x);
    t.gn_det = pow(p, g + 1.0);
    t.gn_full = t.gn_det + g * pow(p, g - 1.0) * s * tu_softplus(x);
    return t;
}
/* ASL(gamma_neg 4, gamma_pos 1, clip 0.05, eps 1e-8): below p = eps a positive's log is
 * floored (constant, no gradient through it); a negative's q >= clip never reaches the floor. */
static textbook tb_asl(double x) {
    double p = tu_sigmoid(x), q = 1.0 - p, s = p * q, m = 0.05, pm = p - m;
    double e = 1e-8;
    double Fp = p < e ? -log(e) : tu_softplus(-x);
    textbook t;
    t.lp = q * Fp;
    t.gp_det = p < e ? 0.0 : -q * q;
    t.gp_full = t.gp_det - s * Fp;
    if (pm > 0) {
        double qq = 1.0 + m - p, F = -log(qq);
        t.ln = pow(pm, 4) * F;
        t.gn_det = pow(pm, 4) * s / qq;
        t.gn_full = t.gn_det + 4.0 * pow(pm, 3) * s * F;
    } else {
        t.ln = t.gn_det = t.gn_full = 0.0;
    }
    return t;
}
/* Poly-1 with epsilon e: l+ = -ln p + e (1-p), l- = -ln(1-p) + e p. */
static textbook tb_poly1(double x, double e) {
    double p = tu_sigmoid(x), q = 1.0 - p, s = p * q;
    textbook t = {tu_softplus(-x) + e * q, -q - e * s, -q - e * s,
                  tu_softplus(x) + e * p,  p + e * s,  p + e * s};
    return t;
}

static void check_textbook(const char *name, aplcl_params base, int kind) {
    const float xs[] = {-30.0f, -7.0f, -2.0f, -0.5f, 0.0f, 0.75f, 2.5f, 6.0f, 30.0f};
    int mark = tu_case_begin();
    for (size_t k = 0; k < sizeof xs / sizeof xs[0]; k++) {
        double x = xs[k];
        textbook t = kind == 0   ? tb_bce(x)
                     : kind == 1 ? tb_focal(x, 2.0)
                     : kind == 2 ? tb_asl(x)
                                 : tb_poly1(x, 1.0);
        for (int fg = 0; fg <= 1; fg++) {
            aplcl_params p = base;
            p.focus_grad = fg;
            double loss, grad;
            CHECK_STATUS(ref1(&p, xs[k], 1.0f, &loss, &grad), APLCL_SUCCESS);
            CHECK_NEAR(loss, t.lp, VEC_RTOL, VEC_ATOL);
            CHECK_NEAR(grad, fg ? t.gp_full : t.gp_det, VEC_RTOL, VEC_ATOL);
            CHECK_STATUS(ref1(&p, xs[k], 0.0f, &loss, &grad), APLCL_SUCCESS);
            CHECK_NEAR(loss, t.ln, VEC_RTOL, VEC_ATOL);
            CHECK_NEAR(grad, fg ? t.gn_full : t.gn_det, VEC_RTOL, VEC_ATOL);
            /* a soft target is the convex mix */
            CHECK_STATUS(ref1(&p, xs[k], 0.25f, &loss, &grad), APLCL_SUCCESS);
            CHECK_NEAR(loss, 0.25 * t.lp + 0.75 * t.ln, VEC_RTOL, VEC_ATOL);
            CHECK_NEAR(grad,
                       0.25 * (fg ? t.gp_full : t.gp_det) + 0.75 * (fg ? t.gn_full : t.gn_det),
                       VEC_RTOL, VEC_ATOL);
        }
    }
    tu_case_end(mark, "preset %s: loss and gradient match the textbook formula", name);
}

int main(void) {
    test_table();
    test_batch();
    test_default_closed_forms();
    test_preset_fields();
    check_textbook("bce (= -log sigmoid)", aplcl_params_bce(), 0);
    check_textbook("focal(2)", aplcl_params_focal(2.0f), 1);
    check_textbook("asl(4,1,0.05)", aplcl_params_asl(4.0f, 1.0f, 0.05f), 2);
    check_textbook("poly1(1)", aplcl_params_poly1(1.0f), 3);
    return tu_exit_code();
}
