/* options.c: the `aplcl` subcommands' command-line parser and strict number parsing (see
 * options.h). Prints only the error messages it documents.
 */
#include "options.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cli_option *find(cli_option *opts, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; ++i)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

const char *cli_value(const cli_option *opts, size_t n_opts, const char *name) {
    for (size_t i = 0; i < n_opts; ++i)
        if (strcmp(opts[i].name, name) == 0)
            return opts[i].value;
    return NULL;
}

int cli_given(const cli_option *opts, size_t n_opts, const char *name) {
    return cli_value(opts, n_opts, name) != NULL;
}

/* Levenshtein distance of the first 63 bytes of a and b (longer words are never close). */
static size_t edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    na = na > 63 ? 63 : na;
    nb = nb > 63 ? 63 : nb;
    size_t row[64];
    for (size_t j = 0; j <= nb; ++j)
        row[j] = j;
    for (size_t i = 1; i <= na; ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; ++j) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

static const char *undash(const char *s) {
    while (*s == '-')
        ++s;
    return s;
}

const char *cli_nearest(const char *word, const char *const *names, size_t n) {
    const char *w = undash(word), *best = NULL;
    size_t best_d = (size_t)-1, wl = strlen(w);
    for (size_t i = 0; i < n; ++i) {
        const char *c = undash(names[i]);
        size_t cl = strlen(c), d = edit_distance(w, c);
        /* a prefix ("--batch-size" for "--batch") counts as close whatever its length */
        int prefix = wl && cl && (strncmp(w, c, cl) == 0 || strncmp(c, w, wl) == 0);
        size_t room = (wl > cl ? wl : cl) / 3;
        if (d > (room > 2 ? room : 2) && !prefix)
            continue;
        if (prefix && d > 1)
            d = 1; /* a prefix match ranks just behind an exact one-letter slip */
        if (d < best_d)
            best_d = d, best = names[i];
    }
    return best;
}

static void suggest(const char *who, const char *what, const char *word, const cli_option *opts,
                    size_t n, int positional) {
    const char *names[64] = {NULL};
    size_t k = 0;
    for (size_t i = 0; i < n && k < 64; ++i)
        names[k++] = opts[i].name;
    /* a short stray word ("c") is near everything: name it without a guess */
    const char *near = positional && strlen(word) < 4 ? NULL : cli_nearest(word, names, k);
    if (near) {
        fprintf(stderr, "%s: %s '%s'; did you mean '%s'? (--help lists the options)\n", who, what,
                word, near);
        return;
    }
    if (k == 0) {
        fprintf(stderr, "%s: %s '%s' (it takes no options or arguments)\n", who, what, word);
        return;
    }
    fprintf(stderr, "%s: %s '%s' (--help lists the options)\n", who, what, word);
}

int cli_parse(const char *who, int argc, char **argv, cli_option *opts, size_t n_opts,
              const char **pos, int max_pos, int *n_pos) {
    int np = 0, options_done = 0;
    for (size_t i = 0; i < n_opts; ++i)
        opts[i].value = NULL;
    for (int i = 0; i < argc; ++i)
        if (!options_done && (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0))
            return CLI_PARSE_HELP;
        else if (!options_done && strcmp(argv[i], "--") == 0)
            options_done = 1;
    options_done = 0;
    for (int i = 0; i < argc; ++i) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') { /* "-" alone is a value (stdout) */
            if (np >= max_pos) {
                suggest(who, "unexpected argument", a, opts, n_opts, 1);
                return CLI_PARSE_ERROR;
            }
            pos[np++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = 1;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        cli_option *o = find(opts, n_opts, a, len);
        if (!o) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(len < 100 ? len : 100), a);
            suggest(who, "unknown option", name, opts, n_opts, 0);
            return CLI_PARSE_ERROR;
        }
        if (o->value) {
            fprintf(stderr, "%s: option '%s' given twice\n", who, o->name);
            return CLI_PARSE_ERROR;
        }
        if (!o->takes_value) {
            if (eq) {
                fprintf(stderr, "%s: option '%s' takes no value\n", who, o->name);
                return CLI_PARSE_ERROR;
            }
            o->value = "1";
        } else if (eq) {
            o->value = eq + 1;
        } else if (i + 1 < argc) {
            o->value = argv[++i];
        } else {
            fprintf(stderr, "%s: option '%s' needs a value\n", who, o->name);
            return CLI_PARSE_ERROR;
        }
    }
    if (n_pos)
        *n_pos = np;
    return CLI_PARSE_OK;
}

int cli_scan_u64(const char **p, uint64_t *out) {
    const char *s = *p;
    uint64_t v = 0;
    size_t digits = 0;
    for (; *s >= '0' && *s <= '9'; ++s, ++digits) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (!digits)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

int cli_scan_f64(const char **p, double *out) {
    const char *s = *p, *t = s;
    size_t d1 = 0, d2 = 0, d3 = 1;
    if (*t == '+' || *t == '-')
        ++t;
    for (; *t >= '0' && *t <= '9'; ++t)
        ++d1;
    if (*t == '.')
        for (++t; *t >= '0' && *t <= '9'; ++t)
            ++d2;
    if (d1 + d2 == 0)
        return -1;
    if (*t == 'e' || *t == 'E') {
        const char *e = t + 1;
        if (*e == '+' || *e == '-')
            ++e;
        for (d3 = 0; *e >= '0' && *e <= '9'; ++e)
            ++d3;
        t = e;
    }
    if (!d3)
        return -1;
    char buf[128];
    size_t n = (size_t)(t - s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    /* errno ERANGE on underflow too ("1e-400"): refused, a user meant something else; a word
     * strtod reads otherwise than the grammar (a locale's decimal comma) is refused too */
    if (end != buf + n || errno || !isfinite(v))
        return -1;
    *out = v;
    *p = t;
    return 0;
}

int cli_strict_u64(const char *text, uint64_t *out) {
    const char *p = text;
    uint64_t v = 0;
    if (!text || cli_scan_u64(&p, &v) || *p)
        return -1;
    *out = v;
    return 0;
}

int cli_strict_f64(const char *text, double *out) {
    const char *p = text;
    double v = 0;
    if (!text || cli_scan_f64(&p, &v) || *p)
        return -1;
    *out = v;
    return 0;
}

/* The one message of a rejected integer, its range given as text; returns -1. */
static int bad_integer(const char *who, const char *what, const char *text, const char *range) {
    fprintf(stderr, "%s: %s wants an integer from %s, not '%s'\n", who, what, range,
            text ? text : "");
    return -1;
}

int cli_parse_i64(const char *who, const char *what, const char *text, int64_t min, int64_t max,
                  int64_t *out) {
    int minus = min < 0 && text && text[0] == '-';
    uint64_t mag = 0;
    int ok = text && cli_strict_u64(text + minus, &mag) == 0 && mag <= (uint64_t)INT64_MAX;
    int64_t v = ok ? (minus ? -(int64_t)mag : (int64_t)mag) : 0;
    char range[48];
    snprintf(range, sizeof range, "%" PRId64 " to %" PRId64, min, max);
    return ok && v >= min && v <= max ? (*out = v, 0) : bad_integer(who, what, text, range);
}

int cli_parse_u64(const char *who, const char *what, const char *text, uint64_t min, uint64_t max,
                  uint64_t *out) {
    uint64_t v = 0;
    char range[48];
    snprintf(range, sizeof range, "%" PRIu64 " to %" PRIu64, min, max);
    if (cli_strict_u64(text, &v) != 0 || v < min || v > max)
        return bad_integer(who, what, text, range);
    *out = v;
    return 0;
}

int cli_parse_f64(const char *who, const char *what, const char *text, double min, double max,
                  double *out) {
    double v = 0;
    if (cli_strict_f64(text, &v) != 0 || v < min || v > max) {
        fprintf(stderr, "%s: %s wants a finite number from %g to %g, not '%s'\n", who, what, min,
                max, text ? text : "");
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_device_choice(const char *option_value) {
    if (option_value)
        return option_value;
    const char *env = getenv("APLCL_DEVICE");
    return env && *env ? env : NULL;
}

int cli_copy_list(const char *who, const char *opt, const char *list, char *buf, size_t cap) {
    if (strlen(list) >= cap) {
        fprintf(stderr, "%s: %s list longer than %zu bytes\n", who, opt, cap - 1);
        return -1;
    }
    snprintf(buf, cap, "%s", list);
    return 0;
}

char *cli_next_entry(char **cur, char sep) {
    char *tok = *cur;
    if (tok && (*cur = strchr(tok, sep)) != NULL)
        *(*cur)++ = '\0';
    return tok;
}
