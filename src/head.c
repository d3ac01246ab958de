/* head.c: the linear head, logits = X W^T + b followed by APL, in row chunks of bounded scratch.
 *
 * [MEAN by device count: the batch's target count, apl_enqueue_count] then per chunk: bias
 * broadcast -> CLBlast SGEMM (column-major forms, see blas_temp) -> apl_enqueue (loss and gradient
 * over the chunk's logits, unchecked: the whole call was checked once) -> fixed-order loss
 * accumulation -> [MEAN by device count: gradient scale] -> dX and dW SGEMMs -> db column sums.
 * A call holds the context's lock from planning to its last enqueue (call.c), so threads may share
 * a head. The small kernels are kernels/head.cl, a program of their own (embedded, binary-cached,
 * built once per head). Not here: the loss itself (enqueue.c). Nothing here waits on the host
 * except aplcl_head_create.
 */
#include "head_internal.h"

#include <clblast_c.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The small kernels are kernels/head.cl (the APL_PROGRAM_HEAD file list of program.c, after the
 * common prelude); APL_LOCAL and APL_FP64 come as -D options, the context's values. */

static aplcl_status cl_fail(cl_int err) {
    apl_set_cl_error(err);
    return APLCL_ERR_OPENCL;
}

aplcl_status head_blas_fail(CLBlastStatusCode s) {
    apl_set_cl_error((cl_int)s);
    return APLCL_ERR_BLAS;
}

aplcl_head_io aplcl_head_io_default(void) {
    aplcl_head_io io;
    memset(&io, 0, sizeof io);
    io.targets.format = APLCL_TARGET_F32;
    return io;
}

/* ---- create / destroy ---- */

static aplcl_status build_program(aplcl_head *h) {
    aplcl_ctx *ctx = h->ctx;
    char opts[96];
    snprintf(opts, sizeof opts, "-D APL_LOCAL=%zu -D APL_FP64=%d", ctx->local_size, ctx->has_fp64);
    aplcl_status st = apl_build_program(ctx, APL_PROGRAM_HEAD, opts, &h->program);
    if (st != APLCL_SUCCESS)
        return st;
    struct {
        cl_kernel *k;
        const char *name;
    } ks[] = {{&h->k_bias, "head_bias"},
              {&h->k_colsum, "head_colsum"},
              {&h->k_scale, "head_scale"},
              {&h->k_acc, "head_acc"}};
    cl_int err;
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; ++i) {
        *ks[i].k = clCreateKernel(h->program, ks[i].name, &err);
        if (err != CL_SUCCESS)
            return cl_fail(err);
    }
    return APLCL_SUCCESS;
}

/* CLBlast compiles its SGEMM program on its first call per context: do it now, on a 1x1x1
 * product in a throwaway buffer, so that aplcl_head_compute never compiles. */
static aplcl_status warm_up_clblast(aplcl_head *h) {
    cl_int err;
    cl_mem m = clCreateBuffer(h->ctx->context, CL_MEM_READ_WRITE, 4 * sizeof(cl_float), NULL, &err);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    cl_command_queue q = h->ctx->queue;
    cl_event ev = NULL;
    CLBlastStatusCode s =
        CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeNo, 1, 1, 1, 1.0f,
                     m, 0, 1, m, 1, 1, 0.0f, m, 2, 1, &q, &ev);
    if (ev)
        clReleaseEvent(ev);
    clReleaseMemObject(m); /* deleted once the product has run */
    return s == CLBlastSuccess ? APLCL_SUCCESS : head_blas_fail(s);
}

/* Heads alive in the process. CLBlast keeps every program it compiled in a process-wide cache
 * keyed by OpenCL context, and each program retains its context, so a destroyed context stayed
 * alive (about 1.8 MB per context + head cycle on PoCL). Its C API can only clear the whole cache
 * (CLBlastClearCache), which would make other live heads recompile: so it is cleared when the last
 * head goes. */
static atomic_size_t live_heads;

void aplcl_head_destroy(aplcl_head *h) {
    if (!h)
        return;
    if (atomic_fetch_sub(&live_heads, 1) == 1)
        CLBlastClearCache();
    cl_kernel ks[] = {h->k_bias, h->k_colsum, h->k_scale, h->k_acc};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; ++i)
        if (ks[i])
            clReleaseKernel(ks[i]);
    if (h->program)
        clReleaseProgram(h->program);
    if (h->chunk)
        clReleaseMemObject(h->chunk);
    if (h->temp)
        clReleaseMemObject(h->temp);
    if (h->small)
        clReleaseMemObject(h->small);
    free(h);
}

aplcl_status aplcl_head_create(aplcl_head **out, aplcl_ctx *ctx) {
    if (!out)
        return APLCL_ERR_NULL_ARGUMENT;
    *out = NULL;
    if (!ctx)
        return APLCL_ERR_NULL_ARGUMENT;
    apl_set_build_log(NULL, 0);
    aplcl_head *h = (aplcl_head *)calloc(1, sizeof *h);
    if (!h)
        return APLCL_ERR_OUT_OF_HOST_MEMORY;
    atomic_fetch_add(&live_heads, 1); /* aplcl_head_destroy takes it back, on failure too */
    h->ctx = ctx;
    h->local = ctx->local_size;
    cl_command_queue_properties props = 0;
    cl_ulong max_alloc = 0;
    cl_int err = clGetCommandQueueInfo(ctx->queue, CL_QUEUE_PROPERTIES, sizeof props, &props, NULL);
    if (err == CL_SUCCESS)
        err = clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc,
                              &max_alloc, NULL);
    aplcl_status st = err == CL_SUCCESS ? APLCL_SUCCESS : cl_fail(err);
    h->ooo = (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) != 0;
    h->max_alloc = max_alloc > SIZE_MAX ? SIZE_MAX : (size_t)max_alloc;
    /* Under the context's lock, like the loss programs' lazy builds: one build at a time per
     * context (the binary cache), and CLBlast releases before its issue 486 fix (2023) mishandle
     * two threads storing the same program in its cache. */
    apl_lock(ctx);
    if (st == APLCL_SUCCESS)
        st = build_program(h);
    if (st == APLCL_SUCCESS)
        st = warm_up_clblast(h);
    apl_unlock(ctx);
    if (st != APLCL_SUCCESS) {
        aplcl_head_destroy(h);
        return st;
    }
    *out = h;
    return APLCL_SUCCESS;
}

aplcl_status aplcl_head_get_stats(const aplcl_head *h, aplcl_head_stats *stats) {
    if (!h || !stats)
        return APLCL_ERR_NULL_ARGUMENT;
    apl_lock(h->ctx); /* aplcl_head_compute updates them under it */
    *stats = h->stats;
    apl_unlock(h->ctx);
    return APLCL_SUCCESS;
}

/* ---- argument checks (nothing enqueued) ---- */

static aplcl_status head_check(const aplcl_head *h, const aplcl_params *p, size_t n, size_t d,
                               size_t c, const aplcl_head_io *io, cl_uint nw, const cl_event *w) {
    if (!h || !p || !io || !io->x || !io->w || !io->targets.data)
        return APLCL_ERR_NULL_ARGUMENT;
    if (nw > 0 && !w)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = head_check_dims(n, d, c);
    if (st != APLCL_SUCCESS)
        return st;
    if (n == SIZE_MAX)
        return APLCL_ERR_SIZE_OVERFLOW; /* CSR reads n + 1 pointers */
    if ((st = aplcl_params_validate(p)) != APLCL_SUCCESS)
        return st;

    enum { X, W, B, TDATA, TAUX, DX, DW, DB, LOSS, COUNTS, POSW, WT, NBUF };
    apl_buf bufs[NBUF] = {
        {io->x, io->x_offset, n * d, sizeof(cl_float), false, true, NULL, 0, 0},
        {io->w, io->w_offset, c * d, sizeof(cl_float), false, true, NULL, 0, 0},
        {io->b, io->b_offset, c, sizeof(cl_float), false, false, NULL, 0, 0},
        {0},
        {0},
        {io->dx, io->dx_offset, n * d, sizeof(cl_float), true, true, NULL, 0, 0},
        {io->dw, io->dw_offset, c * d, sizeof(cl_float), true, true, NULL, 0, 0},
        {io->db, io->db_offset, c, sizeof(cl_float), true, false, NULL, 0, 0},
        {io->loss, io->loss_offset, 1, sizeof(cl_float), true, false, NULL, 0, 0},
        {io->counts, io->counts_offset, APLCL_COUNT_LEN, sizeof(cl_ulong), true, false, NULL, 0, 0},
        {0},
        {0},
    };
    if ((st = apl_target_bufs(&io->targets, n, c, &bufs[TDATA], &bufs[TAUX])) != APLCL_SUCCESS)
        return st;
    if ((st = apl_weight_bufs(&io->weights, n, c, &bufs[POSW], &bufs[WT])) != APLCL_SUCCESS)
        return st;
    if ((st = apl_check_bufs(h->ctx, bufs, NBUF, X, X)) != APLCL_SUCCESS) /* no overlap at all */
        return st;
    return apl_check_waits(h->ctx, nw, w);
}

/* ---- scratch ---- */

static aplcl_status realloc_buf(aplcl_head *h, cl_mem *m, size_t *held, size_t bytes) {
    if (*m)
        clReleaseMemObject(*m); /* freed once queued work that uses it is done */
    *m = NULL;
    *held = 0;
    if (bytes == 0)
        return APLCL_SUCCESS;
    cl_int err;
    *m = clCreateBuffer(h->ctx->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS) {
        *m = NULL;
        return cl_fail(err);
    }
    *held = bytes;
    return APLCL_SUCCESS;
}

static size_t held_bytes(const aplcl_head *h) {
    return h->chunk_bytes + h->temp_bytes + (h->small ? APLCL_HEAD_FIXED_SCRATCH : 0);
}

/* Grows what is too small; shrinks everything to this call's need when the head holds more
 * than the budget. */
static aplcl_status ensure_scratch(aplcl_head *h, const head_plan *pl, size_t c, size_t budget) {
    size_t want_chunk = pl->rows * c * sizeof(cl_float);
    bool shrink = held_bytes(h) > budget;
    aplcl_status st = APLCL_SUCCESS;
    if (!h->small) {
        size_t unused = 0;
        st = realloc_buf(h, &h->small, &unused, APLCL_HEAD_FIXED_SCRATCH);
    }
    if (st == APLCL_SUCCESS &&
        (h->chunk_bytes < want_chunk || (shrink && h->chunk_bytes > want_chunk)))
        st = realloc_buf(h, &h->chunk, &h->chunk_bytes, want_chunk);
    if (st == APLCL_SUCCESS && (h->temp_bytes < pl->temp || (shrink && h->temp_bytes > pl->temp)))
        st = realloc_buf(h, &h->temp, &h->temp_bytes, pl->temp);
    size_t held = held_bytes(h);
    if (held > h->stats.peak_held_bytes)
        h->stats.peak_held_bytes = held;
    h->stats.held_bytes = held;
    return st;
}

/* ---- the enqueue chain: every step waits on the previous one ---- */

typedef struct {
    aplcl_head *h;
    cl_command_queue q;
    cl_event dep;           /* the last step's event */
    cl_int err;             /* first OpenCL error */
    CLBlastStatusCode blas; /* first CLBlast error */
    aplcl_status st;        /* first error of aplcl_compute_io */
} chain;

static bool ok(const chain *ch) {
    return ch->err == CL_SUCCESS && ch->blas == CLBlastSuccess && ch->st == APLCL_SUCCESS;
}

/* ev (NULL: nothing was enqueued) becomes the step the next one waits for. */
static void advance(chain *ch, cl_event ev) {
    if (!ev)
        return;
    if (ch->dep)
        clReleaseEvent(ch->dep);
    ch->dep = ev;
}

/* Launches a with `items` work-items' worth of work (rounded up to whole groups, at most
 * HEAD_MAX_GROUPS: the kernels loop over the rest). */
static void launch(chain *ch, const apl_args *a, size_t items) {
    if (!ok(ch))
        return;
    if (a->err != CL_SUCCESS) {
        ch->err = a->err;
        return;
    }
    size_t L = ch->h->local, groups = items / L + (items % L != 0);
    if (groups == 0)
        groups = 1;
    if (groups > HEAD_MAX_GROUPS)
        groups = HEAD_MAX_GROUPS;
    size_t global = groups * L;
    cl_event ev = NULL;
    cl_int e = clEnqueueNDRangeKernel(ch->q, a->k, 1, NULL, &global, &L, 1, &ch->dep, &ev);
    if (e != CL_SUCCESS) {
        ch->err = e;
        return;
    }
    advance(ch, ev);
}

static void launch_single(chain *ch, const apl_args *a) {
    if (!ok(ch))
        return;
    if (a->err != CL_SUCCESS) {
        ch->err = a->err;
        return;
    }
    size_t one = 1;
    cl_event ev = NULL;
    cl_int e = clEnqueueNDRangeKernel(ch->q, a->k, 1, NULL, &one, &one, 1, &ch->dep, &ev);
    if (e != CL_SUCCESS) {
        ch->err = e;
        return;
    }
    advance(ch, ev);
}

/* Column-major C = op(A) op(B) + beta C through CLBlast with the head's temporary buffer.
 * CLBlast takes no wait list: an in-order queue orders it, an out-of-order one gets a barrier. */
static void gemm(chain *ch, CLBlastTranspose ta, CLBlastTranspose tb, size_t m, size_t n, size_t k,
                 cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
                 cl_mem c, size_t c_off, size_t ldc) {
    if (!ok(ch))
        return;
    aplcl_head *h = ch->h;
    if (h->ooo) {
        cl_int e = clEnqueueBarrierWithWaitList(ch->q, 1, &ch->dep, NULL);
        if (e != CL_SUCCESS) {
            ch->err = e;
            return;
        }
    }
    cl_event ev = NULL;
    CLBlastStatusCode s = CLBlastSgemmWithTempBuffer(
        CLBlastLayoutColMajor, ta, tb, m, n, k, 1.0f, a, a_off, lda, b, b_off, ldb, beta, c, c_off,
        ldc, &ch->q, &ev, h->temp_bytes ? h->temp : NULL);
    if (s != CLBlastSuccess) {
        if (ev)
            clReleaseEvent(ev);
        ch->blas = s;
        return;
    }
    advance(ch, ev);
}

/* The targets of rows [r0, r0 + rows): the same buffers at later offsets. CSR row pointers count
 * from the index buffer's offset, so the indices need no shift. */
static aplcl_targets chunk_targets(const aplcl_targets *t, size_t r0, size_t c) {
    aplcl_targets s = *t;
    size_t full = apl_target_label_count(t, c); /* a label window's rows are full rows */
    size_t words = full / 32 + (full % 32 != 0);
    switch (t->format) {
    case APLCL_TARGET_F32:
    case APLCL_TARGET_U8:
        s.data_offset += r0 * c;
        break;
    case APLCL_TARGET_BITS:
        s.data_offset += r0 * words;
        if (s.ignore)
            s.ignore_offset += r0 * words;
        break;
    default:
        s.data_offset += r0;
        break;
    }
    return s;
}

aplcl_status aplcl_head_compute(aplcl_head *h, const aplcl_params *p, size_t n, size_t d, size_t c,
                                const aplcl_head_io *io, size_t budget, cl_uint num_wait_events,
                                const cl_event *wait_events, cl_event *event) {
    if (h && p && io && d > 0 && apl_empty(n, c)) { /* aplcl.h, "empty shapes" */
        aplcl_status st = aplcl_params_validate(p);
        if (st == APLCL_SUCCESS && num_wait_events > 0 && !wait_events)
            st = APLCL_ERR_NULL_ARGUMENT;
        if (st == APLCL_SUCCESS && (unsigned)io->targets.format > APLCL_TARGET_CSR)
            st = APLCL_ERR_INVALID_TARGET_FORMAT;
        if (st != APLCL_SUCCESS)
            return st;
        return apl_empty_call(h->ctx, io->loss, io->loss_offset, io->counts, io->counts_offset,
                              num_wait_events, wait_events, event);
    }
    aplcl_status st = head_check(h, p, n, d, c, io, num_wait_events, wait_events);
    if (st != APLCL_SUCCESS)
        return st;
    aplcl_ctx *ctx = h->ctx;
    const aplcl_targets *t = &io->targets;
    bool grad = io->dx || io->dw || io->db;
    bool mean = p->reduction == APLCL_REDUCE_MEAN;
    bool has_norm = p->normalizer > 0.0;
    bool ignorable = t->format == APLCL_TARGET_F32 || t->format == APLCL_TARGET_U8 ||
                     (t->format == APLCL_TARGET_BITS && t->ignore);
    bool count_pass = grad && mean && !has_norm && ignorable;

    /* Each chunk is reduced as a SUM; the whole batch's MEAN is applied here: to the gradient
     * through grad_scale when the denominator is known now, by head_scale after the count pass
     * otherwise, and to the loss by head_acc. */
    aplcl_params pp = *p;
    if (mean) {
        pp.reduction = APLCL_REDUCE_SUM;
        pp.normalizer = 0.0;
        if (grad && has_norm)
            pp.grad_scale = (float)((double)p->grad_scale / p->normalizer);
        else if (grad && !ignorable)
            pp.grad_scale = (float)((double)p->grad_scale / ((double)n * (double)c));
        else if (grad)
            pp.grad_scale = 1.0f;
        if (!isfinite(pp.grad_scale))
            return APLCL_ERR_INVALID_PARAMS;
    }
    if ((st = aplcl_params_validate(&pp)) != APLCL_SUCCESS)
        return st;

    apl_lock(ctx); /* from here on the call shares the context's and the head's state */
    head_plan pl;
    st = head_make_plan(h, n, d, c, head_offsets_of(io), budget, &pl);
    /* the loss program for this format is built on first use; do it before anything is enqueued */
    const apl_variant *v;
    apl_set_build_log(NULL, 0);
    if (st == APLCL_SUCCESS)
        st = apl_variant_get_w(ctx, APLCL_DTYPE_F32, t->format,
                               io->weights.pos_weight || io->weights.weight, &v);
    if (st == APLCL_SUCCESS)
        st = ensure_scratch(h, &pl, c, budget);
    chain ch = {h, ctx->queue, NULL, CL_SUCCESS, CLBlastSuccess, APLCL_SUCCESS};
    if (st == APLCL_SUCCESS) { /* start: the caller's wait list and the context's previous call */
        apl_waits w;
        st = apl_waits_init(&w, ctx, num_wait_events, wait_events);
        if (st == APLCL_SUCCESS)
            ch.err = clEnqueueMarkerWithWaitList(ch.q, w.n, w.n ? w.list : NULL, &ch.dep);
        apl_waits_free(&w);
        if (st == APLCL_SUCCESS && ch.err != CL_SUCCESS)
            st = cl_fail(ch.err);
    }
    if (st != APLCL_SUCCESS) {
        apl_unlock(ctx);
        return st;
    }

    if (count_pass && ok(&ch)) { /* the batch's non-ignored count, for head_scale */
        cl_event ev = NULL;
        ch.st = apl_enqueue_count(ctx, n, c, t, h->small, APL_HEAD_BATCH_COUNTS, 1, &ch.dep, &ev);
        advance(&ch, ev);
    }

    size_t chunks = 0;
    for (size_t r0 = 0; r0 < n && ok(&ch); r0 += pl.rows, ++chunks) {
        size_t rows = n - r0 < pl.rows ? n - r0 : pl.rows;
        size_t x_off = io->x_offset + r0 * d;
        /* logits = b broadcast + X W^T */
        if (io->b) {
            apl_args a = {h->k_bias, 0, CL_SUCCESS};
            apl_arg_ulong(&a, rows);
            apl_arg_ulong(&a, c);
            apl_arg_mem(&a, io->b);
            apl_arg_ulong(&a, io->b_offset);
            apl_arg_mem(&a, h->chunk);
            launch(&ch, &a, c);
        }
        gemm(&ch, CLBlastTransposeYes, CLBlastTransposeNo, c, rows, d, io->w, io->w_offset, d,
             io->x, x_off, d, io->b ? 1.0f : 0.0f, h->chunk, 0, c);
        /* loss and gradient over the chunk, the gradient in place */
        if (ok(&ch)) {
            aplcl_io cio = aplcl_io_default();
            cio.logits = h->chunk;
            cio.targets = chunk_targets(t, r0, c);
            cio.grad = grad ? h->chunk : NULL;
            cio.loss = h->small;
            cio.loss_offset = APL_HEAD_CHUNK_LOSS_F;
            cio.counts = h->small;
            cio.counts_offset = APL_HEAD_CHUNK_COUNTS;
            apl_chunk_weights(&cio, &io->weights, r0, c);
            cl_event ev = NULL;
            ch.st = apl_enqueue(ctx, &pp, rows, c, &cio, NULL, 1, &ch.dep, &ev);
            advance(&ch, ev);
        }
        {
            apl_args a = {h->k_acc, 0, CL_SUCCESS};
            apl_arg_int(&a, r0 == 0);
            apl_arg_int(&a, r0 + rows == n);
            apl_arg_int(&a, mean);
            if (ctx->has_fp64) {
                cl_double norm = has_norm ? p->normalizer : 0.0;
                apl_arg(&a, sizeof norm, &norm);
            } else {
                cl_float norm = has_norm ? (cl_float)p->normalizer : 0.0f;
                apl_arg(&a, sizeof norm, &norm);
            }
            apl_arg_mem(&a, h->small);
            apl_arg_mem(&a, io->loss);
            apl_arg_ulong(&a, io->loss_offset);
            apl_arg_mem(&a, io->counts);
            apl_arg_ulong(&a, io->counts_offset);
            launch_single(&ch, &a);
        }
        if (!grad)
            continue;
        if (count_pass) {
            apl_args a = {h->k_scale, 0, CL_SUCCESS};
            cl_float gs = p->grad_scale;
            apl_arg_ulong(&a, rows * c);
            apl_arg_mem(&a, h->chunk);
            apl_arg_mem(&a, h->small);
            apl_arg(&a, sizeof gs, &gs);
            launch(&ch, &a, rows * c);
        }
        if (io->dx) {
            size_t blk = head_dx_block(pl.rows, d); /* as blas_temp sized it */
            for (size_t s0 = 0; s0 < rows; s0 += blk) {
                size_t m = rows - s0 < blk ? rows - s0 : blk;
                gemm(&ch, CLBlastTransposeNo, CLBlastTransposeNo, d, m, c, io->w, io->w_offset, d,
                     h->chunk, s0 * c, c, 0.0f, io->dx, io->dx_offset + (r0 + s0) * d, d);
            }
        }
        if (io->dw)
            gemm(&ch, CLBlastTransposeNo, CLBlastTransposeYes, d, c, rows, io->x, x_off, d,
                 h->chunk, 0, c, 1.0f, io->dw, io->dw_offset, d);
        if (io->db) {
            apl_args a = {h->k_colsum, 0, CL_SUCCESS};
            apl_arg_ulong(&a, rows);
            apl_arg_ulong(&a, c);
            apl_arg_mem(&a, h->chunk);
            apl_arg_mem(&a, io->db);
            apl_arg_ulong(&a, io->db_offset);
            launch(&ch, &a, c);
        }
    }

    if (ok(&ch)) {
        h->stats.chunk_rows = pl.rows;
        h->stats.chunks = chunks;
        h->stats.call_scratch_bytes = pl.need;
        h->stats.blas_temp_bytes = pl.temp;
        if (event) {
            clRetainEvent(ch.dep);
            *event = ch.dep;
        }
        st = APLCL_SUCCESS;
    } else if (ch.err != CL_SUCCESS) {
        st = cl_fail(ch.err);
    } else {
        st = ch.blas != CLBlastSuccess ? head_blas_fail(ch.blas) : ch.st;
    }
    /* The context's next call waits for everything enqueued so far (scratch reuse). */
    apl_chain(ctx, ch.dep);
    apl_unlock(ctx);
    return st;
}
