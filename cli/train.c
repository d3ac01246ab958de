/* train.c: `aplcl train`, a multi-label classifier trained on the OpenCL device with any loss.
 *
 * Reads MULAN ARFF train/test files, standardises features with the training statistics, fits
 * features -> [hidden ReLU layer] -> linear head with mini-batch Adam (train_net.c), and reports
 * per epoch the training loss and the test mAP, micro-F1 and macro-F1 (threshold 0.5). Several
 * losses and seeds compare in one run. Not a general trainer: one architecture, fixed schedule.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "arff.h"
#include "cli.h"
#include "metrics.h"
#include "train_net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOSSES 16
#define MAX_SEEDS 16

typedef struct {
    char name[96];
    aplcl_params p;
} loss_spec;

/* "name[:key=value,...]": name is apl, bce, asl, focal or poly1; keys gamma_pos, gamma_neg,
 * gamma (both), clip, eps, alpha (a1/a2/...), beta (b1/...), focus (0/1), epsilon (poly1). */
static int parse_loss(const char *spec, loss_spec *out) {
    char buf[256];
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
    else
        return -1;
    if (!colon)
        return 0;
    char *kv_save = NULL;
    for (char *kv = strtok_r(colon + 1, ",", &kv_save); kv; kv = strtok_r(NULL, ",", &kv_save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        const char *k = kv, *v = eq + 1;
        aplcl_params *p = &out->p;
        if (strcmp(k, "gamma_pos") == 0)
            p->gamma_pos = strtof(v, NULL);
        else if (strcmp(k, "gamma_neg") == 0)
            p->gamma_neg = strtof(v, NULL);
        else if (strcmp(k, "gamma") == 0)
            p->gamma_pos = p->gamma_neg = strtof(v, NULL);
        else if (strcmp(k, "clip") == 0)
            p->clip = strtof(v, NULL);
        else if (strcmp(k, "eps") == 0)
            p->eps = strtof(v, NULL);
        else if (strcmp(k, "focus") == 0)
            p->focus_grad = atoi(v);
        else if (strcmp(k, "epsilon") == 0)
            p->alpha[0] = p->beta[0] = 1.0f + strtof(v, NULL), p->n_alpha = p->n_beta = 1;
        else if (strcmp(k, "alpha") == 0 || strcmp(k, "beta") == 0) {
            float *c = k[0] == 'a' ? p->alpha : p->beta;
            int *n = k[0] == 'a' ? &p->n_alpha : &p->n_beta;
            *n = 0;
            for (const char *s = v; *s && *n < APLCL_MAX_TERMS;) {
                char *end;
                c[(*n)++] = strtof(s, &end);
                s = *end == '/' ? end + 1 : end;
                if (end == s && *s)
                    return -1;
            }
        } else {
            return -1;
        }
    }
    return aplcl_params_validate(&out->p) == APLCL_SUCCESS ? 0 : -1;
}

typedef struct {
    double train_loss, map, micro_f1, macro_f1;
} epoch_result;

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
            if (b % 4 == 3 || b + 1 == nb)
                progress(ep, rc->epochs, b + 1, nb);
        }
        if (train_net_losses(net, losses, nb) || train_net_predict(net, s_te, logits))
            goto fail;
        double sum = 0;
        for (size_t b = 0; b < nb; ++b)
            sum += losses[b];
        epoch_result er;
        er.train_loss = sum / (double)nb;
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
        if (rc->csv)
            fprintf(rc->csv, "%s,%llu,%d,%.6f,%.6f,%.6f,%.6f\n", loss->name,
                    (unsigned long long)seed, ep, er.train_loss, er.map, er.micro_f1, er.macro_f1);
        *final = er;
    }
    rcode = 0;
    goto out;
fail:
    fprintf(stderr, "\naplcl train: %s\n", train_net_error(net));
out:
    free(order), free(logits), free(losses);
    train_net_destroy(net);
    return rcode;
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

static void usage(void) {
    fprintf(stderr,
            "usage: aplcl train TRAIN.arff TEST.arff (--labels N | --labels-xml FILE)\n"
            "         [--loss LIST] [--epochs E] [--hidden H] [--seed S | --seeds S1,S2,..]\n"
            "         [--batch B] [--lr LR] [--csv FILE] [--device D]\n"
            "  LIST: comma-free specs separated by ';' or a plain comma list of names, e.g.\n"
            "        apl,bce,asl  or  'apl;asl:gamma_neg=2,clip=0.1;focal:gamma=1'\n"
            "  names: apl (reference defaults), bce, asl (4, 0, 0.05), focal (2), poly1 (1)\n"
            "  keys: gamma_pos gamma_neg gamma clip eps alpha=a1/a2 beta=b1/.. focus epsilon\n");
}

/* Splits the --loss list: ';' separates specs when present, else ',' (plain names). */
static int parse_loss_list(const char *list, loss_spec *out, int max) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    const char *sep = strchr(buf, ';') ? ";" : ",";
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, sep, &save); tok && n < max; tok = strtok_r(NULL, sep, &save)) {
        if (parse_loss(tok, &out[n]) != 0) {
            fprintf(stderr, "aplcl train: bad loss spec '%s'\n", tok);
            return -1;
        }
        ++n;
    }
    return n;
}

int cli_train(int argc, char **argv) {
    if (argc < 2 || argv[0][0] == '-' || argv[1][0] == '-') {
        usage();
        return 2;
    }
    const char *train_path = argv[0], *test_path = argv[1];
    const char *labels_s = cli_opt(argc, argv, "--labels");
    const char *labels_xml = cli_opt(argc, argv, "--labels-xml");
    const char *loss_s = cli_opt(argc, argv, "--loss");
    const char *seeds_s = cli_opt(argc, argv, "--seeds");
    const char *seed_s = cli_opt(argc, argv, "--seed");
    const char *csv_s = cli_opt(argc, argv, "--csv");
    run_config rc = {NULL, NULL, 30, 0, 64, 3e-3f, NULL};
    const char *v;
    if ((v = cli_opt(argc, argv, "--epochs")))
        rc.epochs = atoi(v);
    if ((v = cli_opt(argc, argv, "--hidden")))
        rc.hidden = atoi(v);
    if ((v = cli_opt(argc, argv, "--batch")))
        rc.batch = (size_t)atol(v);
    if ((v = cli_opt(argc, argv, "--lr")))
        rc.lr = strtof(v, NULL);
    if (rc.epochs < 1 || rc.hidden < 0 || rc.batch < 1 || !(rc.lr > 0)) {
        usage();
        return 2;
    }

    arff_error aerr;
    size_t n_labels = 0;
    if (labels_s) {
        n_labels = (size_t)atol(labels_s);
    } else if (labels_xml) {
        if (arff_label_count_from_xml(labels_xml, &n_labels, &aerr) != 0) {
            fprintf(stderr, "%s:%zu:%zu: %s\n", aerr.file, aerr.line, aerr.column, aerr.message);
            return 1;
        }
    }
    if (n_labels == 0) {
        usage();
        return 2;
    }
    loss_spec losses[MAX_LOSSES];
    int n_losses = parse_loss_list(loss_s ? loss_s : "apl", losses, MAX_LOSSES);
    if (n_losses <= 0)
        return 2;
    uint64_t seeds[MAX_SEEDS];
    int n_seeds = 0;
    if (seeds_s) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", seeds_s);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t && n_seeds < MAX_SEEDS;
             t = strtok_r(NULL, ",", &save))
            seeds[n_seeds++] = strtoull(t, NULL, 10);
    } else {
        seeds[n_seeds++] = seed_s ? strtoull(seed_s, NULL, 10) : 1;
    }

    arff_data train, test;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (arff_load(train_path, n_labels, &train, &aerr) != 0 ||
        arff_load(test_path, n_labels, &test, &aerr) != 0) {
        fprintf(stderr, "%s:%zu:%zu: %s\n", aerr.file, aerr.line, aerr.column, aerr.message);
        arff_free(&train);
        return 1;
    }
    int status = 1;
    aplcl_ctx *ctx = NULL;
    if (train.features != test.features || train.labels != test.labels) {
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

    aplcl_status st = aplcl_ctx_create(&ctx, cli_opt(argc, argv, "--device"));
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl train: %s\n", aplcl_status_string(st));
        goto done;
    }
    char model[64];
    if (rc.hidden)
        snprintf(model, sizeof model, "%zu-%d(ReLU)-%zu", train.features, rc.hidden, train.labels);
    else
        snprintf(model, sizeof model, "%zu-%zu (linear)", train.features, train.labels);
    printf(
        "aplcl train: %zu train / %zu test rows, %zu features, %zu labels; model %s; Adam lr %g, "
        "batch %zu, %d epochs; device %s\n",
        train.rows, test.rows, train.features, train.labels, model, (double)rc.lr, rc.batch,
        rc.epochs, aplcl_ctx_device_name(ctx));
    rc.train = &train;
    rc.test = &test;
    if (csv_s) {
        rc.csv = fopen(csv_s, "w");
        if (!rc.csv) {
            fprintf(stderr, "aplcl train: cannot write %s\n", csv_s);
            goto done;
        }
        fprintf(rc.csv, "loss,seed,epoch,train_loss,test_map,micro_f1,macro_f1\n");
    }
    static epoch_result results[MAX_LOSSES][MAX_SEEDS];
    for (int l = 0; l < n_losses; ++l)
        for (int s = 0; s < n_seeds; ++s)
            if (train_one(ctx, &rc, &losses[l], seeds[s], &results[l][s]) != 0)
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
    if (rc.csv)
        fclose(rc.csv);
    aplcl_ctx_destroy(ctx);
    arff_free(&train);
    arff_free(&test);
    return status;
}
