/* apl_4_finalize.cl: the second stage of the deterministic reduction.
 *
 * One work-group sums the first stage's per-group partials in a fixed order, applies the
 * reduction (sum or mean) and writes the internal result and the caller's optional outputs.
 */

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
    ulong c[APL_COUNT_LEN] = {0, 0, 0};
    for (uint g = l; g < groups; g += APL_LOCAL) {
        if (!counts_only) sum += partial_acc[g];
        for (int k = 0; k < APL_COUNT_LEN; ++k) c[k] += partial_cnt[g * APL_COUNT_LEN + k];
    }
    acc_t total = group_sum_acc(lacc, sum);
    for (int k = 0; k < APL_COUNT_LEN; ++k) c[k] = group_sum_ulong(lcnt, c[k]);
    if (l != 0) return;
    for (int k = 0; k < APL_COUNT_LEN; ++k) res_cnt[k] = c[k];
    if (cnt_out)
        for (int k = 0; k < APL_COUNT_LEN; ++k) cnt_out[cnt_off + k] = c[k];
    if (counts_only) return;
    if (mean) total = apl_mean(total, normalizer, c[APL_COUNT_ELEMENTS]);
    res_loss[0] = total;
    if (loss_out) loss_out[loss_off] = (float)total;
}
