/* compute.c: the device entry points, aplcl_compute_io and aplcl_compute.
 *
 * After apl_check_io (check_io.c) accepts the call, enqueues: [target count pass + its finalize,
 * only for MEAN without a normalizer when the count is not known on the host] -> fused
 * loss/gradient pass -> finalize. Calls on one context are chained through ctx->last because
 * they share the scratch buffers. Nothing here waits on the host.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static aplcl_status cl_fail(cl_int err) {
    apl_set_cl_error(err);
    return APLCL_ERR_OPENCL;
}

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
    return apl_variant_get(ctx, dtype, format, &v);
}

/* How `units` of work spread over groups: at most ctx->max_groups, per_item units per item.
 * A fixed function of the size and the device, so the reduction order is too. */
typedef struct {
    size_t groups, per_item;
} apl_split;

static apl_split split_work(const aplcl_ctx *ctx, size_t units) {
    size_t L = ctx->local_size;
    size_t items = units / L + (units % L != 0);
    size_t groups = items < ctx->max_groups ? items : ctx->max_groups;
    apl_split s;
    s.per_item = items / groups + (items % groups != 0);
    s.groups = items / s.per_item + (items % s.per_item != 0);
    return s;
}

typedef struct {
    apl_split loss;    /* over vector steps */
    apl_split count;   /* over elements (dense) or ignore-mask words (bits) */
    bool count_pass;   /* the MEAN denominator must be counted on the device first */
    double host_count; /* > 0: the MEAN denominator, known without looking (nothing ignorable) */
} apl_plan;

static apl_plan make_plan(const aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                          const aplcl_io *io) {
    apl_plan plan;
    memset(&plan, 0, sizeof plan);
    size_t vw = ctx->vector_width, n = rows * cols, words = cols / 32 + (cols % 32 != 0);
    aplcl_target_format f = io->targets.format;
    bool row_format = f == APLCL_TARGET_BITS || f == APLCL_TARGET_CSR;
    size_t steps = row_format ? rows * (cols / vw + (cols % vw != 0)) : n / vw + (n % vw != 0);
    plan.loss = split_work(ctx, steps);
    bool mean_by_count = io->grad && p->reduction == APLCL_REDUCE_MEAN && !(p->normalizer > 0.0);
    bool ignorable = f == APLCL_TARGET_F32 || f == APLCL_TARGET_U8 ||
                     (f == APLCL_TARGET_BITS && io->targets.ignore);
    if (mean_by_count && ignorable) {
        plan.count_pass = true;
        plan.count = split_work(ctx, f == APLCL_TARGET_BITS ? rows * words : n);
    } else if (mean_by_count) {
        plan.host_count = (double)n;
    }
    return plan;
}

static cl_int launch(aplcl_ctx *ctx, cl_kernel k, size_t groups, cl_uint nw, const cl_event *w,
                     cl_event *ev) {
    size_t local = ctx->local_size, global = groups * local;
    return clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &local, nw ? nw : 0,
                                  nw ? w : NULL, ev);
}

static cl_int run_finalize(aplcl_ctx *ctx, const apl_variant *v, size_t groups, int counts_only,
                           const aplcl_params *p, const aplcl_io *io, cl_event after,
                           cl_event *ev) {
    apl_args s = {v->finalize, 0, CL_SUCCESS};
    cl_uint g = (cl_uint)groups;
    apl_arg(&s, sizeof g, &g);
    apl_arg_mem(&s, ctx->partial_acc);
    apl_arg_mem(&s, ctx->partial_cnt);
    apl_arg_int(&s, counts_only);
    apl_arg_int(&s, p->reduction == APLCL_REDUCE_MEAN);
    if (ctx->has_fp64) {
        cl_double norm = p->normalizer;
        apl_arg(&s, sizeof norm, &norm);
    } else {
        cl_float norm = (cl_float)p->normalizer;
        apl_arg(&s, sizeof norm, &norm);
    }
    apl_arg_mem(&s, ctx->result_loss);
    apl_arg_mem(&s, ctx->result_cnt);
    apl_arg_mem(&s, counts_only ? NULL : io->loss);
    apl_arg_ulong(&s, io->loss_offset);
    apl_arg_mem(&s, counts_only ? NULL : io->counts);
    apl_arg_ulong(&s, io->counts_offset);
    return s.err != CL_SUCCESS ? s.err : launch(ctx, v->finalize, 1, 1, &after, ev);
}

static cl_int run_count(aplcl_ctx *ctx, const apl_variant *v, const apl_plan *plan, size_t rows,
                        size_t cols, const aplcl_io *io, cl_uint nw, const cl_event *w,
                        cl_event *ev) {
    const aplcl_targets *t = &io->targets;
    bool bits = t->format == APLCL_TARGET_BITS;
    size_t words = cols / 32 + (cols % 32 != 0);
    apl_args s = {v->count, 0, CL_SUCCESS};
    apl_arg_ulong(&s, bits ? rows * words : rows * cols);
    apl_arg_ulong(&s, rows);
    apl_arg_ulong(&s, cols);
    apl_arg_ulong(&s, plan->count.per_item);
    apl_arg_mem(&s, t->data);
    apl_arg_ulong(&s, t->data_offset);
    apl_arg_mem(&s, bits ? t->ignore : NULL);
    apl_arg_ulong(&s, bits ? t->ignore_offset : 0);
    apl_arg_mem(&s, ctx->partial_cnt);
    return s.err != CL_SUCCESS ? s.err : launch(ctx, v->count, plan->count.groups, nw, w, ev);
}

/* The constants apl_derive finds are reused while the parameters stay the same. */
static const apl_derived *derived_for(aplcl_ctx *ctx, const aplcl_params *p) {
    if (!ctx->has_derived || memcmp(&ctx->derived_for, p, sizeof *p) != 0) {
        apl_derive(p, &ctx->derived);
        ctx->derived_for = *p;
        ctx->has_derived = true;
    }
    return &ctx->derived;
}

static cl_int run_loss(aplcl_ctx *ctx, const apl_variant *v, const apl_plan *plan,
                       const aplcl_params *p, size_t rows, size_t cols, const aplcl_io *io,
                       cl_uint nw, const cl_event *w, cl_event *ev) {
    const apl_derived *d = derived_for(ctx, p);
    const aplcl_targets *t = &io->targets;
    cl_float8 cpos, cneg, reals;
    memset(&cpos, 0, sizeof cpos);
    memset(&cneg, 0, sizeof cneg);
    for (int j = 0; j < APLCL_MAX_TERMS; ++j) {
        cpos.s[j] = j < d->n_pos ? d->coef_pos[j] : 0.0f;
        cneg.s[j] = j < d->n_neg ? d->coef_neg[j] : 0.0f;
    }
    cl_int4 ints = {{d->n_pos, d->n_neg, p->focus_grad, 0}};
    reals.s[0] = p->gamma_pos;
    reals.s[1] = p->gamma_neg;
    reals.s[2] = p->clip;
    reals.s[3] = d->pos_floor_x;
    reals.s[4] = d->neg_clip_x;
    reals.s[5] = d->neg_floor_x;
    reals.s[6] = (cl_float)d->ln_eps;
    reals.s[7] = (cl_float)(1.0 - d->eps_d);
    cl_float2 leads = {{d->lead_pos, d->lead_neg}};
    /* The gradient multiplier when it is known now; after a count pass the kernel divides
     * grad_scale by the count itself. */
    double gmul = p->grad_scale;
    if (p->reduction == APLCL_REDUCE_MEAN && p->normalizer > 0.0)
        gmul /= p->normalizer;
    if (p->reduction == APLCL_REDUCE_MEAN && plan->host_count > 0.0)
        gmul /= plan->host_count;
    cl_float gm = (cl_float)gmul;
    cl_mem aux = t->format == APLCL_TARGET_CSR    ? (t->nnz ? t->indices : NULL)
                 : t->format == APLCL_TARGET_BITS ? t->ignore
                                                  : NULL;
    size_t aux_off = t->format == APLCL_TARGET_CSR    ? t->indices_offset
                     : t->format == APLCL_TARGET_BITS ? t->ignore_offset
                                                      : 0;

    apl_args s = {v->loss, 0, CL_SUCCESS};
    apl_arg_ulong(&s, rows * cols);
    apl_arg_ulong(&s, rows);
    apl_arg_ulong(&s, cols);
    apl_arg_ulong(&s, plan->loss.per_item);
    apl_arg_mem(&s, io->logits);
    apl_arg_ulong(&s, io->logits_offset);
    apl_arg_mem(&s, t->data);
    apl_arg_ulong(&s, t->data_offset);
    apl_arg_mem(&s, aux);
    apl_arg_ulong(&s, aux_off);
    apl_arg_ulong(&s, t->format == APLCL_TARGET_CSR ? t->nnz : 0);
    apl_arg_mem(&s, io->grad);
    apl_arg_ulong(&s, io->grad_offset);
    apl_arg_int(&s, io->grad_accumulate);
    apl_arg_mem(&s, io->elem_loss);
    apl_arg_ulong(&s, io->elem_loss_offset);
    apl_arg(&s, sizeof cpos, &cpos);
    apl_arg(&s, sizeof cneg, &cneg);
    apl_arg(&s, sizeof ints, &ints);
    apl_arg(&s, sizeof reals, &reals);
    apl_arg(&s, sizeof leads, &leads);
    apl_arg(&s, sizeof gm, &gm);
    apl_arg_int(&s, plan->count_pass);
    apl_arg_mem(&s, ctx->result_cnt);
    apl_arg_mem(&s, ctx->partial_acc);
    apl_arg_mem(&s, ctx->partial_cnt);
    return s.err != CL_SUCCESS ? s.err : launch(ctx, v->loss, plan->loss.groups, nw, w, ev);
}

aplcl_status aplcl_compute_io(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                              const aplcl_io *io, cl_uint num_wait_events,
                              const cl_event *wait_events, cl_event *event) {
    aplcl_status st = apl_check_io(ctx, p, rows, cols, io, num_wait_events, wait_events);
    if (st != APLCL_SUCCESS)
        return st;
    const apl_variant *v;
    if ((st = apl_variant_get(ctx, io->dtype, io->targets.format, &v)) != APLCL_SUCCESS)
        return st;
    apl_plan plan = make_plan(ctx, p, rows, cols, io);

    apl_waits w;
    if ((st = apl_waits_init(&w, ctx, num_wait_events, wait_events)) != APLCL_SUCCESS)
        return st;
    cl_uint nw = w.n;
    const cl_event *waits = w.list;

    cl_int err = CL_SUCCESS;
    cl_event ev_count = NULL, ev_count_fin = NULL, ev_loss = NULL, ev_fin = NULL;
    if (plan.count_pass) {
        err = run_count(ctx, v, &plan, rows, cols, io, nw, waits, &ev_count);
        if (err == CL_SUCCESS)
            err = run_finalize(ctx, v, plan.count.groups, 1, p, io, ev_count, &ev_count_fin);
        if (err == CL_SUCCESS)
            err = run_loss(ctx, v, &plan, p, rows, cols, io, 1, &ev_count_fin, &ev_loss);
    } else {
        err = run_loss(ctx, v, &plan, p, rows, cols, io, nw, waits, &ev_loss);
    }
    if (err == CL_SUCCESS)
        err = run_finalize(ctx, v, plan.loss.groups, 0, p, io, ev_loss, &ev_fin);
    apl_waits_free(&w);
    if (ev_count)
        clReleaseEvent(ev_count);
    if (ev_count_fin)
        clReleaseEvent(ev_count_fin);
    if (ev_loss)
        clReleaseEvent(ev_loss);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    if (ctx->last)
        clReleaseEvent(ctx->last);
    ctx->last = ev_fin; /* the context keeps one reference */
    if (event) {
        clRetainEvent(ev_fin);
        *event = ev_fin;
    }
    return APLCL_SUCCESS;
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
