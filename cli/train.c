/* train.c: `aplcl train`, a multi-label classifier trained on the OpenCL device with any loss.
 *
 * Reads ARFF train/test files (MULAN's layout, labels last, or MEKA's, labels first), optionally
 * holds out a validation set (--val), standardises features with the training statistics, fits
 * features -> [hidden ReLU layer] -> linear head with mini-batch Adam (train/trainer.c), and
 * reports per epoch the training loss, the validation mAP and the test mAP, micro-F1 and macro-F1
 * (threshold 0.5); stops when the loss or the logits stop being finite. The final table reports
 * the epoch --select chooses (on validation, never on test). Several losses and seeds compare in
 * one run; --out DIR writes the configuration, curves, final table, per-label AP and a chart.
 * Not a general trainer: one architecture, fixed schedule.
 */
#include "cli.h"
#include "loss_spec.h"
#include "metrics.h"
#include "pos_weight.h"
#include "report.h"
#include "run_common.h"
#include "train_parallel.h"
#include "trainer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOSSES 16
#define WHO "aplcl train"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: aplcl train TRAIN.arff TEST.arff [--labels N | --labels-xml FILE]\n"
        "         [--labels-first] [--loss LIST] [--epochs E] [--hidden H]\n"
        "         [--seed S | --seeds S1,S2,..] [--batch B] [--lr LR] [--csv FILE]\n"
        "         [--val FRACTION | --val FILE] [--split-seed S] [--select best-val|last]\n"
        "         [--pos-weight auto|FILE] [--out DIR] [--device D] [--progress | --quiet]\n"
        "  --loss LIST     specs separated by ';' or a plain comma list of names, e.g.\n"
        "                  apl,bce,asl  or  'apl;asl:gamma_neg=2,clip=0.1;focal:gamma=1'\n"
        "                  (at most %d); names: apl (reference defaults), bce,\n"
        "                  asl (4, 0, 0.05), focal (2), poly1 (1); keys: gamma_pos gamma_neg\n"
        "                  gamma clip eps alpha=a1/a2 beta=b1/.. (at most %d) focus epsilon\n"
        "  --select S      best-val: report the epoch with the best validation mAP (the\n"
        "                  default with --val); last: the final epoch (the default without)\n"
        "  --csv FILE      per-epoch results as RFC 4180 CSV\n"
        "  --pos-weight W  every loss's positive term times a factor per label: auto =\n"
        "                  negatives/positives of the training rows, within [1/%g, %g];\n"
        "                  FILE = one number >= 0 per label (whitespace or commas, # comments)\n"
        "  --parallel M    data (batch shares) or labels (label blocks) over the workers:\n"
        "                  MPI ranks (mpirun -n R) x --devices D1,D2,.. (default --device);\n"
        "                  every rank must be given the same options and data; see the "
        "README\n",
        MAX_LOSSES, APLCL_MAX_TERMS, (double)POS_WEIGHT_CAP, (double)POS_WEIGHT_CAP);
    run_common_usage(f);
    fprintf(f,
            "  --out DIR       config.json, curves.csv, final.csv, final.json, per_label_ap.csv,\n"
            "                  curves.svg (train/val/test mAP per epoch, a panel per loss)\n"
            "Default 30 epochs. Stops with exit 1 when the loss or the logits stop being "
            "finite.\n");
}

enum { O_LOSS = RUN_COMMON_COUNT, O_CSV, O_SELECT, O_POS_WEIGHT, O_COUNT };

typedef struct {
    run_common rc;
    const char *csv_path;
    loss_spec losses[MAX_LOSSES];
    int n_losses;
    trainer_select select;
    const char *pos_weight; /* NULL, "auto" or a file */
} train_args;

/* Fills *a from argv. Returns -1 to go on, else the exit status (0 after --help). */
static int parse_args(int argc, char **argv, train_args *a) {
    cli_option o[O_COUNT] = {RUN_COMMON_OPTIONS,
                             {"--loss", 1, NULL},
                             {"--csv", 1, NULL},
                             {"--select", 1, NULL},
                             {"--pos-weight", 1, NULL}};
    int st = run_parse_args(WHO, argc, argv, o, O_COUNT, usage, &a->rc, 30);
    if (st >= 0)
        return st;
    a->csv_path = o[O_CSV].value;
    a->pos_weight = o[O_POS_WEIGHT].value;
    int has_val = a->rc.val_file || a->rc.val_fraction > 0;
    const char *sel = o[O_SELECT].value;
    if (sel && strcmp(sel, "best-val") != 0 && strcmp(sel, "last") != 0) {
        fprintf(stderr, WHO ": --select wants best-val or last, not '%s'\n", sel);
        return CLI_EXIT_USAGE;
    }
    a->select = sel ? (strcmp(sel, "best-val") == 0 ? TRAINER_SELECT_BEST_VAL : TRAINER_SELECT_LAST)
                    : (has_val ? TRAINER_SELECT_BEST_VAL : TRAINER_SELECT_LAST);
    if (a->select == TRAINER_SELECT_BEST_VAL && !has_val) {
        fprintf(stderr, WHO ": --select best-val needs --val (the test set never chooses)\n");
        return CLI_EXIT_USAGE;
    }
    a->n_losses =
        loss_spec_parse_list(WHO, o[O_LOSS].value ? o[O_LOSS].value : "apl", a->losses, MAX_LOSSES);
    return a->n_losses <= 0 ? CLI_EXIT_USAGE : -1;
}

static void write_config(FILE *f, const train_args *a, const run_data *d, const char *device,
                         const tp_options *par) {
    const run_common *rc = &a->rc;
    run_config_begin(f, "train", rc, d);
    fprintf(f, ",\"epochs\":%d,\"hidden\":%d,\"batch\":%zu,\"lr\":", rc->epochs, rc->hidden,
            rc->batch);
    cli_json_num(f, rc->lr);
    fprintf(f, ",\"select\":\"%s\"", a->select == TRAINER_SELECT_BEST_VAL ? "best-val" : "last");
    run_config_seeds(f, rc);
    fputs(",\"losses\":[", f);
    for (int l = 0; l < a->n_losses; ++l) {
        if (l)
            fputc(',', f);
        cli_json_str(f, a->losses[l].name);
    }
    fputs("],\"pos_weight\":", f);
    if (a->pos_weight)
        cli_json_str(f, a->pos_weight);
    else
        fputs("null", f);
    fputs(",\"device\":", f);
    cli_json_str(f, device);
    fputs(",\"parallel\":", f); /* rank 0's device above; the mode, ranks and --devices here */
    if (tp_mode_name(par)) {
        fputs("{\"mode\":", f);
        cli_json_str(f, tp_mode_name(par));
        fprintf(f, ",\"ranks\":%d,\"devices\":", tp_ranks(par));
        cli_json_str(f, par->devices);
        fputc('}', f);
    } else
        fputs("null", f);
    fputs("}\n", f);
}

/* --parallel: every rank must train the same model (the outcome of parsing first: a rank that
 * stops there must not leave the others waiting in a collective). 0, or -1 after tp_agree. */
static int agree_options(const tp_options *par, int pa, const train_args *a) {
    if (tp_agree(par, "their options (a rank stopped at them: --help or an error above)",
                 (uint64_t)(pa + 1)))
        return -1;
    if (pa >= 0)
        return 0;
    const run_common *rc = &a->rc;
    uint64_t loss = TP_HASH_INIT,
             seeds = tp_hash(TP_HASH_INIT, rc->seeds, (size_t)rc->n_seeds * sizeof rc->seeds[0]);
    for (int l = 0; l < a->n_losses; ++l) {
        char spec[LOSS_SPEC_MAX];
        loss_spec_format(&a->losses[l].p, spec, sizeof spec);
        loss = tp_hash(tp_hash(loss, a->losses[l].name, strlen(a->losses[l].name) + 1), spec,
                       strlen(spec) + 1);
    }
    uint64_t val[3] = {rc->val_file != NULL, rc->split_seed, 0};
    memcpy(&val[2], &rc->val_fraction, sizeof val[2]);
    uint32_t lr = 0;
    memcpy(&lr, &rc->lr, sizeof lr);
    const struct {
        const char *what;
        uint64_t value;
    } v[] = {{"--epochs", (uint64_t)rc->epochs},
             {"--hidden", (uint64_t)rc->hidden},
             {"--batch", rc->batch},
             {"--lr", lr},
             {"--loss", loss},
             {"--seed/--seeds", seeds},
             {"--labels/--labels-xml/--labels-first",
              rc->layout.n_labels * 4 + (uint64_t)rc->layout.place},
             {"--val/--split-seed", tp_hash(TP_HASH_INIT, val, sizeof val)},
             {"--select", (uint64_t)a->select},
             {"--pos-weight (given or not, auto or a file)",
              a->pos_weight ? 1 + (strcmp(a->pos_weight, "auto") == 0) : 0},
             {"--out (given on some ranks only: it decides what every epoch measures)",
              rc->out_dir != NULL}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; ++i)
        if (tp_agree(par, v[i].what, v[i].value))
            return -1;
    return 0;
}

static uint64_t data_hash(const arff_data *d) {
    size_t dims[3] = {d->rows, d->features, d->labels};
    uint64_t h = tp_hash(TP_HASH_INIT, dims, sizeof dims);
    h = tp_hash(h, d->x, d->rows * d->features * sizeof *d->x);
    return tp_hash(h, d->y, d->rows * d->labels);
}

/* cli_train's work; every return goes through tp_finish. */
static int train_main(int argc, char **argv, const tp_options *par) {
    static train_args a;
    memset(&a, 0, sizeof a);
    int pa = parse_args(argc, argv, &a);
    if (agree_options(par, pa, &a) != 0)
        return CLI_EXIT_FAIL;
    if (pa >= 0)
        return pa;
    const run_common *rc = &a.rc;
    /* --out is checked before any work (only the writing rank writes it) */
    if (rc->out_dir && tp_writer(par) && report_check_dir(rc->out_dir, WHO))
        return CLI_EXIT_FAIL;
    run_data d;
    if (run_data_load(WHO, rc, &d) != 0)
        return 1;
    int status = 1, n_runs = 0;
    FILE *csv = NULL;
    const char *csv_path = tp_writer(par) ? a.csv_path : NULL; /* one rank writes */
    trainer_result *runs = calloc((size_t)a.n_losses * (size_t)rc->n_seeds, sizeof *runs);
    float *pw = a.pos_weight ? calloc(d.train.labels + 1, sizeof *pw) : NULL;
    aplcl_ctx *ctx = NULL;
    if (!runs || (a.pos_weight && !pw)) {
        fprintf(stderr, WHO ": out of host memory\n");
        goto done;
    }
    if (pw && strcmp(a.pos_weight, "auto") == 0)
        pos_weight_auto(&d.train, pw);
    else if (pw && pos_weight_read(WHO, a.pos_weight, d.train.labels, pw) != 0)
        goto done;
    if (tp_agree(par, "the training data", data_hash(&d.train)) ||
        tp_agree(par, "the validation data", data_hash(&d.val)) ||
        tp_agree(par, "the test data", data_hash(&d.test)) ||
        (pw && tp_agree(par, "the --pos-weight values",
                        tp_hash(TP_HASH_INIT, pw, d.train.labels * sizeof *pw))))
        goto done;
    if (!(ctx = run_ctx_create(WHO, rc)))
        goto done;
    char model[64];
    if (rc->hidden)
        snprintf(model, sizeof model, "%zu-%d(ReLU)-%zu", d.train.features, rc->hidden,
                 d.train.labels);
    else
        snprintf(model, sizeof model, "%zu-%zu (linear)", d.train.features, d.train.labels);
    char val[48] = "";
    if (d.val.rows)
        snprintf(val, sizeof val, "%zu validation / ", d.val.rows);
    printf("aplcl train: %zu train / %s%zu test rows, %zu features, %zu labels (%s); model %s; "
           "Adam lr %g, batch %zu, %d epochs; device %s\n",
           d.train.rows, val, d.test.rows, d.train.features, d.train.labels,
           d.train.labels_first ? "first" : "last", model, (double)rc->lr, rc->batch, rc->epochs,
           aplcl_ctx_device_name(ctx));
    if (pw) {
        float lo = pw[0], hi = pw[0];
        for (size_t c = 1; c < d.train.labels; ++c)
            lo = pw[c] < lo ? pw[c] : lo, hi = pw[c] > hi ? pw[c] : hi;
        printf("aplcl train: pos_weight %s: %zu labels, %.3g .. %.3g\n", a.pos_weight,
               d.train.labels, (double)lo, (double)hi);
    }
    if (csv_path) {
        if (!(csv = fopen(csv_path, "w"))) {
            fprintf(stderr, WHO ": cannot write %s: %s\n", csv_path, strerror(errno));
            goto done;
        }
        fprintf(csv, "loss,seed,epoch,train_loss,test_map,micro_f1,macro_f1\n");
    }
    int width = 14;
    for (int l = 0; l < a.n_losses; ++l)
        width = (int)strlen(a.losses[l].name) > width ? (int)strlen(a.losses[l].name) : width;
    trainer_config tc = {&d.train,
                         d.val.rows ? &d.val : NULL,
                         &d.test,
                         rc->epochs,
                         rc->hidden,
                         rc->batch,
                         rc->lr,
                         a.select,
                         rc->out_dir != NULL,
                         rc->progress,
                         stdout,
                         width,
                         WHO,
                         pw};
    for (int l = 0; l < a.n_losses; ++l)
        for (int s = 0; s < rc->n_seeds; ++s) {
            trainer_result *r = &runs[n_runs];
            const char *name = a.losses[l].name;
            if (par->mode ? tp_train_run(par, ctx, &tc, name, &a.losses[l].p, rc->seeds[s], r)
                          : trainer_run(ctx, &tc, name, &a.losses[l].p, rc->seeds[s], 0, r))
                goto done;
            ++n_runs;
            for (int e = 0; csv && e < r->epochs; ++e) {
                const trainer_epoch *ep = &r->curve[e];
                cli_csv_field(csv, a.losses[l].name);
                fprintf(csv, ",%llu,%d,%.6f,%.6f,%.6f,%.6f\n", (unsigned long long)rc->seeds[s],
                        e + 1, ep->train_loss, ep->test.map, ep->test.micro_f1, ep->test.macro_f1);
            }
            if (csv && fflush(csv) != 0)
                goto done; /* a write error: the close below reports it */
            if (r->diverged)
                goto done;
        }
    report rep = {a.losses,
                  a.n_losses,
                  rc->seeds,
                  rc->n_seeds,
                  runs,
                  &d.test,
                  (const char *const *)d.label_names,
                  a.select,
                  d.val.rows > 0};
    report_table(stdout, &rep);
    size_t skipped = 0;
    printf("  %-*s %.4f\n", width, "baseline (constant scores: label frequency)",
           metrics_baseline_map(d.test.y, d.test.rows, d.test.labels, &skipped));
    status = 0;
    if (rc->out_dir && tp_writer(par)) {
        char path[4096];
        FILE *cf = NULL;
        if (report_make_dir(rc->out_dir, WHO) ||
            !(cf = report_open(rc->out_dir, "config.json", path, sizeof path, WHO)))
            status = 1;
        else {
            write_config(cf, &a, &d, aplcl_ctx_device_name(ctx), par);
            if (cli_close_output(cf, path, WHO) || report_write_dir(rc->out_dir, &rep, WHO))
                status = 1;
        }
    }
done:
    if (cli_close_output(csv, csv_path, WHO) || cli_close_output(stdout, NULL, WHO))
        status = 1;
    for (int i = 0; i < n_runs; ++i)
        trainer_result_free(&runs[i]);
    free(runs);
    free(pw);
    aplcl_ctx_destroy(ctx);
    run_data_free(&d);
    return status;
}

int cli_train(int argc, char **argv) {
    tp_options par; /* --parallel, --devices: cli/train_parallel.c */
    int status = tp_take_options(&argc, argv, &par);
    if (status < 0)
        status = train_main(argc, argv, &par);
    tp_finish(&par, status); /* whatever the exit: a failed rank stops all of them */
    return status;
}
