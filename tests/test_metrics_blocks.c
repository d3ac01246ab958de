/* test_metrics_blocks.c: the label-blocked metrics (train/metrics_blocks.c, behind `aplcl train
 * --parallel labels`) equal metrics_all on the whole prediction, bit for bit.
 *
 * Random logits drawn from a few values (so rows and labels have ties, which the ranking metrics
 * break by rule), random targets with all-negative and all-positive rows and labels without a
 * positive, split into 1, 2, 3 and C blocks of uneven widths; each holder keeps its own state
 * and the reductions between the steps are done here by hand. Host only.
 */
#include "metrics_blocks.h"
#include "test_util.h"

#include "tool_util.h"

#include <math.h>
#include <string.h>

#define MAXH 16

/* Combines the holders' arrays: sum (op 0) or max (op 1), then gives every holder the result. */
static void combine(mb_state *h, int n, int which, int op) {
    size_t count = which == 0 ? h[0].positives : which == 3 ? mb_sums_count(&h[0]) : h[0].rows;
    for (size_t i = 0; i < count; ++i) {
        double *v[MAXH];
        for (int k = 0; k < n; ++k)
            v[k] = which == 0   ? &h[k].pos[i]
                   : which == 1 ? &h[k].top[i]
                   : which == 2 ? &h[k].first[i]
                                : &h[k].sums[i];
        double acc = *v[0];
        for (int k = 1; k < n; ++k)
            acc = op ? (*v[k] > acc ? *v[k] : acc) : acc + *v[k];
        for (int k = 0; k < n; ++k)
            *v[k] = acc;
    }
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

/* One case: R x C with the given block edges (n blocks). */
static void run_case(size_t R, size_t C, const size_t *edge, int n, cli_rng *rng) {
    float *s = tu_xmalloc(R * C * sizeof *s), *p = tu_xmalloc(R * C * sizeof *p);
    uint8_t *y = tu_xmalloc(R * C);
    for (size_t i = 0; i < R * C; ++i) {
        s[i] = (float)((int)(cli_rng_next(rng) % 7) - 3) * 0.5f; /* ties on purpose */
        y[i] = cli_rng_next(rng) % 3 == 0;
        p[i] = 1.0f / (1.0f + expf(-s[i]));
    }
    for (size_t c = 0; c < C; ++c) /* row 0: no positive; row 1: all positive (when R > 2) */
        y[c] = 0, y[(R > 2) * C + c] = R > 2;
    for (size_t r = 0; C > 1 && r < R; ++r) /* label C-1: no positive at all */
        y[r * C + C - 1] = 0;
    metrics_set want, got;
    metrics_all(s, p, y, R, C, 0.5f, &want);
    mb_state h[MAXH];
    float *blk[MAXH];
    for (int k = 0; k < n; ++k) {
        size_t c0 = edge[k], cw = edge[k + 1] - edge[k];
        CHECK_EQ(mb_init(&h[k], y, R, C), 0);
        blk[k] = tu_xmalloc((R * cw + 1) * sizeof *blk[k]);
        for (size_t r = 0; r < R; ++r)
            memcpy(blk[k] + r * cw, s + r * C + c0, cw * sizeof *s);
    }
    for (int k = 0; k < n; ++k)
        mb_step_positives(&h[k], blk[k], y, edge[k], edge[k + 1] - edge[k]);
    combine(h, n, 0, 0);
    for (int k = 0; k < n; ++k)
        mb_step_row_max(&h[k], blk[k], edge[k], edge[k + 1] - edge[k]);
    combine(h, n, 1, 1);
    for (int k = 0; k < n; ++k)
        mb_step_row_first(&h[k], blk[k], edge[k], edge[k + 1] - edge[k]);
    combine(h, n, 2, 1);
    for (int k = 0; k < n; ++k)
        CHECK_EQ(mb_step_sums(&h[k], blk[k], y, edge[k], edge[k + 1] - edge[k], 0.5f), 0);
    combine(h, n, 3, 0);
    double *ap = tu_xmalloc(C * sizeof *ap);
    mb_finish(&h[n - 1], y, &got, ap);
    for (int i = 0; i < METRICS_COUNT; ++i)
        if (!same(metrics_get(&got, i), metrics_get(&want, i))) {
            fprintf(stderr, "  %zux%zu in %d blocks: %s %.17g, metrics_all %.17g\n", R, C, n,
                    metrics_names[i], metrics_get(&got, i), metrics_get(&want, i));
            CHECK(0);
        }
    for (size_t c = 0; c < C; ++c)
        CHECK(same(ap[c], metrics_label_ap(s, y, R, C, c)));
    for (int k = 0; k < n; ++k)
        mb_free(&h[k]), free(blk[k]);
    free(s), free(p), free(y), free(ap);
}

int main(void) {
    cli_rng rng = cli_rng_seed(7);
    int m = tu_case_begin();
    const size_t sizes[][2] = {{1, 1}, {5, 2}, {40, 7}, {97, 14}, {13, 16}};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; ++t) {
        size_t R = sizes[t][0], C = sizes[t][1], edge[MAXH + 1];
        for (int n = 1; n <= 3 && (size_t)n <= C; ++n) {
            for (int k = 0; k <= n; ++k) /* uneven: the first block the smallest */
                edge[k] = C * (size_t)k * (size_t)k / ((size_t)n * (size_t)n);
            run_case(R, C, edge, n, &rng);
        }
        if (C <= MAXH) { /* one label per holder */
            for (size_t k = 0; k <= C; ++k)
                edge[k] = k;
            run_case(R, C, edge, (int)C, &rng);
        }
    }
    tu_case_end(m, "blocked metrics = metrics_all, every field and per-label AP, 1..C blocks");
    return tu_exit_code();
}
