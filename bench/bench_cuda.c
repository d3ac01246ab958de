/* bench_cuda.c: `aplcl bench --cuda N`, the fused loss + gradient on a CUDA device.
 *
 * The same cases, inputs, byte formula, check and result rows as the OpenCL run (bench_case.c),
 * through aplcl_cuda_compute_io on a stream of the tool's own (common/cuda_tool.h), timed with
 * CUDA events recorded on that stream around each call (--timing wall: host clock to the stream's
 * end). The yardstick is a device-to-device copy (cuMemcpyDtoDAsync) timed the same way in the
 * same run: 2 x bytes / time. Not here: the host-pointer, weighted and plain-C rows, which are the
 * OpenCL run's.
 */
#include "bench_run.h"
#include "cases.h"
#include "cuda_tool.h"
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    aplcl_cuda_ctx *ctx;
    cli_cuda cu;
    char id[16]; /* "cuda:N" */
    cli_copy_result copy;
    int wall;
} cuda_dev;

static const char *timing_name(const cuda_dev *d) { return d->wall ? "wall" : "cuda-events"; }

/* One call timed: CUDA events around it on the stream, or the host clock to the stream's end. */
static aplcl_status time_call(cuda_dev *d, const aplcl_params *p, size_t rows, size_t cols,
                              const aplcl_cuda_io *io, double *sec) {
    cli_cuda *cu = &d->cu;
    double t0 = cli_now_s();
    if (!d->wall && cli_cuda_time_start(cu))
        return APLCL_ERR_CUDA;
    aplcl_status st = aplcl_cuda_compute_io(d->ctx, p, rows, cols, io, NULL, 0, cu->stream);
    if (st != APLCL_SUCCESS)
        return st;
    if (d->wall ? cli_cuda_sync(cu) : cli_cuda_time_stop(cu, sec))
        return APLCL_ERR_CUDA;
    if (d->wall)
        *sec = cli_now_s() - t0;
    return APLCL_SUCCESS;
}

/* time_call as bench_time_row calls it. */
typedef struct {
    cuda_dev *d;
    const aplcl_params *p;
    size_t rows, cols;
    const aplcl_cuda_io *io;
} cuda_timed;
static aplcl_status time_once(void *u, double *sec) {
    const cuda_timed *t = u;
    return time_call(t->d, t->p, t->rows, t->cols, t->io, sec);
}

/* The copy yardstick: min(256 MiB, memory / 8) bytes device to device, 2 warm-ups. */
static int copy_bandwidth(cuda_dev *d, int reps, cli_copy_result *out) {
    cli_cuda *cu = &d->cu;
    size_t bytes = (size_t)256 << 20;
    if (cu->total_bytes / 8 < bytes)
        bytes = (size_t)(cu->total_bytes / 8) & ~(size_t)15;
    memset(out, 0, sizeof *out);
    void *a = cli_cuda_alloc(cu, bytes, NULL), *b = cli_cuda_alloc(cu, bytes, NULL);
    double *t = malloc((size_t)reps * sizeof *t);
    int rc = !a || !b || !t || bytes == 0;
    for (int i = -2; !rc && i < reps; ++i) {
        double sec = 0, t0 = cli_now_s();
        rc = (!d->wall && cli_cuda_time_start(cu)) || cli_cuda_copy(cu, b, a, bytes) ||
             (d->wall ? cli_cuda_sync(cu) : cli_cuda_time_stop(cu, &sec));
        if (d->wall)
            sec = cli_now_s() - t0;
        if (i >= 0)
            t[i] = sec;
    }
    if (!rc) {
        cli_stats(t, reps, &out->median_s, &out->min_s, &out->max_s);
        out->bytes = bytes, out->reps = reps;
        out->gb_s = out->median_s > 0 ? 2.0 * (double)bytes / out->median_s * 1e-9 : 0.0;
    }
    cli_cuda_free(cu, a);
    cli_cuda_free(cu, b);
    free(t);
    return rc;
}

/* The reader of bench_check_case over the call's device outputs. */
typedef struct {
    cli_cuda *cu;
    const void *mem[3]; /* indexed by BENCH_OUT_* */
} cuda_outputs;
static int cuda_read(void *u, int which, size_t offset, size_t bytes, void *dst) {
    cuda_outputs *o = (cuda_outputs *)u;
    return cli_cuda_download(o->cu, dst, (const char *)o->mem[which] + offset, bytes);
}

static void run_case(bench_state *s, cuda_dev *d, inputs *in, combo c) {
    cli_cuda *cu = &d->cu;
    aplcl_params p = aplcl_params_default();
    size_t rows = in->rows, cols = in->cols, n = rows * cols, ds = bench_dtype_bytes(c.dtype);
    int acc = s->accumulate;
    cli_bench_row r;
    bench_row_init(&r, NULL, in, c, acc);
    snprintf(r.device, sizeof r.device, "%s", cu->name);
    snprintf(r.device_id, sizeof r.device_id, "%s", d->id);
    r.copy_gb_s = d->copy.gb_s > 0 ? d->copy.gb_s : NAN;
    r.timing = timing_name(d);
    char what[96];
    void *bx = NULL, *bt = NULL, *bi = NULL, *bg = NULL, *bl = NULL, *bc = NULL;
    const void *xs, *td;
    if (bench_case_start(s, in, c, acc, &r, what, sizeof what, &xs, &td))
        goto out;
    bench_progress(s, n, "%s: uploading", what);
    int bad = !(bx = cli_cuda_alloc(cu, n * ds, xs)) ||
              !(bt = cli_cuda_alloc(cu, (size_t)bench_targets_bytes(rows, cols, c.fmt), td)) ||
              (c.fmt == APLCL_TARGET_CSR && in->nnz &&
               !(bi = cli_cuda_alloc(cu, in->nnz * 4, in->indices))) ||
              !(bg = cli_cuda_alloc(cu, n * ds, NULL)) || !(bl = cli_cuda_alloc(cu, 4, NULL)) ||
              !(bc = cli_cuda_alloc(cu, APLCL_COUNT_LEN * 8, NULL));
    if (!bad && acc) { /* ACC_START is exact in every storage type */
        float f = ACC_START;
        uint16_t h = 0;
        uint32_t bits;
        memcpy(&bits, &f, 4);
        if (c.dtype != APLCL_DTYPE_F32)
            cases_to_storage(c.dtype, &f, &h, 1), bits = h;
        bad = cli_cuda_fill(cu, bg, bits, n, (int)ds) != 0;
    }
    if (bad) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: device buffers: %s failed (CUresult %d)\n", what,
                cu->last_call, cu->last);
        ++s->failures;
        goto out;
    }
    aplcl_cuda_io io = aplcl_cuda_io_default();
    io.dtype = c.dtype;
    io.logits = bx;
    io.targets.format = c.fmt;
    io.targets.data = bt;
    io.targets.indices = bi;
    io.targets.nnz = c.fmt == APLCL_TARGET_CSR ? in->nnz : 0;
    io.grad = bg, io.grad_accumulate = acc;
    io.loss = (float *)bl;
    io.counts = (unsigned long long *)bc;

    bench_progress(s, n, "%s: checking against the CPU reference", what);
    aplcl_status st = aplcl_cuda_compute_io(d->ctx, &p, rows, cols, &io, NULL, 0, cu->stream);
    if (st == APLCL_SUCCESS && cli_cuda_sync(cu))
        st = APLCL_ERR_CUDA;
    if (st != APLCL_SUCCESS) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: %s (CUresult %d)\n", what, aplcl_status_string(st),
                st == APLCL_ERR_CUDA && !aplcl_cuda_last_error() ? cu->last
                                                                 : aplcl_cuda_last_error());
        ++s->failures;
        goto out;
    }
    cuda_outputs outs = {cu, {bg, bl, bc}};
    bench_reader rd = {cuda_read, &outs, "CUresult"};
    if (!bench_check_row(s, &rd, &p, in, c, acc, what, &r))
        goto out;

    /* Timing: the loss is written (an engine logs it), the counters are not. */
    io.counts = NULL;
    cuda_timed tc = {d, &p, rows, cols, &io};
    bench_time_row(s, time_once, &tc, n, d->copy.gb_s, what, &r);
out:
    bench_emit(s, &r);
    cli_cuda_sync(cu);
    const void *ms[] = {bx, bt, bi, bg, bl, bc};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; ++i)
        cli_cuda_free(cu, ms[i]);
}

/* bench_each_case's view of this backend. */
static void run_case_cuda(bench_state *s, void *d, inputs *in, combo c) {
    run_case(s, (cuda_dev *)d, in, c);
}

static void print_header(bench_state *s, cuda_dev *d) {
    FILE *h = s->human;
    fprintf(h, "\naplcl bench: device %s: %s (%s; driver %d.%d)\n", d->id, d->cu.name,
            aplcl_cuda_ctx_describe(d->ctx), d->cu.driver_version / 1000,
            d->cu.driver_version % 1000 / 10);
    if (d->copy.gb_s > 0)
        fprintf(h,
                "copy bandwidth: cuMemcpyDtoDAsync over %zu MiB, %s, median of %d: %.3f ms "
                "(min %.3f, max %.3f) -> %.2f GB/s (2 x bytes / time)\n",
                d->copy.bytes >> 20, d->wall ? "host wall clock" : "CUDA events", d->copy.reps,
                d->copy.median_s * 1e3, d->copy.min_s * 1e3, d->copy.max_s * 1e3, d->copy.gb_s);
    else
        fprintf(h, "copy bandwidth: not measured (the copy failed); no fraction shown\n");
    fprintf(h, "timing: %s; median, min and max of ",
            d->wall ? "host wall clock from the call to the end of the stream"
                    : "CUDA events recorded on the stream before and after the call (the host's "
                      "launch time counts where the GPU waits for it)");
    if (s->fixed_reps)
        fprintf(h, "%d repeats", s->fixed_reps);
    else
        fprintf(h, "up to %d repeats (fewer, at least %d, where more would take over %.0f s)",
                s->max_reps, MIN_AUTO_REPS, s->budget_s);
    fprintf(h, " after %d warm-up calls\n", WARMUPS);
    fprintf(h,
            "case: aplcl_params_default() (reference APL), SUM, gradient%s and loss written;"
            " dtype = storage of logits and gradient; aplcl_cuda_compute_io on a stream of its "
            "own, the context's scratch\n",
            s->accumulate ? " accumulated (grad +=)" : "");
    fprintf(h,
            "bytes per call: logits read + targets read + gradient written%s; "
            "f32 4, f16/bf16 2 bytes per element; targets f32 4, u8 1 per element, "
            "bits N*ceil(C/32)*4, csr (N+1)*8 + nnz*4\n",
            s->accumulate ? " + gradient read" : "");
    fprintf(h, "check: as on OpenCL (each gradient element against aplcl_ref_compute, the loss "
               "within 1e-6 relative); a case that fails it is not timed\n");
    bench_table_header(s);
}

int bench_cuda_run(bench_state *s, inputs *loaded) {
    cuda_dev d;
    memset(&d, 0, sizeof d);
    int ordinal = s->cuda_ordinal;
    snprintf(d.id, sizeof d.id, "cuda:%d", ordinal);
    d.wall = s->force_wall;
    aplcl_cuda_options o;
    cli_cuda_options_from_env(&o);
    aplcl_status st = aplcl_cuda_ctx_create(&d.ctx, ordinal, &o);
    if (st != APLCL_SUCCESS) {
        int none = st == APLCL_ERR_CUDA_UNAVAILABLE || st == APLCL_ERR_NO_DEVICE;
        fprintf(stderr, "aplcl bench: CUDA device %d: %s", ordinal,
                st == APLCL_ERR_NO_DEVICE ? "no such device" : aplcl_status_string(st));
        if (st == APLCL_ERR_CUDA)
            fprintf(stderr, " (CUresult %d)", aplcl_cuda_last_error());
        fprintf(stderr, "%s\n", none ? "; nothing to time (exit 3)" : "");
        if (none)
            return CLI_EXIT_UNAVAILABLE;
        ++s->failures;
        return 0;
    }
    if (cli_cuda_open(&d.cu, o.cuda_library, ordinal) != 0) {
        fprintf(stderr,
                "aplcl bench: CUDA device %d: the driver for the tool's buffers: %s "
                "failed (CUresult %d)\n",
                ordinal, d.cu.last_call ? d.cu.last_call : "?", d.cu.last);
        ++s->failures;
        cli_cuda_close(&d.cu);
        aplcl_cuda_ctx_destroy(d.ctx);
        return 0;
    }
    if (copy_bandwidth(&d, s->quick ? 5 : 10, &d.copy))
        d.copy.gb_s = 0;
    print_header(s, &d);
    combo cl[MAX_COMBOS];
    for (int i = 0; i < s->nshapes; ++i)
        s->ncases += (int)bench_case_combos(s, s->shapes[i], cl) * s->nregimes;
    bench_backend b = {&d, d.id, d.cu.total_bytes, run_case_cuda, NULL};
    bench_each_case(s, &b, loaded);
    cli_cuda_close(&d.cu);
    aplcl_cuda_ctx_destroy(d.ctx);
    return 0;
}
