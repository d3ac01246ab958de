/* check_io.c: validation of a device call's arguments before anything is enqueued.
 *
 * Building blocks shared by aplcl_compute_io and the linear head: each buffer's context and size
 * (offset + extent), overlaps between written and other ranges, the extents each target format
 * needs, the wait list's contexts; and apl_check_io, which puts them together for
 * aplcl_compute_io. Queries OpenCL object info only; enqueues nothing, never blocks.
 */
#include "internal.h"

#include <limits.h>

static aplcl_status cl_fail(cl_int err) {
    apl_set_cl_error(err);
    return APLCL_ERR_OPENCL;
}

size_t apl_dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }

/* Context, overflow and size of one buffer; resolves its byte range in its root allocation. */
static aplcl_status check_buf(const aplcl_ctx *ctx, apl_buf *b) {
    cl_context c = NULL;
    cl_int err = clGetMemObjectInfo(b->m, CL_MEM_CONTEXT, sizeof c, &c, NULL);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    if (c != ctx->context)
        return APLCL_ERR_CONTEXT_MISMATCH;
    if (b->off > SIZE_MAX - b->count || b->off + b->count > SIZE_MAX / b->elem)
        return APLCL_ERR_SIZE_OVERFLOW;
    if (b->int_extent && b->off + b->count > (size_t)INT_MAX)
        return APLCL_ERR_SIZE_OVERFLOW;
    size_t size = 0, sub_offset = 0;
    cl_mem parent = NULL;
    clGetMemObjectInfo(b->m, CL_MEM_SIZE, sizeof size, &size, NULL);
    if ((b->off + b->count) * b->elem > size)
        return APLCL_ERR_BUFFER_TOO_SMALL;
    clGetMemObjectInfo(b->m, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    clGetMemObjectInfo(b->m, CL_MEM_OFFSET, sizeof sub_offset, &sub_offset, NULL);
    b->root = parent ? parent : b->m;
    b->begin = sub_offset + b->off * b->elem;
    b->end = b->begin + b->count * b->elem;
    return APLCL_SUCCESS;
}

aplcl_status apl_check_bufs(const aplcl_ctx *ctx, apl_buf *bufs, int n, int same_a, int same_b) {
    aplcl_status st;
    for (int i = 0; i < n; ++i)
        if (bufs[i].m && (st = check_buf(ctx, &bufs[i])) != APLCL_SUCCESS)
            return st;
    for (int i = 0; i < n; ++i)
        for (int j = i + 1; j < n; ++j) {
            const apl_buf *a = &bufs[i], *b = &bufs[j];
            if (!a->m || !b->m || (!a->written && !b->written))
                continue; /* reads may share */
            if (a->root != b->root || a->begin >= b->end || b->begin >= a->end)
                continue;
            bool allowed = ((i == same_a && j == same_b) || (i == same_b && j == same_a)) &&
                           a->begin == b->begin && a->end == b->end;
            if (!allowed)
                return APLCL_ERR_BUFFER_OVERLAP;
        }
    return APLCL_SUCCESS;
}

aplcl_status apl_target_bufs(const aplcl_targets *t, size_t rows, size_t cols, apl_buf *data,
                             apl_buf *aux) {
    /* a label window reads cols labels from label_offset of rows of `full` labels: the
     * extents below are those of the whole structure */
    size_t full = apl_target_label_count(t, cols);
    if (t->label_offset > full || cols > full - t->label_offset)
        return APLCL_ERR_INVALID_WINDOW;
    bool dense = t->format == APLCL_TARGET_F32 || t->format == APLCL_TARGET_U8;
    if (dense && (full != cols || t->label_offset != 0))
        return APLCL_ERR_INVALID_WINDOW;
    size_t words = full / 32 + (full % 32 != 0);
    *data = (apl_buf){t->data, t->data_offset, 0, 1, false, false, NULL, 0, 0};
    *aux = (apl_buf){NULL, 0, 0, 1, false, false, NULL, 0, 0};
    switch (t->format) {
    case APLCL_TARGET_F32:
        data->count = rows * cols, data->elem = sizeof(cl_float);
        return APLCL_SUCCESS;
    case APLCL_TARGET_U8:
        data->count = rows * cols, data->elem = sizeof(cl_uchar);
        return APLCL_SUCCESS;
    case APLCL_TARGET_BITS:
        if (rows > SIZE_MAX / words)
            return APLCL_ERR_SIZE_OVERFLOW;
        data->count = rows * words, data->elem = sizeof(cl_uint);
        *aux = (apl_buf){
            t->ignore, t->ignore_offset, rows * words, sizeof(cl_uint), false, false, NULL, 0, 0};
        return APLCL_SUCCESS;
    case APLCL_TARGET_CSR:
        if (full > UINT32_MAX)
            return APLCL_ERR_SIZE_OVERFLOW; /* indices are 32-bit */
        if (rows == SIZE_MAX)
            return APLCL_ERR_SIZE_OVERFLOW; /* rows + 1 pointers */
        if (t->nnz > 0 && !t->indices)
            return APLCL_ERR_NULL_ARGUMENT;
        data->count = rows + 1, data->elem = sizeof(cl_ulong);
        *aux = (apl_buf){t->nnz ? t->indices : NULL,
                         t->indices_offset,
                         t->nnz,
                         sizeof(cl_uint),
                         false,
                         false,
                         NULL,
                         0,
                         0};
        return APLCL_SUCCESS;
    }
    return APLCL_ERR_INVALID_TARGET_FORMAT;
}

aplcl_status apl_weight_bufs(const aplcl_weights *weights, size_t rows, size_t cols, apl_buf *pw,
                             apl_buf *w) {
    aplcl_weight_kind kind = weights->kind;
    size_t count = apl_weight_count(kind, rows, cols);
    if (weights->weight && kind != APLCL_WEIGHT_ELEMENT && kind != APLCL_WEIGHT_LABEL &&
        kind != APLCL_WEIGHT_ROW)
        return APLCL_ERR_INVALID_PARAMS;
    *pw = (apl_buf){apl_wbuf(weights->pos_weight),
                    weights->pos_weight_offset,
                    cols,
                    sizeof(cl_float),
                    false,
                    false,
                    NULL,
                    0,
                    0};
    *w = (apl_buf){apl_wbuf(weights->weight),
                   weights->weight_offset,
                   count,
                   sizeof(cl_float),
                   false,
                   false,
                   NULL,
                   0,
                   0};
    return APLCL_SUCCESS;
}

aplcl_status apl_check_waits(const aplcl_ctx *ctx, cl_uint num_wait, const cl_event *wait) {
    if (num_wait > 0 && !wait)
        return APLCL_ERR_NULL_ARGUMENT;
    for (cl_uint i = 0; i < num_wait; ++i) {
        cl_context c = NULL;
        cl_int err = clGetEventInfo(wait[i], CL_EVENT_CONTEXT, sizeof c, &c, NULL);
        if (err != CL_SUCCESS)
            return cl_fail(err);
        if (c != ctx->context)
            return APLCL_ERR_CONTEXT_MISMATCH;
    }
    return APLCL_SUCCESS;
}

aplcl_status apl_check_io(const aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                          const aplcl_io *io, cl_uint num_wait, const cl_event *wait) {
    if (!ctx || !p || !io || !io->logits || !io->targets.data)
        return APLCL_ERR_NULL_ARGUMENT;
    if (num_wait > 0 && !wait)
        return APLCL_ERR_NULL_ARGUMENT;
    if (io->dtype != APLCL_DTYPE_F32 && io->dtype != APLCL_DTYPE_F16 &&
        io->dtype != APLCL_DTYPE_BF16)
        return APLCL_ERR_INVALID_PARAMS;
    aplcl_status st = apl_check_shape_params(rows, cols, sizeof(cl_float), p);
    if (st != APLCL_SUCCESS)
        return st;
    if (io->grad_accumulate != 0 && io->grad_accumulate != 1)
        return APLCL_ERR_INVALID_PARAMS;
    size_t n = rows * cols, xb = apl_dtype_bytes(io->dtype);

    enum { LOGITS, TDATA, TAUX, GRAD, ELEM, LOSS, COUNTS, POSW, WEIGHT, NBUF };
    apl_buf bufs[NBUF] = {
        {io->logits, io->logits_offset, n, xb, false, false, NULL, 0, 0},
        {0},
        {0},
        {io->grad, io->grad_offset, n, xb, true, false, NULL, 0, 0},
        {io->elem_loss, io->elem_loss_offset, n, sizeof(cl_float), true, false, NULL, 0, 0},
        {io->loss, io->loss_offset, 1, sizeof(cl_float), true, false, NULL, 0, 0},
        {io->counts, io->counts_offset, APLCL_COUNT_LEN, sizeof(cl_ulong), true, false, NULL, 0, 0},
        {0},
        {0},
    };
    if ((st = apl_weight_bufs(&io->weights, rows, cols, &bufs[POSW], &bufs[WEIGHT])) !=
        APLCL_SUCCESS)
        return st;
    if ((st = apl_target_bufs(&io->targets, rows, cols, &bufs[TDATA], &bufs[TAUX])) !=
        APLCL_SUCCESS)
        return st;
    /* the one overlap allowed: the gradient exactly over the logits, when it does not add */
    if ((st = apl_check_bufs(ctx, bufs, NBUF, LOGITS, io->grad_accumulate ? LOGITS : GRAD)) !=
        APLCL_SUCCESS)
        return st;
    return apl_check_waits(ctx, num_wait, wait);
}
