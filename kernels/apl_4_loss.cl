/* apl_4_loss.cl: the first-stage kernel: the fused loss + gradient pass.
 *
 * apl_loss reads each logit and target once, writes each gradient (and per-element loss) once,
 * and leaves one partial sum and four counters per work-group for apl_finalize. apl_count
 * (apl_4_count.cl, a program of its own) counts the non-ignored targets (the MEAN denominator)
 * when it must be known before the gradient is written. Offsets and sizes count elements of each
 * buffer's own type.
 */

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
    apl_consts k_arg, float grad_scale,
    int mul_from_count, __global const ulong *res_cnt, __global acc_t *partial_acc,
    __global ulong *partial_cnt, ulong tcols, ulong tcol0
#if APL_WEIGHTED
    , __global const float *pw, ulong pw_off, __global const float *wt, ulong wt_off, int wkind
#endif
    ) {
    __local acc_t lacc[APL_LOCAL];
    __local ulong lcnt[APL_LOCAL];
    const apl_consts k = k_arg;
    /* MEAN by count: apl_count left the denominator in res_cnt */
    float gmul = mul_from_count ? apl_grad_mul(grad_scale, res_cnt[APL_COUNT_ELEMENTS]) : grad_scale;
    xs += x_off;
    t0 += t0_off;
    if (t1) t1 += t1_off;
    if (grad) grad += g_off;
    if (elem) elem += e_off;
    apl_in in = {xs, t0, t1, n, cols, nnz, 0, tcols, tcol0};
#if APL_WEIGHTED
    in.pw = pw ? pw + pw_off : pw;
    in.w = wt ? wt + wt_off : wt;
    in.wkind = wkind;
#endif
#if APL_ROW_FORMAT
    in.steps_per_row = (cols + APL_VW - 1) / APL_VW;
    const ulong steps = rows * in.steps_per_row;
#else
    const ulong steps = (n + APL_VW - 1) / APL_VW;
#endif

    uint l = get_local_id(0);
    ulong step = first_unit(per_item);
    apl_acc a = {0.0f, 0, 0, 0, 0u, 0u, 0u, 0u, 0, 0, 0};
    apl_out o = {grad, elem, accumulate, gmul};
#if APL_USE_QUEUE
    apl_queue q;
    q.n = 0;
    int skip_test = 0, dense_run = 0; /* steps to go dense untested; the last such run */
#endif
    /* One step per iteration. Two independent steps per iteration (their math with no branch
     * between) measured no faster at 4096x1000 (CPU samples within 1%), and its second inlined
     * copy of the math made 64x80 calls about 10% slower: not kept. */
    for (ulong it = 0; it < per_item && step < steps; ++it, step += UNIT_STRIDE) {
        apl_step st = load_step(&in, &k, step, &a);
        floatv lv = 0.0f, gv = 0.0f;
        int math = 1;
#if APL_USE_QUEUE
        /* Sparse (at most QUEUE_MAX lanes need math): zeros now, the rest queued. The test costs
         * about 3% of a dense step, so after dense steps it is skipped for 1, 3, 7, then 15
         * steps (reset by a sparse one): dense work (early regime) rarely pays for it, and an
         * isolated dense step in sparse work costs one short run. */
        intv act = NOT_MASK(st.zero);
        uint bits = 0u;
        if (skip_test) {
            --skip_test;
        } else if (popcount(bits = mask_bits(act)) > QUEUE_MAX) {
            skip_test = dense_run = min(2 * dense_run + 1, 15);
        } else {
            dense_run = 0;
#if APL_TFMT <= 1
            queue_push(&q, bits, 0u, &st);
#else
            queue_push(&q, bits, mask_bits(st.y == 1.0f), &st);
#endif
            store_queued_step(&o, st.x, st.i, st.len, act, bits);
            if (q.n >= APL_VW) queue_run(&q, APL_VW, &in, &k, &o, &a);
            continue;
        }
#else
        math = !ALL(st.zero);
#endif
        if (math) step_math(&k, &st, o.gmul, &a, &lv, &gv);
        store_outputs(grad, accumulate, elem, st.i, st.len, gv, lv);
    }
#if APL_USE_QUEUE
    if (q.n) queue_run(&q, q.n, &in, &k, &o, &a);
#endif
    if (a.in_block) acc_flush(&a);
    acc_counts_flush(&a);
    /* scalars from here: only they live across the barriers below (PoCL keeps what does in
     * per-work-item memory) */
    acc_t my_sum = hsum_acc(a.sum);
    ulong nv = a.n_valid, nbt = a.n_badt, nbx = a.n_badx;
#if APL_WEIGHTED
    ulong nbw = a.n_badw;
#endif
    acc_t gs = group_sum_acc(lacc, my_sum);
    ulong c0 = group_sum_ulong(lcnt, nv);
    ulong c1 = group_sum_ulong(lcnt, nbt);
    ulong c2 = group_sum_ulong(lcnt, nbx);
#if APL_WEIGHTED
    ulong c3 = group_sum_ulong(lcnt, nbw);
#else
    ulong c3 = 0; /* unweighted programs: no weights, no extra reduction */
#endif
    if (l == 0) {
        uint g = get_group_id(0);
        partial_acc[g] = gs;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_ELEMENTS] = c0;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_INVALID_TARGETS] = c1;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_NONFINITE_LOGITS] = c2;
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_INVALID_WEIGHTS] = c3;
    }
}
