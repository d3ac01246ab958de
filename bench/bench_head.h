/* bench_head.h: `aplcl bench head`, the linear head (aplcl_head_compute) against the unfused path.
 *
 * The caller (bench/bench.c) dispatches to it; nothing else of the tool depends on it.
 */
#ifndef APLCL_CLI_BENCH_HEAD_H
#define APLCL_CLI_BENCH_HEAD_H

/* argv holds the options after "head" (see the usage text cli_bench_head prints for --help).
 * Returns 0 when both paths ran and agreed, 1 on a mismatch or error, 2 on bad options. */
int cli_bench_head(int argc, char **argv);

#endif /* APLCL_CLI_BENCH_HEAD_H */
