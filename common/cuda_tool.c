/* cuda_tool.c: the tools' CUDA driver calls (cuda_tool.h), by dlopen. */
#include "cuda_tool.h"

#include <dlfcn.h>
#include <string.h>

static void *sym(cli_cuda *cu, const char *name, int *missing) {
    void *p = dlsym(cu->lib, name);
    if (!p && !*missing) {
        *missing = 1;
        cu->last_call = name;
    }
    return p;
}

/* Records a failed call; returns r. */
static cli_curesult fail(cli_cuda *cu, const char *call, cli_curesult r) {
    if (r != 0)
        cu->last = r, cu->last_call = call;
    return r;
}
#define CALL(cu, f, ...) fail((cu), "cu" #f, (cu)->f(__VA_ARGS__))

static unsigned long long dptr(const void *p) { return (unsigned long long)(uintptr_t)p; }

int cli_cuda_open(cli_cuda *cu, const char *library, int ordinal) {
    memset(cu, 0, sizeof *cu);
    cu->device = -1;
    const char *path = library && *library ? library : "libcuda.so.1";
    cu->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!cu->lib) {
        cu->last_call = "dlopen of the driver library";
        return -1;
    }
    int m = 0;
    *(void **)&cu->Init = sym(cu, "cuInit", &m);
    *(void **)&cu->DriverGetVersion = sym(cu, "cuDriverGetVersion", &m);
    *(void **)&cu->DeviceGet = sym(cu, "cuDeviceGet", &m);
    *(void **)&cu->DeviceGetName = sym(cu, "cuDeviceGetName", &m);
    *(void **)&cu->DeviceTotalMem = sym(cu, "cuDeviceTotalMem_v2", &m);
    *(void **)&cu->PrimaryCtxRetain = sym(cu, "cuDevicePrimaryCtxRetain", &m);
    *(void **)&cu->PrimaryCtxRelease = sym(cu, "cuDevicePrimaryCtxRelease_v2", &m);
    *(void **)&cu->CtxPushCurrent = sym(cu, "cuCtxPushCurrent_v2", &m);
    *(void **)&cu->CtxPopCurrent = sym(cu, "cuCtxPopCurrent_v2", &m);
    *(void **)&cu->MemAlloc = sym(cu, "cuMemAlloc_v2", &m);
    *(void **)&cu->MemFree = sym(cu, "cuMemFree_v2", &m);
    *(void **)&cu->MemcpyHtoDAsync = sym(cu, "cuMemcpyHtoDAsync_v2", &m);
    *(void **)&cu->MemcpyDtoHAsync = sym(cu, "cuMemcpyDtoHAsync_v2", &m);
    *(void **)&cu->MemcpyDtoDAsync = sym(cu, "cuMemcpyDtoDAsync_v2", &m);
    *(void **)&cu->MemsetD16Async = sym(cu, "cuMemsetD16Async", &m);
    *(void **)&cu->MemsetD32Async = sym(cu, "cuMemsetD32Async", &m);
    *(void **)&cu->StreamCreate = sym(cu, "cuStreamCreate", &m);
    *(void **)&cu->StreamDestroy = sym(cu, "cuStreamDestroy_v2", &m);
    *(void **)&cu->StreamSynchronize = sym(cu, "cuStreamSynchronize", &m);
    *(void **)&cu->EventCreate = sym(cu, "cuEventCreate", &m);
    *(void **)&cu->EventRecord = sym(cu, "cuEventRecord", &m);
    *(void **)&cu->EventSynchronize = sym(cu, "cuEventSynchronize", &m);
    *(void **)&cu->EventElapsedTime = sym(cu, "cuEventElapsedTime", &m);
    *(void **)&cu->EventDestroy = sym(cu, "cuEventDestroy_v2", &m);
    if (m)
        return -1; /* last_call names the missing entry point */
    int dev = 0;
    size_t total = 0;
    if (CALL(cu, Init, 0) || CALL(cu, DriverGetVersion, &cu->driver_version) ||
        CALL(cu, DeviceGet, &dev, ordinal) ||
        CALL(cu, DeviceGetName, cu->name, (int)sizeof cu->name, dev) ||
        CALL(cu, DeviceTotalMem, &total, dev))
        return -1;
    cu->name[sizeof cu->name - 1] = '\0';
    cu->total_bytes = total;
    if (CALL(cu, PrimaryCtxRetain, &cu->primary, dev))
        return -1;
    cu->device = dev; /* retained: close releases it */
    if (CALL(cu, CtxPushCurrent, cu->primary))
        return -1;
    cu->pushed = 1;
    if (CALL(cu, StreamCreate, &cu->stream, 1u) || CALL(cu, EventCreate, &cu->ev[0], 0u) ||
        CALL(cu, EventCreate, &cu->ev[1], 0u))
        return -1;
    return 0;
}

void cli_cuda_close(cli_cuda *cu) {
    if (!cu->lib)
        return;
    for (int i = 0; i < 2; ++i)
        if (cu->ev[i])
            cu->EventDestroy(cu->ev[i]);
    if (cu->stream)
        cu->StreamDestroy(cu->stream);
    void *popped = NULL;
    if (cu->pushed)
        cu->CtxPopCurrent(&popped);
    if (cu->device >= 0)
        cu->PrimaryCtxRelease(cu->device);
    dlclose(cu->lib); /* the library's own handle keeps the driver loaded */
    memset(cu, 0, sizeof *cu);
}

void *cli_cuda_alloc(cli_cuda *cu, size_t bytes, const void *host) {
    unsigned long long d = 0;
    if (CALL(cu, MemAlloc, &d, bytes ? bytes : 1))
        return NULL;
    if (host && bytes &&
        (CALL(cu, MemcpyHtoDAsync, d, host, bytes, cu->stream) || cli_cuda_sync(cu))) {
        cu->MemFree(d);
        return NULL;
    }
    return (void *)(uintptr_t)d;
}

void cli_cuda_free(cli_cuda *cu, const void *dev) {
    if (dev)
        cu->MemFree(dptr(dev));
}

cli_curesult cli_cuda_download(cli_cuda *cu, void *host, const void *dev, size_t bytes) {
    cli_curesult r = CALL(cu, MemcpyDtoHAsync, host, dptr(dev), bytes, cu->stream);
    return r ? r : cli_cuda_sync(cu);
}

cli_curesult cli_cuda_fill(cli_cuda *cu, void *dev, uint32_t pattern, size_t elems,
                           int elem_bytes) {
    if (elem_bytes == 2)
        return CALL(cu, MemsetD16Async, dptr(dev), (unsigned short)pattern, elems, cu->stream);
    return CALL(cu, MemsetD32Async, dptr(dev), pattern, elems, cu->stream);
}

cli_curesult cli_cuda_copy(cli_cuda *cu, void *dst, const void *src, size_t bytes) {
    return CALL(cu, MemcpyDtoDAsync, dptr(dst), dptr(src), bytes, cu->stream);
}

cli_curesult cli_cuda_sync(cli_cuda *cu) { return CALL(cu, StreamSynchronize, cu->stream); }

cli_curesult cli_cuda_time_start(cli_cuda *cu) {
    return CALL(cu, EventRecord, cu->ev[0], cu->stream);
}

cli_curesult cli_cuda_time_stop(cli_cuda *cu, double *seconds) {
    float ms = 0.0f;
    cli_curesult r = CALL(cu, EventRecord, cu->ev[1], cu->stream);
    if (!r)
        r = CALL(cu, EventSynchronize, cu->ev[1]);
    if (!r)
        r = CALL(cu, EventElapsedTime, &ms, cu->ev[0], cu->ev[1]);
    *seconds = 1e-3 * (double)ms;
    return r;
}
