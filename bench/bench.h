/* bench.h: internals of `aplcl bench` (the bench/ sources), shared between its files.
 *
 * Input generation and packing for the bench regimes, the timed call, the copy-kernel
 * bandwidth, and the CSV/JSON/SVG sinks. The entry point cli_bench() is declared in cli/cli.h.
 */
#ifndef APLCL_BENCH_H
#define APLCL_BENCH_H

#include "tool_util.h"

#include <stdint.h>
#include <stdio.h>

/* The bench regimes: "early" logits N(0,2); "trained" negatives N(-6,2), positives N(3,2); a
 * label is positive with probability cli_bench_pos_rate(cols) = clamp(3/cols, 0.01, 0.5). */
double cli_bench_pos_rate(size_t cols);
uint64_t cli_bench_seed(size_t rows, size_t cols, int trained);
void cli_bench_make_inputs(size_t rows, size_t cols, int trained, uint64_t seed, float *x,
                           uint8_t *y);
/* DIR/logits.f32 (float32 LE), DIR/targets.u8 (0/1), DIR/meta.txt ("key value" lines: rows,
 * cols, regime, seed). Load allocates *x and *y (free them). Return 0 on success. */
int cli_bench_save_inputs(const char *dir, size_t rows, size_t cols, int trained, uint64_t seed,
                          const float *x, const uint8_t *y);
int cli_bench_load_inputs(const char *dir, size_t *rows, size_t *cols, int *trained, uint64_t *seed,
                          float **x, uint8_t **y);

enum { CLI_TIMING_EVENTS = 0, CLI_TIMING_WALL = 1 };
const char *cli_timing_name(int mode);
const char *cli_timing_description(int mode);
/* One timed call; *mode may fall from EVENTS to WALL when markers cannot be profiled. */
aplcl_status cli_bench_time_call(aplcl_ctx *ctx, int *mode, const aplcl_params *p, size_t rows,
                                 size_t cols, const aplcl_io *io, double *sec);

typedef struct {
    size_t bytes; /* per buffer; 2 * bytes move per copy */
    int reps;
    double median_s, min_s, max_s, gb_s;
} cli_copy_result;
/* float4 copy of min(256 MiB, max alloc) on the context's device, kernel event time. */
int cli_bench_copy_bandwidth(aplcl_ctx *ctx, int reps, cli_copy_result *out);

/* One result row of `aplcl bench` (a timed case, a failed one, or the CPU reference). */
typedef struct {
    char device[192];   /* aplcl_ctx_device_name, or the CPU reference's label */
    char device_id[16]; /* "P:D", or "cpu" */
    char shape[40];     /* "RxC" */
    const char *regime, *targets, *dtype;
    int accumulate;
    double median_ms, min_ms, max_ms, gelem_s, gb_s, copy_gb_s, frac_copy; /* NaN: none */
    const char *checked; /* "ok", "MISMATCH", "error", "reference" */
    double err_tol;      /* worst |dev-ref| / tolerance of the check (<= 1 passes); NaN: none */
    int reps;
    double bytes; /* bytes moved per call by the written-down formula */
    double loss;  /* the reduced (sum) loss of the checked call; NaN: none */
    const char *timing;
} cli_bench_row;

/* Output sinks: CSV and JSON lines (one object per line), and the gnuplot chart. */
void cli_bench_csv_header(FILE *f);
void cli_bench_csv_row(FILE *f, const cli_bench_row *r);
void cli_bench_json_row(FILE *f, const cli_bench_row *r);
int cli_bench_chart(const char *svg, const cli_bench_row *rows, size_t n);

#endif /* APLCL_BENCH_H */
