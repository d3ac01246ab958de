/* train_parallel.h: the parallel trainer behind `aplcl train --parallel` (train_parallel.c, in
 * the aplcl_train library; its process group is mpi/parallel.h).
 *
 * cli/train.c strips the parallel options with tp_take_options and, when a mode is given, checks
 * that the ranks agree on the options and data (tp_agree) and trains each (loss, seed) with
 * tp_train_run instead of trainer_run; every exit of cli_train goes through tp_finish, so that a
 * failing rank stops them all. Not a general framework.
 */
#ifndef APLCL_TRAIN_TRAIN_PARALLEL_H
#define APLCL_TRAIN_TRAIN_PARALLEL_H

#include "arff.h"
#include "options.h" /* the exit statuses */
#include "tool_util.h"
#include "train_net.h"
#include "trainer.h"

#include <stdio.h>

enum { TP_NONE = 0, TP_DATA = 1, TP_LABELS = 2 };

typedef struct {
    int mode;           /* TP_NONE: the plain one-device trainer */
    char devices[1024]; /* --devices: comma-separated device choices ("" = the tool's one) */
} tp_options;

/* Takes --parallel MODE and --devices LIST out of argv (argc shrinks). With a mode it starts MPI
 * (when built with it) and leaves stdout to rank 0 (tp_writer). Returns -1 to go on, else an exit
 * status (a bad value, or several devices or ranks without --parallel); under mpirun such a
 * failure aborts every rank. */
int tp_take_options(int *argc, char **argv, tp_options *o);

/* For the record (--out's config.json): "data", "labels" or NULL; the number of ranks. */
const char *tp_mode_name(const tp_options *o);
int tp_ranks(const tp_options *o);

/* 1 where this process writes the report (stdout, --csv, --out): without a mode, or on rank 0. */
int tp_writer(const tp_options *o);

/* FNV-1a of `bytes` bytes, continuing from h (TP_HASH_INIT to start): what tp_agree compares. */
#define TP_HASH_INIT 1469598103934665603ull
uint64_t tp_hash(uint64_t h, const void *data, size_t bytes);

/* With a mode and several ranks: every rank must pass the same value, else the run stops on every
 * rank naming `what` ("--epochs", "the training data"), as a run whose ranks disagree would
 * train a mixture or wait forever in a collective. Returns 0, or -1 after par_fail (which, with
 * several ranks, aborts them all). Without a mode: 0. */
int tp_agree(const tp_options *o, const char *what, uint64_t value);

/* One (loss, seed) over every worker: trainer_run's contract (cli/train.c calls one or the other
 * with the same configuration) and its result, with every metric of every epoch measured on the
 * sets c gives (the same on every rank); rank 0 draws the progress bar. Returns 0 (also when
 * training diverged: result->diverged says so, printed by rank 0) or -1 after par_fail (which, with
 * several ranks, aborts them all). */
int tp_train_run(const tp_options *o, aplcl_ctx *ctx, const trainer_config *c,
                 const char *loss_name, const aplcl_params *loss, uint64_t seed,
                 trainer_result *result);

/* The end of cli_train: with a mode, a non-zero status on any rank aborts the communicator (after
 * saying which rank), so that no rank waits in a collective for one that left. */
void tp_finish(const tp_options *o, int status);

#endif /* APLCL_TRAIN_TRAIN_PARALLEL_H */
