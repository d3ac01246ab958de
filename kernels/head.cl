/* head.cl: the linear head's small kernels (src/head.c), a program of their own.
 *
 * Bias broadcast, column sums of the gradient into db, the MEAN gradient scale after a device
 * count, the target count itself, and the fixed-order accumulation of the chunks' losses. The
 * loss is not here: apl_*.cl. Build options: HEAD_LOCAL (work-group size of head_count, a power of
 * two), HEAD_FP64 (0/1: accumulate in double). The small scratch layout (S_*) must match
 * src/head.c.
 */
#if HEAD_FP64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#if HEAD_FP64
typedef double acc_t;
#else
typedef float acc_t;
#endif
#define S_LOSS_F 6
#define S_RUN 4
#define S_TOTAL 7
#define S_ACC 8
#define S_PART 16

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
    ulong cnt = small[S_TOTAL];
    float gmul = cnt ? (float)((acc_t)grad_scale / (acc_t)cnt) : 0.0f;
    for (ulong i = get_global_id(0); i < n; i += get_global_size(0)) g[i] *= gmul;
}

/* Non-ignored targets per group: fmt 0 float (0 <= y <= 1), 1 uint8 (0 or 1), 2 ignore-mask
 * words of bit-packed rows (units are words). */
__kernel __attribute__((reqd_work_group_size(HEAD_LOCAL, 1, 1)))
void head_count(ulong units, ulong cols, int fmt, __global const uchar *t, ulong t_off,
                __global ulong *small) {
    __local ulong part[HEAD_LOCAL];
    ulong words = (cols + 31) / 32, cnt = 0;
    for (ulong u = get_global_id(0); u < units; u += get_global_size(0)) {
        if (fmt == 0) {
            float y = ((__global const float *)t)[t_off + u];
            cnt += (y >= 0.0f && y <= 1.0f) ? 1 : 0;
        } else if (fmt == 1) {
            cnt += t[t_off + u] <= 1 ? 1 : 0;
        } else {
            ulong wc = u % words;
            uint nb = (uint)min((ulong)32, cols - wc * 32);
            uint mask = nb == 32 ? 0xffffffffu : ((1u << nb) - 1u);
            cnt += nb - popcount(((__global const uint *)t)[t_off + u] & mask);
        }
    }
    uint l = get_local_id(0);
    part[l] = cnt;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint s = HEAD_LOCAL / 2; s > 0; s >>= 1) {
        if (l < s) part[l] += part[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) small[S_PART + get_group_id(0)] = part[0];
}

__kernel void head_count_total(uint groups, __global ulong *small) {
    ulong s = 0;
    for (uint g = 0; g < groups; ++g) s += small[S_PART + g];
    small[S_TOTAL] = s;
}

/* One work-item: adds the chunk's loss and counts to the running ones, chunk after chunk;
 * the last chunk applies the reduction and writes the caller's outputs. */
__kernel void head_acc(int first, int last, int mean, acc_t normalizer,
                       __global ulong *small, __global float *loss_out, ulong loss_off,
                       __global ulong *cnt_out, ulong cnt_off) {
    __global acc_t *a = (__global acc_t *)(small + S_ACC);
    float lv = ((__global const float *)small)[S_LOSS_F];
    if (first) {
        a[0] = 0;
        a[1] = 0;
        for (int k = 0; k < 3; ++k) small[S_RUN + k] = 0;
    }
    acc_t y = (acc_t)lv - a[1];
    acc_t t = a[0] + y;
    a[1] = (t - a[0]) - y;
    a[0] = t;
    for (int k = 0; k < 3; ++k) small[S_RUN + k] += small[k];
    if (!last) return;
    acc_t total = a[0];
    if (mean) {
        acc_t norm = normalizer > 0 ? normalizer : (acc_t)small[S_RUN];
        total = norm > 0 ? total / norm : 0;
    }
    if (loss_out) loss_out[loss_off] = (float)total;
    if (cnt_out)
        for (int k = 0; k < 3; ++k) cnt_out[cnt_off + k] = small[S_RUN + k];
}
