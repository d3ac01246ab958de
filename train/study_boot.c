/* study_boot.c: the percentile bootstrap over test rows (study_boot.h). */
#include "study_boot.h"

#include "metrics.h"
#include "study_stats.h"
#include "tool_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void study_bootstrap(const float *const *a, const float *const *b, int n_seeds, const uint8_t *y,
                     size_t rows, size_t labels, int B, uint64_t seed, double *lo, double *hi) {
    *lo = *hi = NAN;
    size_t n = rows, c = labels;
    for (int k = 0; k < n_seeds; ++k)
        if (!a[k] || !b[k])
            return;
    if (B < 1 || n_seeds < 1 || n == 0)
        return;
    double *v = malloc((size_t)B * sizeof *v);
    float *sc = malloc(n * c * sizeof *sc + 1);
    uint8_t *yb = malloc(n * c + 1);
    size_t *idx = malloc(n * sizeof *idx);
    if (v && sc && yb && idx) {
        cli_rng r = cli_rng_seed(seed);
        for (int s = 0; s < B; ++s) {
            for (size_t i = 0; i < n; ++i)
                idx[i] = (size_t)(cli_rng_next(&r) % n);
            for (size_t i = 0; i < n; ++i)
                memcpy(yb + i * c, y + idx[i] * c, c);
            double sum = 0;
            for (int k = 0; k < n_seeds; ++k)
                for (int side = 0; side < 2; ++side) {
                    const float *src = side ? b[k] : a[k];
                    for (size_t i = 0; i < n; ++i)
                        memcpy(sc + i * c, src + idx[i] * c, c * sizeof *sc);
                    double m = metrics_map(sc, yb, n, c, NULL);
                    sum += side ? -m : m;
                }
            v[s] = sum / n_seeds;
        }
        *lo = stats_quantile_sorted(v, (size_t)B, 0.025);
        *hi = stats_quantile_sorted(v, (size_t)B, 0.975);
    }
    free(v), free(sc), free(yb), free(idx);
}
