/* bench_run.h: the state of one `aplcl bench` run (not `bench head`), shared by the files that
 * carry it out: bench.c (the main loop and the table), bench_opts.c (options), bench_inputs.c (the
 * case matrix and its inputs), bench_case.c (running and timing a case on a device) and
 * bench_check.c (the check against the CPU reference). Not part of the tool's other commands;
 * the measuring pieces they build on (timed call, copy bandwidth, sinks) are in bench.h.
 */
#ifndef APLCL_BENCH_RUN_H
#define APLCL_BENCH_RUN_H

#include "bench.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MAX_SHAPES 32
#define WARMUPS 2
#define MIN_AUTO_REPS 5
/* Shapes above this many elements get the short list of storage/target combinations. */
#define BIG_ELEMS ((size_t)8 << 20)
/* With --accumulate the gradient buffer starts at this value (exact in f32, f16 and bf16). */
#define ACC_START 0.25f
/* The most storage x target combinations of one shape (3 dtypes x 4 formats). */
#define MAX_COMBOS 12

/* Names of aplcl_dtype and aplcl_target_format values, indexed by the value. */
extern const char *const bench_dtype_names[3];
extern const char *const bench_fmt_names[4];

typedef struct {
    aplcl_dtype dtype;
    aplcl_target_format fmt;
} combo;

typedef struct {
    size_t rows, cols;
} shape;

typedef struct {
    /* options */
    const char *device, *csv, *json, *chart, *save_dir, *load_dir;
    int cuda_ordinal; /* --cuda N: >= 0, else -1 (OpenCL devices) */
    int quick, accumulate, fixed_reps, max_reps, force_wall, shapes_given;
    double budget_s; /* auto reps: stop adding repeats past this much timing per case */
    shape shapes[MAX_SHAPES];
    int nshapes;
    int regimes[2], nregimes;
    unsigned dtype_mask, fmt_mask; /* 0: the default combinations per shape */
    /* state */
    FILE *human, *csvf, *jsonf;
    int tty;
    cli_bench_row *rows;
    size_t nrows, caprows;
    int failures, ncases, case_no;
} bench_state;

/* One shape and regime's inputs, with the derived forms built on first use. */
typedef struct {
    size_t rows, cols;
    int trained;
    uint64_t seed;
    float *x;
    uint8_t *y;
    float *yf;
    uint32_t *bits;
    uint64_t *row_ptr;
    uint32_t *indices;
    size_t nnz;
    int csr_ready;
    uint16_t *x16;
    aplcl_dtype x16_dtype;
} inputs;

/* One opened device. */
typedef struct {
    aplcl_ctx *ctx;
    char id[16];
    cli_copy_result copy;
    int timing;
    uint64_t max_alloc; /* CL_DEVICE_MAX_MEM_ALLOC_SIZE; 0: unknown */
} device_state;

/* bench_opts.c: fills the options of *s. Returns -1 to go on, else the exit status (0 after
 * --help, which printed the usage). */
int bench_parse_args(bench_state *s, int argc, char **argv);

/* bench.c: progress lines on stderr (only the slow cases in a log), and the result table. */
void bench_progress(bench_state *s, size_t elems, const char *fmt, ...);
void bench_progress_clear(bench_state *s);
void bench_emit(bench_state *s, const cli_bench_row *r);
void bench_table_header(bench_state *s);

/* bench_inputs.c: the case matrix of a shape (at most MAX_COMBOS), its inputs and their derived
 * forms (the ensure_* functions return nonzero when out of host memory). */
size_t bench_case_combos(const bench_state *s, shape sh, combo *out);
int bench_make_inputs(inputs *in, shape sh, int trained);
void bench_inputs_free(inputs *in);
int bench_ensure_targets(inputs *in, aplcl_target_format fmt);
int bench_ensure_storage(inputs *in, aplcl_dtype d);
size_t bench_dtype_bytes(aplcl_dtype d);
float bench_from_storage(aplcl_dtype d, uint16_t h);
double bench_case_bytes(const inputs *in, combo c, int acc);
/* Bytes of the targets buffer in format fmt (CSR: row_ptr, the indices apart). */
uint64_t bench_targets_bytes(size_t rows, size_t cols, aplcl_target_format fmt);
/* Whether the cases cl[0..nc) of a shape can run, decided before anything is allocated: rows x
 * cols and every buffer size must not overflow, each case's largest device buffer must be at
 * most max_alloc bytes (CL_DEVICE_MAX_MEM_ALLOC_SIZE; 0: no device limit), and the host inputs
 * with their derived forms must fit in physical memory. Returns 0 when they fit, else 1 with
 * the reason in why (a clause to follow the shape's name). */
int bench_shape_fits(const combo *cl, size_t nc, shape sh, uint64_t max_alloc, char *why,
                     size_t cap);
/* One backend's device (OpenCL: bench.c, CUDA: bench_cuda.c) as bench_each_case drives it:
 * run() times one case; after_regime (may be NULL) runs once after each shape and regime's
 * cases (the OpenCL backend's plain-C row). */
typedef struct {
    void *dev;
    const char *id;     /* the device's name in messages */
    uint64_t max_alloc; /* its largest buffer in bytes (0: no limit) */
    void (*run)(bench_state *s, void *dev, inputs *in, combo c);
    void (*after_regime)(bench_state *s, void *dev, const inputs *in);
} bench_backend;
/* Every shape, regime and case of the run on one device: a shape that cannot fit is refused
 * before anything is allocated (a failure, its cases counted as done); inputs are generated per
 * shape and regime unless loaded (--load). The one loop both backends share. */
void bench_each_case(bench_state *s, const bench_backend *b, inputs *loaded);

/* bench_check.c: the first call's results (gradient, loss, counts) against aplcl_ref_compute,
 * read back through a reader, so that OpenCL buffers (bench_case.c) and CUDA device memory
 * (bench_cuda.c) are checked by one rule. read() copies `bytes` bytes from byte `offset` of one
 * output into dst and returns 0, or an error code of `api` ("OpenCL error", "CUresult"). */
enum { BENCH_OUT_GRAD, BENCH_OUT_LOSS, BENCH_OUT_COUNTS };
typedef struct {
    int (*read)(void *u, int which, size_t offset, size_t bytes, void *dst);
    void *u;
    const char *api;
} bench_reader;
typedef struct {
    int ok;
    double err_tol, loss_dev, loss_ref;
    char why[160];
} check_result;
void bench_check_case(const bench_reader *rd, const aplcl_params *p, inputs *in, combo c, int acc,
                      check_result *res);
/* The reader of the OpenCL buffers grad, loss, counts on ctx's queue (bench_check.c). */
typedef struct {
    aplcl_ctx *ctx;
    cl_mem mem[3]; /* indexed by BENCH_OUT_* */
} bench_cl_outputs;
bench_reader bench_cl_reader(bench_cl_outputs *o);

/* bench_row.c: a case's start: counts it, names it in what ("[k/n] shape regime dtype/targets"),
 * makes its host inputs in c's storage type and target format and sets r->bytes; the host
 * logits and targets buffer (CSR: row_ptr) in *logits, *targets. 0, or -1 out of host memory
 * (said, counted, r->checked "error"). The row r is bench_row_init's. */
int bench_case_start(bench_state *s, inputs *in, combo c, int acc, cli_bench_row *r, char *what,
                     size_t what_cap, const void **logits, const void **targets);
/* bench_row.c: a case's check verdict: its results against the reference (bench_check_case)
 * fill r's check columns; 1 when they agree (r->checked "ok"), else 0 with the mismatch said and
 * counted as a failure (the case is not timed). */
int bench_check_row(bench_state *s, const bench_reader *rd, const aplcl_params *p, inputs *in,
                    combo c, int acc, const char *what, cli_bench_row *r);
/* One timed call of a case: its seconds in *sec; APLCL_SUCCESS or the failing status. */
typedef aplcl_status (*bench_time_fn)(void *u, double *sec);
/* The timed part of a case: WARMUPS calls, then bench_timed_reps of them, filling r's timing
 * columns (elems: N x C; copy_gb_s: the same run's copy bandwidth, 0 unknown; r->bytes set).
 * Returns APLCL_SUCCESS, or the status that stopped it (said, counted, r->checked "error"). */
aplcl_status bench_time_row(bench_state *s, bench_time_fn time_once, void *u, size_t elems,
                            double copy_gb_s, const char *what, cli_bench_row *r);

/* Repeats to time: --reps, else up to max_reps, fewer (at least MIN_AUTO_REPS) where max_reps
 * calls of `warm` seconds each would take over the budget (bench_case.c). */
int bench_timed_reps(const bench_state *s, double warm);

/* bench_cuda.c: the run on CUDA device s->cuda_ordinal (`--cuda N`): the copy yardstick, then
 * every shape, regime and case as on OpenCL, rows through bench_emit. Returns 0, or
 * CLI_EXIT_UNAVAILABLE after a message when there is no CUDA driver or no such device; case
 * failures count in s->failures. */
int bench_cuda_run(bench_state *s, inputs *loaded);

/* bench_case.c: a device opened (copy bandwidth, timing probe, header printed; 0 on success),
 * one case run (checked, then timed; a row emitted either way), the CPU reference timed. */
int bench_open_device(bench_state *s, const char *spec, device_state *d);
void bench_run_case(bench_state *s, device_state *d, inputs *in, combo c);
void bench_time_reference(bench_state *s, inputs *in);
/* A result row for a case with its fields blank (NaN) (bench_case.c). */
void bench_row_init(cli_bench_row *r, const device_state *d, const inputs *in, combo c, int acc);
/* bench_weighted.c: the case just timed (io as timed, f32 storage, dense targets) again with
 * pos_weight and a per-label, then a per-element weight: two rows, checked and timed. */
void bench_time_weighted(bench_state *s, device_state *d, inputs *in, combo c, const aplcl_io *io,
                         int reps);
/* The suffix of a row's case name: "+acc", "+host", "+pw+label", ... or "" (bench.c). */
const char *bench_row_suffix(const cli_bench_row *r);

#endif /* APLCL_BENCH_RUN_H */
