/* test_determinism: same inputs, same device, same bits.
 *
 * About 2e6 elements; the host and the cl_mem entry points, SUM and MEAN, each repeated 5 times,
 * must give bitwise identical gradients and losses (memcmp), and a second context on the same
 * device must reproduce them. It does not check the values themselves (test_device_vs_ref does),
 * nor determinism across devices, which the library does not promise.
 */
#include "test_util.h"

#define ROWS 2000
#define COLS 1001
#define N ((size_t)ROWS * COLS)
#define REPS 5

static float *g_x, *g_y;

static void make_inputs(void) {
    g_x = tu_xmalloc(N * sizeof(float));
    g_y = tu_xmalloc(N * sizeof(float));
    cli_rng r = cli_rng_seed(2024);
    for (size_t i = 0; i < N; i++) {
        g_x[i] = (float)cli_rng_normal(&r, -1.0, 3.0);
        double u = cli_rng_uniform(&r);
        g_y[i] = u < 0.1 ? 1.0f : (u < 0.12 ? -1.0f : (u < 0.14 ? 0.6f : 0.0f));
    }
}

/* One run's outputs. */
typedef struct outs {
    float *grad;
    double loss; /* host entry point */
    float lossf; /* cl_mem entry point */
} outs;

static int same_bits(const outs *a, const outs *b, int device_entry) {
    if (memcmp(a->grad, b->grad, N * sizeof(float)) != 0)
        return 0;
    return device_entry ? memcmp(&a->lossf, &b->lossf, sizeof(float)) == 0
                        : memcmp(&a->loss, &b->loss, sizeof(double)) == 0;
}

static void run_host(aplcl_ctx *ctx, const aplcl_params *p, outs *o) {
    CHECK_STATUS(aplcl_host_compute(ctx, p, ROWS, COLS, g_x, g_y, o->grad, NULL, &o->loss),
                 APLCL_SUCCESS);
}

/* Device entry point with buffers made for this context. */
typedef struct devbufs {
    cl_mem x, y, g, l;
} devbufs;

static devbufs make_devbufs(aplcl_ctx *ctx) {
    devbufs b = {NULL, NULL, NULL, NULL};
    cl_context c = aplcl_ctx_cl_context(ctx);
    b.x = tu_buffer(c, N * sizeof(float), g_x);
    b.y = tu_buffer(c, N * sizeof(float), g_y);
    b.g = tu_buffer(c, N * sizeof(float), NULL);
    b.l = tu_buffer(c, sizeof(float), NULL);
    return b;
}

static void free_devbufs(devbufs *b) {
    const cl_mem ms[] = {b->x, b->y, b->g, b->l};
    cli_release_all(ms, sizeof ms / sizeof ms[0]);
}

static void run_device(aplcl_ctx *ctx, const devbufs *b, const aplcl_params *p, outs *o) {
    cl_command_queue q = aplcl_ctx_queue(ctx);
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute(ctx, p, ROWS, COLS, b->x, 0, b->y, 0, APLCL_TARGET_F32, b->g, 0,
                               NULL, 0, b->l, 0, NULL, 0, 0, NULL, &ev),
                 APLCL_SUCCESS);
    cl_uint nw = ev ? 1 : 0;
    CHECK_EQ(clEnqueueReadBuffer(q, b->g, CL_TRUE, 0, N * sizeof(float), o->grad, nw,
                                 ev ? &ev : NULL, NULL),
             CL_SUCCESS);
    CHECK_EQ(clEnqueueReadBuffer(q, b->l, CL_TRUE, 0, sizeof(float), &o->lossf, nw, ev ? &ev : NULL,
                                 NULL),
             CL_SUCCESS);
    if (ev)
        clReleaseEvent(ev);
}

int main(void) {
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;
    make_inputs();

    /* A second context on the same device: a fresh OpenCL context and program. */
    aplcl_ctx *ctx2 = NULL;
    {
        cl_device_id dev = aplcl_ctx_device(ctx);
        cl_int err;
        cl_context c2 = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
        cl_command_queue q2 = c2 ? clCreateCommandQueue(c2, dev, 0, &err) : NULL;
        if (q2)
            CHECK_STATUS(tu_ctx_create_from_queue(&ctx2, q2), APLCL_SUCCESS);
        else
            TU_FAIL_AT_(__FILE__, __LINE__, "could not create a second OpenCL context (%d)",
                        (int)err);
        /* the aplcl context holds its own references */
        if (q2)
            clReleaseCommandQueue(q2);
        if (c2)
            clReleaseContext(c2);
    }

    devbufs b1 = make_devbufs(ctx);
    devbufs b2 = ctx2 ? make_devbufs(ctx2) : (devbufs){NULL, NULL, NULL, NULL};

    outs first = {tu_xmalloc(N * sizeof(float)), 0, 0},
         again = {tu_xmalloc(N * sizeof(float)), 0, 0};
    for (int mean = 0; mean <= 1; mean++) {
        aplcl_params p = aplcl_params_default();
        if (mean)
            p.reduction = APLCL_REDUCE_MEAN;
        const char *red = mean ? "MEAN" : "SUM";
        for (int dev_entry = 0; dev_entry <= 1; dev_entry++) {
            const char *entry = dev_entry ? "aplcl_compute" : "aplcl_host_compute";
            int mark = tu_case_begin();
            if (dev_entry)
                run_device(ctx, &b1, &p, &first);
            else
                run_host(ctx, &p, &first);
            int bad = 0;
            for (int r = 1; r < REPS; r++) {
                if (dev_entry)
                    run_device(ctx, &b1, &p, &again);
                else
                    run_host(ctx, &p, &again);
                if (!same_bits(&first, &again, dev_entry))
                    bad++;
            }
            if (bad)
                TU_FAIL_AT_(__FILE__, __LINE__, "%d of %d repeats differ from the first", bad,
                            REPS - 1);
            tu_case_end(mark, "%-18s %-4s x%d: bitwise identical (loss %.9g)", entry, red, REPS,
                        dev_entry ? (double)first.lossf : first.loss);

            if (!ctx2)
                continue;
            mark = tu_case_begin();
            if (dev_entry)
                run_device(ctx2, &b2, &p, &again);
            else
                run_host(ctx2, &p, &again);
            if (!same_bits(&first, &again, dev_entry))
                TU_FAIL_AT_(__FILE__, __LINE__,
                            "second context gives different bits (loss %.17g "
                            "vs %.17g)",
                            dev_entry ? (double)again.lossf : again.loss,
                            dev_entry ? (double)first.lossf : first.loss);
            tu_case_end(mark, "%-18s %-4s second context on the same device: same bits", entry,
                        red);
        }
    }
    free(first.grad);
    free(again.grad);
    free_devbufs(&b1);
    free_devbufs(&b2);
    aplcl_ctx_destroy(ctx2);
    aplcl_ctx_destroy(ctx);
    free(g_x);
    free(g_y);
    return tu_exit_code();
}
