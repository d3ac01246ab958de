/* test_threads.c: one context and one linear head shared by several threads at once.
 *
 * Every job (host-pointer calls, device-buffer calls of every storage type and target format, head
 * calls in one or several chunks) first runs alone, one after another, on context A. Then
 * THREADS threads run every job ROUNDS times, each thread in its own order, all on one fresh
 * context B (so the lazy program builds of B race too) and one head on B; every outcome (status,
 * loss, counts and a digest of every output byte) must equal the single-thread one bit for bit.
 * `test_threads --print` only prints each job's single-thread outcome, to compare two builds.
 * Not a performance test.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdbool.h>

#define THREADS 4
#define ROUNDS 16

typedef enum { J_HOST, J_HOST_U8, J_DEVICE, J_COMPUTE, J_HEAD } job_kind;

typedef struct {
    job_kind kind;
    const char *name;
    size_t rows, cols, d; /* head: n, c, d (features) */
    aplcl_dtype dtype;
    aplcl_target_format fmt;
    aplcl_params p;
    size_t chunk_rows; /* head: rows per chunk (0: one chunk) */
    int poison;        /* host: 1 a NaN target, 2 an infinite logit */
} job;

/* Inputs, made once and only read by the threads. */
typedef struct {
    float *x;             /* rows * cols logits (head: n * d features) */
    uint16_t *x16;        /* the logits as f16 or bf16 */
    float *yf;            /* dense float targets */
    uint8_t *y8;          /* u8 targets */
    uint32_t *bits, *ign; /* BITS targets and ignore mask */
    uint64_t *rp;         /* CSR row pointers */
    uint32_t *idx;        /* CSR indices */
    size_t nnz;
    float *w, *b;  /* head: C x D weights, C bias */
    size_t budget; /* head: scratch budget giving chunk_rows */
} job_data;

typedef struct {
    aplcl_status st;
    uint64_t digest; /* FNV-1a of every output byte */
    double loss;
    uint64_t counts[APLCL_COUNT_LEN];
} outcome;

static uint64_t fnv(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < len; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* ---- the jobs ---- */

#define NJOBS 22
static job g_jobs[NJOBS];
static job_data g_data[NJOBS];

static aplcl_params params_of(int k, aplcl_reduction red, double normalizer) {
    aplcl_params p = k == 0   ? aplcl_params_default()
                     : k == 1 ? aplcl_params_focal(2.0f)
                     : k == 2 ? aplcl_params_asl(4.0f, 1.0f, 0.05f)
                              : aplcl_params_poly1(1.0f);
    p.reduction = red;
    p.normalizer = normalizer;
    p.grad_scale = 0.75f;
    return p;
}

static void define_jobs(void) {
    int j = 0;
    const aplcl_reduction reds[3] = {APLCL_REDUCE_SUM, APLCL_REDUCE_MEAN, APLCL_REDUCE_NONE};
    /* the host-pointer entry points, clean and with a bad value */
    for (int k = 0; k < 4; ++k) {
        job *b = &g_jobs[j++];
        b->kind = k % 2 ? J_HOST_U8 : J_HOST;
        b->name = k % 2 ? "host u8" : "host f32";
        b->rows = 67 + k, b->cols = 45;
        b->fmt = k % 2 ? APLCL_TARGET_U8 : APLCL_TARGET_F32;
        b->p = params_of(k, reds[k % 2], 0.0);
        b->poison = k < 2 ? 0 : k == 2 ? 1 : 2;
    }
    /* aplcl_compute_io: every storage type x target format, MEAN by count among them */
    for (int dt = 0; dt < 3; ++dt)
        for (int f = 0; f < 4; ++f) {
            job *b = &g_jobs[j++];
            b->kind = J_DEVICE;
            b->name = "compute_io";
            b->rows = 53 + 2 * f, b->cols = 70 + dt;
            b->dtype = (aplcl_dtype)dt;
            b->fmt = (aplcl_target_format)f;
            b->p = params_of((dt + f) % 4, reds[(dt + f) % 3],
                             (dt + f) % 3 == 1 && f == 3 ? 500.0 : 0.0);
        }
    /* aplcl_compute (dense, f32) */
    for (int k = 0; k < 2; ++k) {
        job *b = &g_jobs[j++];
        b->kind = J_COMPUTE;
        b->name = "compute";
        b->rows = 129, b->cols = 33 + k;
        b->fmt = k ? APLCL_TARGET_U8 : APLCL_TARGET_F32;
        b->p = params_of(k + 1, APLCL_REDUCE_MEAN, 0.0);
    }
    /* the linear head: several chunks, MEAN by device count among them */
    for (int f = 0; f < 4; ++f) {
        job *b = &g_jobs[j++];
        b->kind = J_HEAD;
        b->name = "head";
        b->rows = 45 + f, b->cols = 33, b->d = 17;
        b->fmt = (aplcl_target_format)f;
        b->p = params_of(f, f == 3 ? APLCL_REDUCE_SUM : APLCL_REDUCE_MEAN, 0.0);
        b->chunk_rows = f == 1 ? 0 : 7 + 4 * (size_t)f;
    }
    if (j != NJOBS) {
        printf("test_threads: %d jobs defined, NJOBS is %d\n", j, NJOBS);
        exit(1);
    }
}

static void make_data(const job *b, job_data *g, uint64_t seed) {
    cli_rng r = cli_rng_seed(seed);
    size_t n = b->rows, c = b->cols, nc = n * c, words = APLCL_BITS_WORDS(c);
    size_t nx = b->kind == J_HEAD ? n * b->d : nc;
    g->x = (float *)tu_xmalloc(nx * sizeof(float));
    for (size_t i = 0; i < nx; ++i)
        g->x[i] = (float)cli_rng_normal(&r, 0.0, b->kind == J_HEAD ? 1.0 : 3.0);
    g->x16 = (uint16_t *)tu_xmalloc(nx * sizeof(uint16_t));
    if (b->dtype == APLCL_DTYPE_BF16)
        aplcl_f32_to_bf16(g->x, g->x16, nx);
    else
        aplcl_f32_to_f16(g->x, g->x16, nx);
    g->yf = (float *)tu_xmalloc(nc * sizeof(float));
    g->y8 = (uint8_t *)tu_xmalloc(nc);
    g->bits = (uint32_t *)calloc(n * words, sizeof(uint32_t));
    g->ign = (uint32_t *)calloc(n * words, sizeof(uint32_t));
    for (size_t i = 0; i < nc; ++i) {
        double u = cli_rng_uniform(&r);
        int pos = u<0.3, ignored = u> 0.9 && b->fmt != APLCL_TARGET_CSR;
        g->yf[i] = ignored ? -1.0f : pos ? 1.0f : (u > 0.85 ? 0.25f : 0.0f);
        if (b->fmt != APLCL_TARGET_F32 && g->yf[i] == 0.25f)
            g->yf[i] = 0.0f; /* soft targets only where the format has them */
        g->y8[i] = ignored ? APLCL_TARGET_U8_IGNORE : (uint8_t)pos;
    }
    if (b->fmt == APLCL_TARGET_BITS) /* yf holds 1, 0 and -1 (ignored) only here */
        CHECK_STATUS(aplcl_pack_bits(n, c, g->yf, g->bits, g->ign), APLCL_SUCCESS);
    if (b->poison == 1)
        g->yf[5] = NAN;
    if (b->poison == 2)
        g->x[7] = INFINITY;
    g->rp = (uint64_t *)tu_xmalloc((n + 1) * sizeof(uint64_t));
    g->idx = NULL;
    g->nnz = 0;
    if (b->fmt == APLCL_TARGET_CSR) {
        aplcl_pack_csr(n, c, g->yf, g->rp, NULL, 0, &g->nnz);
        g->idx = (uint32_t *)tu_xmalloc((g->nnz ? g->nnz : 1) * sizeof(uint32_t));
        aplcl_pack_csr(n, c, g->yf, g->rp, g->idx, g->nnz, &g->nnz);
    }
    g->w = g->b = NULL;
    if (b->kind == J_HEAD) {
        g->w = (float *)tu_xmalloc(c * b->d * sizeof(float));
        g->b = (float *)tu_xmalloc(c * sizeof(float));
        for (size_t i = 0; i < c * b->d; ++i)
            g->w[i] = (float)cli_rng_normal(&r, 0.0, 0.5);
        for (size_t i = 0; i < c; ++i)
            g->b[i] = (float)cli_rng_normal(&r, -1.0, 0.5);
    }
}

static void free_data(job_data *g) {
    free(g->x), free(g->x16), free(g->yf), free(g->y8), free(g->bits), free(g->ign);
    free(g->rp), free(g->idx), free(g->w), free(g->b);
}

/* ---- running one job ---- */

typedef struct {
    cl_context cl;
    cl_command_queue q;
    cl_mem m[12];
    int n;
    cl_int err;
} bufset;

/* A buffer with `bytes` (at least 1) from src, or zeroed when src is NULL. */
static cl_mem buf(bufset *s, size_t bytes, const void *src) {
    void *zero = NULL;
    if (!src)
        src = zero = calloc(bytes ? bytes : 1, 1);
    cl_int err = CL_SUCCESS;
    cl_mem m = clCreateBuffer(s->cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, bytes ? bytes : 1,
                              (void *)src, &err);
    free(zero);
    if (err != CL_SUCCESS && s->err == CL_SUCCESS)
        s->err = err;
    if (m)
        s->m[s->n++] = m;
    return m;
}

/* Reads `bytes` of m into the digest (blocking, after ev). */
static void digest_buf(bufset *s, cl_mem m, size_t bytes, cl_event ev, outcome *o, void *keep) {
    void *h = keep ? keep : tu_xmalloc(bytes);
    cl_int err =
        clEnqueueReadBuffer(s->q, m, CL_TRUE, 0, bytes, h, ev ? 1 : 0, ev ? &ev : NULL, NULL);
    if (err != CL_SUCCESS && s->err == CL_SUCCESS)
        s->err = err;
    o->digest = fnv(o->digest, h, bytes);
    if (!keep)
        free(h);
}

/* After a call: on success the n outputs m[i] of bytes[i] into the digest, then the loss and the
 * counts; a failed buffer operation turns the status into OPENCL; the buffers are released. */
static void finish(bufset *s, cl_event ev, const cl_mem *m, const size_t *bytes, int n, cl_mem loss,
                   cl_mem counts, outcome *o) {
    if (o->st == APLCL_SUCCESS) {
        float lv = 0.0f;
        for (int i = 0; i < n; ++i)
            digest_buf(s, m[i], bytes[i], ev, o, NULL);
        digest_buf(s, loss, sizeof lv, ev, o, &lv);
        digest_buf(s, counts, sizeof o->counts, ev, o, o->counts);
        o->loss = lv;
        clReleaseEvent(ev);
    }
    if (s->err != CL_SUCCESS)
        o->st = APLCL_ERR_OPENCL;
    for (int i = 0; i < s->n; ++i)
        clReleaseMemObject(s->m[i]);
    s->n = 0;
}

/* The targets of a job as device buffers. */
static aplcl_targets make_targets(bufset *s, const job *b, const job_data *g) {
    size_t n = b->rows, c = b->cols, words = APLCL_BITS_WORDS(c);
    aplcl_targets t;
    memset(&t, 0, sizeof t);
    t.format = b->fmt;
    switch (b->fmt) {
    case APLCL_TARGET_F32:
        t.data = buf(s, n * c * sizeof(float), g->yf);
        break;
    case APLCL_TARGET_U8:
        t.data = buf(s, n * c, g->y8);
        break;
    case APLCL_TARGET_BITS:
        t.data = buf(s, n * words * 4, g->bits);
        t.ignore = buf(s, n * words * 4, g->ign);
        break;
    case APLCL_TARGET_CSR:
        t.data = buf(s, (n + 1) * 8, g->rp);
        t.nnz = g->nnz;
        t.indices = g->nnz ? buf(s, g->nnz * 4, g->idx) : NULL;
        break;
    }
    return t;
}

static void run_host(aplcl_ctx *ctx, const job *b, const job_data *g, outcome *o) {
    size_t nc = b->rows * b->cols;
    float *grad = (float *)tu_xmalloc(nc * sizeof(float));
    float *elem = (float *)tu_xmalloc(nc * sizeof(float));
    /* the counters are each call's own (aplcl_host_compute_io), so threads cannot mix them up */
    uint64_t counts[APLCL_COUNT_LEN] = {0};
    bool u8 = b->kind == J_HOST_U8;
    o->st = tu_host(ctx, &b->p, b->rows, b->cols, APLCL_DTYPE_F32, g->x,
                    u8 ? APLCL_TARGET_U8 : APLCL_TARGET_F32, u8 ? (const void *)g->y8 : g->yf, NULL,
                    grad, elem, &o->loss, counts);
    o->digest = fnv(o->digest, counts, sizeof counts);
    o->digest = fnv(o->digest, grad, nc * sizeof(float));
    o->digest = fnv(o->digest, elem, nc * sizeof(float));
    free(grad);
    free(elem);
}

static void run_device(aplcl_ctx *ctx, const job *b, const job_data *g, outcome *o) {
    bufset s = {aplcl_ctx_cl_context(ctx), aplcl_ctx_queue(ctx), {0}, 0, CL_SUCCESS};
    size_t nc = b->rows * b->cols, xb = b->dtype == APLCL_DTYPE_F32 ? 4 : 2;
    aplcl_io io = aplcl_io_default();
    io.dtype = b->dtype;
    io.logits = buf(&s, nc * xb, b->dtype == APLCL_DTYPE_F32 ? (const void *)g->x : g->x16);
    io.targets = make_targets(&s, b, g);
    io.grad = buf(&s, nc * xb, NULL);
    io.elem_loss = buf(&s, nc * sizeof(float), NULL);
    io.loss = buf(&s, sizeof(float), NULL);
    io.counts = buf(&s, APLCL_COUNT_LEN * sizeof(cl_ulong), NULL);
    cl_event ev = NULL;
    o->st = APLCL_ERR_OPENCL;
    if (s.err == CL_SUCCESS && b->kind == J_COMPUTE)
        o->st =
            aplcl_compute(ctx, &b->p, b->rows, b->cols, io.logits, 0, io.targets.data, 0, b->fmt,
                          io.grad, 0, io.elem_loss, 0, io.loss, 0, io.counts, 0, 0, NULL, &ev);
    else if (s.err == CL_SUCCESS)
        o->st = aplcl_compute_io(ctx, &b->p, b->rows, b->cols, &io, 0, NULL, &ev);
    cl_mem outs[2] = {io.grad, io.elem_loss};
    size_t bytes[2] = {nc * xb, nc * sizeof(float)};
    finish(&s, ev, outs, bytes, 2, io.loss, io.counts, o);
}

static void run_head(aplcl_head *h, aplcl_ctx *ctx, const job *b, const job_data *g, outcome *o) {
    bufset s = {aplcl_ctx_cl_context(ctx), aplcl_ctx_queue(ctx), {0}, 0, CL_SUCCESS};
    size_t n = b->rows, c = b->cols, d = b->d;
    aplcl_head_io io = aplcl_head_io_default();
    io.x = buf(&s, n * d * 4, g->x);
    io.w = buf(&s, c * d * 4, g->w);
    io.b = buf(&s, c * 4, g->b);
    io.targets = make_targets(&s, b, g);
    io.dx = buf(&s, n * d * 4, NULL);
    io.dw = buf(&s, c * d * 4, NULL);
    io.db = buf(&s, c * 4, NULL);
    io.loss = buf(&s, 4, NULL);
    io.counts = buf(&s, APLCL_COUNT_LEN * sizeof(cl_ulong), NULL);
    /* The plan and size queries race with other threads' computes on the same head; their
     * answers join the digest, so they must match the single-thread ones too. */
    size_t plan_rows = 0, plan_bytes = 0, size_bytes = 0;
    aplcl_status plan_st = aplcl_head_plan(h, n, d, c, &io, g->budget, &plan_rows, &plan_bytes);
    aplcl_status size_st = aplcl_head_scratch_bytes(h, n, d, c, &io, n, &size_bytes);
    cl_event ev = NULL;
    o->st = s.err == CL_SUCCESS
                ? aplcl_head_compute(h, &b->p, n, d, c, &io, g->budget, 0, NULL, &ev)
                : APLCL_ERR_OPENCL;
    if (plan_st != APLCL_SUCCESS || size_st != APLCL_SUCCESS)
        o->st = plan_st != APLCL_SUCCESS ? plan_st : size_st;
    size_t answers[3] = {plan_rows, plan_bytes, size_bytes};
    o->digest = fnv(o->digest, answers, sizeof answers);
    cl_mem outs[3] = {io.dx, io.dw, io.db};
    size_t bytes[3] = {n * d * 4, c * d * 4, c * 4};
    finish(&s, ev, outs, bytes, 3, io.loss, io.counts, o);
}

static outcome run_job(aplcl_ctx *ctx, aplcl_head *h, int k) {
    outcome o;
    memset(&o, 0, sizeof o);
    o.digest = 0xcbf29ce484222325ull;
    const job *b = &g_jobs[k];
    if (b->kind == J_HOST || b->kind == J_HOST_U8)
        run_host(ctx, b, &g_data[k], &o);
    else if (b->kind == J_HEAD)
        run_head(h, ctx, b, &g_data[k], &o);
    else
        run_device(ctx, b, &g_data[k], &o);
    return o;
}

static int same(const outcome *a, const outcome *b) {
    return a->st == b->st && a->digest == b->digest &&
           memcmp(&a->loss, &b->loss, sizeof a->loss) == 0 &&
           memcmp(a->counts, b->counts, sizeof a->counts) == 0;
}

static void describe(const char *what, int k, const outcome *o) {
    const job *b = &g_jobs[k];
    printf(
        "%s job %2d %-10s %3zux%-3zu dtype %d fmt %d red %d: %s loss %.17g counts %llu %llu %llu "
        "digest %016llx\n",
        what, k, b->name, b->rows, b->cols, (int)b->dtype, (int)b->fmt, (int)b->p.reduction,
        tu_status_name(o->st), o->loss, (unsigned long long)o->counts[0],
        (unsigned long long)o->counts[1], (unsigned long long)o->counts[2],
        (unsigned long long)o->digest);
}

/* ---- the threads ---- */

static outcome g_want[NJOBS];

typedef struct {
    aplcl_ctx *ctx;
    aplcl_head *head;
    int id;
    int calls, mismatches;
} worker;

static void *work(void *arg) {
    worker *w = (worker *)arg;
    cli_rng r = cli_rng_seed(1000 + (uint64_t)w->id);
    int order[NJOBS];
    for (int round = 0; round < ROUNDS; ++round) {
        for (int k = 0; k < NJOBS; ++k)
            order[k] = k;
        for (int k = NJOBS - 1; k > 0; --k) { /* a different order per thread and round */
            int m = (int)(cli_rng_next(&r) % (uint64_t)(k + 1)), t = order[k];
            order[k] = order[m], order[m] = t;
        }
        for (int i = 0; i < NJOBS; ++i) {
            int k = order[i];
            outcome o = run_job(w->ctx, w->head, k);
            w->calls++;
            if (!same(&o, &g_want[k])) {
                if (w->mismatches++ < 5) {
                    printf("thread %d round %d:\n", w->id, round);
                    describe("  got ", k, &o);
                    describe("  want", k, &g_want[k]);
                }
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    int print_only = argc > 1 && strcmp(argv[1], "--print") == 0;
    aplcl_ctx *a = NULL, *b = NULL;
    int rc = tu_ctx_create(&a);
    if (rc)
        return rc;
    define_jobs();
    for (int k = 0; k < NJOBS; ++k)
        make_data(&g_jobs[k], &g_data[k], 77 + (uint64_t)k);
    aplcl_head *ha = NULL, *hb = NULL;
    CHECK_STATUS(aplcl_head_create(&ha, a), APLCL_SUCCESS);
    if (!ha)
        return tu_exit_code();
    for (int k = 0; k < NJOBS; ++k) {
        const job *jb = &g_jobs[k];
        g_data[k].budget = (size_t)1 << 30;
        if (jb->kind == J_HEAD && jb->chunk_rows)
            CHECK_STATUS(aplcl_head_scratch_bytes(ha, jb->rows, jb->d, jb->cols, NULL,
                                                  jb->chunk_rows, &g_data[k].budget),
                         APLCL_SUCCESS);
    }

    /* single thread, context A: the values every threaded call must reproduce */
    int mark = tu_case_begin();
    for (int k = 0; k < NJOBS; ++k) {
        g_want[k] = run_job(a, ha, k);
        if (print_only)
            describe("single", k, &g_want[k]);
        const job *jb = &g_jobs[k];
        aplcl_status want = jb->poison == 1   ? APLCL_ERR_INVALID_TARGET
                            : jb->poison == 2 ? APLCL_ERR_NONFINITE_LOGIT
                                              : APLCL_SUCCESS;
        CHECK_STATUS(g_want[k].st, want);
        outcome again = run_job(a, ha, k);
        CHECK(same(&again, &g_want[k])); /* the yardstick itself is repeatable */
    }
    aplcl_head_stats st;
    CHECK_STATUS(aplcl_head_get_stats(ha, &st), APLCL_SUCCESS);
    tu_case_end(mark, "%d jobs one after another on one context, each twice, same bits", NJOBS);
    if (print_only || tu_failures) {
        aplcl_head_destroy(ha);
        aplcl_ctx_destroy(a);
        return tu_exit_code();
    }

    /* THREADS threads, context B fresh (programs still to build) and one head on it */
    mark = tu_case_begin();
    rc = tu_ctx_create(&b);
    CHECK_EQ(rc, 0);
    if (b)
        CHECK_STATUS(aplcl_head_create(&hb, b), APLCL_SUCCESS);
    if (b && hb) {
        pthread_t th[THREADS];
        worker wk[THREADS];
        for (int t = 0; t < THREADS; ++t) {
            wk[t] = (worker){b, hb, t, 0, 0};
            CHECK_EQ(pthread_create(&th[t], NULL, work, &wk[t]), 0);
        }
        int calls = 0;
        for (int t = 0; t < THREADS; ++t) {
            CHECK_EQ(pthread_join(th[t], NULL), 0);
            CHECK_EQ(wk[t].mismatches, 0);
            calls += wk[t].calls;
        }
        CHECK_EQ(calls, THREADS * ROUNDS * NJOBS);
        /* and the context still works alone afterwards */
        for (int k = 0; k < NJOBS; ++k) {
            outcome o = run_job(b, hb, k);
            CHECK(same(&o, &g_want[k]));
        }
        CHECK_STATUS(aplcl_head_get_stats(hb, &st), APLCL_SUCCESS);
        CHECK(st.chunks >= 1);
    }
    tu_case_end(mark,
                "%d threads x %d rounds x %d jobs on one context and one head: every result "
                "bit-identical to its single-thread value",
                THREADS, ROUNDS, NJOBS);

    aplcl_head_destroy(hb);
    aplcl_ctx_destroy(b);
    aplcl_head_destroy(ha);
    aplcl_ctx_destroy(a);
    for (int k = 0; k < NJOBS; ++k)
        free_data(&g_data[k]);
    return tu_exit_code();
}
