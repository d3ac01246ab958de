/* run_common.h: what `aplcl train` and `aplcl tune` share: their common options (data files and
 * layout, validation split, model and schedule, seeds, device, progress), the data preparation
 * (load, split off validation, standardise with the training part's statistics) and the device.
 *
 * Tool code only. Messages go to stderr, prefixed by the subcommand.
 */
#ifndef APLCL_CLI_RUN_COMMON_H
#define APLCL_CLI_RUN_COMMON_H

#include "arff.h"
#include "cli.h"

#define RUN_MAX_SEEDS 16

/* The common options, in this order, at the start of a subcommand's option table. */
#define RUN_COMMON_OPTIONS                                                                         \
    {"--labels", 1, NULL}, {"--labels-xml", 1, NULL}, {"--labels-first", 0, NULL},                 \
        {"--val", 1, NULL}, {"--split-seed", 1, NULL}, {"--epochs", 1, NULL},                      \
        {"--hidden", 1, NULL}, {"--batch", 1, NULL}, {"--lr", 1, NULL}, {"--seed", 1, NULL},       \
        {"--seeds", 1, NULL}, {"--device", 1, NULL}, {"--progress", 0, NULL},                      \
        {"--quiet", 0, NULL}, {"--out", 1, NULL}, {                                                \
        "--ignore", 1, NULL                                                                        \
    }
#define RUN_COMMON_COUNT 16

typedef struct {
    const char *train_path, *test_path, *device, *out_dir;
    arff_layout layout;      /* n_labels and place; the names below are read by run_data_load */
    const char *labels_xml;  /* --labels-xml FILE: the labels are the attributes it names */
    const char *ignore_list; /* --ignore NAME,..: attributes to drop */
    const char *val_file;    /* --val FILE */
    double val_fraction;     /* --val FRACTION; 0: none */
    uint64_t split_seed;
    int epochs, hidden;
    size_t batch;
    float lr;
    int progress;
    uint64_t seeds[RUN_MAX_SEEDS];
    int n_seeds;
} run_common;

/* Parses argv against o[0..n) (the common options first) with the two positional files TRAIN
 * and TEST, prints usage() on --help, then reads the common options into *rc. Returns -1 to go
 * on, else the exit status (0 after --help; the message printed otherwise). */
int run_parse_args(const char *who, int argc, char **argv, cli_option *o, size_t n,
                   void (*usage)(FILE *), run_common *rc, int default_epochs);

/* Reads the common options (o[0..RUN_COMMON_COUNT)) into *rc; rc->val_fraction holds the
 * default validation fraction on entry (0: none) and is kept when --val is not given. Returns -1 to
 * go on, else the exit status (the message printed). */
int run_common_parse(const char *who, const cli_option *o, run_common *rc, int default_epochs);

/* Splits a comma-separated list of names (opt's value) into *names (one malloc'd block: free
 * *names alone) and *n. Empty names are refused. Returns 0, or -1 (printed). */
int run_split_names(const char *who, const char *opt, const char *list, char ***names, size_t *n);

/* The usage lines of the common options. */
void run_common_usage(FILE *f);

typedef struct {
    arff_data train, val, test; /* val.rows 0: no validation set */
    char **label_names;         /* the test file's label names (points into test.names) */
} run_data;

/* Loads, splits and standardises as *rc says: the label file's names, the ignored attributes,
 * each file's attributes compared with TRAIN's (names, types, roles: the first difference is
 * named); a file whose MEKA "-C" the explicit label options override is reported on stderr.
 * Returns 0 or -1 (printed). */
int run_data_load(const char *who, const run_common *rc, run_data *d);
void run_data_free(run_data *d);

/* DIR/config.json of train and tune, its shared part: opens the object with "command", "train",
 * "test", "val" (the file, the fraction, or null), "split_seed", "rows", "features" and
 * "labels"; the caller adds its own keys (each after a comma) and closes it. run_config_seeds
 * writes ,"seeds":[...]. */
void run_config_begin(FILE *f, const char *command, const run_common *rc, const run_data *d);
void run_config_seeds(FILE *f, const run_common *rc);

/* Creates the context on rc->device (printed on failure). */
aplcl_ctx *run_ctx_create(const char *who, const run_common *rc);

/* "--seeds S1,S2,..": at most max, each a 64-bit unsigned integer. Returns the count or -1. */
int run_parse_seeds(const char *who, const char *list, uint64_t *out, int max);

#endif /* APLCL_CLI_RUN_COMMON_H */
