/* bench.c: `aplcl bench`, throughput of the fused loss + gradient per device, case by case.
 *
 * Per device: the copy bandwidth of a float4 copy kernel (the yardstick), then each case (shape x
 * logit regime x storage type x target format): checked against the CPU reference, warmed up,
 * timed over repeats, reported as time, elements/s, GB/s by a written-down byte count and the
 * fraction of the copy bandwidth. Also writes/reads fixed inputs for bench/peer.py. Not a test:
 * `aplcl check` and tests/ cover correctness; a case is only checked here so no wrong result is
 * ever timed.
 *
 * This file: the run over devices, shapes, regimes and cases, the progress lines and the result
 * table, --save-inputs, and the quick summary. Options: bench_opts.c; the case matrix and
 * inputs: bench_inputs.c; a case on a device: bench_case.c; its check: bench_check.c; the run on
 * a CUDA device (--cuda N): bench_cuda.c.
 */
#define _POSIX_C_SOURCE 200809L /* isatty, mkdir */
#include "bench_head.h"
#include "bench_run.h"
#include "cli.h"
#include "plainc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- bench_progress (stderr) ---- */

void bench_progress(bench_state *s, size_t elems, const char *fmt, ...) {
    if (s->quick || s->human == stderr)
        return;
    if (!s->tty && elems < BIG_ELEMS)
        return; /* in a log, only the slow cases */
    va_list ap;
    va_start(ap, fmt);
    fputs(s->tty ? "\r\033[K" : "", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(s->tty ? "" : "\n", stderr);
    fflush(stderr);
    va_end(ap);
}

void bench_progress_clear(bench_state *s) {
    if (s->tty && !s->quick && s->human != stderr)
        fputs("\r\033[K", stderr);
}

/* ---- output ---- */

const char *bench_row_suffix(const cli_bench_row *r) {
    if (r->accumulate)
        return "+acc";
    if (strcmp(r->timing, "host-ptr") == 0)
        return "+host";
    return strncmp(r->timing, "weighted", 8) == 0 ? r->timing + 8 : "";
}

void bench_emit(bench_state *s, const cli_bench_row *r) {
    if (s->nrows == s->caprows) {
        size_t cap = s->caprows ? 2 * s->caprows : 64;
        cli_bench_row *n = realloc(s->rows, cap * sizeof *n);
        if (!n) {
            fprintf(stderr, "aplcl bench: out of memory\n");
            exit(1);
        }
        s->rows = n, s->caprows = cap;
    }
    s->rows[s->nrows++] = *r;
    if (s->csvf)
        cli_bench_csv_row(s->csvf, r);
    if (s->jsonf)
        cli_bench_json_row(s->jsonf, r);
    bench_progress_clear(s);
    char combo_s[24], chk[40];
    snprintf(combo_s, sizeof combo_s, "%s/%s%s", r->dtype, r->targets, bench_row_suffix(r));
    if (isnan(r->err_tol))
        snprintf(chk, sizeof chk, "%s", r->checked);
    else
        snprintf(chk, sizeof chk, "%s (%.2f)", r->checked, r->err_tol);
    if (isnan(r->median_ms)) {
        fprintf(s->human, "%-12s %-7s %-13s %9s %9s %9s %4s %8s %7s %7s  %s\n", r->shape, r->regime,
                combo_s, "-", "-", "-", "-", "-", "-", "-", chk);
    } else {
        char frac[16] = "-";
        if (!isnan(r->frac_copy))
            snprintf(frac, sizeof frac, "%.1f%%", 100.0 * r->frac_copy);
        fprintf(s->human, "%-12s %-7s %-13s %9.3f %9.3f %9.3f %4d %8.3f %7.2f %7s  %s\n", r->shape,
                r->regime, combo_s, r->median_ms, r->min_ms, r->max_ms, r->reps, r->gelem_s,
                r->gb_s, frac, chk);
    }
    fflush(s->human);
}

void bench_table_header(bench_state *s) {
    fprintf(s->human, "%-12s %-7s %-13s %9s %9s %9s %4s %8s %7s %7s  %s\n", "shape", "regime",
            "dtype/targets", "median_ms", "min_ms", "max_ms", "reps", "Gelem/s", "GB/s", "of_copy",
            "check (worst err/tol)");
}

static int save_inputs(bench_state *s) {
    if (!s->shapes_given || s->nshapes != 1 || s->nregimes != 1) {
        fprintf(stderr, "aplcl bench: --save-inputs needs one shape (--shapes RxC) and one "
                        "regime (--regime early|trained)\n");
        return 2;
    }
    char why[256];
    if (bench_shape_fits(NULL, 0, s->shapes[0], 0, why, sizeof why)) {
        fprintf(stderr, "aplcl bench: %zux%zu: %s\n", s->shapes[0].rows, s->shapes[0].cols, why);
        return 1;
    }
    if (mkdir(s->save_dir, 0777) != 0 && errno != EEXIST) {
        perror(s->save_dir);
        return 1;
    }
    inputs in;
    if (bench_make_inputs(&in, s->shapes[0], s->regimes[0]))
        return 1;
    int rc = cli_bench_save_inputs(s->save_dir, in.rows, in.cols, in.trained, in.seed, in.x, in.y);
    if (!rc)
        printf("aplcl bench: wrote %zux%zu %s inputs (seed %llu, %zu positives) to %s\n", in.rows,
               in.cols, in.trained ? "trained" : "early", (unsigned long long)in.seed,
               cli_count_positives(in.y, in.rows * in.cols), s->save_dir);
    bench_inputs_free(&in);
    return rc;
}

/* --chart is written after the benchmark: check now that it can be, without truncating an
 * existing file or leaving a new one behind. */
static int chart_writable(const char *path) {
    int existed = access(path, F_OK) == 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        fprintf(stderr, "aplcl bench: cannot write --chart %s: %s\n", path, strerror(errno));
        return 0;
    }
    fclose(f);
    if (!existed)
        remove(path);
    return 1;
}

static FILE *open_out(const char *path) {
    if (!path)
        return NULL;
    if (strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        perror(path);
    return f;
}

/* The plain-C yardstick (plainc.c) on the same inputs, after the kernel's cases; not on the big
 * shapes (its own gradient buffer would add up to 655 MB of host memory). */
static void plainc_case(bench_state *s, const device_state *d, const inputs *in) {
    if (in->rows * in->cols > BIG_ELEMS)
        return;
    cli_bench_row r;
    cli_plainc_row(in->x, in->y, in->rows, in->cols, in->trained,
                   s->fixed_reps ? s->fixed_reps : s->max_reps, d->copy.gb_s, &r);
    s->failures += strcmp(r.checked, "ok") != 0;
    bench_emit(s, &r);
    cli_plainc_ratio(s->human, s->rows, s->nrows);
}

/* bench_each_case's view of the OpenCL backend. */
static void run_case_cl(bench_state *s, void *d, inputs *in, combo c) {
    bench_run_case(s, (device_state *)d, in, c);
}
static void plainc_after(bench_state *s, void *d, const inputs *in) {
    plainc_case(s, (const device_state *)d, in);
}

/* Every OpenCL device asked for (--device, $APLCL_DEVICE, else all): each shape, regime and case,
 * then the plain-C row. 1 when the device list could not be made (said why), else 0. */
static int run_opencl(bench_state *s, inputs *loaded_in) {
    size_t ndev = 0;
    cli_device_spec *specs = cli_device_specs(s->device, "aplcl bench", &ndev);
    if (!specs)
        return 1;
    combo cl[MAX_COMBOS];
    for (int i = 0; i < s->nshapes; ++i)
        s->ncases += (int)bench_case_combos(s, s->shapes[i], cl) * s->nregimes;

    for (size_t di = 0; di < ndev; ++di) {
        device_state d;
        if (bench_open_device(s, specs[di], &d))
            continue;
        s->case_no = 0;
        bench_backend b = {&d, d.id, d.max_alloc, run_case_cl, plainc_after};
        bench_each_case(s, &b, loaded_in);
        aplcl_ctx_destroy(d.ctx);
    }
    free(specs);
    return 0;
}

int cli_bench(int argc, char **argv) {
    if (argc > 0 && strcmp(argv[0], "head") == 0)
        return cli_bench_head(argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "shard") == 0)
        return cli_bench_shard(argc - 1, argv + 1);
    bench_state s;
    memset(&s, 0, sizeof s);
    int pa = bench_parse_args(&s, argc, argv);
    if (pa >= 0)
        return pa;
    if (s.save_dir)
        return save_inputs(&s);

    inputs loaded;
    memset(&loaded, 0, sizeof loaded);
    if (s.load_dir) {
        if (cli_bench_load_inputs(s.load_dir, &loaded.rows, &loaded.cols, &loaded.trained,
                                  &loaded.seed, &loaded.x, &loaded.y))
            return 1;
        s.nshapes = 1, s.shapes[0] = (shape){loaded.rows, loaded.cols};
        s.nregimes = 1, s.regimes[0] = loaded.trained;
    }
    s.human = ((s.csv && strcmp(s.csv, "-") == 0) || (s.json && strcmp(s.json, "-") == 0)) ? stderr
                                                                                           : stdout;
    s.tty = isatty(fileno(stderr));
    if ((s.csv && !(s.csvf = open_out(s.csv))) || (s.json && !(s.jsonf = open_out(s.json))) ||
        (s.chart && !chart_writable(s.chart))) {
        bench_inputs_free(&loaded);
        return 1;
    }
    if (s.csvf)
        cli_bench_csv_header(s.csvf);

    if (s.cuda_ordinal >= 0) {
        int rc = bench_cuda_run(&s, &loaded);
        if (rc == CLI_EXIT_UNAVAILABLE) { /* said why; the outputs hold no rows */
            bench_inputs_free(&loaded);
            cli_close_output(s.csvf, s.csv, "aplcl bench");
            cli_close_output(s.jsonf, s.json, "aplcl bench");
            free(s.rows);
            return rc;
        }
    } else if (run_opencl(&s, &loaded)) {
        bench_inputs_free(&loaded);
        return 1;
    }
    if (s.load_dir)
        bench_time_reference(&s, &loaded);
    bench_inputs_free(&loaded);

    if (s.quick) { /* the one-line summary per regime that README and scripts/main.sh show */
        fputc('\n', s.human);
        for (size_t i = 0; i < s.nrows; ++i) {
            const cli_bench_row *r = &s.rows[i];
            if (strcmp(r->shape, "4096x1000") || strcmp(r->dtype, "f32") ||
                strcmp(r->targets, "u8") || isnan(r->median_ms))
                continue;
            fprintf(s.human,
                    "%s  4096x1000 f32/u8%s %-7s fwd+bwd: median %.3f ms (min %.3f, max %.3f), "
                    "%.3f G elem/s, %.2f GB/s, %.1f%% of copy (%.2f GB/s)\n",
                    r->device, bench_row_suffix(r), r->regime, r->median_ms, r->min_ms, r->max_ms,
                    r->gelem_s, r->gb_s, 100.0 * r->frac_copy, r->copy_gb_s);
        }
    }
    if (s.failures)
        fprintf(stderr, "aplcl bench: %d failure(s): mismatch, error or unusable device\n",
                s.failures);
    int rc = s.failures ? 1 : 0;
    if (s.chart && cli_bench_chart(s.chart, s.rows, s.nrows))
        rc = 1;
    if (cli_close_output(s.csvf, s.csv, "aplcl bench") ||
        cli_close_output(s.jsonf, s.json, "aplcl bench") ||
        cli_close_output(stdout, NULL, "aplcl bench"))
        rc = 1;
    free(s.rows);
    return rc;
}
