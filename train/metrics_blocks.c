/* metrics_blocks.c: the ten metrics of a label-blocked prediction from partial statistics
 * (metrics_blocks.h).
 *
 * Each formula of mb_finish is metrics.c's / metrics_ml.c's with the row or label loop's counts
 * read from the combined arrays: the counts are integers (exact in double whatever the order of
 * the sums), the per-label APs come from their one holder, so the result is metrics_all's.
 */
#include "metrics_blocks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mb_init(mb_state *m, const uint8_t *y, size_t rows, size_t labels) {
    memset(m, 0, sizeof *m);
    m->rows = rows, m->labels = labels;
    m->row_start = malloc((rows + 1) * sizeof *m->row_start);
    if (!m->row_start)
        return -1;
    for (size_t r = 0; r < rows; ++r) {
        m->row_start[r] = m->positives;
        for (size_t c = 0; c < labels; ++c)
            m->positives += y[r * labels + c] != 0;
    }
    m->row_start[rows] = m->positives;
    m->pos = calloc(m->positives + 1, sizeof *m->pos);
    m->top = malloc((rows + 1) * sizeof *m->top);
    m->first = malloc((rows + 1) * sizeof *m->first);
    m->sums = calloc(mb_sums_count(m) + 1, sizeof *m->sums);
    if (!m->pos || !m->top || !m->first || !m->sums) {
        mb_free(m);
        return -1;
    }
    for (size_t r = 0; r < rows; ++r)
        m->top[r] = -INFINITY, m->first[r] = -INFINITY;
    return 0;
}

void mb_free(mb_state *m) {
    free(m->pos), free(m->top), free(m->first), free(m->sums), free(m->row_start);
    memset(m, 0, sizeof *m);
}

size_t mb_sums_count(const mb_state *m) { return 4 * m->labels + 4 * m->rows; }

void mb_step_positives(mb_state *m, const float *s, const uint8_t *y, size_t c0, size_t cw) {
    size_t C = m->labels;
    for (size_t r = 0; r < m->rows; ++r) {
        size_t k = m->row_start[r];
        for (size_t c = 0; c < c0 + cw; ++c) /* labels before the block count the slot only */
            if (y[r * C + c]) {
                if (c >= c0)
                    m->pos[k] = s[r * cw + (c - c0)];
                ++k;
            }
    }
}

void mb_step_row_max(mb_state *m, const float *s, size_t c0, size_t cw) {
    (void)c0;
    for (size_t r = 0; r < m->rows; ++r)
        for (size_t k = 0; k < cw; ++k)
            if (s[r * cw + k] > m->top[r])
                m->top[r] = s[r * cw + k];
}

/* metrics_one_error's top label: the first index with the row's highest logit */
void mb_step_row_first(mb_state *m, const float *s, size_t c0, size_t cw) {
    for (size_t r = 0; r < m->rows; ++r)
        for (size_t k = 0; k < cw; ++k)
            if ((double)s[r * cw + k] == m->top[r]) {
                double idx = -(double)(c0 + k);
                if (idx > m->first[r])
                    m->first[r] = idx;
                break;
            }
}

int mb_step_sums(mb_state *m, const float *s, const uint8_t *y, size_t c0, size_t cw,
                 float threshold) {
    size_t R = m->rows, C = m->labels;
    double *ap = m->sums, *tp = ap + C, *fp = tp + C, *fn = fp + C;
    double *both = fn + C, *pred = both + R, *wrong = pred + R, *cover = wrong + R;
    float *col = malloc((R + 1) * sizeof *col);
    uint8_t *ycol = malloc(R + 1);
    if (!col || !ycol) {
        free(col), free(ycol);
        return -1;
    }
    for (size_t k = 0; k < cw; ++k) {
        size_t c = c0 + k;
        for (size_t r = 0; r < R; ++r)
            col[r] = s[r * cw + k], ycol[r] = y[r * C + c];
        ap[c] += metrics_label_ap(col, ycol, R, 1, 0);
    }
    free(col), free(ycol);
    for (size_t r = 0; r < R; ++r) {
        const double *ps = m->pos + m->row_start[r];
        size_t P = m->row_start[r + 1] - m->row_start[r];
        double lowest = INFINITY; /* metrics_coverage's lowest-scored positive */
        for (size_t i = 0; i < P; ++i)
            lowest = ps[i] < lowest ? ps[i] : lowest;
        for (size_t k = 0; k < cw; ++k) {
            size_t c = c0 + k;
            double x = s[r * cw + k];
            float p = 1.0f / (1.0f + expf(-s[r * cw + k]));
            int z = p >= threshold, t = y[r * C + c] != 0;
            tp[c] += z && t, fp[c] += z && !t, fn[c] += !z && t;
            both[r] += z && t, pred[r] += z;
            cover[r] += P && x >= lowest;
            /* metrics_ranking_loss: a negative at or above a positive is a wrong pair */
            for (size_t i = 0; !t && i < P; ++i)
                wrong[r] += x >= ps[i];
        }
    }
    return 0;
}

static double f1_of(double tp, double fp, double fn) {
    double den = 2 * tp + fp + fn;
    return den > 0 ? 2.0 * tp / den : 1.0;
}

void mb_finish(const mb_state *m, const uint8_t *y, metrics_set *out, double *label_ap) {
    size_t R = m->rows, C = m->labels;
    const double *ap = m->sums, *tp = ap + C, *fp = tp + C, *fn = fp + C;
    const double *both = fn + C, *pred = both + R, *wrong = pred + R, *cover = wrong + R;
    double sum = 0, macro = 0, TP = 0, FP = 0, FN = 0;
    size_t used = 0;
    for (size_t c = 0; c < C; ++c) {
        if (!isnan(ap[c]))
            sum += ap[c], ++used;
        macro += f1_of(tp[c], fp[c], fn[c]);
        TP += tp[c], FP += fp[c], FN += fn[c];
        if (label_ap)
            label_ap[c] = ap[c];
    }
    out->map = R && used ? sum / (double)used : NAN;
    out->micro_f1 = f1_of(TP, FP, FN);
    out->macro_f1 = C && R ? macro / (double)C : 1.0;
    out->hamming = R && C ? (FP + FN) / (double)(R * C) : 0.0;
    double rank = 0, cov = 0, sp = 0, sr = 0, sf = 0;
    size_t errors = 0;
    for (size_t r = 0; r < R; ++r) {
        size_t P = m->row_start[r + 1] - m->row_start[r];
        if (P > 0 && P < C)
            rank += wrong[r] / ((double)P * (double)(C - P));
        if (P > 0)
            cov += cover[r];
        if (C)
            errors += y[r * C + (size_t)(-m->first[r])] == 0;
        sp += pred[r] > 0 ? both[r] / pred[r] : 1.0;
        sr += P ? both[r] / (double)P : 1.0;
        sf += (double)P + pred[r] > 0 ? 2.0 * both[r] / ((double)P + pred[r]) : 1.0;
    }
    double n = R ? (double)R : 1.0;
    out->ranking_loss = R ? rank / n : 0.0;
    out->coverage = R ? cov / n : 0.0;
    out->one_error = R && C ? (double)errors / n : 0.0;
    out->ex_precision = R ? sp / n : 1.0;
    out->ex_recall = R ? sr / n : 1.0;
    out->ex_f1 = R ? sf / n : 1.0;
}
