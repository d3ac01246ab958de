/* test_formats.c: aplcl_compute_io with every storage type and target format, against the CPU
 * reference on the same (rounded) inputs.
 *
 * Covers bit-packed targets with and without an ignore mask, CSR positives (and its invalid
 * entries being counted), f16 and bf16 logits/gradients (reference on the rounded logits,
 * tolerance widened by the storage's half-ulp only), grad_accumulate, in place in 16 bits, MEAN
 * through a count pass (bits + ignore) and through the host-known count (CSR). Dense f32/u8
 * storage is covered by test_device_vs_ref; bad-input rejection by test_bad_input.
 */
#include "test_util.h"

typedef struct {
    size_t rows, cols, n;
    float *x; /* logits as the device sees them (already rounded for 16-bit storage) */
    float *y; /* dense targets: 1, 0, or -1 (ignored) */
    double *rg, *rl, rloss;
    uint64_t rcounts[APLCL_COUNT_LEN];
} fx_case;

static aplcl_ctx *g_ctx;

#define upload(host, bytes) tu_buffer(aplcl_ctx_cl_context(g_ctx), (bytes), (host))
#define download(m, host, bytes) tu_read(aplcl_ctx_queue(g_ctx), (m), 0, (host), (bytes))

/* Inputs: logits N(0,3) with some extremes; ~8% positives; `ignored` fraction of -1 targets. */
static void make_case(fx_case *c, size_t rows, size_t cols, double ignored, aplcl_dtype dt,
                      uint64_t seed) {
    cli_rng r = cli_rng_seed(seed);
    memset(c, 0, sizeof *c); /* the reference's results are written only when it succeeds */
    c->rows = rows, c->cols = cols, c->n = rows * cols;
    c->x = tu_xmalloc(c->n * sizeof(float));
    c->y = tu_xmalloc(c->n * sizeof(float));
    c->rg = tu_xmalloc(c->n * sizeof(double));
    c->rl = tu_xmalloc(c->n * sizeof(double));
    for (size_t i = 0; i < c->n; ++i) {
        double u = cli_rng_uniform(&r);
        c->x[i] = (float)(u < 0.95 ? cli_rng_normal(&r, 0.0, 3.0) : cli_rng_range(&r, -60, 60));
        double v = cli_rng_uniform(&r);
        c->y[i] = v < ignored ? -1.0f : v < ignored + 0.08 ? 1.0f : 0.0f;
    }
    /* the device computes on what the storage holds */
    void *h = tu_xmalloc(c->n * cases_dtype_bytes(dt));
    cases_to_storage(dt, c->x, h, c->n);
    free(h);
}

static void free_case(fx_case *c) { free(c->x), free(c->y), free(c->rg), free(c->rl); }

/* Runs one case on the device (targets in format fmt, logits in dt) and compares. */
static void run_case(const char *label, const aplcl_params *p, size_t rows, size_t cols,
                     aplcl_target_format fmt, aplcl_dtype dt, int with_ignore, int accumulate,
                     int in_place, uint64_t seed) {
    if (tu_shaped_skip(fmt, dt))
        return; /* a shaped run: this format meets another storage type (tu_shaped_skip) */
    int mark = tu_case_begin();
    fx_case c;
    make_case(&c, rows, cols, with_ignore ? 0.05 : 0.0, dt, seed);
    CHECK_STATUS(tu_ref_counts(p, rows, cols, c.x, c.y, c.rg, c.rl, &c.rloss, c.rcounts),
                 APLCL_SUCCESS);

    /* logits (and a starting gradient to accumulate onto) in the storage type */
    size_t xb = dt == APLCL_DTYPE_F32 ? 4 : 2;
    void *xs = tu_xmalloc(c.n * xb), *g0 = tu_xmalloc(c.n * xb);
    float *g0f = tu_xmalloc(c.n * sizeof(float));
    cli_rng r = cli_rng_seed(seed ^ 0x5555);
    for (size_t i = 0; i < c.n; ++i)
        g0f[i] = accumulate ? (float)cli_rng_range(&r, -1, 1) : 0.0f;
    cases_to_storage(dt, c.x, xs, c.n); /* c.x is already what the storage holds */
    cases_to_storage(dt, g0f, g0, c.n);
    aplcl_io io = aplcl_io_default();
    io.dtype = dt;
    io.logits = upload(xs, c.n * xb);
    cases_targets t;
    CHECK_STATUS(cases_pack_targets(fmt, rows, cols, c.y, with_ignore, &t), APLCL_SUCCESS);
    if (fmt == APLCL_TARGET_CSR) { /* every positive listed */
        size_t positives = 0;
        for (size_t i = 0; i < c.n; ++i)
            positives += c.y[i] == 1.0f;
        CHECK_EQ(t.nnz, positives);
    }
    io.targets.format = fmt;
    cl_mem tdata = upload(t.data, t.data_bytes);
    cl_mem taux = fmt == APLCL_TARGET_CSR || t.aux ? upload(t.aux, t.aux_bytes) : NULL;
    if (fmt == APLCL_TARGET_BITS)
        io.targets.ignore = taux;
    if (fmt == APLCL_TARGET_CSR) {
        io.targets.indices = taux;
        io.targets.nnz = t.nnz;
    }
    cases_targets_free(&t);
    io.targets.data = tdata;
    cl_mem grad = in_place ? io.logits : upload(g0, c.n * xb);
    io.grad = grad;
    io.grad_accumulate = accumulate;
    io.elem_loss = upload(g0f, c.n * 4); /* any contents: overwritten */
    float loss_f = -1.0f;
    io.loss = upload(&loss_f, 4);
    uint64_t counts[APLCL_COUNT_LEN] = {0, 0, 0};
    io.counts = upload(counts, sizeof counts);

    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute_io(g_ctx, p, rows, cols, &io, 0, NULL, &ev), APLCL_SUCCESS);
    if (ev) {
        clWaitForEvents(1, &ev);
        clReleaseEvent(ev);
    }
    void *gout = tu_xmalloc(c.n * xb);
    float *gf = tu_xmalloc(c.n * 4), *lf = tu_xmalloc(c.n * 4);
    download(grad, gout, c.n * xb);
    download(io.elem_loss, lf, c.n * 4);
    download(io.loss, &loss_f, 4);
    download(io.counts, counts, sizeof counts);
    cases_from_storage(dt, gout, gf, c.n);

    double scale = fabs(cases_grad_scale(p, c.rcounts[APLCL_COUNT_ELEMENTS]));
    for (size_t i = 0; i < c.n; ++i)
        c.rg[i] += g0f[i]; /* accumulate: the starting values */
    TU_CMP_CHECK("loss", tu_compare_f32(lf, c.rl, c.n, CASES_RTOL, CASES_ATOL), c.x);
    /* accumulating adds the start value before rounding: its magnitude sets the rounding */
    double atol = accumulate ? cases_grad_acc_atol(dt, scale, 1.0) : cases_grad_atol(dt, scale);
    TU_CMP_CHECK("grad", tu_compare_f32(gf, c.rg, c.n, cases_grad_rtol(dt), atol), c.x);
    CHECK_NEAR(loss_f, c.rloss, 1e-5, 1e-6);
    CHECK_EQ_U64(counts[APLCL_COUNT_ELEMENTS], c.rcounts[APLCL_COUNT_ELEMENTS]);
    CHECK_EQ_U64(counts[APLCL_COUNT_INVALID_TARGETS], 0);
    CHECK_EQ_U64(counts[APLCL_COUNT_NONFINITE_LOGITS], 0);

    tu_case_end(mark, "%-28s %zux%zu targets %-4s storage %-4s%s%s%s", label, rows, cols,
                cases_format_name(fmt), cases_dtype_name(dt), with_ignore ? " +ignore" : "",
                accumulate ? " accumulate" : "", in_place ? " in-place" : "");
    if (!in_place)
        clReleaseMemObject(grad);
    clReleaseMemObject(io.logits);
    clReleaseMemObject(tdata);
    if (taux)
        clReleaseMemObject(taux);
    clReleaseMemObject(io.elem_loss);
    clReleaseMemObject(io.loss);
    clReleaseMemObject(io.counts);
    free(xs), free(g0), free(g0f), free(gout), free(gf), free(lf);
    free_case(&c);
}

/* CSR with bad entries: they are counted as invalid targets and nothing is read past nnz. */
static void csr_invalid_entries(void) {
    int mark = tu_case_begin();
    const size_t rows = 4, cols = 40;
    float x[4 * 40];
    for (size_t i = 0; i < rows * cols; ++i)
        x[i] = (float)((int)(i % 13) - 6);
    /* row 0: fine {3, 9}; row 1: unsorted {20, 5}; row 2: index 40 >= cols; row 3: pointer past
     * nnz */
    uint64_t rp[5] = {0, 2, 4, 5, 9};
    uint32_t idx[5] = {3, 9, 20, 5, 40};
    aplcl_io io = aplcl_io_default();
    io.logits = upload(x, sizeof x);
    io.targets.format = APLCL_TARGET_CSR;
    io.targets.data = upload(rp, sizeof rp);
    io.targets.indices = upload(idx, sizeof idx);
    io.targets.nnz = 5;
    uint64_t counts[APLCL_COUNT_LEN] = {0, 0, 0};
    io.counts = upload(counts, sizeof counts);
    io.grad = upload(x, sizeof x);
    aplcl_params p = aplcl_params_default();
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, &ev), APLCL_SUCCESS);
    clWaitForEvents(1, &ev);
    clReleaseEvent(ev);
    download(io.counts, counts, sizeof counts);
    /* row 1: idx 5 not above 20 -> 1; row 2: 40 >= cols -> 1; row 3: rp[4] = 9 > nnz -> 1 */
    CHECK_EQ_U64(counts[APLCL_COUNT_INVALID_TARGETS], 3);
    CHECK_EQ_U64(counts[APLCL_COUNT_ELEMENTS], rows * cols);
    /* row 0 is exact: positives at 3 and 9 */
    float g[4 * 40], yd[40];
    double rg[40];
    download(io.grad, g, sizeof g);
    for (size_t c = 0; c < cols; ++c)
        yd[c] = (c == 3 || c == 9) ? 1.0f : 0.0f;
    CHECK_STATUS(aplcl_ref_compute(&p, 1, cols, x, yd, rg, NULL, NULL), APLCL_SUCCESS);
    TU_CMP_CHECK("csr row 0 grad", tu_compare_f32(g, rg, cols, CASES_RTOL, CASES_ATOL), x);
    tu_case_end(mark, "csr invalid entries are counted (3), valid rows exact");
    clReleaseMemObject(io.logits);
    clReleaseMemObject(io.targets.data);
    clReleaseMemObject(io.targets.indices);
    clReleaseMemObject(io.counts);
    clReleaseMemObject(io.grad);
}

/* aplcl_compute_io's own argument checks (the dense-format ones are in test_bad_input). Nothing
 * may be written on a rejected call: the gradient keeps its sentinel. */
static void io_bad_inputs(void) {
    int mark = tu_case_begin();
    enum { R = 3, C = 40 };
    float x[R * C], sentinel[R * C], back[R * C];
    for (int i = 0; i < R * C; ++i)
        x[i] = (float)(i % 7) - 3.0f, sentinel[i] = 12345.0f;
    uint32_t bits[R * 2] = {0};
    uint64_t rp[R + 1] = {0, 1, 1, 2};
    uint32_t idx[2] = {1, 2};
    aplcl_params p = aplcl_params_default();
    cl_mem bx = upload(x, sizeof x), bg = upload(sentinel, sizeof sentinel);
    cl_mem bbits = upload(bits, sizeof bits), brp = upload(rp, sizeof rp), bidx = upload(idx, 8);
    cl_mem small = upload(bits, 4 * (R * 2 - 1));
    aplcl_io io = aplcl_io_default();
    io.logits = bx;
    io.grad = bg;
    io.targets.format = APLCL_TARGET_BITS;
    io.targets.data = bbits;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &io, 0, NULL, NULL), APLCL_SUCCESS);
    clFinish(aplcl_ctx_queue(g_ctx));
    download(bg, back, sizeof back);
    CHECK(back[0] != 12345.0f); /* the valid call wrote; refill for the rejected ones */
    clEnqueueWriteBuffer(aplcl_ctx_queue(g_ctx), bg, CL_TRUE, 0, sizeof sentinel, sentinel, 0, NULL,
                         NULL);

    aplcl_io bad = io;
    bad.dtype = (aplcl_dtype)7;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL), APLCL_ERR_INVALID_PARAMS);
    bad = io;
    bad.targets.data = small; /* one word short */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL),
                 APLCL_ERR_BUFFER_TOO_SMALL);
    bad = io;
    bad.targets.ignore = small;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL),
                 APLCL_ERR_BUFFER_TOO_SMALL);
    bad = io;
    bad.dtype = APLCL_DTYPE_F16; /* half the bytes: the buffers are big enough, but ... */
    bad.grad = bx;               /* ... accumulating in place is refused */
    bad.grad_accumulate = 1;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL), APLCL_ERR_BUFFER_OVERLAP);
    bad = io;
    bad.grad_accumulate = 2;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL), APLCL_ERR_INVALID_PARAMS);
    bad = io;
    bad.targets.format = APLCL_TARGET_CSR;
    bad.targets.data = brp;
    bad.targets.nnz = 2; /* indices missing */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL), APLCL_ERR_NULL_ARGUMENT);
    bad.targets.indices = bidx;
    bad.targets.nnz = 3; /* more than the buffer holds */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL),
                 APLCL_ERR_BUFFER_TOO_SMALL);
    bad.targets.nnz = 2;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R + 1, C, &bad, 0, NULL, NULL),
                 APLCL_ERR_BUFFER_TOO_SMALL); /* row pointers: R + 2 needed */
    bad.targets.format = (aplcl_target_format)9;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, &bad, 0, NULL, NULL),
                 APLCL_ERR_INVALID_TARGET_FORMAT);
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, R, C, NULL, 0, NULL, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK_STATUS(aplcl_compute(g_ctx, &p, R, C, bx, 0, bbits, 0, APLCL_TARGET_BITS, bg, 0, NULL, 0,
                               NULL, 0, NULL, 0, 0, NULL, NULL),
                 APLCL_ERR_INVALID_TARGET_FORMAT); /* the dense-only entry point */
    clFinish(aplcl_ctx_queue(g_ctx));
    download(bg, back, sizeof back);
    int untouched = 1;
    for (int i = 0; i < R * C; ++i)
        untouched &= back[i] == 12345.0f;
    CHECK(untouched);
    tu_case_end(mark, "aplcl_compute_io rejects bad storage/format arguments, writes nothing");
    cl_mem all[] = {bx, bg, bbits, brp, bidx, small};
    cli_release_all(all, sizeof all / sizeof all[0]);
}

int main(void) {
    int rc = tu_ctx_create(&g_ctx);
    if (rc)
        return rc;
    {
        int mark = tu_case_begin();
        CHECK_STATUS(aplcl_ctx_prepare(g_ctx, tu_shaped_dtype(APLCL_TARGET_CSR, APLCL_DTYPE_BF16),
                                       APLCL_TARGET_CSR),
                     APLCL_SUCCESS);
        CHECK_STATUS(aplcl_ctx_prepare(g_ctx, (aplcl_dtype)3, APLCL_TARGET_CSR),
                     APLCL_ERR_INVALID_PARAMS);
        CHECK_STATUS(aplcl_ctx_prepare(g_ctx, APLCL_DTYPE_F16, (aplcl_target_format)4),
                     APLCL_ERR_INVALID_TARGET_FORMAT);
        CHECK_STATUS(aplcl_ctx_prepare(NULL, APLCL_DTYPE_F16, APLCL_TARGET_CSR),
                     APLCL_ERR_NULL_ARGUMENT);
        tu_case_end(mark, "aplcl_ctx_prepare builds a variant ahead, rejects bad arguments");
    }
    aplcl_params def = aplcl_params_default();
    aplcl_params mean = def;
    mean.reduction = APLCL_REDUCE_MEAN;
    mean.focus_grad = 1;
    aplcl_params asl = aplcl_params_asl(4.0f, 1.0f, 0.05f);
    asl.grad_scale = 0.25f;
    const aplcl_dtype dts[3] = {APLCL_DTYPE_F32, APLCL_DTYPE_F16, APLCL_DTYPE_BF16};
    /* shapes: cols not a multiple of 32 or of the vector width; one row; many rows */
    const size_t shapes[][2] = {{1, 1}, {3, 37}, {17, 80}, {64, 1000}, {1, 70001}};
    uint64_t seed = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (int d = 0; d < 3; ++d) {
            size_t R = shapes[s][0], C = shapes[s][1];
            run_case("default", &def, R, C, APLCL_TARGET_BITS, dts[d], 0, 0, 0, seed++);
            run_case("mean+focus (count pass)", &mean, R, C, APLCL_TARGET_BITS, dts[d], 1, 0, 0,
                     seed++);
            run_case("default", &def, R, C, APLCL_TARGET_CSR, dts[d], 0, 0, 0, seed++);
            run_case("mean+focus (host count)", &mean, R, C, APLCL_TARGET_CSR, dts[d], 0, 0, 0,
                     seed++);
            run_case("asl, dense f32 targets", &asl, R, C, APLCL_TARGET_F32, dts[d], 1, 0, 0,
                     seed++);
            run_case("asl accumulate", &asl, R, C, APLCL_TARGET_CSR, dts[d], 0, 1, 0, seed++);
            run_case("default in place", &def, R, C, APLCL_TARGET_BITS, dts[d], 1, 0, 1, seed++);
        }
    csr_invalid_entries();
    io_bad_inputs();
    aplcl_ctx_destroy(g_ctx);
    return tu_exit_code();
}
