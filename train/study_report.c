/* study_report.c: summary.json, report.md and report.svg of `aplcl study` (study.h). */
#include "study.h"

#include "study_stats.h"
#include "tool_util.h"

#include <math.h>
#include <string.h>

const char *const study_loss_names[STUDY_LOSSES] = {"bce", "asl", "apl"};
const char *const study_metric_names[SM_COUNT] = {"map",          "micro_f1_05",  "macro_f1_05",
                                                  "micro_f1_val", "macro_f1_val", "ranking_loss"};

void study_stat(const study_summary *s, int d, int l, int m, double *mean, double *sd) {
    stats_mean_sd(s->ds[d].loss[l].m[m], (size_t)s->n_seeds, mean, sd);
}

void study_compare(const study_summary *s, study_across *a) {
    memset(a, 0, sizeof *a);
    double diff[2][256], score[256 * STUDY_LOSSES];
    int n = s->n_datasets < 256 ? s->n_datasets : 256;
    for (int d = 0; d < n; ++d) {
        double mu[STUDY_LOSSES], sd;
        for (int l = 0; l < STUDY_LOSSES; ++l) {
            study_stat(s, d, l, SM_MAP, &mu[l], &sd);
            score[d * STUDY_LOSSES + l] = mu[l];
        }
        diff[0][d] = mu[STUDY_APL] - mu[STUDY_BCE];
        diff[1][d] = mu[STUDY_APL] - mu[STUDY_ASL];
    }
    for (int c = 0; c < 2; ++c) {
        stats_sign_test(diff[c], (size_t)n, &a->wins[c], &a->losses[c], &a->ties[c], &a->sign_p[c]);
        stats_wilcoxon(diff[c], (size_t)n, &a->wilcoxon_stat[c], &a->wilcoxon_p[c],
                       &a->wilcoxon_exact[c]);
    }
    stats_friedman(score, (size_t)n, STUDY_LOSSES, a->avg_rank, &a->friedman_chi2, &a->friedman_p,
                   &a->nemenyi_cd);
}

static void num(FILE *f, const char *key, double v, int comma) {
    fprintf(f, "%s\"%s\":", comma ? "," : "", key);
    cli_json_num(f, v);
}

void study_write_json(FILE *f, const study_summary *s) {
    fprintf(f,
            "{\"protocol\":{\"search\":\"successive halving on validation mAP\",\"trials\":%d,"
            "\"eta\":%d,\"epochs\":%d,\"min_epochs\":%d,\"hidden\":%d,\"batch\":%zu",
            s->asked_trials, s->eta, s->epochs, s->min_epochs, s->hidden, s->batch);
    num(f, "val_fraction", s->val_fraction, 1);
    fprintf(f, ",\"split_seed\":%llu,\"search_seed\":%llu,\"bootstrap\":%d,\"threshold\":\"%s\"",
            (unsigned long long)s->split_seed, (unsigned long long)s->search_seed, s->bootstrap,
            s->threshold_val ? "val" : "0.5");
    fputs(",\"lr_grid\":[", f);
    for (int i = 0; i < s->n_lr; ++i) {
        fputs(i ? "," : "", f);
        cli_json_num(f, s->lr_grid[i]);
    }
    fputs("],\"seeds\":[", f);
    for (int i = 0; i < s->n_seeds; ++i)
        fprintf(f, "%s%llu", i ? "," : "", (unsigned long long)s->seeds[i]);
    fputs("],\"device\":", f);
    cli_json_str(f, s->device ? s->device : "");
    fputs("},\n\"datasets\":[", f);
    for (int d = 0; d < s->n_datasets; ++d) {
        const study_dataset *ds = &s->ds[d];
        fprintf(f, "%s\n {\"name\":", d ? "," : "");
        cli_json_str(f, ds->name);
        fprintf(f,
                ",\"trials\":%d,\"rows\":{\"train\":%zu,\"val\":%zu,\"test\":%zu},"
                "\"features\":%zu,\"labels\":%zu,\"losses\":{",
                ds->trials, ds->train_rows, ds->val_rows, ds->test_rows, ds->features, ds->labels);
        for (int l = 0; l < STUDY_LOSSES; ++l) {
            const study_loss *L = &ds->loss[l];
            fprintf(f, "%s\n  \"%s\":{\"spec\":", l ? "," : "", study_loss_names[l]);
            cli_json_str(f, L->spec);
            num(f, "lr", L->lr, 1);
            fprintf(f, ",\"lr_on_grid_edge\":%s",
                    L->lr_edge < 0   ? "\"lowest\""
                    : L->lr_edge > 0 ? "\"highest\""
                                     : "null");
            fputs(",\"source\":", f);
            cli_json_str(f, L->source ? L->source : "search");
            fprintf(f, ",\"candidates\":%d", L->candidates);
            num(f, "val_map", L->val_map, 1);
            for (int m = 0; m < SM_COUNT; ++m) {
                double mu, sd;
                study_stat(s, d, l, m, &mu, &sd);
                fprintf(f, ",\"test_%s\":{", study_metric_names[m]);
                num(f, "mean", mu, 0);
                num(f, "sd", sd, 1);
                fputs(",\"per_seed\":[", f);
                for (int k = 0; k < s->n_seeds; ++k) {
                    fputs(k ? "," : "", f);
                    cli_json_num(f, L->m[m][k]);
                }
                fputs("]}", f);
            }
            fputc('}', f);
        }
        fputs("}", f);
        static const char *const vs[2] = {"apl_vs_bce", "apl_vs_asl"};
        for (int c = 0; c < 2; ++c) {
            fprintf(f, ",\n  \"%s\":{", vs[c]);
            num(f, "test_map_diff", ds->vs[c].diff, 0);
            num(f, "ci95_seeds_lo", ds->vs[c].lo, 1);
            num(f, "ci95_seeds_hi", ds->vs[c].hi, 1);
            num(f, "ci95_bootstrap_lo", ds->vs[c].boot_lo, 1);
            num(f, "ci95_bootstrap_hi", ds->vs[c].boot_hi, 1);
            fputc('}', f);
        }
        fputc('}', f);
    }
    study_across a;
    study_compare(s, &a);
    fputs("\n],\n\"across\":{", f);
    static const char *const vs[2] = {"apl_vs_bce", "apl_vs_asl"};
    for (int c = 0; c < 2; ++c) {
        fprintf(f, "\"%s\":{\"wins\":%d,\"losses\":%d,\"ties\":%d", vs[c], a.wins[c], a.losses[c],
                a.ties[c]);
        num(f, "sign_test_p", a.sign_p[c], 1);
        num(f, "wilcoxon_stat", a.wilcoxon_stat[c], 1);
        num(f, "wilcoxon_p", a.wilcoxon_p[c], 1);
        fprintf(f, ",\"wilcoxon_exact\":%s},", a.wilcoxon_exact[c] ? "true" : "false");
    }
    fputs("\"average_rank_test_map\":{", f);
    for (int l = 0; l < STUDY_LOSSES; ++l)
        num(f, study_loss_names[l], a.avg_rank[l], l > 0);
    fputc('}', f);
    num(f, "friedman_chi2", a.friedman_chi2, 1);
    num(f, "friedman_p", a.friedman_p, 1);
    num(f, "nemenyi_cd_05", a.nemenyi_cd, 1);
    fputs("}}\n", f);
}

static void pm(FILE *f, const study_summary *s, int d, int l, int m) {
    double mu, sd;
    study_stat(s, d, l, m, &mu, &sd);
    if (s->n_seeds > 1)
        fprintf(f, " %.4f ± %.4f |", mu, sd);
    else
        fprintf(f, " %.4f |", mu);
}

static const char *edge_note(int edge) {
    return edge < 0 ? " (lowest of the grid)" : edge > 0 ? " (highest of the grid)" : "";
}

void study_write_md(FILE *f, const study_summary *s, const char *command) {
    fprintf(f, "# aplcl study\n\nCommand: `%s`\n\n", command);
    fprintf(f,
            "Protocol: per data set, a validation split (%.2g of train, iterative "
            "stratification, seed %llu); successive halving (eta %d, %d epochs, no rung below "
            "%d) over the same number of candidates for APL and for ASL (at most %d; per data set "
            "below) and over the learning-rate grid for BCE (",
            s->val_fraction, (unsigned long long)s->split_seed, s->eta, s->epochs, s->min_epochs,
            s->asked_trials);
    for (int i = 0; i < s->n_lr; ++i)
        fprintf(f, "%s%g", i ? ", " : "", s->lr_grid[i]);
    fprintf(
        f,
        "; the same grid for every loss); the APL search also holds the BCE and ASL points "
        "and, in its last rung, the BCE and ASL winners, so tuned APL is never below them on "
        "validation. Selection on validation only; %s model, batch %zu, Adam; test "
        "metrics at each run's best validation epoch, mean ± sd over %d seed%s. Device: %s.\n\n",
        s->hidden ? "one-hidden-layer" : "linear", s->batch, s->n_seeds, s->n_seeds > 1 ? "s" : "",
        s->device ? s->device : "");
    /* --threshold says which F1 leads: its columns come first */
    const char *val = "micro-F1@val | macro-F1@val", *half = "micro-F1@0.5 | macro-F1@0.5";
    fprintf(f,
            "## Test results\n\nThe number after a data set's name: the candidates of its APL and "
            "ASL searches. F1@val: per-label thresholds chosen on validation; F1@0.5: at "
            "probability 0.5.\n\n| data set | loss | mAP | %s | %s | ranking loss | chosen "
            "point |\n|---|---|---|---|---|---|---|---|---|\n",
            s->threshold_val ? val : half, s->threshold_val ? half : val);
    int order[SM_COUNT] = {SM_MAP, SM_MICROVAL, SM_MACROVAL, SM_MICRO05, SM_MACRO05, SM_RANKLOSS};
    if (!s->threshold_val)
        order[1] = SM_MICRO05, order[2] = SM_MACRO05, order[3] = SM_MICROVAL,
        order[4] = SM_MACROVAL;
    int edges = 0;
    for (int d = 0; d < s->n_datasets; ++d)
        for (int l = 0; l < STUDY_LOSSES; ++l) {
            fprintf(f, "| %s (%d) | %s |", s->ds[d].name, s->ds[d].trials, study_loss_names[l]);
            for (int k = 0; k < SM_COUNT; ++k)
                pm(f, s, d, l, order[k]);
            const study_loss *L = &s->ds[d].loss[l];
            fprintf(f, " `%s` lr %g%s%s%s |\n", L->spec, L->lr, edge_note(L->lr_edge),
                    l == STUDY_APL ? ", from " : "", l == STUDY_APL ? L->source : "");
            edges += L->lr_edge != 0;
        }
    if (edges)
        fprintf(f,
                "\n%d of the %d chosen learning rates lie on an edge of the grid (marked): the "
                "best may lie beyond it; a wider `--lr-grid` would tell.\n",
                edges, s->n_datasets * STUDY_LOSSES);
    fputs("\n## Tuned APL against BCE and ASL (test mAP, paired)\n\n| data set | APL - BCE | "
          "95% CI (seeds) | 95% CI (bootstrap, test rows) | APL - ASL | 95% CI (seeds) | 95% "
          "CI (bootstrap) |\n|---|---|---|---|---|---|---|\n",
          f);
    for (int d = 0; d < s->n_datasets; ++d) {
        fprintf(f, "| %s |", s->ds[d].name);
        for (int c = 0; c < 2; ++c) {
            const study_diff *v = &s->ds[d].vs[c];
            fprintf(f, " %+.4f | [%+.4f, %+.4f] | [%+.4f, %+.4f] |", v->diff, v->lo, v->hi,
                    v->boot_lo, v->boot_hi);
        }
        fputc('\n', f);
    }
    study_across a;
    study_compare(s, &a);
    fputs("\n## Across data sets (Demsar 2006)\n\n| comparison | wins | losses | ties | sign "
          "test p | Wilcoxon T | Wilcoxon p |\n|---|---|---|---|---|---|---|\n",
          f);
    static const char *const vs[2] = {"APL vs BCE", "APL vs ASL"};
    for (int c = 0; c < 2; ++c)
        fprintf(f, "| %s | %d | %d | %d | %.4g | %g | %.4g%s |\n", vs[c], a.wins[c], a.losses[c],
                a.ties[c], a.sign_p[c], a.wilcoxon_stat[c], a.wilcoxon_p[c],
                isnan(a.wilcoxon_p[c]) ? " (no non-zero difference)"
                : a.wilcoxon_exact[c]  ? " (exact)"
                                       : " (normal approx.)");
    fprintf(f,
            "\nAverage rank by test mAP (1 best): bce %.3f, asl %.3f, apl %.3f; Friedman "
            "chi2 %.4g, p %.4g; Nemenyi critical difference (0.05) %.3f.\n",
            a.avg_rank[0], a.avg_rank[1], a.avg_rank[2], a.friedman_chi2, a.friedman_p,
            a.nemenyi_cd);
}

/* dot-and-interval chart: a row per data set, the paired APL - BCE and APL - ASL test-mAP
 * differences with their 95% seed intervals, around a zero line */
void study_write_svg(FILE *f, const study_summary *s) {
    const int W = 720, row = 28, top = 50, left = 150, right = 40;
    int H = top + row * (s->n_datasets ? s->n_datasets : 1) + 50;
    double span = 0.01;
    for (int d = 0; d < s->n_datasets; ++d)
        for (int c = 0; c < 2; ++c) {
            const study_diff *v = &s->ds[d].vs[c];
            double e[3] = {v->diff, v->lo, v->hi};
            for (int i = 0; i < 3; ++i)
                if (isfinite(e[i]) && fabs(e[i]) > span)
                    span = fabs(e[i]);
        }
    span *= 1.1;
    double plot = W - left - right;
#define X(v) (left + ((v) + span) / (2 * span) * plot)
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" "
            "fill=\"white\"/>\n<text x=\"%d\" y=\"20\" font-size=\"14\">tuned APL minus BCE "
            "(blue) and minus ASL (orange): test mAP, mean and 95%% CI over seeds</text>\n",
            W, H, 10);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#888\"/>\n", X(0.0),
            top - 10, X(0.0), H - 40);
    for (int t = -2; t <= 2; ++t) {
        double v = span * t / 2.2;
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%+.3f</text>\n", X(v), H - 20,
                v);
    }
    static const char *const color[2] = {"#1f77b4", "#ff7f0e"};
    for (int d = 0; d < s->n_datasets; ++d) {
        int y = top + row * d;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", left - 10, y + 4);
        for (const char *p = s->ds[d].name; *p; ++p) /* XML-escape the name */
            if (*p == '<')
                fputs("&lt;", f);
            else if (*p == '&')
                fputs("&amp;", f);
            else if (*p == '>')
                fputs("&gt;", f);
            else
                fputc(*p, f);
        fputs("</text>\n", f);
        for (int c = 0; c < 2; ++c) {
            const study_diff *v = &s->ds[d].vs[c];
            double yy = y - 5 + 10 * c;
            if (isfinite(v->lo) && isfinite(v->hi))
                fprintf(f,
                        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                        "stroke-width=\"2\"/>\n",
                        X(v->lo), yy, X(v->hi), yy, color[c]);
            if (isfinite(v->diff))
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", X(v->diff),
                        yy, color[c]);
        }
    }
#undef X
    fputs("</svg>\n", f);
}
