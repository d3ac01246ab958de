/* apl_1_math.cl: the loss and its gradient for APL_VW elements at a time, in float32.
 *
 * Math (docs/apl-spec.md sections 2 and 4), per element, x logit, y target, p = sigmoid(x):
 *   l+ = (1-p)^gamma_pos * ( -ln max(p,eps) + sum_j cpos_j (1 - max(p,eps))^j )
 *   l- = p_m^gamma_neg * ( -ln max(q,eps) + sum_j cneg_j p_m^j ),  p_m = max(p-m,0), q = 1-p_m
 *   l  = y l+ + (1-y) l-,   gradient dl/dx (the caller scales it)
 * with cpos_j = alpha_j - 1/j, cneg_j = beta_j - 1/j. ln p and ln(1-p) as -softplus, so no
 * 0*ln(0) and eps = 0 is exact. Branch points are float thresholds on x computed by the host
 * (apl_derive), so this code and the CPU reference decide them identically. No memory access.
 */

/* Per-element results must not depend on APL_VW. exp and log1p are apl_1_explog.cl's (the same
 * bits at every width). PoCL's pow and log round differently (by 1 ulp, amplified up to ~200
 * ulp in gradients) for float and float2 than for float4 to float16, which agree: so narrow
 * widths evaluate those two on four lanes. */
#if defined(APL_CUDA)
/* CUDA (kernels/cuda/prelude.h, scalar only): its float4 has no arithmetic; one lane */
#define WIDE4(f, v) f(v)
#define WIDE4_2(f, a, b) f(a, b)
#elif APL_VW == 1
#define WIDE4(f, v) f((float4)(v)).s0
#define WIDE4_2(f, a, b) f((float4)(a), (float4)(b)).s0
#elif APL_VW == 2
#define WIDE4(f, v) f((float4)((v), (v))).lo
#define WIDE4_2(f, a, b) f((float4)((a), (a)), (float4)((b), (b))).lo
#else
#define WIDE4(f, v) f(v)
#define WIDE4_2(f, a, b) f(a, b)
#endif

/* b^g for a uniform g, 0^0 = 1, a base that rounded below zero counts as 0. */
APL_INLINE floatv pow_guarded(floatv b, float g) {
    if (g == 0.0f) return (floatv)(1.0f);
    floatv r;
    if (g == 1.0f)
        r = b;
    else if (g == 2.0f)
        r = b * b;
    else if (g == 4.0f) /* the APL/ASL default: two multiplies instead of exp2(g log2 b) */
        r = (b * b) * (b * b);
    else
        r = WIDE4_2(pow, fmax(b, 0.0f), (floatv)(g));
    return select(r, (floatv)(0.0f), b <= 0.0f);
}

/* Both sides are one function of u (u = 1 - p^ for positives, p_m for negatives):
 *   G(u) = -ln(1-u) + sum_j c_j u^j = sum_j a_j u^j + sum_{j>n} u^j / j   (a_j = c_j + 1/j)
 * For u < 1/4 the series form is summed (13 terms reach float precision); it avoids the
 * cancellation between -ln(1-u) ~ u and c_1 u when a_1 = 0 (the APL default). series_ok is false
 * where the log term is not -ln(1-u) (a floored negative: -ln eps). */
#define SERIES_BELOW 0.25f
#define SERIES_TERMS 13
/* 1/j, j = 0..21 (n <= 8 leading terms + 13 series terms); [0] unused */
__constant float INV_J[22] = {0.0f,       1.0f,       1.0f / 2,  1.0f / 3,  1.0f / 4,  1.0f / 5,
                              1.0f / 6,   1.0f / 7,   1.0f / 8,  1.0f / 9,  1.0f / 10, 1.0f / 11,
                              1.0f / 12,  1.0f / 13,  1.0f / 14, 1.0f / 15, 1.0f / 16, 1.0f / 17,
                              1.0f / 18,  1.0f / 19,  1.0f / 20, 1.0f / 21};
APL_INLINE floatv g_of_u(const float *c, int n, floatv u, floatv neg_ln_1mu, intv series_ok) {
    floatv v = 0.0f;
    for (int j = n; j >= 1; --j) v = v * u + c[j - 1];
    floatv direct = neg_ln_1mu + v * u;
    /* n == 0: G is the log alone, exact as given; nothing cancels */
    intv use_series = series_ok & (u < SERIES_BELOW);
    if (n == 0 || !ANY(use_series)) return direct;
    v = 0.0f;
    for (int j = n + SERIES_TERMS; j > n; --j) v = v * u + INV_J[j];
    for (int j = n; j >= 1; --j) v = v * u + (c[j - 1] + INV_J[j]);
    return select(direct, v * u, use_series);
}
/* sum_{j>=2} j c_j u^(j-1): the polynomial's slope without its first term. */
APL_INLINE floatv slope2_of_u(const float *c, int n, floatv u) {
    floatv v = 0.0f;
    for (int j = n; j >= 2; --j) v = v * u + (float)j * c[j - 1];
    return v * u;
}

/* The positive part of APL_VW elements (already times y = 1): loss *l and unscaled gradient *g.
 * nl = -ln p = max(-x, 0) + log1p(e), e = exp(-|x|); series_ok: lanes whose result is used. */
APL_INLINE void apl_pos_part(const apl_consts *k, floatv x, floatv p, floatv omp, floatv nl,
                             intv series_ok, floatv *l, floatv *g) {
    intv floored = x < k->pos_floor_x;
    floatv u = select(omp, (floatv)(k->one_minus_eps), floored);
    /* floored: -ln p^ = -ln eps = -ln(1-u), so G(u) is still the right function */
    nl = select(nl, (floatv)(-k->ln_eps), floored);
    floatv F = g_of_u(k->cpos, k->npos, u, nl, series_ok);
    floatv w = pow_guarded(omp, k->gamma_pos);
    float c1 = k->npos > 0 ? k->cpos[0] : 0.0f;
    /* dF/dp s = -(1-p)(1 + p slope) = -(1-p)(a_1 - c_1 (1-p) + p slope2): no cancellation */
    floatv gp = -w * omp * ((k->lead_pos - c1 * omp) + p * slope2_of_u(k->cpos, k->npos, omp));
    gp = select(gp, (floatv)(0.0f), floored);
    if (k->focus && k->gamma_pos > 0.0f) gp -= k->gamma_pos * w * p * F; /* dw+/dx = -g w p */
    *l = w * F;
    *g = gp;
}

/* The negative part (not yet times 1 - y): pm = p_m, neg_ln_q = -ln q, s = p (1 - p),
 * s_over_q = s / q. series_ok: lanes whose result is used. */
APL_INLINE void apl_neg_part(const apl_consts *k, floatv x, floatv omp, floatv s, floatv pm,
                             floatv neg_ln_q, floatv s_over_q, intv series_ok, floatv *l,
                             floatv *g) {
    intv floored = x >= k->neg_floor_x; /* q < eps: ln q^ = ln eps, 1/q^ term blocked */
    floatv F = g_of_u(k->cneg, k->nneg, pm, select(neg_ln_q, (floatv)(-k->ln_eps), floored),
                      series_ok & (x < k->neg_floor_x));
    floatv w = pow_guarded(pm, k->gamma_neg);
    float c1 = k->nneg > 0 ? k->cneg[0] : 0.0f;
    floatv sl2 = slope2_of_u(k->cneg, k->nneg, pm);
    /* dF/dp s = s/q + s slope = (s/q)(b_1 - c_1 p_m) + s slope2 (1 - q = p_m) */
    floatv gn = select(w * (s_over_q * (k->lead_neg - c1 * pm) + s * sl2), w * s * (c1 + sl2),
                       floored);
    /* dw-/dx = g p_m^(g-1) s, written w (s / p_m): for g < 1, p_m^(g-1) overflowed to inf
     * once p_m was tiny (x near -100 with clip 0) and made the gradient inf or NaN. */
    if (k->focus && k->gamma_neg > 0.0f) {
        floatv s_over_pm = k->clip > 0.0f ? s / pm : omp; /* clip 0: p_m = p */
        gn += select((floatv)(0.0f), k->gamma_neg * w * s_over_pm * F, pm > 0.0f);
    }
    *l = w * F;
    *g = gn;
}

/* Whether -ln q is log1p of something (clip 0: of e; clip >= 0.01: of -p_m), so that 0/1
 * targets need one log1p per lane, its argument chosen by the target. */
#define ONE_LOG_OK(k) ((k)->clip == 0.0f || (k)->clip >= 0.01f)

/* Loss and unscaled gradient of APL_VW elements. Lanes in `zero` (easy negatives, ignored or
 * invalid elements) get exactly 0; the others need finite x and 0 <= y <= 1. binary: every
 * lane not in `zero` has y 0 or 1. Per lane, the result does not depend on the other lanes,
 * on `binary` or on APL_VW (the branches below only skip work no lane uses). */
APL_INLINE void apl_elements(const apl_consts *k, floatv x, floatv y, intv zero, int binary,
                             floatv *loss, floatv *grad) {
    floatv e = apl_exp_neg(-fabs(x));
    floatv inv = 1.0f / (1.0f + e);
    intv xpos = x >= 0.0f;
    floatv p = select(e * inv, inv, xpos);
    floatv omp = select(inv, e * inv, xpos); /* 1 - p without cancellation */
    floatv s = p * omp;
    floatv pm = k->clip > 0.0f ? fmax(p - k->clip, 0.0f) : p;
    floatv q = k->clip > 0.0f ? fmin(omp + k->clip, 1.0f) : omp;
    /* 1/q, also log1p(-p_m)'s 1/(1 - p_m) (the same number but for rounding); log1p(e)'s
     * 1/(1 + e) is inv. Two divisions per element instead of three. */
    floatv inv_q = k->clip > 0.0f ? 1.0f / q : inv;
    floatv s_over_q = k->clip > 0.0f ? s * inv_q : p; /* clip 0: p(1-p)/(1-p) */
    intv pos = y > 0.0f;
    intv neg = (y < 1.0f) & (x >= k->neg_clip_x); /* below neg_clip_x the part is exactly 0 */
    floatv l, g, lp, gp, ln, gn;
    if (binary && ONE_LOG_OK(k)) {
        /* one log per lane: log1p(e) for a positive, log1p(-p_m) (or log1p(e)) for a negative */
        floatv lg = k->clip > 0.0f ? apl_log1p_inv(select(-pm, e, pos), select(inv_q, inv, pos))
                                   : apl_log1p_inv(e, inv);
        /* positives are few (1% in bench's early regime): 85% of 16-lane steps have none */
        lp = 0.0f, gp = 0.0f;
        if (ANY(pos)) apl_pos_part(k, x, p, omp, fmax(-x, 0.0f) + lg, pos, &lp, &gp);
        apl_neg_part(k, x, omp, s, pm, k->clip > 0.0f ? -lg : fmax(x, 0.0f) + lg, s_over_q, neg,
                     &ln, &gn);
        /* the same operations as the general path below, so the same bits */
        l = select(0.0f + ln, 1.0f * lp, pos);
        g = select(0.0f + gn, 1.0f * gp, pos);
    } else {
        l = 0.0f, g = 0.0f;
        if (ANY(pos)) {
            apl_pos_part(k, x, p, omp, fmax(-x, 0.0f) + apl_log1p_inv(e, inv), pos, &lp, &gp);
            l = select(l, y * lp, pos);
            g = select(g, y * gp, pos);
        }
        if (ANY(neg)) {
            /* log1p(-p_m) keeps small p_m exact; with a tiny clip, q itself can be tiny */
            floatv neg_ln_q = k->clip >= 0.01f  ? -apl_log1p_inv(-pm, inv_q)
                              : k->clip > 0.0f ? -WIDE4(log, q)
                                               : fmax(x, 0.0f) + apl_log1p_inv(e, inv);
            apl_neg_part(k, x, omp, s, pm, neg_ln_q, s_over_q, neg, &ln, &gn);
            l = select(l, l + (1.0f - y) * ln, neg);
            g = select(g, g + (1.0f - y) * gn, neg);
        }
    }
    *loss = select(l, (floatv)(0.0f), zero);
    *grad = select(g, (floatv)(0.0f), zero);
}
