/* study_thresh.c: per-label thresholds on validation, F1 with them (study_thresh.h). */
#include "study_thresh.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float s;
    uint8_t y;
} scored;

/* descending score; NaN last */
static int by_score_desc(const void *a, const void *b) {
    float x = ((const scored *)a)->s, z = ((const scored *)b)->s;
    if (isnan(x) || isnan(z))
        return isnan(x) - isnan(z);
    return (x < z) - (x > z);
}

int thresh_fit(const float *scores, const uint8_t *y, size_t rows, size_t labels, float *t) {
    scored *v = malloc((rows ? rows : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t c = 0; c < labels; ++c) {
        size_t pos = 0;
        for (size_t r = 0; r < rows; ++r) {
            v[r].s = scores[r * labels + c], v[r].y = y[r * labels + c] != 0;
            pos += v[r].y;
        }
        t[c] = INFINITY;
        if (pos == 0)
            continue;
        qsort(v, rows, sizeof *v, by_score_desc);
        /* sweep down the ranking: at a group's end, everything at or above its score is
         * predicted positive; F1 = 2 TP / (TP + FP + P) */
        double best = 0; /* predicting nothing: F1 0 when the label has positives */
        size_t tp = 0;
        for (size_t r = 0; r < rows && !isnan(v[r].s); ++r) {
            tp += v[r].y;
            if (r + 1 < rows && v[r + 1].s == v[r].s)
                continue;
            double f1 = 2.0 * (double)tp / ((double)(r + 1) + (double)pos);
            if (f1 > best) /* strictly: among equal F1 the earlier (higher) threshold stays */
                best = f1, t[c] = v[r].s;
        }
    }
    free(v);
    return 0;
}

void thresh_f1(const float *scores, const uint8_t *y, size_t rows, size_t labels, const float *t,
               double *micro, double *macro) {
    size_t TP = 0, FP = 0, FN = 0;
    double sum = 0;
    for (size_t c = 0; c < labels; ++c) {
        size_t tp = 0, fp = 0, fn = 0;
        for (size_t r = 0; r < rows; ++r) {
            int pred = scores[r * labels + c] >= t[c], truth = y[r * labels + c] != 0;
            tp += pred && truth, fp += pred && !truth, fn += !pred && truth;
        }
        sum += tp + fp + fn ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : 1.0;
        TP += tp, FP += fp, FN += fn;
    }
    *micro = TP + FP + FN ? 2.0 * (double)TP / (double)(2 * TP + FP + FN) : 1.0;
    *macro = labels ? sum / (double)labels : 1.0;
}
