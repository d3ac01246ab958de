/* program.c: assembles the kernel source, builds it once per context, caches the binary.
 *
 * Each program names its kernel files in order (apl_program_files, as CLBlast's routines list the
 * kernels they include): the copy embedded at build time, or (development only) the files of the
 * same names in the kernel_dir option. The loss programs come from one table keyed by {storage,
 * target format, weighting, queue}; the count and finalize kernels are a small program per target
 * format, built once per context and shared by every loss program of that format. The
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

/* The files of each program, in the order they are concatenated. Every file a program needs is
 * named here, so what a file sees does not depend on how names sort. */
static const char *const LOSS_FILES[] = {"apl_abi.h",
                                         "apl_0_common.cl",
                                         "apl_1_explog.cl",
                                         "apl_1_math.cl",
                                         "apl_2_storage.cl",
                                         "apl_2w_weights.cl",
                                         "apl_3_step.cl",
                                         "apl_3q_queue.cl",
                                         "apl_3u_units.cl",
                                         "apl_4_loss.cl",
                                         NULL};
static const char *const REDUCE_FILES[] = {"apl_abi.h",
                                           "apl_0_common.cl",
                                           "apl_2_storage.cl",
                                           "apl_3u_units.cl",
                                           "apl_4_count.cl",
                                           "apl_4_finalize.cl",
                                           NULL};
static const char *const HEAD_FILES[] = {"apl_abi.h", "apl_0_common.cl", "head.cl", NULL};

const char *const *apl_program_files(apl_program_kind kind) {
    return kind == APL_PROGRAM_LOSS     ? LOSS_FILES
           : kind == APL_PROGRAM_REDUCE ? REDUCE_FILES
                                        : HEAD_FILES;
}

/* The embedded file called `name`, or NULL. */
static const aplcl_embedded_file *embedded(const char *name) {
    for (size_t k = 0; k < aplcl_embedded_kernel_count; ++k)
        if (strcmp(aplcl_embedded_kernels[k].name, name) == 0)
            return &aplcl_embedded_kernels[k];
    return NULL;
}

/* The text of the program made of `files` (in order), NUL-terminated, caller frees; NULL with *st
 * set on failure (a file missing from the embedded table or the kernel folder: KERNEL_SOURCE). */
static char *assemble_source(const aplcl_ctx *ctx, const char *const *files, aplcl_status *st) {
    const char *dir = ctx->kernel_dir;
    size_t total = 0, cap = 0;
    char *src = NULL;
    for (size_t k = 0; files[k]; ++k) {
        const char *data = NULL;
        size_t len = 0;
        char *loaded = NULL;
        if (dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, files[k]);
            data = loaded = read_file(path, &len);
        } else {
            const aplcl_embedded_file *f = embedded(files[k]);
            if (f)
                data = (const char *)f->data, len = f->size;
        }
        if (!data) {
            free(src);
            *st = APLCL_ERR_KERNEL_SOURCE;
            return NULL;
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
    if (v->program)
        clReleaseProgram(v->program);
    memset(v, 0, sizeof *v);
}

void apl_reduce_release(apl_reduce *r) {
    if (r->count)
        clReleaseKernel(r->count);
    if (r->finalize)
        clReleaseKernel(r->finalize);
    if (r->program)
        clReleaseProgram(r->program);
    memset(r, 0, sizeof *r);
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

static aplcl_status build_program(aplcl_ctx *ctx, apl_program_kind kind, const char *opts,
                                  bool cached, cl_program *out) {
    aplcl_status st = APLCL_SUCCESS;
    char *src = assemble_source(ctx, apl_program_files(kind), &st);
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

aplcl_status apl_build_program(aplcl_ctx *ctx, apl_program_kind kind, const char *opts,
                               cl_program *out) {
    return build_program(ctx, kind, opts, true, out);
}

aplcl_status apl_build_program_uncached(aplcl_ctx *ctx, apl_program_kind kind, const char *opts,
                                        cl_program *out) {
    return build_program(ctx, kind, opts, false, out);
}

aplcl_status apl_variant_get(aplcl_ctx *ctx, aplcl_dtype dtype, aplcl_target_format fmt,
                             const apl_variant **out) {
    return apl_variant_get_w(ctx, dtype, fmt, 0, out);
}

/* The build options every program of the context shares, then the program's own. */
static void program_options(const aplcl_ctx *ctx, char *out, size_t cap, size_t vector_width,
                            aplcl_dtype dtype, aplcl_target_format fmt, int weighted, int queued) {
    snprintf(out, cap,
             "-cl-std=CL1.2 -DAPL_LOCAL=%zu -DAPL_VW=%zu -DAPL_FP64=%d -DAPL_DTYPE=%d "
             "-DAPL_TFMT=%d -DAPL_CONTIGUOUS=%d -DAPL_QUEUE=%d%s",
             ctx->local_size, vector_width, ctx->has_fp64, (int)dtype, (int)fmt, ctx->contiguous,
             queued, weighted ? " -DAPL_WEIGHTED=1" : "");
}

/* The count and finalize kernels of target format fmt, built once per context: they read no
 * logits, so the F32 storage options serve every dtype, and they are scalar code (one target or
 * one mask word per unit, integer counts, the finalize's sum over groups), so vector width 1
 * serves every width: contexts that differ only in vector width share one compiled program (a
 * new machine compiles it once, not once per width). */
static aplcl_status reduce_get(aplcl_ctx *ctx, aplcl_target_format fmt, const apl_reduce **out) {
    apl_reduce *r = &ctx->reduce[fmt];
    *out = r;
    if (r->finalize)
        return APLCL_SUCCESS;
    char opts[256];
    program_options(ctx, opts, sizeof opts, 1, APLCL_DTYPE_F32, fmt, 0, 0);
    aplcl_status st = apl_build_program(ctx, APL_PROGRAM_REDUCE, opts, &r->program);
    if (st == APLCL_SUCCESS)
        st = apl_make_kernel(ctx, r->program, "apl_count", &r->count);
    if (st == APLCL_SUCCESS)
        st = apl_make_kernel(ctx, r->program, "apl_finalize", &r->finalize);
    if (st != APLCL_SUCCESS)
        apl_reduce_release(r);
    return st;
}

/* The loss program for {storage, target format, weighting, queue}: the one table's entry, built
 * on first use together with its format's count/finalize program. */
static aplcl_status loss_program(aplcl_ctx *ctx, aplcl_dtype dtype, aplcl_target_format fmt,
                                 int weighted, int queued, const apl_variant **out) {
    apl_variant *v = &ctx->programs[dtype][fmt][weighted != 0][queued != 0];
    *out = v;
    if (v->loss)
        return APLCL_SUCCESS;
    const apl_reduce *r;
    aplcl_status st = reduce_get(ctx, fmt, &r);
    if (st != APLCL_SUCCESS)
        return st;
    program_options(ctx, v->opts, sizeof v->opts, ctx->vector_width, dtype, fmt, weighted, queued);
    st = apl_build_program(ctx, APL_PROGRAM_LOSS, v->opts, &v->program);
    if (st == APLCL_SUCCESS)
        st = apl_make_kernel(ctx, v->program, "apl_loss", &v->loss);
    if (st != APLCL_SUCCESS) {
        apl_variant_release(v);
        return st;
    }
    v->reduce = r;
    return APLCL_SUCCESS;
}

aplcl_status apl_variant_get_w(aplcl_ctx *ctx, aplcl_dtype dtype, aplcl_target_format fmt,
                               int weighted, const apl_variant **out) {
    return loss_program(ctx, dtype, fmt, weighted, 0, out);
}

const apl_variant *apl_loss_variant(aplcl_ctx *ctx, const apl_variant *v, aplcl_dtype dtype,
                                    aplcl_target_format fmt, int weighted, size_t per_item) {
    bool can = ctx->contiguous && ctx->vector_width >= 4;
    bool wanted =
        ctx->sparse_queue == 2 || (ctx->sparse_queue == 1 && per_item >= APL_QUEUE_MIN_STEPS);
    if (!can || !wanted)
        return v;
    const apl_variant *q;
    return loss_program(ctx, dtype, fmt, weighted, 1, &q) == APLCL_SUCCESS ? q : v;
}
