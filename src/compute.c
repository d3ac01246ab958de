/* compute.c: the device-buffer entry point, aplcl_compute.
 *
 * Checks every argument before anything is enqueued (shapes, parameters, buffer contexts, sizes
 * and overlaps, events), then enqueues: [target count pass + its finalize, MEAN without a
 * normalizer only] -> fused loss/gradient pass -> finalize. Calls on one context are chained
 * through ctx->last because they share the scratch buffers. It never waits on the host.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

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

static bool spans_overlap(const apl_span *a, const apl_span *b) {
    return a->root == b->root && a->begin < b->end && b->begin < a->end;
}

static size_t target_bytes(aplcl_target_format f) {
    return f == APLCL_TARGET_U8 ? sizeof(cl_uchar) : sizeof(cl_float);
}

/* Everything a launch needs, checked. */
typedef struct {
    size_t n, groups;
    size_t per_item; /* vector steps per work-item (the count pass takes per_item * APL_VW) */
    bool count_pass; /* MEAN without normalizer, with a gradient: count targets first */
} apl_plan;

static aplcl_status check_all(const aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                              size_t cols, cl_mem logits, size_t logits_offset, cl_mem targets,
                              size_t targets_offset, aplcl_target_format fmt, cl_mem grad,
                              size_t grad_offset, cl_mem elem_loss, size_t elem_loss_offset,
                              cl_mem loss, size_t loss_offset, cl_mem counts,
                              size_t counts_offset, cl_uint num_wait, const cl_event *wait) {
    if (!ctx || !p || !logits || !targets) return APLCL_ERR_NULL_ARGUMENT;
    if (num_wait > 0 && !wait) return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = apl_check_shape(rows, cols, sizeof(cl_float));
    if (st != APLCL_SUCCESS) return st;
    if ((st = aplcl_params_validate(p)) != APLCL_SUCCESS) return st;
    if (fmt != APLCL_TARGET_F32 && fmt != APLCL_TARGET_U8) return APLCL_ERR_INVALID_TARGET_FORMAT;
    size_t n = rows * cols;

    enum { LOGITS, TARGETS, GRAD, ELEM, LOSS, COUNTS, NSPAN };
    apl_span spans[NSPAN];
    bool present[NSPAN] = {true, true, grad != NULL, elem_loss != NULL, loss != NULL,
                           counts != NULL};
    struct {
        cl_mem m;
        size_t off, count, elem;
        bool written;
    } args[NSPAN] = {
        {logits, logits_offset, n, sizeof(cl_float), false},
        {targets, targets_offset, n, target_bytes(fmt), false},
        {grad, grad_offset, n, sizeof(cl_float), true},
        {elem_loss, elem_loss_offset, n, sizeof(cl_float), true},
        {loss, loss_offset, 1, sizeof(cl_float), true},
        {counts, counts_offset, APLCL_COUNT_LEN, sizeof(cl_ulong), true},
    };
    for (int i = 0; i < NSPAN; ++i) {
        if (!present[i]) continue;
        st = check_buffer(ctx, args[i].m, args[i].off, args[i].count, args[i].elem,
                          args[i].written, &spans[i]);
        if (st != APLCL_SUCCESS) return st;
    }
    for (int i = 0; i < NSPAN; ++i)
        for (int j = i + 1; j < NSPAN; ++j) {
            if (!present[i] || !present[j]) continue;
            if (!spans[i].written && !spans[j].written) continue; /* two reads may share */
            if (!spans_overlap(&spans[i], &spans[j])) continue;
            bool in_place = i == LOGITS && j == GRAD && spans[i].begin == spans[j].begin;
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

static apl_plan make_plan(const aplcl_ctx *ctx, const aplcl_params *p, size_t n, bool want_grad) {
    apl_plan plan;
    size_t L = ctx->local_size, vw = ctx->vector_width;
    size_t chunks = n / vw + (n % vw != 0); /* vector steps */
    size_t items = chunks / L + (chunks % L != 0); /* work-items needed at one step each */
    size_t groups = items < ctx->max_groups ? items : ctx->max_groups;
    plan.n = n;
    plan.per_item = items / groups + (items % groups != 0);
    size_t per_group = plan.per_item;
    plan.groups = items / per_group + (items % per_group != 0);
    plan.count_pass = want_grad && p->reduction == APLCL_REDUCE_MEAN && !(p->normalizer > 0.0);
    return plan;
}

/* Sets consecutive kernel arguments, remembering the first error. */
typedef struct {
    cl_kernel k;
    cl_uint idx;
    cl_int err;
} arg_setter;
static void arg(arg_setter *s, size_t size, const void *value) {
    cl_int e = clSetKernelArg(s->k, s->idx++, size, value);
    if (s->err == CL_SUCCESS) s->err = e;
}
static void arg_mem(arg_setter *s, cl_mem m) { arg(s, sizeof(cl_mem), m ? &m : NULL); }
static void arg_ulong(arg_setter *s, size_t v) {
    cl_ulong u = v;
    arg(s, sizeof u, &u);
}

static cl_int launch(aplcl_ctx *ctx, cl_kernel k, size_t groups, cl_uint nw, const cl_event *w,
                     cl_event *ev) {
    size_t local = ctx->local_size, global = groups * local;
    return clEnqueueNDRangeKernel(ctx->queue, k, 1, NULL, &global, &local, nw, w, ev);
}

static void set_finalize_args(aplcl_ctx *ctx, arg_setter *s, const apl_plan *plan,
                              int counts_only, const aplcl_params *p, cl_mem loss,
                              size_t loss_offset, cl_mem counts, size_t counts_offset) {
    cl_uint groups = (cl_uint)plan->groups;
    cl_int co = counts_only, mean = p->reduction == APLCL_REDUCE_MEAN;
    arg(s, sizeof groups, &groups);
    arg_mem(s, ctx->partial_acc);
    arg_mem(s, ctx->partial_cnt);
    arg(s, sizeof co, &co);
    arg(s, sizeof mean, &mean);
    if (ctx->has_fp64) {
        cl_double norm = p->normalizer;
        arg(s, sizeof norm, &norm);
    } else {
        cl_float norm = (cl_float)p->normalizer;
        arg(s, sizeof norm, &norm);
    }
    arg_mem(s, ctx->result_loss);
    arg_mem(s, ctx->result_cnt);
    arg_mem(s, loss);
    arg_ulong(s, loss_offset);
    arg_mem(s, counts);
    arg_ulong(s, counts_offset);
}

static void set_loss_args(aplcl_ctx *ctx, arg_setter *s, const apl_plan *plan,
                          const aplcl_params *p, cl_mem logits, size_t logits_offset,
                          cl_mem targets, size_t targets_offset, cl_mem grad, size_t grad_offset,
                          cl_mem elem_loss, size_t elem_loss_offset) {
    if (!ctx->has_derived || memcmp(&ctx->derived_for, p, sizeof *p) != 0) {
        apl_derive(p, &ctx->derived);
        ctx->derived_for = *p;
        ctx->has_derived = true;
    }
    const apl_derived d = ctx->derived;
    cl_float8 cpos, cneg, reals;
    memset(&cpos, 0, sizeof cpos);
    memset(&cneg, 0, sizeof cneg);
    for (int j = 0; j < APLCL_MAX_TERMS; ++j) {
        cpos.s[j] = j < d.n_pos ? d.coef_pos[j] : 0.0f;
        cneg.s[j] = j < d.n_neg ? d.coef_neg[j] : 0.0f;
    }
    cl_int4 ints = {{d.n_pos, d.n_neg, p->focus_grad, 0}};
    reals.s[0] = p->gamma_pos;
    reals.s[1] = p->gamma_neg;
    reals.s[2] = p->clip;
    reals.s[3] = d.pos_floor_x;
    reals.s[4] = d.neg_clip_x;
    reals.s[5] = d.neg_floor_x;
    reals.s[6] = (cl_float)d.ln_eps;
    reals.s[7] = (cl_float)(1.0 - d.eps_d);
    /* The gradient multiplier when it is known now; with a count pass the kernel divides
     * grad_scale by the count itself. */
    double gmul = p->grad_scale;
    if (p->reduction == APLCL_REDUCE_MEAN && p->normalizer > 0.0) gmul = p->grad_scale / p->normalizer;
    cl_float gm = (cl_float)gmul;
    cl_int from_count = plan->count_pass;

    arg_ulong(s, plan->n);
    arg_ulong(s, plan->per_item);
    arg_mem(s, logits);
    arg_ulong(s, logits_offset);
    arg_mem(s, targets);
    arg_ulong(s, targets_offset);
    arg_mem(s, grad);
    arg_ulong(s, grad_offset);
    arg_mem(s, elem_loss);
    arg_ulong(s, elem_loss_offset);
    arg(s, sizeof cpos, &cpos);
    arg(s, sizeof cneg, &cneg);
    arg(s, sizeof ints, &ints);
    arg(s, sizeof reals, &reals);
    cl_float2 leads = {{d.lead_pos, d.lead_neg}};
    arg(s, sizeof leads, &leads);
    arg(s, sizeof gm, &gm);
    arg(s, sizeof from_count, &from_count);
    arg_mem(s, ctx->result_cnt);
    arg_mem(s, ctx->partial_acc);
    arg_mem(s, ctx->partial_cnt);
}

/* Replaces ctx->last with ev (ownership of one reference moves to ctx). */
static void chain(aplcl_ctx *ctx, cl_event ev) {
    if (ctx->last) clReleaseEvent(ctx->last);
    ctx->last = ev;
}

aplcl_status aplcl_compute(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                           cl_mem logits, size_t logits_offset, cl_mem targets,
                           size_t targets_offset, aplcl_target_format target_format, cl_mem grad,
                           size_t grad_offset, cl_mem elem_loss, size_t elem_loss_offset,
                           cl_mem loss, size_t loss_offset, cl_mem counts, size_t counts_offset,
                           cl_uint num_wait_events, const cl_event *wait_events,
                           cl_event *event) {
    aplcl_status st = check_all(ctx, p, rows, cols, logits, logits_offset, targets,
                                targets_offset, target_format, grad, grad_offset, elem_loss,
                                elem_loss_offset, loss, loss_offset, counts, counts_offset,
                                num_wait_events, wait_events);
    if (st != APLCL_SUCCESS) return st;
    apl_plan plan = make_plan(ctx, p, rows * cols, grad != NULL);
    bool u8 = target_format == APLCL_TARGET_U8;

    /* The caller's wait list plus our previous call (scratch reuse). */
    cl_event small[16];
    cl_event *waits = small;
    cl_uint nw = num_wait_events + (ctx->last ? 1 : 0);
    if (nw > 16 && !(waits = (cl_event *)malloc(nw * sizeof(cl_event))))
        return APLCL_ERR_OUT_OF_HOST_MEMORY;
    if (num_wait_events) memcpy(waits, wait_events, num_wait_events * sizeof(cl_event));
    if (ctx->last) waits[num_wait_events] = ctx->last;

    cl_int err = CL_SUCCESS;
    cl_event ev_count = NULL, ev_count_fin = NULL, ev_loss = NULL, ev_fin = NULL;
    const cl_event *loss_waits = waits;
    cl_uint loss_nw = nw;
    if (plan.count_pass) {
        arg_setter s = {u8 ? ctx->k_count_u8 : ctx->k_count_f32, 0, CL_SUCCESS};
        arg_ulong(&s, plan.n);
        arg_ulong(&s, plan.per_item * ctx->vector_width);
        arg_mem(&s, targets);
        arg_ulong(&s, targets_offset);
        arg_mem(&s, ctx->partial_cnt);
        err = s.err;
        if (err == CL_SUCCESS) err = launch(ctx, s.k, plan.groups, nw, nw ? waits : NULL, &ev_count);
        if (err == CL_SUCCESS) {
            arg_setter f = {ctx->k_finalize, 0, CL_SUCCESS};
            set_finalize_args(ctx, &f, &plan, 1, p, NULL, 0, NULL, 0);
            err = f.err;
            if (err == CL_SUCCESS) err = launch(ctx, f.k, 1, 1, &ev_count, &ev_count_fin);
        }
        loss_waits = &ev_count_fin;
        loss_nw = 1;
    }
    if (err == CL_SUCCESS) {
        arg_setter s = {u8 ? ctx->k_loss_u8 : ctx->k_loss_f32, 0, CL_SUCCESS};
        set_loss_args(ctx, &s, &plan, p, logits, logits_offset, targets, targets_offset, grad,
                      grad_offset, elem_loss, elem_loss_offset);
        err = s.err;
        if (err == CL_SUCCESS)
            err = launch(ctx, s.k, plan.groups, loss_nw, loss_nw ? loss_waits : NULL, &ev_loss);
    }
    if (err == CL_SUCCESS) {
        arg_setter f = {ctx->k_finalize, 0, CL_SUCCESS};
        set_finalize_args(ctx, &f, &plan, 0, p, loss, loss_offset, counts, counts_offset);
        err = f.err;
        if (err == CL_SUCCESS) err = launch(ctx, f.k, 1, 1, &ev_loss, &ev_fin);
    }
    if (waits != small) free(waits);
    if (ev_count) clReleaseEvent(ev_count);
    if (ev_count_fin) clReleaseEvent(ev_count_fin);
    if (ev_loss) clReleaseEvent(ev_loss);
    if (err != CL_SUCCESS) return cl_fail(err);
    chain(ctx, ev_fin);
    if (event) {
        clRetainEvent(ev_fin);
        *event = ev_fin;
    }
    return APLCL_SUCCESS;
}
