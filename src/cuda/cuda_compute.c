/* cuda_compute.c: aplcl_cuda_compute_io: the checks that need no look into device memory, then the
 * launches on the caller's stream: [count pass + counts-only finalize, for MEAN by count with
 * ignorable targets] -> loss pass -> finalize, the same work split and argument order as the
 * OpenCL enqueue (src/enqueue.c) in the GPU shape (one element per step, 256 threads, strided).
 * Never synchronises the host. */
#include "cuda_args.h"
#include "cuda_internal.h"
#include "internal.h" /* apl_derive */

#include <stdint.h>
#include <string.h>

typedef struct {
    size_t groups, per_item;
} cu_split;

/* As src/enqueue.c's split_work: a fixed function of the size and the device. */
static cu_split split_work(const aplcl_cuda_ctx *ctx, size_t units) {
    size_t L = APL_CUDA_LOCAL, items = units / L + (units % L != 0);
    size_t groups = items < ctx->max_groups ? items : ctx->max_groups;
    cu_split s;
    s.per_item = items / groups + (items % groups != 0);
    s.groups = items / s.per_item + (items % s.per_item != 0);
    return s;
}

static size_t dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }

/* Byte ranges [a, a+na) and [b, b+nb) of device memory overlap (UVA: one address space). */
static int overlaps(const void *a, size_t na, const void *b, size_t nb) {
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return a && b && x < y + nb && y < x + na;
}

static aplcl_status check(const aplcl_cuda_ctx *ctx, const aplcl_params *p, size_t rows,
                          size_t cols, const aplcl_cuda_io *io, const void *scratch,
                          size_t scratch_bytes) {
    if (!ctx || !p || !io)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = aplcl_params_validate(p);
    if (st != APLCL_SUCCESS)
        return st;
    if (rows == 0 || cols == 0)
        return APLCL_ERR_INVALID_SIZE;
    if (rows > SIZE_MAX / cols || rows * cols > SIZE_MAX / 8)
        return APLCL_ERR_SIZE_OVERFLOW;
    if ((unsigned)io->dtype > APLCL_DTYPE_BF16 || (io->grad_accumulate & ~1) ||
        (io->weights.weight && (unsigned)io->weights.kind > APLCL_WEIGHT_ROW))
        return APLCL_ERR_INVALID_PARAMS;
    const aplcl_cuda_targets *t = &io->targets;
    if ((unsigned)t->format > APLCL_TARGET_CSR)
        return APLCL_ERR_INVALID_TARGET_FORMAT;
    if (!io->logits || !t->data || (t->format == APLCL_TARGET_CSR && t->nnz && !t->indices))
        return APLCL_ERR_NULL_ARGUMENT;
    size_t full = t->label_count ? t->label_count : cols;
    if (t->label_offset > full || cols > full - t->label_offset)
        return APLCL_ERR_INVALID_WINDOW;
    int dense = t->format == APLCL_TARGET_F32 || t->format == APLCL_TARGET_U8;
    if (dense && (full != cols || t->label_offset != 0))
        return APLCL_ERR_INVALID_WINDOW;
    if (t->format == APLCL_TARGET_CSR && full > UINT32_MAX)
        return APLCL_ERR_SIZE_OVERFLOW;
    /* outputs: the gradient may be the logits exactly (not accumulated), nothing else overlaps */
    size_t n = rows * cols, xb = dtype_bytes(io->dtype);
    const char *x = (const char *)io->logits + io->logits_offset * xb;
    const char *g = io->grad ? (const char *)io->grad + io->grad_offset * xb : NULL;
    const char *e = io->elem_loss ? (const char *)(io->elem_loss + io->elem_loss_offset) : NULL;
    int in_place = g && g == x;
    if ((in_place && io->grad_accumulate) || (!in_place && overlaps(g, n * xb, x, n * xb)) ||
        overlaps(e, n * 4, x, n * xb) || overlaps(e, n * 4, g, n * xb))
        return APLCL_ERR_BUFFER_OVERLAP;
    /* the weights are inputs: no output may overlap them either */
    const aplcl_weights *w = &io->weights;
    const char *pw = w->pos_weight ? (const char *)w->pos_weight + w->pos_weight_offset * 4 : NULL;
    const char *wt = w->weight ? (const char *)w->weight + w->weight_offset * 4 : NULL;
    size_t wb = 4 * (w->kind == APLCL_WEIGHT_ELEMENT ? n
                     : w->kind == APLCL_WEIGHT_LABEL ? cols
                                                     : rows);
    if (overlaps(g, n * xb, pw, cols * 4) || overlaps(e, n * 4, pw, cols * 4) ||
        overlaps(g, n * xb, wt, wb) || overlaps(e, n * 4, wt, wb))
        return APLCL_ERR_BUFFER_OVERLAP;
    if (scratch && (scratch_bytes < aplcl_cuda_scratch_bytes(ctx) || (uintptr_t)scratch % 16))
        return APLCL_ERR_BUFFER_TOO_SMALL;
    return APLCL_SUCCESS;
}

/* The loss constants by name (kernels/apl_abi.h), as src/enqueue.c fills them. */
static apl_consts loss_consts(const aplcl_params *p) {
    apl_derived d;
    apl_derive(p, &d);
    apl_consts k;
    memset(&k, 0, sizeof k);
    for (int j = 0; j < APL_MAX_TERMS; ++j) {
        k.cpos[j] = j < d.n_pos ? d.coef_pos[j] : 0.0f;
        k.cneg[j] = j < d.n_neg ? d.coef_neg[j] : 0.0f;
    }
    k.lead_pos = d.lead_pos;
    k.lead_neg = d.lead_neg;
    k.gamma_pos = p->gamma_pos;
    k.gamma_neg = p->gamma_neg;
    k.clip = p->clip;
    k.pos_floor_x = d.pos_floor_x;
    k.neg_clip_x = d.neg_clip_x;
    k.neg_floor_x = d.neg_floor_x;
    k.ln_eps = (float)d.ln_eps;
    k.one_minus_eps = (float)(1.0 - d.eps_d);
    k.npos = d.n_pos;
    k.nneg = d.n_neg;
    k.focus = p->focus_grad;
    return k;
}

static apl_CUresult launch(const aplcl_cuda_ctx *ctx, apl_CUfunction f, size_t groups,
                           apl_cu_args *a, void *stream) {
    return ctx->cu->LaunchKernel(f, (unsigned)groups, 1, 1, APL_CUDA_LOCAL, 1, 1, 0,
                                 (apl_CUstream)stream, a->ptr, NULL);
}

static uint64_t dp(const void *p) { return (uint64_t)(uintptr_t)p; }

/* Launches everything on `stream` with the context current. */
static apl_CUresult run(aplcl_cuda_ctx *ctx, const apl_cuda_program *v, const aplcl_params *p,
                        size_t rows, size_t cols, const aplcl_cuda_io *io, uint64_t scratch,
                        void *stream) {
    const aplcl_cuda_targets *t = &io->targets;
    aplcl_target_format f = t->format;
    size_t n = rows * cols, tcols = t->label_count ? t->label_count : cols;
    uint64_t part_acc = scratch, part_cnt = scratch + 8 * ctx->max_groups;
    uint64_t res_loss = part_cnt + 8 * APLCL_COUNT_LEN * ctx->max_groups, res_cnt = res_loss + 16;
    cu_split loss = split_work(ctx, n); /* one element per step, rows never share one */
    int mean_by_count = io->grad && p->reduction == APLCL_REDUCE_MEAN && !(p->normalizer > 0.0);
    int ignorable =
        f == APLCL_TARGET_F32 || f == APLCL_TARGET_U8 || (f == APLCL_TARGET_BITS && t->ignore);
    apl_cu_args a;
    apl_CUresult r = 0;
    double gmul = p->grad_scale;
    if (p->reduction == APLCL_REDUCE_MEAN && p->normalizer > 0.0)
        gmul /= p->normalizer;
    if (mean_by_count && ignorable) {
        size_t units = f == APLCL_TARGET_BITS ? rows * (cols / 32 + (cols % 32 != 0)) : n;
        cu_split cs = split_work(ctx, units);
        apl_cu_count_args c = {units,
                               rows,
                               cols,
                               cs.per_item,
                               dp(t->data),
                               t->data_offset,
                               f == APLCL_TARGET_BITS ? dp(t->ignore) : 0,
                               f == APLCL_TARGET_BITS ? t->ignore_offset : 0,
                               part_cnt,
                               tcols,
                               t->label_offset};
        apl_cu_pack_count(&a, &c);
        r = launch(ctx, v->count, cs.groups, &a, stream);
        apl_cu_finalize_args fin = {
            (uint32_t)cs.groups, part_acc, part_cnt, 1, 0, 0.0, res_loss, res_cnt, 0, 0, 0, 0};
        apl_cu_pack_finalize(&a, &fin);
        if (r == 0)
            r = launch(ctx, v->finalize, 1, &a, stream);
    } else if (mean_by_count) {
        gmul /= (double)n;
    }
    apl_cu_loss_args l;
    memset(&l, 0, sizeof l);
    l.n = n, l.rows = rows, l.cols = cols, l.per_item = loss.per_item;
    l.xs = dp(io->logits), l.x_off = io->logits_offset;
    l.t0 = dp(t->data), l.t0_off = t->data_offset;
    l.t1 = f == APLCL_TARGET_CSR    ? (t->nnz ? dp(t->indices) : 0)
           : f == APLCL_TARGET_BITS ? dp(t->ignore)
                                    : 0;
    l.t1_off = f == APLCL_TARGET_CSR    ? t->indices_offset
               : f == APLCL_TARGET_BITS ? t->ignore_offset
                                        : 0;
    l.nnz = f == APLCL_TARGET_CSR ? t->nnz : 0;
    l.grad = dp(io->grad), l.g_off = io->grad_offset, l.accumulate = io->grad_accumulate;
    l.elem = dp(io->elem_loss), l.e_off = io->elem_loss_offset;
    l.k = loss_consts(p);
    l.grad_scale = (float)gmul;
    l.mul_from_count = mean_by_count && ignorable;
    l.res_cnt = res_cnt, l.partial_acc = part_acc, l.partial_cnt = part_cnt;
    l.tcols = tcols, l.tcol0 = t->label_offset;
    const aplcl_weights *w = &io->weights; /* device pointers */
    l.weighted = w->pos_weight || w->weight;
    l.pw = dp(w->pos_weight), l.pw_off = w->pos_weight_offset;
    l.wt = dp(w->weight), l.wt_off = w->weight_offset, l.wkind = (int)w->kind;
    apl_cu_pack_loss(&a, &l);
    if (r == 0)
        r = launch(ctx, v->loss, loss.groups, &a, stream);
    apl_cu_finalize_args fin = {(uint32_t)loss.groups,
                                part_acc,
                                part_cnt,
                                0,
                                p->reduction == APLCL_REDUCE_MEAN,
                                p->normalizer,
                                res_loss,
                                res_cnt,
                                dp(io->loss),
                                io->loss_offset,
                                dp(io->counts),
                                io->counts_offset};
    apl_cu_pack_finalize(&a, &fin);
    if (r == 0)
        r = launch(ctx, v->finalize, 1, &a, stream);
    return r;
}

aplcl_status aplcl_cuda_compute_io(aplcl_cuda_ctx *ctx, const aplcl_params *p, size_t rows,
                                   size_t cols, const aplcl_cuda_io *io, void *scratch,
                                   size_t scratch_bytes, void *stream) {
    aplcl_status st = check(ctx, p, rows, cols, io, scratch, scratch_bytes);
    if (st != APLCL_SUCCESS)
        return st;
    apl_CUresult r = ctx->cu->CtxPushCurrent(ctx->primary);
    if (r != 0) {
        apl_cuda_set_error(r);
        return APLCL_ERR_CUDA;
    }
    const apl_cuda_program *v;
    int weighted = io->weights.pos_weight || io->weights.weight;
    st = apl_cuda_variant_get(ctx, apl_cuda_variant(io->dtype, io->targets.format, weighted), &v);
    if (st == APLCL_SUCCESS) {
        uint64_t s = scratch ? dp(scratch) : (uint64_t)ctx->own_scratch;
        r = run(ctx, v, p, rows, cols, io, s, stream);
        if (r != 0) {
            apl_cuda_set_error(r);
            st = APLCL_ERR_CUDA;
        }
    }
    apl_CUcontext popped;
    ctx->cu->CtxPopCurrent(&popped);
    return st;
}
