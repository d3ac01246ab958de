/* metrics_blocks.h: metrics_all's ten metrics of an R x C prediction whose labels are split into
 * blocks held in different places (the workers of `aplcl train --parallel labels`), computed
 * from partial statistics that the holders combine by sums and maxima: O(R + C + positives)
 * numbers cross between holders, never the R x C scores.
 *
 * The result is metrics_all(scores, sigmoid(scores), y, R, C, threshold) on the whole prediction,
 * bit for bit (every partial is an exact count, an exact score or one holder's value; the final
 * sums run in metrics_all's order). Every holder knows the whole targets y (R x C, row-major) and
 * the logits s of its block, labels [c0, c0 + cw), as R x cw. Probabilities are the float
 * sigmoid 1 / (1 + expf(-s)), as trainer.c forms them. Logits must be finite.
 *
 * The steps; between two steps, combine every holder's array as said (all holders start from the
 * same initial values, mb_init):
 *   1. mb_step_positives (SUM of `pos`): every positive's logit, in row-major order of y.
 *   2. mb_step_row_max   (MAX of `top`): each row's highest logit.
 *   3. mb_step_row_first (MAX of `first`): minus the lowest label index holding it.
 *   4. mb_step_sums      (SUM of `sums`): per label AP and TP/FP/FN, per row the counts.
 *   then mb_finish on any holder. Pure functions on host arrays; nothing prints.
 */
#ifndef APLCL_TRAIN_METRICS_BLOCKS_H
#define APLCL_TRAIN_METRICS_BLOCKS_H

#include "metrics.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t rows, labels, positives; /* R, C, nonzero targets of y */
    double *pos;                    /* positives slots: the positives' logits */
    double *top, *first;            /* R each: row maximum, minus its lowest label index */
    double *sums;                   /* 4 C + 4 R: AP, TP, FP, FN per label; both, predicted,
                                       wrongly ordered pairs, coverage count per row */
    size_t *row_start;              /* R + 1: index in pos of each row's first positive */
} mb_state;

/* Allocates the arrays for y (R x C) and sets them to the reductions' neutral values. Returns 0,
 * or -1 when out of memory (nothing left allocated). */
int mb_init(mb_state *m, const uint8_t *y, size_t rows, size_t labels);
void mb_free(mb_state *m);

/* The element counts of the arrays that the steps reduce. */
size_t mb_sums_count(const mb_state *m);

void mb_step_positives(mb_state *m, const float *s, const uint8_t *y, size_t c0, size_t cw);
void mb_step_row_max(mb_state *m, const float *s, size_t c0, size_t cw);
void mb_step_row_first(mb_state *m, const float *s, size_t c0, size_t cw);
/* Returns 0, or -1 when out of memory. */
int mb_step_sums(mb_state *m, const float *s, const uint8_t *y, size_t c0, size_t cw,
                 float threshold);

/* The metrics; label_ap (may be NULL) receives the C per-label APs (NaN: no positive). */
void mb_finish(const mb_state *m, const uint8_t *y, metrics_set *out, double *label_ap);

#endif /* APLCL_TRAIN_METRICS_BLOCKS_H */
