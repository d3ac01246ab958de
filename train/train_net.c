/* train_net.c: the device side of `aplcl train` (see train_net.h).
 *
 * Parameters live in one buffer (W1, b1, W2, b2 back to back) so that one Adam kernel updates
 * them all; gradients and Adam moments mirror that layout. The output layer, loss and its
 * gradients go through aplcl's linear head (aplcl_head_compute); the hidden layer's GEMMs are
 * CLBlast's; the element-wise kernels are the training engine's own (train/kernels/net.cl, not
 * part of the loss library, so not in kernels/). All work is enqueued
 * on the context's in-order queue; only predict and the loss read-back wait.
 */
#include "train_net.h"

#include "embedded_file.h"

#include <clblast_c.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool_util.h" /* cli_rng */

/* The kernels of train/kernels/net.cl, embedded at build time (cmake/embed_kernels.cmake). */
extern const aplcl_embedded_file aplcl_train_kernels[];

#define MAX_SETS 4

typedef struct {
    cl_mem x, y;
    size_t rows;
    size_t y_row_bytes; /* U8: labels bytes a row; BITS (a shard's whole label space): its words */
    int y_bits;
} data_set;

struct train_net {
    aplcl_ctx *ctx;
    aplcl_head *head; /* the output layer: GEMMs + loss + its gradients in one call */
    cl_context context;
    cl_command_queue queue;
    train_net_config cfg;
    cl_program program;
    cl_kernel k_gather_f32, k_gather_u8, k_bias_act, k_relu_back, k_colsum, k_adam;
    /* parameter layout in theta / grad / m / v (element offsets) */
    size_t off_w1, off_b1, off_w2, off_b2, n_params, k_in; /* k_in: head input width */
    cl_mem theta, grad, m, v;
    cl_mem idx, xb, yb, z1, dz1, logits, losses;
    cl_mem counts;     /* APLCL_COUNT_LEN cl_ulong per loss slot: the kernel's non-finite counts */
    cl_mem pos_weight; /* NULL or labels floats (cfg.pos_weight) */
    size_t loss_slots;
    data_set sets[MAX_SETS];
    int n_sets;
    unsigned long step;
    size_t last_batch;                 /* rows of the last head pass, for the hidden pass */
    size_t label_offset, labels_total; /* the head's label block (a shard) */
    char error[256];
};

static int fail(train_net *net, const char *what, int code) {
    snprintf(net->error, sizeof net->error, "%s failed (%d)", what, code);
    return -1;
}

const char *train_net_error(const train_net *net) { return net ? net->error : "no network"; }

static cl_mem make_buffer(train_net *net, size_t bytes, const void *host, int *ok) {
    cl_int err;
    cl_mem b = clCreateBuffer(net->context, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes ? bytes : 4, (void *)host, &err);
    if (err != CL_SUCCESS)
        *ok = 0;
    return b;
}

train_net *train_net_create(aplcl_ctx *ctx, const train_net_config *cfg, char *err,
                            size_t err_size) {
    return train_net_create_shard(ctx, cfg, 0, cfg->labels, err, err_size);
}

train_net *train_net_create_shard(aplcl_ctx *ctx, const train_net_config *cfg, size_t label_offset,
                                  size_t labels_total, char *err, size_t err_size) {
    if (label_offset > labels_total || cfg->labels > labels_total - label_offset) {
        snprintf(err, err_size, "label block %zu+%zu outside %zu labels", label_offset, cfg->labels,
                 labels_total);
        return NULL;
    }
    train_net *net = calloc(1, sizeof *net);
    if (!net) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    net->ctx = ctx;
    net->context = aplcl_ctx_cl_context(ctx);
    net->queue = aplcl_ctx_queue(ctx);
    net->cfg = *cfg;
    net->label_offset = label_offset, net->labels_total = labels_total;
    size_t D = cfg->features, H = cfg->hidden, C = cfg->labels, B = cfg->max_batch;
    net->k_in = H ? H : D;
    net->off_w1 = 0;
    net->off_b1 = H * D;
    net->off_w2 = net->off_b1 + H;
    net->off_b2 = net->off_w2 + C * net->k_in;
    net->n_params = net->off_b2 + C;

    aplcl_status hst = aplcl_head_create(&net->head, ctx);
    if (hst != APLCL_SUCCESS) {
        snprintf(err, err_size, "aplcl_head_create: %s", aplcl_status_string(hst));
        train_net_destroy(net);
        return NULL;
    }
    cl_int e;
    cl_device_id dev = aplcl_ctx_device(ctx);
    const char *src = (const char *)aplcl_train_kernels[0].data;
    size_t src_len = aplcl_train_kernels[0].size;
    net->program = clCreateProgramWithSource(net->context, 1, &src, &src_len, &e);
    if (e == CL_SUCCESS)
        e = clBuildProgram(net->program, 1, &dev, "", NULL, NULL);
    if (e != CL_SUCCESS) {
        snprintf(err, err_size, "building the trainer's kernels failed (%d)", (int)e);
        train_net_destroy(net);
        return NULL;
    }
    cl_kernel *ks[] = {&net->k_gather_f32, &net->k_gather_u8, &net->k_bias_act,
                       &net->k_relu_back,  &net->k_colsum,    &net->k_adam};
    const char *names[] = {"gather_f32", "gather_u8", "bias_act", "relu_back", "colsum", "adam"};
    for (int i = 0; i < 6; ++i) {
        *ks[i] = clCreateKernel(net->program, names[i], &e);
        if (e != CL_SUCCESS) {
            snprintf(err, err_size, "kernel %s: %d", names[i], (int)e);
            train_net_destroy(net);
            return NULL;
        }
    }

    /* He-uniform for the ReLU layer, Glorot-uniform for the head; zero biases. */
    float *theta = calloc(net->n_params, sizeof *theta);
    if (!theta) {
        snprintf(err, err_size, "out of memory");
        train_net_destroy(net);
        return NULL;
    }
    cli_rng s = cli_rng_seed(cfg->seed * 0x2545f4914f6cdd1dull + 1); /* tool_util.h */
    /* a label shard draws the whole head's weights and keeps its rows: the same model as one
     * device's, whatever the sharding */
    size_t C_all = labels_total, c_lo = label_offset * net->k_in;
    double a1 = sqrt(6.0 / (double)D), a2 = sqrt(6.0 / (double)(net->k_in + C_all));
    for (size_t i = 0; i < H * D; ++i)
        theta[net->off_w1 + i] = (float)((2 * cli_rng_uniform(&s) - 1) * a1);
    for (size_t i = 0; i < C_all * net->k_in; ++i) {
        float v = (float)((2 * cli_rng_uniform(&s) - 1) * a2);
        if (i >= c_lo && i - c_lo < C * net->k_in)
            theta[net->off_w2 + i - c_lo] = v;
    }
    int ok = 1;
    size_t P = net->n_params * sizeof(float);
    net->theta = make_buffer(net, P, theta, &ok);
    free(theta);
    float *zeros = calloc(net->n_params, sizeof *zeros);
    if (!zeros)
        ok = 0;
    net->grad = make_buffer(net, P, zeros, &ok);
    net->m = make_buffer(net, P, zeros, &ok);
    net->v = make_buffer(net, P, zeros, &ok);
    free(zeros);
    net->idx = make_buffer(net, B * sizeof(cl_uint), NULL, &ok);
    net->xb = make_buffer(net, B * D * sizeof(float), NULL, &ok);
    size_t bits_row = APLCL_BITS_WORDS(labels_total) * sizeof(cl_uint);
    net->yb = make_buffer(net, B * (C > bits_row ? C : bits_row), NULL, &ok);
    net->z1 = make_buffer(net, B * (H ? H : 1) * sizeof(float), NULL, &ok);
    net->dz1 = make_buffer(net, B * (H ? H : 1) * sizeof(float), NULL, &ok);
    net->logits = make_buffer(net, B * C * sizeof(float), NULL, &ok);
    net->loss_slots = 65536;
    net->losses = make_buffer(net, net->loss_slots * sizeof(float), NULL, &ok);
    net->counts = make_buffer(net, net->loss_slots * APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, &ok);
    if (cfg->pos_weight)
        net->pos_weight = make_buffer(net, cfg->labels * sizeof(float), cfg->pos_weight, &ok);
    if (!ok) {
        snprintf(err, err_size, "allocating the network's device buffers failed");
        train_net_destroy(net);
        return NULL;
    }
    return net;
}

void train_net_destroy(train_net *net) {
    if (!net)
        return;
    cl_mem ms[] = {net->theta,  net->grad,   net->m,         net->v,   net->idx,
                   net->xb,     net->yb,     net->z1,        net->dz1, net->logits,
                   net->losses, net->counts, net->pos_weight};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
    for (int i = 0; i < net->n_sets; ++i) {
        clReleaseMemObject(net->sets[i].x);
        clReleaseMemObject(net->sets[i].y);
    }
    cl_kernel ks[] = {net->k_gather_f32, net->k_gather_u8, net->k_bias_act,
                      net->k_relu_back,  net->k_colsum,    net->k_adam};
    for (int i = 0; i < 6; ++i)
        if (ks[i])
            clReleaseKernel(ks[i]);
    if (net->program)
        clReleaseProgram(net->program);
    aplcl_head_destroy(net->head);
    free(net);
}

static int upload_set(train_net *net, const float *x, const void *y, size_t row_bytes, int bits,
                      size_t rows) {
    if (net->n_sets >= MAX_SETS)
        return fail(net, "upload (too many sets)", 0);
    int ok = 1;
    data_set *s = &net->sets[net->n_sets];
    s->x = make_buffer(net, rows * net->cfg.features * sizeof(float), x, &ok);
    s->y = make_buffer(net, rows * row_bytes, y, &ok);
    s->rows = rows;
    s->y_row_bytes = row_bytes;
    s->y_bits = bits;
    if (!ok)
        return fail(net, "uploading a data set", 0);
    return net->n_sets++;
}

int train_net_upload(train_net *net, const float *x, const uint8_t *y, size_t rows) {
    return upload_set(net, x, y, net->cfg.labels, 0, rows);
}

int train_net_upload_bits(train_net *net, const float *x, const uint32_t *bits, size_t rows) {
    /* gather_u8 moves a row's words as bytes: the bits arrive unchanged */
    return upload_set(net, x, bits, APLCL_BITS_WORDS(net->labels_total) * sizeof(cl_uint), 1, rows);
}

/* Enqueues a 1-D element-wise kernel over n items (no local size: any n works). */
static int run1d(train_net *net, cl_kernel k, size_t n, const char *what) {
    cl_int e = clEnqueueNDRangeKernel(net->queue, k, 1, NULL, &n, NULL, 0, NULL, NULL);
    return e == CL_SUCCESS ? 0 : fail(net, what, e);
}

/* C = op(A) op(B) (row-major), overwriting C. */
static int gemm(train_net *net, int ta, int tb, size_t m, size_t n, size_t k, cl_mem a,
                size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, cl_mem c,
                size_t c_off, size_t ldc) {
    CLBlastStatusCode st =
        CLBlastSgemm(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                     tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, 1.0f, a, a_off, lda, b,
                     b_off, ldb, 0.0f, c, c_off, ldc, &net->queue, NULL);
    return st == CLBlastSuccess ? 0 : fail(net, "CLBlastSgemm", (int)st);
}

static int bias_act(train_net *net, cl_mem z, size_t rows, size_t cols, size_t b_off, int relu) {
    cl_ulong off = b_off;
    cl_uint c = (cl_uint)cols;
    cl_int r = relu;
    clSetKernelArg(net->k_bias_act, 0, sizeof z, &z);
    clSetKernelArg(net->k_bias_act, 1, sizeof net->theta, &net->theta);
    clSetKernelArg(net->k_bias_act, 2, sizeof off, &off);
    clSetKernelArg(net->k_bias_act, 3, sizeof c, &c);
    clSetKernelArg(net->k_bias_act, 4, sizeof r, &r);
    return run1d(net, net->k_bias_act, rows * cols, "bias_act");
}

/* Forward of `batch` rows already in xb (or of a set's rows from x_off): leaves logits. */
static int forward(train_net *net, cl_mem x, size_t x_off, size_t batch) {
    size_t D = net->cfg.features, H = net->cfg.hidden, C = net->cfg.labels;
    cl_mem a = x;
    size_t a_off = x_off;
    if (H) {
        if (gemm(net, 0, 1, batch, H, D, x, x_off, D, net->theta, net->off_w1, D, net->z1, 0, H) ||
            bias_act(net, net->z1, batch, H, net->off_b1, 1))
            return -1;
        a = net->z1;
        a_off = 0;
    }
    if (gemm(net, 0, 1, batch, C, net->k_in, a, a_off, net->k_in, net->theta, net->off_w2,
             net->k_in, net->logits, 0, C) ||
        bias_act(net, net->logits, batch, C, net->off_b2, 0))
        return -1;
    return 0;
}

static int colsum(train_net *net, cl_mem g, size_t rows, size_t cols, size_t out_off) {
    cl_uint r = (cl_uint)rows, c = (cl_uint)cols;
    cl_ulong off = out_off;
    clSetKernelArg(net->k_colsum, 0, sizeof g, &g);
    clSetKernelArg(net->k_colsum, 1, sizeof r, &r);
    clSetKernelArg(net->k_colsum, 2, sizeof c, &c);
    clSetKernelArg(net->k_colsum, 3, sizeof net->grad, &net->grad);
    clSetKernelArg(net->k_colsum, 4, sizeof off, &off);
    return run1d(net, net->k_colsum, cols, "colsum");
}

static int gather(train_net *net, cl_kernel k, cl_mem src, cl_mem dst, size_t batch, size_t cols) {
    cl_uint c = (cl_uint)cols;
    clSetKernelArg(k, 0, sizeof src, &src);
    clSetKernelArg(k, 1, sizeof net->idx, &net->idx);
    clSetKernelArg(k, 2, sizeof dst, &dst);
    clSetKernelArg(k, 3, sizeof c, &c);
    return run1d(net, k, batch * cols, "gather");
}

int train_net_head_pass(train_net *net, int set, const uint32_t *rows, size_t batch,
                        const aplcl_params *loss, size_t loss_slot) {
    size_t D = net->cfg.features, H = net->cfg.hidden, C = net->cfg.labels, K = net->k_in;
    if (set < 0 || set >= net->n_sets || batch == 0 || batch > net->cfg.max_batch ||
        loss_slot >= net->loss_slots)
        return fail(net, "train_net_step arguments", 0);
    data_set *s = &net->sets[set];
    cl_int e = clEnqueueWriteBuffer(net->queue, net->idx, CL_FALSE, 0, batch * sizeof(cl_uint),
                                    rows, 0, NULL, NULL);
    if (e != CL_SUCCESS)
        return fail(net, "writing batch indices", e);
    /* the write above is non-blocking: `rows` must stay valid until the queue passes it, so
     * wait for it here (it is tiny); everything else stays asynchronous */
    clFinish(net->queue);
    if (gather(net, net->k_gather_f32, s->x, net->xb, batch, D) ||
        gather(net, net->k_gather_u8, s->y, net->yb, batch, s->y_row_bytes))
        return -1;

    if (H &&
        (gemm(net, 0, 1, batch, H, D, net->xb, 0, D, net->theta, net->off_w1, D, net->z1, 0, H) ||
         bias_act(net, net->z1, batch, H, net->off_b1, 1)))
        return -1;
    /* The output layer through aplcl's linear head: logits, loss, dA (over dz1), and dW2, db2
     * added onto the zeroed gradient slots. */
    const float zero = 0.0f;
    cl_int e2 =
        clEnqueueFillBuffer(net->queue, net->grad, &zero, sizeof zero, net->off_w2 * sizeof(float),
                            (C * K + C) * sizeof(float), 0, NULL, NULL);
    if (e2 != CL_SUCCESS)
        return fail(net, "zeroing the head's gradient", e2);
    aplcl_head_io io = aplcl_head_io_default();
    io.x = H ? net->z1 : net->xb;
    io.w = net->theta;
    io.w_offset = net->off_w2;
    io.b = net->theta;
    io.b_offset = net->off_b2;
    io.targets.format = s->y_bits ? APLCL_TARGET_BITS : APLCL_TARGET_U8;
    io.targets.data = net->yb;
    if (s->y_bits) { /* the whole label space's bits, read through this shard's window */
        io.targets.label_count = net->labels_total;
        io.targets.label_offset = net->label_offset;
    }
    io.dx = H ? net->dz1 : NULL;
    io.dw = net->grad;
    io.dw_offset = net->off_w2;
    io.db = net->grad;
    io.db_offset = net->off_b2;
    io.loss = net->losses;
    io.loss_offset = loss_slot;
    io.counts = net->counts;
    io.counts_offset = loss_slot * APLCL_COUNT_LEN;
    io.weights.pos_weight = net->pos_weight;
    /* the whole batch fits: budget for one chunk */
    size_t need = 0;
    aplcl_status st = aplcl_head_scratch_bytes(net->head, batch, K, C, &io, batch, &need);
    if (st == APLCL_SUCCESS)
        st = aplcl_head_compute(net->head, loss, batch, K, C, &io, need, 0, NULL, NULL);
    if (st != APLCL_SUCCESS) {
        snprintf(net->error, sizeof net->error, "aplcl_head_compute: %s", aplcl_status_string(st));
        return -1;
    }
    net->last_batch = batch;
    return 0;
}

int train_net_hidden_pass(train_net *net) {
    size_t D = net->cfg.features, H = net->cfg.hidden, batch = net->last_batch;
    if (H) {
        clSetKernelArg(net->k_relu_back, 0, sizeof net->dz1, &net->dz1);
        clSetKernelArg(net->k_relu_back, 1, sizeof net->z1, &net->z1);
        if (run1d(net, net->k_relu_back, batch * H, "relu_back") ||
            gemm(net, 1, 0, H, D, batch, net->dz1, 0, H, net->xb, 0, D, net->grad, net->off_w1,
                 D) ||
            colsum(net, net->dz1, batch, H, net->off_b1))
            return -1;
    }
    return 0;
}

int train_net_adam(train_net *net) {
    /* Adam with bias correction folded into the step size */
    ++net->step;
    const train_net_config *c = &net->cfg;
    float lr_t = (float)(c->lr * sqrt(1.0 - pow(c->beta2, (double)net->step)) /
                         (1.0 - pow(c->beta1, (double)net->step)));
    clSetKernelArg(net->k_adam, 0, sizeof net->theta, &net->theta);
    clSetKernelArg(net->k_adam, 1, sizeof net->grad, &net->grad);
    clSetKernelArg(net->k_adam, 2, sizeof net->m, &net->m);
    clSetKernelArg(net->k_adam, 3, sizeof net->v, &net->v);
    clSetKernelArg(net->k_adam, 4, sizeof lr_t, &lr_t);
    clSetKernelArg(net->k_adam, 5, sizeof c->beta1, &c->beta1);
    clSetKernelArg(net->k_adam, 6, sizeof c->beta2, &c->beta2);
    clSetKernelArg(net->k_adam, 7, sizeof c->adam_eps, &c->adam_eps);
    clSetKernelArg(net->k_adam, 8, sizeof c->weight_decay, &c->weight_decay);
    return run1d(net, net->k_adam, net->n_params, "adam");
}

int train_net_step(train_net *net, int set, const uint32_t *rows, size_t batch,
                   const aplcl_params *loss, size_t loss_slot) {
    return train_net_head_pass(net, set, rows, batch, loss, loss_slot) ||
                   train_net_hidden_pass(net) || train_net_adam(net)
               ? -1
               : 0;
}

size_t train_net_copy_count(const train_net *net, train_net_buf which) {
    return which == TRAIN_NET_DX ? net->last_batch * net->cfg.hidden : net->n_params;
}

int train_net_copy(train_net *net, train_net_buf which, float *host, int to_device) {
    cl_mem m = which == TRAIN_NET_DX ? net->dz1 : which == TRAIN_NET_GRAD ? net->grad : net->theta;
    size_t bytes = train_net_copy_count(net, which) * sizeof(float);
    if (bytes == 0)
        return 0;
    cl_int e = to_device
                   ? clEnqueueWriteBuffer(net->queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL)
                   : clEnqueueReadBuffer(net->queue, m, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    return e == CL_SUCCESS ? 0 : fail(net, to_device ? "writing a sum" : "reading for a sum", e);
}

int train_net_losses(train_net *net, float *out, size_t count, uint64_t *nonfinite) {
    if (count > net->loss_slots)
        return fail(net, "train_net_losses count", 0);
    cl_int e = clEnqueueReadBuffer(net->queue, net->losses, CL_TRUE, 0, count * sizeof(float), out,
                                   0, NULL, NULL);
    if (e != CL_SUCCESS)
        return fail(net, "reading losses", e);
    *nonfinite = 0;
    cl_ulong *c = malloc(count * APLCL_COUNT_LEN * sizeof *c + 1);
    if (!c)
        return fail(net, "out of memory reading the loss counts", 0);
    e = clEnqueueReadBuffer(net->queue, net->counts, CL_TRUE, 0,
                            count * APLCL_COUNT_LEN * sizeof *c, c, 0, NULL, NULL);
    for (size_t i = 0; e == CL_SUCCESS && i < count; ++i)
        *nonfinite += c[i * APLCL_COUNT_LEN + APLCL_COUNT_NONFINITE_LOGITS];
    free(c);
    return e == CL_SUCCESS ? 0 : fail(net, "reading the loss counts", e);
}

int train_net_predict(train_net *net, int set, float *out) {
    if (set < 0 || set >= net->n_sets)
        return fail(net, "train_net_predict set", 0);
    data_set *s = &net->sets[set];
    size_t C = net->cfg.labels, D = net->cfg.features, B = net->cfg.max_batch;
    for (size_t r0 = 0; r0 < s->rows; r0 += B) {
        size_t rows = s->rows - r0 < B ? s->rows - r0 : B;
        if (forward(net, s->x, r0 * D, rows))
            return -1;
        cl_int e = clEnqueueReadBuffer(net->queue, net->logits, CL_TRUE, 0,
                                       rows * C * sizeof(float), out + r0 * C, 0, NULL, NULL);
        if (e != CL_SUCCESS)
            return fail(net, "reading logits", e);
    }
    return 0;
}
