/* plainc.h: the plain-C yardstick of `aplcl bench` (bench/plainc.c).
 *
 * The fused forward + backward of the reference APL (aplcl_params_default(), SUM, u8 targets,
 * float32 math) as a branch-free C loop on the host's threads, timed on the same inputs as the
 * kernel so that "kernel / plain C" means the same on any CPU. Not part of the library, not a
 * second reference: it is checked against aplcl_ref_compute like every timed case.
 */
#ifndef APLCL_BENCH_PLAINC_H
#define APLCL_BENCH_PLAINC_H

#include "bench.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    int threads, reps;
    double median_s, min_s, max_s;
    double loss;    /* the summed loss of the last call */
    double err_tol; /* worst |plain - ref| / tolerance over the checked rows (<= 1 passes) */
    int ok;         /* the check passed */
} cli_plainc_result;

/* Checks, then times `reps` calls (after 2 warm-ups) of the loop over x (rows x cols logits)
 * and y (0/1 targets). Returns 0 when it ran (the check's verdict is in out->ok), 1 when out of
 * memory or threads. */
int cli_plainc_run(const float *x, const uint8_t *y, size_t rows, size_t cols, int reps,
                   cli_plainc_result *out);

/* The same as a result row of `aplcl bench` (dtype "plainC", targets "u8", device_id "cpu");
 * copy_gb_s: the device's copy bandwidth, for frac_copy. checked: "ok", "MISMATCH" or "error". */
void cli_plainc_row(const float *x, const uint8_t *y, size_t rows, size_t cols, int trained,
                    int reps, double copy_gb_s, cli_bench_row *r);
/* After a plain-C row (the last of rows[0, n)): the kernel's f32/u8 median of the same shape and
 * regime as a fraction of it, one line to f. */
void cli_plainc_ratio(FILE *f, const cli_bench_row *rows, size_t n);

#endif /* APLCL_BENCH_PLAINC_H */
