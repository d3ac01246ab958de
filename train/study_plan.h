/* study_plan.h: what `aplcl study` will cost, and the plan that fits a time budget.
 *
 * The cost of a data set is a few measured numbers (study_cost: start-up and per-epoch seconds of
 * a training run, with and without the test set, and of one bootstrap mAP), measured once per
 * machine and setup by the calibration (study_calib.h) and kept in the cache folder. The plan is a
 * pure function of those numbers and the command: no clock is read here, so the same stored
 * calibration and the same command give the same plan, and so the same summary.json.
 */
#ifndef APLCL_TRAIN_STUDY_PLAN_H
#define APLCL_TRAIN_STUDY_PLAN_H

#include "study.h"

/* Seconds, as measured by the calibration of one data set. */
typedef struct {
    double load_s;     /* reading, splitting and standardising the data set's files */
    double calib_s;    /* the calibration itself: every plan sets it aside, measured now or not */
    double run_s;      /* start-up of one training run (network, uploads, first evaluation) */
    double epoch_s;    /* one epoch: the batches, then the validation set's metrics */
    double test_run_s; /* extra start-up of a run that also measures the test set */
    double test_s;     /* extra per epoch of measuring the test set and keeping its logits */
    double map_s;      /* one test-set mAP (the bootstrap computes 4 per resample) */
} study_cost;

/* The estimated seconds of the study of costs c[0..n_sets) with s's plan (trials, epochs,
 * min_epochs, eta, n_lr, n_seeds, bootstrap): per data set its loading and calibration, the three
 * searches (a last rung measures the test set every epoch), and the bootstrap. */
double study_plan_seconds(const study_summary *s, const study_cost *c, int n_sets);

/* Lowers s->trials (from its value down to 1) and then, if one candidate does not fit,
 * s->epochs (by a fifth at a time, min_epochs with it) until study_plan_seconds <= seconds.
 * Returns 1 when the plan fits, 0 when even 1 candidate of 1 epoch does not. */
int study_fit_budget(study_summary *s, const study_cost *c, int n_sets, double seconds);

/* The share of a budget the plan may fill: the rest absorbs a machine that runs slower than
 * its calibration (the promise is the budget within 20%; 1 / 0.85 = 1.18). */
#define STUDY_BUDGET_FILL 0.85

#endif /* APLCL_TRAIN_STUDY_PLAN_H */
