/* hostptr.c: the blocking host-pointer entry points (aplcl_host_compute, _u8).
 *
 * For callers without OpenCL code of their own: copies inputs into temporary device buffers, runs
 * the computation (as aplcl_compute, into result slots of its own so that threads can share the
 * context), reads the outputs back, and turns the kernel's counters into a status. Engines that
 * care about allocation and copies use aplcl_compute directly.
 */
#include "internal.h"

#include <string.h>

static aplcl_status host_compute_any(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                     size_t cols, const float *logits, const void *targets,
                                     aplcl_target_format fmt, float *grad, float *elem_loss,
                                     double *loss) {
    if (!ctx || !p || !logits || !targets)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = apl_check_shape_params(rows, cols, sizeof(float), p);
    if (st != APLCL_SUCCESS)
        return st;
    size_t n = rows * cols;
    size_t tbytes = fmt == APLCL_TARGET_U8 ? 1 : sizeof(float);

    /* This call's own copies and result slots: another thread's call on ctx cannot touch them
     * (the context's result buffers would be rewritten by the next call before the reads). */
    size_t acc = ctx->has_fp64 ? sizeof(cl_double) : sizeof(cl_float);
    cl_int err = CL_SUCCESS;
    cl_mem b_x = NULL, b_t = NULL, b_g = NULL, b_l = NULL;
    apl_results res = {NULL, NULL};
    cl_event done = NULL;
    cl_mem_flags in = CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR;
    b_x = clCreateBuffer(ctx->context, in, n * sizeof(float), (void *)logits, &err);
    if (err == CL_SUCCESS)
        b_t = clCreateBuffer(ctx->context, in, n * tbytes, (void *)targets, &err);
    if (err == CL_SUCCESS && grad)
        b_g = clCreateBuffer(ctx->context, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS && elem_loss)
        b_l = clCreateBuffer(ctx->context, CL_MEM_WRITE_ONLY, n * sizeof(float), NULL, &err);
    if (err == CL_SUCCESS)
        res.loss = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, acc, NULL, &err);
    if (err == CL_SUCCESS)
        res.cnt = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE,
                                 APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, &err);
    if (err != CL_SUCCESS) {
        apl_set_cl_error(err);
        st = APLCL_ERR_OPENCL;
        goto out;
    }
    aplcl_io io = aplcl_io_default();
    io.logits = b_x;
    io.targets.format = fmt;
    io.targets.data = b_t;
    io.grad = b_g;
    io.elem_loss = b_l;
    /* the buffers are this call's own, sized above: the checks of aplcl_compute_io hold */
    st = apl_compute_call(ctx, p, rows, cols, &io, &res, 0, NULL, &done);
    if (st != APLCL_SUCCESS)
        goto out;

    /* Blocking reads, each waiting on the launch (the queue may be out-of-order). */
    cl_ulong cnt[APLCL_COUNT_LEN];
    cl_double loss_d = 0.0;
    cl_float loss_f = 0.0f;
    if (grad)
        err = clEnqueueReadBuffer(ctx->queue, b_g, CL_TRUE, 0, n * sizeof(float), grad, 1, &done,
                                  NULL);
    if (err == CL_SUCCESS && elem_loss)
        err = clEnqueueReadBuffer(ctx->queue, b_l, CL_TRUE, 0, n * sizeof(float), elem_loss, 1,
                                  &done, NULL);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(ctx->queue, res.cnt, CL_TRUE, 0, sizeof cnt, cnt, 1, &done, NULL);
    if (err == CL_SUCCESS && loss)
        err =
            clEnqueueReadBuffer(ctx->queue, res.loss, CL_TRUE, 0, acc,
                                ctx->has_fp64 ? (void *)&loss_d : (void *)&loss_f, 1, &done, NULL);
    if (err != CL_SUCCESS) {
        apl_set_cl_error(err);
        st = APLCL_ERR_OPENCL;
        goto out;
    }
    if (loss)
        *loss = ctx->has_fp64 ? loss_d : (double)loss_f;
    apl_lock(ctx);
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        ctx->last_counts[k] = cnt[k];
    apl_unlock(ctx);
    if (cnt[APLCL_COUNT_INVALID_TARGETS])
        st = APLCL_ERR_INVALID_TARGET;
    else if (cnt[APLCL_COUNT_NONFINITE_LOGITS])
        st = APLCL_ERR_NONFINITE_LOGIT;
out:
    if (done)
        clReleaseEvent(done);
    cl_mem ms[] = {b_x, b_t, b_g, b_l, res.loss, res.cnt};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    return st;
}

aplcl_status aplcl_host_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                                const float *logits, const float *targets, float *grad,
                                float *elem_loss, double *loss) {
    return host_compute_any(ctx, p, rows, cols, logits, targets, APLCL_TARGET_F32, grad, elem_loss,
                            loss);
}

aplcl_status aplcl_host_compute_u8(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                                   const float *logits, const uint8_t *targets, float *grad,
                                   float *elem_loss, double *loss) {
    return host_compute_any(ctx, p, rows, cols, logits, targets, APLCL_TARGET_U8, grad, elem_loss,
                            loss);
}
