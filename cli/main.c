/* main.c: entry of the `aplcl` tool: dispatches to devices / check / bench.
 *
 * Also holds the small helpers the subcommands share (option lookup, RNG).
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t cli_rng_next(cli_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double cli_rng_uniform(cli_rng *r) { return (double)(cli_rng_next(r) >> 11) * 0x1.0p-53; }

double cli_rng_normal(cli_rng *r, double mean, double sd) {
    double u1 = cli_rng_uniform(r), u2 = cli_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

cli_device_spec *cli_device_specs(const char *named, const char *who, size_t *count) {
    cli_device_spec *specs = NULL;
    *count = 0;
    if (named) {
        if ((specs = calloc(1, sizeof *specs))) {
            snprintf(specs[0], sizeof specs[0], "%s", named);
            *count = 1;
        }
    } else {
        size_t n = 0;
        aplcl_status st = aplcl_list_devices(NULL, 0, &n);
        aplcl_device_info *infos = n ? calloc(n, sizeof *infos) : NULL;
        if (st != APLCL_SUCCESS || !infos) {
            fprintf(stderr, "%s: %s\n", who,
                    st != APLCL_SUCCESS ? aplcl_status_string(st) : "no OpenCL device");
            free(infos);
            return NULL;
        }
        aplcl_list_devices(infos, n, &n);
        if ((specs = calloc(n, sizeof *specs))) {
            for (size_t i = 0; i < n; ++i)
                snprintf(specs[i], sizeof specs[i], "%u:%u", infos[i].platform_index,
                         infos[i].device_index);
            *count = n;
        }
        free(infos);
    }
    if (!specs)
        fprintf(stderr, "%s: out of memory\n", who);
    return specs;
}

const char *cli_opt(int argc, char **argv, const char *name) {
    for (int i = 0; i + 1 < argc; ++i)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

int cli_flag(int argc, char **argv, const char *name) {
    for (int i = 0; i < argc; ++i)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

static void usage(void) {
    printf("usage: aplcl <command> [options]\n"
           "  devices                      list OpenCL platforms and devices (P:D indices)\n"
           "  check [--device D] [--quick] compare every device (or D) with the CPU reference\n"
           "  bench [--device D] [--quick] [--csv F] [--json F] [--chart F.svg] ...\n"
           "                               time the fused loss+gradient against a copy kernel\n"
           "                               (aplcl bench --help for every option)\n"
           "  train TRAIN.arff TEST.arff --labels N [--loss apl,bce,asl] [--epochs E]\n"
           "        [--hidden H] [--seed S|--seeds S1,S2] [--csv F]\n"
           "                               fit a multi-label classifier on the device\n"
           "D is \"P:D\" indices or a name substring; default: every device.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "devices") == 0)
        return cli_devices(argc - 2, argv + 2);
    if (strcmp(argv[1], "check") == 0)
        return cli_check(argc - 2, argv + 2);
    if (strcmp(argv[1], "bench") == 0)
        return cli_bench(argc - 2, argv + 2);
    if (strcmp(argv[1], "train") == 0)
        return cli_train(argc - 2, argv + 2);
    fprintf(stderr, "aplcl: unknown command '%s'\n", argv[1]);
    usage();
    return 2;
}
