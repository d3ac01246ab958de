/* cuda_nvrtc.c: NVRTC through dlopen (see cuda_nvrtc.h). Nothing prints, nothing reads the
 * environment; errors are returned. */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "cuda_nvrtc.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *sym(void *lib, const char *name, int *missing) {
    void *p = dlsym(lib, name);
    if (!p)
        *missing = 1;
    return p;
}

int apl_nvrtc_open(apl_nvrtc *n, const char *path) {
    memset(n, 0, sizeof *n);
    const char *tries[4] = {NULL, "libnvrtc.so.12", "libnvrtc.so.13", "libnvrtc.so"};
    if (path && *path)
        tries[0] = path;
    for (int i = 0; i < 4 && !n->lib; ++i) {
        if (!tries[i] || (i > 0 && tries[0]))
            continue; /* an explicit library is the only one tried */
        n->lib = dlopen(tries[i], RTLD_NOW | RTLD_LOCAL);
        if (n->lib)
            snprintf(n->path, sizeof n->path, "%s", tries[i]);
    }
    if (!n->lib)
        return -1;
    int missing = 0;
    *(void **)&n->version = sym(n->lib, "nvrtcVersion", &missing);
    *(void **)&n->create = sym(n->lib, "nvrtcCreateProgram", &missing);
    *(void **)&n->compile = sym(n->lib, "nvrtcCompileProgram", &missing);
    *(void **)&n->log_size = sym(n->lib, "nvrtcGetProgramLogSize", &missing);
    *(void **)&n->log = sym(n->lib, "nvrtcGetProgramLog", &missing);
    *(void **)&n->cubin_size = sym(n->lib, "nvrtcGetCUBINSize", &missing);
    *(void **)&n->cubin = sym(n->lib, "nvrtcGetCUBIN", &missing);
    *(void **)&n->ptx_size = sym(n->lib, "nvrtcGetPTXSize", &missing);
    *(void **)&n->ptx = sym(n->lib, "nvrtcGetPTX", &missing);
    *(void **)&n->destroy = sym(n->lib, "nvrtcDestroyProgram", &missing);
    if (missing || n->version(&n->major, &n->minor) != 0) {
        apl_nvrtc_close(n);
        return -1;
    }
    return 0;
}

void apl_nvrtc_close(apl_nvrtc *n) {
    if (n->lib)
        dlclose(n->lib);
    memset(n, 0, sizeof *n);
}

void apl_nvrtc_out_free(apl_nvrtc_out *out) {
    free(out->cubin);
    free(out->ptx);
    free(out->log);
    memset(out, 0, sizeof *out);
}

#define MAX_OPTS 32

int apl_nvrtc_compile(const apl_nvrtc *n, const char *src, const char *defines, int sm, int verbose,
                      int want_ptx, apl_nvrtc_out *out) {
    memset(out, 0, sizeof *out);
    char arch[32], buf[1024];
    snprintf(arch, sizeof arch, "-arch=sm_%d", sm);
    snprintf(buf, sizeof buf, "%s", defines);
    const char *opts[MAX_OPTS];
    int nopt = 0;
    opts[nopt++] = arch;
    opts[nopt++] = "-default-device";
    if (verbose)
        opts[nopt++] = "-Xptxas=-v";
    char *save = NULL; /* strtok_r: the generator compiles on several threads */
    for (char *tok = strtok_r(buf, " ", &save); tok && nopt < MAX_OPTS;
         tok = strtok_r(NULL, " ", &save))
        opts[nopt++] = tok;
    void *prog = NULL;
    if (n->create(&prog, src, "aplcl_loss.cu", 0, NULL, NULL) != 0)
        return -1;
    int rc = n->compile(prog, nopt, opts);
    size_t len = 0;
    if (n->log_size(prog, &len) == 0 && len > 0 && (out->log = (char *)malloc(len + 1)) != NULL) {
        if (n->log(prog, out->log) != 0)
            out->log[0] = '\0';
        out->log[len] = '\0';
    }
    if (rc == 0 && n->cubin_size(prog, &len) == 0 && len > 0 &&
        (out->cubin = (unsigned char *)malloc(len)) != NULL) {
        if (n->cubin(prog, (char *)out->cubin) == 0)
            out->cubin_size = len;
    }
    if (rc == 0 && want_ptx && n->ptx_size(prog, &len) == 0 &&
        (out->ptx = (char *)malloc(len + 1)) != NULL) {
        if (n->ptx(prog, out->ptx) != 0)
            out->ptx[0] = '\0';
        out->ptx[len] = '\0';
    }
    n->destroy(&prog);
    if (rc != 0 || !out->cubin_size || (want_ptx && !out->ptx))
        return rc != 0 ? rc : -1;
    return 0;
}
