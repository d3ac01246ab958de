/* test_empty: empty shapes (rows == 0 or cols == 0) in every call of the C API.
 *
 * aplcl.h ("empty shapes"): a batch with no elements. The device, host, reference and head calls
 * all succeed, read nothing (logits and targets may be NULL), write the reduced loss 0 for every
 * reduction and all counters 0, and write no gradient or per-element loss. Parameters are still
 * validated, and the device calls still check the loss and counts buffers and return an event
 * that completes. Not here: non-empty shapes (every other test).
 */
#include "test_util.h"

static const aplcl_reduction REDUCTIONS[3] = {APLCL_REDUCE_SUM, APLCL_REDUCE_MEAN,
                                              APLCL_REDUCE_NONE};
static const size_t SHAPES[3][2] = {{0, 5}, {4, 0}, {0, 0}};

/* Sentinel-filled loss and counts buffers: the call must overwrite them with zeros. */
typedef struct {
    cl_mem loss, counts, grad;
} outs;

static outs make_outs(aplcl_ctx *ctx) {
    cl_context cc = aplcl_ctx_cl_context(ctx);
    float lf[2] = {-3.0f, -3.0f}, gf[4] = {9.0f, 9.0f, 9.0f, 9.0f};
    cl_ulong cn[APLCL_COUNT_LEN + 1];
    for (int k = 0; k <= APLCL_COUNT_LEN; ++k)
        cn[k] = 77;
    outs o = {tu_buffer(cc, sizeof lf, lf), tu_buffer(cc, sizeof cn, cn),
              tu_buffer(cc, sizeof gf, gf)};
    return o;
}

/* loss at [1], counts from [1]: offsets are honoured and nothing past them is touched. */
static void check_outs(aplcl_ctx *ctx, const outs *o, const char *what) {
    cl_command_queue q = aplcl_ctx_queue(ctx);
    float lf[2];
    cl_ulong cn[APLCL_COUNT_LEN + 1];
    float gf[4];
    tu_read(q, o->loss, 0, lf, sizeof lf);
    tu_read(q, o->counts, 0, cn, sizeof cn);
    tu_read(q, o->grad, 0, gf, sizeof gf);
    if (!(lf[0] == -3.0f && lf[1] == 0.0f && !signbit(lf[1])))
        TU_FAIL_AT_(__FILE__, __LINE__, "%s: loss buffer %g %g, want -3 0", what, lf[0], lf[1]);
    CHECK_EQ_U64(cn[0], 77);
    for (int k = 1; k <= APLCL_COUNT_LEN; ++k)
        CHECK_EQ_U64(cn[k], 0);
    for (int i = 0; i < 4; ++i)
        CHECK(gf[i] == 9.0f); /* no gradient written */
}

static void release_outs(outs *o) {
    clReleaseMemObject(o->loss), clReleaseMemObject(o->counts), clReleaseMemObject(o->grad);
}

static void test_device(aplcl_ctx *ctx) {
    int mark = tu_case_begin();
    for (int s = 0; s < 3; ++s)
        for (int r = 0; r < 3; ++r) {
            aplcl_params p = aplcl_params_default();
            p.reduction = REDUCTIONS[r];
            size_t rows = SHAPES[s][0], cols = SHAPES[s][1];
            char what[96];
            snprintf(what, sizeof what, "aplcl_compute_io %zux%zu reduction %d", rows, cols, r);
            outs o = make_outs(ctx);
            aplcl_io io = aplcl_io_default(); /* logits and targets NULL: nothing is read */
            io.grad = o.grad;
            io.loss = o.loss, io.loss_offset = 1;
            io.counts = o.counts, io.counts_offset = 1;
            cl_event ev = NULL;
            CHECK_STATUS(aplcl_compute_io(ctx, &p, rows, cols, &io, 0, NULL, &ev), APLCL_SUCCESS);
            CHECK(ev != NULL);
            if (ev) {
                CL_CHECK(clWaitForEvents(1, &ev));
                clReleaseEvent(ev);
            }
            check_outs(ctx, &o, what);
            /* the simple call, too */
            outs o2 = make_outs(ctx);
            snprintf(what, sizeof what, "aplcl_compute %zux%zu reduction %d", rows, cols, r);
            CHECK_STATUS(aplcl_compute(ctx, &p, rows, cols, NULL, 0, NULL, 0, APLCL_TARGET_F32,
                                       o2.grad, 0, NULL, 0, o2.loss, 1, o2.counts, 1, 0, NULL,
                                       NULL),
                         APLCL_SUCCESS);
            CL_CHECK(clFinish(aplcl_ctx_queue(ctx)));
            check_outs(ctx, &o2, what);
            release_outs(&o);
            release_outs(&o2);
        }
    /* still checked: parameters, the loss buffer's size, a wait list */
    outs o = make_outs(ctx);
    aplcl_params bad = aplcl_params_default();
    bad.gamma_neg = -1.0f;
    aplcl_io io = aplcl_io_default();
    io.loss = o.loss, io.loss_offset = 2; /* past the 2 floats */
    aplcl_params p = aplcl_params_default();
    CHECK_STATUS(aplcl_compute_io(ctx, &bad, 0, 5, &io, 0, NULL, NULL), APLCL_ERR_INVALID_PARAMS);
    CHECK_STATUS(aplcl_compute_io(ctx, &p, 0, 5, &io, 0, NULL, NULL), APLCL_ERR_BUFFER_TOO_SMALL);
    io.loss_offset = 0;
    CHECK_STATUS(aplcl_compute_io(ctx, &p, 0, 5, &io, 1, NULL, NULL), APLCL_ERR_NULL_ARGUMENT);
    /* and no output at all: still an event */
    aplcl_io none = aplcl_io_default();
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute_io(ctx, &p, 3, 0, &none, 0, NULL, &ev), APLCL_SUCCESS);
    CHECK(ev != NULL);
    if (ev) {
        CL_CHECK(clWaitForEvents(1, &ev));
        clReleaseEvent(ev);
    }
    release_outs(&o);
    tu_case_end(mark, "device calls, 3 empty shapes x SUM/MEAN/NONE: loss 0, counts 0, no grad");
}

static void test_host_and_ref(aplcl_ctx *ctx) {
    int mark = tu_case_begin();
    for (int s = 0; s < 3; ++s)
        for (int r = 0; r < 3; ++r) {
            aplcl_params p = aplcl_params_default();
            p.reduction = REDUCTIONS[r];
            size_t rows = SHAPES[s][0], cols = SHAPES[s][1];
            float g[2] = {9.0f, 9.0f};
            double loss = -3.0, rg[2] = {9.0, 9.0};
            CHECK_STATUS(aplcl_host_compute(ctx, &p, rows, cols, NULL, NULL, g, NULL, &loss),
                         APLCL_SUCCESS);
            CHECK_EQ_DBL(loss, 0.0);
            aplcl_host_io hio = {0};
            hio.target_format = APLCL_TARGET_U8;
            hio.grad = g;
            hio.loss = -3.0;
            for (int k = 0; k < APLCL_COUNT_LEN; ++k)
                hio.counts[k] = 77;
            CHECK_STATUS(aplcl_host_compute_io(ctx, &p, rows, cols, &hio), APLCL_SUCCESS);
            CHECK_EQ_DBL(hio.loss, 0.0);
            for (int k = 0; k < APLCL_COUNT_LEN; ++k)
                CHECK_EQ_U64(hio.counts[k], 0);
            CHECK(g[0] == 9.0f && g[1] == 9.0f);

            loss = -3.0;
            CHECK_STATUS(aplcl_ref_compute(&p, rows, cols, NULL, NULL, rg, NULL, &loss),
                         APLCL_SUCCESS);
            CHECK_EQ_DBL(loss, 0.0);
            aplcl_ref_io rio = {0};
            rio.grad = rg;
            rio.loss = -3.0;
            for (int k = 0; k < APLCL_COUNT_LEN; ++k)
                rio.counts[k] = 77;
            CHECK_STATUS(aplcl_ref_compute_io(&p, rows, cols, &rio), APLCL_SUCCESS);
            CHECK_EQ_DBL(rio.loss, 0.0);
            for (int k = 0; k < APLCL_COUNT_LEN; ++k)
                CHECK_EQ_U64(rio.counts[k], 0);
            CHECK(rg[0] == 9.0 && rg[1] == 9.0);
        }
    aplcl_params bad = aplcl_params_default();
    bad.clip = 2.0f;
    double loss = 0.0;
    CHECK_STATUS(aplcl_host_compute(ctx, &bad, 0, 3, NULL, NULL, NULL, NULL, &loss),
                 APLCL_ERR_INVALID_PARAMS);
    CHECK_STATUS(aplcl_ref_compute(&bad, 0, 3, NULL, NULL, NULL, NULL, &loss),
                 APLCL_ERR_INVALID_PARAMS);
    aplcl_host_io hio = {0};
    hio.target_format = APLCL_TARGET_BITS; /* host calls take dense targets only */
    aplcl_params p = aplcl_params_default();
    CHECK_STATUS(aplcl_host_compute_io(ctx, &p, 0, 3, &hio), APLCL_ERR_INVALID_TARGET_FORMAT);
    CHECK_STATUS(aplcl_host_compute(NULL, &p, 0, 3, NULL, NULL, NULL, NULL, &loss),
                 APLCL_ERR_NULL_ARGUMENT);
    tu_case_end(mark, "host and reference calls, 3 empty shapes x SUM/MEAN/NONE: loss 0, counts 0");
}

#ifdef APLCL_HAS_HEAD
static void test_head(aplcl_ctx *ctx) {
    int mark = tu_case_begin();
    aplcl_head *h = NULL;
    CHECK_STATUS(aplcl_head_create(&h, ctx), APLCL_SUCCESS);
    if (!h)
        return;
    cl_context cc = aplcl_ctx_cl_context(ctx);
    float dw0[6] = {1, 2, 3, 4, 5, 6};
    cl_mem dw = tu_buffer(cc, sizeof dw0, dw0);
    const size_t shapes[3][3] = {{0, 2, 3}, {4, 2, 0}, {0, 2, 0}}; /* n, d, c */
    for (int s = 0; s < 3; ++s)
        for (int r = 0; r < 3; ++r) {
            aplcl_params p = aplcl_params_default();
            p.reduction = REDUCTIONS[r];
            outs o = make_outs(ctx);
            aplcl_head_io io = aplcl_head_io_default(); /* x, w, targets NULL: nothing read */
            io.dw = dw;
            io.loss = o.loss, io.loss_offset = 1;
            io.counts = o.counts, io.counts_offset = 1;
            cl_event ev = NULL;
            CHECK_STATUS(aplcl_head_compute(h, &p, shapes[s][0], shapes[s][1], shapes[s][2], &io,
                                            1 << 20, 0, NULL, &ev),
                         APLCL_SUCCESS);
            if (ev) {
                CL_CHECK(clWaitForEvents(1, &ev));
                clReleaseEvent(ev);
            }
            char what[64];
            snprintf(what, sizeof what, "aplcl_head_compute n %zu c %zu", shapes[s][0],
                     shapes[s][2]);
            check_outs(ctx, &o, what);
            release_outs(&o);
        }
    float got[6];
    tu_read(aplcl_ctx_queue(ctx), dw, 0, got, sizeof got);
    CHECK(memcmp(got, dw0, sizeof got) == 0); /* dW += nothing */
    aplcl_head_io io = aplcl_head_io_default();
    aplcl_params p = aplcl_params_default();
    CHECK_STATUS(aplcl_head_compute(h, &p, 0, 0, 3, &io, 1 << 20, 0, NULL, NULL),
                 APLCL_ERR_NULL_ARGUMENT); /* d == 0 is no empty batch: x, w needed */
    clReleaseMemObject(dw);
    aplcl_head_destroy(h);
    tu_case_end(mark, "head, n or c 0 x SUM/MEAN/NONE: loss 0, counts 0, dW unchanged");
}
#endif

int main(void) {
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;
    test_device(ctx);
    test_host_and_ref(ctx);
#ifdef APLCL_HAS_HEAD
    test_head(ctx);
#endif
    aplcl_ctx_destroy(ctx);
    return tu_exit_code();
}
