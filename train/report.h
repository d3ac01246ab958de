/* report.h: what `aplcl train` and `aplcl tune` report about a set of runs (losses x seeds): the
 * final table on stdout and, with --out DIR, the files: per-epoch curves (curves.csv), the final
 * table (final.csv, final.json), per-label test AP (per_label_ap.csv) and a chart of the
 * train/val/test mAP curves per loss (curves.svg).
 *
 * Only formatting; the runs come from trainer.h. The table's loss column is as wide as the
 * longest loss name, so it stays aligned for any spec.
 */
#ifndef APLCL_TRAIN_REPORT_H
#define APLCL_TRAIN_REPORT_H

#include "arff.h"
#include "loss_spec.h"
#include "trainer.h"

#include <stdio.h>

typedef struct {
    const loss_spec *losses;
    int n_losses;
    const uint64_t *seeds;
    int n_seeds;
    const trainer_result *runs;     /* runs[l * n_seeds + s] */
    const arff_data *test;          /* labels, names (may be NULL: labels numbered) */
    const char *const *label_names; /* test->labels names or NULL */
    trainer_select select;
    int has_val;
} report;

/* The mean and sample standard deviation of metric `m` (metrics_names index; -1 the chosen
 * epoch) on the test set at the chosen epochs of loss l, over the seeds. */
void report_test_stat(const report *r, int l, int m, double *mean, double *sd);

/* The final table: loss, chosen epoch(s), test mAP +- sd, micro/macro-F1, example F1, Hamming
 * loss, ranking loss, one-error, coverage (means over seeds). */
void report_table(FILE *f, const report *r);

/* Writes DIR/curves.csv, final.csv, final.json, per_label_ap.csv, curves.svg (DIR must exist).
 * Returns 0, or -1 after printing "who: cannot write PATH: reason". */
int report_write_dir(const char *dir, const report *r, const char *who);

/* fopen(dir/name, "w"), printing why on failure. path receives the joined path. */
FILE *report_open(const char *dir, const char *name, char *path, size_t path_size, const char *who);

/* mkdir -p for one level (an existing directory is fine). Returns 0 or -1 (printed). */
int report_make_dir(const char *dir, const char *who);

/* --out DIR before any training: makes the directory (report_make_dir) and checks that a file can
 * be created in it (one is created and removed), so that hours of training do not end in "cannot
 * write". Returns 0 or -1 (printed). */
int report_check_dir(const char *dir, const char *who);

#endif /* APLCL_TRAIN_REPORT_H */
