/* ctx.c: device discovery and selection, context creation and destruction.
 *
 * A context owns (or borrows, for create_from_queue) an OpenCL context, device and queue, the
 * built program and its kernels, and the small scratch buffers of the two-stage reduction.
 * Program building lives in program.c, launching in enqueue.c, the lock and event chain that
 * calls on one context share in call.c.
 */
#include "env.h"
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define APL_MAX_PLATFORMS 16
#ifndef CL_PLATFORM_NOT_FOUND_KHR /* cl_khr_icd: the loader found no platform */
#define CL_PLATFORM_NOT_FOUND_KHR -1001
#endif
#define APL_MAX_DEVICES 64

static aplcl_status cl_fail(cl_int err) {
    apl_set_cl_error(err);
    return APLCL_ERR_OPENCL;
}

/* String queries, truncated to the buffer (OpenCL itself fails on a short buffer). */
static void truncate_into(const char *full, size_t len, char *buf, size_t size) {
    if (len >= size)
        len = size - 1;
    memcpy(buf, full, len);
    buf[len] = '\0';
}
/* One string query of a platform (device NULL) or a device, into a buffer of its own size. */
static void str_info(cl_platform_id p, cl_device_id d, cl_uint what, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = '\0';
    cl_int err =
        d ? clGetDeviceInfo(d, what, 0, NULL, &len) : clGetPlatformInfo(p, what, 0, NULL, &len);
    if (err != CL_SUCCESS || len == 0)
        return;
    char *full = (char *)malloc(len + 1);
    if (full)
        err = d ? clGetDeviceInfo(d, what, len, full, NULL)
                : clGetPlatformInfo(p, what, len, full, NULL);
    if (full && err == CL_SUCCESS) {
        full[len] = '\0';
        truncate_into(full, strlen(full), buf, size);
    }
    free(full);
}
static void str_info_platform(cl_platform_id p, cl_platform_info what, char *buf, size_t size) {
    str_info(p, NULL, what, buf, size);
}
static void str_info_device(cl_device_id d, cl_device_info what, char *buf, size_t size) {
    str_info(NULL, d, what, buf, size);
}

/* The platforms the ICD loader lists, at most APL_MAX_PLATFORMS. */
typedef struct {
    cl_platform_id id[APL_MAX_PLATFORMS];
    cl_uint n;
} platform_list;

/* All platforms; APLCL_ERR_NO_PLATFORM when the ICD loader finds none. */
static aplcl_status get_platforms(platform_list *pl) {
    cl_uint n = 0;
    cl_int err = clGetPlatformIDs(APL_MAX_PLATFORMS, pl->id, &n);
    if (err == CL_PLATFORM_NOT_FOUND_KHR || (err == CL_SUCCESS && n == 0)) {
        apl_set_cl_error(err);
        return APLCL_ERR_NO_PLATFORM;
    }
    if (err != CL_SUCCESS)
        return cl_fail(err);
    pl->n = n > APL_MAX_PLATFORMS ? APL_MAX_PLATFORMS : n;
    return APLCL_SUCCESS;
}

static cl_uint get_devices(cl_platform_id p, cl_device_type type, cl_device_id *ids) {
    cl_uint n = 0;
    if (clGetDeviceIDs(p, type, APL_MAX_DEVICES, ids, &n) != CL_SUCCESS)
        return 0;
    return n > APL_MAX_DEVICES ? APL_MAX_DEVICES : n;
}

static bool contains_nocase(const char *hay, const char *needle) {
    size_t nl = strlen(needle);
    for (const char *h = hay; *h; ++h) {
        size_t k = 0;
        while (k < nl && h[k] && tolower((unsigned char)h[k]) == tolower((unsigned char)needle[k]))
            ++k;
        if (k == nl)
            return true;
    }
    return nl == 0;
}

/* The device-string grammar (aplcl.h): a string made only of decimal digits and colons, with at
 * least one colon, is an index spec and must be exactly "P:D" (both parts non-empty);
 * anything else is a name to search for. Indices too large for any device (2^32 and more) still
 * parse, saturated, so they select nothing instead of wrapping to a small index. */
typedef enum { SPEC_NAME, SPEC_INDICES, SPEC_MALFORMED } spec_kind;

static const char *parse_index(const char *s, unsigned *out) {
    unsigned long long v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; ++p)
        v = v > UINT_MAX ? v : v * 10 + (unsigned)(*p - '0');
    *out = v > UINT_MAX ? UINT_MAX : (unsigned)v;
    return p == s ? NULL : p;
}

static spec_kind parse_spec(const char *s, unsigned *pi, unsigned *di) {
    bool colon = false;
    for (const char *p = s; *p; ++p) {
        if (*p == ':')
            colon = true;
        else if (*p < '0' || *p > '9')
            return SPEC_NAME;
    }
    if (!colon)
        return SPEC_NAME; /* digits alone are part of a name ("7900") */
    const char *p = parse_index(s, pi);
    if (!p || *p != ':')
        return SPEC_MALFORMED;
    p = parse_index(p + 1, di);
    return p && *p == '\0' ? SPEC_INDICES : SPEC_MALFORMED;
}

aplcl_status apl_select_device(const char *spec, cl_platform_id *platform, cl_device_id *device) {
    unsigned pi = 0, di = 0;
    spec_kind kind = spec && *spec ? parse_spec(spec, &pi, &di) : SPEC_NAME;
    if (kind == SPEC_MALFORMED) /* before any OpenCL call: no platform needed to say so */
        return APLCL_ERR_INVALID_DEVICE_SPEC;
    platform_list pl;
    aplcl_status st = get_platforms(&pl);
    if (st != APLCL_SUCCESS)
        return st;
    cl_device_id devs[APL_MAX_DEVICES];

    if (!spec || !*spec) { /* default: first GPU, else first device of any kind */
        const cl_device_type order[2] = {CL_DEVICE_TYPE_GPU, CL_DEVICE_TYPE_ALL};
        for (int t = 0; t < 2; ++t)
            for (cl_uint i = 0; i < pl.n; ++i)
                if (get_devices(pl.id[i], order[t], devs) > 0) {
                    *platform = pl.id[i];
                    *device = devs[0];
                    return APLCL_SUCCESS;
                }
        return APLCL_ERR_NO_DEVICE;
    }
    if (kind == SPEC_INDICES) {
        if (pi >= pl.n)
            return APLCL_ERR_NO_DEVICE;
        cl_uint nd = get_devices(pl.id[pi], CL_DEVICE_TYPE_ALL, devs);
        if (di >= nd)
            return APLCL_ERR_NO_DEVICE;
        *platform = pl.id[pi];
        *device = devs[di];
        return APLCL_SUCCESS;
    }
    for (cl_uint i = 0; i < pl.n; ++i) {
        char pname[128], dname[128], full[260];
        str_info_platform(pl.id[i], CL_PLATFORM_NAME, pname, sizeof pname);
        cl_uint nd = get_devices(pl.id[i], CL_DEVICE_TYPE_ALL, devs);
        for (cl_uint j = 0; j < nd; ++j) {
            str_info_device(devs[j], CL_DEVICE_NAME, dname, sizeof dname);
            snprintf(full, sizeof full, "%s %s", pname, dname);
            if (contains_nocase(full, spec)) {
                *platform = pl.id[i];
                *device = devs[j];
                return APLCL_SUCCESS;
            }
        }
    }
    return APLCL_ERR_NO_DEVICE;
}

aplcl_status aplcl_list_devices(aplcl_device_info *infos, size_t capacity, size_t *count) {
    if (!count || (capacity > 0 && !infos))
        return APLCL_ERR_NULL_ARGUMENT;
    *count = 0;
    platform_list pl;
    aplcl_status st = get_platforms(&pl);
    if (st != APLCL_SUCCESS)
        return st;
    size_t k = 0;
    for (cl_uint i = 0; i < pl.n; ++i) {
        cl_device_id devs[APL_MAX_DEVICES];
        cl_uint nd = get_devices(pl.id[i], CL_DEVICE_TYPE_ALL, devs);
        for (cl_uint j = 0; j < nd; ++j, ++k) {
            if (k >= capacity)
                continue;
            aplcl_device_info *d = &infos[k];
            memset(d, 0, sizeof *d);
            d->platform_index = i;
            d->device_index = j;
            str_info_platform(pl.id[i], CL_PLATFORM_NAME, d->platform_name,
                              sizeof d->platform_name);
            str_info_device(devs[j], CL_DEVICE_NAME, d->device_name, sizeof d->device_name);
            str_info_device(devs[j], CL_DEVICE_VERSION, d->device_version,
                            sizeof d->device_version);
            str_info_device(devs[j], CL_DRIVER_VERSION, d->driver_version,
                            sizeof d->driver_version);
            cl_uint cu = 0;
            cl_ulong gm = 0, ma = 0;
            cl_device_fp_config fp64 = 0;
            clGetDeviceInfo(devs[j], CL_DEVICE_TYPE, sizeof d->type, &d->type, NULL);
            clGetDeviceInfo(devs[j], CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
            clGetDeviceInfo(devs[j], CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gm, &gm, NULL);
            clGetDeviceInfo(devs[j], CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof ma, &ma, NULL);
            clGetDeviceInfo(devs[j], CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
            d->compute_units = cu;
            d->global_mem_bytes = gm;
            d->max_alloc_bytes = ma;
            d->has_fp64 = fp64 != 0;
        }
    }
    *count = k;
    return APLCL_SUCCESS;
}

/* A zeroed context with its lock ready; NULL when out of memory. */
static aplcl_ctx *ctx_alloc(void) {
    aplcl_ctx *ctx = (aplcl_ctx *)calloc(1, sizeof(aplcl_ctx));
    if (ctx && apl_calls_init(ctx) != APLCL_SUCCESS) {
        free(ctx);
        return NULL;
    }
    return ctx;
}

aplcl_ctx_options aplcl_ctx_options_default(void) {
    aplcl_ctx_options o;
    memset(&o, 0, sizeof o);
    o.layout = APLCL_LAYOUT_AUTO;
    o.sparse_queue = APLCL_SPARSE_QUEUE_AUTO;
    return o;
}

static bool is_pow2(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

/* The option fields in range (aplcl.h), else INVALID_OPTION: a typo must not run another shape. */
static aplcl_status check_options(const aplcl_ctx_options *o) {
    if (o->vector_width != 0 && (o->vector_width > 16 || !is_pow2(o->vector_width)))
        return APLCL_ERR_INVALID_OPTION;
    if (o->local_size != 0 && (o->local_size > (1u << 16) || !is_pow2(o->local_size)))
        return APLCL_ERR_INVALID_OPTION;
    if ((unsigned)o->layout > APLCL_LAYOUT_CONTIGUOUS)
        return APLCL_ERR_INVALID_OPTION;
    if ((unsigned)o->sparse_queue > APLCL_SPARSE_QUEUE_ALWAYS)
        return APLCL_ERR_INVALID_OPTION;
    return APLCL_SUCCESS;
}

/* Context, device and queue: the caller's queue, or a new context and queue on the device. */
static aplcl_status open_queue(aplcl_ctx *ctx, const aplcl_ctx_options *o) {
    cl_int err;
    if (o->queue) {
        err = clGetCommandQueueInfo(o->queue, CL_QUEUE_CONTEXT, sizeof ctx->context, &ctx->context,
                                    NULL);
        if (err == CL_SUCCESS)
            err = clGetCommandQueueInfo(o->queue, CL_QUEUE_DEVICE, sizeof ctx->device, &ctx->device,
                                        NULL);
        if (err != CL_SUCCESS) {
            ctx->context = NULL;
            return cl_fail(err);
        }
        clRetainCommandQueue(o->queue);
        clRetainContext(ctx->context);
        ctx->queue = o->queue;
        return APLCL_SUCCESS;
    }
    cl_platform_id platform;
    cl_device_id dev;
    aplcl_status st = apl_select_device(apl_env_device(o->device), &platform, &dev);
    if (st != APLCL_SUCCESS)
        return st;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)platform, 0};
    ctx->device = dev;
    ctx->context = clCreateContext(props, 1, &dev, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        ctx->context = NULL;
        return cl_fail(err);
    }
    ctx->queue = clCreateCommandQueue(ctx->context, dev, CL_QUEUE_PROFILING_ENABLE, &err);
    if (err != CL_SUCCESS) {
        ctx->queue = NULL;
        return cl_fail(err);
    }
    return APLCL_SUCCESS;
}

aplcl_status aplcl_ctx_create_ex(aplcl_ctx **out, const aplcl_ctx_options *opts) {
    if (!out)
        return APLCL_ERR_NULL_ARGUMENT;
    *out = NULL;
    apl_set_build_log(NULL, 0);
    apl_set_cl_error(CL_SUCCESS);
    aplcl_ctx_options o = opts ? *opts : aplcl_ctx_options_default();
    aplcl_status st = check_options(&o);
    if (st != APLCL_SUCCESS)
        return st;
    aplcl_ctx *ctx = ctx_alloc();
    if (!ctx)
        return APLCL_ERR_OUT_OF_HOST_MEMORY;
    apl_env_cache_dir(o.cache_dir, ctx->cache_dir, sizeof ctx->cache_dir); /* env.c */
    if (o.kernel_dir && *o.kernel_dir) {
        size_t len = strlen(o.kernel_dir) + 1;
        if (!(ctx->kernel_dir = (char *)malloc(len))) {
            aplcl_ctx_destroy(ctx);
            return APLCL_ERR_OUT_OF_HOST_MEMORY;
        }
        memcpy(ctx->kernel_dir, o.kernel_dir, len);
    }
    st = open_queue(ctx, &o);
    if (st == APLCL_SUCCESS)
        st = apl_ctx_finish(ctx, &o);
    if (st != APLCL_SUCCESS) {
        aplcl_ctx_destroy(ctx);
        return st;
    }
    *out = ctx;
    return APLCL_SUCCESS;
}

aplcl_status aplcl_ctx_create(aplcl_ctx **out, const char *device) {
    aplcl_ctx_options o = aplcl_ctx_options_default();
    o.device = device;
    return aplcl_ctx_create_ex(out, &o);
}

aplcl_status aplcl_ctx_create_from_queue(aplcl_ctx **out, cl_command_queue queue) {
    if (out && !queue) {
        *out = NULL;
        return APLCL_ERR_NULL_ARGUMENT;
    }
    aplcl_ctx_options o = aplcl_ctx_options_default();
    o.queue = queue;
    return aplcl_ctx_create_ex(out, &o);
}

static size_t floor_pow2(size_t v) {
    size_t p = 1;
    while (p * 2 <= v)
        p *= 2;
    return p;
}

static bool is_cpu(cl_device_id dev) {
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    return (type & CL_DEVICE_TYPE_CPU) != 0;
}

/* Elements per work-item step. PoCL does not vectorise scalar kernels, so CPUs get explicit
 * vectors of their preferred float width (at least 4, at most 16); GPUs get 4 (16-byte loads
 * per lane, coalesced); others 1. The vector_width option overrides (checked already). */
static size_t pick_vector_width(cl_device_id dev, unsigned option) {
    if (option)
        return option;
    cl_device_type type = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    if (type & CL_DEVICE_TYPE_CPU) {
        cl_uint pref = 0;
        clGetDeviceInfo(dev, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof pref, &pref, NULL);
        return pref >= 16 ? 16 : pref >= 8 ? 8 : 4;
    }
    return type & CL_DEVICE_TYPE_GPU ? 4 : 1;
}

aplcl_status apl_ctx_finish(aplcl_ctx *ctx, const aplcl_ctx_options *o) {
    char ver[64], pname[128], dname[128];
    cl_platform_id platform = NULL;
    str_info_device(ctx->device, CL_DEVICE_VERSION, ver, sizeof ver);
    int major = 0, minor = 0;
    if (sscanf(ver, "OpenCL %d.%d", &major, &minor) != 2 || major * 10 + minor < 12)
        return APLCL_ERR_DEVICE_UNSUPPORTED;
    clGetDeviceInfo(ctx->device, CL_DEVICE_PLATFORM, sizeof platform, &platform, NULL);
    str_info_platform(platform, CL_PLATFORM_NAME, pname, sizeof pname);
    str_info_device(ctx->device, CL_DEVICE_NAME, dname, sizeof dname);
    snprintf(ctx->name, sizeof ctx->name, "%s / %s", pname, dname);

    cl_device_fp_config fp64 = 0;
    size_t max_wg = 0;
    cl_uint cu = 1;
    clGetDeviceInfo(ctx->device, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof max_wg, &max_wg, NULL);
    clGetDeviceInfo(ctx->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    ctx->has_fp64 = fp64 != 0;
    cl_bool unified = CL_FALSE;
    if (clGetDeviceInfo(ctx->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                        NULL) == CL_SUCCESS)
        ctx->host_unified = unified != CL_FALSE;
    /* GPUs: 256. PoCL runs a work-group as a loop on one thread; 32 measured best there
     * (aplcl bench --quick, 4096x1000 early: 32 -> 0.25, 256 -> 0.20 G elem/s).
     * The local_size option (a power of two, 1..65536, clamped to the device) overrides, for
     * tuning; above the device's limit means the limit, as for the default. */
    unsigned want = o->local_size ? o->local_size : is_cpu(ctx->device) ? 32 : 256;
    ctx->local_size = floor_pow2(max_wg < want ? max_wg : want);
    if (ctx->local_size < 1)
        return APLCL_ERR_DEVICE_UNSUPPORTED;
    /* Enough groups to fill the device several times over; a fixed function of the device so
     * the reduction order (hence the bits) is the same on every call. */
    size_t groups = (size_t)cu * 8;
    ctx->max_groups = groups < 16 ? 16 : groups > APL_MAX_GROUPS ? APL_MAX_GROUPS : groups;

    ctx->vector_width = pick_vector_width(ctx->device, o->vector_width);
    /* CPUs run a group's items in sequence: consecutive steps per item keep caches warm. The
     * layout option overrides (tests run both layouts on PoCL). */
    ctx->contiguous =
        o->layout == APLCL_LAYOUT_AUTO ? is_cpu(ctx->device) : o->layout == APLCL_LAYOUT_CONTIGUOUS;
    /* The queue of sparse steps (kernels/apl_3q_queue.cl, apl_loss_variant): 1 on long items
     * (the default), 0 never (to compare the paths), 2 on short items too (tests). */
    ctx->sparse_queue = o->sparse_queue == APLCL_SPARSE_QUEUE_OFF      ? 0
                        : o->sparse_queue == APLCL_SPARSE_QUEUE_ALWAYS ? 2
                                                                       : 1;
    aplcl_status st;
    /* Build the common variants now, so a broken build shows at creation (no lock needed: no
     * other thread has the context yet). */
    const apl_variant *v;
    st = apl_variant_get(ctx, APLCL_DTYPE_F32, APLCL_TARGET_F32, &v);
    if (st == APLCL_SUCCESS)
        st = apl_variant_get(ctx, APLCL_DTYPE_F32, APLCL_TARGET_U8, &v);
    if (st != APLCL_SUCCESS)
        return st;

    cl_int err;
    size_t acc = ctx->has_fp64 ? sizeof(cl_double) : sizeof(cl_float);
    ctx->partial_acc =
        clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, APL_MAX_GROUPS * acc, NULL, &err);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    ctx->partial_cnt =
        clCreateBuffer(ctx->context, CL_MEM_READ_WRITE,
                       APL_MAX_GROUPS * APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, &err);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    ctx->result_loss = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE, acc, NULL, &err);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    ctx->result_cnt = clCreateBuffer(ctx->context, CL_MEM_READ_WRITE,
                                     APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, &err);
    if (err != CL_SUCCESS)
        return cl_fail(err);
    return APLCL_SUCCESS;
}

void aplcl_ctx_destroy(aplcl_ctx *ctx) {
    if (!ctx)
        return;
    for (int d = 0; d < APL_NUM_DTYPES; ++d)
        for (int f = 0; f < APL_NUM_TFMTS; ++f)
            for (int w = 0; w < 2; ++w)
                for (int q = 0; q < 2; ++q)
                    apl_variant_release(&ctx->programs[d][f][w][q]);
    for (int f = 0; f < APL_NUM_TFMTS; ++f)
        apl_reduce_release(&ctx->reduce[f]);
    apl_host_slots_free(ctx);
    cl_mem ms[] = {ctx->partial_acc, ctx->partial_cnt, ctx->result_loss, ctx->result_cnt};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    apl_calls_destroy(ctx);
    free(ctx->kernel_dir);
    if (ctx->queue)
        clReleaseCommandQueue(ctx->queue);
    if (ctx->context)
        clReleaseContext(ctx->context);
    free(ctx);
}

cl_command_queue aplcl_ctx_queue(const aplcl_ctx *ctx) { return ctx ? ctx->queue : NULL; }
cl_context aplcl_ctx_cl_context(const aplcl_ctx *ctx) { return ctx ? ctx->context : NULL; }
cl_device_id aplcl_ctx_device(const aplcl_ctx *ctx) { return ctx ? ctx->device : NULL; }
const char *aplcl_ctx_device_name(const aplcl_ctx *ctx) { return ctx ? ctx->name : ""; }
