/* trainer.c: one training run with per-epoch train/validation/test metrics and the epoch chosen
 * on validation (trainer.h).
 *
 * The loop of `aplcl train` (shuffled mini-batches, mean over the batch's samples summed over
 * labels, Adam) moved here so that `aplcl tune` runs exactly the same training.
 */
#include "trainer.h"

#include "tool_util.h"
#include "train_net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The progress bar: only where the caller says (a terminal, or --progress). */
void trainer_progress(int epoch, int epochs, size_t done, size_t total) {
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

static void set_nan(metrics_set *m) {
    double *v = &m->map;
    for (size_t i = 0; i < sizeof *m / sizeof(double); ++i)
        v[i] = NAN;
}

/* Predicts data set `set` into logits (and probabilities), counts non-finite logits, measures. */
static int evaluate(train_net *net, int set, const arff_data *d, float *logits, float *probs,
                    size_t *nonfinite, metrics_set *m) {
    if (train_net_predict(net, set, logits))
        return -1;
    size_t n = d->rows * d->labels, bad = 0;
    for (size_t i = 0; i < n; ++i) {
        bad += !isfinite(logits[i]);
        probs[i] = 1.0f / (1.0f + expf(-logits[i]));
    }
    *nonfinite += bad;
    if (!bad)
        metrics_all(logits, probs, d->y, d->rows, d->labels, 0.5f, m);
    return 0;
}

void trainer_result_free(trainer_result *r) {
    if (!r)
        return;
    free(r->curve);
    free(r->test_label_ap);
    free(r->val_logits);
    free(r->test_logits);
    memset(r, 0, sizeof *r);
}

const trainer_epoch *trainer_chosen(const trainer_result *r) {
    return r->chosen >= 1 && r->chosen <= r->epochs ? &r->curve[r->chosen - 1] : NULL;
}

int trainer_run(aplcl_ctx *ctx, const trainer_config *c, const char *loss_name,
                const aplcl_params *loss, uint64_t seed, int quiet_divergence,
                trainer_result *res) {
    return trainer_run_keep(ctx, c, loss_name, loss, seed, quiet_divergence, 0, res);
}

int trainer_run_keep(aplcl_ctx *ctx, const trainer_config *c, const char *loss_name,
                     const aplcl_params *loss, uint64_t seed, int quiet_divergence, int keep_logits,
                     trainer_result *res) {
    const arff_data *tr = c->train, *va = c->val, *te = c->test;
    memset(res, 0, sizeof *res);
    train_net_config cfg = {
        tr->features, (size_t)c->hidden, tr->labels, c->batch, c->lr, 0.9f, 0.999f, 1e-8f, 0.0f,
        seed,         c->pos_weight};
    char err[256];
    train_net *net = train_net_create(ctx, &cfg, err, sizeof err);
    if (!net) {
        fprintf(stderr, "%s: %s\n", c->who, err);
        return -1;
    }
    size_t most = tr->rows;
    if (va && va->rows > most)
        most = va->rows;
    if (te && te->rows > most)
        most = te->rows;
    int rcode = -1;
    size_t nb = (tr->rows + c->batch - 1) / c->batch;
    uint32_t *order = malloc(tr->rows * sizeof *order);
    float *logits = malloc(most * tr->labels * sizeof *logits);
    float *probs = malloc(most * tr->labels * sizeof *probs);
    float *losses = malloc(nb * sizeof *losses);
    res->curve = calloc((size_t)c->epochs, sizeof *res->curve);
    res->test_label_ap = te ? calloc(tr->labels ? tr->labels : 1, sizeof(double)) : NULL;
    int keep = keep_logits && va;
    size_t nv = keep ? va->rows * tr->labels : 0, nt = keep && te ? te->rows * tr->labels : 0;
    float *vbuf = keep ? malloc(nv * sizeof *vbuf + 1) : NULL;
    if (keep) {
        res->val_logits = malloc(nv * sizeof(float) + 1);
        res->test_logits = te ? malloc(nt * sizeof(float) + 1) : NULL;
    }
    if (!order || !logits || !probs || !losses || !res->curve || (te && !res->test_label_ap) ||
        (keep && (!vbuf || !res->val_logits || (te && !res->test_logits)))) {
        fprintf(stderr, "%s: out of host memory\n", c->who);
        goto out;
    }
    int s_tr = train_net_upload(net, tr->x, tr->y, tr->rows);
    int s_va = va ? train_net_upload(net, va->x, va->y, va->rows) : 0;
    int s_te = te ? train_net_upload(net, te->x, te->y, te->rows) : 0;
    if (s_tr < 0 || s_va < 0 || s_te < 0)
        goto fail;
    for (size_t i = 0; i < tr->rows; ++i)
        order[i] = (uint32_t)i;
    cli_rng rng = {seed * 7919 + 17};
    /* mean over the batch's samples, summed over labels: the usual multi-label convention */
    aplcl_params p = *loss;
    p.reduction = APLCL_REDUCE_MEAN;
    double best = -INFINITY;
    for (int ep = 1; ep <= c->epochs; ++ep) {
        shuffle(order, tr->rows, &rng);
        for (size_t b = 0; b < nb; ++b) {
            size_t r0 = b * c->batch, n = tr->rows - r0 < c->batch ? tr->rows - r0 : c->batch;
            p.normalizer = (double)n;
            if (train_net_step(net, s_tr, order + r0, n, &p, b))
                goto fail;
            if (c->progress && (b % 4 == 3 || b + 1 == nb))
                trainer_progress(ep, c->epochs, b + 1, nb);
        }
        uint64_t nonfinite = 0;
        if (train_net_losses(net, losses, nb, &nonfinite))
            goto fail;
        trainer_epoch *e = &res->curve[ep - 1];
        set_nan(&e->train), set_nan(&e->val), set_nan(&e->test);
        double sum = 0;
        for (size_t b = 0; b < nb; ++b)
            sum += losses[b];
        e->train_loss = sum / (double)nb;
        size_t bad = 0;
        if ((c->eval_train && evaluate(net, s_tr, tr, logits, probs, &bad, &e->train)) ||
            (va && evaluate(net, s_va, va, keep ? vbuf : logits, probs, &bad, &e->val)) ||
            (te && evaluate(net, s_te, te, logits, probs, &bad, &e->test)))
            goto fail;
        res->epochs = ep;
        /* Non-finite logits add nothing to the loss, so a diverged model can report a small
         * finite loss: the kernel's count says what the loss alone does not. */
        if (!isfinite(e->train_loss) || nonfinite || bad) {
            res->diverged = 1;
            if (!quiet_divergence)
                fprintf(stderr,
                        "%s: %s seed %llu epoch %d: training diverged: train loss %g, %llu "
                        "non-finite training logits, %zu non-finite evaluation logits (try a "
                        "smaller --lr)\n",
                        c->who, loss_name, (unsigned long long)seed, ep, e->train_loss,
                        (unsigned long long)nonfinite, bad);
            rcode = 0;
            goto out;
        }
        /* the earliest best: a later epoch must be strictly better (NaN never is) */
        int better = c->select == TRAINER_SELECT_LAST || res->chosen == 0 || e->val.map > best ||
                     (isnan(best) && !isnan(e->val.map));
        if (better) {
            best = e->val.map;
            res->chosen = ep;
            /* logits still hold the last set measured: the test set when there is one */
            for (size_t l = 0; te && l < te->labels; ++l)
                res->test_label_ap[l] = metrics_label_ap(logits, te->y, te->rows, te->labels, l);
            if (keep) {
                memcpy(res->val_logits, vbuf, nv * sizeof *vbuf);
                if (te)
                    memcpy(res->test_logits, logits, nt * sizeof *logits);
            }
        }
        if (c->log) {
            fprintf(c->log, "  %-*s seed %-3llu epoch %3d  train loss %9.5f", c->name_width,
                    loss_name, (unsigned long long)seed, ep, e->train_loss);
            if (va)
                fprintf(c->log, "  val mAP %.4f", e->val.map);
            if (te)
                fprintf(c->log, "  test mAP %.4f  micro-F1 %.4f  macro-F1 %.4f", e->test.map,
                        e->test.micro_f1, e->test.macro_f1);
            fputc('\n', c->log);
            fflush(c->log);
        }
    }
    rcode = 0;
    goto out;
fail:
    fprintf(stderr, "%s%s: %s\n", c->progress ? "\n" : "", c->who, train_net_error(net));
out:
    free(order), free(logits), free(probs), free(losses), free(vbuf);
    train_net_destroy(net);
    if (rcode != 0)
        trainer_result_free(res);
    return rcode;
}
