/* cuda_driver.h: the CUDA driver API functions aplcl uses, loaded from libcuda.so.1 by dlopen
 * (no CUDA header needed: the few types are declared here as the driver ABI has them).
 * Not here: contexts and modules (cuda_ctx.c) or launches (cuda_compute.c).
 */
#ifndef APLCL_CUDA_DRIVER_H
#define APLCL_CUDA_DRIVER_H

#include "aplcl.h" /* aplcl_status */

#include <stddef.h>

typedef int apl_CUresult; /* CUDA_SUCCESS = 0 */
typedef int apl_CUdevice;
typedef void *apl_CUcontext, *apl_CUmodule, *apl_CUfunction, *apl_CUstream;
typedef unsigned long long apl_CUdeviceptr;

#define APL_CU_ATTR_MULTIPROCESSOR_COUNT 16
#define APL_CU_ATTR_CC_MAJOR 75
#define APL_CU_ATTR_CC_MINOR 76

typedef struct apl_cuda_api {
    void *lib;
    apl_CUresult (*Init)(unsigned);
    apl_CUresult (*DriverGetVersion)(int *);
    apl_CUresult (*DeviceGetCount)(int *);
    apl_CUresult (*DeviceGet)(apl_CUdevice *, int);
    apl_CUresult (*DeviceGetAttribute)(int *, int, apl_CUdevice);
    apl_CUresult (*DeviceGetName)(char *, int, apl_CUdevice);
    apl_CUresult (*PrimaryCtxRetain)(apl_CUcontext *, apl_CUdevice);
    apl_CUresult (*PrimaryCtxRelease)(apl_CUdevice);
    apl_CUresult (*CtxPushCurrent)(apl_CUcontext);
    apl_CUresult (*CtxPopCurrent)(apl_CUcontext *);
    apl_CUresult (*ModuleLoadData)(apl_CUmodule *, const void *);
    apl_CUresult (*ModuleUnload)(apl_CUmodule);
    apl_CUresult (*ModuleGetFunction)(apl_CUfunction *, apl_CUmodule, const char *);
    apl_CUresult (*LaunchKernel)(apl_CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                                 unsigned, unsigned, apl_CUstream, void **, void **);
    apl_CUresult (*MemAlloc)(apl_CUdeviceptr *, size_t);
    apl_CUresult (*MemFree)(apl_CUdeviceptr);
} apl_cuda_api;

/* The driver, loaded and initialised once per process (thread-safe) from `library` (NULL or "":
 * "libcuda.so.1"). *api is set on APLCL_SUCCESS; APLCL_ERR_CUDA_UNAVAILABLE when the library is
 * missing, lacks a function, or cuInit fails (a later call tries again); APLCL_ERR_INVALID_OPTION
 * when the process already loaded another library. */
aplcl_status apl_cuda_api_get(const char *library, const apl_cuda_api **api);

/* The thread's last CUresult behind APLCL_ERR_CUDA. */
void apl_cuda_set_error(apl_CUresult r);

#endif /* APLCL_CUDA_DRIVER_H */
