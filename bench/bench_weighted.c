/* bench_weighted.c: the weighted rows of `aplcl bench`: the case just timed again with weights,
 * so the table shows what weights cost beside the unweighted row of the same run.
 *
 * Two rows per case (f32 storage, dense targets): pos_weight with a per-label weight (2 C floats
 * more to read) and pos_weight with a per-element weight (N x C floats more). Each is checked
 * against aplcl_ref_compute_io's reduced loss, then timed like the device-buffer row. Not
 * the unweighted case (bench_case.c).
 */
#include "bench_run.h"
#include "cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Weights in [0.5, 2): a fixed pattern, the same for every device. */
static void fill(float *w, size_t n, size_t mul) {
    for (size_t i = 0; i < n; ++i)
        w[i] = 0.5f + (float)((i * mul) % 16) * (1.5f / 16.0f);
}

static void time_one(bench_state *s, device_state *d, inputs *in, combo c, aplcl_io io,
                     aplcl_weight_kind kind, int reps, const char *name) {
    size_t rows = in->rows, cols = in->cols, n = rows * cols;
    size_t wn = kind == APLCL_WEIGHT_LABEL ? cols : n;
    cli_bench_row r;
    bench_row_init(&r, d, in, c, 0);
    r.timing = name;
    float *pw = malloc(cols * sizeof *pw), *w = malloc(wn * sizeof *w);
    double *t = malloc((size_t)reps * sizeof *t), ref = NAN;
    cl_int err = CL_SUCCESS;
    cl_mem bpw = NULL, bw = NULL;
    aplcl_params p = aplcl_params_default();
    aplcl_status st = pw && w && t && !bench_ensure_targets(in, APLCL_TARGET_F32)
                          ? APLCL_SUCCESS
                          : APLCL_ERR_OUT_OF_HOST_MEMORY;
    if (st == APLCL_SUCCESS) {
        fill(pw, cols, 7), fill(w, wn, 5);
        cl_context cc = aplcl_ctx_cl_context(d->ctx);
        bpw = clCreateBuffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, cols * 4, pw, &err);
        if (err == CL_SUCCESS)
            bw = clCreateBuffer(cc, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, wn * 4, w, &err);
        st = err == CL_SUCCESS ? APLCL_SUCCESS : APLCL_ERR_OPENCL;
    }
    io.weights.pos_weight = bpw, io.weights.weight = bw, io.weights.kind = kind, io.counts = NULL;
    float loss = NAN;
    if (st == APLCL_SUCCESS) { /* checked: the reduced loss against the weighted reference */
        aplcl_weights hw = {pw, 0, w, 0, kind};
        if ((st = aplcl_compute_io(d->ctx, &p, rows, cols, &io, 0, NULL, NULL)) == APLCL_SUCCESS &&
            clEnqueueReadBuffer(aplcl_ctx_queue(d->ctx), io.loss, CL_TRUE, 0, 4, &loss, 0, NULL,
                                NULL) != CL_SUCCESS)
            st = APLCL_ERR_OPENCL;
        aplcl_ref_io rio = {0};
        rio.logits = in->x, rio.targets = in->yf, rio.weights = hw;
        if (st == APLCL_SUCCESS)
            st = aplcl_ref_compute_io(&p, rows, cols, &rio);
        ref = rio.loss;
    }
    double warm = 0.0;
    for (int i = 0; st == APLCL_SUCCESS && i < WARMUPS; ++i)
        st = cli_bench_time_call(d->ctx, &d->timing, &p, rows, cols, &io, &warm);
    for (int i = 0; st == APLCL_SUCCESS && i < reps; ++i)
        st = cli_bench_time_call(d->ctx, &d->timing, &p, rows, cols, &io, &t[i]);
    r.loss = loss;
    r.checked = st != APLCL_SUCCESS ? "error" : cases_sum_ok(loss, ref, 1.0) ? "ok" : "MISMATCH";
    if (st == APLCL_SUCCESS) {
        double med, mn, mx;
        cli_stats(t, reps, &med, &mn, &mx);
        r.reps = reps;
        r.median_ms = med * 1e3, r.min_ms = mn * 1e3, r.max_ms = mx * 1e3;
        r.bytes = bench_case_bytes(in, c, 0) + 4.0 * (double)(cols + wn);
        r.gelem_s = (double)n / med * 1e-9, r.gb_s = r.bytes / med * 1e-9;
        r.frac_copy = d->copy.gb_s > 0 ? r.gb_s / d->copy.gb_s : NAN;
    } else {
        fprintf(stderr, "aplcl bench: %s case: %s\n", name, aplcl_status_string(st));
    }
    if (strcmp(r.checked, "ok") != 0)
        ++s->failures;
    bench_emit(s, &r);
    const cl_mem ms[] = {bpw, bw};
    cli_release_all(ms, 2);
    free(pw), free(w), free(t);
}

void bench_time_weighted(bench_state *s, device_state *d, inputs *in, combo c, const aplcl_io *io,
                         int reps) {
    time_one(s, d, in, c, *io, APLCL_WEIGHT_LABEL, reps, "weighted+pw+label");
    time_one(s, d, in, c, *io, APLCL_WEIGHT_ELEMENT, reps, "weighted+pw+elem");
}
