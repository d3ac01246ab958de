/* study_stats.c: paired intervals, sign and signed-rank tests, average ranks (study_stats.h).
 *
 * The special functions (incomplete beta and gamma) follow the continued fractions of Numerical
 * Recipes; their accuracy (about 1e-12 relative) is far below what a table of results prints.
 */
#include "study_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void stats_mean_sd(const double *x, size_t n, double *mean, double *sd) {
    double s = 0, ss = 0;
    for (size_t i = 0; i < n; ++i)
        s += x[i];
    double m = n ? s / (double)n : NAN;
    for (size_t i = 0; i < n; ++i)
        ss += (x[i] - m) * (x[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(ss / (double)(n - 1)) : NAN;
}

/* continued fraction of the incomplete beta function (Lentz) */
static double beta_cf(double a, double b, double x) {
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap;
    d = fabs(d) < tiny ? tiny : d;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 1000; ++m) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d, c = 1 + aa / c;
        d = fabs(d) < tiny ? tiny : d, c = fabs(c) < tiny ? tiny : c;
        d = 1 / d, h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d, c = 1 + aa / c;
        d = fabs(d) < tiny ? tiny : d, c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15)
            break;
    }
    return h;
}

/* regularized incomplete beta I_x(a, b) */
static double beta_inc(double a, double b, double x) {
    if (x <= 0)
        return 0;
    if (x >= 1)
        return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    if (x < (a + 1) / (a + b + 2))
        return exp(lbt) * beta_cf(a, b, x) / a;
    return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

/* Student-t CDF */
static double t_cdf(double t, double df) {
    double tail = 0.5 * beta_inc(df / 2, 0.5, df / (df + t * t));
    return t >= 0 ? 1 - tail : tail;
}

double stats_t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df >= 1))
        return NAN;
    double lo = -1e6, hi = 1e6;
    for (int i = 0; i < 200; ++i) { /* bisection: the CDF is monotone; 200 halvings reach 1e-50 */
        double mid = 0.5 * (lo + hi);
        if (t_cdf(mid, df) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

void stats_paired_ci(const double *a, const double *b, size_t n, double *mean, double *lo,
                     double *hi) {
    double d[256], sd = NAN;
    size_t m = n < 256 ? n : 256;
    for (size_t i = 0; i < m; ++i)
        d[i] = a[i] - b[i];
    stats_mean_sd(d, m, mean, &sd);
    double h = m > 1 ? stats_t_quantile(0.975, (double)(m - 1)) * sd / sqrt((double)m) : NAN;
    *lo = *mean - h, *hi = *mean + h;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_quantile_sorted(double *x, size_t n, double q) {
    if (n == 0)
        return NAN;
    qsort(x, n, sizeof *x, cmp_double);
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n)
        return x[n - 1];
    return x[i] + (pos - (double)i) * (x[i + 1] - x[i]);
}

void stats_sign_test(const double *d, size_t n, int *wins, int *losses, int *ties, double *p) {
    int w = 0, l = 0, t = 0;
    for (size_t i = 0; i < n; ++i)
        w += d[i] > 0, l += d[i] < 0, t += d[i] == 0;
    *wins = w, *losses = l, *ties = t;
    int m = w + l, k = w < l ? w : l;
    if (m == 0) {
        *p = 1;
        return;
    }
    /* 2 P(X <= k), X ~ Binomial(m, 1/2), in logs so large m stays finite */
    double s = 0;
    for (int i = 0; i <= k; ++i)
        s += exp(lgamma(m + 1.0) - lgamma(i + 1.0) - lgamma(m - i + 1.0) - m * log(2.0));
    *p = w == l ? 1 : fmin(1, 2 * s);
}

void stats_rank(const double *x, size_t n, int descending, double *rank) {
    for (size_t i = 0; i < n; ++i) {
        double less = 0, equal = 0;
        for (size_t j = 0; j < n; ++j) {
            int before = descending ? x[j] > x[i] : x[j] < x[i];
            less += before, equal += x[j] == x[i];
        }
        rank[i] = less + (equal + 1) / 2; /* the mean of ranks less+1 .. less+equal */
    }
}

void stats_wilcoxon(const double *d, size_t n, double *stat, double *p, int *exact) {
    double a[256], r[256];
    size_t m = 0;
    int neg[256];
    for (size_t i = 0; i < n && m < 256; ++i)
        if (d[i] != 0)
            a[m] = fabs(d[i]), neg[m] = d[i] < 0, ++m;
    *exact = 0;
    if (m == 0) {
        *stat = 0, *p = NAN;
        return;
    }
    stats_rank(a, m, 0, r);
    double rp = 0, rm = 0, tie = 0;
    int tied = 0;
    for (size_t i = 0; i < m; ++i) {
        if (neg[i])
            rm += r[i];
        else
            rp += r[i];
        double t = 0;
        for (size_t j = 0; j < m; ++j)
            t += a[j] == a[i];
        tied |= t > 1;
        tie += (t * t - 1) / 2; /* each group of size t adds t (t^2 - 1) / 2 over its members */
    }
    double T = rp < rm ? rp : rm;
    *stat = T;
    if (!tied && m <= 50) {
        /* counts of rank-sum subsets: c[s] = how many sign patterns give R+ = s */
        size_t top = m * (m + 1) / 2;
        double *c = calloc(top + 1, sizeof *c);
        if (c) {
            c[0] = 1;
            for (size_t k = 1; k <= m; ++k)
                for (size_t s = top; s >= k; --s)
                    c[s] += c[s - k];
            double below = 0;
            for (size_t s = 0; s <= (size_t)T; ++s)
                below += c[s];
            *p = fmin(1, 2 * below / ldexp(1, (int)m));
            *exact = 1;
            free(c);
            return;
        }
    }
    double mn = m * (m + 1) / 4.0, var = m * (m + 1) * (2 * m + 1) / 24.0 - tie / 24.0;
    double z = (T - mn) / sqrt(var);
    *p = erfc(fabs(z) / sqrt(2.0));
}

/* regularized lower incomplete gamma P(a, x) by its series, upper Q by the continued fraction */
static double gamma_q(double a, double x) {
    if (x <= 0)
        return 1;
    double gln = lgamma(a);
    if (x < a + 1) {
        double ap = a, sum = 1 / a, del = sum;
        for (int n = 0; n < 1000; ++n) {
            ap += 1, del *= x / ap, sum += del;
            if (fabs(del) < fabs(sum) * 1e-16)
                break;
        }
        return 1 - sum * exp(-x + a * log(x) - gln);
    }
    const double tiny = 1e-300;
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i < 1000; ++i) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b, c = b + an / c;
        d = fabs(d) < tiny ? tiny : d, c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16)
            break;
    }
    return exp(-x + a * log(x) - gln) * h;
}

double stats_chi2_sf(double x, double df) { return isnan(x) ? NAN : gamma_q(df / 2, x / 2); }

void stats_friedman(const double *score, size_t n, size_t k, double *avg_rank, double *chi2,
                    double *p, double *cd) {
    /* Demsar 2006, table 5(a): q_0.05 of the studentized range over sqrt(2), k = 2..10 */
    static const double q05[11] = {NAN,   NAN,   1.960, 2.343, 2.569, 2.728,
                                   2.850, 2.949, 3.031, 3.102, 3.164};
    double r[16], tie = 0;
    for (size_t m = 0; m < k; ++m)
        avg_rank[m] = 0;
    for (size_t d = 0; d < n && k <= 16; ++d) {
        stats_rank(score + d * k, k, 1, r);
        for (size_t m = 0; m < k; ++m) {
            avg_rank[m] += r[m] / (double)n;
            double t = 0;
            for (size_t j = 0; j < k; ++j)
                t += score[d * k + j] == score[d * k + m];
            tie += (t * t - 1) / 1; /* summed over members: t (t^2 - 1) per group */
        }
    }
    double ssum = 0;
    for (size_t m = 0; m < k; ++m)
        ssum += avg_rank[m] * (double)n * avg_rank[m] * (double)n;
    double nn = (double)n, kk = (double)k;
    double c = 1 - tie / (nn * kk * (kk * kk - 1));
    *chi2 = n && k > 1 && c > 0 ? (12 / (nn * kk * (kk + 1)) * ssum - 3 * nn * (kk + 1)) / c : NAN;
    *p = stats_chi2_sf(*chi2, kk - 1);
    *cd = k <= 10 && n ? q05[k] * sqrt(kk * (kk + 1) / (6 * nn)) : NAN;
}
