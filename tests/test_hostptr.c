/* test_hostptr.c: the host-pointer entry points' two memory paths give the device path's bits.
 *
 * Wrapped caller arrays (128-byte aligned; 4-byte aligned only), the copy path (a logits pointer
 * not aligned to its element, an elem_loss overlapping the targets, so copy semantics must hold),
 * in place, u8 and f16 through aplcl_host_compute_typed, and buffer reuse across calls of growing
 * and shrinking size, also from several threads on one context: every output equals
 * aplcl_compute_io on device buffers, bit for bit, and the caller's inputs are left as they were.
 * Not a performance test (aplcl bench has the host case).
 */
#include "test_util.h"

#include <pthread.h>
#include <stdint.h>

typedef struct {
    float loss;
    float *grad, *elem;
} dev_out;

/* aplcl_compute_io on device buffers: the bits every host path must give. */
static void device_run(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                       aplcl_dtype dt, const void *x, aplcl_target_format fmt, const void *t,
                       void *grad, float *elem, float *loss) {
    cl_context cc = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    size_t n = rows * cols, xb = dt == APLCL_DTYPE_F32 ? 4 : 2, tb = fmt == APLCL_TARGET_U8 ? 1 : 4;
    cl_mem bx = tu_buffer(cc, n * xb, x), bt = tu_buffer(cc, n * tb, t);
    cl_mem bg = tu_buffer(cc, n * xb, NULL), bl = tu_buffer(cc, n * 4, NULL);
    cl_mem bs = tu_buffer(cc, 4, NULL);
    aplcl_io io = aplcl_io_default();
    io.dtype = dt, io.logits = bx, io.grad = bg;
    io.targets.format = fmt, io.targets.data = bt;
    io.elem_loss = bl, io.loss = bs;
    CHECK_STATUS(aplcl_compute_io(ctx, p, rows, cols, &io, 0, NULL, NULL), APLCL_SUCCESS);
    tu_read(q, bg, 0, grad, n * xb);
    tu_read(q, bl, 0, elem, n * 4);
    tu_read(q, bs, 0, loss, 4);
    cl_mem ms[] = {bx, bt, bg, bl, bs};
    for (int i = 0; i < 5; ++i)
        clReleaseMemObject(ms[i]);
}

/* Inputs of one case at the given byte offsets into fresh 128-byte aligned blocks. */
typedef struct {
    unsigned char *xblk, *tblk, *gblk, *lblk;
    void *x, *t, *g;
    float *l;
} host_mem;

static unsigned char *block(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 128, bytes + 256))
        exit(1);
    memset(p, 0xA5, bytes + 256);
    return (unsigned char *)p;
}

/* Logits in [-6, 6), targets 0/1 with a few ignored, as float and u8 targets. */
static void gen_inputs(size_t n, float *xf, float *tf, uint8_t *t8) {
    uint32_t s = 12345u + (uint32_t)n;
    for (size_t i = 0; i < n; ++i) {
        s = s * 1664525u + 1013904223u;
        xf[i] = ((float)(s >> 8) / 16777216.0f) * 12.0f - 6.0f;
        int code = (int)((s >> 3) % 11);
        tf[i] = code == 0 ? -1.0f : code < 4 ? 1.0f : 0.0f;
        t8[i] = code == 0 ? APLCL_TARGET_U8_IGNORE : code < 4 ? 1 : 0;
    }
}

static aplcl_params case_params(void) {
    aplcl_params p = aplcl_params_asl(4.0f, 1.0f, 0.05f);
    p.reduction = APLCL_REDUCE_MEAN;
    p.grad_scale = 0.5f;
    return p;
}

static void run_case(aplcl_ctx *ctx, const char *name, size_t rows, size_t cols, aplcl_dtype dt,
                     aplcl_target_format fmt, size_t x_off, int in_place, int elem_over_targets) {
    size_t n = rows * cols, xb = dt == APLCL_DTYPE_F32 ? 4 : 2, tb = fmt == APLCL_TARGET_U8 ? 1 : 4;
    aplcl_params p = case_params();
    float *xf = (float *)tu_xmalloc(n * 4);
    uint16_t *xh = (uint16_t *)tu_xmalloc(n * 2);
    float *tf = (float *)tu_xmalloc(n * 4);
    uint8_t *t8 = (uint8_t *)tu_xmalloc(n);
    gen_inputs(n, xf, tf, t8);
    aplcl_f32_to_f16(xf, xh, n);
    const void *x_src = dt == APLCL_DTYPE_F32 ? (const void *)xf : (const void *)xh;
    const void *t_src = fmt == APLCL_TARGET_U8 ? (const void *)t8 : (const void *)tf;

    unsigned char *want_g = (unsigned char *)tu_xmalloc(n * xb);
    float *want_l = (float *)tu_xmalloc(n * 4), want_loss = 0.0f;
    device_run(ctx, &p, rows, cols, dt, x_src, fmt, t_src, want_g, want_l, &want_loss);

    /* the caller's arrays, placed as the case asks */
    size_t tot = n * 4 + 256;
    unsigned char *xblk = block(tot), *tblk = block(tot), *gblk = block(tot), *lblk = block(tot);
    void *x = xblk + x_off;
    memcpy(x, x_src, n * xb);
    void *t = tblk;
    memcpy(t, t_src, n * tb);
    void *g = in_place ? x : gblk;
    /* elem_loss overlapping the targets: a separate copy of them sits behind it, so the read of
     * targets and the write of elem_loss meet only if the host path wrapped both (it must not) */
    float *l = (float *)lblk;
    if (elem_over_targets) {
        memcpy(lblk, t_src, n * tb);
        t = lblk;
    }
    double loss = 0.0;
    aplcl_status st = tu_host(ctx, &p, rows, cols, dt, x, fmt, t, NULL, g, l, &loss, NULL);
    CHECK_STATUS(st, APLCL_SUCCESS);
    int ok =
        memcmp(g, want_g, n * xb) == 0 && memcmp(l, want_l, n * 4) == 0 && (float)loss == want_loss;
    tu_checks++;
    if (!ok)
        TU_FAIL_AT_(__FILE__, __LINE__,
                    "%s (%zux%zu): host path differs from the device path "
                    "(loss %.9g vs %.9g)",
                    name, rows, cols, loss, (double)want_loss);
    /* inputs unchanged (not in place), and nothing written past the outputs */
    if (!in_place)
        CHECK(memcmp(x, x_src, n * xb) == 0);
    if (!elem_over_targets)
        CHECK(memcmp(t, t_src, n * tb) == 0);
    CHECK(((unsigned char *)g)[n * xb] == 0xA5 && lblk[n * 4] == 0xA5);
    printf("%-28s %5zux%-5zu ok=%d\n", name, rows, cols, ok);
    free(xblk);
    free(tblk);
    free(gblk);
    free(lblk);
    free(xf);
    free(xh);
    free(tf);
    free(t8);
    free(want_g);
    free(want_l);
}

/* ---- threads: one context's copy path and wrapped path from several threads at once ---- */

#define T_THREADS 4
#define T_ROUNDS 6
#define T_CASES 3

typedef struct {
    size_t rows, cols;
    float *x, *t, *want_g;
    float want_loss;
} t_case;

static aplcl_ctx *t_ctx;
static t_case t_cases[T_CASES];

/* Each thread runs every case in its own order, misaligned (copy path: the context's buffer sets
 * grow and shrink under it) and aligned (wrapped); returns the number of results that differ
 * from the device path's, or -1 on a failed call. */
static void *t_worker(void *arg) {
    size_t tid = (size_t)arg;
    long bad = 0;
    aplcl_params p = case_params();
    for (size_t r = 0; r < T_ROUNDS; ++r) {
        const t_case *c = &t_cases[(r + tid) % T_CASES];
        size_t n = c->rows * c->cols, off = (r + tid) % 2; /* 1: misaligned, copied */
        unsigned char *xb = block(n * 4), *gb = block(n * 4);
        memcpy(xb + off, c->x, n * 4);
        double loss = 0.0;
        if (tu_host(t_ctx, &p, c->rows, c->cols, APLCL_DTYPE_F32, xb + off, APLCL_TARGET_F32, c->t,
                    NULL, gb, NULL, &loss, NULL) != APLCL_SUCCESS)
            bad = -1;
        else if (memcmp(gb, c->want_g, n * 4) != 0 || (float)loss != c->want_loss)
            bad += bad >= 0;
        free(xb);
        free(gb);
    }
    return (void *)bad;
}

static void run_threads(aplcl_ctx *ctx) {
    const size_t shapes[T_CASES][2] = {{300, 1000}, {7, 13}, {64, 2000}};
    aplcl_params p = case_params();
    t_ctx = ctx;
    for (int k = 0; k < T_CASES; ++k) {
        t_case *c = &t_cases[k];
        c->rows = shapes[k][0], c->cols = shapes[k][1];
        size_t n = c->rows * c->cols;
        c->x = (float *)tu_xmalloc(n * 4), c->t = (float *)tu_xmalloc(n * 4);
        c->want_g = (float *)tu_xmalloc(n * 4);
        uint8_t *t8 = (uint8_t *)tu_xmalloc(n);
        float *el = (float *)tu_xmalloc(n * 4);
        gen_inputs(n, c->x, c->t, t8);
        device_run(ctx, &p, c->rows, c->cols, APLCL_DTYPE_F32, c->x, APLCL_TARGET_F32, c->t,
                   c->want_g, el, &c->want_loss);
        free(t8);
        free(el);
    }
    pthread_t th[T_THREADS];
    for (size_t i = 0; i < T_THREADS; ++i)
        CHECK_EQ(pthread_create(&th[i], NULL, t_worker, (void *)i), 0);
    for (size_t i = 0; i < T_THREADS; ++i) {
        void *res = NULL;
        pthread_join(th[i], &res);
        CHECK_EQ((long)res, 0L); /* every call succeeded and gave the device path's bits */
    }
    printf("threads: %d x %d calls on one context, copy and wrapped paths\n", T_THREADS, T_ROUNDS);
    for (int k = 0; k < T_CASES; ++k) {
        free(t_cases[k].x);
        free(t_cases[k].t);
        free(t_cases[k].want_g);
    }
}

int main(void) {
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;
    cl_bool unified = CL_FALSE;
    clGetDeviceInfo(aplcl_ctx_device(ctx), CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                    NULL);
    printf("host unified memory: %s\n", unified ? "yes (wrapped arrays)" : "no (copies)");
    const aplcl_dtype F32 = APLCL_DTYPE_F32, F16 = APLCL_DTYPE_F16;
    const aplcl_target_format TF = APLCL_TARGET_F32, T8 = APLCL_TARGET_U8;
    const struct {
        const char *name;
        size_t rows, cols;
        aplcl_dtype dt;
        aplcl_target_format fmt;
        size_t x_off;
        int in_place, elem_over_targets;
    } cases[] = {
        /* fields left out: 0 (not in place, elem_loss of its own) */
        {"f32 aligned", 97, 301, F32, TF, .x_off = 0},
        {"f32 4-byte aligned", 97, 301, F32, TF, .x_off = 4},
        {"f32 misaligned (copy)", 97, 301, F32, TF, .x_off = 1},
        {"f32 in place", 64, 333, F32, TF, .in_place = 1},
        {"f32 misaligned in place", 64, 333, F32, TF, .x_off = 2, .in_place = 1},
        {"elem over targets (copy)", 33, 129, F32, TF, .elem_over_targets = 1},
        {"u8 targets", 97, 301, F32, T8, .x_off = 0},
        {"f16 logits", 97, 301, F16, TF, .x_off = 0},
        {"f16 logits 2-byte aligned", 50, 77, F16, T8, .x_off = 2},
        /* the copy path's buffers grow, then serve a smaller call */
        {"copy, larger", 500, 1000, F32, TF, .x_off = 1},
        {"copy, smaller again", 3, 5, F32, TF, .x_off = 1},
        {"wrapped, 1x1", 1, 1, F32, TF, .x_off = 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i)
        run_case(ctx, cases[i].name, cases[i].rows, cases[i].cols, cases[i].dt, cases[i].fmt,
                 cases[i].x_off, cases[i].in_place, cases[i].elem_over_targets);

    run_threads(ctx);

    /* bad arguments: a status, nothing touched */
    float one = 1.0f;
    aplcl_params p = aplcl_params_default();
    CHECK_STATUS(
        tu_host(ctx, &p, 1, 1, (aplcl_dtype)7, &one, TF, &one, NULL, NULL, NULL, NULL, NULL),
        APLCL_ERR_INVALID_PARAMS);
    CHECK_STATUS(
        tu_host(ctx, &p, 1, 1, F32, &one, APLCL_TARGET_BITS, &one, NULL, NULL, NULL, NULL, NULL),
        APLCL_ERR_INVALID_TARGET_FORMAT);
    CHECK_STATUS(tu_host(ctx, &p, 1, 1, F32, NULL, TF, &one, NULL, NULL, NULL, NULL, NULL),
                 APLCL_ERR_NULL_ARGUMENT);
    aplcl_ctx_destroy(ctx);
    return tu_exit_code();
}
