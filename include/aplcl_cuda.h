/* aplcl_cuda.h: the loss on NVIDIA GPUs through CUDA, on the caller's stream and device memory.
 *
 * The same kernels as the OpenCL path (the kernels/ .cl files through a prelude), compiled by
 * NVRTC: at build time for sm_80 and sm_90 and embedded in the library when the build found an
 * NVRTC, else at run time (libnvrtc.so.12 or .13, found by dlopen; the cubins cached on disk like
 * OpenCL binaries). libcuda.so.1 is loaded by dlopen too: the library builds and runs without CUDA,
 * and these calls then return APLCL_ERR_CUDA_UNAVAILABLE. Loss passes only (no linear head).
 *
 * Status: compiled and checked (NVRTC, argument lists) without a GPU; see docs/cuda.md.
 *
 * Threads: a context may be used from several threads; calls that share its own scratch (scratch
 * == NULL) must be ordered by the caller (same stream, or one at a time), as with any CUDA
 * buffer. With caller-provided scratch, calls on different streams run concurrently.
 */
#ifndef APLCL_CUDA_H
#define APLCL_CUDA_H

#include "aplcl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aplcl_cuda_ctx aplcl_cuda_ctx;

typedef struct aplcl_cuda_options {
    int allow_nvrtc;           /* 1 (default): compile with NVRTC at run time when no embedded
                                  cubin fits the device; 0: embedded cubins only (else
                                  APLCL_ERR_DEVICE_UNSUPPORTED) */
    const char *cache_dir;     /* the run-time NVRTC cubins' folder, by aplcl_ctx_options'
                                  cache_dir rule: NULL = $APLCL_CACHE_DIR (empty or "off": no
                                  cache), else $XDG_CACHE_HOME/aplcl, else $HOME/.cache/aplcl;
                                  "off" or "" = no cache */
    const char *cuda_library;  /* NULL or "": "libcuda.so.1" by the dlopen search; else the driver
                                  library to dlopen. The driver is loaded once per process, by
                                  the first context that loads it successfully: a later context
                                  naming another library gets APLCL_ERR_INVALID_OPTION */
    const char *nvrtc_library; /* NULL or "": the first of libnvrtc.so.12, libnvrtc.so.13,
                                  libnvrtc.so the dlopen search finds; else the NVRTC library to
                                  dlopen (only when a variant needs a run-time compile) */
} aplcl_cuda_options;

/* allow_nvrtc 1, the rest NULL. */
APLCL_API aplcl_cuda_options aplcl_cuda_options_default(void);

/* Targets as aplcl_targets, with device pointers (CUdeviceptr values) in place of cl_mem. */
typedef struct aplcl_cuda_targets {
    aplcl_target_format format;
    const void *data;
    size_t data_offset;
    const void *indices;
    size_t indices_offset;
    size_t nnz;
    const void *ignore;
    size_t ignore_offset;
    size_t label_count;
    size_t label_offset;
} aplcl_cuda_targets;

/* Every buffer of one call: aplcl_io field for field, device pointers in place of cl_mem (the
 * weights too: aplcl_weights' pos_weight and weight are device pointers to floats here). Offsets
 * count elements of each buffer's own type. */
typedef struct aplcl_cuda_io {
    aplcl_dtype dtype;
    const void *logits;
    size_t logits_offset;
    aplcl_cuda_targets targets;
    void *grad; /* may be logits (same offset; not with accumulate) */
    size_t grad_offset;
    int grad_accumulate;
    float *elem_loss;
    size_t elem_loss_offset;
    float *loss; /* the reduced loss (one float), written on the stream */
    size_t loss_offset;
    unsigned long long *counts; /* APLCL_COUNT_LEN counters, written on the stream */
    size_t counts_offset;
    aplcl_weights weights; /* device pointers; all zero: unweighted */
} aplcl_cuda_io;

APLCL_API aplcl_cuda_io aplcl_cuda_io_default(void);

/* A context on CUDA device `device_ordinal`, in its primary context (the one PyTorch uses).
 * opts may be NULL (defaults). Loads the loss program for the device (embedded cubin for its sm,
 * else NVRTC). Environment: read only as aplcl_ctx_create_ex reads it, on the caller's thread, for
 * the cache folder when opts->cache_dir is NULL (APLCL_CACHE_DIR, XDG_CACHE_HOME, HOME); the
 * libraries are named by the options only. Errors: NULL_ARGUMENT, CUDA_UNAVAILABLE (no driver
 * library, or cuInit failed: no driver or no device), NO_DEVICE (no such ordinal), INVALID_OPTION
 * (cuda_library names another driver than the one this process loaded, or allow_nvrtc is not 0
 * or 1), DEVICE_UNSUPPORTED (no cubin for the sm and no NVRTC, or NVRTC not allowed), KERNEL_BUILD
 * (NVRTC failed; aplcl_last_build_log() is not set, the log is lost), CUDA (a driver call failed:
 * aplcl_cuda_last_error()), OUT_OF_HOST_MEMORY.
 */
APLCL_API aplcl_status aplcl_cuda_ctx_create(aplcl_cuda_ctx **ctx, int device_ordinal,
                                             const aplcl_cuda_options *opts);
APLCL_API void aplcl_cuda_ctx_destroy(aplcl_cuda_ctx *ctx);

/* Device bytes of scratch one call needs (the same for every size): pass a buffer at least this
 * large (16-byte aligned) to aplcl_cuda_compute_io, or NULL to use the context's own. */
APLCL_API size_t aplcl_cuda_scratch_bytes(const aplcl_cuda_ctx *ctx);

/* The loss (and gradient) of a rows x cols problem on `stream` (a CUstream; NULL: the legacy
 * default stream). Enqueues only: never synchronises the host. Same parameter check and statuses
 * as aplcl_compute_io where they can be checked without looking into device memory (buffer sizes
 * cannot: the caller owns them), plus CUDA (a launch failed). Same inputs on the same GPU: the
 * same bits. */
APLCL_API aplcl_status aplcl_cuda_compute_io(aplcl_cuda_ctx *ctx, const aplcl_params *p,
                                             size_t rows, size_t cols, const aplcl_cuda_io *io,
                                             void *scratch, size_t scratch_bytes, void *stream);

/* The last CUresult behind APLCL_ERR_CUDA on this thread (0 if none). */
APLCL_API int aplcl_cuda_last_error(void);

/* What the context runs: "sm_90 embedded (NVRTC 12.9)" or "sm_86 NVRTC 13.0 (cached)". */
APLCL_API const char *aplcl_cuda_ctx_describe(const aplcl_cuda_ctx *ctx);

#ifdef __cplusplus
}
#endif

#endif /* APLCL_CUDA_H */
