/* study_stats.h: the statistics of `aplcl study`: paired differences with a Student-t 95%
 * interval, a percentile bootstrap interval, and the comparisons across data sets that the
 * multi-label literature uses (Demsar, "Statistical comparisons of classifiers over multiple data
 * sets", JMLR 2006): the sign test, the Wilcoxon signed-rank test, average ranks with the
 * Friedman test and the Nemenyi critical difference.
 *
 * Pure functions on host arrays; nothing prints, nothing allocates beyond small scratch.
 * tests/study_stats_scipy.py checks them against SciPy on fixed inputs. NaN inputs give NaN out.
 */
#ifndef APLCL_TRAIN_STUDY_STATS_H
#define APLCL_TRAIN_STUDY_STATS_H

#include <stddef.h>

/* Mean and sample standard deviation (n - 1; NaN for n < 2). */
void stats_mean_sd(const double *x, size_t n, double *mean, double *sd);

/* The p-quantile of Student's t with df degrees of freedom (scipy.stats.t.ppf), df >= 1. */
double stats_t_quantile(double p, double df);

/* Paired difference a - b over n pairs: the mean and its 95% Student-t interval
 * (mean +- t(0.975, n - 1) * sd / sqrt(n)); lo and hi NaN for n < 2. */
void stats_paired_ci(const double *a, const double *b, size_t n, double *mean, double *lo,
                     double *hi);

/* The q-quantile of x[0..n) with linear interpolation between order statistics (numpy's default
 * percentile); sorts x in place. */
double stats_quantile_sorted(double *x, size_t n, double q);

/* Two-sided exact sign test of the differences d[0..n): zeros dropped, p = the binomial test of
 * the wins among the non-zero ones at 1/2 (scipy.stats.binomtest(wins, wins + losses).pvalue). */
void stats_sign_test(const double *d, size_t n, int *wins, int *losses, int *ties, double *p);

/* Two-sided Wilcoxon signed-rank test of d[0..n) (scipy.stats.wilcoxon's defaults: zeros dropped,
 * no continuity correction). *stat = min(R+, R-). Exact distribution when the non-zero |d| have
 * no ties and number at most 50; the normal approximation with the tie correction otherwise
 * (*exact says which). p is NaN when no difference is non-zero. */
void stats_wilcoxon(const double *d, size_t n, double *stat, double *p, int *exact);

/* Ranks (1-based, ties averaged) of x[0..n); descending: 1 is the largest (scipy rankdata of -x).
 */
void stats_rank(const double *x, size_t n, int descending, double *rank);

/* Average ranks of k methods over n data sets, score[d * k + m] (higher better: rank 1), and the
 * Friedman test (tie-corrected chi-square, scipy.stats.friedmanchisquare) and the Nemenyi
 * critical difference at 0.05 (q from Demsar's table, k = 2..10; NaN beyond). k <= 16. */
void stats_friedman(const double *score, size_t n, size_t k, double *avg_rank, double *chi2,
                    double *p, double *cd);

/* Upper tail of the chi-square distribution (scipy.stats.chi2.sf). */
double stats_chi2_sf(double x, double df);

#endif /* APLCL_TRAIN_STUDY_STATS_H */
