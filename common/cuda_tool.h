/* cuda_tool.h: the CUDA driver calls aplcl's programs need around aplcl_cuda_compute_io (device
 * memory, copies, a stream of their own, event timing), for `aplcl check --cuda` and
 * `aplcl bench --cuda`.
 *
 * The driver is dlopen'ed from the library the CUDA context was created with (the options'
 * cuda_library, else libcuda.so.1): dlopen hands back the handle the library already holds, so
 * the tool and the library talk to one driver. Work goes to the device's primary context (the
 * one aplcl uses) on a non-blocking stream; copies and fills are ordered on that stream. Not part
 * of the library, which exports no driver calls; nothing here prints.
 */
#ifndef APLCL_CUDA_TOOL_H
#define APLCL_CUDA_TOOL_H

#include <stddef.h>
#include <stdint.h>

typedef int cli_curesult; /* CUresult: 0 = CUDA_SUCCESS */

typedef struct cli_cuda {
    void *lib;
    int device;
    void *primary;      /* the device's primary context, retained; current on the opening thread */
    int pushed;         /* made current by cli_cuda_open: close pops it */
    void *stream;       /* the tool's own, non-blocking */
    void *ev[2];        /* start and stop of cli_cuda_time_* */
    char name[160];     /* cuDeviceGetName (fits cli_bench_row.device) */
    int driver_version; /* 12090 = 12.9 */
    unsigned long long total_bytes; /* device memory */
    cli_curesult last;              /* the last failed call's result */
    const char *last_call;          /* and its name */
    /* the driver's entry points (cuda_tool.c) */
    cli_curesult (*Init)(unsigned);
    cli_curesult (*DriverGetVersion)(int *);
    cli_curesult (*DeviceGet)(int *, int);
    cli_curesult (*DeviceGetName)(char *, int, int);
    cli_curesult (*DeviceTotalMem)(size_t *, int);
    cli_curesult (*PrimaryCtxRetain)(void **, int);
    cli_curesult (*PrimaryCtxRelease)(int);
    cli_curesult (*CtxPushCurrent)(void *);
    cli_curesult (*CtxPopCurrent)(void **);
    cli_curesult (*MemAlloc)(unsigned long long *, size_t);
    cli_curesult (*MemFree)(unsigned long long);
    cli_curesult (*MemcpyHtoDAsync)(unsigned long long, const void *, size_t, void *);
    cli_curesult (*MemcpyDtoHAsync)(void *, unsigned long long, size_t, void *);
    cli_curesult (*MemcpyDtoDAsync)(unsigned long long, unsigned long long, size_t, void *);
    cli_curesult (*MemsetD16Async)(unsigned long long, unsigned short, size_t, void *);
    cli_curesult (*MemsetD32Async)(unsigned long long, unsigned, size_t, void *);
    cli_curesult (*StreamCreate)(void **, unsigned);
    cli_curesult (*StreamDestroy)(void *);
    cli_curesult (*StreamSynchronize)(void *);
    cli_curesult (*EventCreate)(void **, unsigned);
    cli_curesult (*EventRecord)(void *, void *);
    cli_curesult (*EventSynchronize)(void *);
    cli_curesult (*EventElapsedTime)(float *, void *, void *);
    cli_curesult (*EventDestroy)(void *);
} cli_cuda;

/* Loads the driver from `library` (NULL: "libcuda.so.1"), makes device `ordinal`'s primary
 * context current on this thread, creates the stream and two timing events. 0 on success, else
 * -1 with *cu's last_call naming what failed (and last its CUresult, when a call failed);
 * cli_cuda_close is needed either way. */
int cli_cuda_open(cli_cuda *cu, const char *library, int ordinal);
void cli_cuda_close(cli_cuda *cu);

/* Device memory of `bytes` (at least 1), holding a copy of `host` when not NULL; NULL when the
 * allocation or the copy failed. Pointers are CUdeviceptr values, as aplcl_cuda_io takes them. */
void *cli_cuda_alloc(cli_cuda *cu, size_t bytes, const void *host);
void cli_cuda_free(cli_cuda *cu, const void *dev);
/* Stream-ordered copies and fills; the download and cli_cuda_sync wait for the stream. 0 or the
 * CUresult. */
cli_curesult cli_cuda_download(cli_cuda *cu, void *host, const void *dev, size_t bytes);
cli_curesult cli_cuda_fill(cli_cuda *cu, void *dev, uint32_t pattern, size_t elems, int elem_bytes);
cli_curesult cli_cuda_copy(cli_cuda *cu, void *dst, const void *src, size_t bytes);
cli_curesult cli_cuda_sync(cli_cuda *cu);
/* Event timing on the stream: start, enqueue the work, stop (waits for it) gives the seconds
 * between the two events, as the GPU measured them. */
cli_curesult cli_cuda_time_start(cli_cuda *cu);
cli_curesult cli_cuda_time_stop(cli_cuda *cu, double *seconds);

#endif /* APLCL_CUDA_TOOL_H */
