/* bench_head.h: `aplcl bench head`, the linear head (aplcl_head_compute) against the unfused path.
 *
 * The caller (bench/bench.c) dispatches to it; nothing else of the tool depends on it.
 */
#ifndef APLCL_CLI_BENCH_HEAD_H
#define APLCL_CLI_BENCH_HEAD_H

#include <stddef.h>

/* argv holds the options after "head" (see the usage text cli_bench_head prints for --help).
 * Returns 0 when both paths ran and agreed, 1 on a mismatch or error, 2 on bad options. */
int cli_bench_head(int argc, char **argv);

/* `aplcl bench shard` (bench_shard.c): the label-sharded head over MPI ranks. Same returns. */
int cli_bench_shard(int argc, char **argv);

/* Option values both share: "NxDxC" (each > 0) and a byte count ("64M", "1G", "4096"); 0 on
 * success, 1 on a malformed value. */
int bench_parse_shape(const char *s, size_t *n, size_t *d, size_t *c);
int bench_parse_bytes(const char *s, size_t *out);

#endif /* APLCL_CLI_BENCH_HEAD_H */
