/* test_head_edges: the linear head at the edges of its contract (issue 7's smaller defects).
 *
 * A budget of SIZE_MAX gives a plan the device can allocate; the head and aplcl_params_validate
 * accept and reject the same gradient multipliers, and an accepted extreme one keeps every gradient
 * finite; a non-finite feature in X behaves as aplcl.h says (its row's logits are counted and
 * contribute nothing, and dW's column of that feature is NaN). Not here: the head's numerics
 * against the reference (test_head).
 */
#include "test_util.h"

#include <float.h>

static aplcl_ctx *g_ctx;
static aplcl_head *g_head;

static cl_mem buf(size_t bytes, const void *host) {
    cl_int err;
    cl_mem m = clCreateBuffer(aplcl_ctx_cl_context(g_ctx),
                              CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                              (void *)host, &err);
    CHECK_EQ(err, CL_SUCCESS);
    return m;
}

static void read_back(cl_mem m, void *host, size_t bytes) {
    CHECK_EQ(clEnqueueReadBuffer(aplcl_ctx_queue(g_ctx), m, CL_TRUE, 0, bytes, host, 0, NULL, NULL),
             CL_SUCCESS);
}

/* SIZE_MAX means "as much as the device can give": every buffer within
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE and all of them within global memory (the plan used to say
 * SIZE_MAX bytes, one chunk of all rows, and the compute then failed with CL error -61). */
static void test_huge_budget(void) {
    int mark = tu_case_begin();
    cl_ulong max_alloc = 0, global = 0;
    cl_device_id dev = aplcl_ctx_device(g_ctx);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    const size_t d = 16, c = 1024;
    size_t n = (size_t)(max_alloc / (c * sizeof(float))) + 1000; /* logits > one allocation */
    if (n > 0x7fffffff)
        n = 0x7fffffff;
    size_t rows = 0, bytes = 0;
    CHECK_STATUS(aplcl_head_plan(g_head, n, d, c, NULL, SIZE_MAX, &rows, &bytes), APLCL_SUCCESS);
    CHECK_GE(rows, 1);
    CHECK(rows < n);
    CHECK(bytes < SIZE_MAX);
    CHECK((cl_ulong)rows * c * sizeof(float) <= max_alloc);
    CHECK((cl_ulong)bytes <= global);
    size_t again = 0;
    CHECK_STATUS(aplcl_head_scratch_bytes(g_head, n, d, c, NULL, rows, &again), APLCL_SUCCESS);
    CHECK_EQ(again, bytes);
    tu_case_end(mark, "plan(n=%zu, C=%zu, budget SIZE_MAX): %zu rows, %zu bytes (max alloc %llu)",
                n, c, rows, bytes, (unsigned long long)max_alloc);

    /* And a call with that budget on a shape that fits runs. */
    mark = tu_case_begin();
    float x[4 * 3] = {0.5f, -1, 2, 0, 1, 1, -2, 0.25f, 3, 1, -1, 0};
    float w[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f}, y[4 * 2] = {1, 0, 0, 1, 1, 1, 0, 0};
    aplcl_head_io io = aplcl_head_io_default();
    io.x = buf(sizeof x, x), io.w = buf(sizeof w, w), io.targets.data = buf(sizeof y, y);
    io.loss = buf(sizeof(float), NULL);
    aplcl_params p = aplcl_params_default();
    CHECK_STATUS(aplcl_head_compute(g_head, &p, 4, 3, 2, &io, SIZE_MAX, 0, NULL, NULL),
                 APLCL_SUCCESS);
    float loss = NAN;
    read_back(io.loss, &loss, sizeof loss);
    CHECK(isfinite(loss) && loss > 0.0f);
    cl_mem ms[] = {io.x, io.w, io.targets.data, io.loss};
    for (size_t i = 0; i < 4; ++i)
        clReleaseMemObject(ms[i]);
    tu_case_end(mark, "compute with budget SIZE_MAX runs (loss %g)", (double)loss);
}

/* aplcl_params_validate's rule (aplcl.h) is the head's rule, and what it accepts is safe: the
 * largest accepted grad_scale keeps every dloss/dlogit finite on extreme logits. */
static void test_params_agree(void) {
    int mark = tu_case_begin();
    enum { N = 4, D = 2, C = 8 };
    float x[N * D], w[C * D], y[N * C];
    for (int i = 0; i < N * D; ++i)
        x[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < C * D; ++i)
        w[i] = (i % 2 ? 4.0f : -4.0f) * (float)(i % 7);
    for (int i = 0; i < N * C; ++i)
        y[i] = (float)(i % 3 == 0);
    aplcl_head_io io = aplcl_head_io_default();
    io.x = buf(sizeof x, x), io.w = buf(sizeof w, w), io.targets.data = buf(sizeof y, y);
    io.dx = buf(sizeof x, NULL), io.dw = buf(sizeof w, NULL);
    io.loss = buf(sizeof(float), NULL);
    struct {
        const char *name;
        aplcl_reduction r;
        double norm;
        float scale;
        int focus;
    } cases[] = {{"MEAN normalizer 1e-39", APLCL_REDUCE_MEAN, 1e-39, 1.0f, 0},
                 {"MEAN normalizer 2e-38", APLCL_REDUCE_MEAN, 2e-38, 1.0f, 0},
                 {"MEAN normalizer 1e39", APLCL_REDUCE_MEAN, 1e39, 1.0f, 0},
                 {"MEAN normalizer 1e-30", APLCL_REDUCE_MEAN, 1e-30, 1.0f, 0},
                 {"MEAN count, grad_scale FLT_MAX", APLCL_REDUCE_MEAN, 0.0, FLT_MAX, 0},
                 {"MEAN 123, grad_scale FLT_MAX", APLCL_REDUCE_MEAN, 123.0, FLT_MAX, 0},
                 {"SUM, grad_scale FLT_MAX", APLCL_REDUCE_SUM, 0.0, FLT_MAX, 0},
                 {"NONE, grad_scale -FLT_MAX", APLCL_REDUCE_NONE, 0.0, -FLT_MAX, 0},
                 {"SUM, grad_scale 1e37", APLCL_REDUCE_SUM, 0.0, 1e37f, 0},
                 {"SUM, grad_scale 4e37", APLCL_REDUCE_SUM, 0.0, 4e37f, 0},
                 {"SUM, grad_scale 4e37, focus", APLCL_REDUCE_SUM, 0.0, 4e37f, 1},
                 {"MEAN count, grad_scale 2e37, focus", APLCL_REDUCE_MEAN, 0.0, 2e37f, 1},
                 {"SUM, grad_scale 65536", APLCL_REDUCE_SUM, 0.0, 65536.0f, 1}};
    int accepted = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        aplcl_params p = aplcl_params_default();
        p.reduction = cases[i].r, p.normalizer = cases[i].norm, p.grad_scale = cases[i].scale;
        p.focus_grad = cases[i].focus;
        aplcl_status want = aplcl_params_validate(&p);
        aplcl_status got = aplcl_head_compute(g_head, &p, N, D, C, &io, 1 << 20, 0, NULL, NULL);
        if (got != want)
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: validate %s, head %s", cases[i].name,
                        tu_status_name(want), tu_status_name(got));
        if (got != APLCL_SUCCESS)
            continue;
        ++accepted;
        /* Only dloss/dlogits is bounded by the rule: dX and dW multiply it by W and X and may
         * still overflow at such scales (aplcl.h). The loss is not scaled. */
        float dw[C * D], loss;
        read_back(io.loss, &loss, sizeof loss);
        if (!isfinite(loss))
            TU_FAIL_AT_(__FILE__, __LINE__, "%s: accepted, but loss %g", cases[i].name,
                        (double)loss);
        /* dw accumulates: zero it for the next call */
        memset(dw, 0, sizeof dw);
        CHECK_EQ(clEnqueueWriteBuffer(aplcl_ctx_queue(g_ctx), io.dw, CL_TRUE, 0, sizeof dw, dw, 0,
                                      NULL, NULL),
                 CL_SUCCESS);

        /* the loss's own gradient, through aplcl_host_compute: finite per element */
        float lg[N * C], lx[N * C];
        const float extreme[8] = {-1e30f, -100.0f, -20.0f, -3.0f, 0.5f, 20.0f, 100.0f, 1e30f};
        for (int k = 0; k < N * C; ++k)
            lx[k] = k < 8 ? extreme[k] : (float)(k % 17) * 6.0f - 48.0f;
        CHECK_STATUS(aplcl_host_compute(g_ctx, &p, N, C, lx, y, lg, NULL, NULL), APLCL_SUCCESS);
        for (int k = 0; k < N * C; ++k)
            if (!isfinite(lg[k])) {
                TU_FAIL_AT_(__FILE__, __LINE__, "%s: host_compute gradient %g at x=%g",
                            cases[i].name, (double)lg[k], (double)lx[k]);
                break;
            }
    }
    /* the rejected ones are rejected by the element-wise entry points too */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        aplcl_params p = aplcl_params_default();
        p.reduction = cases[i].r, p.normalizer = cases[i].norm, p.grad_scale = cases[i].scale;
        p.focus_grad = cases[i].focus;
        if (aplcl_params_validate(&p) == APLCL_SUCCESS)
            continue;
        float lx[2] = {0, 1}, ly[2] = {1, 0}, lg[2];
        CHECK_STATUS(aplcl_host_compute(g_ctx, &p, 1, 2, lx, ly, lg, NULL, NULL),
                     APLCL_ERR_INVALID_PARAMS);
    }
    CHECK_EQ(accepted, 6);
    cl_mem ms[] = {io.x, io.w, io.targets.data, io.dx, io.dw, io.loss};
    for (size_t i = 0; i < 6; ++i)
        clReleaseMemObject(ms[i]);
    tu_case_end(mark, "head and validate agree on %zu multipliers; %d accepted ones stay finite",
                sizeof cases / sizeof cases[0], accepted);
}

/* aplcl.h: a non-finite feature X[r,k] makes row r's logits non-finite (counted, no loss, a zero
 * dloss/dlogit), dX's row r is 0, and dW's column k is NaN (0 * NaN in G^T X); every other
 * output is finite and equals the result without row r. */
static void test_nonfinite_feature(void) {
    int mark = tu_case_begin();
    enum { N = 3, D = 4, C = 5, BAD_ROW = 1, BAD_COL = 2 };
    float x[N * D], w[C * D], y[N * C];
    for (int i = 0; i < N * D; ++i)
        x[i] = 0.25f * (float)((i * 7) % 9) - 1.0f;
    for (int i = 0; i < C * D; ++i)
        w[i] = 0.1f * (float)((i * 5) % 11) - 0.5f;
    for (int i = 0; i < N * C; ++i)
        y[i] = (float)(i % 2);
    /* the same problem without the bad row: its targets ignored */
    float y_ign[N * C];
    memcpy(y_ign, y, sizeof y);
    for (int c = 0; c < C; ++c)
        y_ign[BAD_ROW * C + c] = -1.0f;
    aplcl_params p = aplcl_params_default();
    float dx0[N * D], dw0[C * D], loss0;
    float dx1[N * D], dw1[C * D], loss1;
    cl_ulong cnt[APLCL_COUNT_LEN];
    for (int pass = 0; pass < 2; ++pass) {
        float xx[N * D];
        memcpy(xx, x, sizeof x);
        if (pass == 1)
            xx[BAD_ROW * D + BAD_COL] = NAN;
        float zero[C * D] = {0};
        aplcl_head_io io = aplcl_head_io_default();
        io.x = buf(sizeof xx, xx), io.w = buf(sizeof w, w);
        io.targets.data = buf(sizeof y, pass == 1 ? y : y_ign);
        io.dx = buf(sizeof x, NULL), io.dw = buf(sizeof w, zero);
        io.loss = buf(sizeof(float), NULL), io.counts = buf(sizeof cnt, NULL);
        CHECK_STATUS(aplcl_head_compute(g_head, &p, N, D, C, &io, 1 << 20, 0, NULL, NULL),
                     APLCL_SUCCESS);
        read_back(io.dx, pass ? dx1 : dx0, sizeof dx0);
        read_back(io.dw, pass ? dw1 : dw0, sizeof dw0);
        read_back(io.loss, pass ? &loss1 : &loss0, sizeof loss0);
        if (pass == 1)
            read_back(io.counts, cnt, sizeof cnt);
        cl_mem ms[] = {io.x, io.w, io.targets.data, io.dx, io.dw, io.loss, io.counts};
        for (size_t i = 0; i < 7; ++i)
            clReleaseMemObject(ms[i]);
    }
    CHECK_EQ_U64(cnt[APLCL_COUNT_NONFINITE_LOGITS], C);
    CHECK_EQ_U64(cnt[APLCL_COUNT_ELEMENTS], N * C);
    CHECK_NEAR(loss1, loss0, 1e-6, 0);
    for (int r = 0; r < N; ++r)
        for (int k = 0; k < D; ++k) {
            float v = dx1[r * D + k];
            if (r == BAD_ROW)
                CHECK_EQ_DBL(v, 0.0);
            else
                CHECK_NEAR(v, dx0[r * D + k], 1e-6, 1e-9);
        }
    for (int c = 0; c < C; ++c)
        for (int k = 0; k < D; ++k) {
            float v = dw1[c * D + k];
            if (k == BAD_COL)
                CHECK(isnan(v));
            else
                CHECK_NEAR(v, dw0[c * D + k], 1e-6, 1e-9);
        }
    tu_case_end(mark,
                "NaN feature: %d logits counted, loss and dX as without the row, dW column "
                "NaN (as documented)",
                (int)C);
}

int main(void) {
    int rc = tu_ctx_create(&g_ctx);
    if (rc)
        return rc;
    aplcl_status st = aplcl_head_create(&g_head, g_ctx);
    if (st != APLCL_SUCCESS) {
        printf("aplcl_head_create: %s\n", tu_status_name(st));
        aplcl_ctx_destroy(g_ctx);
        return 1;
    }
    test_huge_budget();
    test_params_agree();
    test_nonfinite_feature();
    aplcl_head_destroy(g_head);
    aplcl_ctx_destroy(g_ctx);
    return tu_exit_code();
}
