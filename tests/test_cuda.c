/* test_cuda.c: the CUDA backend on a real device (label cuda; exit 77 when there is none).
 *
 * Against the CPU reference: every storage type with F32 and U8 targets, SUM and MEAN by count,
 * BITS (with an ignore mask) and CSR targets, a weighted call, an in-place gradient, on a stream
 * of its own; the same call twice gives the same bits (determinism); and the statuses of bad
 * input. Device memory through the driver API (dlopen'ed here too, as the library does).
 */
#define _POSIX_C_SOURCE 200809L
#include "aplcl_cuda.h"
#include "test_util.h"

#include <dlfcn.h>

typedef int (*fn_alloc)(unsigned long long *, size_t);
typedef int (*fn_free)(unsigned long long);
typedef int (*fn_h2d)(unsigned long long, const void *, size_t);
typedef int (*fn_d2h)(void *, unsigned long long, size_t);
typedef int (*fn_sync)(void);
typedef int (*fn_retain)(void **, int);
typedef int (*fn_push)(void *);
typedef int (*fn_stream)(void **, unsigned);
static fn_alloc cu_alloc;
static fn_free cu_free;
static fn_h2d cu_h2d;
static fn_d2h cu_d2h;
static fn_sync cu_sync;
static fn_stream cu_stream_create;

static void *dev_copy(const void *host, size_t bytes) {
    unsigned long long d = 0;
    if (cu_alloc(&d, bytes ? bytes : 1) != 0)
        return NULL;
    if (host)
        cu_h2d(d, host, bytes);
    return (void *)(uintptr_t)d;
}
static void dev_free(const void *d) {
    if (d)
        cu_free((unsigned long long)(uintptr_t)d);
}
static void to_host(void *host, const void *d, size_t bytes) {
    cu_d2h(host, (unsigned long long)(uintptr_t)d, bytes);
}

/* One call: returns the gradient (as float) and the loss; targets as dense floats for the
 * reference, stored as fmt says. */
typedef struct {
    aplcl_dtype dtype;
    aplcl_target_format fmt;
    aplcl_reduction red;
    int weighted, in_place;
} cu_case;

static void run_case(aplcl_cuda_ctx *ctx, void *stream, const cu_case *c, size_t rows, size_t cols,
                     uint64_t seed) {
    size_t n = rows * cols;
    cli_rng rng = cli_rng_seed(seed);
    float *x = malloc(n * 4), *y = malloc(n * 4), *gf = malloc(n * 4), *pw = malloc(cols * 4);
    uint16_t *x16 = malloc(n * 2), *g16 = malloc(n * 2);
    uint8_t *y8 = malloc(n);
    double *gref = malloc(n * 8), lref = 0;
    for (size_t i = 0; i < n; ++i) {
        x[i] = (float)cli_rng_range(&rng, -8, 8);
        double u = cli_rng_uniform(&rng);
        int ign = c->fmt != APLCL_TARGET_CSR && u < 0.05;
        y[i] = ign ? -1.0f : u < 0.3 ? 1.0f : 0.0f;
        y8[i] = ign ? 255 : (uint8_t)y[i];
    }
    for (size_t j = 0; j < cols; ++j)
        pw[j] = (float)cli_rng_range(&rng, 0.5, 2);
    /* the reference sees the logits as stored */
    if (c->dtype == APLCL_DTYPE_F16) {
        aplcl_f32_to_f16(x, x16, n);
        aplcl_f16_to_f32(x16, x, n);
    } else if (c->dtype == APLCL_DTYPE_BF16) {
        aplcl_f32_to_bf16(x, x16, n);
        aplcl_bf16_to_f32(x16, x, n);
    }
    aplcl_params p = aplcl_params_default();
    p.reduction = c->red;
    aplcl_weights w;
    memset(&w, 0, sizeof w);
    w.pos_weight = c->weighted ? pw : NULL;
    tu_ref(&p, rows, cols, x, y, &w, gref, NULL, &lref, NULL);

    aplcl_cuda_io io = aplcl_cuda_io_default();
    io.dtype = c->dtype;
    size_t xb = c->dtype == APLCL_DTYPE_F32 ? 4 : 2;
    void *dx = dev_copy(c->dtype == APLCL_DTYPE_F32 ? (void *)x : (void *)x16, n * xb);
    void *dg = c->in_place ? dx : dev_copy(NULL, n * xb);
    float *dloss = dev_copy(NULL, 4);
    unsigned long long *dcnt = dev_copy(NULL, 8 * APLCL_COUNT_LEN);
    void *dt = NULL, *daux = NULL, *dpw = c->weighted ? dev_copy(pw, cols * 4) : NULL;
    io.targets.format = c->fmt;
    if (c->fmt == APLCL_TARGET_F32) {
        dt = dev_copy(y, n * 4);
    } else if (c->fmt == APLCL_TARGET_U8) {
        dt = dev_copy(y8, n);
    } else if (c->fmt == APLCL_TARGET_BITS) {
        size_t words = rows * APLCL_BITS_WORDS(cols);
        uint32_t *bits = calloc(words, 4), *ign = calloc(words, 4);
        aplcl_pack_bits(rows, cols, y, bits, ign);
        dt = dev_copy(bits, words * 4);
        daux = dev_copy(ign, words * 4);
        io.targets.ignore = daux;
        free(bits);
        free(ign);
    } else {
        uint64_t *rp = malloc((rows + 1) * 8);
        uint32_t *idx = malloc(n * 4);
        size_t nnz = 0;
        aplcl_pack_csr(rows, cols, y, rp, idx, n, &nnz);
        dt = dev_copy(rp, (rows + 1) * 8);
        daux = dev_copy(idx, nnz * 4);
        io.targets.indices = daux;
        io.targets.nnz = nnz;
        free(rp);
        free(idx);
    }
    io.targets.data = dt;
    io.logits = dx;
    io.grad = dg;
    io.loss = dloss;
    io.counts = dcnt;
    io.weights.pos_weight = dpw;
    uint16_t *first = malloc(n * xb), *second = malloc(n * xb);
    for (int rep = 0; rep < 2; ++rep) {
        if (rep && c->in_place) /* the logits again: the first call overwrote them */
            cu_h2d((unsigned long long)(uintptr_t)dx,
                   c->dtype == APLCL_DTYPE_F32 ? (void *)x : (void *)x16, n * xb);
        CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, rows, cols, &io, NULL, 0, stream),
                     APLCL_SUCCESS);
        cu_sync();
        to_host(rep ? second : first, dg, n * xb);
    }
    CHECK(memcmp(first, second, n * xb) == 0); /* same inputs, same GPU: same bits */
    if (c->dtype == APLCL_DTYPE_F32)
        memcpy(gf, first, n * 4);
    else if (c->dtype == APLCL_DTYPE_F16)
        aplcl_f16_to_f32(first, gf, n);
    else
        aplcl_bf16_to_f32(first, gf, n);
    double rtol = cases_grad_rtol(c->dtype), atol = cases_grad_atol(c->dtype, 1.0);
    int bad = 0;
    for (size_t i = 0; i < n && bad < 5; ++i)
        if (!(fabs(gf[i] - gref[i]) <= fmax(rtol * fabs(gref[i]), atol))) {
            printf("  %s/%s red %d w %d: grad[%zu] %.9g ref %.9g\n", cases_dtype_name(c->dtype),
                   cases_format_name(c->fmt), (int)c->red, c->weighted, i, gf[i], gref[i]);
            ++bad;
        }
    CHECK(bad == 0);
    float loss = 0;
    to_host(&loss, dloss, 4);
    CHECK_NEAR(loss, lref, 1e-5, 1e-6);
    printf("%s/%s red %d w %d inplace %d: loss %.7g ref %.7g\n", cases_dtype_name(c->dtype),
           cases_format_name(c->fmt), (int)c->red, c->weighted, c->in_place, loss, lref);
    dev_free(dx);
    if (!c->in_place)
        dev_free(dg);
    dev_free(dloss);
    dev_free(dcnt);
    dev_free(dt);
    dev_free(daux);
    dev_free(dpw);
    free(x), free(y), free(gf), free(pw), free(x16), free(g16), free(y8), free(gref);
    free(first), free(second);
}

int main(void) {
    aplcl_cuda_ctx *ctx = NULL;
    aplcl_cuda_options o;
    cli_cuda_options_from_env(&o); /* APLCL_CUDA_LIBRARY, APLCL_NVRTC_LIBRARY */
    aplcl_status st = aplcl_cuda_ctx_create(&ctx, 0, &o);
    if (st == APLCL_ERR_CUDA_UNAVAILABLE || st == APLCL_ERR_NO_DEVICE) {
        printf("skip: no CUDA device (%s)\n", tu_status_name(st));
        return TU_SKIP;
    }
    CHECK_STATUS(st, APLCL_SUCCESS);
    if (st != APLCL_SUCCESS) {
        printf("CUresult %d\n", aplcl_cuda_last_error());
        return tu_exit_code();
    }
    printf("CUDA: %s\n", aplcl_cuda_ctx_describe(ctx));
    void *lib = dlopen(o.cuda_library ? o.cuda_library : "libcuda.so.1", RTLD_NOW);
    *(void **)&cu_alloc = dlsym(lib, "cuMemAlloc_v2");
    *(void **)&cu_free = dlsym(lib, "cuMemFree_v2");
    *(void **)&cu_h2d = dlsym(lib, "cuMemcpyHtoD_v2");
    *(void **)&cu_d2h = dlsym(lib, "cuMemcpyDtoH_v2");
    *(void **)&cu_sync = dlsym(lib, "cuCtxSynchronize");
    *(void **)&cu_stream_create = dlsym(lib, "cuStreamCreate");
    fn_retain retain;
    fn_push push;
    *(void **)&retain = dlsym(lib, "cuDevicePrimaryCtxRetain");
    *(void **)&push = dlsym(lib, "cuCtxPushCurrent_v2");
    void *pctx = NULL, *stream = NULL;
    retain(&pctx, 0);
    push(pctx); /* the test's own allocations go to the primary context, as PyTorch's do */
    cu_stream_create(&stream, 1 /* non-blocking */);

    uint64_t seed = 1;
    for (int d = 0; d < 3; ++d)
        for (int f = 0; f < 4; ++f) {
            cu_case c = {(aplcl_dtype)d, (aplcl_target_format)f, APLCL_REDUCE_SUM, 0, 0};
            run_case(ctx, stream, &c, 37, 301, seed++);
            c.red = APLCL_REDUCE_MEAN;
            run_case(ctx, NULL, &c, 64, 80, seed++);
        }
    cu_case w = {APLCL_DTYPE_F32, APLCL_TARGET_F32, APLCL_REDUCE_MEAN, 1, 0};
    run_case(ctx, stream, &w, 50, 70, seed++);
    cu_case ip = {APLCL_DTYPE_BF16, APLCL_TARGET_U8, APLCL_REDUCE_SUM, 0, 1};
    run_case(ctx, stream, &ip, 513, 1000, seed++);

    /* bad input: statuses, nothing launched */
    aplcl_params p = aplcl_params_default();
    aplcl_cuda_io io = aplcl_cuda_io_default();
    void *buf = dev_copy(NULL, 4096);
    io.logits = buf;
    io.targets.data = (char *)buf + 2048;
    CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, 0, 4, &io, NULL, 0, NULL), APLCL_ERR_INVALID_SIZE);
    io.targets.label_offset = 1;
    CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, 4, 4, &io, NULL, 0, NULL),
                 APLCL_ERR_INVALID_WINDOW);
    io.targets.label_offset = 0;
    io.grad = (char *)buf + 4; /* overlaps the logits, not in place */
    CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, 4, 4, &io, NULL, 0, NULL),
                 APLCL_ERR_BUFFER_OVERLAP);
    io.grad = NULL;
    CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, 4, 4, &io, buf, 16, NULL),
                 APLCL_ERR_BUFFER_TOO_SMALL);
    io.targets.format = (aplcl_target_format)9;
    CHECK_STATUS(aplcl_cuda_compute_io(ctx, &p, 4, 4, &io, NULL, 0, NULL),
                 APLCL_ERR_INVALID_TARGET_FORMAT);
    dev_free(buf);
    aplcl_cuda_ctx_destroy(ctx);
    return tu_exit_code();
}
