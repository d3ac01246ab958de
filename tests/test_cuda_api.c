/* test_cuda_api.c: the CUDA entry points where no CUDA exists (host label: runs everywhere).
 *
 * With options.cuda_library naming a file that does not exist, aplcl_cuda_ctx_create must
 * return APLCL_ERR_CUDA_UNAVAILABLE (not crash, not print), and again on a second try (a failed
 * load is retried, not remembered); the library reads no APLCL_CUDA_LIBRARY from the environment
 * (set here to that missing file, it must not change what the default options load); NULL
 * arguments are NULL_ARGUMENT; a bad allow_nvrtc is INVALID_OPTION; the defaults are what
 * aplcl_cuda.h says; the status strings exist. The device itself is
 * test_cuda's (label cuda).
 */
#define _POSIX_C_SOURCE 200809L
#include "aplcl_cuda.h"
#include "test_util.h"

#include <dlfcn.h>

int main(void) {
    aplcl_cuda_options missing = aplcl_cuda_options_default();
    missing.cuda_library = "/nonexistent/libcuda.so.1";
    aplcl_cuda_ctx *ctx = (aplcl_cuda_ctx *)&ctx; /* must be set to NULL */
    CHECK_STATUS(aplcl_cuda_ctx_create(&ctx, 0, &missing), APLCL_ERR_CUDA_UNAVAILABLE);
    CHECK(ctx == NULL);
    CHECK_STATUS(aplcl_cuda_ctx_create(&ctx, 0, &missing), APLCL_ERR_CUDA_UNAVAILABLE);
    /* the environment is the tools' business (common/tool_util.c): with the defaults the library
     * tries libcuda.so.1, which either exists (a GPU machine) or does not; it never reads this */
    setenv("APLCL_CUDA_LIBRARY", "/nonexistent/libcuda.so.1", 1);
    void *has_driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    aplcl_status st = aplcl_cuda_ctx_create(&ctx, 0, NULL);
    if (has_driver) { /* anything but the missing file's answer would do; a device may exist */
        printf("libcuda.so.1 present: default create -> %s\n", tu_status_name(st));
        aplcl_cuda_ctx_destroy(ctx);
        dlclose(has_driver);
    } else {
        CHECK_STATUS(st, APLCL_ERR_CUDA_UNAVAILABLE);
    }
    unsetenv("APLCL_CUDA_LIBRARY");
    aplcl_cuda_options bad = missing;
    bad.allow_nvrtc = 2;
    CHECK_STATUS(aplcl_cuda_ctx_create(&ctx, 0, &bad), APLCL_ERR_INVALID_OPTION);
    CHECK(ctx == NULL);
    CHECK_STATUS(aplcl_cuda_ctx_create(NULL, 0, NULL), APLCL_ERR_NULL_ARGUMENT);
    aplcl_params p = aplcl_params_default();
    aplcl_cuda_io io = aplcl_cuda_io_default();
    CHECK_EQ(aplcl_cuda_compute_io(NULL, &p, 4, 4, &io, NULL, 0, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK_EQ(io.dtype, APLCL_DTYPE_F32);
    CHECK_EQ(io.targets.format, APLCL_TARGET_F32);
    aplcl_cuda_options o = aplcl_cuda_options_default();
    CHECK_EQ(o.allow_nvrtc, 1);
    CHECK(o.cache_dir == NULL);
    CHECK(o.cuda_library == NULL && o.nvrtc_library == NULL);
    CHECK(io.weights.pos_weight == NULL && io.weights.weight == NULL); /* unweighted */
    CHECK(aplcl_cuda_scratch_bytes(NULL) == 0);
    CHECK(strcmp(aplcl_cuda_ctx_describe(NULL), "") == 0);
    CHECK(strstr(aplcl_status_string(APLCL_ERR_CUDA_UNAVAILABLE), "libcuda") != NULL);
    CHECK(strstr(aplcl_status_string(APLCL_ERR_CUDA), "CUDA") != NULL);
    CHECK_EQ(aplcl_cuda_last_error(), 0);
    aplcl_cuda_ctx_destroy(NULL); /* a no-op */
    return tu_exit_code();
}
