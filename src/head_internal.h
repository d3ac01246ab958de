/* head_internal.h: what the linear head's files share (head.c: create, checks, enqueue;
 * head_plan.c: rows per chunk for a budget). Not part of the public API.
 */
#ifndef APLCL_HEAD_INTERNAL_H
#define APLCL_HEAD_INTERNAL_H

#include "aplcl_head.h"
#include "internal.h"

#include <clblast_c.h>

_Static_assert(APL_HEAD_SLOTS * 8 <= APLCL_HEAD_FIXED_SCRATCH,
               "the head's small scratch layout outgrew APLCL_HEAD_FIXED_SCRATCH");

/* The small scratch buffer's layout (APL_HEAD_* slots) is kernels/apl_abi.h, shared with
 * kernels/head.cl; it checks that the layout fits APLCL_HEAD_FIXED_SCRATCH. */
/* Most work-groups of one small-kernel launch (the kernels loop over the rest). */
#define HEAD_MAX_GROUPS 4096
/* Row counts are tried in multiples of this past the bisection (CLBlast pads to its tile, 64 or
 * 128 on most devices, so a tile multiple can need less than a few rows fewer), and the dX
 * product's row blocks are multiples of it. */
#define HEAD_ROW_GRANULE 64

/* The plan of the last call, reused while shape and budget stay the same (the CLBlast size
 * queries behind it read CLBlast's tuning database). */
typedef struct {
    size_t n, d, c, budget;
    bool w_moved, dw_moved; /* w_offset, dw_offset non-zero (CLBlast then copies W, dW) */
    size_t rows, need, temp;
    bool valid;
} head_plan;

/* Set by aplcl_head_create, read-only afterwards, except the scratch buffers and their sizes, plan
 * and stats, which aplcl_head_compute changes with the context's lock held. */
struct aplcl_head {
    aplcl_ctx *ctx;
    cl_program program;
    cl_kernel k_bias, k_colsum, k_scale, k_acc;
    size_t local;
    bool ooo;         /* out-of-order queue: fence CLBlast calls with barriers */
    size_t max_alloc; /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    cl_mem chunk, temp, small;
    size_t chunk_bytes, temp_bytes; /* sizes held (small: APLCL_HEAD_FIXED_SCRATCH when set) */
    /* the last plan: aplcl_head_compute updates it under the lock, aplcl_head_plan without
     * (hence its threading rule in aplcl.h) */
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
