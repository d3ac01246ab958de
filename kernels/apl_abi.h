/* apl_abi.h: everything that crosses the boundary between the C library and the OpenCL kernels.
 *
 * Valid C11, OpenCL C 1.2 and (after kernels/cuda/prelude.h) CUDA C++. The library includes it
 * (src/internal.h, through the kernels/ include path); the build embeds it and src/program.c puts
 * it at the top of every kernel program (src/cuda/cuda_source.c after the CUDA prelude), so both
 * sides read one definition: the counter slots, the loss constants passed to
 * apl_loss, and the slot layout of the linear head's small scratch buffer. No code, no build
 * options, nothing only one side uses.
 */
#ifndef APL_ABI_H
#define APL_ABI_H

/* ---- counters: a counts buffer holds APL_COUNT_LEN 64-bit values ----
 * The public names (APLCL_COUNT_* in aplcl.h) are checked against these below. */
#define APL_COUNT_ELEMENTS 0
#define APL_COUNT_INVALID_TARGETS 1
#define APL_COUNT_NONFINITE_LOGITS 2
#define APL_COUNT_INVALID_WEIGHTS 3
#define APL_COUNT_LEN 4

/* Most leading Taylor coefficients per side (APLCL_MAX_TERMS). */
#define APL_MAX_TERMS 8

/* ---- the loss constants: one by-value argument of apl_loss ----
 * The host fills it from apl_derive (src/enqueue.c); apl_1_math.cl reads it. Only 32-bit float
 * and int members, so its layout is the same in C and OpenCL C on every device (no padding, 4-byte
 * alignment; the size is checked on both sides). */
typedef struct apl_consts {
    float cpos[APL_MAX_TERMS]; /* c_j = alpha_j - 1/j (0 past npos) */
    float cneg[APL_MAX_TERMS]; /* c_j = beta_j - 1/j (0 past nneg) */
    float lead_pos, lead_neg;  /* alpha_1, beta_1 (1 when there are none) */
    float gamma_pos, gamma_neg, clip;
    float pos_floor_x, neg_clip_x, neg_floor_x; /* thresholds on x, see apl_derive */
    float ln_eps, one_minus_eps;
    int npos, nneg; /* leading coefficients per side */
    int focus;      /* aplcl_params.focus_grad */
} apl_consts;
#define APL_CONSTS_BYTES (4 * (2 * APL_MAX_TERMS + 10 + 3))

/* ---- the linear head's small scratch buffer (src/head.c, kernels/head.cl), in 64-bit slots ----
 * Float and acc_t values are stored through casts of the slot array. */
#define APL_HEAD_CHUNK_COUNTS 0 /* APL_COUNT_LEN: a chunk's counts (the loss pass writes them) */
#define APL_HEAD_CHUNK_LOSS 4   /* a chunk's reduced loss: a float in the slot's first 4 bytes */
#define APL_HEAD_CHUNK_LOSS_F (2 * APL_HEAD_CHUNK_LOSS) /* the same, as a float index */
#define APL_HEAD_RUN_COUNTS 5    /* APL_COUNT_LEN: the counts summed over the chunks so far */
#define APL_HEAD_ACC 10          /* two acc_t: the running loss sum and its compensation */
#define APL_HEAD_BATCH_COUNTS 12 /* APL_COUNT_LEN: the count pass over the whole batch (MEAN) */
#define APL_HEAD_SLOTS 16

/* ---- compile-time checks, in each language ---- */
#if defined(__OPENCL_VERSION__) || defined(APL_CUDA) /* the kernels: OpenCL C, or CUDA */
typedef char apl_check_consts_size[sizeof(apl_consts) == APL_CONSTS_BYTES ? 1 : -1];
#else
#include "aplcl.h"
_Static_assert(sizeof(apl_consts) == APL_CONSTS_BYTES, "apl_consts must have no padding");
_Static_assert(sizeof(float) == 4 && sizeof(int) == 4, "apl_consts needs 32-bit float and int");
_Static_assert(APL_COUNT_ELEMENTS == APLCL_COUNT_ELEMENTS &&
                   APL_COUNT_INVALID_TARGETS == APLCL_COUNT_INVALID_TARGETS &&
                   APL_COUNT_NONFINITE_LOGITS == APLCL_COUNT_NONFINITE_LOGITS &&
                   APL_COUNT_INVALID_WEIGHTS == APLCL_COUNT_INVALID_WEIGHTS &&
                   APL_COUNT_LEN == APLCL_COUNT_LEN,
               "the kernels' counter slots must be the public ones");
_Static_assert(APL_MAX_TERMS == APLCL_MAX_TERMS, "the kernels hold APLCL_MAX_TERMS coefficients");
#endif

#endif /* APL_ABI_H */
