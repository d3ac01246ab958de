/* bench_out.c: what `aplcl bench` writes besides its table: CSV rows, JSON lines, and the SVG bar
 * chart of fraction-of-copy-bandwidth per case and device (drawn by gnuplot when installed).
 *
 * CSV (fields with a comma, quote or line break quoted as RFC 4180 says; lines end with LF, not
 * CRLF) and JSON carry the same
 * fields, one line per case, so files from several devices merge by concatenation (drop repeated
 * CSV header lines).
 */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fields[] = {
    "device", "shape",   "regime", "targets",   "dtype",     "median_ms", "min_ms",
    "max_ms", "gelem_s", "gb_s",   "copy_gb_s", "frac_copy", "checked",   "accumulate",
    "reps",   "bytes",   "loss",   "err_tol",   "timing",    "device_id"};
#define NFIELDS (sizeof fields / sizeof fields[0])

void cli_bench_csv_header(FILE *f) {
    for (size_t i = 0; i < NFIELDS; ++i)
        fprintf(f, "%s%s", i ? "," : "", fields[i]);
    fputc('\n', f);
    fflush(f);
}

/* s between two q, each q inside doubled (gnuplot strings with '). */
static void quoted(FILE *f, const char *s, char q) {
    fputc(q, f);
    for (; *s; ++s) {
        if (*s == q)
            fputc(q, f);
        fputc(*s, f);
    }
    fputc(q, f);
}

/* %.6g keeps 6 significant digits; NaN is an empty CSV cell and a JSON null. */
static void num(FILE *f, double v, int json, const char *fmt) {
    if (isnan(v))
        fputs(json ? "null" : "", f);
    else
        fprintf(f, fmt, v);
}

static void row(FILE *f, const cli_bench_row *r, int json) {
    char acc[8], reps[16];
    snprintf(acc, sizeof acc, "%d", r->accumulate);
    snprintf(reps, sizeof reps, "%d", r->reps);
    const char *strs[NFIELDS] = {r->device, r->shape, r->regime, r->targets, r->dtype};
    strs[12] = r->checked;
    strs[18] = r->timing;
    strs[19] = r->device_id;
    double nums[NFIELDS] = {0};
    nums[5] = r->median_ms, nums[6] = r->min_ms, nums[7] = r->max_ms, nums[8] = r->gelem_s;
    nums[9] = r->gb_s, nums[10] = r->copy_gb_s, nums[11] = r->frac_copy;
    nums[13] = r->accumulate, nums[14] = r->reps, nums[15] = r->bytes, nums[16] = r->loss;
    nums[17] = r->err_tol;
    if (json)
        fputc('{', f);
    for (size_t i = 0; i < NFIELDS; ++i) {
        if (i)
            fputc(',', f);
        if (json)
            fprintf(f, "\"%s\":", fields[i]);
        if (strs[i])
            json ? cli_json_str(f, strs[i]) : cli_csv_field(f, strs[i]);
        else if (i == 13 || i == 14)
            fputs(i == 13 ? acc : reps, f);
        else if (i == 15)
            num(f, nums[i], json, "%.0f");
        else if (i == 16)
            num(f, nums[i], json, "%.9g");
        else
            num(f, nums[i], json, "%.6g");
    }
    fputs(json ? "}\n" : "\n", f);
    fflush(f);
}

void cli_bench_csv_row(FILE *f, const cli_bench_row *r) { row(f, r, 0); }
void cli_bench_json_row(FILE *f, const cli_bench_row *r) { row(f, r, 1); }

/* ---- chart ---- */

static void label_of(const cli_bench_row *r, char *buf, size_t len) {
    snprintf(buf, len, "%s %s %s/%s%s", r->shape, r->regime, r->dtype, r->targets,
             r->accumulate ? "+acc" : "");
}

/* gnuplot single-quoted string: only ' needs escaping (doubled). */
static void gp_str(FILE *f, const char *s) { quoted(f, s, '\''); }

int cli_bench_chart(const char *svg, const cli_bench_row *rows, size_t n) {
#ifdef _WIN32
    (void)rows, (void)n;
    fprintf(stderr, "aplcl bench: --chart %s skipped: needs gnuplot on a POSIX system\n", svg);
    return 0;
#else
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr,
                "aplcl bench: --chart %s skipped: gnuplot is not installed (Debian: apt-get "
                "install gnuplot-nox)\n",
                svg);
        return 0;
    }
    /* Columns: devices in order of appearance; rows: cases in order of appearance. */
    const char **devs = calloc(n + 1, sizeof *devs);
    char(*labels)[96] = calloc(n + 1, sizeof *labels);
    double *val = malloc((n + 1) * (n + 1) * sizeof *val);
    size_t nd = 0, nl = 0;
    int rc = 1;
    char dat[4200];
    snprintf(dat, sizeof dat, "%s.dat", svg);
    FILE *f = NULL;
    if (!devs || !labels || !val)
        goto out;
    for (size_t i = 0; i < (n + 1) * (n + 1); ++i)
        val[i] = NAN;
    for (size_t i = 0; i < n; ++i) {
        if (isnan(rows[i].frac_copy))
            continue;
        size_t d = 0, l = 0;
        while (d < nd && strcmp(devs[d], rows[i].device) != 0)
            ++d;
        if (d == nd)
            devs[nd++] = rows[i].device;
        char lab[96];
        label_of(&rows[i], lab, sizeof lab);
        while (l < nl && strcmp(labels[l], lab) != 0)
            ++l;
        if (l == nl)
            memcpy(labels[nl++], lab, sizeof lab);
        val[l * (n + 1) + d] = rows[i].frac_copy;
    }
    if (nl == 0) {
        fprintf(stderr, "aplcl bench: --chart %s skipped: no timed case\n", svg);
        rc = 0;
        goto out;
    }
    if (!(f = fopen(dat, "w"))) {
        perror(dat);
        goto out;
    }
    for (size_t l = 0; l < nl; ++l) {
        fprintf(f, "\"%s\"", labels[l]);
        for (size_t d = 0; d < nd; ++d) {
            double v = val[l * (n + 1) + d];
            if (isnan(v))
                fputs("\t?", f);
            else
                fprintf(f, "\t%.6g", v);
        }
        fputc('\n', f);
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = popen("gnuplot", "w");
    if (!f) {
        perror("gnuplot");
        goto out;
    }
    int width = 240 + (int)(nl * (nd * 10 + 8));
    if (width < 800)
        width = 800;
    fprintf(f,
            "set terminal svg size %d,640 dynamic noenhanced font 'sans,10' background "
            "'white'\n",
            width);
    fputs("set output ", f);
    gp_str(f, svg);
    fputs("\nset title 'aplcl bench: fused loss + gradient throughput as a fraction of the "
          "device copy-kernel bandwidth (higher is better)'\n"
          "set datafile separator '\\t'\nset datafile missing '?'\n"
          "set style data histograms\nset style histogram clustered gap 1\n"
          "set style fill solid 0.85 border -1\nset boxwidth 0.9\n"
          "set ylabel 'fraction of copy bandwidth'\nset yrange [0:*]\nset grid ytics\n"
          "set xtics rotate by 50 right font ',9' nomirror\nset bmargin 14\n"
          "set key outside top center horizontal\n",
          f);
    fputs("plot ", f);
    for (size_t d = 0; d < nd; ++d) {
        fprintf(f, "%s", d ? ", '' " : "");
        if (!d)
            gp_str(f, dat);
        fprintf(f, " using %zu%s title ", d + 2, d ? "" : ":xtic(1)");
        gp_str(f, devs[d]);
    }
    fputc('\n', f);
    int st = pclose(f);
    f = NULL;
    if (st != 0) {
        fprintf(stderr, "aplcl bench: gnuplot failed (status %d); data kept in %s\n", st, dat);
        goto out;
    }
    remove(dat);
    fprintf(stderr, "aplcl bench: chart written to %s\n", svg);
    rc = 0;
out:
    if (f)
        fclose(f);
    free(devs);
    free(labels);
    free(val);
    return rc;
#endif
}
