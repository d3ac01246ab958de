/* metrics_ml.c: Hamming loss, ranking loss, coverage, one-error and example-based
 * precision/recall/F1 (metrics.h), and metrics_all.
 *
 * Definitions as scikit-learn's (see metrics.h); the ranking metrics sort each row once. Pure
 * functions; nothing prints.
 */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>

const char *const metrics_names[METRICS_COUNT] = {
    "map",      "micro_f1",  "macro_f1",     "hamming_loss", "ranking_loss",
    "coverage", "one_error", "ex_precision", "ex_recall",    "ex_f1"};

double metrics_get(const metrics_set *m, int i) {
    const double v[METRICS_COUNT] = {m->map,          m->micro_f1, m->macro_f1,  m->hamming,
                                     m->ranking_loss, m->coverage, m->one_error, m->ex_precision,
                                     m->ex_recall,    m->ex_f1};
    return i >= 0 && i < METRICS_COUNT ? v[i] : NAN;
}

double metrics_hamming_loss(const float *probs, const uint8_t *y, size_t rows, size_t labels,
                            float threshold) {
    size_t n = rows * labels, wrong = 0;
    for (size_t i = 0; i < n; ++i)
        wrong += (probs[i] >= threshold) != (y[i] != 0);
    return n ? (double)wrong / (double)n : 0.0;
}

typedef struct {
    float s;
    uint8_t pos;
} scored;

/* Descending score: the ranking loss's pass walks the highest scores first. */
static int by_score_desc(const void *a, const void *b) {
    float x = ((const scored *)a)->s, z = ((const scored *)b)->s;
    return (x < z) - (x > z);
}

double metrics_ranking_loss(const float *scores, const uint8_t *y, size_t rows, size_t labels) {
    if (rows == 0)
        return 0.0;
    scored *r = malloc((labels ? labels : 1) * sizeof *r);
    if (!r)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < rows; ++i) {
        size_t P = 0;
        for (size_t c = 0; c < labels; ++c) {
            r[c].s = scores[i * labels + c];
            r[c].pos = y[i * labels + c] != 0;
            P += r[c].pos;
        }
        if (P == 0 || P == labels)
            continue;
        qsort(r, labels, sizeof *r, by_score_desc);
        /* groups of equal score: each positive in a group is out of order with every negative
         * above it and every negative in its group (a tie counts as wrong) */
        double wrong = 0, neg_above = 0;
        for (size_t g = 0; g < labels;) {
            size_t e = g, p = 0, n = 0;
            while (e < labels && r[e].s == r[g].s)
                p += r[e].pos, n += !r[e].pos, ++e;
            wrong += (double)p * (neg_above + (double)n);
            neg_above += (double)n;
            g = e;
        }
        sum += wrong / ((double)P * (double)(labels - P));
    }
    free(r);
    return sum / (double)rows;
}

double metrics_coverage(const float *scores, const uint8_t *y, size_t rows, size_t labels) {
    if (rows == 0)
        return 0.0;
    double sum = 0;
    for (size_t i = 0; i < rows; ++i) {
        const float *s = scores + i * labels;
        const uint8_t *t = y + i * labels;
        float lowest = INFINITY;
        int any = 0;
        for (size_t c = 0; c < labels; ++c)
            if (t[c] && (!any || s[c] < lowest))
                lowest = s[c], any = 1;
        if (!any)
            continue;
        size_t k = 0;
        for (size_t c = 0; c < labels; ++c)
            k += s[c] >= lowest;
        sum += (double)k;
    }
    return sum / (double)rows;
}

double metrics_one_error(const float *scores, const uint8_t *y, size_t rows, size_t labels) {
    if (rows == 0 || labels == 0)
        return 0.0;
    size_t errors = 0;
    for (size_t i = 0; i < rows; ++i) {
        size_t top = 0;
        for (size_t c = 1; c < labels; ++c)
            if (scores[i * labels + c] > scores[i * labels + top])
                top = c;
        errors += y[i * labels + top] == 0;
    }
    return (double)errors / (double)rows;
}

void metrics_example_prf(const float *probs, const uint8_t *y, size_t rows, size_t labels,
                         float threshold, double *precision, double *recall, double *f1) {
    double sp = 0, sr = 0, sf = 0;
    for (size_t i = 0; i < rows; ++i) {
        size_t both = 0, truth = 0, pred = 0;
        for (size_t c = 0; c < labels; ++c) {
            int t = y[i * labels + c] != 0, z = probs[i * labels + c] >= threshold;
            both += t && z, truth += t, pred += z;
        }
        sp += pred ? (double)both / (double)pred : 1.0;
        sr += truth ? (double)both / (double)truth : 1.0;
        sf += truth + pred ? 2.0 * (double)both / (double)(truth + pred) : 1.0;
    }
    double n = rows ? (double)rows : 1.0;
    if (precision)
        *precision = rows ? sp / n : 1.0;
    if (recall)
        *recall = rows ? sr / n : 1.0;
    if (f1)
        *f1 = rows ? sf / n : 1.0;
}

void metrics_all(const float *scores, const float *probs, const uint8_t *y, size_t rows,
                 size_t labels, float threshold, metrics_set *out) {
    out->map = metrics_map(scores, y, rows, labels, NULL);
    metrics_f1(probs, y, rows, labels, threshold, &out->micro_f1, &out->macro_f1);
    out->hamming = metrics_hamming_loss(probs, y, rows, labels, threshold);
    out->ranking_loss = metrics_ranking_loss(scores, y, rows, labels);
    out->coverage = metrics_coverage(scores, y, rows, labels);
    out->one_error = metrics_one_error(scores, y, rows, labels);
    metrics_example_prf(probs, y, rows, labels, threshold, &out->ex_precision, &out->ex_recall,
                        &out->ex_f1);
}
