/* study.h: the results of `aplcl study` (one record per data set and loss) and the writers of its
 * report: DIR/summary.json, DIR/report.md and DIR/report.svg.
 *
 * The runs themselves are cli/study.c's; this file only holds and formats numbers, and computes
 * the comparisons across data sets (study_stats.h). summary.json holds no timing and no path, so
 * the same command on the same machine writes the same bytes.
 */
#ifndef APLCL_TRAIN_STUDY_H
#define APLCL_TRAIN_STUDY_H

#include "loss_spec.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define STUDY_MAX_SEEDS 16
#define STUDY_MAX_LR 8
enum { STUDY_BCE, STUDY_ASL, STUDY_APL, STUDY_LOSSES };
extern const char *const study_loss_names[STUDY_LOSSES];

/* per seed, at the epoch chosen on validation */
enum { SM_MAP, SM_MICRO05, SM_MACRO05, SM_MICROVAL, SM_MACROVAL, SM_RANKLOSS, SM_COUNT };
extern const char *const study_metric_names[SM_COUNT];

typedef struct {
    char spec[LOSS_SPEC_MAX]; /* the chosen point as a --loss spec */
    double lr;
    int lr_edge;        /* lr's place in the grid: -1 its lowest, 1 its highest, 0 inside */
    const char *source; /* where the APL winner came from: "search", "bce winner", "asl winner" */
    double val_map;     /* mean over seeds of the best validation mAP */
    int candidates;     /* candidates this loss's search drew (its tuning budget) */
    double m[SM_COUNT][STUDY_MAX_SEEDS];
} study_loss;

typedef struct {
    double diff, lo, hi;     /* mean over seeds of the paired test-mAP difference, 95% t CI */
    double boot_lo, boot_hi; /* 95% percentile bootstrap over test rows */
} study_diff;

typedef struct {
    char name[128];
    int trials; /* candidates of its APL and ASL searches (the budget may lower it) */
    size_t train_rows, val_rows, test_rows, features, labels;
    study_loss loss[STUDY_LOSSES];
    study_diff vs[2]; /* tuned APL against BCE (0) and ASL (1) */
} study_dataset;

typedef struct {
    int asked_trials; /* --trials (the most any data set got) */
    int trials, eta, epochs, min_epochs, hidden, n_seeds, n_lr, bootstrap, threshold_val;
    size_t batch;
    uint64_t seeds[STUDY_MAX_SEEDS], split_seed, search_seed;
    double lr_grid[STUDY_MAX_LR], val_fraction;
    const char *device;
    int n_datasets;
    study_dataset *ds;
} study_summary;

/* Across data sets: for APL against BCE and ASL, the sign test and Wilcoxon signed-rank test of
 * the per-data-set mean test-mAP differences; average ranks of the three losses, Friedman, CD. */
typedef struct {
    int wins[2], losses[2], ties[2], wilcoxon_exact[2];
    double sign_p[2], wilcoxon_stat[2], wilcoxon_p[2];
    double avg_rank[STUDY_LOSSES], friedman_chi2, friedman_p, nemenyi_cd;
} study_across;

/* Mean and sd over seeds of metric m of loss l in data set d. */
void study_stat(const study_summary *s, int d, int l, int m, double *mean, double *sd);
void study_compare(const study_summary *s, study_across *a);

void study_write_json(FILE *f, const study_summary *s);
/* command: the command line, shown in the report (not in summary.json). */
void study_write_md(FILE *f, const study_summary *s, const char *command);
void study_write_svg(FILE *f, const study_summary *s);

#endif /* APLCL_TRAIN_STUDY_H */
