/* enqueue.c: the internal, unchecked enqueue of one loss computation, and of the count pass alone.
 *
 * [target count pass + its finalize, only for MEAN without a normalizer when the count is not
 * known on the host] -> fused loss/gradient pass -> finalize, each waiting on the one before. The
 * public entry points (compute.c, hostptr.c) call it after their checks, the linear head (head.c)
 * per chunk; the caller holds the context's lock and chains the last event (call.c). Checks
 * nothing, never waits on the host.
 */
#include "internal.h"

#include <string.h>

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

/* What the count pass runs over: elements (dense), 32-bit words of the ignore mask (BITS). */
static size_t count_units(size_t rows, size_t cols, aplcl_target_format f) {
    return f == APLCL_TARGET_BITS ? rows * (cols / 32 + (cols % 32 != 0)) : rows * cols;
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
    size_t vw = ctx->vector_width, n = rows * cols;
    aplcl_target_format f = io->targets.format;
    bool row_format = f == APLCL_TARGET_BITS || f == APLCL_TARGET_CSR;
    size_t steps = row_format ? rows * (cols / vw + (cols % vw != 0)) : n / vw + (n % vw != 0);
    plan.loss = split_work(ctx, steps);
    bool mean_by_count = io->grad && p->reduction == APLCL_REDUCE_MEAN && !(p->normalizer > 0.0);
    bool ignorable = f == APLCL_TARGET_F32 || f == APLCL_TARGET_U8 ||
                     (f == APLCL_TARGET_BITS && io->targets.ignore);
    if (mean_by_count && ignorable) {
        plan.count_pass = true;
        plan.count = split_work(ctx, count_units(rows, cols, f));
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

/* The results of one finalize: the internal ones (res) and the caller's optional outputs. */
typedef struct {
    cl_mem res_loss, res_cnt;
    cl_mem loss, counts;
    size_t loss_offset, counts_offset;
} fin_out;

/* counts_only: after a count pass, only the counts are valid (and written). */
static cl_int run_finalize(aplcl_ctx *ctx, const apl_variant *v, size_t groups, int counts_only,
                           int mean, double normalizer, const fin_out *o, cl_event after,
                           cl_event *ev) {
    apl_args s = {v->reduce->finalize, 0, CL_SUCCESS};
    cl_uint g = (cl_uint)groups;
    apl_arg(&s, sizeof g, &g);
    apl_arg_mem(&s, ctx->partial_acc);
    apl_arg_mem(&s, ctx->partial_cnt);
    apl_arg_int(&s, counts_only);
    apl_arg_int(&s, mean);
    if (ctx->has_fp64) {
        cl_double norm = normalizer;
        apl_arg(&s, sizeof norm, &norm);
    } else {
        cl_float norm = (cl_float)normalizer;
        apl_arg(&s, sizeof norm, &norm);
    }
    apl_arg_mem(&s, o->res_loss);
    apl_arg_mem(&s, o->res_cnt);
    apl_arg_mem(&s, counts_only ? NULL : o->loss);
    apl_arg_ulong(&s, o->loss_offset);
    apl_arg_mem(&s, o->counts);
    apl_arg_ulong(&s, o->counts_offset);
    return s.err != CL_SUCCESS ? s.err : launch(ctx, v->reduce->finalize, 1, 1, &after, ev);
}

static cl_int run_count(aplcl_ctx *ctx, const apl_variant *v, apl_split count, size_t rows,
                        size_t cols, const aplcl_targets *t, cl_uint nw, const cl_event *w,
                        cl_event *ev) {
    bool bits = t->format == APLCL_TARGET_BITS;
    apl_args s = {v->reduce->count, 0, CL_SUCCESS};
    apl_arg_ulong(&s, count_units(rows, cols, t->format));
    apl_arg_ulong(&s, rows);
    apl_arg_ulong(&s, cols);
    apl_arg_ulong(&s, count.per_item);
    apl_arg_mem(&s, t->data);
    apl_arg_ulong(&s, t->data_offset);
    apl_arg_mem(&s, bits ? t->ignore : NULL);
    apl_arg_ulong(&s, bits ? t->ignore_offset : 0);
    apl_arg_mem(&s, ctx->partial_cnt);
    apl_arg_ulong(&s, apl_target_label_count(t, cols)); /* the label window */
    apl_arg_ulong(&s, t->label_offset);
    return s.err != CL_SUCCESS ? s.err : launch(ctx, v->reduce->count, count.groups, nw, w, ev);
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

/* The loss constants by name (kernels/apl_abi.h). */
static apl_consts loss_consts(const aplcl_params *p, const apl_derived *d) {
    apl_consts k;
    memset(&k, 0, sizeof k);
    for (int j = 0; j < APL_MAX_TERMS; ++j) {
        k.cpos[j] = j < d->n_pos ? d->coef_pos[j] : 0.0f;
        k.cneg[j] = j < d->n_neg ? d->coef_neg[j] : 0.0f;
    }
    k.lead_pos = d->lead_pos;
    k.lead_neg = d->lead_neg;
    k.gamma_pos = p->gamma_pos;
    k.gamma_neg = p->gamma_neg;
    k.clip = p->clip;
    k.pos_floor_x = d->pos_floor_x;
    k.neg_clip_x = d->neg_clip_x;
    k.neg_floor_x = d->neg_floor_x;
    k.ln_eps = (float)d->ln_eps;
    k.one_minus_eps = (float)(1.0 - d->eps_d);
    k.npos = d->n_pos;
    k.nneg = d->n_neg;
    k.focus = p->focus_grad;
    return k;
}

static cl_int run_loss(aplcl_ctx *ctx, const apl_variant *v, const apl_plan *plan,
                       const aplcl_params *p, size_t rows, size_t cols, const aplcl_io *io,
                       cl_mem res_cnt, cl_uint nw, const cl_event *w, cl_event *ev) {
    const apl_consts k = loss_consts(p, derived_for(ctx, p));
    const aplcl_targets *t = &io->targets;
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

    cl_kernel kern = v->loss;
    apl_args s = {kern, 0, CL_SUCCESS};
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
    apl_arg(&s, sizeof k, &k);
    apl_arg(&s, sizeof gm, &gm);
    apl_arg_int(&s, plan->count_pass);
    apl_arg_mem(&s, res_cnt);
    apl_arg_mem(&s, ctx->partial_acc);
    apl_arg_mem(&s, ctx->partial_cnt);
    apl_arg_ulong(&s, apl_target_label_count(t, cols)); /* the label window */
    apl_arg_ulong(&s, t->label_offset);
    if (apl_io_weighted(io)) { /* the weighted program's five more arguments */
        apl_arg_mem(&s, apl_wbuf(io->weights.pos_weight));
        apl_arg_ulong(&s, io->weights.pos_weight_offset);
        apl_arg_mem(&s, apl_wbuf(io->weights.weight));
        apl_arg_ulong(&s, io->weights.weight_offset);
        apl_arg_int(&s, (int)io->weights.kind);
    }
    return s.err != CL_SUCCESS ? s.err : launch(ctx, kern, plan->loss.groups, nw, w, ev);
}

/* `next` (the event of the step just enqueued; NULL when it failed) becomes the last one. */
static void advance(cl_event *last, cl_event next) {
    if (!next)
        return;
    if (*last)
        clReleaseEvent(*last);
    *last = next;
}

/* The count pass and its counts-only finalize; *last receives the last event enqueued. */
static cl_int count_steps(aplcl_ctx *ctx, const apl_variant *v, apl_split count, size_t rows,
                          size_t cols, const aplcl_targets *t, const fin_out *o, cl_uint nw,
                          const cl_event *wait, cl_event *last) {
    cl_event next = NULL;
    cl_int err = run_count(ctx, v, count, rows, cols, t, nw, wait, last);
    if (err == CL_SUCCESS) {
        err = run_finalize(ctx, v, count.groups, 1, 0, 0.0, o, *last, &next);
        advance(last, next);
    }
    return err;
}

static aplcl_status cl_fail(cl_int err) {
    apl_set_cl_error(err);
    return APLCL_ERR_OPENCL;
}

aplcl_status apl_enqueue(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                         const aplcl_io *io, const apl_results *res, cl_uint nw,
                         const cl_event *wait, cl_event *done) {
    *done = NULL;
    const apl_variant *v;
    aplcl_status st =
        apl_variant_get_w(ctx, io->dtype, io->targets.format, apl_io_weighted(io), &v);
    if (st != APLCL_SUCCESS)
        return st;
    apl_plan plan = make_plan(ctx, p, rows, cols, io);
    fin_out o = {res ? res->loss : ctx->result_loss,
                 res ? res->cnt : ctx->result_cnt,
                 io->loss,
                 io->counts,
                 io->loss_offset,
                 io->counts_offset};
    fin_out count_o = {o.res_loss, o.res_cnt, NULL, NULL, 0, 0};
    cl_event last = NULL, next = NULL;
    cl_int err = CL_SUCCESS;
    if (plan.count_pass) {
        err = count_steps(ctx, v, plan.count, rows, cols, &io->targets, &count_o, nw, wait, &last);
        nw = 1, wait = &last; /* the loss pass reads the count */
    }
    if (err == CL_SUCCESS) {
        const apl_variant *lv = apl_loss_variant(ctx, v, io->dtype, io->targets.format,
                                                 apl_io_weighted(io), plan.loss.per_item);
        err = run_loss(ctx, lv, &plan, p, rows, cols, io, o.res_cnt, nw, wait, &next);
        advance(&last, next);
        next = NULL;
    }
    if (err == CL_SUCCESS) {
        err = run_finalize(ctx, v, plan.loss.groups, 0, p->reduction == APLCL_REDUCE_MEAN,
                           p->normalizer, &o, last, &next);
        advance(&last, next);
    }
    *done = last;
    return err == CL_SUCCESS ? APLCL_SUCCESS : cl_fail(err);
}

aplcl_status apl_enqueue_count(aplcl_ctx *ctx, size_t rows, size_t cols, const aplcl_targets *t,
                               cl_mem counts, size_t counts_offset, cl_uint nw,
                               const cl_event *wait, cl_event *done) {
    *done = NULL;
    const apl_variant *v;
    aplcl_status st = apl_variant_get(ctx, APLCL_DTYPE_F32, t->format, &v);
    if (st != APLCL_SUCCESS)
        return st;
    fin_out o = {ctx->result_loss, ctx->result_cnt, NULL, counts, 0, counts_offset};
    cl_int err = count_steps(ctx, v, split_work(ctx, count_units(rows, cols, t->format)), rows,
                             cols, t, &o, nw, wait, done);
    return err == CL_SUCCESS ? APLCL_SUCCESS : cl_fail(err);
}
