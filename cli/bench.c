/* bench.c: `aplcl bench`, throughput of the fused loss + gradient on one device.
 *
 * For now the quick form only: 4096 x 1000, f32 logits, u8 targets, in the "early" (N(0,2)) and
 * "trained" (negatives N(-6,2), positives N(3,2)) regimes; results checked against the CPU
 * reference before timing; wall-clock per call (enqueue to clFinish), median of repeats. The full
 * benchmark (copy-bandwidth fraction, more shapes and formats, CSV/JSON) is the performance work.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Positives: about 3 per row of 80, i.e. 3.75%. */
static void make_regime(cli_rng *r, int trained, size_t n, float *x, uint8_t *yu, float *yf) {
    for (size_t i = 0; i < n; ++i) {
        int pos = cli_rng_uniform(r) < 0.0375;
        yu[i] = (uint8_t)pos;
        yf[i] = (float)pos;
        x[i] = trained ? (float)cli_rng_normal(r, pos ? 3.0 : -6.0, 2.0)
                       : (float)cli_rng_normal(r, 0.0, 2.0);
    }
}

static int bench_regime(aplcl_ctx *ctx, int trained, int reps) {
    const size_t rows = 4096, cols = 1000, n = rows * cols;
    float *x = malloc(n * 4), *yf = malloc(n * 4), *g = malloc(n * 4);
    uint8_t *yu = malloc(n);
    double *rg = malloc(n * sizeof(double)), *times = malloc((size_t)reps * sizeof(double));
    int rc = 1;
    cl_mem bx = NULL, by = NULL, bg = NULL;
    if (!x || !yf || !g || !yu || !rg || !times) goto out;
    cli_rng r = {trained ? 7u : 3u};
    make_regime(&r, trained, n, x, yu, yf);
    aplcl_params p = aplcl_params_default();

    /* Refuse to time wrong results. */
    double loss, rloss;
    if (aplcl_host_compute_u8(ctx, &p, rows, cols, x, yu, g, NULL, &loss) != APLCL_SUCCESS ||
        aplcl_ref_compute(&p, rows, cols, x, yf, rg, NULL, &rloss) != APLCL_SUCCESS)
        goto out;
    for (size_t i = 0; i < n; ++i)
        if (!(fabs(g[i] - rg[i]) <= fmax(1e-5 * fabs(rg[i]), 1e-7))) {
            fprintf(stderr, "bench: mismatch at %zu (%g vs %g), not timing\n", i, g[i], rg[i]);
            goto out;
        }

    cl_context c = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    cl_int err;
    bx = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n * 4, x, &err);
    by = clCreateBuffer(c, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, n, yu, &err);
    bg = clCreateBuffer(c, CL_MEM_WRITE_ONLY, n * 4, NULL, &err);
    if (!bx || !by || !bg) goto out;
    for (int i = -2; i < reps; ++i) { /* two warm-up calls */
        clFinish(q);
        double t0 = now_s();
        if (aplcl_compute(ctx, &p, rows, cols, bx, 0, by, 0, APLCL_TARGET_U8, bg, 0, NULL, 0,
                          NULL, 0, NULL, 0, 0, NULL, NULL) != APLCL_SUCCESS)
            goto out;
        clFinish(q);
        if (i >= 0) times[i] = now_s() - t0;
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    double med = times[reps / 2];
    /* bytes: logits read (4) + u8 target read (1) + gradient write (4) per element */
    printf("%s  4096x1000 f32/u8 %-7s fwd+bwd: median %.3f ms (min %.3f, max %.3f), %.3f G elem/s,"
           " %.2f GB/s\n",
           aplcl_ctx_device_name(ctx), trained ? "trained" : "early", med * 1e3, times[0] * 1e3,
           times[reps - 1] * 1e3, n / med * 1e-9, n * 9.0 / med * 1e-9);
    rc = 0;
out:
    if (bx) clReleaseMemObject(bx);
    if (by) clReleaseMemObject(by);
    if (bg) clReleaseMemObject(bg);
    free(x), free(yf), free(g), free(yu), free(rg), free(times);
    return rc;
}

int cli_bench(int argc, char **argv) {
    const char *device = cli_opt(argc, argv, "--device");
    int reps = cli_flag(argc, argv, "--quick") ? 10 : 30;
    aplcl_ctx *ctx = NULL;
    aplcl_status st = aplcl_ctx_create(&ctx, device);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl bench: %s\n", aplcl_status_string(st));
        return 1;
    }
    int rc = bench_regime(ctx, 0, reps) | bench_regime(ctx, 1, reps);
    aplcl_ctx_destroy(ctx);
    return rc;
}
