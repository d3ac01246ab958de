/* apl_0_common.cl: build options, the scalar/vector abstraction and the reductions every aplcl
 * kernel shares. The loss program is apl_abi.h and the apl_*.cl files, in name order.
 *
 * Build options (src/program.c sets them per device and per program variant):
 *   APL_LOCAL  work-group size, a power of two
 *   APL_VW     elements per work-item step: 1, 2, 4, 8 or 16 (PoCL does not vectorise scalar
 *              code, so CPUs want wide vectors; GPUs use 4 for 16-byte loads)
 *   APL_FP64   0/1: accumulate partial sums in double
 *   APL_DTYPE  storage of logits and gradient: 0 float, 1 half, 2 bfloat16 (16-bit words)
 *   APL_TFMT   targets: 0 float, 1 uint8, 2 bit-packed rows, 3 CSR positives
 *   APL_CONTIGUOUS  0/1: work-items take strided (GPU) or consecutive (CPU) units
 * What crosses to the host (counter slots, the loss constants, the head's scratch slots) is
 * kernels/apl_abi.h, which src/program.c puts before this file. Every program starts with these
 * two (the linear head's kernels/head.cl too). Not here: any loss math (apl_1_math.cl) or memory
 * layout (apl_2_storage.cl).
 */
#ifndef APL_LOCAL
#define APL_LOCAL 256
#endif
#ifndef APL_VW
#define APL_VW 1
#endif
#ifndef APL_FP64
#define APL_FP64 0
#endif
#ifndef APL_DTYPE
#define APL_DTYPE 0
#endif
#ifndef APL_TFMT
#define APL_TFMT 0
#endif
#ifndef APL_CONTIGUOUS
#define APL_CONTIGUOUS 0
#endif
#define APL_ROW_FORMAT (APL_TFMT >= 2) /* targets addressed by (row, label), chunks per row */

/* Every helper of the loss pass is inlined: PoCL left the per-vector math a call (perf on
 * 4096x1000: 69% of the kernel's samples in apl_elements, its vectors passed through memory). */
#define APL_INLINE inline __attribute__((always_inline))

#if APL_FP64
#ifndef APL_CUDA /* CUDA: double needs no extension */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
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
typedef uint uintv;
typedef ushort ushortv;
typedef acc_t accv;
#define ALL(m) (m)
#define ANY(m) (m)
#define TRUE_MASK 1
#define LOADV(p) (*(p))
#define STOREV(v, p) (*(p) = (v))
#define TO_INT(v) ((int)(v))
#define TO_UINT(v) ((uint)(v))
#define TO_USHORT(v) ((ushort)(v))
#define AS_UINT(v) as_uint(v)
#define AS_FLOAT(v) as_float(v)
#define AS_INT(v) as_int(v)
#define TO_FLOAT(v) ((float)(v))
#define TO_ACC(v) ((acc_t)(v))
#define LANE_IDS 0u
#define VLOAD_HALF(p) vload_half(0, p)
#define VSTORE_HALF(v, p) vstore_half_rte(v, 0, p)
#else
typedef CAT(float, APL_VW) floatv;
typedef CAT(int, APL_VW) intv;
typedef CAT(uint, APL_VW) uintv;
typedef CAT(ushort, APL_VW) ushortv;
typedef CAT(ACC_NAME, APL_VW) accv;
#define ALL(m) (mask_and(m) < 0)
#define ANY(m) (mask_or(m) < 0)
#define TRUE_MASK ((intv)(-1))
#define LOADV(p) CAT(vload, APL_VW)(0, p)
#define STOREV(v, p) CAT(vstore, APL_VW)(v, 0, p)
#define TO_INT(v) CAT(convert_int, APL_VW)(v)
#define TO_UINT(v) CAT(convert_uint, APL_VW)(v)
#define TO_USHORT(v) CAT(convert_ushort, APL_VW)(v)
#define AS_UINT(v) CAT(as_uint, APL_VW)(v)
#define AS_FLOAT(v) CAT(as_float, APL_VW)(v)
#define AS_INT(v) CAT(as_int, APL_VW)(v)
#define TO_FLOAT(v) CAT(convert_float, APL_VW)(v)
#define TO_ACC(v) CAT(CAT(convert_, ACC_NAME), APL_VW)(v)
#define VLOAD_HALF(p) CAT(vload_half, APL_VW)(0, p)
#define VSTORE_HALF(v, p) CAT(CAT(vstore_half, APL_VW), _rte)(v, 0, p)
#if APL_VW == 2
#define LANE_IDS ((uintv)(0, 1))
#elif APL_VW == 4
#define LANE_IDS ((uintv)(0, 1, 2, 3))
#elif APL_VW == 8
#define LANE_IDS ((uintv)(0, 1, 2, 3, 4, 5, 6, 7))
#else
#define LANE_IDS ((uintv)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15))
#endif
#endif

/* The complement of a mask (scalar masks are 0/1, vector lanes 0/-1: ~ is right only for
 * vectors). */
#define NOT_MASK(m) ((m) ^ TRUE_MASK)

/* Horizontal reductions of masks by halving (.lo/.hi): log2(APL_VW) vector operations, where
 * PoCL's all()/any() extract and test every lane one by one (measured: the skip loop spent most
 * of its time there). */
#if APL_VW > 1
/* One halving step per width: int16 -> int8 -> int4 -> int2 -> int. */
#define HALF_AND(v) ((v).lo & (v).hi)
#define HALF_OR(v) ((v).lo | (v).hi)
#define HALF_ADD(v) ((v).lo + (v).hi)
#if APL_VW == 16
#define REDUCE_(H, m) H(H(H(H(m))))
#elif APL_VW == 8
#define REDUCE_(H, m) H(H(H(m)))
#elif APL_VW == 4
#define REDUCE_(H, m) H(H(m))
#else
#define REDUCE_(H, m) H(m)
#endif
inline int mask_and(intv m) { return REDUCE_(HALF_AND, m); }
inline int mask_or(intv m) { return REDUCE_(HALF_OR, m); }
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
/* Lanes of a per-lane counter summed by halving (exact: COUNT_FLUSH keeps the sum below 2^32). A
 * store-and-loop here cost small launches (64x80) 10%. */
inline ulong hsum_uint(uintv v) {
#if APL_VW == 1
    return v;
#else
    return REDUCE_(HALF_ADD, v);
#endif
}
/* A pointer to work-group memory as a parameter: `__local T *` in OpenCL C; CUDA (the prelude,
 * kernels/cuda/prelude.h) has no such qualifier on pointers and defines its own. */
#ifndef LOCAL_PTR
#define LOCAL_PTR(T) __local T *
#endif
/* Fixed-order tree over the work-group: deterministic for a given APL_LOCAL. One body, two
 * element types (acc_t partial sums, ulong counters). */
#define GROUP_SUM(NAME, T)                                                                         \
    inline T NAME(LOCAL_PTR(T) buf, T v) {                                                         \
        uint l = get_local_id(0);                                                                  \
        buf[l] = v;                                                                                \
        barrier(CLK_LOCAL_MEM_FENCE);                                                              \
        for (uint s = APL_LOCAL / 2; s > 0; s >>= 1) {                                             \
            if (l < s) buf[l] += buf[l + s];                                                       \
            barrier(CLK_LOCAL_MEM_FENCE);                                                          \
        }                                                                                          \
        T r = buf[0];                                                                              \
        barrier(CLK_LOCAL_MEM_FENCE);                                                              \
        return r;                                                                                  \
    }
GROUP_SUM(group_sum_acc, acc_t)
GROUP_SUM(group_sum_ulong, ulong)

/* Compensated (Kahan) addition, one body for the loss pass's vectors and the head's running sum:
 * sum += v, comp keeps the low bits the addition lost. sum and comp are read more than once. */
#define COMPENSATED_ADD(T, sum, comp, v)                                                           \
    do {                                                                                           \
        T y_ = (v) - (comp);                                                                       \
        T t_ = (sum) + y_;                                                                         \
        (comp) = (t_ - (sum)) - y_;                                                                \
        (sum) = t_;                                                                                \
    } while (0)

/* The MEAN of a sum: over the caller's normalizer when it is > 0, else over the number of
 * non-ignored elements; 0 when that is 0. */
inline acc_t apl_mean(acc_t total, acc_t normalizer, ulong count) {
    acc_t norm = normalizer > 0 ? normalizer : (acc_t)count;
    return norm > 0 ? total / norm : 0;
}

/* The gradient multiplier of MEAN by a device count: grad_scale / count (0 for no element). */
inline float apl_grad_mul(float grad_scale, ulong count) {
    return count ? (float)((acc_t)grad_scale / (acc_t)count) : 0.0f;
}
