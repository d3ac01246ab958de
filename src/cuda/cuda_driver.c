/* cuda_driver.c: libcuda.so.1 through dlopen (cuda_driver.h). Nothing prints. */
#include "cuda_driver.h"

#include "aplcl_cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static apl_cuda_api g_api;
static int g_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Thread_local apl_CUresult g_last;

void apl_cuda_set_error(apl_CUresult r) { g_last = r; }
int aplcl_cuda_last_error(void) { return g_last; }

static void *need(const char *name, int *missing) {
    void *p = dlsym(g_api.lib, name);
    if (!p)
        *missing = 1;
    return p;
}

static void load(void) {
    const char *env = getenv("APLCL_CUDA_LIBRARY"); /* tests point it at a missing file */
    g_api.lib = dlopen(env && *env ? env : "libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!g_api.lib)
        return;
    int m = 0;
    *(void **)&g_api.Init = need("cuInit", &m);
    *(void **)&g_api.DriverGetVersion = need("cuDriverGetVersion", &m);
    *(void **)&g_api.DeviceGetCount = need("cuDeviceGetCount", &m);
    *(void **)&g_api.DeviceGet = need("cuDeviceGet", &m);
    *(void **)&g_api.DeviceGetAttribute = need("cuDeviceGetAttribute", &m);
    *(void **)&g_api.DeviceGetName = need("cuDeviceGetName", &m);
    *(void **)&g_api.PrimaryCtxRetain = need("cuDevicePrimaryCtxRetain", &m);
    *(void **)&g_api.PrimaryCtxRelease = need("cuDevicePrimaryCtxRelease_v2", &m);
    *(void **)&g_api.CtxPushCurrent = need("cuCtxPushCurrent_v2", &m);
    *(void **)&g_api.CtxPopCurrent = need("cuCtxPopCurrent_v2", &m);
    *(void **)&g_api.ModuleLoadData = need("cuModuleLoadData", &m);
    *(void **)&g_api.ModuleUnload = need("cuModuleUnload", &m);
    *(void **)&g_api.ModuleGetFunction = need("cuModuleGetFunction", &m);
    *(void **)&g_api.LaunchKernel = need("cuLaunchKernel", &m);
    *(void **)&g_api.MemAlloc = need("cuMemAlloc_v2", &m);
    *(void **)&g_api.MemFree = need("cuMemFree_v2", &m);
    if (m || g_api.Init(0) != 0) {
        /* the library stays loaded: unloading a driver mid-process is not worth the risk */
        return;
    }
    g_ok = 1;
}

const apl_cuda_api *apl_cuda_api_get(void) {
    pthread_once(&g_once, load);
    return g_ok ? &g_api : NULL;
}
