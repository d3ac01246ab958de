/* metrics.h: multi-label evaluation metrics on host arrays (mAP, micro- and macro-F1, the
 * label-frequency baseline mAP; metrics_ml.c: Hamming loss, ranking loss, coverage, one-error,
 * example-based precision/recall/F1, and all of them at once).
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

/* ---- metrics_ml.c: the other metrics multi-label papers report (MULAN, scikit-multilearn) ----
 * Definitions follow scikit-learn where it has the metric (tests/metrics_sklearn.py checks that):
 * hamming_loss, label_ranking_loss, coverage_error, precision/recall/f1_score(average="samples",
 * zero_division=1). Scores are any order-preserving scores (logits or probabilities); the
 * thresholded ones take probabilities and a threshold like metrics_f1. Scores must be finite. */

/* Fraction of the rows * labels decisions (probs >= threshold vs y) that are wrong. Lower is
 * better. rows or labels 0: 0. */
double metrics_hamming_loss(const float *probs, const uint8_t *y, size_t rows, size_t labels,
                            float threshold);

/* Mean over rows of the fraction of (positive, negative) label pairs ordered wrongly, a tie
 * counting as wrong: #{(p, n): s_n >= s_p} / (P * N); a row with no positive or no negative
 * scores 0 (scikit-learn's label_ranking_loss). Lower is better. NaN on allocation failure. */
double metrics_ranking_loss(const float *scores, const uint8_t *y, size_t rows, size_t labels);

/* Mean over rows of how many labels score at least the lowest-scored positive (how far down
 * the ranking one must go to cover every positive; ties count against); a row without positives
 * scores 0 (scikit-learn's coverage_error; MULAN's coverage is this minus 1). Lower is better. */
double metrics_coverage(const float *scores, const uint8_t *y, size_t rows, size_t labels);

/* Fraction of rows whose top-scored label (lowest index among equal scores) is not a positive;
 * a row without positives counts as an error. Lower is better. */
double metrics_one_error(const float *scores, const uint8_t *y, size_t rows, size_t labels);

/* Example-based precision |Y & Z| / |Z|, recall |Y & Z| / |Y| and F1 2 |Y & Z| / (|Y| + |Z|),
 * each averaged over rows (Y the positives, Z the labels with probs >= threshold); an empty
 * denominator gives 1 (zero_division = 1, as metrics_f1). Any output may be NULL. */
void metrics_example_prf(const float *probs, const uint8_t *y, size_t rows, size_t labels,
                         float threshold, double *precision, double *recall, double *f1);

/* Every metric of this header for one prediction: the ranking ones (mAP, ranking loss, coverage,
 * one-error) from `scores` (logits: float sigmoids saturate to ties), the thresholded ones from
 * `probs` at `threshold`. scores may equal probs. */
typedef struct {
    double map, micro_f1, macro_f1, hamming, ranking_loss, coverage, one_error, ex_precision,
        ex_recall, ex_f1;
} metrics_set;
void metrics_all(const float *scores, const float *probs, const uint8_t *y, size_t rows,
                 size_t labels, float threshold, metrics_set *out);

/* The names of metrics_set's fields in order (for tables, CSV headers, JSON keys), and a field
 * by index; METRICS_COUNT of them. */
#define METRICS_COUNT 10
extern const char *const metrics_names[METRICS_COUNT];
double metrics_get(const metrics_set *m, int i);

#endif /* APLCL_CLI_METRICS_H */
