/* test_weights.c: weighted device calls (pos_weight; weight per element, label, row) against the
 * CPU reference aplcl_ref_compute_weighted.
 *
 * Every weight kind with every target format (f32 with soft and ignored targets, u8, bits with
 * an ignore mask, csr) and storage type, SUM and MEAN with differentiated focusing, buffer
 * offsets; invalid weights counted on the device and reported by aplcl_host_compute_weighted;
 * the argument checks; and the linear head with row and element weights over several chunks.
 * The reference test of the weighted math itself is test_ref_weights.
 */
#include "test_util.h"

static aplcl_ctx *g_ctx;
#define upload(host, bytes) tu_buffer(aplcl_ctx_cl_context(g_ctx), (bytes), (host))
#define download(m, host, bytes) tu_read(aplcl_ctx_queue(g_ctx), (m), 0, (host), (bytes))

enum { W_POS, W_ELEMENT, W_LABEL, W_ROW, W_POS_ROW, W_KINDS };
static const char *const KIND_NAMES[W_KINDS] = {"pos_weight", "element", "label", "row",
                                                "pos_weight+row"};
#define W_OFF 3   /* every weight buffer starts 3 floats in */
#define W_MAX 6.0 /* weights below 3, pos_weight below 2: the product below 6 */

/* Weights for kind k (NULL pointers where not used), W_OFF floats of padding in front. */
static void make_weights(int k, size_t rows, size_t cols, cli_rng *r, float **pw, float **w,
                         aplcl_weight_kind *kind, size_t *wcount) {
    *pw = *w = NULL;
    *kind = k == W_LABEL ? APLCL_WEIGHT_LABEL
            : k >= W_ROW ? APLCL_WEIGHT_ROW
                         : APLCL_WEIGHT_ELEMENT;
    *wcount = *kind == APLCL_WEIGHT_LABEL ? cols : *kind == APLCL_WEIGHT_ROW ? rows : rows * cols;
    if (k == W_POS || k == W_POS_ROW) {
        *pw = tu_xmalloc((cols + W_OFF) * sizeof(float));
        for (size_t i = 0; i < cols + W_OFF; ++i)
            (*pw)[i] = i < W_OFF ? NAN : (float)cli_rng_range(r, 0.0, 2.0);
    }
    if (k != W_POS) {
        *w = tu_xmalloc((*wcount + W_OFF) * sizeof(float));
        for (size_t i = 0; i < *wcount + W_OFF; ++i)
            (*w)[i] = i < W_OFF ? NAN : (i % 11 == 0 ? 0.0f : (float)cli_rng_range(r, 0.0, 3.0));
    }
}

/* The targets packed in fmt and uploaded into *t; returns the second buffer (the BITS ignore mask
 * or the CSR indices, NULL if none) for the caller to release with t->data. */
static cl_mem upload_targets(aplcl_target_format fmt, size_t rows, size_t cols, const float *y,
                             int ignore, aplcl_targets *t) {
    cases_targets packed;
    CHECK_STATUS(cases_pack_targets(fmt, rows, cols, y, ignore, &packed), APLCL_SUCCESS);
    t->format = fmt;
    t->data = upload(packed.data, packed.data_bytes);
    cl_mem aux = packed.aux ? upload(packed.aux, packed.aux_bytes) : NULL;
    if (fmt == APLCL_TARGET_BITS)
        t->ignore = aux;
    if (fmt == APLCL_TARGET_CSR)
        t->indices = aux, t->nnz = packed.nnz;
    cases_targets_free(&packed);
    return aux;
}

static void run_case(const aplcl_params *p, size_t rows, size_t cols, aplcl_target_format fmt,
                     aplcl_dtype dt, int k, uint64_t seed) {
    int mark = tu_case_begin();
    cli_rng r = cli_rng_seed(seed);
    size_t n = rows * cols, xb = cases_dtype_bytes(dt);
    float *x = tu_xmalloc(n * 4), *y = tu_xmalloc(n * 4), *gf = tu_xmalloc(n * 4);
    float *lf = tu_xmalloc(n * 4);
    double *rg = tu_xmalloc(n * 8), *rl = tu_xmalloc(n * 8), rloss = 0.0;
    int soft = fmt == APLCL_TARGET_F32, ignore = fmt != APLCL_TARGET_CSR;
    for (size_t i = 0; i < n; ++i) {
        x[i] = (float)cli_rng_normal(&r, 0.0, 3.0);
        double u = cli_rng_uniform(&r);
        /* soft targets: 0.3, and 0.9999 where 1 - y has few digits in float */
        y[i] = u < 0.15               ? 1.0f
               : (soft && u > 0.95)   ? 0.9999f
               : (soft && u > 0.9)    ? 0.3f
               : (ignore && u > 0.85) ? -1.0f
                                      : 0.0f;
    }
    void *xs = tu_xmalloc(n * xb), *gs = tu_xmalloc(n * xb);
    cases_to_storage(dt, x, xs, n); /* x now holds what the device reads */
    float *pw, *w;
    aplcl_weight_kind kind;
    size_t wcount;
    make_weights(k, rows, cols, &r, &pw, &w, &kind, &wcount);
    aplcl_weights hw = {pw ? pw + W_OFF : NULL, 0, w ? w + W_OFF : NULL, 0, kind};
    uint64_t rc[APLCL_COUNT_LEN], dc[APLCL_COUNT_LEN] = {0};
    CHECK_STATUS(tu_ref(p, rows, cols, x, y, &hw, rg, rl, &rloss, rc), APLCL_SUCCESS);

    aplcl_io io = aplcl_io_default();
    io.dtype = dt;
    io.logits = upload(xs, n * xb);
    cl_mem aux = upload_targets(fmt, rows, cols, y, ignore, &io.targets);
    io.grad = upload(xs, n * xb);
    io.elem_loss = upload(x, n * 4);
    float loss_f = -1;
    io.loss = upload(&loss_f, 4);
    io.counts = upload(dc, sizeof dc);
    io.weights.pos_weight = pw ? upload(pw, (cols + W_OFF) * 4) : NULL;
    io.weights.pos_weight_offset = W_OFF;
    io.weights.weight = w ? upload(w, (wcount + W_OFF) * 4) : NULL;
    io.weights.weight_offset = W_OFF;
    io.weights.kind = kind;
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute_io(g_ctx, p, rows, cols, &io, 0, NULL, &ev), APLCL_SUCCESS);
    if (ev)
        clWaitForEvents(1, &ev), clReleaseEvent(ev);
    download(io.grad, gs, n * xb);
    download(io.elem_loss, lf, n * 4);
    download(io.loss, &loss_f, 4);
    download(io.counts, dc, sizeof dc);
    cases_from_storage(dt, gs, gf, n);
    double scale = fabs(cases_grad_scale(p, rc[APLCL_COUNT_ELEMENTS])) * W_MAX;
    TU_CMP_CHECK("loss", tu_compare_f32(lf, rl, n, CASES_RTOL, CASES_ATOL * W_MAX), x);
    TU_CMP_CHECK("grad", tu_compare_f32(gf, rg, n, cases_grad_rtol(dt), cases_grad_atol(dt, scale)),
                 x);
    CHECK(cases_sum_ok(loss_f, rloss, cases_loss_scale(p, rc[APLCL_COUNT_ELEMENTS]) * W_MAX));
    for (int j = 0; j < APLCL_COUNT_LEN; ++j)
        CHECK_EQ_U64(dc[j], rc[j]);
    tu_case_end(mark, "%-15s %-4s %-4s %zux%zu %s%s", KIND_NAMES[k], cases_format_name(fmt),
                cases_dtype_name(dt), rows, cols, cases_reduction_name(p->reduction),
                p->focus_grad ? " focus_grad" : "");
    cl_mem ms[] = {io.logits,
                   io.targets.data,
                   aux,
                   io.grad,
                   io.elem_loss,
                   io.loss,
                   io.counts,
                   (cl_mem)io.weights.weight,
                   (cl_mem)io.weights.pos_weight};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    free(x), free(y), free(gf), free(lf), free(rg), free(rl), free(xs), free(gs), free(pw), free(w);
}

/* Invalid weights: counted on the device (ignored elements' weights are not looked at), the
 * host call reports INVALID_WEIGHT after writing zeros there; a bad kind is rejected. */
static void invalid_weights(void) {
    int mark = tu_case_begin();
    enum { R = 3, C = 5, NN = R * C };
    float x[NN], y[NN], w[NN], pw[C] = {1, 1, -1, 1, 1}, g[NN], l[NN];
    for (int i = 0; i < NN; ++i)
        x[i] = (float)(i % 7) - 3.0f, y[i] = (float)(i % 2), w[i] = 1.0f;
    w[0] = NAN, w[1] = INFINITY, w[3] = -0.5f, y[3] = -1.0f; /* 3 is ignored: not counted */
    aplcl_params p = aplcl_params_default();
    aplcl_weights hw = {pw, 0, w, 0, APLCL_WEIGHT_ELEMENT};
    double loss, rloss = 0.0;
    uint64_t rc[APLCL_COUNT_LEN], dc[APLCL_COUNT_LEN];
    CHECK_STATUS(tu_ref(&p, R, C, x, y, &hw, NULL, NULL, &rloss, rc), APLCL_ERR_INVALID_WEIGHT);
    CHECK_EQ_U64(rc[APLCL_COUNT_INVALID_WEIGHTS], 2 + R); /* w[0], w[1], column 2 */
    CHECK_STATUS(
        tu_host(g_ctx, &p, R, C, APLCL_DTYPE_F32, x, APLCL_TARGET_F32, y, &hw, g, l, &loss, dc),
        APLCL_ERR_INVALID_WEIGHT);
    for (int j = 0; j < APLCL_COUNT_LEN; ++j)
        CHECK_EQ_U64(dc[j], rc[j]);
    CHECK(g[0] == 0.0f && l[0] == 0.0f && g[1] == 0.0f && l[2] == 0.0f && g[7] == 0.0f);
    CHECK_NEAR(loss, rloss, 1e-6, 1e-7);
    hw.kind = (aplcl_weight_kind)7;
    CHECK_STATUS(
        tu_host(g_ctx, &p, R, C, APLCL_DTYPE_F32, x, APLCL_TARGET_F32, y, &hw, g, l, &loss, NULL),
        APLCL_ERR_INVALID_PARAMS);
    /* NULL weights: the unweighted call, the same bits */
    float g2[NN];
    double loss2;
    for (int i = 0; i < NN; ++i)
        y[i] = (float)(i % 2);
    CHECK_STATUS(tu_host(g_ctx, &p, R, C, APLCL_DTYPE_F32, x, APLCL_TARGET_F32, y, NULL, g, NULL,
                         &loss, NULL),
                 APLCL_SUCCESS);
    CHECK_STATUS(aplcl_host_compute(g_ctx, &p, R, C, x, y, g2, NULL, &loss2), APLCL_SUCCESS);
    CHECK(memcmp(g, g2, sizeof g) == 0 && loss == loss2);
    tu_case_end(mark, "invalid weights counted and reported; bad kind; NULL weights unweighted");
}

/* aplcl_compute_io's checks of the weight buffers: nothing is enqueued. */
static void bad_io(void) {
    int mark = tu_case_begin();
    enum { R = 2, C = 8 };
    float x[R * C] = {0}, y[R * C] = {0};
    aplcl_params p = aplcl_params_default();
    aplcl_io io = aplcl_io_default();
    io.logits = upload(x, sizeof x);
    io.targets.data = upload(y, sizeof y);
    cl_mem small = upload(x, (C - 1) * 4);
    io.weights.pos_weight = small;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &io, 0, NULL, NULL), APLCL_ERR_BUFFER_TOO_SMALL);
    io.weights.pos_weight = NULL, io.weights.weight = small, io.weights.kind = APLCL_WEIGHT_ROW;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &io, 0, NULL, NULL), APLCL_SUCCESS);
    io.weights.kind = APLCL_WEIGHT_LABEL;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &io, 0, NULL, NULL), APLCL_ERR_BUFFER_TOO_SMALL);
    io.weights.kind = (aplcl_weight_kind)3;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &io, 0, NULL, NULL), APLCL_ERR_INVALID_PARAMS);
    io.weights.kind = APLCL_WEIGHT_ROW, io.grad = small, io.weights.weight_offset = 0;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, 1, C - 1, &io, 0, NULL, NULL),
                 APLCL_ERR_BUFFER_OVERLAP); /* the gradient written over the weights */
    clFinish(aplcl_ctx_queue(g_ctx));
    clReleaseMemObject(io.logits), clReleaseMemObject(io.targets.data), clReleaseMemObject(small);
    tu_case_end(mark, "weight buffers: too small, unknown kind, overlapping an output");
}

/* The linear head with D = 1 and no bias: logits X[r] W[c] are exact in float, so the reference
 * runs on the very logits the head computes. Several chunks: row and element weights must follow
 * the chunk's rows. */
static void head_case(aplcl_head *head, int k, aplcl_target_format fmt, uint64_t seed) {
    int mark = tu_case_begin();
    enum { NR = 37, NC = 13 };
    cli_rng r = cli_rng_seed(seed);
    float xh[NR], wh[NC], L[NR * NC], y[NR * NC];
    for (int i = 0; i < NR; ++i)
        xh[i] = (float)cli_rng_normal(&r, 0.0, 1.0);
    for (int c = 0; c < NC; ++c)
        wh[c] = (float)cli_rng_normal(&r, 0.0, 2.0);
    for (int i = 0; i < NR * NC; ++i) {
        L[i] = xh[i / NC] * wh[i % NC];
        double u = cli_rng_uniform(&r);
        y[i] = u < 0.3 ? 1.0f : (fmt != APLCL_TARGET_CSR && u > 0.9) ? -1.0f : 0.0f;
    }
    float *pw, *w;
    aplcl_weight_kind kind;
    size_t wcount;
    make_weights(k, NR, NC, &r, &pw, &w, &kind, &wcount);
    aplcl_weights hw = {pw ? pw + W_OFF : NULL, 0, w ? w + W_OFF : NULL, 0, kind};
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    double G[NR * NC], rloss = 0.0;
    uint64_t rc[APLCL_COUNT_LEN];
    CHECK_STATUS(tu_ref(&p, NR, NC, L, y, &hw, G, NULL, &rloss, rc), APLCL_SUCCESS);
    aplcl_head_io io = aplcl_head_io_default();
    io.x = upload(xh, sizeof xh);
    io.w = upload(wh, sizeof wh);
    cl_mem aux = upload_targets(fmt, NR, NC, y, fmt != APLCL_TARGET_CSR, &io.targets);
    float zero[NC] = {0}, db[NC], loss_f = -1;
    io.db = upload(zero, sizeof zero);
    io.loss = upload(&loss_f, 4);
    io.weights.pos_weight = pw ? upload(pw, (NC + W_OFF) * 4) : NULL;
    io.weights.pos_weight_offset = W_OFF;
    io.weights.weight = w ? upload(w, (wcount + W_OFF) * 4) : NULL;
    io.weights.weight_offset = W_OFF;
    io.weights.kind = kind;
    size_t budget = 0, rows = 0;
    CHECK_STATUS(aplcl_head_scratch_bytes(head, NR, 1, NC, &io, 5, &budget), APLCL_SUCCESS);
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_head_compute(head, &p, NR, 1, NC, &io, budget, 0, NULL, &ev), APLCL_SUCCESS);
    clWaitForEvents(1, &ev), clReleaseEvent(ev);
    aplcl_head_stats hs;
    CHECK_STATUS(aplcl_head_get_stats(head, &hs), APLCL_SUCCESS);
    rows = hs.chunk_rows;
    CHECK(rows < NR); /* several chunks */
    download(io.db, db, sizeof db);
    download(io.loss, &loss_f, 4);
    double want_db[NC] = {0};
    for (int i = 0; i < NR * NC; ++i)
        want_db[i % NC] += G[i];
    TU_CMP_CHECK("db", tu_compare_f32(db, want_db, NC, 1e-5, 1e-6), L);
    CHECK_NEAR(loss_f, rloss, 1e-5, 1e-7);
    tu_case_end(mark, "head %-15s %-4s %d rows per chunk, MEAN", KIND_NAMES[k],
                cases_format_name(fmt), (int)rows);
    cl_mem ms[] = {io.x,
                   io.w,
                   io.targets.data,
                   aux,
                   io.db,
                   io.loss,
                   (cl_mem)io.weights.pos_weight,
                   (cl_mem)io.weights.weight};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    free(pw), free(w);
}

int main(void) {
    int rc = tu_ctx_create(&g_ctx);
    if (rc)
        return rc;
    aplcl_params sum = aplcl_params_default();
    aplcl_params mean = aplcl_params_asl(4.0f, 1.0f, 0.05f);
    mean.reduction = APLCL_REDUCE_MEAN, mean.focus_grad = 1;
    const aplcl_target_format fmts[4] = {APLCL_TARGET_F32, APLCL_TARGET_U8, APLCL_TARGET_BITS,
                                         APLCL_TARGET_CSR};
    const aplcl_dtype dts[3] = {APLCL_DTYPE_F32, APLCL_DTYPE_F16, APLCL_DTYPE_BF16};
    const size_t shapes[][2] = {{3, 37}, {33, 80}, {64, 1000}};
    uint64_t seed = 1;
    for (int k = 0; k < W_KINDS; ++k)
        for (int f = 0; f < 4; ++f)
            for (size_t s = 0; s < 3; ++s) {
                /* a shaped run: both cases on the storage type this format meets there */
                aplcl_dtype d0 = tu_shaped_dtype(fmts[f], APLCL_DTYPE_F32);
                aplcl_dtype d1 = tu_shaped_dtype(fmts[f], dts[(k + f + s) % 3]);
                run_case(&sum, shapes[s][0], shapes[s][1], fmts[f], d0, k, seed++);
                run_case(&mean, shapes[s][0], shapes[s][1], fmts[f], d1, k, seed++);
            }
    invalid_weights();
    bad_io();
    aplcl_head *head = NULL;
    CHECK_STATUS(aplcl_head_create(&head, g_ctx), APLCL_SUCCESS);
    for (int k = 0; k < W_KINDS && head; ++k)
        head_case(head, k, tu_shaped_f32_format(fmts[k % 4]), 100 + (uint64_t)k);
    aplcl_head_destroy(head);
    aplcl_ctx_destroy(g_ctx);
    return tu_exit_code();
}
