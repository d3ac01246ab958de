/* bench_opts.c: the options of `aplcl bench` (not `bench head`, which parses its own in
 * bench_head.c): the usage text, the shape and name lists, and their checks.
 */
#include "bench_run.h"
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns 0, 1 on a malformed list, 2 on a shape too large to count its bytes (reported). */
static int parse_shapes(bench_state *s, const char *list) {
    s->nshapes = 0;
    const char *p = list;
    while (*p) {
        /* the tools' one number rule (cli_scan_u64): digits only, no sign, no space */
        uint64_t r = 0, c = 0;
        if (cli_scan_u64(&p, &r) || (*p != 'x' && *p != 'X'))
            return 1;
        ++p;
        if (cli_scan_u64(&p, &c) || !r || !c || c > UINT32_MAX)
            return 1;
        if (r > SIZE_MAX / c / 8) { /* every buffer size below is at most 8 bytes an element */
            fprintf(stderr, "aplcl bench: --shapes: %llux%llu: rows x cols x 8 bytes overflows\n",
                    (unsigned long long)r, (unsigned long long)c);
            return 2;
        }
        if (s->nshapes == MAX_SHAPES)
            return 1;
        s->shapes[s->nshapes++] = (shape){(size_t)r, (size_t)c};
        if (*p == ',')
            ++p;
        else if (*p)
            return 1;
    }
    return s->nshapes == 0;
}

static int parse_names(const char *list, const char *const *names, int count, unsigned *mask) {
    *mask = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int i = 0;
        while (i < count && strcmp(tok, names[i]) != 0)
            ++i;
        if (i == count)
            return 1;
        *mask |= 1u << i;
    }
    return *mask == 0;
}

static void usage(FILE *f) {
    fprintf(
        f, "usage: aplcl bench [--device D | --cuda N] [--quick] [--csv FILE|-] [--json FILE|-]\n"
           "                   [--chart FILE.svg] [--shapes RxC,...] [--reps N]\n"
           "                   [--regime early|trained|both] [--dtypes f32,f16,bf16]\n"
           "                   [--targets f32,u8,bits,csr] [--accumulate] [--timing events|wall]\n"
           "       aplcl bench --save-inputs DIR --shapes RxC --regime early|trained\n"
           "       aplcl bench --load-inputs DIR [--device D] [--csv FILE|-] ...\n"
           "       aplcl bench head [--shape NxDxC] [--reps R] [--budget BYTES] [--targets T]\n"
           "                        [--reduction mean|sum] [--no-bias] [--no-unfused] [--csv F]\n"
           "                        (linear head: chunked vs unfused time and device memory)\n"
           "       [mpirun -n R] aplcl bench shard [--shape NxDxC] [--positives K] ...\n"
           "                        (the head sharded over labels: per-rank memory and time)\n"
           "Devices: D (\"P:D\" or a name substring), else $APLCL_DEVICE, else all. Default "
           "shapes 64x80,\n"
           "4096x80, 4096x1000, 16384x10000, 1024x100000 (--quick: 64x80, 4096x1000).\n"
           "--cuda N: CUDA device N instead (aplcl_cuda_compute_io timed with CUDA events against\n"
           "a device-to-device copy; exit 3 when there is no CUDA driver or no device N).\n");
}

enum {
    B_DEVICE,
    B_CSV,
    B_JSON,
    B_CHART,
    B_SHAPES,
    B_REPS,
    B_REGIME,
    B_DTYPES,
    B_TARGETS,
    B_SAVE,
    B_LOAD,
    B_TIMING,
    B_QUICK,
    B_ACCUMULATE,
    B_CUDA,
    B_COUNT
};

/* Returns -1 to go on, else the exit status (0 after --help, which printed the usage). */
int bench_parse_args(bench_state *s, int argc, char **argv) {
    cli_option o[B_COUNT] = {
        {"--device", 1, NULL},      {"--csv", 1, NULL},         {"--json", 1, NULL},
        {"--chart", 1, NULL},       {"--shapes", 1, NULL},      {"--reps", 1, NULL},
        {"--regime", 1, NULL},      {"--dtypes", 1, NULL},      {"--targets", 1, NULL},
        {"--save-inputs", 1, NULL}, {"--load-inputs", 1, NULL}, {"--timing", 1, NULL},
        {"--quick", 0, NULL},       {"--accumulate", 0, NULL},  {"--cuda", 1, NULL}};
    int pr = cli_parse("aplcl bench", argc, argv, o, B_COUNT, NULL, 0, NULL);
    if (pr != CLI_PARSE_OK) {
        if (pr == CLI_PARSE_HELP)
            usage(stdout);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    s->cuda_ordinal = -1;
    if (o[B_CUDA].value) { /* one CUDA device by ordinal; $APLCL_DEVICE names OpenCL devices */
        int64_t ordinal;
        if (o[B_DEVICE].value) {
            fprintf(stderr, "aplcl bench: --device and --cuda exclude each other\n");
            return CLI_EXIT_USAGE;
        }
        if (cli_parse_i64("aplcl bench", "--cuda", o[B_CUDA].value, 0, 1023, &ordinal))
            return CLI_EXIT_USAGE;
        s->cuda_ordinal = (int)ordinal;
    } else {
        s->device = cli_device_choice(o[B_DEVICE].value);
    }
    s->csv = o[B_CSV].value;
    s->json = o[B_JSON].value;
    s->chart = o[B_CHART].value;
    s->save_dir = o[B_SAVE].value;
    s->load_dir = o[B_LOAD].value;
    s->quick = o[B_QUICK].value != NULL;
    s->accumulate = o[B_ACCUMULATE].value != NULL;
    s->shapes_given = o[B_SHAPES].value != NULL;
    s->max_reps = s->quick ? 10 : 20;
    s->budget_s = s->quick ? 2.0 : 5.0;
    const char *v;
    if ((v = o[B_TIMING].value)) {
        if (strcmp(v, "wall") != 0 && strcmp(v, "events") != 0) {
            fprintf(stderr, "aplcl bench: --timing wants events or wall\n");
            return CLI_EXIT_USAGE;
        }
        s->force_wall = strcmp(v, "wall") == 0;
    }
    if ((v = o[B_REPS].value)) {
        int64_t r;
        if (cli_parse_i64("aplcl bench", "--reps", v, 1, 100000, &r))
            return CLI_EXIT_USAGE;
        s->fixed_reps = s->max_reps = (int)r;
    }
    const char *shapes = o[B_SHAPES].value;
    if (!shapes)
        shapes = s->quick ? "64x80,4096x1000"
                          : "64x80,4096x80,4096x1000,16384x10000,"
                            "1024x100000";
    int ps = parse_shapes(s, shapes);
    if (ps) {
        if (ps == 1)
            fprintf(stderr, "aplcl bench: --shapes wants RxC[,RxC...], e.g. 4096x1000\n");
        return CLI_EXIT_USAGE;
    }
    s->nregimes = 2, s->regimes[0] = 0, s->regimes[1] = 1;
    if ((v = o[B_REGIME].value)) {
        if (strcmp(v, "early") == 0 || strcmp(v, "trained") == 0)
            s->nregimes = 1, s->regimes[0] = strcmp(v, "trained") == 0;
        else if (strcmp(v, "both") != 0) {
            fprintf(stderr, "aplcl bench: --regime wants early, trained or both\n");
            return CLI_EXIT_USAGE;
        }
    }
    if ((v = o[B_DTYPES].value) && parse_names(v, bench_dtype_names, 3, &s->dtype_mask)) {
        fprintf(stderr, "aplcl bench: --dtypes wants a list of f32, f16, bf16\n");
        return CLI_EXIT_USAGE;
    }
    if ((v = o[B_TARGETS].value) && parse_names(v, bench_fmt_names, 4, &s->fmt_mask)) {
        fprintf(stderr, "aplcl bench: --targets wants a list of f32, u8, bits, csr\n");
        return CLI_EXIT_USAGE;
    }
    if (s->csv && s->json && strcmp(s->csv, "-") == 0 && strcmp(s->json, "-") == 0) {
        fprintf(stderr, "aplcl bench: --csv - and --json - cannot both use stdout\n");
        return CLI_EXIT_USAGE;
    }
    if (s->save_dir && s->load_dir) {
        fprintf(stderr, "aplcl bench: --save-inputs and --load-inputs exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    return -1;
}
