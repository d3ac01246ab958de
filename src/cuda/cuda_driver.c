/* cuda_driver.c: libcuda.so.1 (or the library aplcl_cuda_options names) through dlopen
 * (cuda_driver.h). Nothing prints, nothing reads the environment. */
#include "cuda_driver.h"

#include "aplcl_cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_LIBRARY "libcuda.so.1"

/* Written once under g_lock, before g_ok is set; read-only after that. */
static apl_cuda_api g_api;
static int g_ok;
static char g_path[1024]; /* the library g_api came from */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local apl_CUresult g_last;

void apl_cuda_set_error(apl_CUresult r) { g_last = r; }
int aplcl_cuda_last_error(void) { return g_last; }

static void *need(void *lib, const char *name, int *missing) {
    void *p = dlsym(lib, name);
    if (!p)
        *missing = 1;
    return p;
}

/* g_api from `path`; 1 when it loaded and cuInit passed. */
static int load(const char *path) {
    apl_cuda_api a;
    memset(&a, 0, sizeof a);
    a.lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!a.lib)
        return 0;
    int m = 0;
    *(void **)&a.Init = need(a.lib, "cuInit", &m);
    *(void **)&a.DriverGetVersion = need(a.lib, "cuDriverGetVersion", &m);
    *(void **)&a.DeviceGetCount = need(a.lib, "cuDeviceGetCount", &m);
    *(void **)&a.DeviceGet = need(a.lib, "cuDeviceGet", &m);
    *(void **)&a.DeviceGetAttribute = need(a.lib, "cuDeviceGetAttribute", &m);
    *(void **)&a.DeviceGetName = need(a.lib, "cuDeviceGetName", &m);
    *(void **)&a.PrimaryCtxRetain = need(a.lib, "cuDevicePrimaryCtxRetain", &m);
    *(void **)&a.PrimaryCtxRelease = need(a.lib, "cuDevicePrimaryCtxRelease_v2", &m);
    *(void **)&a.CtxPushCurrent = need(a.lib, "cuCtxPushCurrent_v2", &m);
    *(void **)&a.CtxPopCurrent = need(a.lib, "cuCtxPopCurrent_v2", &m);
    *(void **)&a.ModuleLoadData = need(a.lib, "cuModuleLoadData", &m);
    *(void **)&a.ModuleUnload = need(a.lib, "cuModuleUnload", &m);
    *(void **)&a.ModuleGetFunction = need(a.lib, "cuModuleGetFunction", &m);
    *(void **)&a.LaunchKernel = need(a.lib, "cuLaunchKernel", &m);
    *(void **)&a.MemAlloc = need(a.lib, "cuMemAlloc_v2", &m);
    *(void **)&a.MemFree = need(a.lib, "cuMemFree_v2", &m);
    if (m || a.Init(0) != 0)
        return 0; /* the library stays loaded: unloading a driver mid-process is not worth it */
    g_api = a;
    return 1;
}

aplcl_status apl_cuda_api_get(const char *library, const apl_cuda_api **api) {
    const char *path = library && *library ? library : DEFAULT_LIBRARY;
    *api = NULL;
    if (strlen(path) >= sizeof g_path)
        return APLCL_ERR_INVALID_OPTION;
    pthread_mutex_lock(&g_lock);
    aplcl_status st = APLCL_SUCCESS;
    if (g_ok)
        st = strcmp(path, g_path) == 0 ? APLCL_SUCCESS : APLCL_ERR_INVALID_OPTION;
    else if (load(path))
        g_ok = 1, snprintf(g_path, sizeof g_path, "%s", path);
    else
        st = APLCL_ERR_CUDA_UNAVAILABLE;
    if (st == APLCL_SUCCESS)
        *api = &g_api;
    pthread_mutex_unlock(&g_lock);
    return st;
}
