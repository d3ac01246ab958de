/* apl_3q_queue.cl: the loss pass's path for sparse work: steps where few elements need math.
 *
 * Late in training most elements are easy negatives (exactly 0, no exp or log), but they are
 * spread out: in bench's trained regime 7% of elements need math and 70% of 16-lane steps
 * hold at least one. Skipping whole steps then saves little, and computing a whole vector for
 * one or two lanes wastes the rest. So a step with at most QUEUE_MAX such elements writes its
 * zeros now and queues the others (their indices; logits and dense targets are read again when
 * the queue runs); each full queue of APL_VW elements is computed as one dense vector and its
 * results written back by index. Steps with more go the dense way, so work that is not sparse
 * (the early regime) pays only for the test, and not even that after a run of dense steps.
 *
 * Per element the math is apl_elements's on the same inputs, and its result does not depend on
 * the other lanes: queued or not, every gradient and per-element loss has the same bits. The
 * loss sum groups elements differently, always the same way for the same inputs.
 *
 * CPUs only (APL_CONTIGUOUS: an item owns consecutive steps, so nothing it writes back is read
 * again), vectors of 4 or more lanes: a program of its own, which the host
 * picks for calls whose items have enough steps to fill queues (src/program.c, apl_loss_variant).
 */
#if APL_QUEUE && APL_CONTIGUOUS && APL_VW >= 4
#define APL_USE_QUEUE 1
#else
#define APL_USE_QUEUE 0
#endif

/* Where the loss pass writes, and the gradient multiplier. */
typedef struct {
    __global xstore_t *grad; /* NULL: no gradient */
    __global float *elem;    /* NULL: no per-element loss */
    int accumulate;          /* add to the stored gradient */
    float gmul;
} apl_out;

#if APL_USE_QUEUE
/* Queued at most this many elements per step (measured: aplcl bench, see bench/README.md). */
#ifndef QUEUE_MAX
#define QUEUE_MAX (APL_VW / 4)
#endif

typedef struct {
    ulong i[2 * APL_VW]; /* element indices: a full vector plus less than one step's worth */
    float y[2 * APL_VW]; /* row formats: their targets (0/1) */
#if APL_WEIGHTED
    float w[2 * APL_VW], pw[2 * APL_VW]; /* their weights (apl_2w_weights.cl's W and P) */
#endif
    int n;
} apl_queue;

/* The lanes of a mask as bits, lane j in bit j. */
APL_INLINE uint mask_bits(intv m) {
    return REDUCE_(HALF_OR, select((uintv)(0u), (uintv)(1u) << LANE_IDS, m));
}

/* Appends the step's lanes whose bits are set (at most QUEUE_MAX), lowest first: their indices
 * and, for the row formats, their targets (ybits: the lanes whose target is 1; dense targets
 * are read again when the queue runs). Branch-free: QUEUE_MAX rounds, each storing a slot and
 * advancing only if a bit was left; a loop over the set bits mispredicted its exit about once
 * a step and cost more than the math it saved. No logits: taking a lane out of a vector
 * through memory stalls (store-to-load forwarding fails), so queue_run reads them again from
 * the buffer, where the step's store kept them. */
APL_INLINE void queue_push(apl_queue *q, uint bits, uint ybits, const apl_step *st) {
    int n = q->n;
#if APL_WEIGHTED /* weights through memory after all: reading them again needs row and column */
    float wb[APL_VW], pb[APL_VW];
    STOREV(st->ws.w, wb);
    STOREV(st->ws.pw, pb);
#endif
    for (int t = 0; t < QUEUE_MAX; ++t) {
        uint low = bits & (0u - bits); /* 0 once no bit is left */
        uint j = popcount(low - 1u) & (APL_VW - 1); /* no bit left: 32, any lane will do */
        bits ^= low;
        q->i[n] = st->i + j;
        q->y[n] = (ybits & low) ? 1.0f : 0.0f;
#if APL_WEIGHTED
        q->w[n] = wb[j];
        q->pw[n] = pb[j];
#endif
        n += low != 0u;
    }
    q->n = n;
}

/* A queued step's outputs, except its `act` lanes, which queue_run writes later: 0 (or the
 * stored gradient plus 0, as the dense path writes it). An in-place gradient keeps the act
 * lanes' logits, which queue_run reads (accumulating is never in place). */
APL_INLINE void store_queued_step(const apl_out *o, floatv x, ulong i, ulong len, intv act,
                                  uint bits) {
    if (len >= APL_VW) {
        if (o->grad) {
            floatv gv = select((floatv)(0.0f), x, act);
            if (o->accumulate) {
                floatv old = load_x(o->grad + i);
                gv = select(0.0f + old, old, act);
            }
            store_x(gv, o->grad + i);
        }
        if (o->elem) STOREV((floatv)(0.0f), o->elem + i);
        return;
    }
    for (ulong j = 0; j < len; ++j) {
        if ((bits >> j) & 1u) continue;
        if (o->grad)
            store_x1(o->accumulate ? 0.0f + load_x1(o->grad + i + j) : 0.0f, o->grad + i + j);
        if (o->elem) o->elem[i + j] = 0.0f;
    }
}

/* Computes the first `count` (<= APL_VW) queued elements as one vector, writes their results
 * back, adds their losses, and moves the rest of the queue to its front. Lanes past count
 * repeat element 0 and are masked. */
APL_INLINE void queue_run(apl_queue *q, int count, const apl_in *in, const apl_consts *k,
                          const apl_out *o, apl_acc *a) {
    float xb[APL_VW], yb[APL_VW];
#if APL_WEIGHTED
    float wb[APL_VW], pb[APL_VW];
#endif
    for (int j = 0; j < APL_VW; ++j) {
        int jj = j < count ? j : 0;
        xb[j] = load_x1(in->xs + q->i[jj]);
#if APL_WEIGHTED
        wb[j] = q->w[jj];
        pb[j] = q->pw[jj];
#endif
#if APL_TFMT <= 1
        yb[j] = target1(in->t0, q->i[jj]); /* dense targets: read again (F32: may be soft) */
#else
        yb[j] = q->y[jj];
#endif
    }
    intv zero = LANE_IDS >= (uint)count;
    floatv x = LOADV(xb), y = LOADV(yb);
    apl_step st;
    st.x = x, st.y = y, st.zero = zero;
#if APL_WEIGHTED
    st.ws.w = LOADV(wb), st.ws.pw = LOADV(pb);
#endif
    floatv lv, gv;
    step_math(k, &st, o->gmul, a, &lv, &gv);
    float gb[APL_VW], lb[APL_VW];
    STOREV(gv, gb);
    STOREV(lv, lb);
    for (int j = 0; j < count; ++j) {
        ulong idx = q->i[j];
        if (o->grad)
            store_x1(o->accumulate ? gb[j] + load_x1(o->grad + idx) : gb[j], o->grad + idx);
        if (o->elem) o->elem[idx] = lb[j];
    }
    for (int j = count; j < q->n; ++j) {
        q->i[j - count] = q->i[j];
        q->y[j - count] = q->y[j];
#if APL_WEIGHTED
        q->w[j - count] = q->w[j];
        q->pw[j - count] = q->pw[j];
#endif
    }
    q->n -= count;
}
#endif
