/* study.c: `aplcl study`, the question "does tuned APL beat BCE (and ASL)?" asked the same way on
 * several multi-label data sets, with intervals and the comparisons across data sets.
 *
 * Per data set (a folder holding NAME-train.arff, NAME-test.arff, NAME.xml): a validation split
 * of the training file, then three searches by successive halving on validation mAP (the
 * protocol of `aplcl tune`): BCE over the learning-rate grid, ASL over gamma_neg, gamma_pos, clip
 * and the grid, APL over its coefficients, gammas, clip, focus and the grid. The APL search holds
 * the BCE and ASL points from its start and the BCE and ASL winners in its last rung, so tuned
 * APL is never below them on validation. Each search's last rung trains on every seed with the
 * test set measured (never used to choose): those are the finalists' test results, at each
 * run's best validation epoch. Then per-label thresholds chosen on validation, paired
 * differences, a bootstrap over test rows, and the tests across data sets (train/study.h).
 *
 * Not a general benchmark runner: these three losses, one model family, one device.
 */
#define _POSIX_C_SOURCE 200809L /* isatty, fileno */
#include "study.h"
#include "cli.h"
#include "loss_spec.h"
#include "metrics.h"
#include "report.h"
#include "run_common.h"
#include "study_boot.h"
#include "study_calib.h"
#include "study_plan.h"
#include "study_stats.h"
#include "study_thresh.h"
#include "trainer.h"
#include "tune_search.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WHO "aplcl study"
#define MAX_DATASETS 64
#define MAX_TRIALS 1024

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: aplcl study DATASET... (--out DIR | --plan-only) [--budget-minutes M]\n"
        "         [--seeds LIST] [--trials N] [--epochs E] [--min-epochs M] [--eta K]\n"
        "         [--hidden H] [--batch B] [--lr-grid LIST] [--threshold val|0.5]\n"
        "         [--bootstrap B] [--val F] [--split-seed S] [--search-seed S]\n"
        "         [--ignore [SET:]NAME,..] [--cache-dir DIR] [--recalibrate] [--device D]\n"
        "         [--progress | --quiet]\n"
        "Tuned APL against tuned BCE and ASL on each DATASET, a folder holding NAME-train.arff,\n"
        "NAME-test.arff and NAME.xml (MULAN's label file; NAME is the folder's name).\n"
        "Per data set: successive halving on validation mAP over N candidates for APL and\n"
        "for ASL and over the learning-rate grid for BCE; the finalists trained on every\n"
        "seed and measured on test at their best validation epoch; paired differences with\n"
        "95%% intervals (over seeds, and a bootstrap over test rows); across data sets the\n"
        "sign test, the Wilcoxon signed-rank test and average ranks (Demsar 2006).\n"
        "  --out DIR          summary.json, report.md, report.svg (created if missing)\n"
        "  --plan-only        print the plan and its time estimate, train nothing more than\n"
        "                     a missing calibration needs, write no files\n"
        "  --budget-minutes M fit the whole study into M minutes of this machine: the trials\n"
        "                     (and, if that is not enough, the epochs) are scaled down until\n"
        "                     the calibrated estimate fits 85%% of M\n"
        "  --cache-dir DIR    where each data set's calibration (its measured costs on this\n"
        "                     machine) is kept and reused, so that the same command plans\n"
        "                     the same study (default: aplcl's cache folder, $APLCL_CACHE_DIR,\n"
        "                     else $XDG_CACHE_HOME/aplcl, else ~/.cache/aplcl; off: none)\n"
        "  --recalibrate      measure the costs again (the machine or its load changed)\n"
        "  --trials N         candidates per APL and ASL search (default 27, the most the\n"
        "                     budget may use)\n"
        "  --epochs E         epochs of the last rung (default 30); --min-epochs M the\n"
        "                     shortest rung (default 3); --eta K the halving factor (3)\n"
        "  --seeds LIST       seeds every candidate trains on (default 1,2,3)\n"
        "  --lr-grid LIST     learning rates every loss searches (default\n"
        "                     0.001,0.003,0.01,0.03,0.1)\n"
        "  --threshold T      the F1 the report leads with: val (per-label thresholds chosen\n"
        "                     on validation, default) or 0.5; both are always reported\n"
        "  --bootstrap B      resamples of the test rows for the bootstrap interval (200)\n"
        "  --val F            validation fraction of the training file (default 0.2),\n"
        "                     split by iterative stratification seeded by --split-seed (1)\n"
        "  --search-seed S    seeds the candidates (default 1)\n"
        "  --hidden H         0 (linear, default) or a hidden layer of H units\n"
        "  --batch B          1..65536 (default 64)\n"
        "  --ignore LIST      attributes to drop: NAME (every data set) or SET:NAME\n"
        "  --device D         \"P:D\" or a name substring\n"
        "  --progress / --quiet  draw / do not draw the progress line (default: only when\n"
        "                     stderr is a terminal)\n");
}

enum {
    O_OUT,
    O_BUDGET,
    O_SEEDS,
    O_TRIALS,
    O_EPOCHS,
    O_MIN_EPOCHS,
    O_ETA,
    O_HIDDEN,
    O_BATCH,
    O_LR_GRID,
    O_THRESHOLD,
    O_BOOTSTRAP,
    O_VAL,
    O_SPLIT_SEED,
    O_SEARCH_SEED,
    O_DEVICE,
    O_PROGRESS,
    O_QUIET,
    O_IGNORE,
    O_PLAN_ONLY,
    O_CACHE_DIR,
    O_RECALIBRATE,
    O_COUNT
};

typedef struct {
    const char *dirs[MAX_DATASETS];
    int n_dirs;
    const char *out, *device, *ignore, *cache_dir;
    double budget_min; /* 0: none */
    int progress, plan_only, recalibrate;
    study_summary s;
} study_args;

static int parse_i(const cli_option *o, int k, int64_t lo, int64_t hi, int *out) {
    int64_t v = 0;
    if (o[k].value && cli_parse_i64(WHO, o[k].name, o[k].value, lo, hi, &v))
        return -1;
    if (o[k].value)
        *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, study_args *a, int *exit_code) {
    cli_option o[O_COUNT] = {
        {"--out", 1, NULL},        {"--budget-minutes", 1, NULL}, {"--seeds", 1, NULL},
        {"--trials", 1, NULL},     {"--epochs", 1, NULL},         {"--min-epochs", 1, NULL},
        {"--eta", 1, NULL},        {"--hidden", 1, NULL},         {"--batch", 1, NULL},
        {"--lr-grid", 1, NULL},    {"--threshold", 1, NULL},      {"--bootstrap", 1, NULL},
        {"--val", 1, NULL},        {"--split-seed", 1, NULL},     {"--search-seed", 1, NULL},
        {"--device", 1, NULL},     {"--progress", 0, NULL},       {"--quiet", 0, NULL},
        {"--ignore", 1, NULL},     {"--plan-only", 0, NULL},      {"--cache-dir", 1, NULL},
        {"--recalibrate", 0, NULL}};
    int pr = cli_parse(WHO, argc, argv, o, O_COUNT, a->dirs, MAX_DATASETS, &a->n_dirs);
    *exit_code = CLI_EXIT_USAGE;
    if (pr == CLI_PARSE_HELP) {
        usage(stdout);
        *exit_code = CLI_EXIT_OK;
        return -1;
    }
    if (pr != CLI_PARSE_OK)
        return -1;
    a->plan_only = o[O_PLAN_ONLY].value != NULL;
    if (a->n_dirs < 1 || (!o[O_OUT].value && !a->plan_only)) {
        fprintf(stderr, WHO ": needs at least one DATASET folder and --out DIR (or --plan-only; "
                            "--help shows the usage)\n");
        return -1;
    }
    study_summary *s = &a->s;
    a->out = o[O_OUT].value;
    a->cache_dir = o[O_CACHE_DIR].value;
    a->recalibrate = o[O_RECALIBRATE].value != NULL;
    a->ignore = o[O_IGNORE].value;
    a->device = cli_device_choice(o[O_DEVICE].value);
    s->trials = 27, s->eta = 3, s->epochs = 30, s->min_epochs = -1, s->hidden = 0;
    s->bootstrap = 200, s->threshold_val = 1;
    int batch = 64;
    if (parse_i(o, O_TRIALS, 1, MAX_TRIALS, &s->trials) ||
        parse_i(o, O_EPOCHS, 1, 100000, &s->epochs) || parse_i(o, O_ETA, 2, 16, &s->eta) ||
        parse_i(o, O_HIDDEN, 0, 65536, &s->hidden) || parse_i(o, O_BATCH, 1, 65536, &batch) ||
        parse_i(o, O_BOOTSTRAP, 0, 100000, &s->bootstrap) ||
        parse_i(o, O_MIN_EPOCHS, 1, s->epochs, &s->min_epochs))
        return -1;
    s->batch = (size_t)batch;
    if (s->min_epochs < 0)
        s->min_epochs = s->epochs < 3 ? s->epochs : 3;
    a->budget_min = 0;
    if (o[O_BUDGET].value &&
        cli_parse_f64(WHO, "--budget-minutes", o[O_BUDGET].value, 0.01, 1e6, &a->budget_min))
        return -1;
    if (o[O_SEEDS].value) {
        if ((s->n_seeds = run_parse_seeds(WHO, o[O_SEEDS].value, s->seeds, STUDY_MAX_SEEDS)) <= 0)
            return -1;
    } else
        s->n_seeds = 3, s->seeds[0] = 1, s->seeds[1] = 2, s->seeds[2] = 3;
    /* BCE chose 0.01, the top of the old grid (0.001..0.01), on all seven MULAN sets: the grid
     * now spans two decades around it, half a decade apart, for every loss alike */
    static const double grid[] = {1e-3, 3e-3, 1e-2, 3e-2, 1e-1};
    s->n_lr = (int)(sizeof grid / sizeof grid[0]);
    memcpy(s->lr_grid, grid, sizeof grid);
    if (o[O_LR_GRID].value) {
        char buf[512];
        if (cli_copy_list(WHO, "--lr-grid", o[O_LR_GRID].value, buf, sizeof buf))
            return -1;
        s->n_lr = 0;
        for (char *cur = buf, *tok; (tok = cli_next_entry(&cur, ',')) != NULL;) {
            if (s->n_lr == STUDY_MAX_LR) {
                fprintf(stderr, WHO ": more than %d learning rates in --lr-grid\n", STUDY_MAX_LR);
                return -1;
            }
            double v = 0;
            if (cli_parse_f64(WHO, "--lr-grid", tok, 1e-12, 10, &v))
                return -1;
            s->lr_grid[s->n_lr++] = v;
        }
        if (s->n_lr == 0) {
            fprintf(stderr, WHO ": --lr-grid is empty\n");
            return -1;
        }
    }
    if (o[O_THRESHOLD].value) {
        if (strcmp(o[O_THRESHOLD].value, "val") != 0 && strcmp(o[O_THRESHOLD].value, "0.5") != 0) {
            fprintf(stderr, WHO ": --threshold takes val or 0.5, not '%s'\n", o[O_THRESHOLD].value);
            return -1;
        }
        s->threshold_val = strcmp(o[O_THRESHOLD].value, "val") == 0;
    }
    s->val_fraction = 0.2;
    if (o[O_VAL].value && cli_parse_f64(WHO, "--val", o[O_VAL].value, 0, 1, &s->val_fraction))
        return -1;
    if (!(s->val_fraction > 0 && s->val_fraction < 1)) {
        fprintf(stderr, WHO ": --val wants a fraction between 0 and 1 (exclusive)\n");
        return -1;
    }
    s->split_seed = 1, s->search_seed = 1;
    if ((o[O_SPLIT_SEED].value && cli_parse_u64(WHO, "--split-seed", o[O_SPLIT_SEED].value, 0,
                                                UINT64_MAX, &s->split_seed)) ||
        (o[O_SEARCH_SEED].value && cli_parse_u64(WHO, "--search-seed", o[O_SEARCH_SEED].value, 0,
                                                 UINT64_MAX, &s->search_seed)))
        return -1;
    if (o[O_PROGRESS].value && o[O_QUIET].value) {
        fprintf(stderr, WHO ": --progress and --quiet exclude each other\n");
        return -1;
    }
    a->progress = o[O_PROGRESS].value ? 1 : o[O_QUIET].value ? 0 : isatty(fileno(stderr));
    return 0;
}

/* ---- the data sets ---- */

typedef struct {
    run_data d;
    study_cost cost; /* the calibration: stored, or measured by this run */
    double load_s;   /* this run's loading (measured; the plan uses cost.load_s) */
    int measured;    /* 1: the calibration ran now */
} study_data;

static const char *base_name(const char *dir, char *buf, size_t size) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        --n;
    size_t b = n;
    while (b > 0 && dir[b - 1] != '/')
        --b;
    snprintf(buf, size, "%.*s", (int)(n - b), dir + b);
    return buf;
}

static int load_dataset(const study_args *a, int i, study_data *sd, study_dataset *ds) {
    char name[128], tr[4096], te[4096], xml[4096];
    base_name(a->dirs[i], name, sizeof name);
    snprintf(tr, sizeof tr, "%s/%s-train.arff", a->dirs[i], name);
    snprintf(te, sizeof te, "%s/%s-test.arff", a->dirs[i], name);
    snprintf(xml, sizeof xml, "%s/%s.xml", a->dirs[i], name);
    run_common rc;
    memset(&rc, 0, sizeof rc);
    rc.train_path = tr, rc.test_path = te;
    rc.val_fraction = a->s.val_fraction, rc.split_seed = a->s.split_seed;
    rc.layout.place = ARFF_LABELS_AUTO;
    rc.labels_xml = xml; /* the labels are the attributes the MULAN file names */
    /* --ignore: the entries for this data set (SET:NAME) and those for all (NAME) */
    char ignore[4096] = "";
    size_t used = 0, len = strlen(name);
    for (const char *p = a->ignore; p && *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', n);
        if (!colon || ((size_t)(colon - p) == len && strncmp(p, name, len) == 0)) {
            const char *v = colon ? colon + 1 : p;
            int w = snprintf(ignore + used, sizeof ignore - used, "%s%.*s", used ? "," : "",
                             (int)(n - (size_t)(v - p)), v);
            used += w > 0 && (size_t)w < sizeof ignore - used ? (size_t)w : 0;
        }
        p = end ? end + 1 : p + n;
    }
    rc.ignore_list = used ? ignore : NULL;
    double t0 = cli_now_s();
    if (run_data_load(WHO, &rc, &sd->d) != 0)
        return -1;
    sd->load_s = cli_now_s() - t0;
    snprintf(ds->name, sizeof ds->name, "%s", name);
    ds->train_rows = sd->d.train.rows, ds->val_rows = sd->d.val.rows;
    ds->test_rows = sd->d.test.rows, ds->features = sd->d.train.features;
    ds->labels = sd->d.train.labels;
    return 0;
}

/* ---- progress ---- */

typedef struct {
    int on;
    double t0;
    double done_s, total_s; /* planned seconds: done and in all (the calibrated cost model) */
} progress_state;

static void progress_line(const progress_state *p, const char *set, const char *loss, int rung,
                          int rungs, int cand, int n) {
    if (!p->on)
        return;
    double el = cli_now_s() - p->t0, frac = p->total_s > 0 ? p->done_s / p->total_s : 0;
    double eta = frac > 0.01 ? el / frac - el : p->total_s - el;
    fprintf(stderr,
            "\r\033[K  %s: %s rung %d/%d candidate %d/%d  %3.0f%%  %.1f min elapsed, ETA %.1f min",
            set, loss, rung, rungs, cand, n, 100 * frac, el / 60, (eta > 0 ? eta : 0) / 60);
    fflush(stderr);
}

/* ---- one search ---- */

typedef struct {
    aplcl_params p;
    double lr;
    char spec[LOSS_SPEC_MAX];
    const char *source;
} candidate;

typedef struct {
    aplcl_ctx *ctx;
    const study_args *a;
    study_data *sd;
    progress_state *prog;
    const char *set;
} search_env;

/* Trains candidate c on every seed; *val = the mean best validation mAP (NaN if a seed
 * diverged). With keep: test measured, logits kept, runs stored in keep[0..seeds). */
static int train_seeds(const search_env *e, const candidate *c, int epochs, int keep_runs,
                       trainer_result *keep, double *val) {
    const study_summary *s = &e->a->s;
    run_data *d = &e->sd->d;
    trainer_config tc = {&d->train,
                         &d->val,
                         keep_runs ? &d->test : NULL,
                         epochs,
                         s->hidden,
                         s->batch,
                         (float)c->lr,
                         TRAINER_SELECT_BEST_VAL,
                         0,
                         0,
                         NULL,
                         0,
                         WHO,
                         NULL};
    double sum = 0;
    for (int k = 0; k < s->n_seeds; ++k) {
        trainer_result r;
        if (trainer_run_keep(e->ctx, &tc, c->spec, &c->p, s->seeds[k], 1, keep_runs, &r) != 0) {
            for (int j = 0; keep_runs && j < k; ++j)
                trainer_result_free(&keep[j]);
            return -1;
        }
        const trainer_epoch *ep = trainer_chosen(&r);
        sum += r.diverged || !ep ? NAN : ep->val.map;
        if (keep_runs)
            keep[k] = r;
        else
            trainer_result_free(&r);
        const study_cost *x = &e->sd->cost;
        e->prog->done_s +=
            x->run_s + x->epoch_s * epochs + (keep_runs ? x->test_run_s + x->test_s * epochs : 0);
    }
    *val = sum / s->n_seeds;
    return 0;
}

/* Successive halving over cand[0..n); the last rung also holds extra[0..n_extra). The winner's
 * runs (one per seed, with test logits) go to runs; its index (n + j for extra j) to *win. */
static int search(const search_env *e, const char *loss, candidate *cand, int n,
                  const candidate *extra, int n_extra, trainer_result *runs, int *win,
                  double *win_val) {
    const study_summary *s = &e->a->s;
    tune_schedule sch;
    tune_schedule_make(n, s->eta, s->epochs, s->min_epochs, &sch);
    int *alive = malloc((size_t)(n + n_extra) * sizeof *alive);
    double *val = malloc((size_t)(n + n_extra) * sizeof *val);
    trainer_result *tmp = calloc((size_t)s->n_seeds, sizeof *tmp);
    int rc = -1, have = 0;
    if (!alive || !val || !tmp) {
        fprintf(stderr, WHO ": out of host memory\n");
        goto out;
    }
    for (int i = 0; i < n; ++i)
        alive[i] = i;
    for (int k = 0; k < sch.rungs; ++k) {
        int last = k == sch.rungs - 1, m = sch.n[k] + (last ? n_extra : 0);
        if (last)
            for (int j = 0; j < n_extra; ++j)
                alive[sch.n[k] + j] = n + j;
        for (int j = 0; j < m; ++j) {
            int i = alive[j];
            const candidate *c = i < n ? &cand[i] : &extra[i - n];
            progress_line(e->prog, e->set, loss, k + 1, sch.rungs, j + 1, m);
            if (train_seeds(e, c, sch.epochs[k], last, tmp, &val[i]) != 0)
                goto out;
            /* the last rung: keep the best so far (ties: the earlier, search first) */
            if (last && (!have || (!isnan(val[i]) && (isnan(*win_val) || val[i] > *win_val)))) {
                for (int q = 0; have && q < s->n_seeds; ++q)
                    trainer_result_free(&runs[q]);
                memcpy(runs, tmp, (size_t)s->n_seeds * sizeof *tmp);
                have = 1, *win = i, *win_val = val[i];
            } else if (last)
                for (int q = 0; q < s->n_seeds; ++q)
                    trainer_result_free(&tmp[q]);
        }
        if (!last)
            tune_rank(val, alive, sch.n[k]);
    }
    rc = 0;
out:
    if (rc != 0 && have)
        for (int q = 0; q < s->n_seeds; ++q)
            trainer_result_free(&runs[q]);
    free(alive), free(val), free(tmp);
    return rc;
}

/* ---- the candidates ---- */

static double draw_lr(const study_summary *s, cli_rng *r) {
    return s->lr_grid[cli_rng_next(r) % (uint64_t)s->n_lr];
}

static double round3(double v) { /* 3 significant digits, as tune's candidates */
    char t[32];
    snprintf(t, sizeof t, "%.3g", v);
    return strtod(t, NULL);
}

static void name_it(candidate *c, const char *preset) {
    char spec[LOSS_SPEC_MAX];
    if (preset)
        snprintf(spec, sizeof spec, "%s", preset);
    else
        loss_spec_format(&c->p, spec, sizeof spec);
    snprintf(c->spec, sizeof c->spec, "%s", spec);
}

static double mid_lr(const study_summary *s) { return s->lr_grid[(s->n_lr - 1) / 2]; }

static void make_bce(const study_summary *s, candidate *c) {
    for (int i = 0; i < s->n_lr; ++i) {
        c[i].p = aplcl_params_bce(), c[i].lr = s->lr_grid[i], c[i].source = "search";
        name_it(&c[i], "bce");
    }
}

static void make_asl(const study_summary *s, cli_rng *r, candidate *c, int n) {
    for (int i = 0; i < n; ++i) {
        double gn = 4, gp = 0, clip = 0.05, lr = mid_lr(s);
        if (i > 0) /* candidate 0: ASL's reference point */
            gn = round3(cli_rng_range(r, 0, 6)), gp = round3(cli_rng_range(r, 0, 2)),
            clip = round3(cli_rng_range(r, 0, 0.2)), lr = draw_lr(s, r);
        c[i].p = aplcl_params_asl((float)gn, (float)gp, (float)clip);
        c[i].lr = lr, c[i].source = "search";
        char spec[LOSS_SPEC_MAX]; /* as ASL, which `aplcl train --loss` parses to the same bits */
        snprintf(spec, sizeof spec, "asl:gamma_neg=%.9g,gamma_pos=%.9g,clip=%.9g",
                 (double)c[i].p.gamma_neg, (double)c[i].p.gamma_pos, (double)c[i].p.clip);
        name_it(&c[i], spec);
    }
}

static int make_apl(const study_summary *s, cli_rng *r, candidate *c, int n) {
    tune_space sp;
    tune_space_default(&sp);
    int k = 0;
    for (int w = 0; w < TUNE_ANCHORS && k < n; ++w)
        if (tune_anchor(&sp, w, &c[k].p) == 0)
            c[k].lr = mid_lr(s), c[k].source = w ? "asl point" : "bce point", ++k;
    for (; k < n; ++k) {
        if (tune_sample(&sp, r, &c[k].p) != 0)
            return -1;
        c[k].lr = draw_lr(s, r), c[k].source = "search";
    }
    for (int i = 0; i < n; ++i)
        name_it(&c[i], NULL);
    return 0;
}

/* ---- the plan ---- */

/* ---- the numbers of one data set ---- */

static void fill_loss(const study_summary *s, const trainer_result *runs, const run_data *d,
                      study_loss *L) {
    float *t = malloc(d->train.labels * sizeof *t + 1);
    for (int k = 0; k < s->n_seeds; ++k) {
        const trainer_result *r = &runs[k];
        const trainer_epoch *e = trainer_chosen(r);
        int ok = e && !r->diverged && r->val_logits && r->test_logits;
        L->m[SM_MAP][k] = ok ? e->test.map : NAN;
        L->m[SM_MICRO05][k] = ok ? e->test.micro_f1 : NAN;
        L->m[SM_MACRO05][k] = ok ? e->test.macro_f1 : NAN;
        L->m[SM_RANKLOSS][k] = ok ? e->test.ranking_loss : NAN;
        L->m[SM_MICROVAL][k] = L->m[SM_MACROVAL][k] = NAN;
        if (ok && t && thresh_fit(r->val_logits, d->val.y, d->val.rows, d->val.labels, t) == 0)
            thresh_f1(r->test_logits, d->test.y, d->test.rows, d->test.labels, t,
                      &L->m[SM_MICROVAL][k], &L->m[SM_MACROVAL][k]);
    }
    free(t);
}

/* study_bootstrap of the test logits of a's and b's runs (NaN when any diverged). */
static void bootstrap(const study_summary *s, const trainer_result *ra, const trainer_result *rb,
                      const arff_data *te, uint64_t seed, double *lo, double *hi) {
    const float *la[STUDY_MAX_SEEDS], *lb[STUDY_MAX_SEEDS];
    for (int k = 0; k < s->n_seeds; ++k) {
        la[k] = ra[k].diverged ? NULL : ra[k].test_logits;
        lb[k] = rb[k].diverged ? NULL : rb[k].test_logits;
    }
    study_bootstrap(la, lb, s->n_seeds, te->y, te->rows, te->labels, s->bootstrap, seed, lo, hi);
}

static void loss_from(const candidate *c, double val, int n_cand, study_loss *L) {
    snprintf(L->spec, sizeof L->spec, "%s", c->spec);
    L->lr = c->lr, L->source = c->source, L->val_map = val, L->candidates = n_cand;
}

/* The learning rate's place in the grid: -1 its lowest, 1 its highest, 0 inside (or a grid of
 * one): a winner on the edge says that the grid may have cut the search short. */
static int lr_edge(const study_summary *s, double lr) {
    double lo = s->lr_grid[0], hi = s->lr_grid[0];
    for (int i = 1; i < s->n_lr; ++i)
        lo = s->lr_grid[i] < lo ? s->lr_grid[i] : lo, hi = s->lr_grid[i] > hi ? s->lr_grid[i] : hi;
    return lo == hi ? 0 : lr == lo ? -1 : lr == hi ? 1 : 0;
}

/* The three searches and the numbers of data set d. */
static int run_dataset(const search_env *e, int d, study_dataset *ds) {
    const study_summary *s = &e->a->s;
    int n = ds->trials, nl = s->n_lr, rc = -1;
    candidate *apl = calloc((size_t)n, sizeof *apl), *asl = calloc((size_t)n, sizeof *asl);
    candidate *bce = calloc((size_t)nl, sizeof *bce), extra[2];
    trainer_result *runs = calloc((size_t)STUDY_LOSSES * (size_t)s->n_seeds, sizeof *runs);
    int have[STUDY_LOSSES] = {0};
    if (!apl || !asl || !bce || !runs) {
        fprintf(stderr, WHO ": out of host memory\n");
        goto out;
    }
    /* one candidate stream per data set, the same whatever the other data sets */
    cli_rng r = cli_rng_seed(s->search_seed * 1000003u + (uint64_t)d);
    make_bce(s, bce);
    make_asl(s, &r, asl, n);
    if (make_apl(s, &r, apl, n) != 0) {
        fprintf(stderr, WHO ": no valid APL parameters in the search space\n");
        goto out;
    }
    trainer_result *R[STUDY_LOSSES];
    for (int l = 0; l < STUDY_LOSSES; ++l)
        R[l] = runs + l * s->n_seeds;
    int w = 0;
    double v = NAN;
    if (search(e, "bce", bce, nl, NULL, 0, R[STUDY_BCE], &w, &v) != 0)
        goto out;
    have[STUDY_BCE] = 1;
    loss_from(&bce[w], v, nl, &ds->loss[STUDY_BCE]);
    extra[0] = bce[w];
    tune_space sp;
    tune_space_default(&sp);
    if (tune_anchor(&sp, 0, &extra[0].p) != 0)
        goto out;
    extra[0].source = "bce winner";
    name_it(&extra[0], NULL);
    if (search(e, "asl", asl, n, NULL, 0, R[STUDY_ASL], &w, &v) != 0)
        goto out;
    have[STUDY_ASL] = 1;
    loss_from(&asl[w], v, n, &ds->loss[STUDY_ASL]);
    extra[1] = asl[w], extra[1].source = "asl winner";
    if (search(e, "apl", apl, n, extra, 2, R[STUDY_APL], &w, &v) != 0)
        goto out;
    have[STUDY_APL] = 1;
    loss_from(w < n ? &apl[w] : &extra[w - n], v, n, &ds->loss[STUDY_APL]);
    for (int l = 0; l < STUDY_LOSSES; ++l) {
        fill_loss(s, R[l], &e->sd->d, &ds->loss[l]);
        ds->loss[l].lr_edge = lr_edge(s, ds->loss[l].lr);
    }
    for (int c = 0; c < 2; ++c) {
        study_diff *df = &ds->vs[c];
        const study_loss *A = &ds->loss[STUDY_APL], *B = &ds->loss[c ? STUDY_ASL : STUDY_BCE];
        stats_paired_ci(A->m[SM_MAP], B->m[SM_MAP], (size_t)s->n_seeds, &df->diff, &df->lo,
                        &df->hi);
        bootstrap(s, R[STUDY_APL], R[c ? STUDY_ASL : STUDY_BCE], &e->sd->d.test,
                  s->search_seed + 7919u * (uint64_t)(2 * d + c), &df->boot_lo, &df->boot_hi);
    }
    rc = 0;
out:
    for (int l = 0; l < STUDY_LOSSES; ++l)
        for (int k = 0; have[l] && k < s->n_seeds; ++k)
            trainer_result_free(&runs[l * s->n_seeds + k]);
    free(apl), free(asl), free(bce), free(runs);
    return rc;
}

/* ---- output ---- */

static int write_files(const study_args *a, const char *command) {
    if (report_make_dir(a->out, WHO) != 0)
        return -1;
    static const char *const names[3] = {"summary.json", "report.md", "report.svg"};
    int rc = 0;
    for (int i = 0; i < 3; ++i) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", a->out, names[i]);
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, WHO ": cannot write %s: %s\n", path, strerror(errno));
            return -1;
        }
        if (i == 0)
            study_write_json(f, &a->s);
        else if (i == 1)
            study_write_md(f, &a->s, command);
        else
            study_write_svg(f, &a->s);
        if (cli_close_output(f, path, WHO))
            rc = -1;
    }
    return rc;
}

static void print_table(const study_summary *s) {
    int tv = s->threshold_val; /* the F1 --threshold asks for */
    int mi = tv ? SM_MICROVAL : SM_MICRO05, ma = tv ? SM_MACROVAL : SM_MACRO05;
    printf("%-10s %-4s %-17s %-8s %-8s %-8s  %s\n", "data set", "loss", "test mAP",
           tv ? "miF1@val" : "miF1@0.5", tv ? "maF1@val" : "maF1@0.5", "rankloss",
           "APL - loss: test mAP [95% CI seeds] [bootstrap]");
    for (int d = 0; d < s->n_datasets; ++d)
        for (int l = 0; l < STUDY_LOSSES; ++l) {
            double mu[SM_COUNT], sd[SM_COUNT];
            for (int m = 0; m < SM_COUNT; ++m)
                study_stat(s, d, l, m, &mu[m], &sd[m]);
            printf("%-10s %-4s %.4f +- %.4f %.4f   %.4f   %.4f ", s->ds[d].name,
                   study_loss_names[l], mu[SM_MAP], sd[SM_MAP], mu[mi], mu[ma], mu[SM_RANKLOSS]);
            if (l != STUDY_APL) {
                const study_diff *v = &s->ds[d].vs[l == STUDY_ASL];
                printf("  %+.4f [%+.4f, %+.4f] [%+.4f, %+.4f]", v->diff, v->lo, v->hi, v->boot_lo,
                       v->boot_hi);
            } else
                printf("  from %s", s->ds[d].loss[l].source);
            const study_loss *L = &s->ds[d].loss[l];
            printf("; lr %g%s\n", L->lr,
                   L->lr_edge < 0   ? " (lowest of the grid)"
                   : L->lr_edge > 0 ? " (highest of the grid)"
                                    : "");
        }
    study_across x;
    study_compare(s, &x);
    printf("across %d data sets: APL vs BCE %d wins / %d losses / %d ties (sign test p %.3g, "
           "Wilcoxon p %.3g); APL vs ASL %d / %d / %d (p %.3g, %.3g); average ranks bce %.2f "
           "asl %.2f apl %.2f (Nemenyi CD %.2f)\n",
           s->n_datasets, x.wins[0], x.losses[0], x.ties[0], x.sign_p[0], x.wilcoxon_p[0],
           x.wins[1], x.losses[1], x.ties[1], x.sign_p[1], x.wilcoxon_p[1], x.avg_rank[0],
           x.avg_rank[1], x.avg_rank[2], x.nemenyi_cd);
}

/* Each data set's costs: its stored calibration (the same numbers every run, so the same plan),
 * or measured now and stored (--recalibrate, none stored yet, or no cache folder). */
static int calibrate_all(aplcl_ctx *ctx, const study_args *a, study_data *sd, int n) {
    char dir[4096], key[2048], path[4200];
    if (study_calib_dir(a->cache_dir, dir, sizeof dir) != 0)
        fprintf(stderr, WHO ": the calibration folder's path is too long; not stored\n");
    else if (!dir[0] && a->budget_min > 0)
        fprintf(stderr, WHO ": no cache folder (off): the calibration is measured now and not "
                            "kept, so the budget's plan follows this run's timing\n");
    const study_summary *s = &a->s;
    for (int d = 0; d < n; ++d) {
        run_data *x = &sd[d].d;
        study_calib_key(ctx, s->ds[d].name, &x->train, &x->val, &x->test, s->hidden, s->batch, key,
                        sizeof key);
        study_calib_path(dir, key, path, sizeof path);
        if (dir[0] && !a->recalibrate && study_calib_load(dir, key, &sd[d].cost) == 0) {
            printf("  %-10s calibration from %s\n", s->ds[d].name, path);
            continue;
        }
        /* the grid's middle: the learning rate of the searches' fixed points */
        if (study_calibrate(ctx, &x->train, &x->val, &x->test, s->hidden, s->batch,
                            (float)s->lr_grid[(s->n_lr - 1) / 2], WHO, &sd[d].cost) != 0)
            return -1;
        sd[d].cost.load_s = sd[d].load_s;
        sd[d].measured = 1;
        if (!dir[0])
            printf("  %-10s calibration measured now (%.1f s), not kept\n", s->ds[d].name,
                   sd[d].cost.calib_s);
        else if (study_calib_save(dir, key, &sd[d].cost) != 0)
            fprintf(stderr, WHO ": cannot store the calibration in %s: %s\n", path,
                    strerror(errno));
        else
            printf("  %-10s calibration measured now (%.1f s), kept in %s\n", s->ds[d].name,
                   sd[d].cost.calib_s, path);
    }
    return 0;
}

int cli_study(int argc, char **argv) {
    static study_args a;
    memset(&a, 0, sizeof a);
    int code = 0;
    if (parse_args(argc, argv, &a, &code) != 0)
        return code;
    double t0 = cli_now_s();
    int status = 1, n = a.n_dirs;
    study_data *sd = calloc((size_t)n, sizeof *sd);
    study_cost *cost = calloc((size_t)n, sizeof *cost);
    a.s.ds = calloc((size_t)n, sizeof *a.s.ds);
    a.s.n_datasets = n;
    aplcl_ctx *ctx = NULL;
    char command[8192];
    size_t used = (size_t)snprintf(command, sizeof command, "aplcl study");
    for (int i = 0; i < argc && used < sizeof command; ++i)
        used += (size_t)snprintf(command + used, sizeof command - used, " %s", argv[i]);
    if (!sd || !cost || !a.s.ds) {
        fprintf(stderr, WHO ": out of host memory\n");
        goto done;
    }
    for (int i = 0; i < n; ++i)
        if (load_dataset(&a, i, &sd[i], &a.s.ds[i]) != 0)
            goto done;
    run_common rc0;
    memset(&rc0, 0, sizeof rc0);
    rc0.device = a.device;
    if (!(ctx = run_ctx_create(WHO, &rc0)))
        goto done;
    a.s.device = aplcl_ctx_device_name(ctx);
    printf("aplcl study: %d data set%s, %d seed%s, device %s (ready after %.1f s)\n", n,
           n > 1 ? "s" : "", a.s.n_seeds, a.s.n_seeds > 1 ? "s" : "", a.s.device, cli_now_s() - t0);
    fflush(stdout);
    if (calibrate_all(ctx, &a, sd, n) != 0)
        goto done;
    for (int i = 0; i < n; ++i)
        cost[i] = sd[i].cost;
    int asked_trials = a.s.trials, asked_epochs = a.s.epochs;
    a.s.asked_trials = asked_trials;
    /* The plan reads no clock: the stored costs (or those just measured and stored) and the
     * command decide it, so the same command plans the same study on this machine. */
    int fits = 1;
    if (a.budget_min > 0 &&
        !(fits = study_fit_budget(&a.s, cost, n, STUDY_BUDGET_FILL * a.budget_min * 60)))
        fprintf(stderr,
                WHO ": the smallest plan (1 candidate, %d epochs) needs about %.1f min, more than "
                    "the %.1f min budget; running it anyway\n",
                a.s.epochs, study_plan_seconds(&a.s, cost, n) / 60, a.budget_min);
    double planned = study_plan_seconds(&a.s, cost, n);
    for (int i = 0; i < n; ++i) {
        const study_cost *x = &cost[i];
        printf("  %-10s %5zu train / %4zu validation / %5zu test rows, %5zu features, %3zu "
               "labels; s per run %.3f (+%.3f with test), per epoch %.5f (+%.5f with test); "
               "estimated %.1f min\n",
               a.s.ds[i].name, a.s.ds[i].train_rows, a.s.ds[i].val_rows, a.s.ds[i].test_rows,
               a.s.ds[i].features, a.s.ds[i].labels, x->run_s, x->test_run_s, x->epoch_s, x->test_s,
               study_plan_seconds(&a.s, x, 1) / 60);
    }
    printf("plan: %d candidates per APL and ASL search (asked %d), %d BCE learning rates, %d "
           "epochs (asked %d), eta %d; estimated %.1f min%s\n",
           a.s.trials, asked_trials, a.s.n_lr, a.s.epochs, asked_epochs, a.s.eta, planned / 60,
           a.budget_min <= 0 ? ""
           : fits            ? " (within --budget-minutes)"
                             : " (over --budget-minutes: the smallest plan)");
    printf("  the same plan on another machine: --trials %d --epochs %d --min-epochs %d\n",
           a.s.trials, a.s.epochs, a.s.min_epochs);
    fflush(stdout);
    if (a.plan_only) {
        status = 0;
        goto done;
    }
    /* the progress line counts the training and the bootstrap, not loading and calibration */
    double setup = 0;
    for (int i = 0; i < n; ++i)
        setup += cost[i].load_s + cost[i].calib_s;
    progress_state prog = {a.progress, cli_now_s(), 0, planned - setup};
    for (int i = 0; i < n; ++i) {
        double ti = cli_now_s();
        a.s.ds[i].trials = a.s.trials;
        search_env e = {ctx, &a, &sd[i], &prog, a.s.ds[i].name};
        if (run_dataset(&e, i, &a.s.ds[i]) != 0)
            goto done;
        prog.done_s += 4.0 * a.s.bootstrap * a.s.n_seeds * cost[i].map_s;
        if (prog.on)
            fputs("\r\033[K", stderr);
        double mu[STUDY_LOSSES], sdv;
        for (int l = 0; l < STUDY_LOSSES; ++l)
            study_stat(&a.s, i, l, SM_MAP, &mu[l], &sdv);
        /* timing only reports: nothing read from the clock changes what runs next */
        double est = study_plan_seconds(&a.s, &cost[i], 1) - cost[i].load_s - cost[i].calib_s;
        printf("  %-10s test mAP bce %.4f asl %.4f apl %.4f (%.1f s, estimated %.1f; %.1f min "
               "elapsed)\n",
               a.s.ds[i].name, mu[0], mu[1], mu[2], cli_now_s() - ti, est, (cli_now_s() - t0) / 60);
        fflush(stdout);
    }
    print_table(&a.s);
    status = write_files(&a, command) != 0;
    printf("aplcl study: %.1f min in all (estimated %.1f)%s%s\n", (cli_now_s() - t0) / 60,
           planned / 60, status ? "" : "; wrote ", status ? "" : a.out);
done:
    if (cli_close_output(stdout, NULL, WHO))
        status = 1;
    for (int i = 0; sd && i < n; ++i)
        run_data_free(&sd[i].d);
    free(sd), free(cost), free(a.s.ds);
    aplcl_ctx_destroy(ctx);
    return status;
}
