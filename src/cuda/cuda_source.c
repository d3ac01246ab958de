/* cuda_source.c: assembles the CUDA loss program from the embedded kernel files (cuda_source.h).
 * Kept apart from src/program.c (the OpenCL programs) on purpose: the order is the same, the
 * prelude and the head's exclusion are CUDA's own. */
#include "cuda_source.h"

#include "embedded_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const aplcl_embedded_file aplcl_embedded_kernels[];
extern const size_t aplcl_embedded_kernel_count;
extern const aplcl_embedded_file aplcl_cuda_prelude[];
extern const size_t aplcl_cuda_prelude_count;

void apl_cuda_variant_defines(int v, char *buf, size_t size) {
    int weighted = v % 2, tfmt = (v / 2) % APL_CUDA_TFMTS, dtype = v / (2 * APL_CUDA_TFMTS);
    snprintf(buf, size,
             "-DAPL_LOCAL=%d -DAPL_VW=1 -DAPL_FP64=%d -DAPL_DTYPE=%d -DAPL_TFMT=%d "
             "-DAPL_CONTIGUOUS=0 -DAPL_QUEUE=0%s",
             APL_CUDA_LOCAL, APL_CUDA_FP64, dtype, tfmt, weighted ? " -DAPL_WEIGHTED=1" : "");
}

/* Part of the program a kernel file is: 0 headers, 1 apl_0_*.cl, 2 the other apl_*.cl, -1 none
 * (the linear head's head.cl: OpenCL only). */
static int part_of(const char *name) {
    size_t len = strlen(name);
    if (len > 2 && strcmp(name + len - 2, ".h") == 0)
        return 0;
    if (strncmp(name, "apl_0_", 6) == 0)
        return 1;
    return strncmp(name, "apl_", 4) == 0 ? 2 : -1;
}

static int append(char **buf, size_t *len, size_t *cap, const unsigned char *data, size_t n) {
    if (*len + n + 2 > *cap) {
        size_t want = (*len + n + 2) * 2;
        char *grown = (char *)realloc(*buf, want);
        if (!grown)
            return -1;
        *buf = grown, *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
    return 0;
}

char *apl_cuda_source(size_t *len) {
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int bad = 0;
    for (size_t i = 0; i < aplcl_cuda_prelude_count; ++i)
        bad |= append(&buf, &n, &cap, aplcl_cuda_prelude[i].data, aplcl_cuda_prelude[i].size);
    for (int part = 0; part < 3; ++part)
        for (size_t i = 0; i < aplcl_embedded_kernel_count; ++i)
            if (part_of(aplcl_embedded_kernels[i].name) == part)
                bad |= append(&buf, &n, &cap, aplcl_embedded_kernels[i].data,
                              aplcl_embedded_kernels[i].size);
    if (bad) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
