/* head_internal.h: what the linear head's files share (head.c: create, checks, enqueue;
 * head_plan.c: rows per chunk for a budget). Not part of the public API.
 */
#ifndef APLCL_HEAD_INTERNAL_H
#define APLCL_HEAD_INTERNAL_H

#include "internal.h"

#include <clblast_c.h>

/* Layout of the small scratch buffer, in cl_ulong slots (float and acc_t views are cast). */
#define S_LOSS_F 6 /* float index: aplcl_compute_io's chunk loss (ulong slot 3) */
#define S_RUN 4    /* running counts, APLCL_COUNT_LEN slots (compute_io writes slots 0..2) */
#define S_TOTAL 7  /* the count pass's non-ignored total */
#define S_ACC 8    /* running loss sum and its compensation, two acc_t */
#define S_PART 16  /* count-pass partials, one per group */
#define HEAD_COUNT_GROUPS 256
#define HEAD_MAX_GROUPS 4096
/* Row counts are tried in multiples of this past the bisection (CLBlast pads to its tile, 64 or
 * 128 on most devices, so a tile multiple can need less than a few rows fewer), and the dX
 * product's row blocks are multiples of it. */
#define HEAD_ROW_GRANULE 64

#if (S_PART + HEAD_COUNT_GROUPS) * 8 > APLCL_HEAD_FIXED_SCRATCH
#error "the small scratch layout outgrew APLCL_HEAD_FIXED_SCRATCH"
#endif

/* The plan of the last call, reused while shape and budget stay the same (the CLBlast size
 * queries behind it read CLBlast's tuning database). */
typedef struct {
    size_t n, d, c, budget;
    bool w_moved, dw_moved; /* w_offset, dw_offset non-zero (CLBlast then copies W, dW) */
    size_t rows, need, temp;
    bool valid;
} head_plan;

struct aplcl_head {
    aplcl_ctx *ctx;
    cl_program program;
    cl_kernel k_bias, k_colsum, k_scale, k_count, k_count_total, k_acc;
    size_t local;
    bool ooo;         /* out-of-order queue: fence CLBlast calls with barriers */
    size_t max_alloc; /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    cl_mem chunk, temp, small;
    size_t chunk_bytes, temp_bytes; /* sizes held (small: APLCL_HEAD_FIXED_SCRATCH when set) */
    head_plan plan;
    aplcl_head_stats stats;
};

/* Offsets that change CLBlast's temporary-buffer needs. */
typedef struct {
    bool w_moved, dw_moved;
} head_offsets;

aplcl_status head_blas_fail(CLBlastStatusCode s);
aplcl_status head_check_dims(size_t n, size_t d, size_t c);
head_offsets head_offsets_of(const aplcl_head_io *io);
/* Rows per block of the dX product (see head_plan.c). */
size_t head_dx_block(size_t rows, size_t d);
/* The plan for a shape and budget (cached in h->plan). */
aplcl_status head_make_plan(aplcl_head *h, size_t n, size_t d, size_t c, head_offsets o,
                            size_t budget, head_plan *out);

#endif /* APLCL_HEAD_INTERNAL_H */
