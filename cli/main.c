/* main.c: entry of the `aplcl` tool: dispatches to devices / check / bench.
 *
 * Only dispatch and usage; the subcommands are in cli/, bench/ and train/.
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef APLCL_HAVE_BENCH
/* Built with -DAPLCL_BUILD_BENCH=OFF: the benchmarks (bench/) are not in this binary. */
int cli_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "aplcl bench: not built (configure with -DAPLCL_BUILD_BENCH=ON)\n");
    return 2;
}
#endif

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
