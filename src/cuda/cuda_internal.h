/* cuda_internal.h: the CUDA context (aplcl_cuda_ctx) shared by cuda_ctx.c (creation, programs)
 * and cuda_compute.c (checks, launches). Not a public header. */
#ifndef APLCL_CUDA_INTERNAL_H
#define APLCL_CUDA_INTERNAL_H

#include "aplcl_cuda.h"
#include "cuda_driver.h"
#include "cuda_source.h"

#include <pthread.h>

#define APL_CUDA_MAX_GROUPS 1024
#define APL_CUDA_PATH_MAX 1024 /* the NVRTC library's path */
/* the cache folder holds what the OpenCL context's holds (internal.h); a file in it adds
 * "/cuda-<16 hex>.cubin" */
#define APL_CUDA_CACHE_DIR_MAX 4096
#define APL_CUDA_CACHE_PATH_MAX (APL_CUDA_CACHE_DIR_MAX + 32)

typedef struct apl_cuda_program {
    apl_CUmodule module; /* NULL until first use */
    apl_CUfunction loss, count, finalize;
} apl_cuda_program;

struct aplcl_cuda_ctx {
    const apl_cuda_api *cu;
    apl_CUdevice dev;
    apl_CUcontext primary; /* retained; released by destroy */
    int sm;                /* 10 * major + minor */
    size_t max_groups;     /* a fixed function of the device: same GPU, same reduction order */
    int allow_nvrtc;       /* aplcl_cuda_options' */
    char nvrtc_library[APL_CUDA_PATH_MAX];  /* "": the default search */
    char cache_dir[APL_CUDA_CACHE_DIR_MAX]; /* "": no cache (env.c's rule) */
    pthread_mutex_t lock;                   /* variants (built on first use), own scratch */
    apl_cuda_program variants[APL_CUDA_VARIANTS];
    apl_CUdeviceptr own_scratch; /* aplcl_cuda_scratch_bytes() of the context's own */
    char describe[160];
};

/* The variant's functions, its module loaded on first use (embedded cubin, disk cache or NVRTC),
 * The caller has made the primary context current. APLCL_SUCCESS or the reason. */
aplcl_status apl_cuda_variant_get(aplcl_cuda_ctx *ctx, int variant, const apl_cuda_program **out);

#endif /* APLCL_CUDA_INTERNAL_H */
