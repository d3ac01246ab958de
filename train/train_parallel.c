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
 *         replicated. The metrics are computed where the labels live and combined from partial
 *         statistics (train/metrics_blocks.h): nothing gathers the N x C scores.
 * Both follow the one-device run on the same seed up to the order of float sums, with the same
 * validation set, epoch selection, pos_weight and result (trainer.h) as trainer_run. Within a
 * process the workers run one after another between the sums (each on its own context and
 * queue). Not here: overlap of communication with compute, checkpoints.
 */
#define _POSIX_C_SOURCE 200809L
#include "train_parallel.h"

#include "metrics.h"
#include "metrics_blocks.h"
#include "parallel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "aplcl train"
#define MAX_WORKERS 16

/* The rank count mpirun announces (Open MPI, else MPICH/PMI), 1 when not started by it. */
static int launched_ranks(void) {
    const char *v = getenv("OMPI_COMM_WORLD_SIZE");
    if (!v)
        v = getenv("PMI_SIZE");
    return v && atoi(v) > 1 ? atoi(v) : 1;
}

/* A bad parallel option under mpirun: the other ranks may already wait in MPI_Init or in a
 * collective, so join them and abort rather than leave. */
static int take_failed(int status) {
    if (launched_ranks() > 1 && par_start() == 0)
        par_fail(WHO, "stopped with exit status %d (the reason is above)", status);
    return status;
}

static int take_options(int *argc, char **argv, tp_options *o);

int tp_take_options(int *argc, char **argv, tp_options *o) {
    int st = take_options(argc, argv, o);
    return st >= 0 ? take_failed(st) : st;
}

static int take_options(int *argc, char **argv, tp_options *o) {
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
    if (!o->mode && (o->devices[0] || launched_ranks() > 1)) {
        fprintf(stderr, WHO ": several devices or ranks need --parallel data|labels\n");
        return CLI_EXIT_USAGE;
    }
    if (!o->mode)
        return -1;
    if (par_start() != 0)
        return CLI_EXIT_FAIL;
    /* one report: rank 0's; the others write errors only (cli/train.c leaves --csv and --out
     * to tp_writer) */
    if (par_rank() != 0 && !freopen("/dev/null", "w", stdout))
        return CLI_EXIT_FAIL;
    return -1;
}

const char *tp_mode_name(const tp_options *o) {
    return o->mode == TP_DATA ? "data" : o->mode == TP_LABELS ? "labels" : NULL;
}

int tp_ranks(const tp_options *o) { return o->mode ? par_size() : 1; }

int tp_writer(const tp_options *o) { return !o->mode || par_rank() == 0; }

uint64_t tp_hash(uint64_t h, const void *data, size_t bytes) { return par_hash(h, data, bytes); }

int tp_agree(const tp_options *o, const char *what, uint64_t value) {
    if (!o->mode || par_all_equal(value))
        return 0;
    par_fail(WHO, "the ranks differ in %s (every rank must train the same model on the same data)",
             what);
    return -1;
}

/* The data sets a run uses: trainer_config's train, val, test (a NULL one is skipped). */
enum { SET_TRAIN, SET_VAL, SET_TEST, SETS };

/* One worker: its context (owned unless it is the tool's), network and label block. */
typedef struct {
    aplcl_ctx *ctx;
    int own_ctx;
    train_net *net;
    size_t c0, cw; /* labels [c0, c0 + cw) (labels mode; all labels in data mode) */
    int set[SETS]; /* train_net's handle of each set (-1: not uploaded) */
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
    }
}

/* Columns [c0, c0 + cw) of rows x cols targets. */
static uint8_t *label_block(const uint8_t *y, size_t rows, size_t cols, size_t c0, size_t cw) {
    uint8_t *b = malloc(rows * cw + 1);
    for (size_t r = 0; b && r < rows; ++r)
        memcpy(b + r * cw, y + r * cols + c0, cw);
    return b;
}

/* rows x cols 0/1 bytes as BITS words (APLCL_BITS_WORDS(cols) a row), packed by the library
 * (aplcl_pack_bits through cli_pack_u8); NULL when out of memory. */
static uint32_t *pack_bits(const uint8_t *y, size_t rows, size_t cols) {
    uint32_t *b = calloc(rows * APLCL_BITS_WORDS(cols) + 1, sizeof *b);
    if (b && cli_pack_u8(y, rows, cols, APLCL_TARGET_BITS, b, NULL, NULL, 0) != 0) {
        free(b); /* not 0/1: arff.h promises 0 or 1, so only a broken reader gets here */
        b = NULL;
    }
    return b;
}

/* Worker i's network and data (bits: the whole training targets, labels mode). */
static int worker_open(team *t, int i, const tp_options *o, const trainer_config *c, uint64_t seed,
                       const uint32_t *bits) {
    const arff_data *tr = c->train, *sets[SETS] = {c->train, c->val, c->test};
    size_t C = tr->labels;
    worker *w = &t->w[i];
    size_t g = (size_t)(t->g0 + i), G = (size_t)t->total;
    w->c0 = o->mode == TP_LABELS ? C * g / G : 0;
    w->cw = o->mode == TP_LABELS ? C * (g + 1) / G - w->c0 : C;
    /* the block's share of pos_weight: the loss reads it per label of the head */
    train_net_config cfg = {tr->features,
                            (size_t)c->hidden,
                            w->cw,
                            c->batch,
                            c->lr,
                            0.9f,
                            0.999f,
                            1e-8f,
                            0.0f,
                            seed,
                            c->pos_weight ? c->pos_weight + w->c0 : NULL};
    char err[256];
    if (!(w->net = train_net_create_shard(w->ctx, &cfg, w->c0, C, err, sizeof err))) {
        par_fail(WHO, "worker %zu: %s", g, err);
        return -1;
    }
    /* labels: the training targets go up whole, as bits, and each worker's head reads its
     * block through a label window; the validation and test targets go up as the block */
    for (int k = 0; k < SETS; ++k) {
        const arff_data *d = sets[k];
        w->set[k] = -1;
        if (!d)
            continue;
        if (o->mode == TP_LABELS && k == SET_TRAIN) {
            w->set[k] = train_net_upload_bits(w->net, d->x, bits, d->rows);
        } else if (o->mode == TP_LABELS) {
            uint8_t *yb = label_block(d->y, d->rows, C, w->c0, w->cw);
            if (!yb) {
                par_fail(WHO, "out of memory");
                return -1;
            }
            w->set[k] = train_net_upload(w->net, d->x, yb, d->rows);
            free(yb);
        } else
            w->set[k] = train_net_upload(w->net, d->x, d->y, d->rows);
        if (w->set[k] < 0) {
            par_fail(WHO, "worker %zu: %s", g, train_net_error(w->net));
            return -1;
        }
    }
    return 0;
}

/* Opens the contexts, builds each worker's network and uploads its data; -1 after par_fail. */
static int team_open(team *t, const tp_options *o, aplcl_ctx *ctx, const trainer_config *c,
                     uint64_t seed) {
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
        t->w[t->n++].ctx = ctx;
    /* every rank must open as many devices: the worker numbering depends on it */
    if (!par_all_equal((uint64_t)t->n)) {
        par_fail(WHO, "the ranks open different numbers of devices (%d here)", t->n);
        return -1;
    }
    t->total = t->n * par_size();
    t->g0 = t->n * par_rank();
    const arff_data *tr = c->train;
    size_t C = tr->labels;
    if (o->mode == TP_LABELS && C < (size_t)t->total) {
        par_fail(WHO, "%zu labels cannot be split over %d workers", C, t->total);
        return -1;
    }
    uint32_t *bits = o->mode == TP_LABELS ? pack_bits(tr->y, tr->rows, C) : NULL;
    if (o->mode == TP_LABELS && !bits) {
        par_fail(WHO, "packing the training targets: out of memory (or a target not 0/1)");
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < t->n && rc == 0; ++i)
        rc = worker_open(t, i, o, c, seed, bits);
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

static void set_nan(metrics_set *m) {
    double *v = &m->map;
    for (int i = 0; i < METRICS_COUNT; ++i)
        v[i] = NAN;
}

/* Host buffers of the evaluation: logits of the local blocks (rows x labels at most), their
 * probabilities (data mode), and the values rank 0 broadcasts (data mode). */
typedef struct {
    float *logits, *probs;
    double *bc;
} eval_buf;

/* Data mode: rank 0's first worker holds the whole model; it measures, the others receive the
 * numbers through a sum (zeros elsewhere). v: METRICS_COUNT + 1 + C doubles. */
static int eval_data(team *t, int k, const arff_data *d, eval_buf *b, uint64_t *nonfinite,
                     metrics_set *m, double *label_ap) {
    size_t R = d->rows, C = d->labels, nv = METRICS_COUNT + 1 + C;
    double *v = b->bc;
    memset(v, 0, nv * sizeof *v);
    if (par_rank() == 0) {
        if (train_net_predict(t->w[0].net, t->w[0].set[k], b->logits))
            return 0;
        size_t bad = 0;
        for (size_t i = 0; i < R * C; ++i) {
            bad += !isfinite(b->logits[i]);
            b->probs[i] = 1.0f / (1.0f + expf(-b->logits[i]));
        }
        v[METRICS_COUNT] = (double)bad;
        if (!bad) {
            metrics_set mm;
            metrics_all(b->logits, b->probs, d->y, R, C, 0.5f, &mm);
            for (int i = 0; i < METRICS_COUNT; ++i)
                v[i] = metrics_get(&mm, i);
            for (size_t c = 0; label_ap && c < C; ++c)
                v[METRICS_COUNT + 1 + c] = metrics_label_ap(b->logits, d->y, R, C, c);
        }
    }
    par_sum_f64(v, nv);
    *nonfinite += (uint64_t)v[METRICS_COUNT];
    memcpy(&m->map, v, METRICS_COUNT * sizeof *v); /* metrics_set: the ten doubles in order */
    if (v[METRICS_COUNT] > 0)
        set_nan(m);
    for (size_t c = 0; label_ap && c < C; ++c)
        label_ap[c] = v[METRICS_COUNT + 1 + c];
    return -1;
}

/* Labels mode: each worker predicts its block; metrics_blocks combines them. */
static int eval_labels(team *t, int k, const arff_data *d, eval_buf *b, uint64_t *nonfinite,
                       metrics_set *m, double *label_ap) {
    size_t R = d->rows, C = d->labels, off[MAX_WORKERS], o = 0;
    uint64_t bad = 0;
    for (int i = 0; i < t->n; ++i) {
        off[i] = R * o;
        if (train_net_predict(t->w[i].net, t->w[i].set[k], b->logits + off[i]))
            return i;
        for (size_t e = 0; e < R * t->w[i].cw; ++e)
            bad += !isfinite(b->logits[off[i] + e]);
        o += t->w[i].cw;
    }
    par_sum_u64(&bad, 1);
    *nonfinite += bad;
    if (bad) { /* as trainer.c: no metrics of a model that produced non-finite logits */
        set_nan(m);
        return -1;
    }
    mb_state st;
    if (mb_init(&st, d->y, R, C) != 0) {
        par_fail(WHO, "out of memory");
        return -2;
    }
    for (int i = 0; i < t->n; ++i)
        mb_step_positives(&st, b->logits + off[i], d->y, t->w[i].c0, t->w[i].cw);
    par_sum_f64(st.pos, st.positives);
    for (int i = 0; i < t->n; ++i)
        mb_step_row_max(&st, b->logits + off[i], t->w[i].c0, t->w[i].cw);
    par_max_f64(st.top, R);
    for (int i = 0; i < t->n; ++i)
        mb_step_row_first(&st, b->logits + off[i], t->w[i].c0, t->w[i].cw);
    par_max_f64(st.first, R);
    int oom = 0;
    for (int i = 0; i < t->n; ++i)
        oom |= mb_step_sums(&st, b->logits + off[i], d->y, t->w[i].c0, t->w[i].cw, 0.5f);
    if (oom) {
        mb_free(&st);
        par_fail(WHO, "out of memory");
        return -2;
    }
    par_sum_f64(st.sums, mb_sums_count(&st));
    mb_finish(&st, d->y, m, label_ap);
    mb_free(&st);
    return -1;
}

/* Measures set k (every metric, the same on every rank) and counts its non-finite logits;
 * label_ap (may be NULL): the per-label AP. The failing worker's index, -1, or -2 after
 * par_fail. */
static int team_eval(team *t, const tp_options *o, int k, const arff_data *d, eval_buf *b,
                     uint64_t *nonfinite, metrics_set *m, double *label_ap) {
    return o->mode == TP_DATA ? eval_data(t, k, d, b, nonfinite, m, label_ap)
                              : eval_labels(t, k, d, b, nonfinite, m, label_ap);
}

/* One epoch's batches on every worker, with the sums between the phases; the failing worker's
 * index, or -1. */
static int team_epoch(team *t, const tp_options *o, const trainer_config *c,
                      const aplcl_params *loss, int ep, const uint32_t *order, size_t nb, float *f,
                      double *acc) {
    const arff_data *tr = c->train;
    aplcl_params p = *loss;
    p.reduction = APLCL_REDUCE_MEAN;
    for (size_t b = 0; b < nb; ++b) {
        size_t r0 = b * c->batch, n = tr->rows - r0 < c->batch ? tr->rows - r0 : c->batch;
        p.normalizer = (double)n; /* the global batch: the workers' gradients add up to it */
        for (int i = 0; i < t->n; ++i) {
            size_t g = (size_t)(t->g0 + i), G = (size_t)t->total;
            size_t lo = o->mode == TP_DATA ? n * g / G : 0,
                   hi = o->mode == TP_DATA ? n * (g + 1) / G : n;
            if (train_net_head_pass(t->w[i].net, t->w[i].set[SET_TRAIN], order + r0 + lo, hi - lo,
                                    &p, b))
                return i;
        }
        int bad = -1;
        if (o->mode == TP_LABELS && c->hidden && (bad = team_sum(t, TRAIN_NET_DX, f, acc)) >= 0)
            return bad;
        for (int i = 0; i < t->n; ++i)
            if (train_net_hidden_pass(t->w[i].net))
                return i;
        if (o->mode == TP_DATA && (bad = team_sum(t, TRAIN_NET_GRAD, f, acc)) >= 0)
            return bad;
        for (int i = 0; i < t->n; ++i)
            if (train_net_adam(t->w[i].net))
                return i;
        if (c->progress && tp_writer(o) && (b % 4 == 3 || b + 1 == nb))
            trainer_progress(ep, c->epochs, b + 1, nb); /* drawn by the writing rank */
    }
    return -1;
}

/* The mean batch loss of the epoch and the non-finite training logits, summed over the workers;
 * the failing worker's index, or -1. */
static int team_loss(team *t, size_t nb, float *f, double *acc, double *loss, uint64_t *nonfinite) {
    uint64_t nf = 0;
    *nonfinite = 0;
    memset(acc, 0, nb * sizeof *acc);
    for (int i = 0; i < t->n; ++i) {
        if (train_net_losses(t->w[i].net, f, nb, &nf) != 0)
            return i;
        *nonfinite += nf;
        for (size_t b = 0; b < nb; ++b)
            acc[b] += f[b];
    }
    par_sum_f64(acc, nb);
    par_sum_u64(nonfinite, 1);
    double sum = 0;
    for (size_t b = 0; b < nb; ++b)
        sum += acc[b];
    *loss = sum / (double)nb;
    return -1;
}

/* Data mode: the replicas must not drift apart, not by one bit. -1 when they agree, the failing
 * worker's index, or -2 after par_fail. */
static int team_same_params(team *t, int ep, float *f) {
    uint64_t h = 0;
    for (int i = 0; i < t->n; ++i) {
        if (train_net_copy(t->w[i].net, TRAIN_NET_THETA, f, 0))
            return i;
        uint64_t hi = tp_hash(TP_HASH_INIT, f,
                              train_net_copy_count(t->w[i].net, TRAIN_NET_THETA) * sizeof *f);
        h = i > 0 && hi != h ? ~hi : hi; /* differs within this rank: differs from every rank */
    }
    if (!par_all_equal(h)) {
        par_fail(WHO, "epoch %d: the workers' parameters differ (data parallel)", ep);
        return -2;
    }
    return -1;
}

int tp_train_run(const tp_options *o, aplcl_ctx *ctx, const trainer_config *c,
                 const char *loss_name, const aplcl_params *loss, uint64_t seed,
                 trainer_result *res) {
    const arff_data *tr = c->train, *sets[SETS] = {c->train, c->val, c->test};
    memset(res, 0, sizeof *res);
    /* the job itself: a safety net behind cli/train.c's checks of the options and data */
    uint64_t job[8] = {seed,
                       (uint64_t)c->epochs,
                       (uint64_t)c->hidden,
                       c->batch,
                       (uint64_t)c->select,
                       (uint64_t)c->eval_train,
                       !!c->val,
                       !!c->test};
    uint64_t jh = tp_hash(tp_hash(TP_HASH_INIT, job, sizeof job), &c->lr, sizeof c->lr);
    if (tp_agree(o, "the training run (seed, schedule or data sets)", jh))
        return -1;
    team t;
    if (team_open(&t, o, ctx, c, seed)) {
        team_free(&t);
        return -1;
    }
    size_t nb = (tr->rows + c->batch - 1) / c->batch, last = tr->rows - (nb - 1) * c->batch;
    if (o->mode == TP_DATA && last < (size_t)t.total) {
        par_fail(WHO, "a batch of %zu rows leaves a worker of %d without rows", last, t.total);
        team_free(&t);
        return -1;
    }
    size_t C = tr->labels, most = 0;
    for (int k = 0; k < SETS; ++k)
        if (sets[k] && (k != SET_TRAIN || c->eval_train) && sets[k]->rows > most)
            most = sets[k]->rows;
    size_t nmax = train_net_copy_count(t.w[0].net, TRAIN_NET_GRAD);
    size_t dmax = c->batch * (size_t)c->hidden;
    nmax = nmax > dmax ? nmax : dmax;
    nmax = nmax > nb ? nmax : nb;
    uint32_t *order = malloc(tr->rows * sizeof *order);
    float *f = malloc(nmax * sizeof *f);
    double *acc = malloc(nmax * sizeof *acc);
    eval_buf eb = {malloc((most * C + 1) * sizeof(float)), malloc((most * C + 1) * sizeof(float)),
                   malloc((METRICS_COUNT + 1 + C) * sizeof(double))};
    double *ap = malloc((C + 1) * sizeof *ap);
    res->curve = calloc((size_t)c->epochs, sizeof *res->curve);
    res->test_label_ap = c->test ? calloc(C + 1, sizeof(double)) : NULL;
    int rcode = -1, bad = -1;
    if (!order || !f || !acc || !eb.logits || !eb.probs || !eb.bc || !ap || !res->curve ||
        (c->test && !res->test_label_ap)) {
        par_fail(WHO, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < tr->rows; ++i)
        order[i] = (uint32_t)i;
    cli_rng rng = {seed * 7919 + 17}; /* trainer.c's: the same batches */
    double best = -INFINITY;
    for (int ep = 1; ep <= c->epochs; ++ep) {
        cli_rng_shuffle_u32(&rng, order, tr->rows); /* trainer.c's order */
        trainer_epoch *e = &res->curve[ep - 1];
        set_nan(&e->train), set_nan(&e->val), set_nan(&e->test);
        uint64_t nonfinite = 0, bad_eval = 0;
        if ((bad = team_epoch(&t, o, c, loss, ep, order, nb, f, acc)) >= 0 ||
            (bad = team_loss(&t, nb, f, acc, &e->train_loss, &nonfinite)) >= 0 ||
            (o->mode == TP_DATA && (bad = team_same_params(&t, ep, f)) != -1))
            goto fail;
        metrics_set *ms[SETS] = {&e->train, &e->val, &e->test};
        for (int k = 0; k < SETS; ++k)
            if (sets[k] && (k != SET_TRAIN || c->eval_train) &&
                (bad = team_eval(&t, o, k, sets[k], &eb, &bad_eval, ms[k],
                                 k == SET_TEST ? ap : NULL)) != -1)
                goto fail;
        res->epochs = ep;
        /* the sums are global: every rank takes the same branch */
        if (!isfinite(e->train_loss) || nonfinite || bad_eval) {
            res->diverged = 1;
            if (tp_writer(o))
                fprintf(stderr,
                        WHO ": %s seed %llu epoch %d: training diverged: train loss %g, %llu "
                            "non-finite training logits, %llu non-finite evaluation logits (try a "
                            "smaller --lr)\n",
                        loss_name, (unsigned long long)seed, ep, e->train_loss,
                        (unsigned long long)nonfinite, (unsigned long long)bad_eval);
            rcode = 0;
            goto out;
        }
        /* trainer.c's choice: the earliest best validation mAP, or the last epoch */
        if (c->select == TRAINER_SELECT_LAST || res->chosen == 0 || e->val.map > best ||
            (isnan(best) && !isnan(e->val.map))) {
            best = e->val.map;
            res->chosen = ep;
            if (c->test)
                memcpy(res->test_label_ap, ap, C * sizeof *ap);
        }
        if (c->log) {
            fprintf(c->log, "  %-*s seed %-3llu epoch %3d  train loss %9.5f", c->name_width,
                    loss_name, (unsigned long long)seed, ep, e->train_loss);
            if (c->val)
                fprintf(c->log, "  val mAP %.4f", e->val.map);
            if (c->test)
                fprintf(c->log, "  test mAP %.4f  micro-F1 %.4f  macro-F1 %.4f", e->test.map,
                        e->test.micro_f1, e->test.macro_f1);
            fprintf(c->log, "  (%s parallel, %d workers)\n", o->mode == TP_DATA ? "data" : "labels",
                    t.total);
            fflush(c->log);
        }
    }
    rcode = 0;
    goto out;
fail:
    if (bad >= 0)
        par_fail(WHO, "worker %d: %s", t.g0 + bad, train_net_error(t.w[bad].net));
out:
    free(order), free(f), free(acc), free(eb.logits), free(eb.probs), free(eb.bc), free(ap);
    team_free(&t);
    if (rcode != 0)
        trainer_result_free(res);
    return rcode;
}

void tp_finish(const tp_options *o, int status) {
    if (o->mode && status != 0 && par_size() > 1)
        par_fail(WHO, "stopped with exit status %d (the reason is above)", status);
}
