/* study_stats_dump.c: prints train/study_stats.c's and study_thresh.c's values for cases read
 * from stdin, so that tests/study_stats_scipy.py can compare them with SciPy's and NumPy's.
 *
 * Input: one case per line, "OP N v1 .. vN [extra]"; OP is t (p df), ci (a then b, N each),
 * sign, wilcoxon, quantile (then q), rank, friedman (then k: N = n*k scores), chi2 (x df),
 * thresh (rows labels, then scores then 0/1 targets). Output: one line per case, the results
 * with %.17g. A test helper, not a test: it checks nothing itself.
 */
#include "study_stats.h"
#include "study_thresh.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXV 4096

static int read_n(double *v, int n) {
    for (int i = 0; i < n; ++i)
        if (scanf("%lf", &v[i]) != 1)
            return -1;
    return 0;
}

int main(void) {
    static double v[MAXV], w[MAXV];
    char op[32];
    int n = 0;
    while (scanf("%31s %d", op, &n) == 2) {
        if (n < 0 || n > MAXV / 2 || read_n(v, n)) {
            fprintf(stderr, "study_stats_dump: bad case '%s'\n", op);
            return 2;
        }
        if (strcmp(op, "t") == 0 && n == 2)
            printf("%.17g\n", stats_t_quantile(v[0], v[1]));
        else if (strcmp(op, "chi2") == 0 && n == 2)
            printf("%.17g\n", stats_chi2_sf(v[0], v[1]));
        else if (strcmp(op, "ci") == 0) {
            if (read_n(w, n))
                return 2;
            double m, lo, hi;
            stats_paired_ci(v, w, (size_t)n, &m, &lo, &hi);
            printf("%.17g %.17g %.17g\n", m, lo, hi);
        } else if (strcmp(op, "sign") == 0) {
            int a, b, t;
            double p;
            stats_sign_test(v, (size_t)n, &a, &b, &t, &p);
            printf("%d %d %d %.17g\n", a, b, t, p);
        } else if (strcmp(op, "wilcoxon") == 0) {
            double st, p;
            int exact;
            stats_wilcoxon(v, (size_t)n, &st, &p, &exact);
            printf("%.17g %.17g %d\n", st, p, exact);
        } else if (strcmp(op, "quantile") == 0) {
            double q;
            if (scanf("%lf", &q) != 1)
                return 2;
            printf("%.17g\n", stats_quantile_sorted(v, (size_t)n, q));
        } else if (strcmp(op, "rank") == 0) {
            stats_rank(v, (size_t)n, 1, w);
            for (int i = 0; i < n; ++i)
                printf("%s%.17g", i ? " " : "", w[i]);
            putchar('\n');
        } else if (strcmp(op, "friedman") == 0) {
            int k = 0;
            if (scanf("%d", &k) != 1 || k < 2 || k > 16 || n % k)
                return 2;
            double r[16], chi2, p, cd;
            stats_friedman(v, (size_t)(n / k), (size_t)k, r, &chi2, &p, &cd);
            for (int i = 0; i < k; ++i)
                printf("%.17g ", r[i]);
            printf("%.17g %.17g %.17g\n", chi2, p, cd);
        } else if (strcmp(op, "thresh") == 0 && n == 2) {
            size_t rows = (size_t)v[0], labels = (size_t)v[1], cells = rows * labels;
            float *s = malloc(cells * sizeof *s + 1), t[64];
            uint8_t *y = malloc(cells + 1);
            if (!s || !y || labels > 64)
                return 2;
            for (size_t i = 0; i < cells; ++i)
                if (scanf("%f", &s[i]) != 1)
                    return 2;
            for (size_t i = 0; i < cells; ++i) {
                int b = 0;
                if (scanf("%d", &b) != 1)
                    return 2;
                y[i] = (uint8_t)(b != 0);
            }
            double mi, ma;
            if (thresh_fit(s, y, rows, labels, t) != 0)
                return 2;
            thresh_f1(s, y, rows, labels, t, &mi, &ma);
            for (size_t c = 0; c < labels; ++c)
                printf("%.9g ", (double)t[c]);
            printf("%.17g %.17g\n", mi, ma);
            free(s), free(y);
        } else {
            fprintf(stderr, "study_stats_dump: unknown case '%s'\n", op);
            return 2;
        }
    }
    return 0;
}
