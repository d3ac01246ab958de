/* oclgrind_one.c: one small loss call on the default OpenCL device (a helper of the oclgrind
 * stage's broken-barrier test, tests/run_oclgrind.cmake: small enough to run under Oclgrind in
 * seconds). Prints the loss; exit 0 on APLCL_SUCCESS. Not a test by itself. The context comes
 * from the tools' helper (cli_ctx_create), which maps APLCL_KERNEL_DIR and the kernel-shape
 * variables to options: the library itself reads neither, and without them the broken kernels
 * the script writes would never run. */
#include "aplcl.h"
#include "tool_util.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
    enum { R = 16, C = 40 };
    static float x[R * C], y[R * C], g[R * C];
    for (int i = 0; i < R * C; ++i) {
        x[i] = (float)((i * 37) % 17) - 8.0f;
        y[i] = (i % 7 == 0) ? 1.0f : 0.0f;
    }
    aplcl_ctx *ctx = NULL;
    aplcl_status st = cli_ctx_create(&ctx, NULL);
    double loss = 0;
    if (st == APLCL_SUCCESS) {
        aplcl_params p = aplcl_params_default();
        p.reduction = APLCL_REDUCE_MEAN;
        st = aplcl_host_compute(ctx, &p, R, C, x, y, g, NULL, &loss);
    }
    printf("oclgrind_one: %s, loss %.9g\n", aplcl_status_string(st), loss);
    aplcl_ctx_destroy(ctx);
    return st == APLCL_SUCCESS ? 0 : 1;
}
