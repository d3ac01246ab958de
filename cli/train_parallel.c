/* train_parallel.c: `aplcl train --parallel data|labels [--devices LIST]`, one model over
 * several workers: MPI ranks (mpirun -n R) times the devices each process opens (--devices).
 *
 * data:   every worker holds the whole model and takes its share of each batch; the parameter
 *         gradients are summed over all workers (host sums in double, MPI_Allreduce across ranks)
 *         and every worker applies the same Adam step. The MEAN normaliser is the global batch
 *         size, so the summed gradient is the one-device gradient. Every epoch the parameters'
 *         bits are compared over all workers; a difference stops the run.
 * labels: every worker owns a contiguous block of labels: its rows of W and b and their Adam
 *         state. All upload the same training targets (the whole label space as BITS); each
 *         head reads its block through a label window. The partial dX at the head input (with
 *         a hidden layer) and the losses are summed over the workers; the hidden layer is
 *         replicated. Test metrics are computed where the labels live and reduced: mAP and
 *         macro-F1 as sums over labels, micro-F1 from summed TP/FP/FN.
 * Both follow the one-device run on the same seed up to the order of float sums. Within a
 * process the workers run one after another between the sums (each on its own context and
 * queue). Not here: overlap of communication with compute, the progress bar, checkpoints.
 */
#define _POSIX_C_SOURCE 200809L
#include "train_parallel.h"

#include "metrics.h"
#include "parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "aplcl train"
#define MAX_WORKERS 16

int tp_take_options(int *argc, char **argv, tp_options *o) {
    memset(o, 0, sizeof *o);
    int out = 1;
    for (int i = 1; i < *argc; ++i) {
        const char *a = argv[i], *eq = strchr(a, '='); /* "--opt value" or "--opt=value" */
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        int is_par = len == 10 && strncmp(a, "--parallel", len) == 0,
            is_dev = len == 9 && strncmp(a, "--devices", len) == 0;
        if (!is_par && !is_dev) {
            argv[out++] = argv[i];
            continue;
        }
        if (!eq && i + 1 >= *argc) {
            fprintf(stderr, WHO ": %s needs a value\n", a);
            return CLI_EXIT_USAGE;
        }
        const char *v = eq ? eq + 1 : argv[++i];
        if (is_par && strcmp(v, "data") == 0)
            o->mode = TP_DATA;
        else if (is_par && strcmp(v, "labels") == 0)
            o->mode = TP_LABELS;
        else if (is_par) {
            fprintf(stderr, WHO ": --parallel takes data or labels, not '%s'\n", v);
            return CLI_EXIT_USAGE;
        } else if (strlen(v) >= sizeof o->devices) {
            fprintf(stderr, WHO ": --devices list longer than %zu bytes\n", sizeof o->devices - 1);
            return CLI_EXIT_USAGE;
        } else
            snprintf(o->devices, sizeof o->devices, "%s", v);
    }
    *argc = out;
    argv[out] = NULL;
    const char *ranks = getenv("OMPI_COMM_WORLD_SIZE");
    if (!o->mode && (o->devices[0] || (ranks && atoi(ranks) > 1))) {
        fprintf(stderr, WHO ": several devices or ranks need --parallel data|labels\n");
        return CLI_EXIT_USAGE;
    }
    if (!o->mode)
        return -1;
    if (par_start() != 0)
        return CLI_EXIT_FAIL;
    if (par_rank() != 0) { /* one report: rank 0's; the others write errors only */
        if (!freopen("/dev/null", "w", stdout))
            return CLI_EXIT_FAIL;
        for (int i = 1; i + 1 < *argc; ++i)
            if (strcmp(argv[i], "--csv") == 0)
                argv[i + 1] = (char *)"/dev/null";
    }
    return -1;
}

/* One worker: its context (owned unless it is the tool's), network and label block. */
typedef struct {
    aplcl_ctx *ctx;
    int own_ctx;
    train_net *net;
    size_t c0, cw; /* labels [c0, c0 + cw) (labels mode; all labels in data mode) */
    int s_tr, s_te;
    uint8_t *y_te; /* test targets of the block (labels mode) */
} worker;

typedef struct {
    worker w[MAX_WORKERS];
    int n, g0, total; /* local workers, the first one's global index, workers in all ranks */
} team;

static void team_free(team *t) {
    for (int i = 0; i < t->n; ++i) {
        train_net_destroy(t->w[i].net);
        if (t->w[i].own_ctx)
            aplcl_ctx_destroy(t->w[i].ctx);
        free(t->w[i].y_te);
    }
}

/* Columns [c0, c0 + cw) of rows x cols targets. */
static uint8_t *label_block(const uint8_t *y, size_t rows, size_t cols, size_t c0, size_t cw) {
    uint8_t *b = malloc(rows * cw + 1);
    for (size_t r = 0; b && r < rows; ++r)
        memcpy(b + r * cw, y + r * cols + c0, cw);
    return b;
}

/* rows x cols 0/1 bytes as BITS words (APLCL_BITS_WORDS(cols) a row, label c in bit c % 32). */
static uint32_t *pack_bits(const uint8_t *y, size_t rows, size_t cols) {
    size_t words = APLCL_BITS_WORDS(cols);
    uint32_t *b = calloc(rows * words + 1, sizeof *b);
    for (size_t r = 0; b && r < rows; ++r)
        for (size_t c = 0; c < cols; ++c)
            b[r * words + c / 32] |= (uint32_t)(y[r * cols + c] != 0) << (c % 32);
    return b;
}

/* Worker i's network and data (bits: the whole training targets, labels mode). */
static int worker_open(team *t, int i, const tp_options *o, const tp_job *j, const uint32_t *bits) {
    const arff_data *tr = j->train, *te = j->test;
    size_t C = tr->labels;
    worker *w = &t->w[i];
    size_t g = (size_t)(t->g0 + i), G = (size_t)t->total;
    w->c0 = o->mode == TP_LABELS ? C * g / G : 0;
    w->cw = o->mode == TP_LABELS ? C * (g + 1) / G - w->c0 : C;
    train_net_config cfg = {
        tr->features, (size_t)j->hidden, w->cw, j->batch, j->lr, 0.9f, 0.999f, 1e-8f,
        0.0f,         j->seed,           NULL}; /* no pos_weight */
    char err[256];
    if (!(w->net = train_net_create_shard(w->ctx, &cfg, w->c0, C, err, sizeof err))) {
        par_fail(WHO, "worker %zu: %s", g, err);
        return -1;
    }
    /* labels: the training targets go up whole, as bits, and each worker's head reads its
     * block through a label window; the test targets of the block stay on the host for
     * the metrics */
    w->y_te = label_block(te->y, te->rows, C, w->c0, w->cw);
    if (!w->y_te) {
        par_fail(WHO, "out of memory");
        return -1;
    }
    w->s_tr = o->mode == TP_LABELS ? train_net_upload_bits(w->net, tr->x, bits, tr->rows)
                                   : train_net_upload(w->net, tr->x, tr->y, tr->rows);
    w->s_te = train_net_upload(w->net, te->x, w->y_te, te->rows);
    if (w->s_tr < 0 || w->s_te < 0) {
        par_fail(WHO, "worker %zu: %s", g, train_net_error(w->net));
        return -1;
    }
    return 0;
}

/* Opens the contexts, builds each worker's network and uploads its data; -1 after par_fail. */
static int team_open(team *t, const tp_options *o, const tp_job *j) {
    memset(t, 0, sizeof *t);
    char list[sizeof o->devices];
    snprintf(list, sizeof list, "%s", o->devices);
    char *save = NULL;
    for (char *d = o->devices[0] ? strtok_r(list, ",", &save) : NULL; d;
         d = strtok_r(NULL, ",", &save)) {
        if (t->n == MAX_WORKERS) {
            par_fail(WHO, "more than %d devices in --devices", MAX_WORKERS);
            return -1;
        }
        aplcl_status st = cli_ctx_create(&t->w[t->n].ctx, d);
        if (st != APLCL_SUCCESS) {
            par_fail(WHO, "device '%s': %s", d, aplcl_status_string(st));
            return -1;
        }
        t->w[t->n++].own_ctx = 1;
    }
    if (t->n == 0)
        t->w[t->n++].ctx = j->ctx;
    /* every rank must open as many devices: the worker numbering depends on it */
    if (!par_all_equal((uint64_t)t->n)) {
        par_fail(WHO, "the ranks open different numbers of devices (%d here)", t->n);
        return -1;
    }
    t->total = t->n * par_size();
    t->g0 = t->n * par_rank();
    const arff_data *tr = j->train;
    size_t C = tr->labels;
    if (o->mode == TP_LABELS && C < (size_t)t->total) {
        par_fail(WHO, "%zu labels cannot be split over %d workers", C, t->total);
        return -1;
    }
    uint32_t *bits = o->mode == TP_LABELS ? pack_bits(tr->y, tr->rows, C) : NULL;
    if (o->mode == TP_LABELS && !bits) {
        par_fail(WHO, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < t->n && rc == 0; ++i)
        rc = worker_open(t, i, o, j, bits);
    free(bits);
    return rc;
}

/* Sums buffer `which` over every worker of every rank and writes the sum back to each. */
static int team_sum(team *t, train_net_buf which, float *f, double *acc) {
    size_t n = train_net_copy_count(t->w[0].net, which);
    memset(acc, 0, n * sizeof *acc);
    for (int i = 0; i < t->n; ++i) {
        if (train_net_copy(t->w[i].net, which, f, 0))
            return i;
        for (size_t k = 0; k < n; ++k)
            acc[k] += f[k];
    }
    par_sum_f64(acc, n);
    for (size_t k = 0; k < n; ++k)
        f[k] = (float)acc[k];
    for (int i = 0; i < t->n; ++i)
        if (train_net_copy(t->w[i].net, which, f, 1))
            return i;
    return -1;
}

/* FNV-1a of the parameters' bits. */
static uint64_t params_hash(const float *f, size_t n) {
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)f;
    for (size_t i = 0; i < n * sizeof *f; ++i)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* The test metrics: sums over labels (mAP, macro-F1, labels scored) and TP/FP/FN, from each
 * worker's block (labels) or from the first worker's whole model (data), reduced over ranks. */
static int team_metrics(team *t, const tp_options *o, const tp_job *j, float *logits, double *map,
                        double *micro, double *macro, size_t *bad) {
    const arff_data *te = j->test;
    double s[6] = {0, 0, 0, 0, 0, 0}; /* AP sum, labels with AP, TP, FP, FN, macro-F1 sum */
    uint64_t nonfinite = 0;
    int n = o->mode == TP_LABELS ? t->n : (par_rank() == 0);
    for (int i = 0; i < n; ++i) {
        worker *w = &t->w[i];
        size_t cw = w->cw, R = te->rows;
        if (train_net_predict(w->net, w->s_te, logits))
            return i;
        for (size_t k = 0; k < R * cw; ++k) {
            nonfinite += !isfinite(logits[k]);
            logits[k] = 1.0f / (1.0f + expf(-logits[k]));
        }
        size_t skipped = 0;
        double m = metrics_map(logits, w->y_te, R, cw, &skipped), mac = 0;
        if (skipped < cw)
            s[0] += m * (double)(cw - skipped), s[1] += (double)(cw - skipped);
        metrics_f1(logits, w->y_te, R, cw, 0.5f, NULL, &mac);
        s[5] += mac * (double)cw;
        for (size_t k = 0; k < R * cw; ++k) {
            int pred = logits[k] >= 0.5f, pos = w->y_te[k] != 0;
            s[2] += pred && pos, s[3] += pred && !pos, s[4] += !pred && pos;
        }
    }
    par_sum_f64(s, 6);
    par_sum_u64(&nonfinite, 1);
    size_t C = te->labels;
    *map = s[1] > 0 ? s[0] / s[1] : NAN;
    *micro = s[2] + s[3] + s[4] > 0 ? 2 * s[2] / (2 * s[2] + s[3] + s[4]) : 1.0;
    *macro = s[5] / (double)C;
    *bad = (size_t)nonfinite;
    return -1;
}

/* One epoch's batches on every worker, with the sums between the phases; the failing worker's
 * index, or -1. */
static int team_epoch(team *t, const tp_options *o, const tp_job *j, const uint32_t *order,
                      size_t nb, float *f, double *acc) {
    const arff_data *tr = j->train;
    aplcl_params p = j->loss;
    p.reduction = APLCL_REDUCE_MEAN;
    for (size_t b = 0; b < nb; ++b) {
        size_t r0 = b * j->batch, n = tr->rows - r0 < j->batch ? tr->rows - r0 : j->batch;
        p.normalizer = (double)n; /* the global batch: the workers' gradients add up to it */
        for (int i = 0; i < t->n; ++i) {
            size_t g = (size_t)(t->g0 + i), G = (size_t)t->total;
            size_t lo = o->mode == TP_DATA ? n * g / G : 0,
                   hi = o->mode == TP_DATA ? n * (g + 1) / G : n;
            if (train_net_head_pass(t->w[i].net, t->w[i].s_tr, order + r0 + lo, hi - lo, &p, b))
                return i;
        }
        int bad = -1;
        if (o->mode == TP_LABELS && j->hidden && (bad = team_sum(t, TRAIN_NET_DX, f, acc)) >= 0)
            return bad;
        for (int i = 0; i < t->n; ++i)
            if (train_net_hidden_pass(t->w[i].net))
                return i;
        if (o->mode == TP_DATA && (bad = team_sum(t, TRAIN_NET_GRAD, f, acc)) >= 0)
            return bad;
        for (int i = 0; i < t->n; ++i)
            if (train_net_adam(t->w[i].net))
                return i;
    }
    return -1;
}

int tp_train_one(const tp_options *o, const tp_job *j, double result[4]) {
    const arff_data *tr = j->train, *te = j->test;
    team t;
    if (team_open(&t, o, j)) {
        team_free(&t);
        return -1;
    }
    size_t nb = (tr->rows + j->batch - 1) / j->batch, last = tr->rows - (nb - 1) * j->batch;
    if (o->mode == TP_DATA && last < (size_t)t.total) {
        par_fail(WHO, "a batch of %zu rows leaves a worker of %d without rows", last, t.total);
        team_free(&t);
        return -1;
    }
    size_t nmax = train_net_copy_count(t.w[0].net, TRAIN_NET_GRAD);
    size_t dmax = j->batch * (size_t)j->hidden;
    nmax = nmax > dmax ? nmax : dmax;
    size_t lmax = te->rows * te->labels > nb ? te->rows * te->labels : nb;
    uint32_t *order = malloc(tr->rows * sizeof *order);
    float *f = malloc((nmax > lmax ? nmax : lmax) * sizeof *f);
    double *acc = malloc((nmax > nb ? nmax : nb) * sizeof *acc);
    int rcode = -1, bad = -1;
    if (!order || !f || !acc) {
        par_fail(WHO, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < tr->rows; ++i)
        order[i] = (uint32_t)i;
    cli_rng rng = {j->seed * 7919 + 17}; /* cli/train.c's: the same batches */
    for (int ep = 1; ep <= j->epochs; ++ep) {
        cli_rng_shuffle_u32(&rng, order, tr->rows); /* cli/train.c's order */
        if ((bad = team_epoch(&t, o, j, order, nb, f, acc)) >= 0)
            goto fail;
        uint64_t nonfinite = 0, nf = 0;
        memset(acc, 0, nb * sizeof *acc);
        for (int i = 0; i < t.n; ++i) {
            if (train_net_losses(t.w[i].net, f, nb, &nf) != 0) {
                bad = i;
                goto fail;
            }
            nonfinite += nf;
            for (size_t b = 0; b < nb; ++b)
                acc[b] += f[b];
        }
        par_sum_f64(acc, nb);
        par_sum_u64(&nonfinite, 1);
        double sum = 0;
        for (size_t b = 0; b < nb; ++b)
            sum += acc[b];
        if (o->mode == TP_DATA) { /* the replicas must not drift apart, not by one bit */
            uint64_t h = 0;
            for (int i = 0; i < t.n; ++i) {
                if (train_net_copy(t.w[i].net, TRAIN_NET_THETA, f, 0)) {
                    bad = i;
                    goto fail;
                }
                uint64_t hi = params_hash(f, train_net_copy_count(t.w[i].net, TRAIN_NET_THETA));
                if (i > 0 && hi != h)
                    h = ~hi; /* differs within this rank: differs from every rank's value */
                else
                    h = hi;
            }
            if (!par_all_equal(h)) {
                par_fail(WHO, "epoch %d: the workers' parameters differ (data parallel)", ep);
                goto out;
            }
        }
        double map = 0, micro = 0, macro = 0;
        size_t bad_test = 0;
        if ((bad = team_metrics(&t, o, j, f, &map, &micro, &macro, &bad_test)) >= 0)
            goto fail;
        double loss = sum / (double)nb;
        if (!isfinite(loss) || nonfinite || bad_test) {
            par_fail(WHO,
                     "%s seed %llu epoch %d: training diverged: train loss %g, %llu non-finite "
                     "training logits, %zu non-finite test logits (try a smaller --lr)",
                     j->loss_name, (unsigned long long)j->seed, ep, loss,
                     (unsigned long long)nonfinite, bad_test);
            goto out;
        }
        printf("  %-14s seed %-3llu epoch %3d  train loss %9.5f  test mAP %.4f  micro-F1 %.4f  "
               "macro-F1 %.4f  (%s parallel, %d workers)\n",
               j->loss_name, (unsigned long long)j->seed, ep, loss, map, micro, macro,
               o->mode == TP_DATA ? "data" : "labels", t.total);
        fflush(stdout);
        if (j->csv) {
            cli_csv_field(j->csv, j->loss_name);
            fprintf(j->csv, ",%llu,%d,%.6f,%.6f,%.6f,%.6f\n", (unsigned long long)j->seed, ep, loss,
                    map, micro, macro);
        }
        result[0] = loss, result[1] = map, result[2] = micro, result[3] = macro;
    }
    rcode = 0;
    goto out;
fail:
    par_fail(WHO, "worker %d: %s", t.g0 + bad, train_net_error(t.w[bad].net));
out:
    free(order), free(f), free(acc);
    team_free(&t);
    return rcode;
}

void tp_finish(const tp_options *o, int status) {
    if (o->mode && status != 0 && par_size() > 1)
        par_fail(WHO, "stopped with exit status %d (the reason is above)", status);
}
