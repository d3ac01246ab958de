/* cli.h: the subcommands of the `aplcl` tool, which cli/main.c dispatches to.
 *
 * The tool is a thin user of the public API; nothing here is part of the library. Helpers the
 * subcommands share are in common/tool_util.h, the checkers' cases in cases/cases.h; `aplcl bench`
 * lives in bench/, the training engine behind `aplcl train` in train/.
 */
#ifndef APLCL_CLI_H
#define APLCL_CLI_H

#include "options.h"
#include "tool_util.h"

int cli_devices(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_bench(int argc, char **argv); /* bench/bench.c, or a stub when bench/ is not built */
int cli_train(int argc, char **argv);
int cli_tune(int argc, char **argv);
int cli_study(int argc, char **argv); /* cli/study.c */
int cli_verify(int argc, char **argv);

#endif /* APLCL_CLI_H */
