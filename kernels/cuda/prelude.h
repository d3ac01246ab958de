/* prelude.h: maps the OpenCL C that the kernels/ .cl files use onto CUDA C++, so NVRTC compiles the
 * same loss program (src/cuda/cuda_source.c puts it first, then apl_abi.h and the apl_ .cl files).
 *
 * Compiled with NVRTC's -default-device (every function a __device__ one) and only for the GPU
 * shape: APL_VW 1 (CUDA's float4 has no arithmetic; strided scalar is the GPU layout),
 * APL_CONTIGUOUS 0. No headers: half is a 16-bit word converted with PTX's cvt, as
 * vload_half/vstore_half_rte do. Not here: any loss math or memory layout (the .cl files).
 */
#ifndef APL_CUDA_PRELUDE_H
#define APL_CUDA_PRELUDE_H
#define APL_CUDA 1

#if APL_VW != 1 || APL_CONTIGUOUS != 0
#error "the CUDA build of the loss program is the GPU shape only: APL_VW=1, APL_CONTIGUOUS=0"
#endif

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long long ulong;
typedef unsigned short half; /* storage only: vload_half / vstore_half_rte convert */

#ifndef NULL
#define NULL 0
#endif

/* ---- address spaces, kernels, work-items ---- */
#define __kernel extern "C" __global__ __launch_bounds__(APL_LOCAL)
#define reqd_work_group_size(x, y, z) unused /* __launch_bounds__ says it */
#define __global
#define __local __shared__
#define __constant __constant__
#define LOCAL_PTR(T) T *
#define CLK_LOCAL_MEM_FENCE 0
#define barrier(flags) __syncthreads()
#define get_local_id(d) ((ulong)threadIdx.x)
#define get_group_id(d) ((ulong)blockIdx.x)
#define get_local_size(d) ((ulong)blockDim.x)
#define get_num_groups(d) ((ulong)gridDim.x)
#define get_global_id(d) ((ulong)blockIdx.x * blockDim.x + threadIdx.x)

/* ---- built-ins ---- */
#define INFINITY __int_as_float(0x7f800000)
#define NAN __int_as_float(0x7fc00000)
#define as_float(v) __uint_as_float((uint)(v))
#define as_int(v) __float_as_int(v)
#define as_uint(v) __float_as_uint(v)
#define popcount(v) __popc(v)
/* select(a, b, c) for scalars: c ? b : a (OpenCL tests a scalar c for non-zero) */
template <typename T, typename C> __device__ inline T select(T a, T b, C c) { return c ? b : a; }
/* OpenCL's integer min/max overloads, for the 64-bit counts the kernels compare */
__device__ inline ulong min(ulong a, ulong b) { return a < b ? a : b; }
__device__ inline ulong max(ulong a, ulong b) { return a > b ? a : b; }

__device__ inline float vload_half(ulong i, const half *p) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i]));
    return f;
}
__device__ inline void vstore_half_rte(float f, ulong i, half *p) {
    half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
    p[i] = h;
}
#endif /* APL_CUDA_PRELUDE_H */
