/* ref.c: the CPU reference of the APL loss and gradient, in double precision.
 *
 * It follows docs/apl-spec.md sections 2-4 term by term, using the stable forms (ln p as
 * -softplus(-x), dF/dp * p(1-p) simplified so nothing divides by a vanishing p) and compensated
 * summation. It is the yardstick the OpenCL kernels are checked against, so it favours clarity
 * over speed. It shares only apl_derive() (thresholds, coefficients) with the device path.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* b^g with 0^0 = 1 and a base that rounded slightly negative treated as 0 (spec section 5). */
static double pow_guarded(double b, double g) {
    if (g == 0.0)
        return 1.0;
    if (b <= 0.0)
        return 0.0;
    if (g == 1.0)
        return b;
    if (g == 2.0)
        return b * b;
    if (g == 4.0)
        return (b * b) * (b * b); /* same as the kernel's, and exact enough in double */
    return pow(b, g);
}

/* Both sides are one function of u (u = 1 - p^ for positives, p_m for negatives):
 *   G(u) = -ln(1-u) + sum_j c_j u^j = sum_j a_j u^j + sum_{j>n} u^j / j   (a_j = c_j + 1/j)
 * For u < 1/4 the series form is summed (40 terms reach double precision); it avoids the
 * cancellation between -ln(1-u) ~ u and c_1 u when a_1 = 0, the APL default. series_ok is false
 * when the log term is not -ln(1-u) (a floored negative uses -ln eps). */
#define SERIES_BELOW 0.25
#define SERIES_TERMS 40
static double g_of_u(const double *c, int n, double u, double neg_ln_1mu, bool series_ok) {
    double v = 0.0;
    if (series_ok && u < SERIES_BELOW) {
        for (int j = n + SERIES_TERMS; j > n; --j)
            v = v * u + 1.0 / j;
        for (int j = n; j >= 1; --j)
            v = v * u + (c[j - 1] + 1.0 / j);
        return v * u;
    }
    for (int j = n; j >= 1; --j)
        v = v * u + c[j - 1];
    return neg_ln_1mu + v * u;
}

/* sum_{j>=2} j c_j u^(j-1): the polynomial's slope without its first term. */
static double slope2_of_u(const double *c, int n, double u) {
    double v = 0.0;
    for (int j = n; j >= 2; --j)
        v = v * u + j * c[j - 1];
    return v * u;
}

typedef struct {
    double p, omp, s;    /* p, 1 - p, p(1-p) */
    double ln_p, ln_omp; /* ln p, ln(1-p), exact via softplus */
} sig_terms;

static sig_terms sigmoid_terms(double x) {
    sig_terms t;
    double e = exp(-fabs(x));
    double l1pe = log1p(e);
    t.p = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    t.omp = x >= 0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
    t.s = t.p * t.omp;
    t.ln_p = -(fmax(-x, 0.0) + l1pe);
    t.ln_omp = -(fmax(x, 0.0) + l1pe);
    return t;
}

/* Positive part: l+ = w+ F+ and its derivative in x; u = 1 - p^. */
static void positive_part(const aplcl_params *p, const apl_derived *d, float xf, const sig_terms *t,
                          double *loss, double *grad) {
    bool floored = xf < d->pos_floor_x; /* p < eps: p^ = eps, gradient through F+ blocked */
    double u = floored ? 1.0 - d->eps_d : t->omp;
    /* floored: -ln p^ = -ln eps = -ln(1-u), so G(u) is still the right function */
    double F = g_of_u(d->coef_pos_d, d->n_pos, u, floored ? -d->ln_eps : -t->ln_p, true);
    double w = pow_guarded(t->omp, d->gamma_pos_d);
    double c1 = d->n_pos > 0 ? d->coef_pos_d[0] : 0.0;
    /* dF+/dp * s = (-1/p - slope) p(1-p) = -(1-p)(1 + p slope)
     *            = -(1-p) (a_1 - c_1 (1-p) + p slope2): no cancellation when a_1 = 0 */
    double g = floored ? 0.0
                       : -w * t->omp *
                             ((d->lead_pos_d - c1 * t->omp) +
                              t->p * slope2_of_u(d->coef_pos_d, d->n_pos, t->omp));
    if (p->focus_grad && p->gamma_pos > 0.0f) /* dw+/dx = -gamma (1-p)^(gamma-1) s = -gamma w p */
        g += -d->gamma_pos_d * w * t->p * F;
    *loss = w * F;
    *grad = g;
}

/* Negative part: l- = w- F- and its derivative in x; u = p_m, q = 1 - p_m. */
static void negative_part(const aplcl_params *p, const apl_derived *d, float xf, const sig_terms *t,
                          double *loss, double *grad) {
    if (xf < d->neg_clip_x) { /* p < clip: easy negative, exactly zero */
        *loss = 0.0;
        *grad = 0.0;
        return;
    }
    double m = d->clip_d;
    double pm, q, neg_ln_q, s_over_q;
    if (m > 0.0) {
        pm = fmax(t->p - m, 0.0);
        q = fmin(t->omp + m, 1.0);
        neg_ln_q = -log(q);
        s_over_q = t->s / q;
    } else {
        pm = t->p;
        q = t->omp;
        neg_ln_q = -t->ln_omp;
        s_over_q = t->p; /* p(1-p)/(1-p) */
    }
    bool floored = xf >= d->neg_floor_x; /* q < eps: q^ = eps, 1/q^ term blocked */
    double F = g_of_u(d->coef_neg_d, d->n_neg, pm, floored ? -d->ln_eps : neg_ln_q, !floored);
    double w = pow_guarded(pm, d->gamma_neg_d);
    double c1 = d->n_neg > 0 ? d->coef_neg_d[0] : 0.0;
    double sl2 = slope2_of_u(d->coef_neg_d, d->n_neg, pm);
    /* dF-/dp * s = s/q + s slope = (s/q)(b_1 - c_1 p_m) + s slope2 (using 1 - q = p_m) */
    double g =
        floored ? w * t->s * (c1 + sl2) : w * (s_over_q * (d->lead_neg_d - c1 * pm) + t->s * sl2);
    if (p->focus_grad && p->gamma_neg > 0.0f && pm > 0.0)
        g += d->gamma_neg_d * pow_guarded(pm, d->gamma_neg_d - 1.0) * t->s * F;
    *loss = w * F;
    *grad = g;
}

/* Neumaier's compensated sum: the reference must not lose digits over 10^8 terms. */
typedef struct {
    double sum, comp;
} comp_sum;
static void comp_add(comp_sum *a, double v) {
    double t = a->sum + v;
    if (fabs(a->sum) >= fabs(v))
        a->comp += (a->sum - t) + v;
    else
        a->comp += (v - t) + a->sum;
    a->sum = t;
}

/* Element i's weight W and positive factor P (1 where not given). */
static void weights_of(const aplcl_weights *w, size_t i, size_t cols, double *W, double *P) {
    *W = 1.0, *P = 1.0;
    size_t r = i / cols, c = i % cols;
    if (w->pos_weight)
        *P = ((const float *)w->pos_weight)[w->pos_weight_offset + c];
    if (w->weight)
        *W = ((const float *)w->weight)[w->weight_offset + (w->kind == APLCL_WEIGHT_LABEL ? c
                                                            : w->kind == APLCL_WEIGHT_ROW ? r
                                                                                          : i)];
}

/* Target i as a float target: U8 codes 0 and 1 as themselves, 255 (ignore) as -1, any other code
 * as NaN (invalid), as the kernels read them. */
static double target_of(const aplcl_ref_io *io, size_t i) {
    if (io->target_format == APLCL_TARGET_F32)
        return ((const float *)io->targets)[i];
    uint8_t u = ((const uint8_t *)io->targets)[i];
    return u <= 1 ? (double)u : u == APLCL_TARGET_U8_IGNORE ? -1.0 : NAN;
}

aplcl_status aplcl_ref_compute_io(const aplcl_params *p, size_t rows, size_t cols,
                                  aplcl_ref_io *io) {
    if (!p || !io)
        return APLCL_ERR_NULL_ARGUMENT;
    io->loss = 0.0; /* also what an empty batch or an error leaves */
    memset(io->counts, 0, sizeof io->counts);
    bool empty = apl_empty(rows, cols);
    const float *logits = io->logits;
    const aplcl_weights *w = &io->weights;
    double *grad = io->grad, *elem_loss = io->elem_loss;
    if (!empty && (!logits || !io->targets))
        return APLCL_ERR_NULL_ARGUMENT;
    if (w->weight && w->kind != APLCL_WEIGHT_ELEMENT && w->kind != APLCL_WEIGHT_LABEL &&
        w->kind != APLCL_WEIGHT_ROW)
        return APLCL_ERR_INVALID_PARAMS;
    if (io->target_format != APLCL_TARGET_F32 && io->target_format != APLCL_TARGET_U8)
        return APLCL_ERR_INVALID_TARGET_FORMAT;
    aplcl_status st = apl_check_shape_params(rows, cols, sizeof(double), p);
    if (st != APLCL_SUCCESS || empty)
        return st;

    apl_derived d;
    apl_derive(p, &d);
    size_t n = rows * cols;
    uint64_t cnt[APLCL_COUNT_LEN] = {0};
    comp_sum total = {0.0, 0.0};
    /* First pass: element losses and unscaled gradients (grad holds them until the scale is known).
     */
    for (size_t i = 0; i < n; ++i) {
        double y = target_of(io, i);
        float xf = logits[i];
        double l = 0.0, g = 0.0;
        if (isnan(y) || y > 1.0) {
            cnt[APLCL_COUNT_INVALID_TARGETS]++;
        } else if (y >= 0.0) {
            cnt[APLCL_COUNT_ELEMENTS]++;
            double W, P;
            weights_of(w, i, cols, &W, &P);
            bool bad_w = !(W >= 0.0 && W < INFINITY && P >= 0.0 && P < INFINITY);
            cnt[APLCL_COUNT_INVALID_WEIGHTS] += bad_w;
            if (!isfinite(xf)) {
                cnt[APLCL_COUNT_NONFINITE_LOGITS]++;
            } else if (!bad_w) {
                sig_terms t = sigmoid_terms(xf);
                double lp = 0.0, gp = 0.0, ln = 0.0, gn = 0.0;
                if (y > 0.0)
                    positive_part(p, &d, xf, &t, &lp, &gp);
                if (y < 1.0)
                    negative_part(p, &d, xf, &t, &ln, &gn);
                l = W * (y * P * lp + (1.0 - y) * ln);
                g = W * (y * P * gp + (1.0 - y) * gn);
            }
        }
        comp_add(&total, l);
        if (elem_loss)
            elem_loss[i] = l;
        if (grad)
            grad[i] = g;
    }
    double sum = total.sum + total.comp;
    double grad_mul = p->grad_scale;
    double reduced = sum;
    if (p->reduction == APLCL_REDUCE_MEAN) {
        double norm = p->normalizer > 0.0 ? p->normalizer : (double)cnt[APLCL_COUNT_ELEMENTS];
        reduced = norm > 0.0 ? sum / norm : 0.0;
        grad_mul = norm > 0.0 ? p->grad_scale / norm : 0.0;
    }
    if (grad)
        for (size_t i = 0; i < n; ++i)
            grad[i] *= grad_mul;
    io->loss = reduced;
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        io->counts[k] = cnt[k];
    if (cnt[APLCL_COUNT_INVALID_TARGETS])
        return APLCL_ERR_INVALID_TARGET;
    if (cnt[APLCL_COUNT_NONFINITE_LOGITS])
        return APLCL_ERR_NONFINITE_LOGIT;
    if (cnt[APLCL_COUNT_INVALID_WEIGHTS])
        return APLCL_ERR_INVALID_WEIGHT;
    return APLCL_SUCCESS;
}

aplcl_status aplcl_ref_compute(const aplcl_params *p, size_t rows, size_t cols, const float *logits,
                               const float *targets, double *grad, double *elem_loss,
                               double *loss) {
    aplcl_ref_io io;
    memset(&io, 0, sizeof io);
    io.logits = logits;
    io.target_format = APLCL_TARGET_F32;
    io.targets = targets;
    io.grad = grad;
    io.elem_loss = elem_loss;
    aplcl_status st = aplcl_ref_compute_io(p, rows, cols, &io);
    if (loss && (st == APLCL_SUCCESS || st == APLCL_ERR_INVALID_TARGET ||
                 st == APLCL_ERR_NONFINITE_LOGIT || st == APLCL_ERR_INVALID_WEIGHT))
        *loss = io.loss;
    return st;
}
