/* cli.h: shared pieces of the `aplcl` command-line tool (subcommands, input generation).
 *
 * The tool is a thin user of the public API; nothing here is part of the library.
 */
#ifndef APLCL_CLI_H
#define APLCL_CLI_H

#include "aplcl.h"

#include <stdint.h>

int cli_devices(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_bench(int argc, char **argv);

/* Deterministic inputs: splitmix64 stream, normal draws by Box-Muller. */
typedef struct {
    uint64_t s;
} cli_rng;
uint64_t cli_rng_next(cli_rng *r);
double cli_rng_uniform(cli_rng *r); /* [0, 1) */
double cli_rng_normal(cli_rng *r, double mean, double sd);

/* Finds "--name value" in argv; NULL if absent. */
const char *cli_opt(int argc, char **argv, const char *name);
int cli_flag(int argc, char **argv, const char *name);

#endif /* APLCL_CLI_H */
