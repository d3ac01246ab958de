/* report.c: the final table and the --out DIR files of `aplcl train` / `aplcl tune` (report.h).
 *
 * Curves are written per run (loss, seed, epoch) with every metric of every set; the chart
 * averages each curve over the seeds. CSV fields are quoted as RFC 4180 says (loss specs hold
 * commas), lines end with LF; JSON null for a
 * metric that was not measured.
 */
#define _POSIX_C_SOURCE 200809L /* mkdir */
#include "report.h"

#include "svg_chart.h"
#include "tool_util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const trainer_result *run(const report *r, int l, int s) {
    return &r->runs[(size_t)l * (size_t)r->n_seeds + (size_t)s];
}

void report_test_stat(const report *r, int l, int m, double *mean, double *sd) {
    double v[64], sum = 0, ss = 0;
    int n = r->n_seeds < 64 ? r->n_seeds : 64;
    for (int s = 0; s < n; ++s) {
        const trainer_result *t = run(r, l, s);
        const trainer_epoch *e = trainer_chosen(t);
        v[s] = m < 0 ? t->chosen : e ? metrics_get(&e->test, m) : NAN;
        sum += v[s];
    }
    *mean = sum / n;
    for (int s = 0; s < n; ++s)
        ss += (v[s] - *mean) * (v[s] - *mean);
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

/* "12/30/7": the chosen epoch of each seed. */
static void epochs_text(const report *r, int l, char *buf, size_t size) {
    size_t len = 0;
    buf[0] = '\0';
    for (int s = 0; s < r->n_seeds && len + 1 < size; ++s) {
        int w = snprintf(buf + len, size - len, "%s%d", s ? "/" : "", run(r, l, s)->chosen);
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
    }
}

void report_table(FILE *f, const report *r) {
    int w = 4, we = 5;
    char ep[256];
    for (int l = 0; l < r->n_losses; ++l) {
        int n = (int)strlen(r->losses[l].name);
        w = n > w ? n : w;
        epochs_text(r, l, ep, sizeof ep);
        n = (int)strlen(ep);
        we = n > we ? n : we;
    }
    fprintf(f, "\n%s, test set (%d seed%s: mean, mAP +- sd)\n",
            r->select == TRAINER_SELECT_BEST_VAL ? "epoch of best validation mAP" : "final epoch",
            r->n_seeds, r->n_seeds > 1 ? "s" : "");
    /* mAP, micro-F1, macro-F1, ex-F1, Hamming, ranking loss, one-error, coverage */
    static const int cols[] = {0, 1, 2, 9, 3, 4, 6, 5};
    static const char *const heads[] = {"mAP",     "micro-F1",  "macro-F1", "ex-F1",
                                        "Hamming", "rank-loss", "one-err",  "coverage"};
    fprintf(f, "  %-*s  %-*s  %-15s", w, "loss", we, "epoch", heads[0]);
    for (size_t c = 1; c < sizeof cols / sizeof cols[0]; ++c)
        fprintf(f, " %9s", heads[c]);
    fputc('\n', f);
    for (int l = 0; l < r->n_losses; ++l) {
        double mu, sd;
        epochs_text(r, l, ep, sizeof ep);
        report_test_stat(r, l, 0, &mu, &sd);
        fprintf(f, "  %-*s  %-*s  %.4f +- %.4f", w, r->losses[l].name, we, ep, mu, sd);
        for (size_t c = 1; c < sizeof cols / sizeof cols[0]; ++c) {
            report_test_stat(r, l, cols[c], &mu, &sd);
            fprintf(f, " %9.4f", mu);
        }
        fputc('\n', f);
    }
}

int report_make_dir(const char *dir, const char *who) {
    if (mkdir(dir, 0777) == 0 || errno == EEXIST) {
        struct stat st;
        if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
    }
    fprintf(stderr, "%s: cannot create directory %s: %s\n", who, dir,
            errno == EEXIST ? "a file of that name exists" : strerror(errno));
    return -1;
}

int report_check_dir(const char *dir, const char *who) {
    if (report_make_dir(dir, who))
        return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/.aplcl-write-check-%ld", dir, (long)getpid());
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: --out %s: cannot write in it: %s\n", who, dir, strerror(errno));
        return -1;
    }
    fclose(f);
    remove(path);
    return 0;
}

FILE *report_open(const char *dir, const char *name, char *path, size_t path_size,
                  const char *who) {
    snprintf(path, path_size, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "%s: cannot write %s: %s\n", who, path, strerror(errno));
    return f;
}

static const char *const sets[3] = {"train", "val", "test"};

static const metrics_set *set_of(const trainer_epoch *e, int k) {
    return k == 0 ? &e->train : k == 1 ? &e->val : &e->test;
}

static void write_curves(FILE *f, const report *r) {
    fputs("loss,seed,epoch,train_loss", f);
    for (int k = 0; k < 3; ++k)
        for (int m = 0; m < METRICS_COUNT; ++m)
            fprintf(f, ",%s_%s", sets[k], metrics_names[m]);
    fputc('\n', f);
    for (int l = 0; l < r->n_losses; ++l)
        for (int s = 0; s < r->n_seeds; ++s) {
            const trainer_result *t = run(r, l, s);
            for (int e = 0; e < t->epochs; ++e) {
                cli_csv_field(f, r->losses[l].name);
                fprintf(f, ",%llu,%d,%.9g", (unsigned long long)r->seeds[s], e + 1,
                        t->curve[e].train_loss);
                for (int k = 0; k < 3; ++k)
                    for (int m = 0; m < METRICS_COUNT; ++m) {
                        double v = metrics_get(set_of(&t->curve[e], k), m);
                        if (isnan(v))
                            fputc(',', f);
                        else
                            fprintf(f, ",%.9g", v);
                    }
                fputc('\n', f);
            }
        }
}

static void write_final(FILE *csv, FILE *json, const report *r) {
    fputs("loss,seeds,chosen_epochs", csv);
    for (int m = 0; m < METRICS_COUNT; ++m)
        fprintf(csv, ",test_%s_mean,test_%s_sd", metrics_names[m], metrics_names[m]);
    fputs(",val_map_mean\n", csv);
    fprintf(json, "{\"select\":\"%s\",\"results\":[",
            r->select == TRAINER_SELECT_BEST_VAL ? "best-val" : "last");
    char ep[256];
    for (int l = 0; l < r->n_losses; ++l) {
        epochs_text(r, l, ep, sizeof ep);
        double vsum = 0;
        for (int s = 0; s < r->n_seeds; ++s) {
            const trainer_epoch *e = trainer_chosen(run(r, l, s));
            vsum += e ? e->val.map : NAN;
        }
        double vmean = vsum / r->n_seeds;
        cli_csv_field(csv, r->losses[l].name);
        fprintf(csv, ",%d,%s", r->n_seeds, ep);
        fprintf(json, "%s\n {\"loss\":", l ? "," : "");
        cli_json_str(json, r->losses[l].name);
        fprintf(json, ",\"seeds\":%d,\"chosen_epochs\":[", r->n_seeds);
        for (int s = 0; s < r->n_seeds; ++s)
            fprintf(json, "%s%d", s ? "," : "", run(r, l, s)->chosen);
        fputc(']', json);
        for (int m = 0; m < METRICS_COUNT; ++m) {
            double mu, sd;
            report_test_stat(r, l, m, &mu, &sd);
            fprintf(csv, ",%.9g,%.9g", mu, sd);
            fprintf(json, ",\"test_%s\":", metrics_names[m]);
            cli_json_num(json, mu);
            fprintf(json, ",\"test_%s_sd\":", metrics_names[m]);
            cli_json_num(json, sd);
        }
        if (isnan(vmean))
            fputs(",\n", csv);
        else
            fprintf(csv, ",%.9g\n", vmean);
        fputs(",\"val_map\":", json);
        cli_json_num(json, vmean);
        fputc('}', json);
    }
    fputs("\n]}\n", json);
}

static void write_label_ap(FILE *f, const report *r) {
    fputs("loss,seed,label,name,test_ap\n", f);
    for (int l = 0; l < r->n_losses; ++l)
        for (int s = 0; s < r->n_seeds; ++s) {
            const trainer_result *t = run(r, l, s);
            for (size_t c = 0; t->test_label_ap && c < r->test->labels; ++c) {
                cli_csv_field(f, r->losses[l].name);
                fprintf(f, ",%llu,%zu,", (unsigned long long)r->seeds[s], c);
                char num[32];
                snprintf(num, sizeof num, "%zu", c);
                cli_csv_field(f, r->label_names ? r->label_names[c] : num);
                if (isnan(t->test_label_ap[c]))
                    fputs(",\n", f);
                else
                    fprintf(f, ",%.9g\n", t->test_label_ap[c]);
            }
        }
}

/* One panel per loss: train, validation and test mAP, each the mean over seeds per epoch. */
static int write_chart(FILE *f, const report *r) {
    int epochs = 0;
    for (int i = 0; i < r->n_losses * r->n_seeds; ++i)
        epochs = r->runs[i].epochs > epochs ? r->runs[i].epochs : epochs;
    size_t per = (size_t)(epochs ? epochs : 1);
    double *y = calloc((size_t)r->n_losses * 3 * per, sizeof *y);
    svg_series *se = calloc((size_t)r->n_losses * 3, sizeof *se);
    svg_panel *pa = calloc((size_t)r->n_losses, sizeof *pa);
    int rc = -1;
    if (!y || !se || !pa)
        goto out;
    static const char *const names[3] = {"train mAP", "validation mAP", "test mAP"};
    for (int l = 0; l < r->n_losses; ++l) {
        for (int k = 0; k < 3; ++k) {
            double *v = y + ((size_t)l * 3 + (size_t)k) * per;
            for (int e = 0; e < epochs; ++e) {
                double sum = 0;
                int n = 0;
                for (int s = 0; s < r->n_seeds; ++s) {
                    const trainer_result *t = run(r, l, s);
                    if (e < t->epochs)
                        sum += set_of(&t->curve[e], k)->map, ++n;
                }
                v[e] = n ? sum / n : NAN;
            }
            se[l * 3 + k] = (svg_series){names[k], v, (size_t)epochs};
        }
        pa[l] = (svg_panel){r->losses[l].name, se + l * 3, 3};
    }
    rc = svg_line_chart(f, "aplcl: mAP per epoch (mean over seeds)", "epoch", "mAP", pa,
                        (size_t)r->n_losses);
out:
    free(y), free(se), free(pa);
    return rc;
}

int report_write_dir(const char *dir, const report *r, const char *who) {
    static const char *const files[] = {"curves.csv", "final.csv", "final.json", "per_label_ap.csv",
                                        "curves.svg"};
    FILE *f[5] = {NULL};
    char path[5][4096];
    int rc = 0;
    for (int i = 0; i < 5; ++i)
        if (!(f[i] = report_open(dir, files[i], path[i], sizeof path[i], who)))
            rc = -1;
    if (rc == 0) {
        write_curves(f[0], r);
        write_final(f[1], f[2], r);
        write_label_ap(f[3], r);
        if (write_chart(f[4], r))
            rc = -1;
    }
    for (int i = 0; i < 5; ++i)
        if (f[i] && cli_close_output(f[i], path[i], who))
            rc = -1;
    return rc;
}
