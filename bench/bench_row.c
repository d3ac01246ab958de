/* bench_row.c: the steps of a bench case that do not depend on the backend: the check verdict
 * that decides whether a case is timed, and the timed calls that fill a row's timing columns.
 * The OpenCL case (bench_case.c) and the CUDA case (bench_cuda.c) start here (the case's number,
 * its host inputs), allocate, upload and launch in their own API, then both come back, so a row
 * means the same on either. Not here: the check itself (bench_check.c) and the output (bench.c,
 * bench_out.c). */
#include "bench_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int bench_case_start(bench_state *s, inputs *in, combo c, int acc, cli_bench_row *r, char *what,
                     size_t what_cap, const void **logits, const void **targets) {
    ++s->case_no;
    snprintf(what, what_cap, "[%d/%d] %s %s %s/%s", s->case_no, s->ncases, r->shape, r->regime,
             r->dtype, r->targets);
    if (bench_ensure_storage(in, c.dtype) || bench_ensure_targets(in, c.fmt)) {
        r->checked = "error";
        fprintf(stderr, "aplcl bench: %s: out of host memory\n", what);
        ++s->failures;
        return -1;
    }
    r->bytes = bench_case_bytes(in, c, acc);
    *logits = c.dtype == APLCL_DTYPE_F32 ? (const void *)in->x : (const void *)in->x16;
    *targets = c.fmt == APLCL_TARGET_F32    ? (const void *)in->yf
               : c.fmt == APLCL_TARGET_U8   ? (const void *)in->y
               : c.fmt == APLCL_TARGET_BITS ? (const void *)in->bits
                                            : (const void *)in->row_ptr;
    return 0;
}

int bench_check_row(bench_state *s, const bench_reader *rd, const aplcl_params *p, inputs *in,
                    combo c, int acc, const char *what, cli_bench_row *r) {
    check_result cr;
    bench_check_case(rd, p, in, c, acc, &cr);
    r->err_tol = cr.err_tol;
    r->loss = cr.loss_dev;
    if (!cr.ok) {
        r->checked = "MISMATCH";
        bench_progress_clear(s);
        fprintf(stderr, "aplcl bench: %s: MISMATCH, not timed: %s\n", what, cr.why);
        ++s->failures;
        return 0;
    }
    r->checked = "ok";
    return 1;
}

aplcl_status bench_time_row(bench_state *s, bench_time_fn time_once, void *u, size_t elems,
                            double copy_gb_s, const char *what, cli_bench_row *r) {
    bench_progress(s, elems, "%s: timing", what);
    aplcl_status st = APLCL_SUCCESS;
    double warm = 0.0;
    for (int i = 0; i < WARMUPS && st == APLCL_SUCCESS; ++i)
        st = time_once(u, &warm);
    int reps = bench_timed_reps(s, warm);
    double *times = malloc((size_t)reps * sizeof *times);
    for (int i = 0; st == APLCL_SUCCESS && times && i < reps; ++i)
        st = time_once(u, &times[i]);
    if (!times || st != APLCL_SUCCESS) {
        r->checked = "error";
        fprintf(stderr, "aplcl bench: %s: timing: %s\n", what,
                times ? aplcl_status_string(st) : "out of host memory");
        ++s->failures;
        free(times);
        return times ? st : APLCL_ERR_OUT_OF_HOST_MEMORY;
    }
    double med, mn, mx;
    cli_stats(times, reps, &med, &mn, &mx);
    free(times);
    r->reps = reps;
    r->median_ms = med * 1e3, r->min_ms = mn * 1e3, r->max_ms = mx * 1e3;
    r->gelem_s = (double)elems / med * 1e-9;
    r->gb_s = r->bytes / med * 1e-9;
    r->frac_copy = copy_gb_s > 0 ? r->gb_s / copy_gb_s : NAN;
    return APLCL_SUCCESS;
}
