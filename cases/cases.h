/* cases.h: the cases every checker of aplcl shares: the tests, `aplcl check` and `aplcl bench`.
 *
 * Named parameter sets (the library's presets and the custom sets that reach what presets cannot),
 * input generators, host-side target packing and storage rounding, and THE tolerance rule by which
 * a device result is compared with the CPU reference, one per storage type. The static library
 * aplcl_cases (cases/); not part of libaplcl. Host-side only: nothing here touches OpenCL,
 * prints, or exits.
 */
#ifndef APLCL_CASES_H
#define APLCL_CASES_H

#include "aplcl.h"
#include "tool_util.h"

#include <stddef.h>
#include <stdint.h>

/* ---- parameter sets ---- */

typedef struct {
    const char *name;
    aplcl_params p;
} cases_param_set;

typedef enum {
    CASES_APL_DEFAULT,  /* aplcl_params_default(), "apl-default" */
    CASES_BCE,          /* aplcl_params_bce() */
    CASES_FOCAL_2,      /* aplcl_params_focal(2) */
    CASES_ASL_4_1_005,  /* aplcl_params_asl(4, 1, 0.05) */
    CASES_POLY1_1,      /* aplcl_params_poly1(1) */
    CASES_CUSTOM_3A2B,  /* 3 alpha + 2 beta terms, gammas 1.5 / 2.5, clip 0.1 */
    CASES_CUSTOM_8A8B,  /* every term on both sides, gammas 1 / 3, clip 0 (eps 1e-8 binds) */
    CASES_CUSTOM_NOEPS, /* 3 alpha + 2 beta, gammas 0.5 / 2.5, clip 0.1, eps 0, grad_scale 0.5 */
    CASES_FOCAL_01,     /* aplcl_params_focal(0.1): gamma < 1, no clip (p_m^(gamma-1) overflowed) */
    CASES_N_SETS
} cases_set_id;

/* The library's five presets are the ids below this one, in the order above. */
#define CASES_N_PRESETS 5

cases_param_set cases_param_set_get(cases_set_id id);

/* ---- names for labels ---- */
const char *cases_format_name(aplcl_target_format f); /* f32, u8, bits, csr */
const char *cases_dtype_name(aplcl_dtype d);          /* f32, f16, bf16 */
const char *cases_reduction_name(aplcl_reduction r);  /* sum, mean, none */

/* ---- the tolerance rule ----
 * Per element: |dev - ref| <= max(rtol * |ref|, atol), ref in double on the inputs as stored.
 * Gradients: rtol = 1e-5 plus half an ulp of the storage type (f16 2^-11, bf16 2^-8: the rounding
 * of the stored gradient); atol = 1e-7 * s, s the gradient multiplier scale (cases_grad_scale),
 * plus f16's subnormal spacing 2^-24. Element losses (always f32): 1e-5 and 1e-7. A reduced loss:
 * max(1e-6 |ref|, 1e-7 * the loss's scale) (cases_sum_ok). */
#define CASES_RTOL 1e-5
#define CASES_ATOL 1e-7
#define CASES_SUM_RTOL 1e-6
double cases_grad_rtol(aplcl_dtype d);
double cases_grad_atol(aplcl_dtype d, double scale);
/* Accumulating (grad_accumulate) onto start values of magnitude <= start_max: the start value's
 * rounding in the storage type comes on top of the absolute floor, (f32: 1e-7, 16-bit: rtol) *
 * start_max. The comparison is against ref + start. */
double cases_grad_acc_atol(aplcl_dtype d, double scale, double start_max);
/* max(rtol |ref|, atol), and whether |got - ref| is within it (NaN never is, an infinity only
 * when equal). */
double cases_tol(double ref, double rtol, double atol);
int cases_within(double got, double ref, double rtol, double atol);
/* The reduced loss: cases_within(got, ref, CASES_SUM_RTOL, CASES_ATOL * loss_scale). */
int cases_sum_ok(double got, double ref, double loss_scale);

/* The scale of the loss: 1, or 1 / (normalizer, else count) for MEAN; count is the number of
 * non-ignored elements (APLCL_COUNT_ELEMENTS). 0 when that denominator is 0. */
double cases_loss_scale(const aplcl_params *p, uint64_t count);
/* The gradient multiplier: grad_scale times cases_loss_scale (signed). */
double cases_grad_scale(const aplcl_params *p, uint64_t count);

/* ---- storage ---- */
size_t cases_dtype_bytes(aplcl_dtype d);
/* vals -> storage type in out (n elements); vals then hold exactly what the storage holds. */
void cases_to_storage(aplcl_dtype d, float *vals, void *out, size_t n);
void cases_from_storage(aplcl_dtype d, const void *in, float *vals, size_t n);

/* ---- targets packed for a format (host side) ----
 * From dense float targets (1, 0, soft, negative = ignored). data: F32 floats, U8 bytes (ignored
 * -> APLCL_TARGET_U8_IGNORE), BITS words, CSR row_ptr; aux: the BITS ignore mask (only when
 * with_ignore) or the CSR indices (NULL when there are no positives). Returns the library's
 * packing status (APLCL_ERR_OUT_OF_HOST_MEMORY when malloc fails). */
typedef struct {
    aplcl_target_format format;
    void *data;
    size_t data_bytes;
    uint32_t *aux;
    size_t aux_bytes;
    size_t nnz;
} cases_targets;
aplcl_status cases_pack_targets(aplcl_target_format fmt, size_t rows, size_t cols, const float *y,
                                int with_ignore, cases_targets *t);
void cases_targets_free(cases_targets *t);

/* ---- weights (aplcl.h "weights") for a checked case ----
 * mode 0: none; 1: pos_weight; 2: pos_weight + per-element weight; 3: per-label weight;
 * 4: pos_weight + per-row weight. pos_weight in [0, 2), weights in [0, 3) with some exact zeros,
 * so a weighted element's loss and gradient grow at most CASES_WEIGHT_MAX times (the tolerances'
 * absolute floors scale by it). *pw, *w: malloc'd (NULL where the mode has none); *wcount: the
 * weight's length. Returns 0, or -1 when out of memory (nothing to free then). */
#define CASES_WEIGHT_MODES 5
#define CASES_WEIGHT_MAX 6.0
int cases_make_weights(cli_rng *r, int mode, size_t rows, size_t cols, float **pw, float **w,
                       aplcl_weight_kind *kind, size_t *wcount);
const char *cases_weight_name(int mode); /* -, pw, pw+elem, label, pw+row */

/* ---- input generators ----
 * `aplcl check`'s inputs: logits mostly N(0,3), 10% uniform in [-100,100], 10% exactly at the
 * branch points of p (p == clip, p == eps, their float neighbours) or at 0, +-88, +-100.
 * Targets: ~12% positive; soft ones only where the format has them (F32); ignored ones where it
 * can express them (not CSR). */
void cases_check_inputs(cli_rng *r, const aplcl_params *p, size_t n, aplcl_target_format fmt,
                        float *x, float *y);

#endif /* APLCL_CASES_H */
