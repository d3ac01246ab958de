/* train.c: `aplcl train`, a multi-label classifier trained on the OpenCL device with any loss.
 *
 * Reads ARFF train/test files (MULAN's layout, labels last, or MEKA's, labels first), standardises
 * features with the training statistics, fits features -> [hidden ReLU layer] -> linear head with
 * mini-batch Adam (train_net.c), and reports per epoch the training loss and the test mAP,
 * micro-F1 and macro-F1 (threshold 0.5); stops when the loss or the logits stop being finite.
 * Several losses and seeds compare in one run; the options go through common/options.h. Not a
 * general trainer: one architecture, fixed schedule.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r, isatty */
#include "arff.h"
#include "cli.h"
#include "metrics.h"
#include "train_net.h"
#include "train_parallel.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOSSES 16
#define MAX_SEEDS 16
#define MAX_EPOCHS 100000
#define MAX_HIDDEN 65536
#define MAX_BATCH 65536

typedef struct {
    char name[96];
    aplcl_params p;
} loss_spec;

#define WHO "aplcl train"

/* A loss parameter: a finite float (the validation of aplcl_params_validate comes after). */
static int loss_num(const char *spec, const char *key, const char *v, float *out) {
    char what[96];
    double d = 0;
    snprintf(what, sizeof what, "loss '%s': %s", spec, key);
    if (cli_parse_f64(WHO, what, v, -FLT_MAX, FLT_MAX, &d))
        return -1;
    *out = (float)d;
    return 0;
}

/* "a1/a2/...": at most APLCL_MAX_TERMS coefficients, each a finite float. */
static int loss_terms(const char *spec, const char *key, char *v, float *c, int *n) {
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(v, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (*n == APLCL_MAX_TERMS) {
            fprintf(stderr, WHO ": loss '%s': %s takes at most %d coefficients\n", spec, key,
                    APLCL_MAX_TERMS);
            return -1;
        }
        if (loss_num(spec, key, t, &c[(*n)++]))
            return -1;
    }
    return 0;
}

/* "name[:key=value,...]": name is apl, bce, asl, focal or poly1; keys gamma_pos, gamma_neg,
 * gamma (both), clip, eps, alpha (a1/a2/...), beta (b1/...), focus (0/1), epsilon (poly1).
 * Prints why and returns -1 on a bad spec. */
static int parse_loss(const char *spec, loss_spec *out) {
    static const char *const keys[] = {"gamma_pos", "gamma_neg", "gamma", "clip", "eps",
                                       "focus",     "epsilon",   "alpha", "beta"};
    static const char *const names[] = {"apl", "bce", "asl", "focal", "poly1"};
    char buf[256];
    if (strlen(spec) >= sizeof out->name) {
        fprintf(stderr, WHO ": loss spec longer than %zu bytes: '%s'\n", sizeof out->name - 1,
                spec);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    snprintf(out->name, sizeof out->name, "%s", spec);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    const char *name = buf;
    if (strcmp(name, "apl") == 0)
        out->p = aplcl_params_default();
    else if (strcmp(name, "bce") == 0)
        out->p = aplcl_params_bce();
    else if (strcmp(name, "asl") == 0)
        out->p = aplcl_params_asl(4.0f, 0.0f, 0.05f);
    else if (strcmp(name, "focal") == 0)
        out->p = aplcl_params_focal(2.0f);
    else if (strcmp(name, "poly1") == 0)
        out->p = aplcl_params_poly1(1.0f);
    else {
        const char *near = cli_nearest(name, names, 5);
        fprintf(stderr, WHO ": unknown loss '%s'%s%s%s (apl, bce, asl, focal, poly1)\n", name,
                near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return -1;
    }
    char *kv_save = NULL;
    for (char *kv = colon ? strtok_r(colon + 1, ",", &kv_save) : NULL; kv;
         kv = strtok_r(NULL, ",", &kv_save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, WHO ": loss '%s': '%s' is not key=value\n", spec, kv);
            return -1;
        }
        *eq = '\0';
        const char *k = kv;
        char *v = eq + 1;
        aplcl_params *p = &out->p;
        float f = 0;
        int bad = 0;
        if (strcmp(k, "alpha") == 0)
            bad = loss_terms(spec, k, v, p->alpha, &p->n_alpha);
        else if (strcmp(k, "beta") == 0)
            bad = loss_terms(spec, k, v, p->beta, &p->n_beta);
        else if (strcmp(k, "focus") == 0) {
            int64_t b = 0;
            bad = cli_parse_i64(WHO, "loss key focus", v, 0, 1, &b);
            p->focus_grad = (int)b;
        } else if ((bad = loss_num(spec, k, v, &f)) != 0)
            ;
        else if (strcmp(k, "gamma_pos") == 0)
            p->gamma_pos = f;
        else if (strcmp(k, "gamma_neg") == 0)
            p->gamma_neg = f;
        else if (strcmp(k, "gamma") == 0)
            p->gamma_pos = p->gamma_neg = f;
        else if (strcmp(k, "clip") == 0)
            p->clip = f;
        else if (strcmp(k, "eps") == 0)
            p->eps = f;
        else if (strcmp(k, "epsilon") == 0)
            p->alpha[0] = p->beta[0] = 1.0f + f, p->n_alpha = p->n_beta = 1;
        else {
            const char *near = cli_nearest(k, keys, sizeof keys / sizeof keys[0]);
            fprintf(stderr, WHO ": loss '%s': unknown key '%s'%s%s%s\n", spec, k,
                    near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
            return -1;
        }
        if (bad)
            return -1;
    }
    aplcl_status st = aplcl_params_validate(&out->p);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, WHO ": loss '%s': %s\n", spec, aplcl_status_string(st));
        return -1;
    }
    return 0;
}

typedef struct {
    double train_loss, map, micro_f1, macro_f1;
} epoch_result;

/* The progress bar: only where rc->progress says (a terminal, or --progress). */
static void progress(int epoch, int epochs, size_t done, size_t total) {
    int width = 30, filled = (int)(width * done / (total ? total : 1));
    fprintf(stderr, "\r  epoch %3d/%-3d [", epoch, epochs);
    for (int i = 0; i < width; ++i)
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %zu/%zu batches", done, total);
    if (done == total)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

static void shuffle(uint32_t *a, size_t n, cli_rng *r) {
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)(cli_rng_next(r) % i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

typedef struct {
    const arff_data *train, *test;
    int epochs, hidden;
    size_t batch;
    float lr;
    int progress; /* draw the bar on stderr */
    FILE *csv;
} run_config;

/* Trains one model; fills the final epoch's result. */
static int train_one(aplcl_ctx *ctx, const run_config *rc, const loss_spec *loss, uint64_t seed,
                     epoch_result *final) {
    const arff_data *tr = rc->train, *te = rc->test;
    train_net_config cfg = {
        tr->features, (size_t)rc->hidden, tr->labels, rc->batch, rc->lr, 0.9f, 0.999f, 1e-8f, 0.0f,
        seed};
    char err[256];
    train_net *net = train_net_create(ctx, &cfg, err, sizeof err);
    if (!net) {
        fprintf(stderr, "aplcl train: %s\n", err);
        return -1;
    }
    int rcode = -1;
    uint32_t *order = malloc(tr->rows * sizeof *order);
    float *logits = malloc(te->rows * te->labels * sizeof *logits);
    size_t nb = (tr->rows + rc->batch - 1) / rc->batch;
    float *losses = malloc(nb * sizeof *losses);
    if (!order || !logits || !losses)
        goto out;
    int s_tr = train_net_upload(net, tr->x, tr->y, tr->rows);
    int s_te = train_net_upload(net, te->x, te->y, te->rows);
    if (s_tr < 0 || s_te < 0)
        goto fail;
    for (size_t i = 0; i < tr->rows; ++i)
        order[i] = (uint32_t)i;
    cli_rng rng = {seed * 7919 + 17};
    /* mean over the batch's samples, summed over labels: the usual multi-label convention */
    aplcl_params p = loss->p;
    p.reduction = APLCL_REDUCE_MEAN;
    for (int ep = 1; ep <= rc->epochs; ++ep) {
        shuffle(order, tr->rows, &rng);
        for (size_t b = 0; b < nb; ++b) {
            size_t r0 = b * rc->batch, n = tr->rows - r0 < rc->batch ? tr->rows - r0 : rc->batch;
            p.normalizer = (double)n;
            if (train_net_step(net, s_tr, order + r0, n, &p, b))
                goto fail;
            if (rc->progress && (b % 4 == 3 || b + 1 == nb))
                progress(ep, rc->epochs, b + 1, nb);
        }
        uint64_t nonfinite = 0;
        if (train_net_losses(net, losses, nb, &nonfinite) || train_net_predict(net, s_te, logits))
            goto fail;
        double sum = 0;
        for (size_t b = 0; b < nb; ++b)
            sum += losses[b];
        epoch_result er;
        er.train_loss = sum / (double)nb;
        size_t bad_test = 0;
        for (size_t i = 0; i < te->rows * te->labels; ++i)
            bad_test += !isfinite(logits[i]);
        /* Non-finite logits add nothing to the loss, so a diverged model can report a small
         * finite loss: the kernel's count says what the loss alone does not. */
        if (!isfinite(er.train_loss) || nonfinite || bad_test) {
            fprintf(stderr,
                    WHO ": %s seed %llu epoch %d: training diverged: train loss %g, %llu "
                        "non-finite training logits, %zu non-finite test logits (try a smaller "
                        "--lr)\n",
                    loss->name, (unsigned long long)seed, ep, er.train_loss,
                    (unsigned long long)nonfinite, bad_test);
            goto out;
        }
        size_t skipped = 0;
        for (size_t i = 0; i < te->rows * te->labels; ++i)
            logits[i] = 1.0f / (1.0f + expf(-logits[i]));
        er.map = metrics_map(logits, te->y, te->rows, te->labels, &skipped);
        metrics_f1(logits, te->y, te->rows, te->labels, 0.5f, &er.micro_f1, &er.macro_f1);
        printf("  %-14s seed %-3llu epoch %3d  train loss %9.5f  test mAP %.4f  micro-F1 %.4f  "
               "macro-F1 %.4f\n",
               loss->name, (unsigned long long)seed, ep, er.train_loss, er.map, er.micro_f1,
               er.macro_f1);
        fflush(stdout);
        if (rc->csv) {
            cli_csv_field(rc->csv, loss->name);
            fprintf(rc->csv, ",%llu,%d,%.6f,%.6f,%.6f,%.6f\n", (unsigned long long)seed, ep,
                    er.train_loss, er.map, er.micro_f1, er.macro_f1);
            if (fflush(rc->csv) != 0)
                goto out; /* a write error: cli_train's close reports it */
        }
        *final = er;
    }
    rcode = 0;
    goto out;
fail:
    fprintf(stderr, "%s" WHO ": %s\n", rc->progress ? "\n" : "", train_net_error(net));
out:
    free(order), free(logits), free(losses);
    train_net_destroy(net);
    return rcode;
}

/* train_one over several workers (cli/train_parallel.c). */
static int train_parallel(aplcl_ctx *ctx, const tp_options *par, const run_config *rc,
                          const loss_spec *loss, uint64_t seed, epoch_result *final) {
    tp_job j = {rc->train, rc->test,   rc->epochs, rc->hidden, rc->batch, rc->lr,
                rc->csv,   loss->name, loss->p,    seed,       ctx};
    double r[4];
    if (tp_train_one(par, &j, r) != 0)
        return -1;
    *final = (epoch_result){r[0], r[1], r[2], r[3]};
    return 0;
}

static void mean_sd(const double *v, int n, double *mean, double *sd) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; ++i)
        s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; ++i)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: aplcl train TRAIN.arff TEST.arff [--labels N | --labels-xml FILE]\n"
            "         [--labels-first] [--loss LIST] [--epochs E] [--hidden H]\n"
            "         [--seed S | --seeds S1,S2,..] [--batch B] [--lr LR] [--csv FILE]\n"
            "         [--device D] [--progress | --quiet]\n"
            "         [--parallel data|labels] [--devices D1,D2,..]  (mpirun -n R: ranks)\n"
            "  --labels N      the last N attributes are the labels (MULAN); with --labels-first\n"
            "                  the first N (MEKA). Optional when the @relation name carries\n"
            "                  MEKA's '-C N' (N > 0: first N, N < 0: last -N).\n"
            "  --loss LIST     specs separated by ';' or a plain comma list of names, e.g.\n"
            "                  apl,bce,asl  or  'apl;asl:gamma_neg=2,clip=0.1;focal:gamma=1'\n"
            "                  (at most %d); names: apl (reference defaults), bce,\n"
            "                  asl (4, 0, 0.05), focal (2), poly1 (1); keys: gamma_pos gamma_neg\n"
            "                  gamma clip eps alpha=a1/a2 beta=b1/.. (at most %d) focus epsilon\n"
            "  --epochs E      1..%d (default 30)     --hidden H  0 (linear, default)..%d\n"
            "  --batch B       1..%d (default 64)     --lr LR     > 0, finite (default 3e-3)\n"
            "  --seeds LIST    at most %d seeds (default: --seed, else 1)\n"
            "  --csv FILE      per-epoch results as RFC 4180 CSV\n"
            "  --device D      \"P:D\" or a name substring (default $APLCL_DEVICE, else the\n"
            "                  library's choice)\n"
            "  --progress / --quiet  draw / do not draw the progress bar (default: only when\n"
            "                  stderr is a terminal)\n"
            "  --parallel M    data (batch shares) or labels (label blocks) over the workers:\n"
            "                  MPI ranks x --devices (default --device); see the README\n"
            "Stops with exit 1 when the loss or the logits stop being finite.\n",
            MAX_LOSSES, APLCL_MAX_TERMS, MAX_EPOCHS, MAX_HIDDEN, MAX_BATCH, MAX_SEEDS);
}

/* Copies a list option's value into buf (cap bytes), or says it is too long (-1). */
static int copy_list(const char *opt, const char *list, char *buf, size_t cap) {
    if (strlen(list) >= cap) {
        fprintf(stderr, WHO ": %s list longer than %zu bytes\n", opt, cap - 1);
        return -1;
    }
    snprintf(buf, cap, "%s", list);
    return 0;
}

/* The next sep-separated entry of the list at *cur, cut in place; NULL after the last. */
static char *next_entry(char **cur, char sep) {
    char *tok = *cur;
    if (tok && (*cur = strchr(tok, sep)) != NULL)
        *(*cur)++ = '\0';
    return tok;
}

/* Splits the --loss list: ';' separates specs when there is one or any spec has keys, else ','
 * (plain names). Empty entries and more than `max` specs are errors. */
static int parse_loss_list(const char *list, loss_spec *out, int max) {
    char buf[4096];
    if (copy_list("--loss", list, buf, sizeof buf))
        return -1;
    /* ',' separates plain names only: a spec with keys ("asl:gamma=2,clip=0.1") is one spec */
    char sep = strchr(buf, ';') || strchr(buf, ':') ? ';' : ',';
    int n = 0;
    for (char *cur = buf, *tok; (tok = next_entry(&cur, sep)) != NULL; ++n) {
        if (!*tok) {
            fprintf(stderr, WHO ": empty entry in the --loss list '%s'\n", list);
            return -1;
        }
        if (n == max) {
            fprintf(stderr, WHO ": more than %d losses in --loss\n", max);
            return -1;
        }
        if (parse_loss(tok, &out[n]) != 0)
            return -1;
    }
    return n;
}

/* --seeds "S1,S2,...": at most max, each a 64-bit unsigned integer. */
static int parse_seeds(const char *list, uint64_t *out, int max) {
    char buf[1024];
    if (copy_list("--seeds", list, buf, sizeof buf))
        return -1;
    int n = 0;
    for (char *cur = buf, *tok; (tok = next_entry(&cur, ',')) != NULL; ++n) {
        if (n == max) {
            fprintf(stderr, WHO ": more than %d seeds in --seeds\n", max);
            return -1;
        }
        if (cli_parse_u64(WHO, "--seeds", tok, 0, UINT64_MAX, &out[n]))
            return -1;
    }
    return n;
}

/* What the command line asks for. */
typedef struct {
    const char *train_path, *test_path, *csv_path, *device;
    arff_layout layout;
    loss_spec losses[MAX_LOSSES];
    int n_losses;
    uint64_t seeds[MAX_SEEDS];
    int n_seeds;
} train_args;

enum {
    O_LABELS,
    O_LABELS_XML,
    O_LABELS_FIRST,
    O_LOSS,
    O_EPOCHS,
    O_HIDDEN,
    O_SEED,
    O_SEEDS,
    O_BATCH,
    O_LR,
    O_CSV,
    O_DEVICE,
    O_PROGRESS,
    O_QUIET,
    O_COUNT
};

/* Fills *a and *rc from argv. Returns -1 to go on, else the exit status (0 after --help). */
static int parse_args(int argc, char **argv, train_args *a, run_config *rc) {
    cli_option o[O_COUNT] = {
        {"--labels", 1, NULL},   {"--labels-xml", 1, NULL}, {"--labels-first", 0, NULL},
        {"--loss", 1, NULL},     {"--epochs", 1, NULL},     {"--hidden", 1, NULL},
        {"--seed", 1, NULL},     {"--seeds", 1, NULL},      {"--batch", 1, NULL},
        {"--lr", 1, NULL},       {"--csv", 1, NULL},        {"--device", 1, NULL},
        {"--progress", 0, NULL}, {"--quiet", 0, NULL}};
    const char *pos[2];
    int np = 0;
    int pr = cli_parse(WHO, argc, argv, o, O_COUNT, pos, 2, &np);
    if (pr == CLI_PARSE_HELP) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr == CLI_PARSE_OK && np < 2)
        fprintf(stderr, WHO ": needs TRAIN.arff and TEST.arff (--help shows the usage)\n");
    if (pr != CLI_PARSE_OK || np < 2)
        return CLI_EXIT_USAGE;
    a->train_path = pos[0], a->test_path = pos[1];
    a->csv_path = o[O_CSV].value;
    a->device = cli_device_choice(o[O_DEVICE].value);
    int64_t i64 = 0;
    uint64_t u64 = 0;
    double d = 0;
    if (o[O_EPOCHS].value && cli_parse_i64(WHO, "--epochs", o[O_EPOCHS].value, 1, MAX_EPOCHS, &i64))
        return CLI_EXIT_USAGE;
    rc->epochs = o[O_EPOCHS].value ? (int)i64 : 30;
    if (o[O_HIDDEN].value && cli_parse_i64(WHO, "--hidden", o[O_HIDDEN].value, 0, MAX_HIDDEN, &i64))
        return CLI_EXIT_USAGE;
    rc->hidden = o[O_HIDDEN].value ? (int)i64 : 0;
    if (o[O_BATCH].value && cli_parse_i64(WHO, "--batch", o[O_BATCH].value, 1, MAX_BATCH, &i64))
        return CLI_EXIT_USAGE;
    rc->batch = o[O_BATCH].value ? (size_t)i64 : 64;
    if (o[O_LR].value && cli_parse_f64(WHO, "--lr", o[O_LR].value, 0, FLT_MAX, &d))
        return CLI_EXIT_USAGE;
    if (o[O_LR].value && !(d > 0)) {
        fprintf(stderr, WHO ": --lr must be above 0\n");
        return CLI_EXIT_USAGE;
    }
    rc->lr = o[O_LR].value ? (float)d : 3e-3f;
    if (o[O_PROGRESS].value && o[O_QUIET].value) {
        fprintf(stderr, WHO ": --progress and --quiet exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    rc->progress = o[O_PROGRESS].value ? 1 : o[O_QUIET].value ? 0 : isatty(fileno(stderr));

    a->layout.place = o[O_LABELS_FIRST].value ? ARFF_LABELS_FIRST : ARFF_LABELS_AUTO;
    a->layout.n_labels = 0;
    if (o[O_LABELS].value && o[O_LABELS_XML].value) {
        fprintf(stderr, WHO ": --labels and --labels-xml exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    if (o[O_LABELS].value) {
        if (cli_parse_u64(WHO, "--labels", o[O_LABELS].value, 1, ARFF_MAX_ATTRIBUTES, &u64))
            return CLI_EXIT_USAGE;
        a->layout.n_labels = (size_t)u64;
    } else if (o[O_LABELS_XML].value) {
        arff_error aerr;
        if (arff_label_count_from_xml(o[O_LABELS_XML].value, &a->layout.n_labels, &aerr) != 0) {
            fprintf(stderr, "%s:%zu:%zu: %s\n", aerr.file, aerr.line, aerr.column, aerr.message);
            return CLI_EXIT_FAIL;
        }
    }
    a->n_losses = parse_loss_list(o[O_LOSS].value ? o[O_LOSS].value : "apl", a->losses, MAX_LOSSES);
    if (a->n_losses <= 0)
        return CLI_EXIT_USAGE;
    if (o[O_SEED].value && o[O_SEEDS].value) {
        fprintf(stderr, WHO ": --seed and --seeds exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    if (o[O_SEEDS].value) {
        if ((a->n_seeds = parse_seeds(o[O_SEEDS].value, a->seeds, MAX_SEEDS)) <= 0)
            return CLI_EXIT_USAGE;
    } else {
        a->n_seeds = 1;
        a->seeds[0] = 1;
        if (o[O_SEED].value &&
            cli_parse_u64(WHO, "--seed", o[O_SEED].value, 0, UINT64_MAX, &a->seeds[0]))
            return CLI_EXIT_USAGE;
    }
    return -1;
}

int cli_train(int argc, char **argv) {
    train_args args;
    run_config rc;
    memset(&args, 0, sizeof args);
    memset(&rc, 0, sizeof rc);
    tp_options par; /* --parallel, --devices: cli/train_parallel.c */
    int pa = tp_take_options(&argc, argv, &par);
    if (pa < 0)
        pa = parse_args(argc, argv, &args, &rc);
    if (pa >= 0)
        return pa;
    const char *train_path = args.train_path, *test_path = args.test_path, *csv_s = args.csv_path;
    const loss_spec *losses = args.losses;
    const uint64_t *seeds = args.seeds;
    int n_losses = args.n_losses, n_seeds = args.n_seeds;
    arff_error aerr;

    arff_data train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (arff_load_layout(train_path, &args.layout, &train, &aerr) != 0 ||
        arff_load_layout(test_path, &args.layout, &test, &aerr) != 0) {
        fprintf(stderr, "%s:%zu:%zu: %s\n", aerr.file, aerr.line, aerr.column, aerr.message);
        arff_free(&train);
        return 1;
    }
    int status = 1;
    aplcl_ctx *ctx = NULL;
    if (train.labels == 0) {
        fprintf(stderr,
                WHO ": %s: how many labels? give --labels N (or --labels-xml FILE), or put "
                    "MEKA's '-C N' in the @relation name\n",
                train_path);
        goto done;
    }
    if (train.features != test.features || train.labels != test.labels ||
        train.labels_first != test.labels_first) {
        fprintf(stderr, "aplcl train: train and test files differ in attributes\n");
        goto done;
    }
    float *mean = malloc(train.features * sizeof *mean), *sd = malloc(train.features * sizeof *sd);
    if (!mean || !sd)
        goto done;
    arff_fit_standardizer(train.x, train.rows, train.features, mean, sd);
    arff_standardize(train.x, train.rows, train.features, mean, sd);
    arff_standardize(test.x, test.rows, test.features, mean, sd);
    free(mean), free(sd);

    aplcl_status st = aplcl_ctx_create(&ctx, args.device);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, WHO ": device '%s': %s\n", args.device ? args.device : "(default)",
                aplcl_status_string(st));
        goto done;
    }
    char model[64];
    if (rc.hidden)
        snprintf(model, sizeof model, "%zu-%d(ReLU)-%zu", train.features, rc.hidden, train.labels);
    else
        snprintf(model, sizeof model, "%zu-%zu (linear)", train.features, train.labels);
    printf("aplcl train: %zu train / %zu test rows, %zu features, %zu labels (%s); model %s; Adam "
           "lr %g, batch %zu, %d epochs; device %s\n",
           train.rows, test.rows, train.features, train.labels,
           train.labels_first ? "first" : "last", model, (double)rc.lr, rc.batch, rc.epochs,
           aplcl_ctx_device_name(ctx));
    rc.train = &train;
    rc.test = &test;
    if (csv_s) {
        rc.csv = fopen(csv_s, "w");
        if (!rc.csv) {
            fprintf(stderr, WHO ": cannot write %s: %s\n", csv_s, strerror(errno));
            goto done;
        }
        fprintf(rc.csv, "loss,seed,epoch,train_loss,test_map,micro_f1,macro_f1\n");
    }
    static epoch_result results[MAX_LOSSES][MAX_SEEDS];
    for (int l = 0; l < n_losses; ++l)
        for (int s = 0; s < n_seeds; ++s)
            if (par.mode ? train_parallel(ctx, &par, &rc, &losses[l], seeds[s], &results[l][s])
                         : train_one(ctx, &rc, &losses[l], seeds[s], &results[l][s]))
                goto done;

    printf("\nfinal epoch, test set (%d seed%s: mean +- sd)\n", n_seeds, n_seeds > 1 ? "s" : "");
    printf("  %-40s %-18s %-18s %-18s\n", "loss", "mAP", "micro-F1", "macro-F1");
    for (int l = 0; l < n_losses; ++l) {
        double m[3][MAX_SEEDS], mu[3], sdv[3];
        for (int s = 0; s < n_seeds; ++s) {
            m[0][s] = results[l][s].map;
            m[1][s] = results[l][s].micro_f1;
            m[2][s] = results[l][s].macro_f1;
        }
        for (int k = 0; k < 3; ++k)
            mean_sd(m[k], n_seeds, &mu[k], &sdv[k]);
        printf("  %-40s %.4f +- %.4f    %.4f +- %.4f    %.4f +- %.4f\n", losses[l].name, mu[0],
               sdv[0], mu[1], sdv[1], mu[2], sdv[2]);
    }
    size_t skipped = 0;
    printf("  %-40s %.4f\n", "baseline (constant scores: label frequency)",
           metrics_baseline_map(test.y, test.rows, test.labels, &skipped));
    status = 0;
done:
    if (cli_close_output(rc.csv, csv_s, WHO) || cli_close_output(stdout, NULL, WHO))
        status = 1;
    aplcl_ctx_destroy(ctx);
    arff_free(&train);
    arff_free(&test);
    tp_finish(&par, status); /* a failed rank stops all of them */
    return status;
}
