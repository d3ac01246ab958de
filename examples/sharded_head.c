/* sharded_head.c: how an engine with its own OpenCL queue and its own MPI communicator uses
 * aplcl's linear head sharded over labels. The pattern to copy; not part of the library.
 *
 *   1. The engine owns its OpenCL context and queue; aplcl_ctx_create_from_queue wraps the queue,
 *      so aplcl's work is ordered with the engine's on it.
 *   2. The engine owns its communicator (here a duplicate of MPI_COMM_WORLD, as a framework's
 *      process group would be); aplcl never calls MPI.
 *   3. Rank r of R owns labels [C r / R, C (r+1) / R): its rows of W and b (and their gradients
 *      and optimiser state). Every rank holds the same CSR targets with GLOBAL label indices and
 *      reads its block through a label window (targets.label_count = C, label_offset = its
 *      first label): no re-packing per shard.
 *   4. MEAN over the batch: pass the global normaliser (N samples here), so the ranks' losses
 *      and gradients add up to the unsharded ones.
 *   5. After aplcl_head_compute: dW and db are final for the rank's labels (no communication);
 *      dX (N x D) and the loss are partial sums: MPI_Allreduce them over the communicator.
 * Then each rank applies its optimiser to its own rows; the layers below get the summed dX.
 *
 * Run: mpirun -n 2 ./aplcl_example_sharded_head. It checks itself: rank 0 also runs the
 * unsharded head over all C labels and compares the loss and dX (exit status 1 on a mismatch).
 */
#define CL_TARGET_OPENCL_VERSION 120
#include <aplcl.h>
#include <aplcl_head.h>
#include <mpi.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 64, D = 32, C = 5000, K = 3 }; /* samples, features, labels, positives per row */

/* Deterministic values, the same on every rank for the same (label, feature). */
static float value(unsigned a, unsigned b, float scale) {
    unsigned h = a * 2654435761u ^ (b + 0x9e3779b9u) * 2246822519u;
    h ^= h >> 15, h *= 2246822519u, h ^= h >> 13;
    return scale * ((float)(h & 0xffff) / 32768.0f - 1.0f);
}

static void die(MPI_Comm comm, int rank, const char *what, int code) {
    fprintf(stderr, "rank %d: %s failed (%d)\n", rank, what, code);
    MPI_Abort(comm, 1); /* no rank waits for one that failed */
}

/* The engine's own OpenCL queue: the first device of the first platform. */
static cl_command_queue engine_queue(cl_context *cc) {
    cl_platform_id pf;
    cl_device_id dev;
    cl_int e = clGetPlatformIDs(1, &pf, NULL);
    if (e == CL_SUCCESS)
        e = clGetDeviceIDs(pf, CL_DEVICE_TYPE_ALL, 1, &dev, NULL);
    if (e != CL_SUCCESS)
        return NULL;
    *cc = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    return e == CL_SUCCESS ? clCreateCommandQueue(*cc, dev, 0, &e) : NULL;
}

static cl_mem buffer(cl_context cc, size_t bytes, const void *host) {
    cl_int e;
    return clCreateBuffer(cc, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes,
                          (void *)host, &e);
}

/* Labels [c0, c0 + cw) through the window: loss and dX of this block (dW, db stay here). */
static aplcl_status head_block(aplcl_head *h, cl_context cc, cl_command_queue q, const float *x,
                               cl_mem rp, cl_mem idx, size_t nnz, size_t c0, size_t cw, float *dx,
                               float *loss) {
    float *w = malloc(cw * D * sizeof *w), *b = malloc(cw * sizeof *b);
    for (size_t c = 0; c < cw; ++c) {
        b[c] = value((unsigned)(c0 + c), 999, 0.5f) - 2.0f;
        for (size_t k = 0; k < D; ++k)
            w[c * D + k] = value((unsigned)(c0 + c), (unsigned)k, 0.2f);
    }
    aplcl_head_io io = aplcl_head_io_default();
    io.x = buffer(cc, N * D * 4, x);
    io.w = buffer(cc, cw * D * 4, w);
    io.b = buffer(cc, cw * 4, b);
    io.targets.format = APLCL_TARGET_CSR;
    io.targets.data = rp;
    io.targets.indices = idx;
    io.targets.nnz = nnz;
    io.targets.label_count = C;   /* the whole label space ... */
    io.targets.label_offset = c0; /* ... and this rank's window of it */
    io.dx = buffer(cc, N * D * 4, NULL);
    io.dw = buffer(cc, cw * D * 4, NULL);
    io.db = buffer(cc, cw * 4, NULL);
    io.loss = buffer(cc, 4, NULL);
    float zero = 0.0f;
    clEnqueueFillBuffer(q, io.dw, &zero, 4, 0, cw * D * 4, 0, NULL, NULL); /* dW, db add */
    clEnqueueFillBuffer(q, io.db, &zero, 4, 0, cw * 4, 0, NULL, NULL);
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    p.normalizer = N; /* the global normaliser, not this rank's share */
    aplcl_status st = aplcl_head_compute(h, &p, N, D, cw, &io, (size_t)16 << 20, 0, NULL, NULL);
    if (st == APLCL_SUCCESS) {
        clEnqueueReadBuffer(q, io.dx, CL_TRUE, 0, N * D * 4, dx, 0, NULL, NULL);
        clEnqueueReadBuffer(q, io.loss, CL_TRUE, 0, 4, loss, 0, NULL, NULL);
    }
    cl_mem ms[] = {io.x, io.w, io.b, io.dx, io.dw, io.db, io.loss};
    for (int i = 0; i < 7; ++i)
        clReleaseMemObject(ms[i]);
    free(w), free(b);
    return st;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm comm; /* the engine's communicator */
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);

    cl_context cc = NULL;
    cl_command_queue q = engine_queue(&cc);
    if (!q)
        die(comm, rank, "opening an OpenCL queue", 0);
    aplcl_ctx *ctx = NULL;
    aplcl_head *head = NULL;
    aplcl_status st = aplcl_ctx_create_from_queue(&ctx, q);
    if (st == APLCL_SUCCESS)
        st = aplcl_head_create(&head, ctx);
    if (st != APLCL_SUCCESS)
        die(comm, rank, aplcl_status_string(st), st);

    /* the same inputs on every rank: features and CSR targets with global label indices */
    static float x[N * D], dx[N * D], dx_sum[N * D], dx_full[N * D];
    static uint64_t rp[N + 1];
    static uint32_t idx[N * K];
    for (size_t i = 0; i < N * D; ++i)
        x[i] = value(100000u + (unsigned)(i / D), (unsigned)(i % D), 1.0f);
    for (size_t r = 0; r < N; ++r) {
        rp[r] = r * K;
        for (size_t j = 0; j < K; ++j) /* ascending within a row */
            idx[r * K + j] = (uint32_t)((r * 7919 + j * (C / K)) % C);
        for (size_t j = 1; j < K; ++j)
            for (size_t i = j; i > 0 && idx[r * K + i - 1] > idx[r * K + i]; --i) {
                uint32_t t = idx[r * K + i];
                idx[r * K + i] = idx[r * K + i - 1], idx[r * K + i - 1] = t;
            }
    }
    rp[N] = N * K;
    cl_mem d_rp = buffer(cc, sizeof rp, rp), d_idx = buffer(cc, sizeof idx, idx);

    size_t c0 = (size_t)C * rank / size, cw = (size_t)C * (rank + 1) / size - c0;
    float loss = 0;
    st = head_block(head, cc, q, x, d_rp, d_idx, N * K, c0, cw, dx, &loss);
    if (st != APLCL_SUCCESS)
        die(comm, rank, aplcl_status_string(st), st);
    /* dX and the loss are partial over the label blocks: sum them (dW, db are already final) */
    double loss_sum = loss;
    MPI_Allreduce(dx, dx_sum, N * D, MPI_FLOAT, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, &loss_sum, 1, MPI_DOUBLE, MPI_SUM, comm);

    int bad = 0;
    if (rank == 0) { /* the check: the unsharded head over all C labels */
        float loss_full = 0;
        st = head_block(head, cc, q, x, d_rp, d_idx, N * K, 0, C, dx_full, &loss_full);
        if (st != APLCL_SUCCESS)
            die(comm, rank, aplcl_status_string(st), st);
        double worst = 0, scale = 0; /* entries cancel: compare to the largest one */
        for (size_t i = 0; i < N * D; ++i) {
            worst = fmax(worst, fabs(dx_sum[i] - dx_full[i]));
            scale = fmax(scale, fabs(dx_full[i]));
        }
        worst /= scale;
        bad = !(fabs(loss_sum - loss_full) <= 1e-5 * fabs(loss_full)) || !(worst <= 1e-4);
        printf("sharded head over %d rank%s: loss %.7g (unsharded %.7g), dX max diff %.2g of "
               "its largest: %s\n",
               size, size > 1 ? "s" : "", loss_sum, (double)loss_full, worst,
               bad ? "MISMATCH" : "ok");
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, comm);
    clReleaseMemObject(d_rp), clReleaseMemObject(d_idx);
    aplcl_head_destroy(head);
    aplcl_ctx_destroy(ctx);
    clReleaseCommandQueue(q), clReleaseContext(cc);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return bad;
}
