/* fake_libcuda.c: a stand-in for libcuda.so.1 that runs nothing, for test_cuda_fake (host label).
 *
 * aplcl loads it through aplcl_cuda_options.cuda_library (the tests and tools set it from
 * APLCL_CUDA_LIBRARY). It reports one device of compute capability
 * $FAKE_CUDA_SM (default 90) with 132 SMs, accepts only ELF images in cuModuleLoadData (what a
 * cubin is), hands out zeroed host memory for cuMemAlloc (copies and fills are memcpy/memset,
 * streams and events do nothing, an event pair "measures" 1 ms), and records every
 * cuLaunchKernel (kernel name, grid, block, the first argument as a 64-bit value) for the test to
 * read through fake_cuda_launches(). Not a simulator: no kernel runs, so the tools' CUDA paths
 * run on it end to end (common/cuda_tool.c) and find every result wrong.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FAKE_MAX 64
typedef struct {
    char name[32];
    unsigned grid, block;
    uint64_t arg0;
} fake_launch;

static fake_launch launches[FAKE_MAX];
static int n_launches, n_modules;

int fake_cuda_launches(const fake_launch **out) {
    *out = launches;
    return n_launches;
}
int fake_cuda_modules(void) { return n_modules; }
void fake_cuda_reset(void) { n_launches = 0; }

int cuInit(unsigned f) { return (int)f; }
int cuDriverGetVersion(int *v) { return *v = 12090, 0; }
int cuDeviceGetCount(int *n) { return *n = 1, 0; }
int cuDeviceGet(int *d, int i) { return *d = i, 0; }
int cuDeviceGetName(char *s, int n, int d) {
    (void)d;
    strncpy(s, "fake", (size_t)n);
    return 0;
}
int cuDeviceGetAttribute(int *v, int attr, int d) {
    const char *e = getenv("FAKE_CUDA_SM");
    int sm = e ? atoi(e) : 90;
    (void)d;
    *v = attr == 75 ? sm / 10 : attr == 76 ? sm % 10 : attr == 16 ? 132 : 0;
    return 0;
}
static int primary;
int cuDevicePrimaryCtxRetain(void **c, int d) {
    (void)d;
    *c = &primary;
    return 0;
}
int cuDevicePrimaryCtxRelease_v2(int d) { return d < 0; }
int cuCtxPushCurrent_v2(void *c) { return c != &primary; }
int cuCtxPopCurrent_v2(void **c) {
    *c = &primary;
    return 0;
}
int cuModuleLoadData(void **m, const void *image) {
    if (memcmp(image, "\177ELF", 4) != 0)
        return 200; /* CUDA_ERROR_INVALID_IMAGE */
    ++n_modules;
    *m = malloc(1);
    return 0;
}
int cuModuleUnload(void *m) {
    free(m);
    return 0;
}
int cuModuleGetFunction(void **f, void *m, const char *name) {
    static const char *const known[] = {"apl_loss", "apl_count", "apl_finalize"};
    (void)m;
    for (int i = 0; i < 3; ++i)
        if (strcmp(name, known[i]) == 0)
            return *f = (void *)known[i], 0;
    return 500; /* CUDA_ERROR_NOT_FOUND */
}
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned smem, void *stream, void **params, void **extra) {
    (void)gy, (void)gz, (void)by, (void)bz, (void)smem, (void)stream, (void)extra;
    if (n_launches < FAKE_MAX) {
        fake_launch *l = &launches[n_launches++];
        strncpy(l->name, (const char *)f, sizeof l->name - 1);
        l->grid = gx, l->block = bx;
        l->arg0 = 0;
        memcpy(&l->arg0, params[0], strcmp(l->name, "apl_finalize") == 0 ? 4 : 8);
    }
    return 0;
}
int cuMemAlloc_v2(unsigned long long *p, size_t n) {
    *p = (unsigned long long)(uintptr_t)calloc(1, n);
    return *p ? 0 : 2;
}
int cuMemFree_v2(unsigned long long p) {
    free((void *)(uintptr_t)p);
    return 0;
}

/* ---- what the tools use beside the library (common/cuda_tool.c) ---- */
static void *P(unsigned long long d) { return (void *)(uintptr_t)d; }
static int token; /* streams and events: one address, nothing behind it */

int cuDeviceTotalMem_v2(size_t *bytes, int d) {
    (void)d;
    *bytes = (size_t)1 << 30;
    return 0;
}
int cuMemcpyHtoDAsync_v2(unsigned long long d, const void *h, size_t n, void *s) {
    (void)s;
    memcpy(P(d), h, n);
    return 0;
}
int cuMemcpyDtoHAsync_v2(void *h, unsigned long long d, size_t n, void *s) {
    (void)s;
    memcpy(h, P(d), n);
    return 0;
}
int cuMemcpyDtoDAsync_v2(unsigned long long d, unsigned long long src, size_t n, void *s) {
    (void)s;
    memmove(P(d), P(src), n);
    return 0;
}
int cuMemsetD16Async(unsigned long long d, unsigned short v, size_t n, void *s) {
    (void)s;
    for (size_t i = 0; i < n; ++i)
        memcpy((char *)P(d) + 2 * i, &v, 2);
    return 0;
}
int cuMemsetD32Async(unsigned long long d, unsigned v, size_t n, void *s) {
    (void)s;
    for (size_t i = 0; i < n; ++i)
        memcpy((char *)P(d) + 4 * i, &v, 4);
    return 0;
}
int cuStreamCreate(void **s, unsigned flags) {
    (void)flags;
    *s = &token;
    return 0;
}
int cuStreamDestroy_v2(void *s) { return s != &token; }
int cuStreamSynchronize(void *s) {
    (void)s;
    return 0;
}
int cuEventCreate(void **e, unsigned flags) {
    (void)flags;
    *e = &token;
    return 0;
}
int cuEventRecord(void *e, void *s) { return e != &token || (s && s != &token); }
int cuEventSynchronize(void *e) { return e != &token; }
int cuEventElapsedTime(float *ms, void *a, void *b) {
    (void)a, (void)b;
    *ms = 1.0f;
    return 0;
}
int cuEventDestroy_v2(void *e) { return e != &token; }
