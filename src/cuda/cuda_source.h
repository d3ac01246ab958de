/* cuda_source.h: the CUDA text of the loss program and the options of each of its variants.
 *
 * The text is kernels/cuda/prelude.h, then the files src/program.c puts in the OpenCL loss
 * program (apl_abi.h, apl_0_*.cl, the other apl_*.cl, each in name order), all embedded at build
 * time; the options are the OpenCL build's -D options in the GPU shape (APL_VW 1, APL_LOCAL 256,
 * strided) with double accumulation. Used by the library (run-time NVRTC) and by the build-time
 * generator (src/cuda/cubin_gen.c), so both compile the same thing. No compiling here.
 */
#ifndef APLCL_CUDA_SOURCE_H
#define APLCL_CUDA_SOURCE_H

#include <stddef.h>

#define APL_CUDA_LOCAL 256 /* threads per block: APL_LOCAL of every CUDA variant */
#define APL_CUDA_FP64 1    /* partial sums in double (every NVIDIA GPU has it) */
#define APL_CUDA_DTYPES 3  /* aplcl_dtype: F32, F16, BF16 */
#define APL_CUDA_TFMTS 4   /* aplcl_target_format: F32, U8, BITS, CSR */
#define APL_CUDA_VARIANTS (APL_CUDA_DTYPES * APL_CUDA_TFMTS * 2) /* x unweighted/weighted */

/* Variant index of (dtype, target format, weighted): 0 .. APL_CUDA_VARIANTS-1. */
static inline int apl_cuda_variant(int dtype, int tfmt, int weighted) {
    return (dtype * APL_CUDA_TFMTS + tfmt) * 2 + (weighted != 0);
}

/* The -D options of variant v (space-separated) into buf. */
void apl_cuda_variant_defines(int v, char *buf, size_t size);

/* The program's text, NUL-terminated, malloc'ed (caller frees); NULL when out of memory. */
char *apl_cuda_source(size_t *len);

#endif /* APLCL_CUDA_SOURCE_H */
