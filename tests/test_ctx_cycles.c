/* test_ctx_cycles: creating and destroying contexts and heads does not grow the process.
 *
 * Each cycle creates a context and a head, runs one small head call, and destroys both. CLBlast's
 * process-wide program cache used to keep every context alive (about 1.8 MB a cycle on PoCL);
 * aplcl now clears it when the last head goes. Resident memory is read from /proc/self/statm
 * (Linux; elsewhere the test skips). Not here: leaks inside one context (LeakSanitizer's job).
 */
#include "test_util.h"

#define WARMUP 5
#define CYCLES 50
#define BOUND_KB (10 * 1024) /* a leak of 1.8 MB a cycle would be 90 MB */

static long resident_kb(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    long size = 0, resident = -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * 4; /* pages of 4 KiB on the CI machines */
}

static int cycle(void) {
    aplcl_ctx *ctx = NULL;
    aplcl_head *head = NULL;
    aplcl_status st = aplcl_ctx_create(&ctx, NULL);
    if (st == APLCL_SUCCESS)
        st = aplcl_head_create(&head, ctx);
    if (st == APLCL_SUCCESS) {
        float x[2 * 3] = {1, 2, 3, -1, 0.5f, 0},
                    w[4 * 3] = {0.1f, 0, -0.2f, 1, 1, 1, 0, 0, 1, 2, 0, -1};
        float y[2 * 4] = {1, 0, 0, 1, 0, 1, 1, 0};
        cl_int err;
        cl_context cl = aplcl_ctx_cl_context(ctx);
        aplcl_head_io io = aplcl_head_io_default();
        io.x = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
        io.w = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof w, w, &err);
        io.targets.data =
            clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof y, y, &err);
        io.dw = clCreateBuffer(cl, CL_MEM_READ_WRITE, sizeof w, NULL, &err);
        aplcl_params p = aplcl_params_default();
        st = aplcl_head_compute(head, &p, 2, 3, 4, &io, 1 << 20, 0, NULL, NULL);
        clFinish(aplcl_ctx_queue(ctx));
        clReleaseMemObject(io.x), clReleaseMemObject(io.w);
        clReleaseMemObject(io.targets.data), clReleaseMemObject(io.dw);
    }
    aplcl_head_destroy(head);
    aplcl_ctx_destroy(ctx);
    CHECK_STATUS(st, APLCL_SUCCESS);
    return st == APLCL_SUCCESS;
}

int main(void) {
    int rc = tu_device_check();
    if (rc)
        return rc;
    if (resident_kb() < 0) {
        printf("skip: no /proc/self/statm\n");
        return TU_SKIP;
    }
    int mark = tu_case_begin();
    for (int i = 0; i < WARMUP; ++i)
        if (!cycle())
            return tu_exit_code();
    long before = resident_kb();
    for (int i = 0; i < CYCLES; ++i)
        if (!cycle())
            return tu_exit_code();
    long after = resident_kb();
    CHECK(after - before < BOUND_KB);
    tu_case_end(mark, "%d context + head cycles after %d warm-up: resident %ld -> %ld KB (%+ld KB)",
                CYCLES, WARMUP, before, after, after - before);
    return tu_exit_code();
}
