/* trainer.h: one training run of `aplcl train` / `aplcl tune`: a network (train_net.h) fitted on
 * a training set with one loss and one seed, evaluated every epoch on the training, validation
 * and test sets, with the epoch to report chosen on validation (or the last one).
 *
 * The test set never chooses anything: with select best-val the reported epoch is the one with
 * the best validation mAP (the earliest of equal ones), and the test metrics are those that epoch
 * already measured. Not a general trainer: one architecture, a fixed schedule.
 */
#ifndef APLCL_TRAIN_TRAINER_H
#define APLCL_TRAIN_TRAINER_H

#include "arff.h"
#include "metrics.h"

#include "aplcl.h"

#include <stdint.h>
#include <stdio.h>

typedef enum { TRAINER_SELECT_LAST = 0, TRAINER_SELECT_BEST_VAL = 1 } trainer_select;

typedef struct {
    const arff_data *train; /* standardised features */
    const arff_data *val;   /* NULL: no validation set (then select must be LAST) */
    const arff_data *test;  /* NULL: not evaluated (tune's trials) */
    int epochs, hidden;
    size_t batch;
    float lr;
    trainer_select select;
    int eval_train; /* also measure the training set every epoch (for curves) */
    int progress;   /* draw the batch progress bar on stderr */
    FILE *log;      /* one line per epoch (NULL: none); name_width aligns the loss column */
    int name_width;
    const char *who;         /* prefix of messages */
    const float *pos_weight; /* NULL or one per label: the loss's pos_weight (pos_weight.h) */
} trainer_config;

/* One epoch: the mean training batch loss and the metrics of each set (NaN where not measured). */
typedef struct {
    double train_loss;
    metrics_set train, val, test;
} trainer_epoch;

typedef struct {
    int epochs;            /* epochs run (all of them on success) */
    trainer_epoch *curve;  /* curve[e - 1] is epoch e */
    int chosen;            /* the reported epoch, 1-based */
    double *test_label_ap; /* test AP per label at the chosen epoch (NULL without a test set) */
    int diverged;          /* 1: stopped early on a non-finite loss or logit */
    float *val_logits;     /* with keep_logits: val rows x labels at the chosen epoch, else NULL */
    float *test_logits;    /* with keep_logits and a test set: the same for the test set */
} trainer_result;

/* Runs one model. Returns 0 (also when training diverged: result->diverged says so, and with
 * quiet_divergence 0 the reason is printed) or -1 after printing a device or memory error.
 * Free the result with trainer_result_free. */
int trainer_run(aplcl_ctx *ctx, const trainer_config *c, const char *loss_name,
                const aplcl_params *loss, uint64_t seed, int quiet_divergence,
                trainer_result *result);
/* trainer_run that with keep_logits != 0 also keeps the validation and test logits of the chosen
 * epoch in result->val_logits and test_logits (`aplcl study`: thresholds, bootstrap). */
int trainer_run_keep(aplcl_ctx *ctx, const trainer_config *c, const char *loss_name,
                     const aplcl_params *loss, uint64_t seed, int quiet_divergence, int keep_logits,
                     trainer_result *result);
void trainer_result_free(trainer_result *r);
/* The epoch progress bar on stderr ("epoch E/N [###...] B/T batches"), cleared when done = total;
 * the trainers draw it where their caller asks (a terminal, or --progress). */
void trainer_progress(int epoch, int epochs, size_t done, size_t total);

/* The reported epoch's record. */
const trainer_epoch *trainer_chosen(const trainer_result *r);

#endif /* APLCL_TRAIN_TRAINER_H */
