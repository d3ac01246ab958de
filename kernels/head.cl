/* head.cl: the linear head's small kernels (src/head.c), a program of their own.
 *
 * Bias broadcast, column sums of the gradient into db, the MEAN gradient scale after the batch's
 * target count, and the fixed-order accumulation of the chunks' losses. Built like the loss
 * program on top of apl_abi.h (the scratch slots APL_HEAD_*) and apl_0_common.cl (acc_t, the
 * compensated sum, MEAN), with APL_LOCAL and APL_FP64 as -D options. Not here: the loss and the
 * target count, which are the loss program's apl_loss and apl_count (src/enqueue.c).
 */

/* out (rows x cols) = b broadcast over the rows; the forward SGEMM then adds X W^T. */
__kernel void head_bias(ulong rows, ulong cols, __global const float *b, ulong b_off,
                        __global float *out) {
    for (ulong c = get_global_id(0); c < cols; c += get_global_size(0)) {
        float v = b[b_off + c];
        for (ulong r = 0; r < rows; ++r) out[r * cols + c] = v;
    }
}

/* db[c] += sum over rows of g[r][c], rows in order (deterministic). */
__kernel void head_colsum(ulong rows, ulong cols, __global const float *g,
                          __global float *db, ulong db_off) {
    for (ulong c = get_global_id(0); c < cols; c += get_global_size(0)) {
        acc_t s = 0;
        for (ulong r = 0; r < rows; ++r) s += g[r * cols + c];
        db[db_off + c] += (float)s;
    }
}

/* MEAN by device count: g *= grad_scale / count, the multiplier apl_loss forms itself. */
__kernel void head_scale(ulong n, __global float *g, __global const ulong *small,
                         float grad_scale) {
    float gmul = apl_grad_mul(grad_scale, small[APL_HEAD_BATCH_COUNTS + APL_COUNT_ELEMENTS]);
    for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) g[i] *= gmul;
}

/* One work-item: adds the chunk's loss and counts to the running ones, chunk after chunk;
 * the last chunk applies the reduction and writes the caller's outputs. */
__kernel void head_acc(int first, int last, int mean, acc_t normalizer,
                       __global ulong *small, __global float *loss_out, ulong loss_off,
                       __global ulong *cnt_out, ulong cnt_off) {
    __global acc_t *a = (__global acc_t *)(small + APL_HEAD_ACC);
    __global ulong *run = small + APL_HEAD_RUN_COUNTS;
    float lv = ((__global const float *)small)[APL_HEAD_CHUNK_LOSS_F];
    if (first) {
        a[0] = 0;
        a[1] = 0;
        for (int k = 0; k < APL_COUNT_LEN; ++k) run[k] = 0;
    }
    COMPENSATED_ADD(acc_t, a[0], a[1], (acc_t)lv);
    for (int k = 0; k < APL_COUNT_LEN; ++k) run[k] += small[APL_HEAD_CHUNK_COUNTS + k];
    if (!last) return;
    acc_t total = a[0];
    if (mean) total = apl_mean(total, normalizer, run[APL_COUNT_ELEMENTS]);
    if (loss_out) loss_out[loss_off] = (float)total;
    if (cnt_out)
        for (int k = 0; k < APL_COUNT_LEN; ++k) cnt_out[cnt_off + k] = run[k];
}
