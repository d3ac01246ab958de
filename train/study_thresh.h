/* study_thresh.h: per-label decision thresholds chosen on validation (`aplcl study --threshold
 * val`), and F1 with one threshold per label.
 *
 * APL and ASL shift the predicted probabilities, so F1 at a fixed 0.5 measures the shift as much
 * as the ranking; a threshold per label chosen on the validation set (never the test set) gives
 * every loss the same chance. Pure; nothing prints.
 */
#ifndef APLCL_TRAIN_STUDY_THRESH_H
#define APLCL_TRAIN_STUDY_THRESH_H

#include <stddef.h>
#include <stdint.h>

/* For each label, the score threshold t (predict positive when score >= t) that maximises that
 * label's F1 on (scores, y) (rows x labels; scores any order-preserving score, e.g. logits).
 * The candidates are the label's distinct scores, and +infinity (predict nothing); among equal
 * F1 the highest threshold (fewest positives) wins, so the choice is deterministic. A label
 * without positives gets +infinity (its F1 is then 1 by the zero_division = 1 convention).
 * Returns 0, or -1 when an allocation fails. */
int thresh_fit(const float *scores, const uint8_t *y, size_t rows, size_t labels, float *t);

/* metrics_f1 with threshold t[c] for label c: micro and macro F1 (zero_division = 1). */
void thresh_f1(const float *scores, const uint8_t *y, size_t rows, size_t labels, const float *t,
               double *micro, double *macro);

#endif /* APLCL_TRAIN_STUDY_THRESH_H */
