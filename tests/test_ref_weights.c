/* test_ref_weights: the CPU reference's weights (pos_weight, per-element/label/row weight).
 *
 * Hand-worked values from the spec's test vectors (docs/apl-spec.md section 6) times the weights,
 * MEAN by the non-ignored count (not the weight sum), soft targets weighted per side, the three
 * weight kinds agreeing when they say the same thing, the gradient against central finite
 * differences of the weighted loss (differentiated focusing) and against the weighted mix of the
 * unweighted one-sided gradients (detached), and invalid weights counted. No device.
 */
#include "test_util.h"

#define R 2
#define C 2
#define N (R * C)

/* Spec section 6, reference defaults (detached): (x, y) -> loss, gradient. */
#define L_0_1 0.505647180560 /* x 0, y 1 */
#define G_0_1 (-0.5625)
#define L_2_0 0.846414950692 /* x 2, y 0 */
#define G_2_0 0.295620637658
#define L_0_0 0.024515053512 /* x 0, y 0 */
#define G_0_0 0.018639204545
#define L_2_1 0.025486759794 /* x 2, y 1 */
#define G_2_1 (-0.045498192053)

static const float X[N] = {0.0f, 2.0f, 0.0f, 2.0f};
static const float Y[N] = {1.0f, 0.0f, 0.0f, 1.0f};
static const float PW[C] = {3.0f, 0.5f};

static void hand_worked(void) {
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    const float wl[C] = {2.0f, 1.0f};
    aplcl_weights w = {PW, 0, wl, 0, APLCL_WEIGHT_LABEL};
    double g[N], l[N], loss;
    uint64_t cnt[APLCL_COUNT_LEN];
    CHECK_STATUS(tu_ref(&p, R, C, X, Y, &w, g, l, &loss, cnt), APLCL_SUCCESS);
    const double want_l[N] = {2 * 3 * L_0_1, L_2_0, 2 * L_0_0, 0.5 * L_2_1};
    const double want_g[N] = {2 * 3 * G_0_1, G_2_0, 2 * G_0_0, 0.5 * G_2_1};
    for (int i = 0; i < N; ++i) {
        CHECK_NEAR(l[i], want_l[i], 1e-11, 0);
        CHECK_NEAR(g[i], want_g[i], 1e-10, 0);
    }
    CHECK_NEAR(loss, want_l[0] + want_l[1] + want_l[2] + want_l[3], 1e-11, 0);
    CHECK_EQ_U64(cnt[APLCL_COUNT_INVALID_WEIGHTS], 0);

    /* MEAN divides by the non-ignored count (3), not by the weights' sum */
    float y2[N] = {1.0f, 0.0f, -1.0f, 1.0f};
    p.reduction = APLCL_REDUCE_MEAN;
    CHECK_STATUS(tu_ref(&p, R, C, X, y2, &w, g, NULL, &loss, cnt), APLCL_SUCCESS);
    CHECK_EQ_U64(cnt[APLCL_COUNT_ELEMENTS], 3);
    CHECK_NEAR(loss, (want_l[0] + want_l[1] + want_l[3]) / 3.0, 1e-11, 0);
    CHECK_NEAR(g[0], want_g[0] / 3.0, 1e-10, 0);
    CHECK_EQ_DBL(g[2], 0.0);

    /* soft target y = 0.3 at x = 0: pos_weight scales only the positive side */
    p.reduction = APLCL_REDUCE_SUM;
    float xs[1] = {0.0f}, ys[1] = {0.3f}, pw1[1] = {3.0f}, w1[1] = {1.5f};
    aplcl_weights ws = {pw1, 0, w1, 0, APLCL_WEIGHT_ROW};
    CHECK_STATUS(tu_ref(&p, 1, 1, xs, ys, &ws, g, l, &loss, NULL), APLCL_SUCCESS);
    const double y3 = (double)0.3f; /* the target as stored */
    CHECK_NEAR(l[0], 1.5 * (y3 * 3 * L_0_1 + (1 - y3) * L_0_0), 1e-9, 0);
    CHECK_NEAR(g[0], 1.5 * (y3 * 3 * G_0_1 + (1 - y3) * G_0_0), 1e-9, 0);
    tu_case_end(mark, "hand-worked: pos_weight, label weight, MEAN by count, soft target");
}

/* The same weights said per element, per label and per row give the same bits. */
static void kinds_agree(void) {
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_asl(4.0f, 1.0f, 0.05f);
    p.focus_grad = 1;
    const float wl[C] = {0.25f, 4.0f}, wr[R] = {0.5f, 2.0f};
    float we[N], we2[N];
    for (int i = 0; i < N; ++i)
        we[i] = wl[i % C], we2[i] = wr[i / C];
    double a[N], b[N], la, lb;
    const aplcl_weights pairs[2][2] = {
        {{PW, 0, wl, 0, APLCL_WEIGHT_LABEL}, {PW, 0, we, 0, APLCL_WEIGHT_ELEMENT}},
        {{NULL, 0, wr, 0, APLCL_WEIGHT_ROW}, {NULL, 0, we2, 0, APLCL_WEIGHT_ELEMENT}}};
    for (int k = 0; k < 2; ++k) {
        CHECK_STATUS(tu_ref(&p, R, C, X, Y, &pairs[k][0], a, NULL, &la, NULL), APLCL_SUCCESS);
        CHECK_STATUS(tu_ref(&p, R, C, X, Y, &pairs[k][1], b, NULL, &lb, NULL), APLCL_SUCCESS);
        CHECK(memcmp(a, b, sizeof a) == 0 && la == lb);
    }
    /* all-ones weights are the unweighted loss, bit for bit */
    const float ones[N] = {1, 1, 1, 1};
    aplcl_weights w5 = {ones, 0, ones, 0, APLCL_WEIGHT_ELEMENT};
    CHECK_STATUS(tu_ref(&p, R, C, X, Y, &w5, a, NULL, &la, NULL), APLCL_SUCCESS);
    CHECK_STATUS(aplcl_ref_compute(&p, R, C, X, Y, b, NULL, &lb), APLCL_SUCCESS);
    CHECK(memcmp(a, b, sizeof a) == 0 && la == lb);
    w5.kind = (aplcl_weight_kind)3;
    CHECK_STATUS(tu_ref(&p, R, C, X, Y, &w5, a, NULL, &la, NULL), APLCL_ERR_INVALID_PARAMS);
    tu_case_end(mark, "element, label and row weights agree; ones = unweighted; bad kind");
}

/* Gradient checks on 64 points: logits multiples of 1/64 away from the kinks, mixed targets. */
#define GN 64
#define GH (1.0 / 4096.0)
static void make_points(float *x, float *y, float *pw, float *w) {
    static const float pattern[8] = {1.0f, 0.0f, 0.3f, 1.0f, 0.0f, -1.0f, 0.7f, 0.0f};
    for (int i = 0; i < GN; ++i) {
        x[i] = -5.0f + (float)i * (10.0f / 64.0f);
        if (fabs(x[i] - (-2.944)) < 0.05)
            x[i] += 0.125f; /* the clip kink of p */
        y[i] = pattern[i % 8];
        w[i] = 0.25f + (float)(i % 5) * 0.5f;
    }
    for (int c = 0; c < 8; ++c)
        pw[c] = 0.5f + (float)c;
}

static double wloss(const aplcl_params *p, const float *x, const float *y, const aplcl_weights *w) {
    double loss = NAN;
    CHECK_STATUS(tu_ref(p, GN / 8, 8, x, y, w, NULL, NULL, &loss, NULL), APLCL_SUCCESS);
    return loss;
}

static void gradcheck(const char *name, aplcl_params p) {
    int mark = tu_case_begin();
    float x[GN], y[GN], pw[8], w[GN];
    make_points(x, y, pw, w);
    aplcl_weights ws = {pw, 0, w, 0, APLCL_WEIGHT_ELEMENT};
    double g[GN], want[GN];
    /* differentiated focusing: the gradient is the derivative of the weighted mean loss */
    p.focus_grad = 1;
    p.reduction = APLCL_REDUCE_MEAN;
    CHECK_STATUS(tu_ref(&p, GN / 8, 8, x, y, &ws, g, NULL, NULL, NULL), APLCL_SUCCESS);
    float xp[GN];
    memcpy(xp, x, sizeof xp);
    for (int k = 0; k < GN; ++k) {
        xp[k] = (float)(x[k] + GH);
        double lp = wloss(&p, xp, y, &ws);
        xp[k] = (float)(x[k] - GH);
        double lm = wloss(&p, xp, y, &ws);
        xp[k] = x[k];
        want[k] = (lp - lm) / (2 * GH);
    }
    tu_cmp c = tu_compare_f64(g, want, GN, 1e-5, 1e-9);
    TU_CMP_CHECK("weighted gradient vs finite differences", c, x);
    /* detached: W (y P g+ + (1-y) g-) from the unweighted one-sided gradients */
    p.focus_grad = 0;
    p.reduction = APLCL_REDUCE_SUM;
    CHECK_STATUS(tu_ref(&p, GN / 8, 8, x, y, &ws, g, NULL, NULL, NULL), APLCL_SUCCESS);
    float ones[GN], zeros[GN];
    double gp[GN], gn[GN];
    for (int k = 0; k < GN; ++k)
        ones[k] = 1.0f, zeros[k] = 0.0f;
    CHECK_STATUS(aplcl_ref_compute(&p, GN / 8, 8, x, ones, gp, NULL, NULL), APLCL_SUCCESS);
    CHECK_STATUS(aplcl_ref_compute(&p, GN / 8, 8, x, zeros, gn, NULL, NULL), APLCL_SUCCESS);
    for (int k = 0; k < GN; ++k)
        want[k] = y[k] < 0 ? 0.0
                           : (double)w[k] *
                                 ((double)y[k] * pw[k % 8] * gp[k] + (1.0 - (double)y[k]) * gn[k]);
    c = tu_compare_f64(g, want, GN, 1e-12, 1e-15);
    TU_CMP_CHECK("detached weighted gradient vs one-sided mix", c, x);
    tu_case_end(mark, "%-28s weighted gradient: finite differences and one-sided mix", name);
}

static void invalid_weights(void) {
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    float y[N] = {1.0f, 0.0f, -1.0f, 1.0f};
    const float pw[C] = {1.0f, -2.0f};              /* label 1 negative: elements 1 and 3 */
    const float we[N] = {NAN, 1.0f, NAN, INFINITY}; /* 2 is ignored: not counted */
    aplcl_weights w = {pw, 0, we, 0, APLCL_WEIGHT_ELEMENT};
    double g[N], l[N], loss;
    uint64_t cnt[APLCL_COUNT_LEN];
    CHECK_STATUS(tu_ref(&p, R, C, X, y, &w, g, l, &loss, cnt), APLCL_ERR_INVALID_WEIGHT);
    CHECK_EQ_U64(cnt[APLCL_COUNT_INVALID_WEIGHTS], 3); /* 0 (NaN W), 1 (P < 0), 3 (both) */
    CHECK_EQ_U64(cnt[APLCL_COUNT_ELEMENTS], 3);
    for (int i = 0; i < N; ++i)
        CHECK(g[i] == 0.0 && l[i] == 0.0);
    CHECK_EQ_DBL(loss, 0.0);
    /* invalid targets are reported first */
    y[0] = NAN;
    CHECK_STATUS(tu_ref(&p, R, C, X, y, &w, g, l, &loss, cnt), APLCL_ERR_INVALID_TARGET);
    tu_case_end(mark, "invalid weights: counted, contribute nothing, INVALID_WEIGHT");
}

int main(void) {
    hand_worked();
    kinds_agree();
    invalid_weights();
    gradcheck("reference APL", aplcl_params_default());
    gradcheck("BCE", aplcl_params_bce());
    gradcheck("ASL gamma_pos 1", aplcl_params_asl(4.0f, 1.0f, 0.05f));
    aplcl_params focal = aplcl_params_focal(2.0f);
    gradcheck("focal 2", focal);
    return tu_exit_code();
}
