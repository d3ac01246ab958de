/* main.c: entry of the `aplcl` tool: dispatches to devices / check / bench / train / tune /
 * verify.
 *
 * Only dispatch, usage and --version; the subcommands are in cli/, bench/ and train/.
 */
#include "cli.h"

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

static void usage(FILE *f) {
    fprintf(f, "usage: aplcl <command> [options]     (aplcl <command> --help: its options)\n"
               "  devices                      list OpenCL platforms and devices (P:D indices)\n"
               "  check [--device D] [--quick] compare every device (or D) with the CPU reference\n"
               "  bench [--device D] [--quick] [--csv F] [--json F] [--chart F.svg] ...\n"
               "                               time the fused loss+gradient against a copy kernel\n"
               "  bench head [--shape NxDxC] ...  time the linear head, chunked against unfused\n"
               "  bench shard [--shape NxDxC] ... the label-sharded head over MPI ranks: memory\n"
               "  train TRAIN.arff TEST.arff --labels N [--labels-first] [--loss apl,bce,asl]\n"
               "        [--epochs E] [--hidden H] [--seed S|--seeds S1,S2] [--csv F]\n"
               "        [--val F|FILE] [--select best-val|last] [--out DIR]\n"
               "                               fit a multi-label classifier on the device\n"
               "  tune TRAIN.arff TEST.arff --labels N [--seeds LIST] [--out DIR] [--trials N]\n"
               "                               search APL's parameters on validation, compare\n"
               "                               the winner with bce, asl, apl on test\n"
               "  study DATASET... --out DIR [--budget-minutes M] [--seeds LIST]\n"
               "                               tuned APL against tuned BCE and ASL on several\n"
               "                               data sets: intervals, tests across data sets\n"
               "  verify --logits X.npy --targets Y.npy [--grad G.npy] [--elem-loss E.npy]\n"
               "        [--params SPEC | --preset NAME] [--reduction R] [--tol-ulps U]\n"
               "                               check another engine's loss and gradient\n"
               "  aplcl --version              print the library version\n"
               "D is \"P:D\" indices or a device-name substring; without --device, $APLCL_DEVICE,\n"
               "else every device (check, bench) or the library's default (train, bench head).\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return cli_close_output(stdout, NULL, "aplcl") ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        unsigned v = aplcl_version_number();
        printf("aplcl %u.%u.%u (library %u.%u.%u)\n", APLCL_VERSION_MAJOR, APLCL_VERSION_MINOR,
               APLCL_VERSION_PATCH, v / 10000, v / 100 % 100, v % 100);
        return cli_close_output(stdout, NULL, "aplcl") ? CLI_EXIT_FAIL : CLI_EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } cmds[] = {{"devices", cli_devices}, {"check", cli_check}, {"bench", cli_bench},
                {"train", cli_train},     {"tune", cli_tune},   {"verify", cli_verify},
                {"study", cli_study}};
    const char *names[sizeof cmds / sizeof cmds[0]];
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; ++i) {
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].run(argc - 2, argv + 2);
        names[i] = cmds[i].name;
    }
    const char *near = cli_nearest(cmd, names, sizeof names / sizeof names[0]);
    if (near)
        fprintf(stderr, "aplcl: unknown command '%s'; did you mean '%s'?\n", cmd, near);
    else
        fprintf(stderr, "aplcl: unknown command '%s' (aplcl --help lists them)\n", cmd);
    return CLI_EXIT_USAGE;
}
