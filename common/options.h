/* options.h: the command-line parser every `aplcl` subcommand uses (devices, check, bench,
 * bench head, train), so that all of them follow one set of conventions.
 *
 * A subcommand describes its options in a table; cli_parse() walks argv once and fills the table.
 * Conventions: "--name VALUE" or "--name=VALUE"; flags take no value; "-h"/"--help" asks for the
 * usage; "--" ends the options. An unknown option, a stray argument, a missing value, a value
 * given to a flag, and an option given twice are errors that name the word (and suggest the
 * nearest known option). Numbers are parsed strictly: the whole word, in range, finite.
 * Messages go to stderr, prefixed by the subcommand (`who`). Not part of the library.
 */
#ifndef APLCL_OPTIONS_H
#define APLCL_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;  /* "--epochs" */
    int takes_value;   /* 1: "--epochs 3"; 0: a flag */
    const char *value; /* out: the value (a flag given: "1"); NULL when absent */
} cli_option;

/* Exit statuses the subcommands share. UNAVAILABLE: the backend asked for is not on this machine
 * (`check --cuda`, `bench --cuda` without a CUDA driver or with no such device); bench/gpu/run.sh
 * counts it as "nothing to run on". */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2, CLI_EXIT_UNAVAILABLE = 3 };

/* Parses argv[0..argc) against opts[0..n_opts) (values reset first) and collects at most
 * max_pos positional arguments into pos[] (*n_pos of them; pos may be NULL when max_pos is 0).
 * Returns CLI_PARSE_OK, CLI_PARSE_HELP (-h or --help seen: print the usage, exit 0) or
 * CLI_PARSE_ERROR (message printed: exit CLI_EXIT_USAGE). */
enum { CLI_PARSE_OK = 0, CLI_PARSE_HELP = 1, CLI_PARSE_ERROR = -1 };
int cli_parse(const char *who, int argc, char **argv, cli_option *opts, size_t n_opts,
              const char **pos, int max_pos, int *n_pos);

/* The option's value in the table (NULL when absent or unknown), and whether a flag was given. */
const char *cli_value(const cli_option *opts, size_t n_opts, const char *name);
int cli_given(const cli_option *opts, size_t n_opts, const char *name);

/* The nearest of names[0..n) to word by edit distance (ignoring leading dashes), or NULL when
 * none is close (distance above max(2, length/3) and neither is a prefix of the other). */
const char *cli_nearest(const char *word, const char *const *names, size_t n);

/* Strict numbers: the whole text (no leading space, no trailing characters), decimal, in
 * [min, max]; doubles must be finite. On error print "who: --name wants ..., not 'text'" and
 * return -1; else store and return 0. `what` names the option in the message. */
int cli_parse_i64(const char *who, const char *what, const char *text, int64_t min, int64_t max,
                  int64_t *out);
int cli_parse_u64(const char *who, const char *what, const char *text, uint64_t min, uint64_t max,
                  uint64_t *out);
int cli_parse_f64(const char *who, const char *what, const char *text, double min, double max,
                  double *out);

/* The one number rule of every number the tools read, in options and in files, without a
 * message (the caller names the word): decimal only, the whole word, no leading or trailing
 * space. An integer is digits (cli_strict_u64: no sign). A real is [+-]digits[.digits] or
 * [+-].digits, then an optional e/E[+-]digits; finite, neither overflowing nor underflowing to
 * 0 ("1e-400"). Hex ("0x1p-2"), "inf", "nan", "1,5" and " 0.2" are not numbers. 0 with *out
 * set, or -1. */
int cli_strict_u64(const char *text, uint64_t *out);
int cli_strict_f64(const char *text, double *out);
/* The same rule for a number that starts at *p and ends where the grammar does (for "64x80" or
 * "1.5M"): on success *p moves past it. */
int cli_scan_u64(const char **p, uint64_t *out);
int cli_scan_f64(const char **p, double *out);

/* The device a subcommand with --device uses: the option's value, else $APLCL_DEVICE when set
 * and non-empty, else NULL (every device, or the library's default). */
const char *cli_device_choice(const char *option_value);

/* List options ("--seeds 1,2,3", "--loss 'apl;bce'"): copies the option's value into buf (cap
 * bytes), or prints "who: OPT list longer than N bytes" and returns -1; then cli_next_entry gives
 * the next sep-separated entry of the list at *cur, cut in place (NULL after the last). */
int cli_copy_list(const char *who, const char *opt, const char *list, char *buf, size_t cap);
char *cli_next_entry(char **cur, char sep);

#endif /* APLCL_OPTIONS_H */
