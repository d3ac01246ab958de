/* bench_case.c: one device and one case of `aplcl bench`.
 *
 * Opening a device (copy bandwidth, whether marker profiling works, the header describing what
 * is measured), running a case (buffers, the checked first call, warm-up, timed repeats, one
 * result row), and timing the CPU reference on loaded inputs (for bench/peer.py). Not the case
 * matrix (bench_inputs.c) nor the check itself (bench_check.c).
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "bench_run.h"
#include "cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bench_row_init(cli_bench_row *r, const device_state *d, const inputs *in, combo c, int acc) {
    memset(r, 0, sizeof *r);
    snprintf(r->device, sizeof r->device, "%s", d ? aplcl_ctx_device_name(d->ctx) : "");
    snprintf(r->device_id, sizeof r->device_id, "%s", d ? d->id : "cpu");
    snprintf(r->shape, sizeof r->shape, "%zux%zu", in->rows, in->cols);
    r->regime = in->trained ? "trained" : "early";
    r->targets = bench_fmt_names[c.fmt];
    r->dtype = bench_dtype_names[c.dtype];
    r->accumulate = acc;
    r->median_ms = r->min_ms = r->max_ms = r->gelem_s = r->gb_s = NAN;
    r->copy_gb_s = d ? d->copy.gb_s : NAN;
    r->frac_copy = r->err_tol = r->loss = NAN;
    r->bytes = NAN;
    r->timing = d ? cli_timing_name(d->timing) : "wall";
}

static cl_mem make_buffer(cl_context c, cl_mem_flags flags, size_t bytes, const void *host,
                          cl_int *err) {
    if (*err != CL_SUCCESS)
        return NULL;
    return clCreateBuffer(c, flags | (host ? CL_MEM_COPY_HOST_PTR : 0), bytes ? bytes : 4,
                          (void *)host, err);
}

int bench_timed_reps(const bench_state *s, double warm) {
    if (s->fixed_reps)
        return s->fixed_reps;
    int reps = s->max_reps;
    if (warm > 0 && warm * reps > s->budget_s)
        reps = (int)(s->budget_s / warm);
    if (reps < MIN_AUTO_REPS)
        reps = MIN_AUTO_REPS;
    return reps > s->max_reps ? s->max_reps : reps;
}

/* The same case through aplcl_host_compute (zero-copy on unified-memory devices), host wall
 * clock, into one more row beside the device-buffer one (timing "host-ptr"). */
static void time_host(bench_state *s, device_state *d, inputs *in, combo c, int reps) {
    cli_bench_row r;
    bench_row_init(&r, d, in, c, 0);
    size_t n = in->rows * in->cols;
    aplcl_params p = aplcl_params_default();
    float *g = malloc(n * sizeof *g);
    double *t = malloc((size_t)(reps + WARMUPS) * sizeof *t), loss = 0.0;
    aplcl_status st = g && t ? APLCL_SUCCESS : APLCL_ERR_OUT_OF_HOST_MEMORY;
    for (int i = 0; st == APLCL_SUCCESS && i < reps + WARMUPS; ++i) {
        double t0 = cli_now_s();
        aplcl_host_io io = {0};
        io.logits = in->x;
        io.target_format = c.fmt == APLCL_TARGET_U8 ? APLCL_TARGET_U8 : APLCL_TARGET_F32;
        io.targets = c.fmt == APLCL_TARGET_U8 ? (const void *)in->y : in->yf;
        io.grad = g;
        st = aplcl_host_compute_io(d->ctx, &p, in->rows, in->cols, &io);
        loss = io.loss;
        t[i] = cli_now_s() - t0;
    }
    r.checked = st == APLCL_SUCCESS ? "ok" : "error";
    if (st == APLCL_SUCCESS) {
        double med, mn, mx;
        cli_stats(t + WARMUPS, reps, &med, &mn, &mx);
        r.reps = reps, r.loss = loss, r.timing = "host-ptr";
        r.median_ms = med * 1e3, r.min_ms = mn * 1e3, r.max_ms = mx * 1e3;
        r.bytes = bench_case_bytes(in, c, 0), r.gelem_s = (double)n / med * 1e-9;
        r.gb_s = r.bytes / med * 1e-9, r.frac_copy = r.gb_s / d->copy.gb_s;
    } else {
        fprintf(stderr, "aplcl bench: host-pointer case: %s\n", aplcl_status_string(st));
        ++s->failures;
    }
    bench_emit(s, &r);
    free(g), free(t);
}

/* cli_bench_time_call as bench_time_row calls it. */
typedef struct {
    aplcl_ctx *ctx;
    device_state *d;
    const aplcl_params *p;
    size_t rows, cols;
    const aplcl_io *io;
} cl_timed;
static aplcl_status time_once(void *u, double *sec) {
    const cl_timed *t = u;
    return cli_bench_time_call(t->ctx, &t->d->timing, t->p, t->rows, t->cols, t->io, sec);
}

void bench_run_case(bench_state *s, device_state *d, inputs *in, combo c) {
    aplcl_ctx *ctx = d->ctx;
    cl_context cc = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    aplcl_params p = aplcl_params_default();
    size_t rows = in->rows, cols = in->cols, n = rows * cols, ds = bench_dtype_bytes(c.dtype);
    int acc = s->accumulate;
    cli_bench_row r;
    bench_row_init(&r, d, in, c, acc);
    char what[96];
    cl_mem bx = NULL, bt = NULL, bi = NULL, bg = NULL, bl = NULL, bc = NULL;
    const void *xs, *td;
    if (bench_case_start(s, in, c, acc, &r, what, sizeof what, &xs, &td))
        goto out;
    size_t tbytes = (size_t)bench_targets_bytes(rows, cols, c.fmt);
    aplcl_io io;
    memset(&io, 0, sizeof io); /* what aplcl_io_default() gives */
    io.dtype = c.dtype;
    io.targets.format = c.fmt;
    io.grad_accumulate = acc;
    if (c.fmt == APLCL_TARGET_CSR)
        io.targets.nnz = in->nnz;
    bench_progress(s, n, "%s: uploading", what);
    cl_int err = CL_SUCCESS;
    bx = make_buffer(cc, CL_MEM_READ_ONLY, n * ds, xs, &err);
    bt = make_buffer(cc, CL_MEM_READ_ONLY, tbytes, td, &err);
    if (c.fmt == APLCL_TARGET_CSR && in->nnz)
        bi = make_buffer(cc, CL_MEM_READ_ONLY, in->nnz * 4, in->indices, &err);
    bg = make_buffer(cc, CL_MEM_READ_WRITE, n * ds, NULL, &err);
    bl = make_buffer(cc, CL_MEM_READ_WRITE, sizeof(cl_float), NULL, &err);
    bc = make_buffer(cc, CL_MEM_READ_WRITE, APLCL_COUNT_LEN * sizeof(cl_ulong), NULL, &err);
    if (err == CL_SUCCESS && acc) {
        float f = ACC_START;
        float fr = f; /* ACC_START is exact in every storage type */
        uint16_t h = 0;
        if (c.dtype != APLCL_DTYPE_F32)
            cases_to_storage(c.dtype, &fr, &h, 1);
        err = clEnqueueFillBuffer(q, bg, c.dtype == APLCL_DTYPE_F32 ? (void *)&f : (void *)&h, ds,
                                  0, n * ds, 0, NULL, NULL);
    }
    if (err != CL_SUCCESS) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: creating buffers: OpenCL error %d\n", what, (int)err);
        ++s->failures;
        goto out;
    }
    io.logits = bx;
    io.targets.data = bt;
    io.targets.indices = bi;
    io.grad = bg;
    io.loss = bl;
    io.counts = bc;

    bench_progress(s, n, "%s: checking against the CPU reference", what);
    aplcl_status st = aplcl_compute_io(ctx, &p, rows, cols, &io, 0, NULL, NULL);
    if (st == APLCL_SUCCESS && clFinish(q) != CL_SUCCESS)
        st = APLCL_ERR_OPENCL;
    if (st != APLCL_SUCCESS) {
        r.checked = "error";
        fprintf(stderr, "aplcl bench: %s: %s (OpenCL error %d)\n", what, aplcl_status_string(st),
                (int)aplcl_last_cl_error());
        if (st == APLCL_ERR_KERNEL_BUILD)
            fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++s->failures;
        goto out;
    }
    bench_cl_outputs outs = {ctx, {bg, bl, bc}};
    bench_reader rd = bench_cl_reader(&outs);
    if (!bench_check_row(s, &rd, &p, in, c, acc, what, &r))
        goto out;

    /* Timing: the loss is written (an engine logs it), the counters are not. */
    io.counts = NULL;
    cl_timed tc = {ctx, d, &p, rows, cols, &io};
    if (bench_time_row(s, time_once, &tc, n, d->copy.gb_s, what, &r) == APLCL_SUCCESS)
        r.timing = cli_timing_name(d->timing);
out:
    bench_emit(s, &r);
    if (r.reps && !acc && c.dtype == APLCL_DTYPE_F32 && c.fmt <= APLCL_TARGET_U8) {
        time_host(s, d, in, c, r.reps);
        bench_time_weighted(s, d, in, c, &io, r.reps);
    }
    const cl_mem ms[] = {bx, bt, bi, bg, bl, bc};
    cli_release_all(ms, sizeof ms / sizeof ms[0]);
}

static void print_device_header(bench_state *s, device_state *d) {
    FILE *h = s->human;
    fprintf(h, "\naplcl bench: device %s: %s\n", d->id, aplcl_ctx_device_name(d->ctx));
    if (d->copy.gb_s > 0)
        fprintf(h,
                "copy bandwidth: float4 copy kernel over %zu MiB, kernel profiling events, "
                "median of %d: %.3f ms (min %.3f, max %.3f) -> %.2f GB/s (2 x bytes / time)\n",
                d->copy.bytes >> 20, d->copy.reps, d->copy.median_s * 1e3, d->copy.min_s * 1e3,
                d->copy.max_s * 1e3, d->copy.gb_s);
    else
        fprintf(h, "copy bandwidth: not measured (the copy kernel failed); no fraction shown\n");
    fprintf(h, "timing: %s; median, min and max of ", cli_timing_description(d->timing));
    if (s->fixed_reps)
        fprintf(h, "%d repeats", s->fixed_reps);
    else
        fprintf(h, "up to %d repeats (fewer, at least %d, where more would take over %.0f s)",
                s->max_reps, MIN_AUTO_REPS, s->budget_s);
    fprintf(h, " after %d warm-up calls\n", WARMUPS);
    fprintf(h,
            "case: aplcl_params_default() (reference APL), SUM, gradient%s and loss written;"
            " dtype = storage of logits and gradient\n",
            s->accumulate ? " accumulated (grad +=)" : "");
    fprintf(h,
            "bytes per call: logits read + targets read + gradient written%s; "
            "f32 4, f16/bf16 2 bytes per element; targets f32 4, u8 1 per element, "
            "bits N*ceil(C/32)*4, csr (N+1)*8 + nnz*4\n",
            s->accumulate ? " + gradient read" : "");
    fprintf(h, "check: each gradient element against aplcl_ref_compute (16-bit storage: on the "
               "rounded logits), |dev-ref| <= max(rtol |ref|, atol), rtol 1e-5 (+2^-11 f16, "
               "+2^-8 bf16), atol 1e-7 (+2^-24 f16); loss within 1e-6 relative\n");
    bench_table_header(s);
}

/* Runs a tiny case once to learn whether marker profiling works (the header says which). */
static void probe_timing(device_state *d) {
    cl_context cc = aplcl_ctx_cl_context(d->ctx);
    float x[64] = {0};
    uint8_t y[64] = {0};
    cl_int err = CL_SUCCESS;
    cl_mem bx = make_buffer(cc, CL_MEM_READ_ONLY, sizeof x, x, &err);
    cl_mem by = make_buffer(cc, CL_MEM_READ_ONLY, sizeof y, y, &err);
    cl_mem bg = make_buffer(cc, CL_MEM_READ_WRITE, sizeof x, NULL, &err);
    if (err == CL_SUCCESS) {
        aplcl_io io;
        memset(&io, 0, sizeof io);
        io.logits = bx, io.targets.format = APLCL_TARGET_U8, io.targets.data = by, io.grad = bg;
        aplcl_params p = aplcl_params_default();
        double t;
        cli_bench_time_call(d->ctx, &d->timing, &p, 1, 64, &io, &t);
    }
    cli_release_all((const cl_mem[]){bx, by, bg}, 3);
}

int bench_open_device(bench_state *s, const char *spec, device_state *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->id, sizeof d->id, "%s", spec);
    aplcl_status st = cli_ctx_create(&d->ctx, spec);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl bench: device '%s': %s\n", spec, aplcl_status_string(st));
        if (st == APLCL_ERR_KERNEL_BUILD)
            fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++s->failures;
        return 1;
    }
    cl_ulong max_alloc = 0;
    if (clGetDeviceInfo(aplcl_ctx_device(d->ctx), CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc,
                        &max_alloc, NULL) == CL_SUCCESS)
        d->max_alloc = max_alloc;
    if (cli_bench_copy_bandwidth(d->ctx, s->quick ? 5 : 10, &d->copy))
        d->copy.gb_s = 0;
    d->timing = s->force_wall ? CLI_TIMING_WALL : CLI_TIMING_EVENTS;
    probe_timing(d);
    print_device_header(s, d);
    return 0;
}

/* The CPU reference on the loaded inputs, wall clock (for bench/peer.py). */
void bench_time_reference(bench_state *s, inputs *in) {
    size_t n = in->rows * in->cols;
    cli_bench_row r;
    combo c = {APLCL_DTYPE_F32, APLCL_TARGET_F32};
    bench_row_init(&r, NULL, in, c, 0);
    snprintf(r.device, sizeof r.device, "CPU reference (aplcl_ref_compute, double, 1 thread)");
    r.checked = "reference";
    r.bytes = (double)n * (4 + 4 + 8); /* logits, float targets read; double gradient written */
    double *g = malloc(n * sizeof *g);
    int reps = s->fixed_reps ? s->fixed_reps : s->max_reps;
    double *t = malloc((size_t)reps * sizeof *t);
    aplcl_params p = aplcl_params_default();
    if (!g || !t || bench_ensure_targets(in, APLCL_TARGET_F32)) {
        r.checked = "error";
        ++s->failures;
        goto out;
    }
    fprintf(s->human, "\naplcl bench: CPU reference (aplcl_ref_compute: double precision, one "
                      "thread, f32 inputs, double gradient), host wall clock, 1 warm-up call\n");
    bench_table_header(s);
    double loss = 0.0, t0 = cli_now_s();
    aplcl_ref_compute(&p, in->rows, in->cols, in->x, in->yf, g, NULL, &loss);
    double warm = cli_now_s() - t0;
    reps = bench_timed_reps(s, warm);
    for (int i = 0; i < reps; ++i) {
        t0 = cli_now_s();
        aplcl_ref_compute(&p, in->rows, in->cols, in->x, in->yf, g, NULL, &loss);
        t[i] = cli_now_s() - t0;
    }
    double med, mn, mx;
    cli_stats(t, reps, &med, &mn, &mx);
    r.reps = reps;
    r.loss = loss;
    r.median_ms = med * 1e3, r.min_ms = mn * 1e3, r.max_ms = mx * 1e3;
    r.gelem_s = (double)n / med * 1e-9;
    r.gb_s = r.bytes / med * 1e-9;
out:
    bench_emit(s, &r);
    free(g), free(t);
}
