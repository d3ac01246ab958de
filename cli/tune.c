/* tune.c: `aplcl tune`, a budgeted search of APL's parameters scored on validation only, then
 * the winner and the baselines (BCE, ASL, reference APL) retrained on the same seeds and compared
 * on the test set.
 *
 * Successive halving (train/tune_search.h) over candidates drawn from the search space with a
 * seeded generator: same files, options and device, same trials and winner. Every trial goes to
 * DIR/trials.csv and trials.json; DIR/summary.json holds the winner's spec and each final loss's
 * test metrics (means over seeds). The test set is used only by the final retraining, never to
 * choose a candidate or an epoch. Not a general hyper-parameter tuner: APL's keys only, one model.
 */
#include "cli.h"
#include "loss_spec.h"
#include "report.h"
#include "run_common.h"
#include "trainer.h"
#include "tune_search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "aplcl tune"
#define MAX_TRIALS 4096

static void usage(FILE *f) {
    fprintf(f,
            "usage: aplcl tune TRAIN.arff TEST.arff (--labels N | --labels-xml F) [--seeds LIST]\n"
            "         [--out DIR] [--trials N] [--eta K] [--epochs E] [--min-epochs M]\n"
            "         [--search-seed S]\n"
            "         [--range key=lo:hi,...] [--val F|FILE] [--split-seed S] [--hidden H]\n"
            "         [--batch B] [--lr LR] [--device D] [--progress | --quiet]\n"
            "Successive halving: N candidates (default 27) drawn from the ranges train for\n"
            "E/K^r epochs, the best 1/K (default K 3) by validation mAP (the mean over the seeds\n"
            "of each run's best epoch) go on with K times more, until one trained for E epochs\n"
            "(default 30; no rung below M epochs, default 3, or E when E < 3) is left: the\n"
            "winner. The first two candidates are always the BCE and ASL points of the space\n"
            "(where the ranges hold them), so the winner is never below them on validation.\n"
            "Then the winner, bce, asl and apl are retrained on the same seeds (default 1,2,3)\n"
            "and compared on the test set at their best validation epoch.\n"
            "  --range LIST    key=lo:hi or key=value, comma-separated; keys and defaults:\n"
            "                  alpha1=0:3 alpha2=0:3 beta1=0.5:2 beta2=0.5 gamma_pos=0:2\n"
            "                  gamma_neg=0:6 clip=0:0.2 focus=0:1 (0 detached, 1 differentiated)\n"
            "  --search-seed S seeds the candidates (default 1)\n"
            "  --val           as for train; default 0.2 (tune always validates)\n"
            "  --out DIR       config.json, trials.csv, trials.json, summary.json, and train's\n"
            "                  --out files for the final runs\n");
    run_common_usage(f);
}

enum { O_TRIALS = RUN_COMMON_COUNT, O_ETA, O_SEARCH_SEED, O_RANGE, O_MIN_EPOCHS, O_COUNT };

typedef struct {
    int trial, rung, epochs, diverged;
    char spec[LOSS_SPEC_MAX];
    double val_map;
} trial_row;

typedef struct {
    run_common rc;
    int trials, eta, min_epochs;
    uint64_t search_seed;
    tune_space space;
} tune_args;

static int parse_args(int argc, char **argv, tune_args *a) {
    cli_option o[O_COUNT] = {RUN_COMMON_OPTIONS,   {"--trials", 1, NULL},
                             {"--eta", 1, NULL},   {"--search-seed", 1, NULL},
                             {"--range", 1, NULL}, {"--min-epochs", 1, NULL}};
    a->rc.val_fraction = 0.2; /* tune always validates */
    int st = run_parse_args(WHO, argc, argv, o, O_COUNT, usage, &a->rc, 30);
    if (st >= 0)
        return st;
    if (!cli_value(o, O_COUNT, "--seed") && !cli_value(o, O_COUNT, "--seeds"))
        a->rc.n_seeds = 3, a->rc.seeds[0] = 1, a->rc.seeds[1] = 2, a->rc.seeds[2] = 3;
    int64_t i64 = 0;
    if (o[O_TRIALS].value && cli_parse_i64(WHO, "--trials", o[O_TRIALS].value, 1, MAX_TRIALS, &i64))
        return CLI_EXIT_USAGE;
    a->trials = o[O_TRIALS].value ? (int)i64 : 27;
    if (o[O_ETA].value && cli_parse_i64(WHO, "--eta", o[O_ETA].value, 2, 16, &i64))
        return CLI_EXIT_USAGE;
    a->eta = o[O_ETA].value ? (int)i64 : 3;
    if (o[O_MIN_EPOCHS].value &&
        cli_parse_i64(WHO, "--min-epochs", o[O_MIN_EPOCHS].value, 1, a->rc.epochs, &i64))
        return CLI_EXIT_USAGE;
    a->min_epochs = o[O_MIN_EPOCHS].value ? (int)i64 : a->rc.epochs < 3 ? a->rc.epochs : 3;
    a->search_seed = 1;
    if (o[O_SEARCH_SEED].value &&
        cli_parse_u64(WHO, "--search-seed", o[O_SEARCH_SEED].value, 0, UINT64_MAX, &a->search_seed))
        return CLI_EXIT_USAGE;
    tune_space_default(&a->space);
    if (o[O_RANGE].value && tune_space_parse(WHO, o[O_RANGE].value, &a->space))
        return CLI_EXIT_USAGE;
    return -1;
}

/* The ETA line on stderr (only where rc->progress says). */
static void eta_line(double t0, long done, long total, int rung, int rungs, int i, int n) {
    double el = cli_now_s() - t0, eta = done ? el / (double)done * (double)(total - done) : 0;
    fprintf(stderr,
            "\r\033[K  rung %d/%d candidate %d/%d, %ld/%ld epochs, %.0fs elapsed, ETA %.0fs", rung,
            rungs, i, n, done, total, el, eta);
    fflush(stderr);
}

/* Trains `loss` on every seed; the score is the mean of the best validation mAP (NaN when any
 * seed diverged). Keeps the runs when keep != NULL. */
static int score(aplcl_ctx *ctx, const trainer_config *tc, const tune_args *a, const char *name,
                 const aplcl_params *p, double *out, trainer_result *keep) {
    double sum = 0;
    for (int s = 0; s < a->rc.n_seeds; ++s) {
        trainer_result r;
        if (trainer_run(ctx, tc, name, p, a->rc.seeds[s], keep == NULL, &r) != 0) {
            for (int k = 0; keep && k < s; ++k)
                trainer_result_free(&keep[k]);
            return -1;
        }
        const trainer_epoch *e = trainer_chosen(&r);
        sum += r.diverged || !e ? NAN : e->val.map;
        if (keep)
            keep[s] = r;
        else
            trainer_result_free(&r);
    }
    *out = sum / a->rc.n_seeds;
    return 0;
}

static void write_trials(FILE *csv, FILE *json, const trial_row *t, int n) {
    fputs("trial,rung,epochs,loss,val_map,diverged\n", csv);
    fputc('[', json);
    for (int i = 0; i < n; ++i) {
        fprintf(csv, "%d,%d,%d,", t[i].trial, t[i].rung, t[i].epochs);
        cli_csv_field(csv, t[i].spec);
        if (isnan(t[i].val_map))
            fprintf(csv, ",,%d\n", t[i].diverged);
        else
            fprintf(csv, ",%.9g,%d\n", t[i].val_map, t[i].diverged);
        fprintf(json, "%s\n {\"trial\":%d,\"rung\":%d,\"epochs\":%d,\"loss\":", i ? "," : "",
                t[i].trial, t[i].rung, t[i].epochs);
        cli_json_str(json, t[i].spec);
        fputs(",\"val_map\":", json);
        cli_json_num(json, t[i].val_map);
        fprintf(json, ",\"diverged\":%s}", t[i].diverged ? "true" : "false");
    }
    fputs("\n]\n", json);
}

/* Tuned APL (loss 0) against BCE (loss 1) on test mAP, paired by seed: a difference within two
 * standard errors (or with one seed, any) is called within noise rather than a win. */
typedef struct {
    double tuned, bce, diff, se;
    const char *text;
} verdict;

static void compare_bce(const report *rep, verdict *v) {
    double sd, d[64], ss = 0;
    int n = rep->n_seeds < 64 ? rep->n_seeds : 64;
    report_test_stat(rep, 0, 0, &v->tuned, &sd);
    report_test_stat(rep, 1, 0, &v->bce, &sd);
    v->diff = v->tuned - v->bce;
    for (int s = 0; s < n; ++s) {
        const trainer_epoch *a = trainer_chosen(&rep->runs[s]);
        const trainer_epoch *b = trainer_chosen(&rep->runs[rep->n_seeds + s]);
        d[s] = a && b ? a->test.map - b->test.map : NAN;
        ss += (d[s] - v->diff) * (d[s] - v->diff);
    }
    v->se = n > 1 ? sqrt(ss / (n - 1) / n) : NAN;
    v->text = !(fabs(v->diff) > 2 * v->se) ? "within noise: tuned APL does not clearly beat BCE"
              : v->diff > 0                ? "tuned APL beats BCE"
                                           : "tuned APL does not beat BCE (BCE is better)";
}

static void write_summary(FILE *f, const report *rep, const tune_args *a, const tune_schedule *sch,
                          double winner_val, const verdict *v) {
    fputs("{\"winner\":", f);
    cli_json_str(f, rep->losses[0].name);
    fputs(",\"results\":[", f);
    for (int l = 0; l < rep->n_losses; ++l) {
        fprintf(f, "%s\n {\"loss\":", l ? "," : "");
        cli_json_str(f, rep->losses[l].name);
        for (int m = 0; m < METRICS_COUNT; ++m) {
            double mu, sd;
            report_test_stat(rep, l, m, &mu, &sd);
            fprintf(f, ",\"test_%s\":", metrics_names[m]);
            cli_json_num(f, mu);
            if (m == 0) {
                fputs(",\"test_map_sd\":", f);
                cli_json_num(f, sd);
            }
        }
        fputc('}', f);
    }
    fprintf(f, "\n],\"winner_val_map\":");
    cli_json_num(f, winner_val);
    fputs(",\"vs_bce\":{\"test_map_diff\":", f);
    cli_json_num(f, v->diff);
    fputs(",\"paired_se\":", f);
    cli_json_num(f, v->se);
    fputs(",\"verdict\":", f);
    cli_json_str(f, v->text);
    fputc('}', f);
    fprintf(f,
            ",\"method\":\"successive halving\",\"trials\":%d,\"eta\":%d,\"max_epochs\":%d,"
            "\"min_epochs\":%d,\"rungs\":[",
            a->trials, a->eta, a->rc.epochs, a->min_epochs);
    for (int k = 0; k < sch->rungs; ++k)
        fprintf(f, "%s{\"candidates\":%d,\"epochs\":%d}", k ? "," : "", sch->n[k], sch->epochs[k]);
    fprintf(f, "],\"search_seed\":%llu,\"selection\":\"best validation mAP\",\"seeds\":[",
            (unsigned long long)a->search_seed);
    for (int s = 0; s < a->rc.n_seeds; ++s)
        fprintf(f, "%s%llu", s ? "," : "", (unsigned long long)a->rc.seeds[s]);
    fputs("],\"ranges\":{", f);
    for (int k = 0; k < TS_KEYS; ++k) {
        fprintf(f, "%s\"%s\":[", k ? "," : "", tune_keys[k]);
        cli_json_num(f, a->space.lo[k]);
        fputc(',', f);
        cli_json_num(f, a->space.hi[k]);
        fputc(']', f);
    }
    fputs("}}\n", f);
}

/* DIR/config.json: what the run was given (files, rows, options, seeds, device). */
static void write_config(FILE *f, const tune_args *a, const run_data *d, const char *device) {
    const run_common *rc = &a->rc;
    run_config_begin(f, "tune", rc, d);
    fprintf(f, ",\"epochs\":%d,\"min_epochs\":%d,\"hidden\":%d,\"batch\":%zu,\"lr\":", rc->epochs,
            a->min_epochs, rc->hidden, rc->batch);
    cli_json_num(f, (double)rc->lr);
    fprintf(f, ",\"trials\":%d,\"eta\":%d,\"search_seed\":%llu", a->trials, a->eta,
            (unsigned long long)a->search_seed);
    run_config_seeds(f, rc);
    fputs(",\"device\":", f);
    cli_json_str(f, device);
    fputs("}\n", f);
}

/* Writes the files of --out. Returns 0 or -1 (printed). */
static int write_out(const tune_args *a, const report *rep, const trial_row *t, int nt,
                     const tune_schedule *sch, double winner_val, const verdict *v,
                     const run_data *d, const char *device) {
    const char *dir = a->rc.out_dir;
    char p[4][4096];
    FILE *f[4] = {NULL};
    int rc = report_make_dir(dir, WHO) || report_write_dir(dir, rep, WHO) ? -1 : 0;
    static const char *const names[4] = {"trials.csv", "trials.json", "summary.json",
                                         "config.json"};
    for (int i = 0; i < 4; ++i)
        if (rc == 0 && !(f[i] = report_open(dir, names[i], p[i], sizeof p[i], WHO)))
            rc = -1;
    if (rc == 0) {
        write_trials(f[0], f[1], t, nt);
        write_summary(f[2], rep, a, sch, winner_val, v);
        write_config(f[3], a, d, device);
    }
    for (int i = 0; i < 4; ++i)
        if (f[i] && cli_close_output(f[i], p[i], WHO))
            rc = -1;
    return rc;
}

int cli_tune(int argc, char **argv) {
    static tune_args a;
    memset(&a, 0, sizeof a);
    int pa = parse_args(argc, argv, &a);
    if (pa >= 0)
        return pa;
    const run_common *rc = &a.rc;
    if (rc->out_dir && report_check_dir(rc->out_dir, WHO)) /* before any work */
        return 1;
    tune_schedule sch;
    tune_schedule_make(a.trials, a.eta, rc->epochs, a.min_epochs, &sch);
    run_data d;
    if (run_data_load(WHO, rc, &d) != 0)
        return 1;
    int status = 1, nt = 0, n_final = 0;
    const int n_losses = 4;
    aplcl_params *cand = calloc((size_t)a.trials, sizeof *cand);
    double *val = calloc((size_t)a.trials, sizeof *val);
    int *alive = calloc((size_t)a.trials, sizeof *alive);
    trial_row *rows = calloc((size_t)a.trials * (size_t)sch.rungs, sizeof *rows);
    trainer_result *runs = calloc((size_t)n_losses * (size_t)rc->n_seeds, sizeof *runs);
    loss_spec losses[4];
    aplcl_ctx *ctx = run_ctx_create(WHO, rc);
    if (!ctx || !cand || !val || !alive || !rows || !runs)
        goto done;
    printf("aplcl tune: %zu train / %zu validation / %zu test rows, %zu labels; successive "
           "halving, %d candidates, eta %d, rungs",
           d.train.rows, d.val.rows, d.test.rows, d.train.labels, a.trials, a.eta);
    for (int k = 0; k < sch.rungs; ++k)
        printf(" %dx%d", sch.n[k], sch.epochs[k]);
    printf(" (candidates x epochs), %d seed%s, search seed %llu; device %s\n", rc->n_seeds,
           rc->n_seeds > 1 ? "s" : "", (unsigned long long)a.search_seed,
           aplcl_ctx_device_name(ctx));
    fflush(stdout);
    cli_rng rng = cli_rng_seed(a.search_seed);
    int n_anchor = 0; /* the BCE and ASL points first, where the ranges hold them */
    for (int w = 0; w < TUNE_ANCHORS && n_anchor < a.trials; ++w)
        if (tune_anchor(&a.space, w, &cand[n_anchor]) == 0)
            alive[n_anchor] = n_anchor, ++n_anchor;
    for (int i = n_anchor; i < a.trials; ++i) {
        if (tune_sample(&a.space, &rng, &cand[i]) != 0) {
            fprintf(stderr, WHO ": no valid parameters in the --range given\n");
            goto done;
        }
        alive[i] = i;
    }
    long total = (tune_schedule_epochs(&sch) + (long)n_losses * rc->epochs) * rc->n_seeds,
         done_ep = 0;
    double t0 = cli_now_s();
    trainer_config tc = {
        &d.train, &d.val, NULL, 0, rc->hidden, rc->batch, rc->lr, TRAINER_SELECT_BEST_VAL,
        0,        0,      NULL, 0, WHO,        NULL};
    for (int k = 0; k < sch.rungs; ++k) {
        tc.epochs = sch.epochs[k];
        for (int j = 0; j < sch.n[k]; ++j) {
            int i = alive[j];
            trial_row *t = &rows[nt++];
            t->trial = i, t->rung = k, t->epochs = tc.epochs;
            loss_spec_format(&cand[i], t->spec, sizeof t->spec);
            if (rc->progress)
                eta_line(t0, done_ep, total, k + 1, sch.rungs, j + 1, sch.n[k]);
            if (score(ctx, &tc, &a, t->spec, &cand[i], &val[i], NULL) != 0)
                goto done;
            t->val_map = val[i], t->diverged = isnan(val[i]);
            done_ep += (long)tc.epochs * rc->n_seeds;
        }
        tune_rank(val, alive, sch.n[k]);
        if (rc->progress)
            fputs("\r\033[K", stderr);
        char best[LOSS_SPEC_MAX];
        loss_spec_format(&cand[alive[0]], best, sizeof best);
        printf("  rung %d: %3d candidates x %3d epochs: best validation mAP %.4f  %s\n", k + 1,
               sch.n[k], sch.epochs[k], val[alive[0]], best);
        fflush(stdout);
    }
    double winner_val = val[alive[0]];
    loss_spec_format(&cand[alive[0]], losses[0].name, sizeof losses[0].name);
    losses[0].p = cand[alive[0]];
    printf("winner (validation mAP %.4f over %d seeds): %s\n  as a train option: --loss '%s'\n",
           winner_val, rc->n_seeds, losses[0].name, losses[0].name);
    static const char *const base[3] = {"bce", "asl", "apl"};
    for (int b = 0; b < 3; ++b)
        if (loss_spec_parse(WHO, base[b], &losses[b + 1]) != 0)
            goto done;
    /* the final runs: test measured every epoch, reported at the best validation epoch */
    tc.test = &d.test;
    tc.epochs = rc->epochs;
    tc.eval_train = rc->out_dir != NULL;
    for (int l = 0; l < n_losses; ++l) {
        if (rc->progress)
            eta_line(t0, done_ep, total, sch.rungs, sch.rungs, l + 1, n_losses);
        double v = 0;
        if (score(ctx, &tc, &a, losses[l].name, &losses[l].p, &v, runs + l * rc->n_seeds) != 0)
            goto done;
        n_final = (l + 1) * rc->n_seeds;
        done_ep += (long)rc->epochs * rc->n_seeds;
    }
    if (rc->progress)
        fputs("\r\033[K", stderr);
    report rep = {losses,
                  n_losses,
                  rc->seeds,
                  rc->n_seeds,
                  runs,
                  &d.test,
                  (const char *const *)d.label_names,
                  TRAINER_SELECT_BEST_VAL,
                  1};
    report_table(stdout, &rep);
    verdict v;
    compare_bce(&rep, &v);
    printf("tuned APL vs BCE, test mAP %.4f vs %.4f: paired difference %+.4f, standard error "
           "%.4f over %d seed%s: %s; %.1f s\n",
           v.tuned, v.bce, v.diff, v.se, rc->n_seeds, rc->n_seeds > 1 ? "s" : "", v.text,
           cli_now_s() - t0);
    status = 0;
    if (rc->out_dir &&
        write_out(&a, &rep, rows, nt, &sch, winner_val, &v, &d, aplcl_ctx_device_name(ctx)))
        status = 1;
done:
    if (cli_close_output(stdout, NULL, WHO))
        status = 1;
    for (int i = 0; i < n_final; ++i)
        trainer_result_free(&runs[i]);
    free(cand), free(val), free(alive), free(rows), free(runs);
    aplcl_ctx_destroy(ctx);
    run_data_free(&d);
    return status;
}
