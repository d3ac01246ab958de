/* metrics.h: multi-label evaluation metrics on host arrays (mAP, micro- and macro-F1, the
 * label-frequency baseline mAP).
 *
 * For the `aplcl` tool's trainer and its tests; not part of the library. Shapes as everywhere in
 * aplcl: N rows (samples) by C labels, row-major; y[i] != 0 is a positive. Pure functions, no
 * globals; nothing prints.
 */
#ifndef APLCL_CLI_METRICS_H
#define APLCL_CLI_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Average precision of one label (column `label` of scores and y, both rows x labels):
 *     AP = (1/P) * sum over the P positives of (positives ranked at or above it) / (its rank),
 * ranks 1-based. Ranking: score descending; equal scores by row index ascending (a deterministic
 * tie-break, so tied groups are not averaged as scikit-learn does); NaN scores rank after every
 * number. Returns NaN when the label has no positive (AP undefined) or an allocation fails. */
double metrics_label_ap(const float *scores, const uint8_t *y, size_t rows, size_t labels,
                        size_t label);

/* Mean of metrics_label_ap() over the labels that have at least one positive. *skipped (may be
 * NULL) receives the number of labels without any positive, left out of the mean. Returns NaN when
 * every label is skipped (or rows is 0, or an allocation fails). Scores may be logits or
 * probabilities: only their order matters. */
double metrics_map(const float *scores, const uint8_t *y, size_t rows, size_t labels,
                   size_t *skipped);

/* F1 at a threshold: element (r, c) is predicted positive when probs[r, c] >= threshold (NaN is
 * predicted negative). Pass sigmoid probabilities with threshold 0.5, or logits with threshold 0.
 * micro = 2 TP / (2 TP + FP + FN) over all elements; macro = mean over all labels of the per-label
 * 2 TP / (2 TP + FP + FN).
 * Convention (scikit-learn's zero_division = 1): a label with no positive and no predicted positive
 * (TP + FP + FN = 0) has F1 = 1, as nothing was missed and nothing was wrongly claimed; likewise
 * micro is 1 when no element is positive or predicted positive. metrics_f1_empty_labels() counts
 * such labels, for a report to show. micro and macro may each be NULL. rows or labels 0: both 1. */
void metrics_f1(const float *probs, const uint8_t *y, size_t rows, size_t labels, float threshold,
                double *micro, double *macro);

/* Labels with no positive in y and no prediction >= threshold in probs (the F1 = 1 convention). */
size_t metrics_f1_empty_labels(const float *probs, const uint8_t *y, size_t rows, size_t labels,
                               float threshold);

/* The mAP a constant predictor (for instance each label's training frequency) gets on y: a score
 * constant within each label ranks nothing, so its AP is that of a random order, whose expectation
 * for n rows with P positives is
 *     E[AP] = (H_n + (P - 1)/(n - 1) * (n - H_n)) / n,   H_n = 1 + 1/2 + ... + 1/n
 * (the n = 1 case is 1): the positive rate P/n plus a small-sample term of about ln(n)/n. Averaged
 * over the labels with a positive, like metrics_map(); *skipped (may be NULL) counts the others.
 * This is the bar a trained model must clear. (metrics_map() of actually constant scores instead
 * gives the AP of the row order, through its tie-break.) NaN when every label is skipped. */
double metrics_baseline_map(const uint8_t *y, size_t rows, size_t labels, size_t *skipped);

/* The plain mean over labels (with a positive) of the positive rate P/n: the large-n limit of
 * metrics_baseline_map(). */
double metrics_positive_rate_mean(const uint8_t *y, size_t rows, size_t labels, size_t *skipped);

#endif /* APLCL_CLI_METRICS_H */
