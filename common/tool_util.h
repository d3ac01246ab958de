/* tool_util.h: helpers shared by aplcl's programs (the `aplcl` tool, its benchmarks, the trainer).
 *
 * Deterministic random inputs, device lists, CSV fields, output files, timing statistics and 0/1
 * byte targets packed by the library's packers (option parsing is in options.h). Users of the
 * public API only; nothing here is part of the library, and nothing here prints except
 * cli_device_specs (which says why it failed, for the tool's user).
 */
#ifndef APLCL_TOOL_UTIL_H
#define APLCL_TOOL_UTIL_H

#include "aplcl.h"
#include "aplcl_cuda.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Deterministic inputs: splitmix64 stream, normal draws by Box-Muller (one draw per call, the
 * second dropped). The one generator of the tools and the tests. */
typedef struct {
    uint64_t s;
} cli_rng;
cli_rng cli_rng_seed(uint64_t seed);
uint64_t cli_rng_next(cli_rng *r);
double cli_rng_uniform(cli_rng *r);                     /* [0, 1) */
double cli_rng_range(cli_rng *r, double lo, double hi); /* [lo, hi) */
double cli_rng_normal(cli_rng *r, double mean, double sd);
/* Fisher-Yates over a[0..n): `aplcl train`'s batch order, one and parallel alike. */
void cli_rng_shuffle_u32(cli_rng *r, uint32_t *a, size_t n);

/* The devices a subcommand runs on: the one named (any string aplcl_ctx_create takes), else
 * every device as "P:D". Returns *count specs (calloc'd, caller frees), or NULL after printing
 * why, prefixed by `who`. */
typedef char cli_device_spec[256];
cli_device_spec *cli_device_specs(const char *named, const char *who, size_t *count);

/* The one place aplcl's programs (the tool, its benchmarks, the trainer, the tests) turn their
 * own environment variables into context options; the library itself reads only APLCL_DEVICE
 * and APLCL_CACHE_DIR. Each variable, when set and not empty, must be exactly one decimal number
 * (no sign, space or suffix) in its range:
 *   APLCL_VECTOR_WIDTH  vector_width: 1, 2, 4, 8, 16
 *   APLCL_LOCAL_SIZE    local_size: a power of two, 1..65536
 *   APLCL_CONTIGUOUS    layout: 0 strided, 1 contiguous
 *   APLCL_QUEUE         sparse_queue: 0 off, 1 the default, 2 always
 * and APLCL_KERNEL_DIR (any non-empty string) sets kernel_dir. Fills *o from the defaults; returns
 * 0, or -1 with *bad (when not NULL) naming the first variable with an invalid value. */
int cli_ctx_options_from_env(aplcl_ctx_options *o, const char **bad);
/* aplcl_ctx_create_ex on `device` (NULL: the library's default) with those options;
 * APLCL_ERR_INVALID_OPTION when a variable is invalid (cli_ctx_options_from_env). */
aplcl_status cli_ctx_create(aplcl_ctx **ctx, const char *device);

/* The CUDA counterpart (the library reads neither variable): APLCL_CUDA_LIBRARY sets
 * cuda_library (the driver library to dlopen; the tests point it at a missing file or at
 * tests/fake_libcuda.c) and APLCL_NVRTC_LIBRARY sets nvrtc_library, each when set and not
 * empty. Fills *o from aplcl_cuda_options_default(); the strings stay the environment's. */
void cli_cuda_options_from_env(aplcl_cuda_options *o);
/* aplcl_cuda_ctx_create on CUDA device `ordinal` with those options. */
aplcl_status cli_cuda_ctx_create(aplcl_cuda_ctx **ctx, int ordinal);

/* Releases every non-NULL buffer of ms[0..n). */
void cli_release_all(const cl_mem *ms, size_t n);

/* One CSV field, quoted as RFC 4180 quotes: written as is, or in double quotes (inner quotes
 * doubled) when it holds a comma, a quote, CR or LF. The tools end CSV lines with LF, not RFC
 * 4180's CRLF (CSV readers take both; tests/check_csv.cmake holds them to LF). */
void cli_csv_field(FILE *f, const char *s);

/* JSON: a string with quotes, backslashes and control characters escaped; a number with %.9g
 * (NaN and infinities, which JSON lacks, as null). */
void cli_json_str(FILE *f, const char *s);
void cli_json_num(FILE *f, double v);

/* Finishes an output file: flushes it, checks for a write error (disk full, /dev/full, closed
 * pipe) and closes it (stdout is flushed and checked, not closed). Returns 0, or -1 after printing
 * "who: cannot write PATH: reason". NULL f: 0. */
int cli_close_output(FILE *f, const char *path, const char *who);

/* Monotonic wall-clock seconds. */
double cli_now_s(void);
/* Sorts t[0..n) and returns its median, min and max. */
void cli_stats(double *t, int n, double *median, double *min, double *max);

/* Dense 0/1 byte targets to BITS (rows * APLCL_BITS_WORDS(cols) words) or CSR (row_ptr: rows + 1
 * entries; indices: nnz = cli_count_positives() entries) through the library's aplcl_pack_bits /
 * aplcl_pack_csr (a float copy of a block of rows at a time), so that the programs pack as the
 * library does. A byte other than 0 or 1 is refused (the library's INVALID_TARGET). Returns 0 on
 * success, 1 on a refused target or no memory. */
size_t cli_count_positives(const uint8_t *y, size_t n);
int cli_pack_u8(const uint8_t *y, size_t rows, size_t cols, aplcl_target_format fmt, uint32_t *bits,
                uint64_t *row_ptr, uint32_t *indices, size_t nnz);

#endif /* APLCL_TOOL_UTIL_H */
