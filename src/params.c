/* params.c: parameter presets, validation, and the constants derived from parameters.
 *
 * apl_derive() is shared by the device path and the CPU reference: it turns eps and clip into
 * thresholds on the float logit, found in double precision, so that both paths decide "floored"
 * and "easy negative" identically. It computes no loss.
 */
#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double apl_decimal(float f) {
    if (!isfinite(f))
        return f;
    char buf[32];
    for (int prec = 1; prec <= 9; ++prec) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return f;
}

static aplcl_params bce_base(void) {
    aplcl_params p;
    memset(&p, 0, sizeof p);
    p.gamma_pos = 0.0f;
    p.gamma_neg = 0.0f;
    p.clip = 0.0f;
    p.eps = 0.0f;
    p.n_alpha = 0;
    p.n_beta = 0;
    p.focus_grad = 0;
    p.reduction = APLCL_REDUCE_SUM;
    p.normalizer = 0.0;
    p.grad_scale = 1.0f;
    return p;
}

aplcl_params aplcl_params_default(void) {
    aplcl_params p = bce_base();
    p.gamma_pos = 0.0f;
    p.gamma_neg = 4.0f;
    p.clip = 0.05f;
    p.eps = 1e-8f;
    p.n_alpha = 2; /* the reference's e1 = 1, e2 = -2.5 (spec section 3) */
    p.alpha[0] = 0.0f;
    p.alpha[1] = 1.75f;
    return p;
}

aplcl_params aplcl_params_bce(void) { return bce_base(); }

aplcl_params aplcl_params_focal(float gamma) {
    aplcl_params p = bce_base();
    p.gamma_pos = gamma;
    p.gamma_neg = gamma;
    return p;
}

aplcl_params aplcl_params_asl(float gamma_neg, float gamma_pos, float clip) {
    aplcl_params p = bce_base();
    p.gamma_neg = gamma_neg;
    p.gamma_pos = gamma_pos;
    p.clip = clip;
    p.eps = 1e-8f; /* ASL's reference clamps at 1e-8 too */
    return p;
}

aplcl_params aplcl_params_poly1(float epsilon) {
    aplcl_params p = bce_base();
    p.n_alpha = 1;
    p.alpha[0] = 1.0f + epsilon;
    p.n_beta = 1;
    p.beta[0] = 1.0f + epsilon;
    return p;
}

static bool finite_nonneg(float v) { return isfinite(v) && v >= 0.0f; }
static bool in_unit(float v) { return isfinite(v) && v >= 0.0f && v < 1.0f; }

static bool terms_ok(int n, const float *c) {
    if (n < 0 || n > APLCL_MAX_TERMS)
        return false;
    for (int j = 0; j < n; ++j)
        if (!isfinite(c[j]))
            return false;
    return true;
}

/* A bound on |dl/dx| of one side for any finite logit (spec section 4, as apl_elements computes
 * it): |lead| + sum_j j |c_j| for the detached part (s/q <= 1, every u <= 1), plus
 * gamma (1 + sum_j |c_j|) for a differentiated weight (p |ln p^| <= 1/e, and near p_m = 0 the
 * factor p_m^(gamma-1) meets a loss of order p_m). aplcl.h states the same formula. */
static double grad_bound(int n, const float *coef, float gamma, int focus) {
    double lead = n > 0 ? fabs((double)coef[0]) : 1.0, slope = 0.0, sum = 0.0;
    for (int j = 0; j < n; ++j) {
        double c = fabs((double)coef[j] - 1.0 / (j + 1));
        sum += c;
        slope += (j + 1) * c;
    }
    return lead + slope + (focus ? (double)gamma * (1.0 + sum) : 0.0);
}

/* The gradient multiplier must keep every gradient element finite in float: MEAN with a
 * normalizer multiplies by grad_scale / normalizer (a normal float: devices without fp64 divide
 * in float), everything else by at most grad_scale (a count is >= 1). Half of FLT_MAX leaves
 * room for float rounding in the kernel. */
static bool grad_finite(const aplcl_params *p) {
    double m = fabs((double)p->grad_scale);
    if (p->reduction == APLCL_REDUCE_MEAN && p->normalizer > 0.0) {
        if (p->normalizer < FLT_MIN || p->normalizer > FLT_MAX)
            return false;
        m /= p->normalizer;
    }
    double b = fmax(grad_bound(p->n_alpha, p->alpha, p->gamma_pos, p->focus_grad),
                    grad_bound(p->n_beta, p->beta, p->gamma_neg, p->focus_grad));
    return fmax(m, 1.0) * b <= 0.5 * FLT_MAX;
}

aplcl_status aplcl_params_validate(const aplcl_params *p) {
    if (!p)
        return APLCL_ERR_NULL_ARGUMENT;
    bool ok = finite_nonneg(p->gamma_pos) && finite_nonneg(p->gamma_neg) && in_unit(p->clip) &&
              in_unit(p->eps) && terms_ok(p->n_alpha, p->alpha) && terms_ok(p->n_beta, p->beta) &&
              (p->focus_grad == 0 || p->focus_grad == 1) &&
              (p->reduction == APLCL_REDUCE_SUM || p->reduction == APLCL_REDUCE_MEAN ||
               p->reduction == APLCL_REDUCE_NONE) &&
              isfinite(p->normalizer) && isfinite(p->grad_scale) && grad_finite(p);
    return ok ? APLCL_SUCCESS : APLCL_ERR_INVALID_PARAMS;
}

aplcl_status apl_check_shape(size_t rows, size_t cols, size_t elem_bytes) {
    if (rows == 0 || cols == 0)
        return APLCL_ERR_INVALID_SIZE;
    if (rows > SIZE_MAX / cols)
        return APLCL_ERR_SIZE_OVERFLOW;
    if (rows * cols > SIZE_MAX / elem_bytes)
        return APLCL_ERR_SIZE_OVERFLOW;
    return APLCL_SUCCESS;
}

aplcl_status apl_check_shape_params(size_t rows, size_t cols, size_t elem_bytes,
                                    const aplcl_params *p) {
    if (rows == 0 || cols == 0) /* an empty batch: every caller then writes loss 0, counts 0 */
        return aplcl_params_validate(p);
    aplcl_status st = apl_check_shape(rows, cols, elem_bytes);
    return st != APLCL_SUCCESS ? st : aplcl_params_validate(p);
}

/* ---- thresholds on the float logit ---- */

/* sigmoid(x) and 1 - sigmoid(x) in double, both without cancellation. */
static double sigmoid_d(double x) {
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* Floats in [-1000, 1000] mapped to integers in the same order, and back. */
static int64_t float_to_ordered(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}
static float ordered_to_float(int64_t k) {
    uint32_t u = k < 0 ? ((uint32_t)(-k) | 0x80000000u) : (uint32_t)k;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

typedef bool (*x_predicate)(double x, const apl_derived *d);

/* Smallest float x with pred(x) true, for pred monotone false..true over the floats; -inf if it is
 * true everywhere, +inf if nowhere. Bisection over the ordered float bit patterns. */
static float first_float_where(x_predicate pred, const apl_derived *d) {
    int64_t lo = float_to_ordered(-1000.0f), hi = float_to_ordered(1000.0f);
    if (pred(ordered_to_float(lo), d))
        return -INFINITY;
    if (!pred(ordered_to_float(hi), d))
        return INFINITY;
    while (hi - lo > 1) { /* invariant: pred(lo) false, pred(hi) true */
        int64_t mid = lo + (hi - lo) / 2;
        if (pred(ordered_to_float(mid), d))
            hi = mid;
        else
            lo = mid;
    }
    return ordered_to_float(hi);
}

static bool p_at_least_eps(double x, const apl_derived *d) { return sigmoid_d(x) >= d->eps_d; }
static bool p_at_least_clip(double x, const apl_derived *d) { return sigmoid_d(x) >= d->clip_d; }
static bool q_below_eps(double x, const apl_derived *d) {
    double q = sigmoid_d(-x) + d->clip_d; /* 1 - p + m */
    if (q > 1.0)
        q = 1.0;
    return q < d->eps_d;
}

void apl_derive(const aplcl_params *p, apl_derived *d) {
    memset(d, 0, sizeof *d);
    d->n_pos = p->n_alpha;
    d->n_neg = p->n_beta;
    for (int j = 0; j < p->n_alpha; ++j) {
        d->coef_pos_d[j] = apl_decimal(p->alpha[j]) - 1.0 / (j + 1);
        d->coef_pos[j] = (float)d->coef_pos_d[j];
    }
    for (int j = 0; j < p->n_beta; ++j) {
        d->coef_neg_d[j] = apl_decimal(p->beta[j]) - 1.0 / (j + 1);
        d->coef_neg[j] = (float)d->coef_neg_d[j];
    }
    d->lead_pos_d = p->n_alpha > 0 ? apl_decimal(p->alpha[0]) : 1.0;
    d->lead_neg_d = p->n_beta > 0 ? apl_decimal(p->beta[0]) : 1.0;
    d->lead_pos = (float)d->lead_pos_d;
    d->lead_neg = (float)d->lead_neg_d;
    d->clip_d = apl_decimal(p->clip);
    d->eps_d = apl_decimal(p->eps);
    d->gamma_pos_d = apl_decimal(p->gamma_pos);
    d->gamma_neg_d = apl_decimal(p->gamma_neg);
    d->pos_floor_x = p->eps > 0.0f ? first_float_where(p_at_least_eps, d) : -INFINITY;
    d->neg_clip_x = p->clip > 0.0f ? first_float_where(p_at_least_clip, d) : -INFINITY;
    d->neg_floor_x = p->eps > p->clip ? first_float_where(q_below_eps, d) : INFINITY;
    d->ln_eps = p->eps > 0.0f ? log(d->eps_d) : 0.0;
}
