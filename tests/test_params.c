/* test_params: status strings, parameter validation, and the CPU reference's argument errors.
 *
 * Covers aplcl_status_string for every code, aplcl_params_validate on each rule of the header
 * (and on every preset), aplcl_ref_compute's NULL/size/overflow/params errors, and its handling
 * of ignored, invalid and non-finite inputs (statuses, counters, zeroed outputs, MEAN count).
 * No OpenCL device is used; the device entry points' errors are in test_bad_input.
 */
#include "test_util.h"

#include <float.h>

/* ---- status strings ---- */
static void test_status_strings(void) {
    int mark = tu_case_begin();
    static const struct {
        aplcl_status code;
        const char *text;
    } codes[] = {
#define CODE_(name, value, text) {name, text},
        APLCL_STATUS_MAP(CODE_)
#undef CODE_
    };
    const size_t n = sizeof codes / sizeof codes[0];
    const char *fallback = aplcl_status_string((aplcl_status)-999);
    CHECK(fallback != NULL);
    for (size_t i = 0; i < n; i++) {
        const char *s = aplcl_status_string(codes[i].code);
        if (!s) {
            TU_FAIL_AT_(__FILE__, __LINE__, "aplcl_status_string(%s) is NULL",
                        tu_status_name(codes[i].code));
            continue;
        }
        /* the header's own text, not the fallback for unknown values */
        if (strcmp(s, codes[i].text) != 0 || (fallback && strcmp(s, fallback) == 0))
            TU_FAIL_AT_(__FILE__, __LINE__, "aplcl_status_string(%s) = \"%s\", expected \"%s\"",
                        tu_status_name(codes[i].code), s, codes[i].text);
        for (size_t j = 0; j < i; j++) {
            const char *t = aplcl_status_string(codes[j].code);
            if (t && strcmp(s, t) == 0)
                TU_FAIL_AT_(__FILE__, __LINE__, "%s and %s share the string \"%s\"",
                            tu_status_name(codes[i].code), tu_status_name(codes[j].code), s);
        }
    }
    /* Values outside the list get a string, and it says "unknown" (header); -12 is the first
     * unused code since -11 became APLCL_ERR_INVALID_WEIGHT. */
    const aplcl_status unknown[] = {(aplcl_status)1, (aplcl_status)-12, (aplcl_status)-999,
                                    (aplcl_status)12345};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = aplcl_status_string(unknown[i]);
        CHECK(s != NULL);
        if (s)
            CHECK(strncmp(s, "unknown", 7) == 0);
    }
    tu_case_end(mark,
                "aplcl_status_string: %zu codes give the header's distinct texts; unknown "
                "values give \"%s\"",
                n, fallback ? fallback : "(null)");
}

/* ---- aplcl_params_validate ---- */
typedef void (*mutate_fn)(aplcl_params *p, float v);

static void set_gamma_pos(aplcl_params *p, float v) { p->gamma_pos = v; }
static void set_gamma_neg(aplcl_params *p, float v) { p->gamma_neg = v; }
static void set_clip(aplcl_params *p, float v) { p->clip = v; }
static void set_eps(aplcl_params *p, float v) { p->eps = v; }
static void set_grad_scale(aplcl_params *p, float v) { p->grad_scale = v; }
static void set_alpha_last(aplcl_params *p, float v) {
    p->n_alpha = 3;
    p->alpha[0] = 0.0f;
    p->alpha[1] = 1.75f;
    p->alpha[2] = v;
}
static void set_beta_first(aplcl_params *p, float v) {
    p->n_beta = 2;
    p->beta[0] = v;
    p->beta[1] = 0.5f;
}
static void set_normalizer_mean(aplcl_params *p, float v) {
    p->reduction = APLCL_REDUCE_MEAN;
    p->normalizer = (double)v;
}

static void expect_valid(const char *what, aplcl_params p, int want_ok) {
    aplcl_status st = aplcl_params_validate(&p);
    aplcl_status want = want_ok ? APLCL_SUCCESS : APLCL_ERR_INVALID_PARAMS;
    if (st != want)
        TU_FAIL_AT_(__FILE__, __LINE__, "validate(%s) = %s, expected %s", what, tu_status_name(st),
                    tu_status_name(want));
}

static void test_validate(void) {
    int mark = tu_case_begin();
    CHECK_STATUS(aplcl_params_validate(NULL), APLCL_ERR_NULL_ARGUMENT);
    expect_valid("default", aplcl_params_default(), 1);
    expect_valid("bce", aplcl_params_bce(), 1);
    expect_valid("focal(2)", aplcl_params_focal(2.0f), 1);
    expect_valid("focal(0)", aplcl_params_focal(0.0f), 1);
    expect_valid("asl(4,1,0.05)", aplcl_params_asl(4.0f, 1.0f, 0.05f), 1);
    expect_valid("asl(4,0,0.05)", aplcl_params_asl(4.0f, 0.0f, 0.05f), 1);
    expect_valid("poly1(1)", aplcl_params_poly1(1.0f), 1);
    expect_valid("poly1(-0.5)", aplcl_params_poly1(-0.5f), 1);
    tu_case_end(mark, "validate: NULL rejected, every preset accepted");

    /* Non-finite values in every float field, including coefficients in use. */
    mark = tu_case_begin();
    const struct {
        const char *name;
        mutate_fn f;
    } fields[] = {{"gamma_pos", set_gamma_pos},
                  {"gamma_neg", set_gamma_neg},
                  {"clip", set_clip},
                  {"eps", set_eps},
                  {"grad_scale", set_grad_scale},
                  {"alpha[2] (in use)", set_alpha_last},
                  {"beta[0] (in use)", set_beta_first},
                  {"normalizer (MEAN)", set_normalizer_mean}};
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        for (size_t j = 0; j < 3; j++) {
            aplcl_params p = aplcl_params_default();
            fields[i].f(&p, bad[j]);
            char what[96];
            snprintf(what, sizeof what, "%s = %g", fields[i].name, (double)bad[j]);
            expect_valid(what, p, 0);
        }
    }
    /* The header's INVALID_PARAMS covers any non-finite value, whatever the reduction. */
    {
        aplcl_params p = aplcl_params_default();
        p.normalizer = NAN;
        expect_valid("SUM with normalizer NaN", p, 0);
        p.normalizer = INFINITY;
        expect_valid("SUM with normalizer inf", p, 0);
    }
    /* The same fields with finite values are fine. */
    {
        aplcl_params p = aplcl_params_default();
        set_alpha_last(&p, -3.0f);
        expect_valid("alpha[2] = -3", p, 1);
        p = aplcl_params_default();
        set_beta_first(&p, 2.0f);
        expect_valid("beta[0] = 2", p, 1);
        p = aplcl_params_default();
        set_normalizer_mean(&p, 123.0f);
        expect_valid("MEAN normalizer 123", p, 1);
        p = aplcl_params_default();
        set_normalizer_mean(&p, 0.0f);
        expect_valid("MEAN normalizer 0 (count)", p, 1);
        p = aplcl_params_default();
        set_normalizer_mean(&p, -1.0f);
        expect_valid("MEAN normalizer -1 (count)", p, 1);
        p = aplcl_params_default();
        p.grad_scale = 0.5f;
        expect_valid("grad_scale 0.5", p, 1);
    }
    tu_case_end(mark, "validate: NaN/inf rejected in every float field");

    /* Ranges. */
    mark = tu_case_begin();
    {
        aplcl_params p;
#define TRY(field, value, ok)                                                                      \
    p = aplcl_params_default();                                                                    \
    p.field = (value);                                                                             \
    expect_valid(#field " = " #value, p, ok)
        TRY(gamma_pos, -0.5f, 0);
        TRY(gamma_neg, -1.0f, 0);
        TRY(gamma_pos, -FLT_MIN, 0);
        TRY(gamma_pos, 0.0f, 1);
        TRY(gamma_neg, 7.5f, 1);
        TRY(clip, -0.01f, 0);
        TRY(clip, 1.0f, 0);
        TRY(clip, 1.5f, 0);
        TRY(clip, 0.0f, 1);
        TRY(clip, 0.5f, 1);
        TRY(clip, 0.99f, 1);
        TRY(eps, -1e-9f, 0);
        TRY(eps, 1.0f, 0);
        TRY(eps, 2.0f, 0);
        TRY(eps, 0.0f, 1);
        TRY(eps, 0.5f, 1);
        TRY(n_alpha, -1, 0);
        TRY(n_alpha, APLCL_MAX_TERMS + 1, 0);
        TRY(n_alpha, 1000, 0);
        TRY(n_beta, -1, 0);
        TRY(n_beta, APLCL_MAX_TERMS + 1, 0);
        TRY(focus_grad, 2, 0);
        TRY(focus_grad, -1, 0);
        TRY(focus_grad, 1, 1);
        TRY(focus_grad, 0, 1);
        TRY(reduction, (aplcl_reduction)3, 0);
        TRY(reduction, (aplcl_reduction)-1, 0);
        TRY(reduction, APLCL_REDUCE_NONE, 1);
        TRY(reduction, APLCL_REDUCE_MEAN, 1);
        TRY(grad_scale, 0.0f, 1);
#undef TRY
        p = aplcl_params_default();
        p.n_alpha = p.n_beta = APLCL_MAX_TERMS;
        for (int j = 0; j < APLCL_MAX_TERMS; j++)
            p.alpha[j] = p.beta[j] = 1.0f / (float)(j + 1);
        expect_valid("n_alpha = n_beta = APLCL_MAX_TERMS", p, 1);
        p.n_alpha = p.n_beta = 0;
        expect_valid("n_alpha = n_beta = 0", p, 1);
    }
    tu_case_end(mark, "validate: gamma, clip, eps, term counts, focus_grad, reduction ranges");
}

/* The gradient multiplier rule (aplcl.h): a MEAN normalizer > 0 is a normal float, and
 * max(|m|, 1) * B <= FLT_MAX / 2 with m = grad_scale / normalizer (MEAN with a normalizer) or
 * grad_scale, B the bound on |dl/dx| from the coefficients and gammas. The defaults have B = 3.5
 * (alpha = (0, 1.75): 0 + 1 + 2 * 1.25), and B = 5 with focus_grad (beta: 1 + gamma_neg 4). */
static void test_validate_multiplier(void) {
    int mark = tu_case_begin();
    const struct {
        const char *name;
        aplcl_reduction r;
        double norm;
        float scale;
        int focus, ok;
    } cases[] = {
        {"MEAN normalizer 1e-39 (subnormal as float)", APLCL_REDUCE_MEAN, 1e-39, 1.0f, 0, 0},
        {"MEAN normalizer 1e-300", APLCL_REDUCE_MEAN, 1e-300, 1.0f, 0, 0},
        {"MEAN normalizer 2e-38 (m * B = 1.75e38)", APLCL_REDUCE_MEAN, 2e-38, 1.0f, 0, 0},
        {"MEAN normalizer 1e-37 (m * B = 3.5e37)", APLCL_REDUCE_MEAN, 1e-37, 1.0f, 0, 1},
        {"MEAN normalizer FLT_MIN, grad_scale 1e-30", APLCL_REDUCE_MEAN, FLT_MIN, 1e-30f, 0, 1},
        {"MEAN normalizer 1e39 (inf as float)", APLCL_REDUCE_MEAN, 1e39, 1.0f, 0, 0},
        {"MEAN normalizer FLT_MAX", APLCL_REDUCE_MEAN, FLT_MAX, 1.0f, 0, 1},
        {"MEAN by count, grad_scale FLT_MAX", APLCL_REDUCE_MEAN, 0.0, FLT_MAX, 0, 0},
        {"MEAN by count, grad_scale 4e37", APLCL_REDUCE_MEAN, 0.0, 4e37f, 0, 1},
        {"MEAN 1e-30, grad_scale FLT_MAX (m = 3.4e68)", APLCL_REDUCE_MEAN, 1e-30, FLT_MAX, 0, 0},
        {"MEAN 1e9, grad_scale 4e37 (m = 4e28)", APLCL_REDUCE_MEAN, 1e9, 4e37f, 0, 1},
        {"SUM, grad_scale FLT_MAX", APLCL_REDUCE_SUM, 0.0, FLT_MAX, 0, 0},
        {"SUM, grad_scale -FLT_MAX", APLCL_REDUCE_SUM, 0.0, -FLT_MAX, 0, 0},
        {"NONE, grad_scale 5e37 (1.75e38)", APLCL_REDUCE_NONE, 0.0, 5e37f, 0, 0},
        {"NONE, grad_scale 4.8e37 (1.68e38)", APLCL_REDUCE_NONE, 0.0, 4.8e37f, 0, 1},
        {"SUM, grad_scale 4e37, focus (2e38)", APLCL_REDUCE_SUM, 0.0, 4e37f, 1, 0},
        {"SUM, grad_scale 3e37, focus (1.5e38)", APLCL_REDUCE_SUM, 0.0, 3e37f, 1, 1},
        {"SUM normalizer 1e-300 (not used by SUM)", APLCL_REDUCE_SUM, 1e-300, 1.0f, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aplcl_params p = aplcl_params_default();
        p.reduction = cases[i].r, p.normalizer = cases[i].norm, p.grad_scale = cases[i].scale;
        p.focus_grad = cases[i].focus;
        expect_valid(cases[i].name, p, cases[i].ok);
    }
    /* B grows with the coefficients and gammas: huge ones overflow even at grad_scale 1 */
    aplcl_params p = aplcl_params_default();
    set_alpha_last(&p, 3e37f); /* 3 * 3e37 */
    expect_valid("alpha[2] = 3e37 (B = 9e37)", p, 1);
    set_alpha_last(&p, 6e37f);
    expect_valid("alpha[2] = 6e37 (B = 1.8e38)", p, 0);
    p = aplcl_params_default();
    p.focus_grad = 1, p.gamma_neg = 2e38f;
    expect_valid("focus_grad, gamma_neg 2e38", p, 0);
    p.focus_grad = 0;
    expect_valid("detached, gamma_neg 2e38", p, 1);
    tu_case_end(mark, "validate: gradient multiplier and normalizer rule (%zu cases)",
                sizeof cases / sizeof cases[0] + 4);
}

/* ---- aplcl_ref_compute: argument errors ---- */
static void test_ref_errors(void) {
    int mark = tu_case_begin();
    aplcl_params p = aplcl_params_default();
    float x[6] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f, -4.0f};
    float y[6] = {1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f};
    double g[6], el[6], loss = 7.0;
    CHECK_STATUS(aplcl_ref_compute(NULL, 2, 3, x, y, g, el, &loss), APLCL_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 3, NULL, y, g, el, &loss), APLCL_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 3, x, NULL, g, el, &loss), APLCL_ERR_NULL_ARGUMENT);
    /* empty shapes are a batch of no elements (aplcl.h): loss 0, nothing else written */
    g[0] = el[0] = 5.0;
    CHECK_STATUS(aplcl_ref_compute(&p, 0, 3, x, y, g, el, &loss), APLCL_SUCCESS);
    CHECK_EQ_DBL(loss, 0.0);
    loss = 7.0;
    CHECK_STATUS(aplcl_ref_compute(&p, 2, 0, x, y, g, el, &loss), APLCL_SUCCESS);
    CHECK_EQ_DBL(loss, 0.0);
    CHECK(g[0] == 5.0 && el[0] == 5.0);
    loss = 7.0;
    /* Must be caught before anything is touched: the arrays hold only 6 elements. */
    CHECK_STATUS(aplcl_ref_compute(&p, SIZE_MAX / 2, 3, x, y, g, el, &loss),
                 APLCL_ERR_SIZE_OVERFLOW);
    CHECK_STATUS(aplcl_ref_compute(&p, 3, SIZE_MAX / 2, x, y, g, el, &loss),
                 APLCL_ERR_SIZE_OVERFLOW);
    CHECK_STATUS(aplcl_ref_compute(&p, SIZE_MAX / 8, 3, x, y, g, el, &loss),
                 APLCL_ERR_SIZE_OVERFLOW); /* elements fit, bytes do not */
    aplcl_params bad = p;
    bad.gamma_neg = -1.0f;
    CHECK_STATUS(aplcl_ref_compute(&bad, 2, 3, x, y, g, el, &loss), APLCL_ERR_INVALID_PARAMS);
    bad = p;
    bad.reduction = (aplcl_reduction)7;
    CHECK_STATUS(aplcl_ref_compute(&bad, 2, 3, x, y, g, el, &loss), APLCL_ERR_INVALID_PARAMS);
    CHECK_STATUS(tu_ref_counts(NULL, 2, 3, x, y, g, el, &loss, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK_EQ_DBL(loss, 7.0); /* nothing written by a rejected call */
    tu_case_end(mark, "ref_compute: NULL, overflow, invalid params rejected; empty shapes loss 0");
}

/* ---- aplcl_ref_compute: ignored, invalid and non-finite inputs ---- */
static void test_ref_bad_values(void) {
    enum { N = 12 };
    const float x[N] = {0.5f, -1.0f, 2.0f,  0.0f, 3.0f,  -4.0f,
                        1.0f, -0.5f, 0.25f, 4.0f, -2.0f, 1.5f};
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    uint64_t c[APLCL_COUNT_LEN];
    double g[N], el[N], loss;

    /* Baseline: all valid. */
    float y[N] = {1, 0, 1, 0, 0, 1, 0.3f, 0, 1, 0, 1, 0};
    double g0[N], el0[N], loss0;
    CHECK_STATUS(tu_ref_counts(&p, 3, 4, x, y, g0, el0, &loss0, c), APLCL_SUCCESS);
    CHECK_EQ_U64(c[APLCL_COUNT_ELEMENTS], N);

    /* Ignored (-1 and -0.5): no loss, no gradient, not in the MEAN count. */
    int mark = tu_case_begin();
    float yi[N];
    memcpy(yi, y, sizeof yi);
    yi[1] = -1.0f;
    yi[6] = -0.5f;
    yi[9] = -1.0f;
    CHECK_STATUS(tu_ref_counts(&p, 3, 4, x, yi, g, el, &loss, c), APLCL_SUCCESS);
    CHECK_EQ_U64(c[APLCL_COUNT_ELEMENTS], N - 3);
    CHECK_EQ_U64(c[APLCL_COUNT_INVALID_TARGETS], 0);
    CHECK_EQ_U64(c[APLCL_COUNT_NONFINITE_LOGITS], 0);
    double sum = 0.0;
    for (int i = 0; i < N; i++) {
        if (yi[i] < 0) {
            CHECK_EQ_DBL(g[i], 0.0);
            CHECK_EQ_DBL(el[i], 0.0);
        } else {
            sum += el0[i];
            CHECK_NEAR(el[i], el0[i], 1e-12, 1e-15);
            CHECK_NEAR(g[i], g0[i] * N / (N - 3), 1e-12, 1e-15); /* MEAN over 9, not 12 */
        }
    }
    CHECK_NEAR(loss, sum / (N - 3), 1e-12, 1e-15);
    tu_case_end(mark, "ref: ignored targets give zero loss/grad and are not counted by MEAN");

    /* Invalid targets: NaN and > 1. */
    mark = tu_case_begin();
    float yb[N];
    memcpy(yb, y, sizeof yb);
    yb[0] = NAN;
    yb[4] = 1.5f;
    yb[7] = 2.0f;
    yb[10] = -1.0f; /* one ignored as well */
    for (int i = 0; i < N; i++)
        g[i] = el[i] = 99.0;
    c[0] = c[1] = c[2] = 99;
    CHECK_STATUS(tu_ref_counts(&p, 3, 4, x, yb, g, el, &loss, c), APLCL_ERR_INVALID_TARGET);
    CHECK_EQ_U64(c[APLCL_COUNT_ELEMENTS], N - 4);
    CHECK_EQ_U64(c[APLCL_COUNT_INVALID_TARGETS], 3);
    CHECK_EQ_U64(c[APLCL_COUNT_NONFINITE_LOGITS], 0);
    sum = 0.0;
    for (int i = 0; i < N; i++) {
        int skip = (i == 0 || i == 4 || i == 7 || i == 10);
        if (skip) {
            CHECK_EQ_DBL(g[i], 0.0);
            CHECK_EQ_DBL(el[i], 0.0);
        } else {
            sum += el0[i];
            CHECK_NEAR(el[i], el0[i], 1e-12, 1e-15);
            CHECK_NEAR(g[i], g0[i] * N / (N - 4), 1e-12, 1e-15);
        }
    }
    CHECK_NEAR(loss, sum / (N - 4), 1e-12, 1e-15);
    /* Without counts: the same status. */
    CHECK_STATUS(aplcl_ref_compute(&p, 3, 4, x, yb, NULL, NULL, &loss), APLCL_ERR_INVALID_TARGET);
    tu_case_end(mark, "ref: NaN / 1.5 / 2.0 targets -> INVALID_TARGET, counted, outputs 0");

    /* Non-finite logits. Their targets are valid, so they stay in the MEAN count: the header's
     * MEAN count pass reads targets only ("a cheap target-only count pass"). */
    mark = tu_case_begin();
    float xb[N];
    memcpy(xb, x, sizeof xb);
    xb[2] = INFINITY;
    xb[5] = -INFINITY;
    xb[8] = NAN;
    for (int i = 0; i < N; i++)
        g[i] = el[i] = 99.0;
    CHECK_STATUS(tu_ref_counts(&p, 3, 4, xb, y, g, el, &loss, c), APLCL_ERR_NONFINITE_LOGIT);
    CHECK_EQ_U64(c[APLCL_COUNT_ELEMENTS], N);
    CHECK_EQ_U64(c[APLCL_COUNT_INVALID_TARGETS], 0);
    CHECK_EQ_U64(c[APLCL_COUNT_NONFINITE_LOGITS], 3);
    sum = 0.0;
    for (int i = 0; i < N; i++) {
        if (i == 2 || i == 5 || i == 8) {
            CHECK_EQ_DBL(g[i], 0.0);
            CHECK_EQ_DBL(el[i], 0.0);
        } else {
            sum += el0[i];
            CHECK_NEAR(g[i], g0[i], 1e-12, 1e-15);
        }
    }
    CHECK_NEAR(loss, sum / N, 1e-12, 1e-15);
    CHECK(isfinite(loss));
    CHECK_STATUS(aplcl_ref_compute(&p, 3, 4, xb, y, NULL, NULL, &loss), APLCL_ERR_NONFINITE_LOGIT);
    tu_case_end(mark, "ref: inf / -inf / NaN logits -> NONFINITE_LOGIT, counted, outputs 0");

    /* An ignored target does not make a 1.0 or 0.0 target invalid, and y = 1 exactly is valid. */
    mark = tu_case_begin();
    float ye[4] = {1.0f, 0.0f, -1.0f, 0.999f};
    CHECK_STATUS(tu_ref_counts(&p, 1, 4, x, ye, NULL, NULL, &loss, c), APLCL_SUCCESS);
    CHECK_EQ_U64(c[APLCL_COUNT_ELEMENTS], 3);
    tu_case_end(mark, "ref: 0, 1, 0.999 valid, -1 ignored");
}

int main(void) {
    test_status_strings();
    test_validate();
    test_validate_multiplier();
    test_ref_errors();
    test_ref_bad_values();
    return tu_exit_code();
}
