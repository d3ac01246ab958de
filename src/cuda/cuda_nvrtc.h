/* cuda_nvrtc.h: NVRTC loaded at run time (dlopen), for the build-time cubin generator and the
 * library's run-time fallback. No NVRTC header is needed: the few types are declared here.
 * Not here: what is compiled (cuda_source.h) or where cubins are kept (cuda_ctx.c).
 */
#ifndef APLCL_CUDA_NVRTC_H
#define APLCL_CUDA_NVRTC_H

#include <stddef.h>

typedef struct apl_nvrtc {
    void *lib;
    int major, minor;
    char path[512];
    int (*version)(int *, int *);
    int (*create)(void **, const char *, const char *, int, const char *const *,
                  const char *const *);
    int (*compile)(void *, int, const char *const *);
    int (*log_size)(void *, size_t *);
    int (*log)(void *, char *);
    int (*cubin_size)(void *, size_t *);
    int (*cubin)(void *, char *);
    int (*ptx_size)(void *, size_t *);
    int (*ptx)(void *, char *);
    int (*destroy)(void **);
} apl_nvrtc;

/* Loads NVRTC from `path` (only that one), or (path NULL or empty) the first of libnvrtc.so.12,
 * libnvrtc.so.13, libnvrtc.so the loader finds. 0 on success. */
int apl_nvrtc_open(apl_nvrtc *n, const char *path);
void apl_nvrtc_close(apl_nvrtc *n);

/* The result of one compile: cubin (and PTX when asked) and the log, all malloc'ed. */
typedef struct apl_nvrtc_out {
    unsigned char *cubin;
    size_t cubin_size;
    char *ptx; /* NULL unless want_ptx */
    char *log;
} apl_nvrtc_out;

/* Compiles `src` with the space-separated `defines` (the -D options) for sm_<sm>, as
 * -default-device CUDA C++. verbose adds ptxas's resource report to the log. 0 on success; on
 * failure the log says why (out->log may be set either way). */
int apl_nvrtc_compile(const apl_nvrtc *n, const char *src, const char *defines, int sm, int verbose,
                      int want_ptx, apl_nvrtc_out *out);
void apl_nvrtc_out_free(apl_nvrtc_out *out);

#endif /* APLCL_CUDA_NVRTC_H */
