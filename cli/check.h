/* check.h: the parts of `aplcl check` shared by its backends. check.c owns the case matrix, the
 * CPU reference, the tolerance rule and the OpenCL backend; check_cuda.c is the CUDA backend
 * (`aplcl check --cuda N`). A backend runs one case's call on its device from the case's host
 * inputs and hands back its outputs; it never judges them.
 */
#ifndef APLCL_CLI_CHECK_H
#define APLCL_CLI_CHECK_H

#include "cases.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* inputs */
    aplcl_dtype dtype;
    size_t rows, cols;
    const void *logits;           /* rows*cols values of dtype, as stored */
    const cases_targets *targets; /* packed in targets->format */
    aplcl_weights weights;        /* host float arrays; NULL: none */
    size_t weight_count;          /* floats in weights.weight */
    /* outputs */
    void *grad;       /* rows*cols values of dtype */
    float *elem_loss; /* rows*cols floats */
    float loss;
    uint64_t counts[APLCL_COUNT_LEN];
} check_call;

/* One call on a backend's device: APLCL_SUCCESS with the outputs filled, else the library's
 * status (or the backend's, after a message on stderr when its own driver calls failed). */
typedef aplcl_status (*check_run_fn)(void *backend, const aplcl_params *p, check_call *c);

/* check.c: the case matrix (the quick one with `quick`) on one backend, one table row per case;
 * adds to *cases and *failures. */
void check_cases(check_run_fn run, void *backend, int quick, int *cases, int *failures);

/* check_cuda.c: the matrix on CUDA device `ordinal` (the context from cli_cuda_ctx_create, the
 * driver through cuda_tool.h). Returns 0 when the cases ran (their verdicts are in *failures),
 * CLI_EXIT_UNAVAILABLE after a message when there is no CUDA driver or no such device, or
 * CLI_EXIT_FAIL after a message when the device could not be used. */
int check_cuda_device(int ordinal, int quick, int *cases, int *failures);

#endif /* APLCL_CLI_CHECK_H */
