/* metrics_dump.c: prints train/metrics*.c's values for a case read from stdin, so that
 * tests/metrics_sklearn.py can compare them with scikit-learn's.
 *
 * Input (whitespace-separated): rows labels threshold, then rows*labels targets (0/1), then
 * rows*labels scores (floats, read as float). Output: "name value" lines (%.17g), the metrics of
 * metrics_all() (scores used as both ranking scores and probabilities) and "ap_J" per label.
 * A test helper, not a test: it checks nothing itself.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
    size_t rows = 0, labels = 0;
    float thr = 0.5f;
    if (scanf("%zu %zu %f", &rows, &labels, &thr) != 3 || !rows || !labels || rows > 100000 ||
        labels > 10000) {
        fprintf(stderr, "metrics_dump: bad header\n");
        return 2;
    }
    size_t n = rows * labels;
    uint8_t *y = malloc(n);
    float *s = malloc(n * sizeof *s);
    if (!y || !s)
        return 2;
    for (size_t i = 0; i < n; ++i) {
        int v = 0;
        if (scanf("%d", &v) != 1 || (v != 0 && v != 1)) {
            fprintf(stderr, "metrics_dump: bad target %zu\n", i);
            return 2;
        }
        y[i] = (uint8_t)v;
    }
    for (size_t i = 0; i < n; ++i)
        if (scanf("%f", &s[i]) != 1) {
            fprintf(stderr, "metrics_dump: bad score %zu\n", i);
            return 2;
        }
    metrics_set m;
    metrics_all(s, s, y, rows, labels, thr, &m);
    for (int i = 0; i < METRICS_COUNT; ++i)
        printf("%s %.17g\n", metrics_names[i], metrics_get(&m, i));
    for (size_t c = 0; c < labels; ++c)
        printf("ap_%zu %.17g\n", c, metrics_label_ap(s, y, rows, labels, c));
    free(y);
    free(s);
    return 0;
}
