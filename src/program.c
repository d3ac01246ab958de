/* program.c: assembles the kernel source, builds it once per context, caches the binary.
 *
 * Source: the copy embedded at build time (kernels/apl_abi.h, apl_0_common.cl, then the program's
 * own files), or (development only) the files of the same names in the kernel_dir option. The
 * binary cache it consults first is program_cache.c; any miss there falls back silently to a source
 * build. It launches nothing.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- source ---- */

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    /* kernels are small; refuse anything absurd rather than allocate it */
    if (size >= 0 && size < (64L << 20) && fseek(f, 0, SEEK_SET) == 0) {
        buf = (char *)malloc((size_t)size + 1);
        if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        if (buf) {
            buf[size] = '\0';
            *len = (size_t)size;
        }
    }
    fclose(f);
    return buf;
}

/* Which part of a program an embedded file is: 0 the C/OpenCL interface (apl_abi.h, any *.h),
 * 1 the common prelude (apl_0_*.cl), 2 the program's own files (names starting with `prefix`),
 * -1 none. Every program is parts 0, 1, 2 in that order, each in name order. */
static int source_part(const char *name, const char *prefix) {
    size_t len = strlen(name);
    if (len > 2 && strcmp(name + len - 2, ".h") == 0)
        return 0;
    if (strncmp(name, "apl_0_", 6) == 0)
        return 1;
    return strncmp(name, prefix, strlen(prefix)) == 0 ? 2 : -1;
}

/* The text of the program whose own files start with `prefix` (see source_part),
 * NUL-terminated, caller frees; NULL with *st set on failure. */
static char *assemble_source(const aplcl_ctx *ctx, const char *prefix, aplcl_status *st) {
    const char *dir = ctx->kernel_dir;
    bool override = dir != NULL;
    size_t total = 0, cap = 0;
    char *src = NULL;
    for (size_t k = 0; k < 3 * aplcl_embedded_kernel_count; ++k) { /* part by part */
        int part = (int)(k / aplcl_embedded_kernel_count);
        const aplcl_embedded_file *f = &aplcl_embedded_kernels[k % aplcl_embedded_kernel_count];
        if (source_part(f->name, prefix) != part)
            continue;
        const char *data = (const char *)f->data;
        size_t len = f->size;
        char *loaded = NULL;
        if (override) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, f->name);
            loaded = read_file(path, &len);
            if (!loaded) {
                free(src);
                *st = APLCL_ERR_KERNEL_SOURCE;
                return NULL;
            }
            data = loaded;
        }
        if (total + len + 2 > cap) {
            cap = (total + len + 2) * 2;
            char *grown = (char *)realloc(src, cap);
            if (!grown) {
                free(loaded);
                free(src);
                *st = APLCL_ERR_OUT_OF_HOST_MEMORY;
                return NULL;
            }
            src = grown;
        }
        memcpy(src + total, data, len);
        total += len;
        src[total++] = '\n';
        src[total] = '\0';
        free(loaded);
    }
    if (!src)
        *st = APLCL_ERR_KERNEL_SOURCE;
    return src;
}

/* ---- build ---- */

static void capture_build_log(aplcl_ctx *ctx, cl_program prog) {
    size_t len = 0;
    clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len);
    char *log = len ? (char *)malloc(len + 1) : NULL;
    if (!log) {
        apl_set_build_log("(no build log available)", 24);
        return;
    }
    clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, len, log, NULL);
    log[len] = '\0';
    apl_set_build_log(log, strlen(log));
    free(log);
}

aplcl_status apl_make_kernel(aplcl_ctx *ctx, cl_program prog, const char *name, cl_kernel *out) {
    cl_int err;
    *out = clCreateKernel(prog, name, &err);
    if (err != CL_SUCCESS) {
        apl_set_cl_error(err);
        return APLCL_ERR_OPENCL;
    }
    size_t wg = 0;
    clGetKernelWorkGroupInfo(*out, ctx->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    return wg >= ctx->local_size ? APLCL_SUCCESS : APLCL_ERR_DEVICE_UNSUPPORTED;
}

void apl_variant_release(apl_variant *v) {
    if (v->loss)
        clReleaseKernel(v->loss);
    if (v->count)
        clReleaseKernel(v->count);
    if (v->finalize)
        clReleaseKernel(v->finalize);
    if (v->program)
        clReleaseProgram(v->program);
    memset(v, 0, sizeof *v);
}

/* A program built from source; NULL with *st set (and the build log kept) on failure. */
static cl_program build_from_source(aplcl_ctx *ctx, const char *src, const char *opts,
                                    aplcl_status *st) {
    cl_int err;
    const char *srcs[1] = {src};
    cl_program prog = clCreateProgramWithSource(ctx->context, 1, srcs, NULL, &err);
    if (err != CL_SUCCESS) {
        apl_set_cl_error(err);
        *st = APLCL_ERR_OPENCL;
        return NULL;
    }
    err = clBuildProgram(prog, 1, &ctx->device, opts, NULL, NULL);
    if (err != CL_SUCCESS) {
        capture_build_log(ctx, prog);
        apl_set_cl_error(err);
        clReleaseProgram(prog);
        *st = APLCL_ERR_KERNEL_BUILD;
        return NULL;
    }
    return prog;
}

static aplcl_status build_program(aplcl_ctx *ctx, const char *prefix, const char *opts, bool cached,
                                  cl_program *out) {
    aplcl_status st = APLCL_SUCCESS;
    char *src = assemble_source(ctx, prefix, &st);
    if (!src)
        return st;
    apl_cache_key key;
    bool use_cache = cached && apl_cache_key_init(&key, ctx, src, opts);
    cl_program prog = use_cache ? apl_cache_load(ctx, &key, opts) : NULL;
    if (!prog) {
        prog = build_from_source(ctx, src, opts, &st);
        if (prog && use_cache)
            apl_cache_store(&key, prog);
    }
    if (use_cache)
        apl_cache_key_free(&key);
    free(src);
    *out = prog;
    return prog ? APLCL_SUCCESS : st;
}

aplcl_status apl_build_program(aplcl_ctx *ctx, const char *prefix, const char *opts,
                               cl_program *out) {
    return build_program(ctx, prefix, opts, true, out);
}

aplcl_status apl_build_program_uncached(aplcl_ctx *ctx, const char *prefix, const char *opts,
                                        cl_program *out) {
    return build_program(ctx, prefix, opts, false, out);
}

aplcl_status apl_variant_get(aplcl_ctx *ctx, aplcl_dtype dtype, aplcl_target_format fmt,
                             const apl_variant **out) {
    return apl_variant_get_w(ctx, dtype, fmt, 0, out);
}

/* Builds (once) the variant at *v: weighted and queued select the program's options. */
static aplcl_status variant_build(aplcl_ctx *ctx, apl_variant *v, aplcl_dtype dtype,
                                  aplcl_target_format fmt, int weighted, int queued) {
    if (v->finalize)
        return APLCL_SUCCESS;
    char *opts = v->opts;
    snprintf(opts, sizeof v->opts,
             "-cl-std=CL1.2 -DAPL_LOCAL=%zu -DAPL_VW=%zu -DAPL_FP64=%d -DAPL_DTYPE=%d "
             "-DAPL_TFMT=%d -DAPL_CONTIGUOUS=%d -DAPL_QUEUE=%d%s",
             ctx->local_size, ctx->vector_width, ctx->has_fp64, (int)dtype, (int)fmt,
             ctx->contiguous, queued, weighted ? " -DAPL_WEIGHTED=1" : "");
    aplcl_status st = apl_build_program(ctx, "apl_", opts, &v->program);
    if (st == APLCL_SUCCESS)
        st = apl_make_kernel(ctx, v->program, "apl_loss", &v->loss);
    if (st == APLCL_SUCCESS)
        st = apl_make_kernel(ctx, v->program, "apl_count", &v->count);
    if (st == APLCL_SUCCESS)
        st = apl_make_kernel(ctx, v->program, "apl_finalize", &v->finalize);
    if (st != APLCL_SUCCESS)
        apl_variant_release(v);
    return st;
}

aplcl_status apl_variant_get_w(aplcl_ctx *ctx, aplcl_dtype dtype, aplcl_target_format fmt,
                               int weighted, const apl_variant **out) {
    apl_variant *v = weighted ? &ctx->weighted[dtype][fmt] : &ctx->variants[dtype][fmt];
    *out = v;
    return variant_build(ctx, v, dtype, fmt, weighted, 0);
}

const apl_variant *apl_loss_variant(aplcl_ctx *ctx, const apl_variant *v, aplcl_dtype dtype,
                                    aplcl_target_format fmt, int weighted, size_t per_item) {
    bool can = ctx->contiguous && ctx->vector_width >= 4;
    bool wanted =
        ctx->sparse_queue == 2 || (ctx->sparse_queue == 1 && per_item >= APL_QUEUE_MIN_STEPS);
    if (!can || !wanted)
        return v;
    apl_variant *q = &ctx->queued[weighted != 0][dtype][fmt];
    return variant_build(ctx, q, dtype, fmt, weighted, 1) == APLCL_SUCCESS ? q : v;
}
