/* check_io.c: validation of a device call's arguments before anything is enqueued.
 *
 * Shapes, parameters, formats, every buffer's context, size (offset + extent), the overlaps
 * between written and other ranges (only an exact in-place gradient is allowed), and the wait
 * list's contexts. Queries OpenCL object info only; enqueues nothing, never blocks.
 */
#include "internal.h"

/* A buffer argument resolved to its root allocation, for the overlap check. */
typedef struct {
    cl_mem root;
    size_t begin, end; /* bytes in root */
    bool written;
} apl_span;

static aplcl_status cl_fail(cl_int err) {
    apl_set_cl_error(err);
    return APLCL_ERR_OPENCL;
}

static aplcl_status check_buffer(const aplcl_ctx *ctx, cl_mem m, size_t offset, size_t count,
                                 size_t elem, bool written, apl_span *span) {
    cl_context c = NULL;
    cl_int err = clGetMemObjectInfo(m, CL_MEM_CONTEXT, sizeof c, &c, NULL);
    if (err != CL_SUCCESS) return cl_fail(err);
    if (c != ctx->context) return APLCL_ERR_CONTEXT_MISMATCH;
    if (offset > SIZE_MAX - count || offset + count > SIZE_MAX / elem)
        return APLCL_ERR_SIZE_OVERFLOW;
    size_t size = 0, sub_offset = 0;
    cl_mem parent = NULL;
    clGetMemObjectInfo(m, CL_MEM_SIZE, sizeof size, &size, NULL);
    if ((offset + count) * elem > size) return APLCL_ERR_BUFFER_TOO_SMALL;
    clGetMemObjectInfo(m, CL_MEM_ASSOCIATED_MEMOBJECT, sizeof parent, &parent, NULL);
    clGetMemObjectInfo(m, CL_MEM_OFFSET, sizeof sub_offset, &sub_offset, NULL);
    span->root = parent ? parent : m;
    span->begin = sub_offset + offset * elem;
    span->end = span->begin + count * elem;
    span->written = written;
    return APLCL_SUCCESS;
}

/* One buffer argument: memory, offset and extent in elements of `elem` bytes. */
typedef struct {
    cl_mem m;
    size_t off, count, elem;
    bool written;
} buf_arg;

static bool spans_overlap(const apl_span *a, const apl_span *b) {
    return a->root == b->root && a->begin < b->end && b->begin < a->end;
}

size_t apl_dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }

aplcl_status apl_check_io(const aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                          const aplcl_io *io, cl_uint num_wait, const cl_event *wait) {
    if (!ctx || !p || !io || !io->logits || !io->targets.data) return APLCL_ERR_NULL_ARGUMENT;
    if (num_wait > 0 && !wait) return APLCL_ERR_NULL_ARGUMENT;
    if (io->dtype != APLCL_DTYPE_F32 && io->dtype != APLCL_DTYPE_F16 &&
        io->dtype != APLCL_DTYPE_BF16)
        return APLCL_ERR_INVALID_PARAMS;
    aplcl_status st = apl_check_shape(rows, cols, sizeof(cl_float));
    if (st != APLCL_SUCCESS) return st;
    if ((st = aplcl_params_validate(p)) != APLCL_SUCCESS) return st;
    if (io->grad_accumulate != 0 && io->grad_accumulate != 1) return APLCL_ERR_INVALID_PARAMS;
    const aplcl_targets *t = &io->targets;
    size_t n = rows * cols, words = cols / 32 + (cols % 32 != 0);
    if (rows == SIZE_MAX) return APLCL_ERR_SIZE_OVERFLOW; /* CSR reads rows + 1 pointers */

    enum { LOGITS, TDATA, TAUX, GRAD, ELEM, LOSS, COUNTS, NSPAN };
    buf_arg args[NSPAN] = {
        {io->logits, io->logits_offset, n, apl_dtype_bytes(io->dtype), false},
        {t->data, t->data_offset, 0, 1, false},
        {NULL, 0, 0, 1, false},
        {io->grad, io->grad_offset, n, apl_dtype_bytes(io->dtype), true},
        {io->elem_loss, io->elem_loss_offset, n, sizeof(cl_float), true},
        {io->loss, io->loss_offset, 1, sizeof(cl_float), true},
        {io->counts, io->counts_offset, APLCL_COUNT_LEN, sizeof(cl_ulong), true},
    };
    switch (t->format) {
    case APLCL_TARGET_F32:
        args[TDATA].count = n, args[TDATA].elem = sizeof(cl_float);
        break;
    case APLCL_TARGET_U8:
        args[TDATA].count = n, args[TDATA].elem = sizeof(cl_uchar);
        break;
    case APLCL_TARGET_BITS:
        if (rows > SIZE_MAX / words) return APLCL_ERR_SIZE_OVERFLOW;
        args[TDATA].count = rows * words, args[TDATA].elem = sizeof(cl_uint);
        args[TAUX] = (buf_arg){t->ignore, t->ignore_offset, rows * words,
                                          sizeof(cl_uint), false};
        break;
    case APLCL_TARGET_CSR:
        if (cols > UINT32_MAX) return APLCL_ERR_SIZE_OVERFLOW; /* indices are 32-bit */
        if (t->nnz > 0 && !t->indices) return APLCL_ERR_NULL_ARGUMENT;
        args[TDATA].count = rows + 1, args[TDATA].elem = sizeof(cl_ulong);
        args[TAUX] = (buf_arg){t->nnz ? t->indices : NULL, t->indices_offset, t->nnz,
                                          sizeof(cl_uint), false};
        break;
    default:
        return APLCL_ERR_INVALID_TARGET_FORMAT;
    }

    apl_span spans[NSPAN];
    for (int i = 0; i < NSPAN; ++i) {
        if (!args[i].m) continue;
        st = check_buffer(ctx, args[i].m, args[i].off, args[i].count, args[i].elem,
                          args[i].written, &spans[i]);
        if (st != APLCL_SUCCESS) return st;
    }
    for (int i = 0; i < NSPAN; ++i)
        for (int j = i + 1; j < NSPAN; ++j) {
            if (!args[i].m || !args[j].m) continue;
            if (!spans[i].written && !spans[j].written) continue; /* two reads may share */
            if (!spans_overlap(&spans[i], &spans[j])) continue;
            bool in_place = i == LOGITS && j == GRAD && spans[i].begin == spans[j].begin &&
                            !io->grad_accumulate;
            if (!in_place) return APLCL_ERR_BUFFER_OVERLAP;
        }
    for (cl_uint i = 0; i < num_wait; ++i) {
        cl_context c = NULL;
        cl_int err = clGetEventInfo(wait[i], CL_EVENT_CONTEXT, sizeof c, &c, NULL);
        if (err != CL_SUCCESS) return cl_fail(err);
        if (c != ctx->context) return APLCL_ERR_CONTEXT_MISMATCH;
    }
    return APLCL_SUCCESS;
}
