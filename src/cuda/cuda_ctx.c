/* cuda_ctx.c: CUDA contexts (the device's primary context) and the loss program's modules: the
 * cubin embedded for the device's sm when there is one (binary-compatible: same major, minor not
 * above the device's), else NVRTC at run time with the cubin cached on disk under a hash of
 * (source, options, sm, NVRTC version). Nothing prints, nothing aborts. */
#define _POSIX_C_SOURCE 200809L
#include "cuda_cubins.h"
#include "cuda_internal.h"
#include "cuda_nvrtc.h"
#include "env.h"
#include "program_cache.h" /* apl_xxh64 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

aplcl_cuda_options aplcl_cuda_options_default(void) {
    aplcl_cuda_options o;
    memset(&o, 0, sizeof o);
    o.allow_nvrtc = 1;
    return o;
}

aplcl_cuda_io aplcl_cuda_io_default(void) {
    aplcl_cuda_io io;
    memset(&io, 0, sizeof io);
    io.dtype = APLCL_DTYPE_F32;
    io.targets.format = APLCL_TARGET_F32;
    return io;
}

/* ---- the disk cache: "APLCLCU1" | XXH64(payload) (8 bytes, little-endian) | payload ---- */
#define CU_MAGIC "APLCLCU1"

static unsigned char *cache_read(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char head[16], *buf = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n > 16 && n < (64L << 20) && fseek(f, 0, SEEK_SET) == 0 && fread(head, 1, 16, f) == 16 &&
        memcmp(head, CU_MAGIC, 8) == 0 && (buf = (unsigned char *)malloc((size_t)n - 16))) {
        if (fread(buf, 1, (size_t)n - 16, f) != (size_t)n - 16 ||
            apl_xxh64(buf, (size_t)n - 16, 0) != apl_le64(head + 8)) {
            free(buf);
            buf = NULL;
        } else {
            *size = (size_t)n - 16;
        }
    }
    fclose(f);
    return buf;
}

static void cache_write(const char *dir, const char *path, const unsigned char *data, size_t n) {
    char tmp[APL_CUDA_CACHE_PATH_MAX + 32];
    mkdir(dir, 0777); /* one level, as the OpenCL cache; a failure shows at fopen */
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return;
    unsigned char head[16];
    memcpy(head, CU_MAGIC, 8);
    apl_put_le64(head + 8, apl_xxh64(data, n, 0));
    int ok = fwrite(head, 1, 16, f) == 16 && fwrite(data, 1, n, f) == n;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0)
        remove(tmp);
}

/* Whether the embedded cubins were compiled from this library's kernel source (a blob taken
 * from another build, APLCL_CUBIN_BLOB, may be stale): checked once. */
static int embedded_current(void) {
    static int state; /* 0 unknown, 1 yes, -1 no; a benign race: every thread finds the same */
    if (!state) {
        size_t len = 0;
        char *src = apl_cuda_source(&len);
        state = src && apl_xxh64(src, len, 0) == aplcl_cuda_cubin_source_hash ? 1 : -1;
        free(src);
    }
    return state > 0;
}

/* The embedded cubin that runs on sm (same major, the highest minor not above sm's). */
static const apl_cuda_cubin *embedded_for(int sm, int variant) {
    const apl_cuda_cubin *best = NULL;
    if (!aplcl_cuda_cubin_count || !embedded_current())
        return NULL;
    for (size_t i = 0; i < aplcl_cuda_cubin_count; ++i) {
        const apl_cuda_cubin *c = &aplcl_cuda_cubins[i];
        if (c->variant == variant && c->sm / 10 == sm / 10 && c->sm <= sm &&
            (!best || c->sm > best->sm))
            best = c;
    }
    return best;
}

static aplcl_status load_module(aplcl_cuda_ctx *ctx, const void *image, apl_cuda_program *v) {
    apl_CUresult r = ctx->cu->ModuleLoadData(&v->module, image);
    if (r == 0)
        r = ctx->cu->ModuleGetFunction(&v->loss, v->module, "apl_loss");
    if (r == 0)
        r = ctx->cu->ModuleGetFunction(&v->count, v->module, "apl_count");
    if (r == 0)
        r = ctx->cu->ModuleGetFunction(&v->finalize, v->module, "apl_finalize");
    if (r != 0) {
        if (v->module)
            ctx->cu->ModuleUnload(v->module);
        memset(v, 0, sizeof *v);
        apl_cuda_set_error(r);
        return APLCL_ERR_CUDA;
    }
    return APLCL_SUCCESS;
}

/* NVRTC at run time for the device's own sm, through the disk cache. */
static aplcl_status load_nvrtc(aplcl_cuda_ctx *ctx, int variant, apl_cuda_program *v) {
    apl_nvrtc nv;
    if (apl_nvrtc_open(&nv, ctx->nvrtc_library) != 0)
        return APLCL_ERR_DEVICE_UNSUPPORTED;
    size_t len = 0;
    char *src = apl_cuda_source(&len);
    aplcl_status st = APLCL_ERR_OUT_OF_HOST_MEMORY;
    if (!src) {
        apl_nvrtc_close(&nv);
        return st;
    }
    char defs[256], id[512], path[APL_CUDA_CACHE_PATH_MAX];
    apl_cuda_variant_defines(variant, defs, sizeof defs);
    snprintf(id, sizeof id, "%s|sm_%d|nvrtc %d.%d", defs, ctx->sm, nv.major, nv.minor);
    uint64_t key = apl_xxh64(src, len, apl_xxh64(id, strlen(id), 0));
    snprintf(path, sizeof path, "%s/cuda-%016llx.cubin", ctx->cache_dir, (unsigned long long)key);
    size_t n = 0;
    unsigned char *cubin = ctx->cache_dir[0] ? cache_read(path, &n) : NULL;
    if (cubin && load_module(ctx, cubin, v) == APLCL_SUCCESS) {
        snprintf(ctx->describe, sizeof ctx->describe, "sm_%d NVRTC %d.%d (cached)", ctx->sm,
                 nv.major, nv.minor);
        st = APLCL_SUCCESS;
    } else {
        apl_nvrtc_out out;
        if (apl_nvrtc_compile(&nv, src, defs, ctx->sm, 0, 0, &out) != 0) {
            st = APLCL_ERR_KERNEL_BUILD;
        } else {
            st = load_module(ctx, out.cubin, v);
            if (st == APLCL_SUCCESS && ctx->cache_dir[0])
                cache_write(ctx->cache_dir, path, out.cubin, out.cubin_size);
            snprintf(ctx->describe, sizeof ctx->describe, "sm_%d NVRTC %d.%d", ctx->sm, nv.major,
                     nv.minor);
        }
        apl_nvrtc_out_free(&out);
    }
    free(cubin);
    free(src);
    apl_nvrtc_close(&nv);
    return st;
}

aplcl_status apl_cuda_variant_get(aplcl_cuda_ctx *ctx, int variant, const apl_cuda_program **out) {
    apl_cuda_program *v = &ctx->variants[variant];
    *out = v;
    pthread_mutex_lock(&ctx->lock);
    aplcl_status st = APLCL_SUCCESS;
    if (!v->module) {
        const apl_cuda_cubin *c = embedded_for(ctx->sm, variant);
        st = c ? load_module(ctx, c->data, v) : APLCL_ERR_DEVICE_UNSUPPORTED;
        if (c && st == APLCL_SUCCESS)
            snprintf(ctx->describe, sizeof ctx->describe, "sm_%d embedded (NVRTC %s)", c->sm,
                     aplcl_cuda_cubin_nvrtc);
        if (st != APLCL_SUCCESS && ctx->allow_nvrtc)
            st = load_nvrtc(ctx, variant, v);
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

size_t aplcl_cuda_scratch_bytes(const aplcl_cuda_ctx *ctx) {
    /* partial sums (double), partial counts, then the result's loss (2 doubles) and counts */
    return ctx ? ctx->max_groups * (8 + 8 * APLCL_COUNT_LEN) + 16 + 8 * APLCL_COUNT_LEN : 0;
}

const char *aplcl_cuda_ctx_describe(const aplcl_cuda_ctx *ctx) { return ctx ? ctx->describe : ""; }

void aplcl_cuda_ctx_destroy(aplcl_cuda_ctx *ctx) {
    if (!ctx)
        return;
    apl_CUcontext popped;
    if (ctx->cu->CtxPushCurrent(ctx->primary) == 0) {
        for (int i = 0; i < APL_CUDA_VARIANTS; ++i)
            if (ctx->variants[i].module)
                ctx->cu->ModuleUnload(ctx->variants[i].module);
        if (ctx->own_scratch)
            ctx->cu->MemFree(ctx->own_scratch);
        ctx->cu->CtxPopCurrent(&popped);
    }
    ctx->cu->PrimaryCtxRelease(ctx->dev);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

aplcl_status aplcl_cuda_ctx_create(aplcl_cuda_ctx **out, int ordinal, const aplcl_cuda_options *o) {
    if (!out)
        return APLCL_ERR_NULL_ARGUMENT;
    *out = NULL;
    aplcl_cuda_options opts = o ? *o : aplcl_cuda_options_default();
    const char *nvrtc = opts.nvrtc_library ? opts.nvrtc_library : "";
    if ((opts.allow_nvrtc & ~1) || strlen(nvrtc) >= APL_CUDA_PATH_MAX)
        return APLCL_ERR_INVALID_OPTION;
    const apl_cuda_api *cu = NULL;
    aplcl_status st = apl_cuda_api_get(opts.cuda_library, &cu);
    if (st != APLCL_SUCCESS)
        return st;
    int count = 0;
    if (cu->DeviceGetCount(&count) != 0 || count == 0)
        return APLCL_ERR_CUDA_UNAVAILABLE;
    if (ordinal < 0 || ordinal >= count)
        return APLCL_ERR_NO_DEVICE;
    aplcl_cuda_ctx *ctx = (aplcl_cuda_ctx *)calloc(1, sizeof *ctx);
    if (!ctx)
        return APLCL_ERR_OUT_OF_HOST_MEMORY;
    ctx->cu = cu;
    ctx->allow_nvrtc = opts.allow_nvrtc;
    /* the caller's strings are read during this call only (aplcl.h "values") */
    snprintf(ctx->nvrtc_library, sizeof ctx->nvrtc_library, "%s", nvrtc);
    apl_env_cache_dir(opts.cache_dir, ctx->cache_dir, sizeof ctx->cache_dir); /* env.c */
    int major = 0, minor = 0, sms = 0;
    apl_CUresult r = cu->DeviceGet(&ctx->dev, ordinal);
    if (r == 0)
        r = cu->DeviceGetAttribute(&major, APL_CU_ATTR_CC_MAJOR, ctx->dev);
    if (r == 0)
        r = cu->DeviceGetAttribute(&minor, APL_CU_ATTR_CC_MINOR, ctx->dev);
    if (r == 0)
        r = cu->DeviceGetAttribute(&sms, APL_CU_ATTR_MULTIPROCESSOR_COUNT, ctx->dev);
    if (r == 0)
        r = cu->PrimaryCtxRetain(&ctx->primary, ctx->dev);
    if (r != 0) {
        apl_cuda_set_error(r);
        free(ctx);
        return APLCL_ERR_CUDA;
    }
    pthread_mutex_init(&ctx->lock, NULL);
    ctx->sm = 10 * major + minor;
    /* four 256-thread blocks per SM: apl_loss's 64-120 registers allow two to three resident */
    size_t g = (size_t)sms * 4;
    ctx->max_groups = g < 16 ? 16 : g > APL_CUDA_MAX_GROUPS ? APL_CUDA_MAX_GROUPS : g;
    apl_CUcontext popped;
    if ((r = cu->CtxPushCurrent(ctx->primary)) != 0) {
        apl_cuda_set_error(r);
        st = APLCL_ERR_CUDA;
    } else {
        r = cu->MemAlloc(&ctx->own_scratch, aplcl_cuda_scratch_bytes(ctx));
        if (r != 0) {
            apl_cuda_set_error(r);
            ctx->own_scratch = 0;
            st = APLCL_ERR_CUDA;
        }
        const apl_cuda_program *v;
        if (st == APLCL_SUCCESS) /* the default program now: a missing one shows at creation */
            st = apl_cuda_variant_get(ctx, apl_cuda_variant(0, 0, 0), &v);
        cu->CtxPopCurrent(&popped);
    }
    if (st != APLCL_SUCCESS) {
        aplcl_cuda_ctx_destroy(ctx);
        return st;
    }
    *out = ctx;
    return APLCL_SUCCESS;
}
