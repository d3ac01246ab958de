/* train_parallel.h: the parallel trainer behind `aplcl train --parallel` (train_parallel.c).
 *
 * cli/train.c strips the parallel options with tp_take_options and, when a mode is given, trains
 * each (loss, seed) with tp_train_one instead of its one-device loop. Not a general framework.
 */
#ifndef APLCL_CLI_TRAIN_PARALLEL_H
#define APLCL_CLI_TRAIN_PARALLEL_H

#include "arff.h"
#include "cli.h"
#include "train_net.h"

#include <stdio.h>

enum { TP_NONE = 0, TP_DATA = 1, TP_LABELS = 2 };

typedef struct {
    int mode;           /* TP_NONE: the plain one-device trainer */
    char devices[1024]; /* --devices: comma-separated device choices ("" = the tool's one) */
} tp_options;

/* Takes --parallel MODE and --devices LIST out of argv (argc shrinks). With a mode it starts MPI
 * (when built with it) and leaves stdout and --csv to rank 0. Returns -1 to go on, else an exit
 * status (a bad value, or several devices or ranks without --parallel). */
int tp_take_options(int *argc, char **argv, tp_options *o);

/* One (loss, seed) run: what cli/train.c's train_one gets. */
typedef struct {
    const arff_data *train, *test;
    int epochs, hidden;
    size_t batch;
    float lr;
    FILE *csv;
    const char *loss_name;
    aplcl_params loss;
    uint64_t seed;
    aplcl_ctx *ctx; /* the tool's context: the one worker of a rank without --devices */
} tp_job;

/* Trains over every worker; result receives the last epoch's train loss, test mAP, micro-F1,
 * macro-F1 (the same on every rank). Returns 0, or -1 after par_fail (which, with several
 * ranks, aborts them all). */
int tp_train_one(const tp_options *o, const tp_job *j, double result[4]);

/* The end of cli_train: with a mode, a non-zero status on any rank aborts the communicator (after
 * saying which rank), so that no rank waits in a collective for one that left. */
void tp_finish(const tp_options *o, int status);

#endif /* APLCL_CLI_TRAIN_PARALLEL_H */
