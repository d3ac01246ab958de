/* check_cuda.c: `aplcl check --cuda N`, the CUDA backend of the check (check.h).
 *
 * Each case's inputs go to device memory of the tool's own (common/cuda_tool.h: the driver the
 * library loaded, the device's primary context, a stream of the tool's), one
 * aplcl_cuda_compute_io call runs on that stream with the context's own scratch, and the
 * outputs come back for check.c to judge by the same rule as on OpenCL. Not here: the cases, the
 * reference, the verdicts.
 */
#include "check.h"
#include "cli.h"
#include "cuda_tool.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    aplcl_cuda_ctx *ctx;
    cli_cuda cu;
} cuda_backend;

/* The buffers of one call: freed together. */
typedef struct {
    cli_cuda *cu;
    void *list[10]; /* logits, 2 targets, grad, elem_loss, loss, counts, 2 weights */
    int n, failed;
} dev_bufs;
static void *dbuf(dev_bufs *b, const void *host, size_t bytes) {
    void *d = b->failed ? NULL : cli_cuda_alloc(b->cu, bytes, host);
    if (!d)
        b->failed = 1;
    else if (b->n < (int)(sizeof b->list / sizeof b->list[0]))
        b->list[b->n++] = d;
    return d;
}

static aplcl_status run_cuda(void *backend, const aplcl_params *p, check_call *c) {
    cuda_backend *be = (cuda_backend *)backend;
    cli_cuda *cu = &be->cu;
    size_t n = c->rows * c->cols, xb = cases_dtype_bytes(c->dtype);
    const cases_targets *pk = c->targets;
    dev_bufs b;
    memset(&b, 0, sizeof b);
    b.cu = cu;
    aplcl_cuda_io io = aplcl_cuda_io_default();
    io.dtype = c->dtype;
    io.logits = dbuf(&b, c->logits, n * xb);
    io.targets.format = pk->format;
    io.targets.data = dbuf(&b, pk->data, pk->data_bytes);
    if (pk->format == APLCL_TARGET_BITS)
        io.targets.ignore = dbuf(&b, pk->aux, pk->aux_bytes);
    if (pk->format == APLCL_TARGET_CSR) {
        io.targets.indices = pk->aux ? dbuf(&b, pk->aux, pk->aux_bytes) : NULL;
        io.targets.nnz = pk->nnz;
    }
    io.grad = dbuf(&b, NULL, n * xb);
    io.elem_loss = (float *)dbuf(&b, NULL, n * 4);
    io.loss = (float *)dbuf(&b, NULL, 4);
    io.counts = (unsigned long long *)dbuf(&b, NULL, sizeof c->counts);
    const aplcl_weights *w = &c->weights;
    io.weights.pos_weight = w->pos_weight ? dbuf(&b, w->pos_weight, c->cols * 4) : NULL;
    io.weights.weight = w->weight ? dbuf(&b, w->weight, c->weight_count * 4) : NULL;
    io.weights.kind = w->kind;
    aplcl_status st = APLCL_ERR_CUDA;
    if (b.failed) {
        fprintf(stderr, "  CUDA: %s failed (CUresult %d)\n", cu->last_call, cu->last);
    } else {
        st = aplcl_cuda_compute_io(be->ctx, p, c->rows, c->cols, &io, NULL, 0, cu->stream);
        if (st == APLCL_ERR_CUDA)
            fprintf(stderr, "  CUDA: a launch failed (CUresult %d)\n", aplcl_cuda_last_error());
    }
    if (st == APLCL_SUCCESS && (cli_cuda_download(cu, c->grad, io.grad, n * xb) ||
                                cli_cuda_download(cu, c->elem_loss, io.elem_loss, n * 4) ||
                                cli_cuda_download(cu, &c->loss, io.loss, 4) ||
                                cli_cuda_download(cu, c->counts, io.counts, sizeof c->counts))) {
        fprintf(stderr, "  CUDA: %s failed (CUresult %d)\n", cu->last_call, cu->last);
        st = APLCL_ERR_CUDA;
    }
    cli_cuda_sync(cu); /* nothing of this call is in flight when its buffers go */
    for (int i = 0; i < b.n; ++i)
        cli_cuda_free(cu, b.list[i]);
    return st;
}

int check_cuda_device(int ordinal, int quick, int *cases, int *failures) {
    cuda_backend be;
    memset(&be, 0, sizeof be);
    aplcl_cuda_options o;
    cli_cuda_options_from_env(&o);
    aplcl_status st = aplcl_cuda_ctx_create(&be.ctx, ordinal, &o);
    if (st != APLCL_SUCCESS) {
        int none = st == APLCL_ERR_CUDA_UNAVAILABLE || st == APLCL_ERR_NO_DEVICE;
        fprintf(stderr, "aplcl check: CUDA device %d: %s", ordinal,
                st == APLCL_ERR_NO_DEVICE ? "no such device" : aplcl_status_string(st));
        if (st == APLCL_ERR_CUDA)
            fprintf(stderr, " (CUresult %d)", aplcl_cuda_last_error());
        fprintf(stderr, "%s\n", none ? "; nothing to check (exit 3)" : "");
        return none ? CLI_EXIT_UNAVAILABLE : CLI_EXIT_FAIL;
    }
    int rc = 0;
    if (cli_cuda_open(&be.cu, o.cuda_library, ordinal) != 0) {
        fprintf(stderr,
                "aplcl check: CUDA device %d: the driver for the tool's buffers: %s "
                "failed (CUresult %d)\n",
                ordinal, be.cu.last_call ? be.cu.last_call : "?", be.cu.last);
        rc = CLI_EXIT_FAIL;
    } else {
        printf("device cuda:%d: %s (%s; driver %d.%d)\n", ordinal, be.cu.name,
               aplcl_cuda_ctx_describe(be.ctx), be.cu.driver_version / 1000,
               be.cu.driver_version % 1000 / 10);
        check_cases(run_cuda, &be, quick, cases, failures);
    }
    cli_cuda_close(&be.cu);
    aplcl_cuda_ctx_destroy(be.ctx);
    return rc;
}
