/* compute.c: the device entry points, aplcl_compute_io and aplcl_compute, and aplcl_ctx_prepare.
 *
 * After apl_check_io (check_io.c) accepts a call, apl_compute_call runs it under the context's
 * lock: the internal enqueue (enqueue.c), after the context's previous call, whose place in the
 * event chain it then takes (call.c). Nothing here waits on the host.
 */
#include "internal.h"

#include <string.h>

aplcl_io aplcl_io_default(void) {
    aplcl_io io;
    memset(&io, 0, sizeof io);
    io.dtype = APLCL_DTYPE_F32;
    io.targets.format = APLCL_TARGET_F32;
    return io;
}

aplcl_status aplcl_ctx_prepare(aplcl_ctx *ctx, aplcl_dtype dtype, aplcl_target_format format) {
    if (!ctx)
        return APLCL_ERR_NULL_ARGUMENT;
    if ((unsigned)dtype >= APL_NUM_DTYPES)
        return APLCL_ERR_INVALID_PARAMS;
    if ((unsigned)format >= APL_NUM_TFMTS)
        return APLCL_ERR_INVALID_TARGET_FORMAT;
    apl_set_build_log(NULL, 0);
    const apl_variant *v;
    apl_lock(ctx);
    aplcl_status st = apl_variant_get(ctx, dtype, format, &v);
    apl_unlock(ctx);
    return st;
}

aplcl_status apl_compute_call(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                              const aplcl_io *io, const apl_results *res, cl_uint nw,
                              const cl_event *wait, cl_event *event) {
    apl_lock(ctx);
    apl_waits w;
    cl_event done = NULL;
    aplcl_status st = apl_waits_init(&w, ctx, nw, wait);
    if (st == APLCL_SUCCESS)
        st = apl_enqueue(ctx, p, rows, cols, io, res, w.n, w.list, &done);
    apl_waits_free(&w);
    if (st == APLCL_SUCCESS && event) {
        clRetainEvent(done);
        *event = done;
    }
    apl_chain(ctx, done); /* also after a failure part-way: later calls wait for that part */
    apl_unlock(ctx);
    return st;
}

aplcl_status apl_empty_call(aplcl_ctx *ctx, cl_mem loss, size_t loss_offset, cl_mem counts,
                            size_t counts_offset, cl_uint nw, const cl_event *wait,
                            cl_event *event) {
    apl_buf bufs[2] = {
        {loss, loss_offset, 1, sizeof(cl_float), true, false, NULL, 0, 0},
        {counts, counts_offset, APLCL_COUNT_LEN, sizeof(cl_ulong), true, false, NULL, 0, 0},
    };
    aplcl_status st = apl_check_bufs(ctx, bufs, 2, 0, 0);
    if (st == APLCL_SUCCESS)
        st = apl_check_waits(ctx, nw, wait);
    if (st != APLCL_SUCCESS)
        return st;
    apl_lock(ctx);
    apl_waits w;
    cl_event done = NULL, next = NULL;
    cl_int err = CL_SUCCESS;
    st = apl_waits_init(&w, ctx, nw, wait);
    if (st == APLCL_SUCCESS) {
        const cl_float zero_f = 0.0f;
        const cl_ulong zero_u = 0;
        cl_uint n = w.n;
        const cl_event *list = n ? w.list : NULL; /* OpenCL wants NULL with no events */
        if (loss) {
            err = clEnqueueFillBuffer(ctx->queue, loss, &zero_f, sizeof zero_f,
                                      loss_offset * sizeof zero_f, sizeof zero_f, n, list, &done);
            n = 1, list = &done;
        }
        if (err == CL_SUCCESS && counts) {
            err = clEnqueueFillBuffer(ctx->queue, counts, &zero_u, sizeof zero_u,
                                      counts_offset * sizeof zero_u,
                                      APLCL_COUNT_LEN * sizeof zero_u, n, list, &next);
            if (next) {
                if (done)
                    clReleaseEvent(done);
                done = next;
            }
        }
        if (err == CL_SUCCESS && !loss && !counts) /* still an event that orders, as any call */
            err = clEnqueueMarkerWithWaitList(ctx->queue, n, list, &done);
        if (err != CL_SUCCESS) {
            apl_set_cl_error(err);
            st = APLCL_ERR_OPENCL;
        }
    }
    apl_waits_free(&w);
    if (st == APLCL_SUCCESS && event) {
        clRetainEvent(done);
        *event = done;
    }
    apl_chain(ctx, done);
    apl_unlock(ctx);
    return st;
}

aplcl_status aplcl_compute_io(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                              const aplcl_io *io, cl_uint num_wait_events,
                              const cl_event *wait_events, cl_event *event) {
    if (ctx && p && io && apl_empty(rows, cols)) {
        aplcl_status st = aplcl_params_validate(p);
        if (st == APLCL_SUCCESS && num_wait_events > 0 && !wait_events)
            st = APLCL_ERR_NULL_ARGUMENT;
        if (st == APLCL_SUCCESS && (unsigned)io->dtype >= APL_NUM_DTYPES)
            st = APLCL_ERR_INVALID_PARAMS;
        if (st == APLCL_SUCCESS && (unsigned)io->targets.format >= APL_NUM_TFMTS)
            st = APLCL_ERR_INVALID_TARGET_FORMAT;
        if (st != APLCL_SUCCESS)
            return st;
        return apl_empty_call(ctx, io->loss, io->loss_offset, io->counts, io->counts_offset,
                              num_wait_events, wait_events, event);
    }
    aplcl_status st = apl_check_io(ctx, p, rows, cols, io, num_wait_events, wait_events);
    if (st != APLCL_SUCCESS)
        return st;
    return apl_compute_call(ctx, p, rows, cols, io, NULL, num_wait_events, wait_events, event);
}

aplcl_status aplcl_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                           cl_mem logits, size_t logits_offset, cl_mem targets,
                           size_t targets_offset, aplcl_target_format target_format, cl_mem grad,
                           size_t grad_offset, cl_mem elem_loss, size_t elem_loss_offset,
                           cl_mem loss, size_t loss_offset, cl_mem counts, size_t counts_offset,
                           cl_uint num_wait_events, const cl_event *wait_events, cl_event *event) {
    /* The dense formats only: the others need more than one buffer (aplcl_compute_io). */
    if (target_format != APLCL_TARGET_F32 && target_format != APLCL_TARGET_U8)
        return APLCL_ERR_INVALID_TARGET_FORMAT;
    aplcl_io io = aplcl_io_default();
    io.logits = logits;
    io.logits_offset = logits_offset;
    io.targets.format = target_format;
    io.targets.data = targets;
    io.targets.data_offset = targets_offset;
    io.grad = grad;
    io.grad_offset = grad_offset;
    io.elem_loss = elem_loss;
    io.elem_loss_offset = elem_loss_offset;
    io.loss = loss;
    io.loss_offset = loss_offset;
    io.counts = counts;
    io.counts_offset = counts_offset;
    return aplcl_compute_io(ctx, p, rows, cols, &io, num_wait_events, wait_events, event);
}
