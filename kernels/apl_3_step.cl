/* apl_3_step.cl: what the loss pass does per step of APL_VW elements, apart from the math:
 * the running sum and counters (apl_acc), loading a step and its targets (load_step), storing
 * its outputs, and how a group's steps are shared among its items. No kernels here (they are in
 * apl_4_loss.cl); the queue of sparse steps is apl_3q_queue.cl.
 */

/* Per work-item running state: the loss sum and counters. Losses are summed in float over at
 * most FLOAT_BLOCK vectors (`block`, cheap), then each block into a compensated acc_t sum (a
 * double Kahan step per vector was a hot spot). The grouping is a fixed function of the item's
 * steps, so the sum is deterministic. Counters are per lane (`lane_*`, one add per step instead
 * of a horizontal count) and move to the 64-bit totals every COUNT_FLUSH steps and at the end. */
#define FLOAT_BLOCK 8
#define COUNT_FLUSH (1u << 24) /* per-lane counts stay far below 2^31 */
typedef struct {
    floatv block;
    int in_block;
    accv sum, comp;
    uintv lane_valid, lane_badt, lane_badx;
    uint steps;
    ulong n_valid, n_badt, n_badx;
#if APL_WEIGHTED
    uintv lane_badw;
    ulong n_badw;
#endif
} apl_acc;

/* 1 per true lane of a mask (scalar masks are 1, vector lanes -1). */
#define ONES(m) select((uintv)(0u), (uintv)(1u), m)

APL_INLINE void acc_counts_flush(apl_acc *a) {
    a->n_valid += hsum_uint(a->lane_valid);
    a->n_badt += hsum_uint(a->lane_badt);
    a->n_badx += hsum_uint(a->lane_badx);
    a->lane_valid = a->lane_badt = a->lane_badx = 0u;
#if APL_WEIGHTED
    a->n_badw += hsum_uint(a->lane_badw);
    a->lane_badw = 0u;
#endif
    a->steps = 0;
}

APL_INLINE void acc_flush(apl_acc *a) {
    COMPENSATED_ADD(accv, a->sum, a->comp, TO_ACC(a->block));
    a->block = 0.0f;
    a->in_block = 0;
}
/* Adds one vector of losses. */
APL_INLINE void acc_add(apl_acc *a, floatv lv) {
    a->block += lv;
    if (++a->in_block >= FLOAT_BLOCK) acc_flush(a);
}

/* Writes len (<= APL_VW) gradients and losses from element i; adds to the stored gradient when
 * accumulating. */
APL_INLINE void store_outputs(__global xstore_t *grad, int accumulate, __global float *elem,
                              ulong i, ulong len, floatv gv, floatv lv) {
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

/* The inputs of the loss pass (pointers already offset) and their layout. */
typedef struct {
    __global const xstore_t *xs;
    __global const tstore_t *t0;
    __global const uint *t1;
    ulong n, cols, nnz, steps_per_row;
    ulong tcols, tcol0; /* row formats: labels per target row, this call's first (a window) */
#if APL_WEIGHTED
    __global const float *pw, *w; /* NULL or already offset */
    int wkind;
#endif
} apl_in;

/* One step's elements: logits, decoded targets, which lanes are exactly 0, where they sit. */
typedef struct {
    floatv x, y;
    intv zero;
    ulong i, len;
#if APL_WEIGHTED
    apl_wstep ws; /* W and P per lane (apl_2w_weights.cl); 0 on lanes in zero */
#endif
} apl_step;

/* Loads step `step` and counts its valid, invalid-target and non-finite-logit elements. */
APL_INLINE apl_step load_step(const apl_in *in, const apl_consts *k, ulong step, apl_acc *a) {
    apl_step st;
#if APL_ROW_FORMAT
    ulong r = step / in->steps_per_row;
    ulong c0 = (step - r * in->steps_per_row) * APL_VW;
    st.i = r * in->cols + c0;
    st.len = min((ulong)APL_VW, in->cols - c0);
#else
    st.i = step * APL_VW;
    st.len = min((ulong)APL_VW, in->n - st.i);
#endif
    ulong i = st.i, len = st.len;
    if (len == APL_VW) {
        st.x = load_x(in->xs + i);
    } else {
        float xb[APL_VW];
        for (ulong j = 0; j < APL_VW; ++j) xb[j] = j < len ? load_x1(in->xs + i + j) : 0.0f;
        st.x = LOADV(xb);
    }
    floatv x = st.x, y;
#if APL_TFMT == 1
    /* u8 codes: the masks straight from them, fewer operations than from decoded floats (the
     * dense early regime spends ~1/5 of a step on counts and masks). Same results as below. */
    intv code;
    if (len == APL_VW) {
        code = TO_INT(LOADV(in->t0 + i));
    } else {
        int cb[APL_VW];
        for (ulong j = 0; j < APL_VW; ++j) cb[j] = j < len ? (int)in->t0[i + j] : 255;
        code = LOADV(cb);
    }
    intv valid = code <= 1, fin = fabs(x) < INFINITY; /* fin: not NaN, not +-inf */
    y = select((floatv)(-1.0f), TO_FLOAT(code), valid); /* invalid codes: masked below */
    intv badt = NOT_MASK(valid) & (code != 255);
    intv badx = valid & NOT_MASK(fin);
#elif APL_TFMT == 0
    if (len == APL_VW) {
        y = targetv(in->t0, i);
    } else {
        float yb[APL_VW];
        for (ulong j = 0; j < APL_VW; ++j) yb[j] = j < len ? target1(in->t0, i + j) : -1.0f;
        y = LOADV(yb);
    }
#elif APL_TFMT == 2
    y = target_bits(in->t0, in->t1, r * ((in->tcols + 31) / 32), (in->tcols + 31) / 32,
                    in->tcol0 + c0);
    y = select(y, (floatv)(-1.0f), LANE_IDS >= (uint)len); /* padding lanes: ignored */
#else
    y = target_csr(in->t0, in->t1, in->nnz, r, in->tcol0 + c0, len);
    y = select(y, (floatv)(-1.0f), LANE_IDS >= (uint)len);
    if (c0 == 0)
        a->n_badt += csr_row_errors(in->t0, in->t1, in->nnz, r, in->tcol0, in->tcol0 + in->cols,
                                    in->tcols);
#endif
    st.y = y;
#if APL_TFMT != 1
    intv valid = (y >= 0.0f) & (y <= 1.0f);
    intv badt = isnan(y) | (y > 1.0f);
    intv badx = valid & (isnan(x) | isinf(x));
#endif
#if APL_WEIGHTED
#if APL_ROW_FORMAT
    apl_wstep ws = load_weights(in->pw, in->w, in->wkind, in->cols, i, r, c0, len);
#else
    apl_wstep ws = load_weights(in->pw, in->w, in->wkind, in->cols, i, i / in->cols,
                                i % in->cols, len);
#endif
    intv badw = weights_bad(&ws, valid);
    a->lane_badw += ONES(badw);
#endif
    /* easy negatives: exactly 0 with no exp or log (x > -inf keeps -inf counted) */
#if APL_TFMT == 1
    st.zero = NOT_MASK(valid & fin) | ((code == 0) & (x < k->neg_clip_x));
#else
    st.zero = ((y == 0.0f) & (x < k->neg_clip_x) & (x > -INFINITY)) | (y < 0.0f) | badt | badx;
#endif
#if APL_WEIGHTED
    st.zero |= badw;
    st.ws.w = select(ws.w, (floatv)(0.0f), st.zero); /* 0, not 0 * NaN, on skipped lanes */
    st.ws.pw = select(ws.pw, (floatv)(0.0f), st.zero);
#endif
    a->lane_valid += ONES(valid);
    a->lane_badt += ONES(badt);
    a->lane_badx += ONES(badx);
    if (++a->steps >= COUNT_FLUSH) acc_counts_flush(a);
    return st;
}

/* Whether every lane that needs math has a 0/1 target (decoded formats: always). */
APL_INLINE int step_binary(const apl_step *st) {
#if APL_TFMT == 0
    return ALL(st->zero | (st->y == 0.0f) | (st->y == 1.0f));
#else
    (void)st;
    return 1;
#endif
}

/* A step's losses (added to a) and gradients times gmul, in weighted programs weighted
 * (apl_2w_weights.cl): the dense path's and each full queue's (apl_3q_queue.cl). Lanes in zero
 * get +0 whatever gmul's sign: 0 * -2 would be -0, and skipped and queued steps write +0. */
APL_INLINE void step_math(const apl_consts *k, const apl_step *st, float gmul, apl_acc *a,
                          floatv *lv, floatv *gv) {
    int binary = step_binary(st);
    floatv l, g;
    apl_elements(k, st->x, st->y, st->zero, binary, &l, &g);
#if APL_WEIGHTED
    apl_weigh(k, st->x, st->y, st->zero, binary, &st->ws, &l, &g);
#endif
    *gv = select(g * gmul, (floatv)(0.0f), st->zero);
    *lv = l;
    acc_add(a, l);
}
