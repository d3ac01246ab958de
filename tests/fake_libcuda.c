/* fake_libcuda.c: a stand-in for libcuda.so.1 that runs nothing, for test_cuda_fake (host label).
 *
 * aplcl loads it through aplcl_cuda_options.cuda_library (the tests and tools set it from
 * APLCL_CUDA_LIBRARY). It reports one device of compute capability
 * $FAKE_CUDA_SM (default 90) with 132 SMs, accepts only ELF images in cuModuleLoadData (what a
 * cubin is), hands out host memory for cuMemAlloc, and records every cuLaunchKernel (kernel
 * name, grid, block, the first argument as a 64-bit value) for the test to read through
 * fake_cuda_launches(). Not a simulator: no kernel runs.
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
    *p = (unsigned long long)(uintptr_t)malloc(n);
    return *p ? 0 : 2;
}
int cuMemFree_v2(unsigned long long p) {
    free((void *)(uintptr_t)p);
    return 0;
}
