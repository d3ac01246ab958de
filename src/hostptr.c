/* hostptr.c: the blocking host-pointer entry points (aplcl_host_compute, aplcl_host_compute_io).
 *
 * For callers without OpenCL code of their own. On a device that shares the host's memory
 * (CL_DEVICE_HOST_UNIFIED_MEMORY: CPUs, integrated GPUs) the caller's arrays are wrapped
 * (CL_MEM_USE_HOST_PTR) and the outputs made visible with a map and unmap: nothing is copied. Else,
 * and for arrays the wrap cannot take (misaligned, or outputs overlapping other arrays), inputs are
 * copied into device buffers that the context keeps across calls (grown when a call needs more)
 * and outputs read back. Either way each call has a buffer set of its own (a "slot", with its own
 * result buffers), so threads can share the context; the lock is held only to take and return a
 * slot and while enqueueing (apl_compute_call). The kernel work is that of aplcl_compute_io.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* One call's buffers: copies of inputs and outputs (copy path) and the reduced loss and counts. */
typedef struct apl_host_slot {
    struct apl_host_slot *next;
    cl_mem buf[4]; /* logits, targets, grad, elem_loss copies (copy path), grown on demand */
    size_t cap[4]; /* their sizes in bytes */
    cl_mem res_loss, res_cnt;
} apl_host_slot;

enum { S_X, S_T, S_G, S_L };

static void slot_free(apl_host_slot *s) {
    cl_mem ms[] = {s->buf[0], s->buf[1], s->buf[2], s->buf[3], s->res_loss, s->res_cnt};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    free(s);
}

void apl_host_slots_free(aplcl_ctx *ctx) {
    while (ctx->host_slots) {
        apl_host_slot *s = ctx->host_slots;
        ctx->host_slots = s->next;
        slot_free(s);
    }
}

/* An idle slot of the context, or a new one (its result buffers made). NULL: *err says why. */
static apl_host_slot *slot_take(aplcl_ctx *ctx, cl_int *err) {
    apl_lock(ctx);
    apl_host_slot *s = ctx->host_slots;
    if (s)
        ctx->host_slots = s->next;
    apl_unlock(ctx);
    if (s)
        return s;
    if (!(s = (apl_host_slot *)calloc(1, sizeof *s))) {
        *err = CL_OUT_OF_HOST_MEMORY;
        return NULL;
    }
    size_t acc = ctx->has_fp64 ? sizeof(cl_double) : sizeof(cl_float);
    s->res_loss = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, acc, NULL, err);
    if (*err == CL_SUCCESS)
        s->res_cnt = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE,
                                    APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, err);
    if (*err != CL_SUCCESS) {
        slot_free(s);
        return NULL;
    }
    return s;
}

static void slot_give(aplcl_ctx *ctx, apl_host_slot *s) {
    apl_lock(ctx);
    s->next = ctx->host_slots;
    ctx->host_slots = s;
    apl_unlock(ctx);
}

/* The slot's copy buffer k with at least `bytes`, reallocated when smaller. */
static cl_mem slot_buf(aplcl_ctx *ctx, apl_host_slot *s, int k, size_t bytes, cl_int *err) {
    if (s->buf[k] && s->cap[k] >= bytes)
        return s->buf[k];
    if (s->buf[k])
        clReleaseMemObject(s->buf[k]);
    s->cap[k] = 0;
    s->buf[k] = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, bytes, NULL, err);
    if (*err == CL_SUCCESS)
        s->cap[k] = bytes;
    return s->buf[k];
}

/* The call's arrays: [0] logits, [1] targets, [2] grad, [3] elem_loss (NULL: not given). */
typedef struct {
    void *ptr[4];
    size_t bytes[4];
} host_arrays;

static int ranges_meet(const host_arrays *a, int i, int j) {
    uintptr_t bi = (uintptr_t)a->ptr[i], bj = (uintptr_t)a->ptr[j];
    return bi < bj + a->bytes[j] && bj < bi + a->bytes[i];
}

/* Whether the caller's arrays can be wrapped: the device shares host memory, every pointer is
 * aligned to its element (the kernels' vector loads need no more; a base less aligned than
 * CL_DEVICE_MEM_BASE_ADDR_ALIGN is still correct, the driver may copy it), and no output overlaps
 * another array except the exact in-place gradient. Else the copy path keeps copy semantics. */
static int can_wrap(const aplcl_ctx *ctx, const host_arrays *a, const size_t elem[4]) {
    if (!ctx->host_unified) /* asked once, at context creation */
        return 0;
    for (int i = 0; i < 4; ++i)
        if (a->ptr[i] && (uintptr_t)a->ptr[i] % elem[i])
            return 0;
    for (int o = 2; o < 4; ++o) {
        if (!a->ptr[o])
            continue;
        for (int i = 0; i < 4; ++i) {
            if (i == o || !a->ptr[i] || !ranges_meet(a, i, o))
                continue;
            int in_place = o == 2 && i == 0 && a->ptr[0] == a->ptr[2];
            if (!in_place)
                return 0;
        }
    }
    return 1;
}

/* Wraps the arrays in buffers (m[k]; m[2] == m[0] in place) and enqueues the computation. */
static cl_int wrap_inputs(aplcl_ctx *ctx, const host_arrays *a, cl_mem m[4]) {
    cl_int err = CL_SUCCESS;
    int in_place = a->ptr[2] && a->ptr[2] == a->ptr[0];
    cl_mem_flags fx = (in_place ? CL_MEM_READ_WRITE : CL_MEM_READ_ONLY) | CL_MEM_USE_HOST_PTR;
    m[0] = clCreateBuffer(ctx->context, fx, a->bytes[0], a->ptr[0], &err);
    if (err == CL_SUCCESS)
        m[1] = clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | CL_MEM_USE_HOST_PTR, a->bytes[1],
                              a->ptr[1], &err);
    for (int k = 2; k < 4 && err == CL_SUCCESS; ++k) {
        if (!a->ptr[k])
            continue;
        if (k == 2 && in_place) {
            clRetainMemObject(m[0]);
            m[2] = m[0];
        } else {
            m[k] = clCreateBuffer(ctx->context, CL_MEM_WRITE_ONLY | CL_MEM_USE_HOST_PTR,
                                  a->bytes[k], a->ptr[k], &err);
        }
    }
    return err;
}

/* Copy path: the slot's buffers, inputs written without blocking (events in ev[0..1]). */
static cl_int copy_inputs(aplcl_ctx *ctx, apl_host_slot *s, const host_arrays *a, cl_mem m[4],
                          cl_event ev[2]) {
    cl_int err = CL_SUCCESS;
    for (int k = 0; k < 4 && err == CL_SUCCESS; ++k)
        if (a->ptr[k]) {
            m[k] = slot_buf(ctx, s, k, a->bytes[k], &err);
            if (err == CL_SUCCESS)
                clRetainMemObject(m[k]); /* the call releases what it holds, as when wrapping */
            else
                m[k] = NULL;
        }
    for (int k = 0; k < 2 && err == CL_SUCCESS; ++k)
        err = clEnqueueWriteBuffer(ctx->queue, m[k], CL_FALSE, 0, a->bytes[k], a->ptr[k], 0, NULL,
                                   &ev[k]);
    return err;
}

/* After the computation (`done`): outputs to the caller's arrays (a map and unmap of each wrapped
 * output, a read of each copied one), the loss and counts read; waits for all of it. */
static cl_int finish_outputs(aplcl_ctx *ctx, apl_host_slot *s, const host_arrays *a, cl_mem m[4],
                             int wrapped, cl_event done, void *loss_acc, size_t acc,
                             cl_ulong cnt[APLCL_COUNT_LEN]) {
    cl_event ev[4] = {NULL, NULL, NULL, NULL};
    int nev = 0;
    cl_int err = clEnqueueReadBuffer(ctx->queue, s->res_cnt, CL_FALSE, 0,
                                     APLCL_COUNT_LEN * sizeof(cl_ulong), cnt, 1, &done, &ev[nev++]);
    if (err == CL_SUCCESS)
        err = clEnqueueReadBuffer(ctx->queue, s->res_loss, CL_FALSE, 0, acc, loss_acc, 1, &done,
                                  &ev[nev++]);
    for (int k = 2; k < 4 && err == CL_SUCCESS; ++k) {
        if (!a->ptr[k])
            continue;
        if (!wrapped) {
            err = clEnqueueReadBuffer(ctx->queue, m[k], CL_FALSE, 0, a->bytes[k], a->ptr[k], 1,
                                      &done, &ev[nev++]);
            continue;
        }
        /* Mapping a CL_MEM_USE_HOST_PTR buffer makes the caller's memory hold the results (a
         * no-op where the device used that memory itself); the unmap releases the mapping. */
        cl_event mapped = NULL;
        void *p = clEnqueueMapBuffer(ctx->queue, m[k], CL_FALSE, CL_MAP_READ, 0, a->bytes[k], 1,
                                     &done, &mapped, &err);
        if (err == CL_SUCCESS)
            err = clEnqueueUnmapMemObject(ctx->queue, m[k], p, 1, &mapped, &ev[nev++]);
        if (mapped)
            clReleaseEvent(mapped);
    }
    cl_int werr = nev ? clWaitForEvents((cl_uint)nev, ev) : CL_SUCCESS;
    for (int i = 0; i < nev; ++i)
        clReleaseEvent(ev[i]);
    return err != CL_SUCCESS ? err : werr;
}

aplcl_status aplcl_host_compute_io(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                                   aplcl_host_io *hio) {
    if (!ctx || !p || !hio)
        return APLCL_ERR_NULL_ARGUMENT;
    hio->loss = 0.0; /* also what an empty batch or an error leaves */
    memset(hio->counts, 0, sizeof hio->counts);
    bool empty = apl_empty(rows, cols);
    aplcl_dtype dtype = hio->dtype;
    aplcl_target_format fmt = hio->target_format;
    const void *logits = hio->logits, *targets = hio->targets;
    void *grad = hio->grad;
    float *elem_loss = hio->elem_loss;
    const aplcl_weights *w = &hio->weights;
    if (!empty && (!logits || !targets))
        return APLCL_ERR_NULL_ARGUMENT;
    if (w->weight && (unsigned)w->kind > APLCL_WEIGHT_ROW)
        return APLCL_ERR_INVALID_PARAMS;
    if ((unsigned)dtype >= APL_NUM_DTYPES)
        return APLCL_ERR_INVALID_PARAMS;
    if (fmt != APLCL_TARGET_F32 && fmt != APLCL_TARGET_U8)
        return APLCL_ERR_INVALID_TARGET_FORMAT;
    aplcl_status st = apl_check_shape_params(rows, cols, sizeof(float), p);
    if (st != APLCL_SUCCESS || empty)
        return st;
    size_t n = rows * cols;
    size_t elem[4] = {apl_dtype_bytes(dtype), fmt == APLCL_TARGET_U8 ? 1 : sizeof(float),
                      apl_dtype_bytes(dtype), sizeof(float)};
    host_arrays a = {{(void *)logits, (void *)targets, grad, elem_loss}, {0, 0, 0, 0}};
    for (int k = 0; k < 4; ++k)
        a.bytes[k] = n * elem[k];

    cl_int err = CL_SUCCESS;
    cl_mem m[4] = {NULL, NULL, NULL, NULL};
    cl_event in_ev[2] = {NULL, NULL};
    cl_event done = NULL;
    int enqueued = 0;
    cl_mem wm[2] = {NULL, NULL}; /* pos_weight, weight: copied at creation, this call's own */
    apl_host_slot *s = slot_take(ctx, &err);
    int wrapped = can_wrap(ctx, &a, elem);
    if (s)
        err = wrapped ? wrap_inputs(ctx, &a, m) : copy_inputs(ctx, s, &a, m, in_ev);
    if (err == CL_SUCCESS)
        err = apl_host_weight_bufs(ctx, w, rows, cols, wm);
    if (err != CL_SUCCESS) {
        apl_set_cl_error(err);
        st = err == CL_OUT_OF_HOST_MEMORY ? APLCL_ERR_OUT_OF_HOST_MEMORY : APLCL_ERR_OPENCL;
        goto out;
    }
    aplcl_io io = aplcl_io_default();
    io.dtype = dtype;
    io.logits = m[0];
    io.targets.format = fmt;
    io.targets.data = m[1];
    io.grad = m[2];
    io.elem_loss = m[3];
    io.weights.pos_weight = wm[0];
    io.weights.weight = wm[1];
    io.weights.kind = w->kind;
    apl_results res = {s->res_loss, s->res_cnt};
    enqueued = 1; /* from here a failure may leave work behind (a part of the computation) */
    /* the buffers are this call's own, sized above: the checks of aplcl_compute_io hold */
    st = apl_compute_call(ctx, p, rows, cols, &io, &res, wrapped ? 0 : 2, in_ev, &done);
    if (st != APLCL_SUCCESS)
        goto out;

    cl_ulong cnt[APLCL_COUNT_LEN];
    cl_double loss_d = 0.0;
    cl_float loss_f = 0.0f;
    size_t acc = ctx->has_fp64 ? sizeof loss_d : sizeof loss_f;
    err = finish_outputs(ctx, s, &a, m, wrapped, done,
                         ctx->has_fp64 ? (void *)&loss_d : (void *)&loss_f, acc, cnt);
    if (err != CL_SUCCESS) {
        apl_set_cl_error(err);
        st = APLCL_ERR_OPENCL;
        goto out;
    }
    hio->loss = ctx->has_fp64 ? loss_d : (double)loss_f;
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        hio->counts[k] = cnt[k];
    if (cnt[APLCL_COUNT_INVALID_TARGETS])
        st = APLCL_ERR_INVALID_TARGET;
    else if (cnt[APLCL_COUNT_NONFINITE_LOGITS])
        st = APLCL_ERR_NONFINITE_LOGIT;
    else if (cnt[APLCL_COUNT_INVALID_WEIGHTS])
        st = APLCL_ERR_INVALID_WEIGHT;
out:
    /* A failure once something was enqueued (the copies, part of the computation, the reads)
     * leaves work that uses the slot and the caller's arrays: let it end before they are reused
     * or handed back. Only on errors, so the whole queue is simplest. */
    if (st != APLCL_SUCCESS && st != APLCL_ERR_INVALID_TARGET && st != APLCL_ERR_NONFINITE_LOGIT &&
        st != APLCL_ERR_INVALID_WEIGHT && (enqueued || in_ev[0]))
        clFinish(ctx->queue);
    if (done)
        clReleaseEvent(done);
    for (int k = 0; k < 2; ++k)
        if (in_ev[k])
            clReleaseEvent(in_ev[k]);
    for (int k = 0; k < 4; ++k)
        if (m[k])
            clReleaseMemObject(m[k]);
    for (int k = 0; k < 2; ++k)
        if (wm[k])
            clReleaseMemObject(wm[k]);
    if (s)
        slot_give(ctx, s);
    return st;
}

aplcl_status aplcl_host_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                                const float *logits, const float *targets, float *grad,
                                float *elem_loss, double *loss) {
    aplcl_host_io io;
    memset(&io, 0, sizeof io);
    io.dtype = APLCL_DTYPE_F32;
    io.logits = logits;
    io.target_format = APLCL_TARGET_F32;
    io.targets = targets;
    io.grad = grad;
    io.elem_loss = elem_loss;
    aplcl_status st = aplcl_host_compute_io(ctx, p, rows, cols, &io);
    if (loss && (st == APLCL_SUCCESS || st == APLCL_ERR_INVALID_TARGET ||
                 st == APLCL_ERR_NONFINITE_LOGIT || st == APLCL_ERR_INVALID_WEIGHT))
        *loss = io.loss;
    return st;
}
