/* apl_loss.cl: the fused Asymmetric Polynomial Loss, forward and backward, in one pass.
 *
 * Math (docs/apl-spec.md sections 2 and 4), per element, x logit, y target, p = sigmoid(x):
 *   l+ = (1-p)^gamma_pos * ( -ln max(p,eps) + sum_j cpos_j (1 - max(p,eps))^j )
 *   l- = p_m^gamma_neg * ( -ln max(q,eps) + sum_j cneg_j p_m^j ),  p_m = max(p-m,0), q = 1-p_m
 *   l  = y l+ + (1-y) l-,   grad = grad_mul * dl/dx
 * with cpos_j = alpha_j - 1/j, cneg_j = beta_j - 1/j. All math in float; ln p and ln(1-p) as
 * -softplus, so no 0*ln(0) and eps = 0 is exact. Branch points are float thresholds on x computed
 * by the host (apl_derive) so this kernel and the CPU reference decide them identically.
 *
 * Kernels: apl_loss_{f32,u8} (first stage: loss, gradient, per-group partial sums and counts),
 * apl_count_{f32,u8} (targets only: the MEAN denominator before the gradient pass),
 * apl_finalize (second stage: one group sums the partials in a fixed order). No float atomics.
 * Build options: APL_LOCAL (work-group size, a power of two), APL_VW (elements per vector: 1, 2,
 * 4, 8 or 16; PoCL does not vectorise scalar code, so CPUs want 8), APL_FP64 (0/1: accumulate
 * partials in double). Indices are 64-bit (ulong); offsets and sizes count elements.
 * Not here: compact target formats and half-precision storage (performance work).
 */
#ifndef APL_LOCAL
#define APL_LOCAL 256
#endif
#ifndef APL_FP64
#define APL_FP64 0
#endif
#ifndef APL_VW
#define APL_VW 1
#endif

#if APL_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define ACC_NAME double
#else
#define ACC_NAME float
#endif
typedef ACC_NAME acc_t;

/* ---- one code path for scalars and vectors ----
 * Conditions are masks from comparisons (1/0 for scalars, -1/0 per lane for vectors); select()
 * reads both conventions, ALL/ANY/COUNT01 hide the difference. */
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#if APL_VW == 1
typedef float floatv;
typedef int intv;
typedef acc_t accv;
#define ALL(m) (m)
#define ANY(m) (m)
#define TRUE_MASK 1
#define LOADV(p) (*(p))
#define STOREV(v, p) (*(p) = (v))
#define TO_INT(v) ((int)(v))
#define TO_ACC(v) ((acc_t)(v))
#else
typedef CAT(float, APL_VW) floatv;
typedef CAT(int, APL_VW) intv;
typedef CAT(ACC_NAME, APL_VW) accv;
#define ALL(m) all(m)
#define ANY(m) any(m)
#define TRUE_MASK ((intv)(-1))
#define LOADV(p) CAT(vload, APL_VW)(0, p)
#define STOREV(v, p) CAT(vstore, APL_VW)(v, 0, p)
#define TO_INT(v) CAT(convert_int, APL_VW)(v)
#define TO_ACC(v) CAT(CAT(convert_, ACC_NAME), APL_VW)(v)
#endif

/* Lanes summed in a fixed order (deterministic). */
inline acc_t hsum_acc(accv v) {
#if APL_VW == 1
    return v;
#else
    acc_t t[APL_VW];
    STOREV(v, t);
    acc_t s = 0;
    for (int j = 0; j < APL_VW; ++j) s += t[j];
    return s;
#endif
}
/* Number of true lanes of a mask. */
inline uint count01(intv m) {
#if APL_VW == 1
    return m ? 1u : 0u;
#else
    int t[APL_VW];
    STOREV(m, t);
    uint c = 0;
    for (int j = 0; j < APL_VW; ++j) c += t[j] ? 1u : 0u;
    return c;
#endif
}

#define COUNT_ELEMENTS 0
#define COUNT_INVALID_TARGETS 1
#define COUNT_NONFINITE_LOGITS 2
#define COUNT_LEN 3

/* Loss constants, packed into vectors so the kernel signature stays portable. */
typedef struct {
    float8 cpos, cneg; /* c_j = alpha_j - 1/j, beta_j - 1/j */
    int npos, nneg, focus;
    float lead_pos, lead_neg; /* alpha_1, beta_1 (1 when there are none) */
    float gamma_pos, gamma_neg, clip;
    float pos_floor_x, neg_clip_x, neg_floor_x; /* thresholds on x, see apl_derive */
    float ln_eps, one_minus_eps;
} apl_consts;

/* Target decoding: y >= 0 valid (0..1), y < 0 ignored, NaN or > 1 invalid. */
inline float target_f32(__global const float *t, ulong i) { return t[i]; }
inline float target_u8(__global const uchar *t, ulong i) {
    uchar c = t[i];
    return c == 0 ? 0.0f : c == 1 ? 1.0f : c == 255 ? -1.0f : NAN;
}
inline floatv targets_f32(__global const float *t, ulong i) { return LOADV(t + i); }
inline floatv targets_u8(__global const uchar *t, ulong i) {
    intv c = TO_INT(LOADV(t + i));
    floatv y = select((floatv)(NAN), (floatv)(-1.0f), c == 255);
    y = select(y, (floatv)(1.0f), c == 1);
    return select(y, (floatv)(0.0f), c == 0);
}

/* b^g for a uniform g, 0^0 = 1, a base that rounded below zero counts as 0. */
inline floatv pow_guarded(floatv b, float g) {
    if (g == 0.0f) return (floatv)(1.0f);
    floatv r;
    if (g == 1.0f)
        r = b;
    else if (g == 2.0f)
        r = b * b;
    else if (g == 4.0f) /* the APL/ASL default: two multiplies instead of exp2(g log2 b) */
        r = (b * b) * (b * b);
    else
        r = pow(fmax(b, 0.0f), (floatv)(g));
    return select(r, (floatv)(0.0f), b <= 0.0f);
}

/* Both sides are one function of u (u = 1 - p^ for positives, p_m for negatives):
 *   G(u) = -ln(1-u) + sum_j c_j u^j = sum_j a_j u^j + sum_{j>n} u^j / j   (a_j = c_j + 1/j)
 * For u < 1/4 the series form is summed (13 terms reach float precision); it avoids the
 * cancellation between -ln(1-u) ~ u and c_1 u when a_1 = 0 (the APL default). series_ok is false
 * where the log term is not -ln(1-u) (a floored negative: -ln eps). */
#define SERIES_BELOW 0.25f
#define SERIES_TERMS 13
inline floatv g_of_u(float8 c8, int n, floatv u, floatv neg_ln_1mu, intv series_ok) {
    float c[8] = {c8.s0, c8.s1, c8.s2, c8.s3, c8.s4, c8.s5, c8.s6, c8.s7};
    floatv v = 0.0f;
    for (int j = n; j >= 1; --j) v = v * u + c[j - 1];
    floatv direct = neg_ln_1mu + v * u;
    intv use_series = series_ok & (u < SERIES_BELOW);
    if (!ANY(use_series)) return direct;
    v = 0.0f;
    for (int j = n + SERIES_TERMS; j > n; --j) v = v * u + 1.0f / (float)j;
    for (int j = n; j >= 1; --j) v = v * u + (c[j - 1] + 1.0f / (float)j);
    return select(direct, v * u, use_series);
}
/* sum_{j>=2} j c_j u^(j-1): the polynomial's slope without its first term. */
inline floatv slope2_of_u(float8 c8, int n, floatv u) {
    float c[8] = {c8.s0, c8.s1, c8.s2, c8.s3, c8.s4, c8.s5, c8.s6, c8.s7};
    floatv v = 0.0f;
    for (int j = n; j >= 2; --j) v = v * u + (float)j * c[j - 1];
    return v * u;
}

/* Loss and unscaled gradient of APL_VW elements. Lanes in `zero` (easy negatives, ignored or
 * invalid elements) get exactly 0; the others need finite x and 0 <= y <= 1. */
inline void apl_elements(const apl_consts *k, floatv x, floatv y, intv zero, floatv *loss,
                         floatv *grad) {
    floatv e = exp(-fabs(x));
    floatv inv = 1.0f / (1.0f + e);
    intv xpos = x >= 0.0f;
    floatv p = select(e * inv, inv, xpos);
    floatv omp = select(inv, e * inv, xpos); /* 1 - p without cancellation */
    floatv s = p * omp;
    floatv l = 0.0f, g = 0.0f;

    if (ANY(y > 0.0f)) { /* positive part, u = 1 - p^ */
        intv floored = x < k->pos_floor_x;
        floatv u = select(omp, (floatv)(k->one_minus_eps), floored);
        /* floored: -ln p^ = -ln eps = -ln(1-u), so G(u) is still the right function */
        floatv nl = select(fmax(-x, 0.0f) + log1p(e), (floatv)(-k->ln_eps), floored);
        floatv F = g_of_u(k->cpos, k->npos, u, nl, TRUE_MASK);
        floatv w = pow_guarded(omp, k->gamma_pos);
        float c1 = k->npos > 0 ? k->cpos.s0 : 0.0f;
        /* dF/dp s = -(1-p)(1 + p slope) = -(1-p)(a_1 - c_1 (1-p) + p slope2): no cancellation */
        floatv gp = -w * omp * ((k->lead_pos - c1 * omp) + p * slope2_of_u(k->cpos, k->npos, omp));
        gp = select(gp, (floatv)(0.0f), floored);
        if (k->focus && k->gamma_pos > 0.0f) gp -= k->gamma_pos * w * p * F; /* dw+/dx = -g w p */
        intv pos = y > 0.0f;
        l = select(l, y * (w * F), pos);
        g = select(g, y * gp, pos);
    }
    intv neg = (y < 1.0f) & (x >= k->neg_clip_x); /* below neg_clip_x the part is exactly 0 */
    if (ANY(neg)) { /* negative part, u = p_m */
        floatv pm, neg_ln_q, s_over_q;
        if (k->clip > 0.0f) {
            pm = fmax(p - k->clip, 0.0f);
            floatv q = fmin(omp + k->clip, 1.0f);
            /* log1p(-p_m) keeps small p_m exact; with a tiny clip, q itself can be tiny */
            neg_ln_q = k->clip >= 0.01f ? -log1p(-pm) : -log(q);
            s_over_q = s / q;
        } else {
            pm = p;
            neg_ln_q = fmax(x, 0.0f) + log1p(e);
            s_over_q = p; /* p(1-p)/(1-p) */
        }
        intv floored = x >= k->neg_floor_x; /* q < eps: ln q^ = ln eps, 1/q^ term blocked */
        floatv F = g_of_u(k->cneg, k->nneg, pm, select(neg_ln_q, (floatv)(-k->ln_eps), floored),
                          x < k->neg_floor_x);
        floatv w = pow_guarded(pm, k->gamma_neg);
        float c1 = k->nneg > 0 ? k->cneg.s0 : 0.0f;
        floatv sl2 = slope2_of_u(k->cneg, k->nneg, pm);
        /* dF/dp s = s/q + s slope = (s/q)(b_1 - c_1 p_m) + s slope2 (1 - q = p_m) */
        floatv gn = select(w * (s_over_q * (k->lead_neg - c1 * pm) + s * sl2), w * s * (c1 + sl2),
                           floored);
        if (k->focus && k->gamma_neg > 0.0f)
            gn += select((floatv)(0.0f), k->gamma_neg * pow_guarded(pm, k->gamma_neg - 1.0f) * s * F,
                         pm > 0.0f);
        l = select(l, l + (1.0f - y) * (w * F), neg);
        g = select(g, g + (1.0f - y) * gn, neg);
    }
    *loss = select(l, (floatv)(0.0f), zero);
    *grad = select(g, (floatv)(0.0f), zero);
}

/* Fixed-order tree over the work-group: deterministic for a given APL_LOCAL. */
inline acc_t group_sum_acc(__local acc_t *buf, acc_t v) {
    uint l = get_local_id(0);
    buf[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = APL_LOCAL / 2; s > 0; s >>= 1) {
        if (l < s) buf[l] += buf[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    acc_t r = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
inline ulong group_sum_ulong(__local ulong *buf, ulong v) {
    uint l = get_local_id(0);
    buf[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = APL_LOCAL / 2; s > 0; s >>= 1) {
        if (l < s) buf[l] += buf[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    ulong r = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* Targets through one byte pointer: u8 is a compile-time constant at every call site. */
inline floatv load_targets(int u8, __global const uchar *t, ulong i) {
    return u8 ? targets_u8(t, i) : targets_f32((__global const float *)t, i);
}
inline float load_target1(int u8, __global const uchar *t, ulong i) {
    return u8 ? target_u8(t, i) : target_f32((__global const float *)t, i);
}

/* Per work-item running state: Kahan sum of losses and the three counters. */
typedef struct {
    accv sum, comp;
    ulong n_valid, n_badt, n_badx;
} apl_acc;

inline void acc_add(apl_acc *a, floatv lv) {
    accv yk = TO_ACC(lv) - a->comp;
    accv tk = a->sum + yk;
    a->comp = (tk - a->sum) - yk;
    a->sum = tk;
}

/* Writes a chunk's gradient and losses; the last chunk may be partial. */
inline void store_chunk(__global float *grad, ulong g_off, __global float *elem, ulong e_off,
                        ulong i, ulong len, floatv gv, floatv lv) {
    if (len >= APL_VW) {
        if (grad) STOREV(gv, grad + g_off + i);
        if (elem) STOREV(lv, elem + e_off + i);
        return;
    }
    float gb[APL_VW], lb[APL_VW];
    STOREV(gv, gb);
    STOREV(lv, lb);
    for (ulong j = 0; j < len; ++j) {
        if (grad) grad[g_off + i + j] = gb[j];
        if (elem) elem[e_off + i + j] = lb[j];
    }
}

/* Group g covers chunks [g*APL_LOCAL*per_item, (g+1)*APL_LOCAL*per_item) of APL_VW elements;
 * item l takes every APL_LOCAL-th chunk (coalesced on GPUs). The host bounds the number of
 * groups, so a launch never exceeds a device's dimension limits, whatever n is. The last,
 * partial chunk goes through private arrays padded with ignored elements. Every element's
 * logit is read before its gradient is written, by the same work-item: in place is safe. */
inline void loss_body(int u8, ulong n, ulong per_item, __global const float *xs, ulong x_off,
                      __global const uchar *ts, ulong t_off, __global float *grad, ulong g_off,
                      __global float *elem, ulong e_off, const apl_consts *k, float gmul,
                      __global acc_t *partial_acc, __global ulong *partial_cnt,
                      __local acc_t *lacc, __local ulong *lcnt) {
    uint l = get_local_id(0);
    ulong chunk = (ulong)get_group_id(0) * APL_LOCAL * per_item + l;
    apl_acc a = {0, 0, 0, 0, 0};
    for (ulong it = 0; it < per_item; ++it, chunk += APL_LOCAL) {
        ulong i = chunk * APL_VW;
        if (i >= n) break;
        ulong len = n - i;
        floatv x, y;
        if (len >= APL_VW) {
            x = LOADV(xs + x_off + i);
            y = load_targets(u8, ts, t_off + i);
        } else {
            float xb[APL_VW], yb[APL_VW];
            for (int j = 0; j < APL_VW; ++j) {
                bool in = (ulong)j < len;
                xb[j] = in ? xs[x_off + i + j] : 0.0f;
                yb[j] = in ? load_target1(u8, ts, t_off + i + j) : -1.0f;
            }
            x = LOADV(xb);
            y = LOADV(yb);
        }
        intv valid = (y >= 0.0f) & (y <= 1.0f);
        intv badt = isnan(y) | (y > 1.0f);
        intv badx = valid & (isnan(x) | isinf(x));
        /* easy negatives: exactly 0 with no exp or log (x > -inf keeps -inf counted) */
        intv zero = ((y == 0.0f) & (x < k->neg_clip_x) & (x > -INFINITY)) | (y < 0.0f) | badt |
                    badx;
        a.n_valid += ALL(valid) ? APL_VW : count01(valid);
        if (ANY(badt | badx)) {
            a.n_badt += count01(badt);
            a.n_badx += count01(badx);
        }
        floatv lv = 0.0f, gv = 0.0f;
        if (!ALL(zero)) {
            apl_elements(k, x, y, zero, &lv, &gv);
            gv *= gmul;
            acc_add(&a, lv);
        }
        store_chunk(grad, g_off, elem, e_off, i, len, gv, lv);
    }
    acc_t gs = group_sum_acc(lacc, hsum_acc(a.sum));
    ulong c0 = group_sum_ulong(lcnt, a.n_valid);
    ulong c1 = group_sum_ulong(lcnt, a.n_badt);
    ulong c2 = group_sum_ulong(lcnt, a.n_badx);
    if (l == 0) {
        uint g = get_group_id(0);
        partial_acc[g] = gs;
        partial_cnt[g * COUNT_LEN + COUNT_ELEMENTS] = c0;
        partial_cnt[g * COUNT_LEN + COUNT_INVALID_TARGETS] = c1;
        partial_cnt[g * COUNT_LEN + COUNT_NONFINITE_LOGITS] = c2;
    }
}

/* Unpacks the loss constants (vectors keep the kernel signature portable). */
inline apl_consts make_consts(float8 cpos, float8 cneg, int4 ints, float8 reals, float2 leads) {
    apl_consts k;
    k.cpos = cpos;
    k.cneg = cneg;
    k.npos = ints.s0;
    k.nneg = ints.s1;
    k.focus = ints.s2;
    k.gamma_pos = reals.s0;
    k.gamma_neg = reals.s1;
    k.clip = reals.s2;
    k.pos_floor_x = reals.s3;
    k.neg_clip_x = reals.s4;
    k.neg_floor_x = reals.s5;
    k.ln_eps = reals.s6;
    k.one_minus_eps = reals.s7;
    k.lead_pos = leads.s0;
    k.lead_neg = leads.s1;
    return k;
}

/* MEAN without a normalizer: the count pass left the denominator in res_cnt. */
inline float grad_multiplier(float grad_scale, int mul_from_count, __global const ulong *res_cnt) {
    if (!mul_from_count) return grad_scale;
    ulong c = res_cnt[COUNT_ELEMENTS];
    return c ? (float)((acc_t)grad_scale / (acc_t)c) : 0.0f;
}

#define APL_LOSS_KERNEL(NAME, TTYPE, IS_U8)                                                      \
    __kernel __attribute__((reqd_work_group_size(APL_LOCAL, 1, 1))) void NAME(                  \
        ulong n, ulong per_item, __global const float *xs, ulong x_off,                         \
        __global const TTYPE *ts, ulong t_off, __global float *grad, ulong g_off,               \
        __global float *elem, ulong e_off, float8 cpos, float8 cneg, int4 ints,                 \
        float8 reals, float2 leads, float grad_scale, int mul_from_count,                       \
        __global const ulong *res_cnt, __global acc_t *partial_acc,                             \
        __global ulong *partial_cnt) {                                                          \
        __local acc_t lacc[APL_LOCAL];                                                          \
        __local ulong lcnt[APL_LOCAL];                                                          \
        apl_consts k = make_consts(cpos, cneg, ints, reals, leads);                             \
        float gmul = grad_multiplier(grad_scale, mul_from_count, res_cnt);                      \
        loss_body(IS_U8, n, per_item, xs, x_off, (__global const uchar *)ts, t_off, grad, g_off, \
                  elem, e_off, &k, gmul, partial_acc, partial_cnt, lacc, lcnt);                 \
    }

APL_LOSS_KERNEL(apl_loss_f32, float, 0)
APL_LOSS_KERNEL(apl_loss_u8, uchar, 1)

/* Count of valid, non-ignored targets per group (same partition as the loss kernel). */
#define APL_COUNT_KERNEL(NAME, TTYPE, LOAD)                                                      \
    __kernel __attribute__((reqd_work_group_size(APL_LOCAL, 1, 1))) void NAME(                  \
        ulong n, ulong per_item, __global const TTYPE *ts, ulong t_off,                         \
        __global ulong *partial_cnt) {                                                          \
        __local ulong lcnt[APL_LOCAL];                                                          \
        uint l = get_local_id(0);                                                               \
        ulong i = (ulong)get_group_id(0) * APL_LOCAL * per_item + l;                            \
        ulong n_valid = 0;                                                                      \
        for (ulong it = 0; it < per_item && i < n; ++it, i += APL_LOCAL) {                      \
            float y = LOAD(ts, t_off + i);                                                      \
            n_valid += (y >= 0.0f && y <= 1.0f) ? 1 : 0;                                        \
        }                                                                                       \
        ulong c0 = group_sum_ulong(lcnt, n_valid);                                              \
        if (l == 0) {                                                                           \
            uint g = get_group_id(0);                                                           \
            partial_cnt[g * COUNT_LEN + COUNT_ELEMENTS] = c0;                                   \
            partial_cnt[g * COUNT_LEN + COUNT_INVALID_TARGETS] = 0;                             \
            partial_cnt[g * COUNT_LEN + COUNT_NONFINITE_LOGITS] = 0;                            \
        }                                                                                       \
    }

APL_COUNT_KERNEL(apl_count_f32, float, target_f32)
APL_COUNT_KERNEL(apl_count_u8, uchar, target_u8)

/* Second stage, one work-group: sums `groups` partials in a fixed order, applies the reduction
 * and writes the internal result (res_*) and the caller's optional outputs. counts_only: the
 * partial accumulators are not valid (count pass), write the counts only. */
__kernel __attribute__((reqd_work_group_size(APL_LOCAL, 1, 1))) void apl_finalize(
    uint groups, __global const acc_t *partial_acc, __global const ulong *partial_cnt,
    int counts_only, int mean, acc_t normalizer, __global acc_t *res_loss,
    __global ulong *res_cnt, __global float *loss_out, ulong loss_off,
    __global ulong *cnt_out, ulong cnt_off) {
    __local acc_t lacc[APL_LOCAL];
    __local ulong lcnt[APL_LOCAL];
    uint l = get_local_id(0);
    acc_t sum = 0;
    ulong c[COUNT_LEN] = {0, 0, 0};
    for (uint g = l; g < groups; g += APL_LOCAL) {
        if (!counts_only) sum += partial_acc[g];
        for (int k = 0; k < COUNT_LEN; ++k) c[k] += partial_cnt[g * COUNT_LEN + k];
    }
    acc_t total = group_sum_acc(lacc, sum);
    for (int k = 0; k < COUNT_LEN; ++k) c[k] = group_sum_ulong(lcnt, c[k]);
    if (l != 0) return;
    for (int k = 0; k < COUNT_LEN; ++k) res_cnt[k] = c[k];
    if (cnt_out)
        for (int k = 0; k < COUNT_LEN; ++k) cnt_out[cnt_off + k] = c[k];
    if (counts_only) return;
    if (mean) {
        acc_t norm = normalizer > 0 ? normalizer : (acc_t)c[COUNT_ELEMENTS];
        total = norm > 0 ? total / norm : 0;
    }
    res_loss[0] = total;
    if (loss_out) loss_out[loss_off] = (float)total;
}
