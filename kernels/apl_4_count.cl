/* apl_4_count.cl: the target-only count pass (MEAN without a normalizer).
 *
 * Built with apl_4_finalize.cl into the small program each target format has once per context
 * (src/program.c), not into every loss program. It reads targets only.
 */

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
        partial_cnt[g * APL_COUNT_LEN + APL_COUNT_INVALID_WEIGHTS] = 0;
    }
}
