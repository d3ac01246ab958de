/* metrics.c: multi-label metrics on host arrays (see metrics.h for the definitions and the
 * conventions on ties, empty labels and zero division).
 *
 * Plain loops and one qsort per label; sums in double. Not tuned: evaluation runs once per epoch.
 */
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    float score;
    size_t row;
} metrics_item;

/* Score descending, NaN last, then row ascending: a total order, so qsort's instability is moot. */
static int item_cmp(const void *pa, const void *pb) {
    const metrics_item *a = pa, *b = pb;
    int na = isnan(a->score), nb = isnan(b->score);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* AP of one label using the caller's scratch array of rows items. NaN if no positive. */
static double label_ap(const float *scores, const uint8_t *y, size_t rows, size_t labels,
                       size_t label, metrics_item *it) {
    size_t pos = 0;
    for (size_t r = 0; r < rows; r++) {
        it[r].score = scores[r * labels + label];
        it[r].row = r;
        pos += y[r * labels + label] != 0;
    }
    if (pos == 0)
        return NAN;
    qsort(it, rows, sizeof *it, item_cmp);
    double sum = 0.0;
    size_t hits = 0;
    for (size_t k = 0; k < rows && hits < pos; k++) {
        if (y[it[k].row * labels + label]) {
            hits++;
            sum += (double)hits / (double)(k + 1);
        }
    }
    return sum / (double)pos;
}

double metrics_label_ap(const float *scores, const uint8_t *y, size_t rows, size_t labels,
                        size_t label) {
    if (rows == 0 || label >= labels || rows > SIZE_MAX / sizeof(metrics_item))
        return NAN;
    metrics_item *it = malloc(rows * sizeof *it);
    if (!it)
        return NAN;
    double ap = label_ap(scores, y, rows, labels, label, it);
    free(it);
    return ap;
}

double metrics_map(const float *scores, const uint8_t *y, size_t rows, size_t labels,
                   size_t *skipped) {
    if (skipped)
        *skipped = labels;
    if (rows == 0 || labels == 0 || rows > SIZE_MAX / sizeof(metrics_item))
        return NAN;
    metrics_item *it = malloc(rows * sizeof *it);
    if (!it)
        return NAN;
    double sum = 0.0;
    size_t used = 0;
    for (size_t c = 0; c < labels; c++) {
        double ap = label_ap(scores, y, rows, labels, c, it);
        if (!isnan(ap)) {
            sum += ap;
            used++;
        }
    }
    free(it);
    if (skipped)
        *skipped = labels - used;
    return used ? sum / (double)used : NAN;
}

static double f1_of(size_t tp, size_t fp, size_t fn) {
    size_t den = 2 * tp + fp + fn;
    return den ? 2.0 * (double)tp / (double)den : 1.0;
}

void metrics_f1(const float *probs, const uint8_t *y, size_t rows, size_t labels, float threshold,
                double *micro, double *macro) {
    size_t TP = 0, FP = 0, FN = 0;
    double macro_sum = 0.0;
    for (size_t c = 0; c < labels; c++) {
        size_t tp = 0, fp = 0, fn = 0;
        for (size_t r = 0; r < rows; r++) {
            int pred = probs[r * labels + c] >= threshold; /* false for NaN */
            int truth = y[r * labels + c] != 0;
            tp += pred && truth;
            fp += pred && !truth;
            fn += !pred && truth;
        }
        macro_sum += f1_of(tp, fp, fn);
        TP += tp;
        FP += fp;
        FN += fn;
    }
    if (micro)
        *micro = f1_of(TP, FP, FN);
    if (macro)
        *macro = (labels && rows) ? macro_sum / (double)labels : 1.0;
}

size_t metrics_f1_empty_labels(const float *probs, const uint8_t *y, size_t rows, size_t labels,
                               float threshold) {
    size_t empty = 0;
    for (size_t c = 0; c < labels; c++) {
        int any = 0;
        for (size_t r = 0; r < rows && !any; r++)
            any = y[r * labels + c] != 0 || probs[r * labels + c] >= threshold;
        empty += !any;
    }
    return empty;
}

/* Positives of label c. */
static size_t positives(const uint8_t *y, size_t rows, size_t labels, size_t c) {
    size_t p = 0;
    for (size_t r = 0; r < rows; r++)
        p += y[r * labels + c] != 0;
    return p;
}

/* E[AP] of a uniformly random order of n rows with p >= 1 positives (metrics.h). */
static double random_order_ap(size_t n, size_t p) {
    if (n == 1)
        return 1.0;
    double h = 0.0;
    for (size_t k = n; k >= 1; k--) /* smallest terms first */
        h += 1.0 / (double)k;
    return (h + (double)(p - 1) / (double)(n - 1) * ((double)n - h)) / (double)n;
}

static double positive_rate(size_t n, size_t p) { return (double)p / (double)n; }

/* The mean of per(rows, positives) over the labels with a positive; *skipped the others. */
static double mean_over_labels(const uint8_t *y, size_t rows, size_t labels, size_t *skipped,
                               double (*per)(size_t, size_t)) {
    double sum = 0.0;
    size_t used = 0;
    for (size_t c = 0; c < labels; c++) {
        size_t p = positives(y, rows, labels, c);
        if (p) {
            sum += per(rows, p);
            used++;
        }
    }
    if (skipped)
        *skipped = labels - used;
    return used ? sum / (double)used : NAN;
}

double metrics_baseline_map(const uint8_t *y, size_t rows, size_t labels, size_t *skipped) {
    return mean_over_labels(y, rows, labels, skipped, random_order_ap);
}

double metrics_positive_rate_mean(const uint8_t *y, size_t rows, size_t labels, size_t *skipped) {
    return mean_over_labels(y, rows, labels, skipped, positive_rate);
}
