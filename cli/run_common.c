/* run_common.c: the options, data preparation and device that `aplcl train` and `aplcl tune`
 * share (run_common.h).
 */
#define _POSIX_C_SOURCE 200809L /* isatty, fileno, access */
#include "run_common.h"

#include "split.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EPOCHS 100000
#define MAX_HIDDEN 65536
#define MAX_BATCH 65536

enum {
    C_LABELS,
    C_XML,
    C_FIRST,
    C_VAL,
    C_SPLIT_SEED,
    C_EPOCHS,
    C_HIDDEN,
    C_BATCH,
    C_LR,
    C_SEED,
    C_SEEDS,
    C_DEVICE,
    C_PROGRESS,
    C_QUIET,
    C_OUT,
    C_IGNORE
};

#define MAX_IGNORE 4096 /* names in --ignore */

void run_common_usage(FILE *f) {
    fprintf(
        f,
        "  --labels N      the last N attributes are the labels (MULAN); with --labels-first\n"
        "                  the first N (MEKA). Optional when the @relation name carries\n"
        "                  MEKA's '-C N' (N > 0: first N, N < 0: last -N); given, it wins\n"
        "                  over '-C' (a warning says so when they disagree).\n"
        "  --labels-xml F  the labels are the attributes MULAN's label file F names\n"
        "  --ignore LIST   attributes to drop, by name, comma-separated (an ID, a string)\n"
        "  --val F|FILE    validation set: a fraction 0 < F < 1 of TRAIN held out (iterative\n"
        "                  stratification over the labels, seeded by --split-seed, default 1),\n"
        "                  or a FILE with the same attributes. Features are standardised with\n"
        "                  the statistics of what remains for training.\n"
        "  --epochs E      1..%d     --hidden H  0 (linear, default)..%d\n"
        "  --batch B       1..%d (default 64)     --lr LR     > 0, finite (default 3e-3)\n"
        "  --seeds LIST    at most %d seeds (default: --seed, else 1)\n"
        "  --device D      \"P:D\" or a name substring (default $APLCL_DEVICE, else the\n"
        "                  library's choice)\n"
        "  --progress / --quiet  draw / do not draw the progress display (default: only when\n"
        "                  stderr is a terminal)\n",
        MAX_EPOCHS, MAX_HIDDEN, MAX_BATCH, RUN_MAX_SEEDS);
}

int run_parse_seeds(const char *who, const char *list, uint64_t *out, int max) {
    char buf[1024];
    if (cli_copy_list(who, "--seeds", list, buf, sizeof buf))
        return -1;
    int n = 0;
    for (char *cur = buf, *tok; (tok = cli_next_entry(&cur, ',')) != NULL; ++n) {
        if (n == max) {
            fprintf(stderr, "%s: more than %d seeds in --seeds\n", who, max);
            return -1;
        }
        if (cli_parse_u64(who, "--seeds", tok, 0, UINT64_MAX, &out[n]))
            return -1;
    }
    return n;
}

int run_split_names(const char *who, const char *opt, const char *list, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    size_t len = strlen(list), count = 1;
    for (size_t i = 0; i < len; i++)
        count += list[i] == ',';
    if (count > MAX_IGNORE) {
        fprintf(stderr, "%s: %s names more than %d attributes\n", who, opt, MAX_IGNORE);
        return -1;
    }
    /* one block: the pointers, then a copy of the list cut at the commas */
    char **out = malloc(count * sizeof *out + len + 1);
    if (!out) {
        fprintf(stderr, "%s: out of host memory\n", who);
        return -1;
    }
    char *buf = (char *)(out + count), *cur = buf;
    memcpy(buf, list, len + 1);
    for (size_t k = 0; k < count; k++) {
        out[k] = cli_next_entry(&cur, ',');
        if (!out[k] || !*out[k]) {
            fprintf(stderr, "%s: %s: empty name in '%s'\n", who, opt, list);
            free(out);
            return -1;
        }
    }
    *names = out;
    *n = count;
    return 0;
}

static int excl(const char *who, const cli_option *o, int a, int b) {
    if (o[a].value && o[b].value) {
        fprintf(stderr, "%s: %s and %s exclude each other\n", who, o[a].name, o[b].name);
        return 1;
    }
    return 0;
}

int run_common_parse(const char *who, const cli_option *o, run_common *rc, int default_epochs) {
    int64_t i64 = 0;
    uint64_t u64 = 0;
    double d = 0;
    rc->device = cli_device_choice(o[C_DEVICE].value);
    rc->out_dir = o[C_OUT].value;
    if (o[C_EPOCHS].value && cli_parse_i64(who, "--epochs", o[C_EPOCHS].value, 1, MAX_EPOCHS, &i64))
        return CLI_EXIT_USAGE;
    rc->epochs = o[C_EPOCHS].value ? (int)i64 : default_epochs;
    if (o[C_HIDDEN].value && cli_parse_i64(who, "--hidden", o[C_HIDDEN].value, 0, MAX_HIDDEN, &i64))
        return CLI_EXIT_USAGE;
    rc->hidden = o[C_HIDDEN].value ? (int)i64 : 0;
    if (o[C_BATCH].value && cli_parse_i64(who, "--batch", o[C_BATCH].value, 1, MAX_BATCH, &i64))
        return CLI_EXIT_USAGE;
    rc->batch = o[C_BATCH].value ? (size_t)i64 : 64;
    if (o[C_LR].value && cli_parse_f64(who, "--lr", o[C_LR].value, 0, FLT_MAX, &d))
        return CLI_EXIT_USAGE;
    if (o[C_LR].value && !(d > 0)) {
        fprintf(stderr, "%s: --lr must be above 0\n", who);
        return CLI_EXIT_USAGE;
    }
    rc->lr = o[C_LR].value ? (float)d : 3e-3f;
    if (excl(who, o, C_PROGRESS, C_QUIET) || excl(who, o, C_LABELS, C_XML) ||
        excl(who, o, C_SEED, C_SEEDS))
        return CLI_EXIT_USAGE;
    rc->progress = o[C_PROGRESS].value ? 1 : o[C_QUIET].value ? 0 : isatty(fileno(stderr));
    rc->split_seed = 1;
    if (o[C_SPLIT_SEED].value &&
        cli_parse_u64(who, "--split-seed", o[C_SPLIT_SEED].value, 0, UINT64_MAX, &rc->split_seed))
        return CLI_EXIT_USAGE;
    rc->val_file = NULL; /* rc->val_fraction keeps the caller's default without --val */
    if (o[C_VAL].value) {
        /* a decimal number (the tools' one rule) is a fraction; anything else a file, unless
         * no such file exists and strtod would read it as a number ("0x1p-2", " 0.2"): then the
         * user meant a fraction the rule refuses, and is told so rather than "cannot open" */
        const char *v = o[C_VAL].value;
        double f = 0;
        char *end = NULL;
        int strict = cli_strict_f64(v, &f) == 0;
        int loose = !strict && *v && (strtod(v, &end), end && end != v && *end == '\0') &&
                    access(v, F_OK) != 0;
        if (loose || (strict && !(f > 0 && f < 1))) {
            fprintf(stderr,
                    "%s: --val wants a fraction between 0 and 1 (exclusive; decimal) or a "
                    "file, not '%s'\n",
                    who, v);
            return CLI_EXIT_USAGE;
        }
        if (strict)
            rc->val_fraction = f;
        else
            rc->val_file = v, rc->val_fraction = 0;
    }
    if (o[C_SPLIT_SEED].value && !(rc->val_fraction > 0)) {
        fprintf(stderr, "%s: --split-seed needs --val FRACTION\n", who);
        return CLI_EXIT_USAGE;
    }
    /* explicit label options win over a MEKA "-C" in the file (MULAN's medical carries a stray
     * one): --labels N alone means the last N, --labels-xml the attributes it names */
    memset(&rc->layout, 0, sizeof rc->layout);
    rc->layout.place = o[C_FIRST].value    ? ARFF_LABELS_FIRST
                       : o[C_LABELS].value ? ARFF_LABELS_LAST
                                           : ARFF_LABELS_AUTO;
    rc->labels_xml = o[C_XML].value;
    if (o[C_LABELS].value) {
        if (cli_parse_u64(who, "--labels", o[C_LABELS].value, 1, ARFF_MAX_ATTRIBUTES, &u64))
            return CLI_EXIT_USAGE;
        rc->layout.n_labels = (size_t)u64;
    }
    rc->ignore_list = o[C_IGNORE].value;
    if (rc->ignore_list) {
        char **names = NULL;
        size_t n = 0;
        int bad = run_split_names(who, "--ignore", rc->ignore_list, &names, &n);
        free(names);
        if (bad)
            return CLI_EXIT_USAGE;
    }
    if (o[C_SEEDS].value) {
        if ((rc->n_seeds = run_parse_seeds(who, o[C_SEEDS].value, rc->seeds, RUN_MAX_SEEDS)) <= 0)
            return CLI_EXIT_USAGE;
    } else {
        rc->n_seeds = 1;
        rc->seeds[0] = 1;
        if (o[C_SEED].value &&
            cli_parse_u64(who, "--seed", o[C_SEED].value, 0, UINT64_MAX, &rc->seeds[0]))
            return CLI_EXIT_USAGE;
    }
    return -1;
}

int run_parse_args(const char *who, int argc, char **argv, cli_option *o, size_t n,
                   void (*usage)(FILE *), run_common *rc, int default_epochs) {
    const char *pos[2];
    int np = 0;
    int pr = cli_parse(who, argc, argv, o, n, pos, 2, &np);
    if (pr == CLI_PARSE_HELP) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr == CLI_PARSE_OK && np < 2)
        fprintf(stderr, "%s: needs TRAIN.arff and TEST.arff (--help shows the usage)\n", who);
    if (pr != CLI_PARSE_OK || np < 2)
        return CLI_EXIT_USAGE;
    rc->train_path = pos[0], rc->test_path = pos[1];
    return run_common_parse(who, o, rc, default_epochs);
}

/* Loads one file as *layout says; prints its error, or its note (a MEKA "-C" overridden). */
static int load_one(const char *who, const char *path, const arff_layout *layout, arff_data *d) {
    arff_error aerr;
    if (arff_load_layout(path, layout, d, &aerr) != 0) {
        fprintf(stderr, "%s:%zu:%zu: %s\n", aerr.file, aerr.line, aerr.column, aerr.message);
        return -1;
    }
    if (d->note[0])
        fprintf(stderr, "%s: warning: %s: %s\n", who, path, d->note);
    return 0;
}

int run_data_load(const char *who, const run_common *rc, run_data *d) {
    memset(d, 0, sizeof *d);
    arff_data whole;
    memset(&whole, 0, sizeof whole);
    arff_layout layout = rc->layout;
    char **xml_names = NULL, **ignore = NULL;
    size_t n_xml = 0, n_ignore = 0;
    if (rc->labels_xml) {
        arff_error aerr;
        if (arff_label_names_from_xml(rc->labels_xml, &xml_names, &n_xml, &aerr) != 0) {
            fprintf(stderr, "%s:%zu:%zu: %s\n", aerr.file, aerr.line, aerr.column, aerr.message);
            goto fail;
        }
        layout.label_names = (const char *const *)xml_names;
        layout.n_labels = n_xml;
    }
    if (rc->ignore_list && run_split_names(who, "--ignore", rc->ignore_list, &ignore, &n_ignore))
        goto fail;
    layout.ignore = (const char *const *)ignore;
    layout.n_ignore = n_ignore;
    if (load_one(who, rc->train_path, &layout, &whole) != 0 ||
        load_one(who, rc->test_path, &layout, &d->test) != 0 ||
        (rc->val_file && load_one(who, rc->val_file, &layout, &d->val) != 0))
        goto fail;
    if (whole.labels == 0) {
        fprintf(stderr,
                "%s: %s: how many labels? give --labels N (or --labels-xml FILE), or put "
                "MEKA's '-C N' in the @relation name\n",
                who, rc->train_path);
        goto fail;
    }
    char why[512];
    if (arff_same_attributes(&whole, &d->test, "TRAIN", "TEST", why, sizeof why) != 0 ||
        (rc->val_file &&
         arff_same_attributes(&whole, &d->val, "TRAIN", "the --val file", why, sizeof why) != 0)) {
        fprintf(stderr, "%s: train, validation and test files differ: %s\n", who, why);
        goto fail;
    }
    if (rc->val_fraction > 0) {
        uint8_t *mask = malloc(whole.rows);
        int bad = !mask ||
                  split_stratified(whole.y, whole.rows, whole.labels, rc->val_fraction,
                                   rc->split_seed, mask) != 0 ||
                  split_subset(&whole, mask, 0, &d->train) ||
                  split_subset(&whole, mask, 1, &d->val);
        free(mask);
        if (bad) {
            fprintf(stderr, "%s: cannot hold out %g of %zu training rows for validation\n", who,
                    rc->val_fraction, whole.rows);
            goto fail;
        }
        arff_free(&whole);
    } else
        d->train = whole, memset(&whole, 0, sizeof whole);
    d->label_names = d->test.names ? d->test.names + d->test.features : NULL;
    float *mean = malloc(d->train.features * sizeof *mean + 1);
    float *sd = malloc(d->train.features * sizeof *sd + 1);
    if (!mean || !sd) {
        free(mean), free(sd);
        fprintf(stderr, "%s: out of host memory\n", who);
        goto fail;
    }
    arff_fit_standardizer(d->train.x, d->train.rows, d->train.features, mean, sd);
    arff_standardize(d->train.x, d->train.rows, d->train.features, mean, sd);
    arff_standardize(d->test.x, d->test.rows, d->test.features, mean, sd);
    if (d->val.rows)
        arff_standardize(d->val.x, d->val.rows, d->val.features, mean, sd);
    free(mean), free(sd);
    arff_free_names(xml_names, n_xml);
    free(ignore);
    return 0;
fail:
    arff_free_names(xml_names, n_xml);
    free(ignore);
    arff_free(&whole);
    run_data_free(d);
    return -1;
}

void run_data_free(run_data *d) {
    arff_free(&d->train);
    arff_free(&d->val);
    arff_free(&d->test);
    d->label_names = NULL;
}

aplcl_ctx *run_ctx_create(const char *who, const run_common *rc) {
    aplcl_ctx *ctx = NULL;
    aplcl_status st = cli_ctx_create(&ctx, rc->device);
    if (st != APLCL_SUCCESS)
        fprintf(stderr, "%s: device '%s': %s\n", who, rc->device ? rc->device : "(default)",
                aplcl_status_string(st));
    return ctx;
}

void run_config_begin(FILE *f, const char *command, const run_common *rc, const run_data *d) {
    fputs("{\"command\":", f);
    cli_json_str(f, command);
    fputs(",\"train\":", f);
    cli_json_str(f, rc->train_path);
    fputs(",\"test\":", f);
    cli_json_str(f, rc->test_path);
    fputs(",\"val\":", f);
    if (rc->val_file)
        cli_json_str(f, rc->val_file);
    else
        cli_json_num(f, rc->val_fraction > 0 ? rc->val_fraction : NAN);
    fprintf(f,
            ",\"split_seed\":%llu,\"rows\":{\"train\":%zu,\"val\":%zu,\"test\":%zu},"
            "\"features\":%zu,\"labels\":%zu",
            (unsigned long long)rc->split_seed, d->train.rows, d->val.rows, d->test.rows,
            d->train.features, d->train.labels);
}

void run_config_seeds(FILE *f, const run_common *rc) {
    fputs(",\"seeds\":[", f);
    for (int s = 0; s < rc->n_seeds; ++s)
        fprintf(f, "%s%llu", s ? "," : "", (unsigned long long)rc->seeds[s]);
    fputc(']', f);
}
