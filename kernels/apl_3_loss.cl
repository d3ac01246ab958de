/* apl_3_loss.cl: the first-stage kernels: the fused loss + gradient pass and the target count.
 *
 * apl_loss reads each logit and target once, writes each gradient (and per-element loss) once,
 * and leaves one partial sum and three counters per work-group for apl_finalize. apl_count
 * counts the non-ignored targets (the MEAN denominator) when it must be known before the
 * gradient is written. Offsets and sizes count elements of each buffer's own type.
 */

/* Per work-item running state: Kahan sum of losses (a no-op cost in double) and counters. */
typedef struct {
    accv sum, comp;
    ulong n_valid, n_badt, n_badx;
} apl_acc;

inline void acc_add(apl_acc *a, floatv lv) {
    COMPENSATED_ADD(accv, a->sum, a->comp, TO_ACC(lv));
}

/* Writes len (<= APL_VW) gradients and losses from element i; adds to the stored gradient when
 * accumulating. */
inline void store_outputs(__global xstore_t *grad, int accumulate, __global float *elem, ulong i,
                          ulong len, floatv gv, floatv lv) {
    if (len >= APL_VW) {
        if (grad) {
            if (accumulate) gv += load_x(grad + i);
            store_x(gv, grad + i);
        }
        if (elem) STOREV(lv, elem + i);
        return;
    }
    float gb[APL_VW], lb[APL_VW];
    STOREV(gv, gb);
    STOREV(lv, lb);
    for (ulong j = 0; j < len; ++j) {
        if (grad) store_x1(accumulate ? gb[j] + load_x1(grad + i + j) : gb[j], grad + i + j);
        if (elem) elem[i + j] = lb[j];
    }
}

/* How a group's APL_LOCAL * per_item units are shared among its items. GPUs (APL_CONTIGUOUS 0):
 * item l takes every APL_LOCAL-th unit from l, so neighbouring lanes touch neighbouring memory
 * (coalesced). CPUs (APL_CONTIGUOUS 1): PoCL runs a group's items one after another on one
 * thread, so item l takes per_item consecutive units; strided, a group swept its range
 * APL_LOCAL times and fell out of cache once the range outgrew L2 (4096x1000: 0.44 vs 3.8 G/s
 * at 1024x1000 for the all-ignored floor). */
#if APL_CONTIGUOUS
#define UNIT_STRIDE 1
inline ulong first_unit(ulong per_item) {
    return ((ulong)get_group_id(0) * APL_LOCAL + get_local_id(0)) * per_item;
}
#else
#define UNIT_STRIDE APL_LOCAL
inline ulong first_unit(ulong per_item) {
    return (ulong)get_group_id(0) * APL_LOCAL * per_item + get_local_id(0);
}
#endif

/* Steps of APL_VW elements. Dense targets: step s covers elements [s*VW, s*VW + VW) of the flat
 * array (the last one may be partial). Row formats: steps never cross a row, so a row has
 * ceil(C/VW) steps, the last one partial when VW does not divide C.
 * Group g takes steps [g*APL_LOCAL*per_item, (g+1)*APL_LOCAL*per_item); see first_unit for
 * how its items share them. The host bounds the number of groups, so a launch
 * never exceeds a device's dimension limits, whatever the size. Each element's logit is read
 * before its gradient is written, by the same work-item: the gradient may overwrite the logits. */
__kernel __attribute__((reqd_work_group_size(APL_LOCAL, 1, 1))) void apl_loss(
    ulong n, ulong rows, ulong cols, ulong per_item, __global const xstore_t *xs, ulong x_off,
    __global const tstore_t *t0, ulong t0_off, __global const uint *t1, ulong t1_off, ulong nnz,
    __global xstore_t *grad, ulong g_off, int accumulate, __global float *elem, ulong e_off,
    apl_consts k, float grad_scale,
    int mul_from_count, __global const ulong *res_cnt, __global acc_t *partial_acc,
    __global ulong *partial_cnt, ulong tcols, ulong tcol0) {
    __local acc_t lacc[APL_LOCAL];
    __local ulong lcnt[APL_LOCAL];
    /* MEAN by count: apl_count left the denominator in res_cnt */
    float gmul = mul_from_count ? apl_grad_mul(grad_scale, res_cnt[APL_COUNT_ELEMENTS]) : grad_scale;
    xs += x_off;
    t0 += t0_off;
    if (t1) t1 += t1_off;
    if (grad) grad += g_off;
    if (elem) elem += e_off;
#if APL_ROW_FORMAT
    const ulong steps_per_row = (cols + APL_VW - 1) / APL_VW;
    const ulong steps = rows * steps_per_row;
#else
    const ulong steps = (n + APL_VW - 1) / APL_VW;
#endif

    uint l = get_local_id(0);
    ulong step = first_unit(per_item);
    apl_acc a = {0, 0, 0, 0, 0};
    for (ulong it = 0; it < per_item && step < steps; ++it, step += UNIT_STRIDE) {
#if APL_ROW_FORMAT
        ulong r = step / steps_per_row;
        ulong c0 = (step - r * steps_per_row) * APL_VW;
        ulong i = r * cols + c0;
        ulong len = min((ulong)APL_VW, cols - c0);
#else
        ulong i = step * APL_VW;
        ulong len = min((ulong)APL_VW, n - i);
#endif
        floatv x;
        if (len == APL_VW) {
            x = load_x(xs + i);
        } else {
            float xb[APL_VW];
            for (ulong j = 0; j < APL_VW; ++j) xb[j] = j < len ? load_x1(xs + i + j) : 0.0f;
            x = LOADV(xb);
        }
        floatv y;
#if APL_TFMT <= 1
        if (len == APL_VW) {
            y = targetv(t0, i);
        } else {
            float yb[APL_VW];
            for (ulong j = 0; j < APL_VW; ++j) yb[j] = j < len ? target1(t0, i + j) : -1.0f;
            y = LOADV(yb);
        }
#elif APL_TFMT == 2
        y = target_bits(t0, t1, r * ((tcols + 31) / 32), (tcols + 31) / 32, tcol0 + c0);
        y = select(y, (floatv)(-1.0f), LANE_IDS >= (uint)len); /* padding lanes: ignored */
#else
        y = target_csr(t0, t1, nnz, r, tcol0 + c0, len);
        y = select(y, (floatv)(-1.0f), LANE_IDS >= (uint)len);
        if (c0 == 0) a.n_badt += csr_row_errors(t0, t1, nnz, r, tcol0, tcol0 + cols, tcols);
#endif
        intv valid = (y >= 0.0f) & (y <= 1.0f);
        intv badt = isnan(y) | (y > 1.0f);
        intv badx = valid & (isnan(x) | isinf(x));
        /* easy negatives: exactly 0 with no exp or log (x > -inf keeps -inf counted) */
        intv zero = ((y == 0.0f) & (x < k.neg_clip_x) & (x > -INFINITY)) | (y < 0.0f) | badt |
                    badx;
        a.n_valid += ALL(valid) ? APL_VW : count01(valid);
        if (ANY(badt | badx)) {
            a.n_badt += count01(badt);
            a.n_badx += count01(badx);
        }
        floatv lv = 0.0f, gv = 0.0f;
        if (!ALL(zero)) {
            apl_elements(&k, x, y, zero, &lv, &gv);
            gv *= gmul;
            acc_add(&a, lv);
        }
        store_outputs(grad, accumulate, elem, i, len, gv, lv);
    }
    acc_t gs = group_sum_acc(lacc, hsum_acc(a.sum));
    ulong c0 = group_sum_ulong(lcnt, a.n_valid);
    ulong c1 = group_sum_ulong(lcnt, a.n_badt);
    ulong c2 = group_sum_ulong(lcnt, a.n_badx);
    if (l == 0) {
        uint g = get_group_id(0);
        partial_acc[g] = gs;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_ELEMENTS] = c0;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_INVALID_TARGETS] = c1;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_NONFINITE_LOGITS] = c2;
    }
}

/* Non-ignored targets per group, over n units with per_item units per work-item: elements for
 * dense targets, 32-bit words of the ignore mask for bit-packed targets (CSR needs no count: it
 * ignores nothing). */
__kernel __attribute__((reqd_work_group_size(APL_LOCAL, 1, 1))) void apl_count(
    ulong n, ulong rows, ulong cols, ulong per_item, __global const tstore_t *t0, ulong t0_off,
    __global const uint *t1, ulong t1_off, __global ulong *partial_cnt, ulong tcols, ulong tcol0) {
    __local ulong lcnt[APL_LOCAL];
    uint l = get_local_id(0);
    ulong u = first_unit(per_item);
    ulong n_valid = 0;
    (void)rows;
    for (ulong it = 0; it < per_item && u < n; ++it, u += UNIT_STRIDE) {
#if APL_TFMT <= 1
        float y = target1(t0 + t0_off, u);
        n_valid += (y >= 0.0f && y <= 1.0f) ? 1 : 0;
#elif APL_TFMT == 2
        n_valid += bits_valid_in_word(t1 ? t1 + t1_off : NULL, u, cols, tcols, tcol0);
#else
        n_valid += 1;
#endif
    }
    ulong c0 = group_sum_ulong(lcnt, n_valid);
    if (l == 0) {
        uint g = get_group_id(0);
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_ELEMENTS] = c0;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_INVALID_TARGETS] = 0;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_NONFINITE_LOGITS] = 0;
    }
}
