/* test_queue: the loss kernel's queue of sparse steps changes no per-element bit.
 *
 * kernels/apl_3q_queue.cl: on CPUs (consecutive work layout), vector width >= 4, unweighted, a
 * step with at most QUEUE_MAX = width / 4 elements that need math writes zeros and queues those
 * elements; full queues run as one vector and are written back by index, the rest at the end of
 * each work-item. Promise: every gradient and per-element loss has the same bits as with
 * APLCL_QUEUE=0, the counts are identical, and the reduced loss differs only in summation order.
 * Here each width (the CPU's own, 16 or 8, and 4, so QUEUE_MAX 4 or 2, and 1) gets two contexts,
 * APLCL_QUEUE=0 and 2 (2: the queue also on items shorter than QUEUE_MIN_STEPS, so the small shapes
 * use it too), both forced to APLCL_CONTIGUOUS=1, and every case runs on both: densities 0 to 100%
 * of elements needing math, cols not a multiple of the width, every storage type and target format
 * (which combinations where: runs_case), with and without accumulate, per-element loss, gradient
 * (forward only) and in place, weights, several losses.
 * The host checks that the data really has steps with 1..QUEUE_MAX such elements. Not here:
 * agreement with the reference (test_device_vs_ref, test_formats, test_weights).
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "test_util.h"

enum { NW = 2, NPARAM = 7, NVAR = 9 };
/* {wide, 4}: wide is the device's own width when it is 8 or 16 (the default contexts' width, so
 * the queue-off programs are the ones every other test builds too: a new machine compiles them
 * once), else 16. */
static unsigned widths[NW] = {16, 4};
static aplcl_ctx *ctxs[NW][2]; /* [width][queue off, on] */

/* Output variants: what the call writes, and onto what. */
typedef struct {
    const char *name;
    int grad, accumulate, elem, in_place;
    int weights; /* 0 none; 1 pos_weight + label weights; 2 element weights; 3 pos_weight + row */
} variant;
static const variant variants[NVAR] = {
    {"grad+elem", 1, 0, 1, 0, 0},
    {"accumulate+elem", 1, 1, 1, 0, 0},
    {"accumulate", 1, 1, 0, 0, 0},
    {"forward only (grad NULL)", 0, 0, 1, 0, 0},
    {"in place+elem", 1, 0, 1, 1, 0},
    {"grad only", 1, 0, 0, 0, 0},
    {"grad+elem, pos_weight and label weights", 1, 0, 1, 0, 1},
    {"accumulate+elem, element weights", 1, 1, 1, 0, 2},
    {"in place, pos_weight and row weights", 1, 0, 0, 1, 3},
};

static struct {
    const char *name;
    aplcl_params p;
} params[NPARAM];

static void make_params(void) {
    params[0].name = "default", params[0].p = aplcl_params_default();
    params[1].name = "default MEAN", params[1].p = aplcl_params_default();
    params[1].p.reduction = APLCL_REDUCE_MEAN;
    params[2].name = "asl(4,1,0.05) focus_grad MEAN", params[2].p = aplcl_params_asl(4, 1, 0.05f);
    params[2].p.focus_grad = 1, params[2].p.reduction = APLCL_REDUCE_MEAN;
    params[3].name = "focal(2) focus_grad clip 0.05", params[3].p = aplcl_params_focal(2.0f);
    params[3].p.focus_grad = 1, params[3].p.clip = 0.05f;
    params[4].name = "bce (no clip)", params[4].p = aplcl_params_bce();
    params[5].name = "poly1(1) clip 0.1 scale -0.5", params[5].p = aplcl_params_poly1(1.0f);
    params[5].p.clip = 0.1f, params[5].p.grad_scale = -0.5f;
    params[6].name = "default scale -2 MEAN/777", params[6].p = aplcl_params_default();
    params[6].p.grad_scale = -2.0f, params[6].p.reduction = APLCL_REDUCE_MEAN;
    params[6].p.normalizer = 777.0;
}

/* One case's inputs on the host: logits as the storage holds them, dense targets (1, 0, 0.25,
 * -1 ignored, NaN invalid), and the packed targets. */
typedef struct {
    size_t rows, cols, n;
    aplcl_dtype dt;
    aplcl_target_format fmt;
    float *x, *y;
    void *xs, *g0; /* logits and a starting gradient in the storage type */
    cases_targets t;
} qcase;

/* Elements needing math are a `density` fraction: positives (any logit), hard negatives (x in
 * [-2, 6], above every clip's threshold used here) and soft targets. The rest are easy negatives
 * (x in [-40, -4], below the thresholds of clip 0.05 and 0.1), ignored targets, invalid targets
 * and non-finite logits (these last three counted, never computed). */
static void make_case(qcase *c, size_t rows, size_t cols, double density, aplcl_dtype dt,
                      aplcl_target_format fmt, uint64_t seed) {
    cli_rng r = cli_rng_seed(seed);
    c->rows = rows, c->cols = cols, c->n = rows * cols, c->dt = dt, c->fmt = fmt;
    c->x = tu_xmalloc(c->n * 4), c->y = tu_xmalloc(c->n * 4);
    float *g0f = tu_xmalloc(c->n * 4);
    const float nonfinite[3] = {NAN, INFINITY, -INFINITY};
    int can_ignore = fmt != APLCL_TARGET_CSR, can_invalid = fmt <= APLCL_TARGET_U8;
    for (size_t i = 0; i < c->n; ++i) {
        double u = cli_rng_uniform(&r), v = cli_rng_uniform(&r);
        if (u < density) {
            int soft = fmt == APLCL_TARGET_F32 && v < 0.1;
            c->y[i] = soft ? 0.25f : v < 0.55 ? 1.0f : 0.0f;
            c->x[i] =
                (float)(c->y[i] == 0.0f ? cli_rng_range(&r, -2, 6) : cli_rng_normal(&r, 0, 3));
        } else {
            c->y[i] = 0.0f;
            c->x[i] = (float)cli_rng_range(&r, -40, -4);
            if (v < 0.04 && can_ignore)
                c->y[i] = -1.0f;
            else if (v < 0.06 && can_invalid)
                c->y[i] = NAN;
            else if (v < 0.08)
                c->x[i] = nonfinite[(size_t)(v * 1000) % 3], c->y[i] = v < 0.07 ? 1.0f : 0.0f;
        }
        /* a gradient to accumulate onto, with -0.0 and +0.0 among it */
        g0f[i] = i % 7 == 3 ? -0.0f : i % 7 == 5 ? 0.0f : (float)cli_rng_range(&r, -1, 1);
    }
    size_t xb = cases_dtype_bytes(dt);
    c->xs = tu_xmalloc(c->n * xb), c->g0 = tu_xmalloc(c->n * xb);
    cases_to_storage(dt, c->x, c->xs, c->n); /* c->x: what the storage holds */
    cases_to_storage(dt, g0f, c->g0, c->n);
    free(g0f);
    /* pack: NaN (invalid) is F32's 1.5 or NaN and U8's 7, put in after packing */
    float *yp = tu_xmalloc(c->n * 4);
    for (size_t i = 0; i < c->n; ++i)
        yp[i] = isnan(c->y[i]) ? 0.0f : c->y[i];
    CHECK_STATUS(cases_pack_targets(fmt, rows, cols, yp, can_ignore, &c->t), APLCL_SUCCESS);
    free(yp);
    for (size_t i = 0; i < c->n; ++i) {
        if (!isnan(c->y[i]))
            continue;
        if (fmt == APLCL_TARGET_F32)
            ((float *)c->t.data)[i] = i % 2 ? 1.5f : NAN;
        else
            ((uint8_t *)c->t.data)[i] = 7;
    }
    /* CSR: one positive's index past the row, counted as an invalid target */
    const uint64_t *rp = c->t.data;
    for (size_t row = 0; fmt == APLCL_TARGET_CSR && row < rows; ++row)
        if (rp[row + 1] > rp[row]) {
            uint32_t *last = &c->t.aux[rp[row + 1] - 1];
            c->y[row * cols + *last] = 0.0f; /* no longer listed: a negative now */
            *last = (uint32_t)cols + 3;
            break;
        }
}

static void free_case(qcase *c) {
    free(c->x), free(c->y), free(c->xs), free(c->g0);
    cases_targets_free(&c->t);
}

/* Whether element i needs math (the kernel's ~zero): valid target, finite logit, not an easy
 * negative (only losses with a clip have those). */
static int needs_math(const qcase *c, size_t i, const aplcl_params *p) {
    float x = c->x[i], y = c->y[i];
    if (!(y >= 0.0f && y <= 1.0f) || !isfinite(x))
        return 0;
    return !(p->clip > 0.0f && y == 0.0f && x < -3.5f);
}

/* Steps of width w with k elements needing math, k = 0..w: flat steps for dense targets, steps
 * within a row for BITS and CSR (the kernel's layout). */
static void step_histogram(const qcase *c, const aplcl_params *p, unsigned w, uint64_t *hist) {
    int rowwise = c->fmt == APLCL_TARGET_BITS || c->fmt == APLCL_TARGET_CSR;
    size_t span = rowwise ? c->cols : c->n, spans = rowwise ? c->rows : 1;
    for (size_t s = 0; s < spans; ++s)
        for (size_t j0 = 0; j0 < span; j0 += w) {
            unsigned k = 0;
            for (size_t j = j0; j < j0 + w && j < span; ++j)
                k += (unsigned)needs_math(c, s * span + j, p);
            hist[k]++;
        }
}

typedef struct {
    void *grad;
    float *elem;
    float loss;
    uint64_t counts[APLCL_COUNT_LEN];
} qout;

/* Runs the case on ctx; the output buffers start as the case's starting gradient and 7.0f
 * losses, so an element either path forgets to write shows as a difference. */
static int run_one(aplcl_ctx *ctx, const qcase *c, const aplcl_params *p, const variant *v,
                   qout *o) {
    cl_context cc = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    size_t xb = cases_dtype_bytes(c->dt);
    float *sev = tu_xmalloc(c->n * 4);
    for (size_t i = 0; i < c->n; ++i)
        sev[i] = 7.0f;
    aplcl_io io = aplcl_io_default();
    io.dtype = c->dt;
    io.logits = tu_buffer(cc, c->n * xb, c->xs);
    io.targets.format = c->fmt;
    io.targets.data = tu_buffer(cc, c->t.data_bytes, c->t.data);
    cl_mem aux = c->t.aux ? tu_buffer(cc, c->t.aux_bytes, c->t.aux) : NULL;
    if (c->fmt == APLCL_TARGET_BITS)
        io.targets.ignore = aux;
    if (c->fmt == APLCL_TARGET_CSR)
        io.targets.indices = aux, io.targets.nnz = c->t.nnz;
    io.grad = !v->grad ? NULL : v->in_place ? io.logits : tu_buffer(cc, c->n * xb, c->g0);
    io.grad_accumulate = v->accumulate;
    io.elem_loss = v->elem ? tu_buffer(cc, c->n * 4, sev) : NULL;
    /* weights from 0 to 2 (0 included), pos_weight from 0.5 to 1.5 */
    size_t nw = v->weights == 2 ? c->n : v->weights == 1 ? c->cols : c->rows;
    float *wh = tu_xmalloc((nw + c->cols) * 4), *ph = wh + nw;
    for (size_t i = 0; i < nw; ++i)
        wh[i] = (float)(i % 9) * 0.25f;
    for (size_t i = 0; i < c->cols; ++i)
        ph[i] = 0.5f + (float)i / (float)c->cols;
    if (v->weights) {
        io.weights.weight = tu_buffer(cc, nw * 4, wh);
        io.weights.kind = v->weights == 2   ? APLCL_WEIGHT_ELEMENT
                          : v->weights == 1 ? APLCL_WEIGHT_LABEL
                                            : APLCL_WEIGHT_ROW;
        if (v->weights != 2)
            io.weights.pos_weight = tu_buffer(cc, c->cols * 4, ph);
    }
    o->loss = -1.0f;
    memset(o->counts, 0xff, sizeof o->counts);
    io.loss = tu_buffer(cc, 4, &o->loss);
    io.counts = tu_buffer(cc, sizeof o->counts, o->counts);
    aplcl_status st = aplcl_compute_io(ctx, p, c->rows, c->cols, &io, 0, NULL, NULL);
    CHECK_STATUS(st, APLCL_SUCCESS);
    CL_CHECK(clFinish(q));
    memcpy(o->grad, c->g0, c->n * xb);
    memcpy(o->elem, sev, c->n * 4);
    if (io.grad)
        tu_read(q, io.grad, 0, o->grad, c->n * xb);
    if (io.elem_loss)
        tu_read(q, io.elem_loss, 0, o->elem, c->n * 4);
    tu_read(q, io.loss, 0, &o->loss, 4);
    tu_read(q, io.counts, 0, o->counts, sizeof o->counts);
    cl_mem all[] = {io.logits,
                    io.targets.data,
                    aux,
                    v->in_place ? NULL : io.grad,
                    io.elem_loss,
                    io.loss,
                    io.counts,
                    (cl_mem)io.weights.weight,
                    (cl_mem)io.weights.pos_weight};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; ++i)
        if (all[i])
            clReleaseMemObject(all[i]);
    free(sev);
    free(wh);
    return st == APLCL_SUCCESS;
}

/* First element whose `size` bytes differ, or -1. */
static long first_diff(const void *a, const void *b, size_t n, size_t size) {
    for (size_t i = 0; i < n; ++i)
        if (memcmp((const char *)a + i * size, (const char *)b + i * size, size) != 0)
            return (long)i;
    return -1;
}

static double grad_at(const qcase *c, const void *g, size_t i) {
    float f;
    cases_from_storage(c->dt, (const char *)g + i * cases_dtype_bytes(c->dt), &f, 1);
    return f;
}

/* The case on both contexts of width wi: same bits per element, same counts, near loss. */
static void compare(const qcase *c, int wi, int pi, const variant *v, const char *label) {
    size_t xb = cases_dtype_bytes(c->dt);
    qout o[2];
    for (int k = 0; k < 2; ++k)
        o[k].grad = tu_xmalloc(c->n * xb), o[k].elem = tu_xmalloc(c->n * 4);
    const aplcl_params *p = &params[pi].p;
    if (run_one(ctxs[wi][0], c, p, v, &o[0]) && run_one(ctxs[wi][1], c, p, v, &o[1])) {
        long g = first_diff(o[0].grad, o[1].grad, c->n, xb);
        long l = first_diff(o[0].elem, o[1].elem, c->n, 4);
        if (g >= 0)
            TU_FAIL_AT_(__FILE__, __LINE__,
                        "%s: gradient[%ld] (row %zu col %zu) queue off %.9g, on %.9g (x %g, y %g)",
                        label, g, (size_t)g / c->cols, (size_t)g % c->cols,
                        grad_at(c, o[0].grad, (size_t)g), grad_at(c, o[1].grad, (size_t)g),
                        (double)c->x[g], (double)c->y[g]);
        if (l >= 0)
            TU_FAIL_AT_(__FILE__, __LINE__,
                        "%s: loss[%ld] (row %zu col %zu) queue off %.9g, on %.9g (x %g, y %g)",
                        label, l, (size_t)l / c->cols, (size_t)l % c->cols, (double)o[0].elem[l],
                        (double)o[1].elem[l], (double)c->x[l], (double)c->y[l]);
        for (int k = 0; k < APLCL_COUNT_LEN; ++k)
            CHECK_EQ_U64(o[1].counts[k], o[0].counts[k]);
        CHECK_NEAR(o[1].loss, o[0].loss, 1e-6, 0.0);
    }
    for (int k = 0; k < 2; ++k)
        free(o[k].grad), free(o[k].elem);
}

/* The width aplcl picks on this device (src/ctx.c, pick_vector_width) when it is 8 or 16; else
 * 16. */
static unsigned wide_width(cl_device_id dev) {
    cl_device_type type = 0;
    cl_uint pref = 0;
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof pref, &pref, NULL);
    return (type & CL_DEVICE_TYPE_CPU) && pref >= 8 && pref < 16 ? 8 : 16;
}

/* Creates the four contexts, each with its options. */
static int create_contexts(void) {
    int ok = 1;
    for (int w = 0; w < NW; ++w)
        for (int qn = 0; qn < 2; ++qn) {
            aplcl_ctx_options o;
            CHECK_EQ(cli_ctx_options_from_env(&o, NULL), 0); /* the run's cache and device */
            o.layout = APLCL_LAYOUT_CONTIGUOUS; /* the queue needs consecutive steps per item */
            o.vector_width = widths[w];
            o.sparse_queue = qn ? APLCL_SPARSE_QUEUE_ALWAYS : APLCL_SPARSE_QUEUE_OFF;
            aplcl_status st = aplcl_ctx_create_ex(&ctxs[w][qn], &o);
            if (st != APLCL_SUCCESS) {
                TU_FAIL_AT_(__FILE__, __LINE__, "width %u queue %d: aplcl_ctx_create_ex = %s",
                            widths[w], qn, tu_status_name(st));
                ok = 0;
            }
        }
    return ok;
}

/* Programs are this test's cost: each width x storage x format x weighting is one to build,
 * twice (queue on and off), and a cold build takes seconds. So each point is shown where it is
 * made: the wide width (queues of up to 4 or 2) meets every format and weighting on f32 storage,
 * and f16 and bf16 storage with a dense (u8) and a row (csr) format, where the queue re-reads the
 * elements it queued with their storage's load code; width 4 (a queue of one element) runs f32
 * storage with u8 and csr targets, unweighted. */
static int runs_case(int w, aplcl_dtype dt, aplcl_target_format f, const variant *v) {
    int dense_or_row = f == APLCL_TARGET_U8 || f == APLCL_TARGET_CSR;
    if (w == 0)
        return dt == APLCL_DTYPE_F32 || (dense_or_row && !v->weights);
    return dt == APLCL_DTYPE_F32 && dense_or_row && !v->weights;
}

int main(void) {
    aplcl_ctx *probe = NULL; /* the device (or exit 77 without one) and its own width */
    int rc = tu_ctx_create(&probe);
    if (rc)
        return rc;
    widths[0] = wide_width(aplcl_ctx_device(probe));
    aplcl_ctx_destroy(probe);
    make_params();
    if (!create_contexts())
        return tu_exit_code();
    const size_t shapes[][2] = {{37, 61}, {5, 3}, {64, 80}, {300, 1000}};
    const double densities[] = {0.0, 0.02, 0.07, 0.20, 0.50, 1.0};
    const aplcl_target_format fmts[] = {APLCL_TARGET_F32, APLCL_TARGET_U8, APLCL_TARGET_BITS,
                                        APLCL_TARGET_CSR};
    const aplcl_dtype dts[] = {APLCL_DTYPE_F32, APLCL_DTYPE_F16, APLCL_DTYPE_BF16};
    uint64_t hist[NW][17] = {{0}};
    int used_param[NPARAM] = {0}, used_var[NVAR] = {0};
    uint64_t seed = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (size_t d = 0; d < sizeof densities / sizeof densities[0]; ++d) {
            int mark = tu_case_begin();
            for (size_t f = 0; f < 4; ++f)
                for (size_t t = 0; t < 3; ++t) {
                    if (!runs_case(0, dts[t], fmts[f], &variants[0]))
                        continue; /* no width runs this storage and format */
                    qcase c;
                    make_case(&c, shapes[s][0], shapes[s][1], densities[d], dts[t], fmts[f],
                              seed++);
                    for (int vi = 0; vi < NVAR; ++vi) {
                        /* every loss meets every variant, format and storage over the run */
                        int pi = (int)((vi + f * 2 + t * 3 + d + s) % NPARAM);
                        for (int w = 0; w < NW; ++w) {
                            if (!runs_case(w, dts[t], fmts[f], &variants[vi]))
                                continue;
                            used_param[pi] = used_var[vi] = 1;
                            char label[192];
                            snprintf(label, sizeof label, "%zux%zu %.0f%% %s/%s %s, %s, width %u",
                                     c.rows, c.cols, densities[d] * 100, cases_format_name(fmts[f]),
                                     cases_dtype_name(dts[t]), params[pi].name, variants[vi].name,
                                     widths[w]);
                            step_histogram(&c, &params[pi].p, widths[w], hist[w]);
                            compare(&c, w, pi, &variants[vi], label);
                        }
                    }
                    free_case(&c);
                }
            tu_case_end(mark, "%zux%zu, %3.0f%% need math: queue on = queue off, bit for bit",
                        shapes[s][0], shapes[s][1], densities[d] * 100);
        }
    /* the data must exercise the queue: steps with 1..QUEUE_MAX elements needing math, and
     * denser steps for the dense path beside them */
    for (int w = 0; w < NW; ++w) {
        int mark = tu_case_begin();
        unsigned qmax = widths[w] / 4;
        for (unsigned k = 1; k <= qmax; ++k)
            CHECK_GT(hist[w][k], 100);
        CHECK_GT(hist[w][qmax + 1], 100);
        CHECK_GT(hist[w][widths[w]], 100);
        printf("     width %u: steps with 0 / 1 / QUEUE_MAX=%u / more elements needing math: "
               "%llu / %llu / %llu / %llu\n",
               widths[w], qmax, (unsigned long long)hist[w][0], (unsigned long long)hist[w][1],
               (unsigned long long)hist[w][qmax], (unsigned long long)hist[w][qmax + 1]);
        tu_case_end(mark, "width %u: the inputs hold queued steps (1..%u elements)", widths[w],
                    qmax);
    }
    for (int i = 0; i < NPARAM; ++i)
        CHECK(used_param[i]);
    for (int i = 0; i < NVAR; ++i)
        CHECK(used_var[i]);
    for (int w = 0; w < NW; ++w)
        for (int qn = 0; qn < 2; ++qn)
            aplcl_ctx_destroy(ctxs[w][qn]);
    return tu_exit_code();
}
