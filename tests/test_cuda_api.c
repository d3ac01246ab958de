/* test_cuda_api.c: the CUDA entry points where no CUDA exists (host label: runs everywhere).
 *
 * With APLCL_CUDA_LIBRARY pointing at a file that does not exist, aplcl_cuda_ctx_create must
 * return APLCL_ERR_CUDA_UNAVAILABLE (not crash, not print); NULL arguments are NULL_ARGUMENT; the
 * defaults are what aplcl_cuda.h says; the status strings exist. The device itself is
 * test_cuda's (label cuda).
 */
#define _POSIX_C_SOURCE 200809L
#include "aplcl_cuda.h"
#include "test_util.h"

int main(void) {
    setenv("APLCL_CUDA_LIBRARY", "/nonexistent/libcuda.so.1", 1);
    aplcl_cuda_ctx *ctx = (aplcl_cuda_ctx *)&ctx; /* must be set to NULL */
    CHECK_STATUS(aplcl_cuda_ctx_create(&ctx, 0, NULL), APLCL_ERR_CUDA_UNAVAILABLE);
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
    CHECK(aplcl_cuda_scratch_bytes(NULL) == 0);
    CHECK(strcmp(aplcl_cuda_ctx_describe(NULL), "") == 0);
    CHECK(strstr(aplcl_status_string(APLCL_ERR_CUDA_UNAVAILABLE), "libcuda") != NULL);
    CHECK(strstr(aplcl_status_string(APLCL_ERR_CUDA), "CUDA") != NULL);
    CHECK_EQ(aplcl_cuda_last_error(), 0);
    aplcl_cuda_ctx_destroy(NULL); /* a no-op */
    return tu_exit_code();
}
