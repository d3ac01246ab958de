/* arff.c: the ARFF parser (MULAN and MEKA layouts; see arff.h). The file reader, the MULAN
 * label-file counter and the standardiser are in arff_file.c.
 *
 * One pass over the text, line by line; every scan is bounded by the current line's end, and the
 * matrices grow geometrically from the rows actually parsed, never from a count read in the file.
 * Nothing here prints, exits or keeps state between calls.
 */
#include "arff.h"
#include "arff_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *name;
    size_t line, column;   /* of the type, for the checks made at @data */
    unsigned char nominal; /* declared as {...} */
    unsigned char binary;  /* declared as exactly the values 0 and 1 */
    float *values;         /* a nominal list of numbers: its values, sorted; else NULL */
    size_t n_values;
} arff_attr;

typedef struct {
    const char *text;
    size_t len;
    size_t pos;       /* offset of the next line */
    size_t line_no;   /* number of the next line */
    const char *line; /* the current line */
    size_t cur_line;  /* its number */
    arff_error *err;
    size_t n_labels;
    arff_label_place place;
    int labels_first; /* set at @data */
    int has_meka;     /* the @relation name holds MEKA's "-C N" */
    long long meka_c; /* its N */
    arff_attr *attrs;
    size_t n_attr, cap_attr;
    size_t features;  /* set at @data */
    size_t cells_max; /* set at @data */
    float *x;
    uint8_t *y;
    size_t rows, cap_rows;
} arff_parser;

/* ---- small helpers ---- */

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static const char *skip_ws(const char *s, const char *e) {
    while (s < e && is_ws(*s))
        s++;
    return s;
}

/* Whether s[0..n) equals the lower-case word, ignoring ASCII case. */
static int word_eq(const char *s, size_t n, const char *word) {
    size_t w = strlen(word);
    if (n != w)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != word[i])
            return 0;
    return 1;
}

/* Whether [s, e) starts with the keyword (any case) followed by whitespace or the end. */
static int keyword(const char *s, const char *e, const char *word) {
    size_t w = strlen(word);
    if ((size_t)(e - s) < w || !word_eq(s, w, word))
        return 0;
    return s + w == e || is_ws(s[w]);
}

/* A strict decimal number v[0..n) ([+-]digits[.digits][e[+-]digits], at most 63 bytes) that
 * fits a float. 0: *out set; else why not: 1 too long, 2 NaN/infinity, 3 not a number, 4 not a
 * number to strtof (the locale), 5 out of float range. */
static int decimal(const char *v, size_t n, float *out) {
    char buf[64];
    if (n >= sizeof buf)
        return 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    size_t i = 0, d1 = 0, d2 = 0;
    if (buf[i] == '+' || buf[i] == '-')
        i++;
    while (is_digit(buf[i]))
        i++, d1++;
    if (buf[i] == '.') {
        i++;
        while (is_digit(buf[i]))
            i++, d2++;
    }
    int ok = d1 + d2 > 0;
    if (ok && (buf[i] == 'e' || buf[i] == 'E')) {
        i++;
        if (buf[i] == '+' || buf[i] == '-')
            i++;
        size_t d3 = 0;
        while (is_digit(buf[i]))
            i++, d3++;
        ok = d3 > 0;
    }
    if (!ok || i != n) {
        const char *w = buf + (buf[0] == '+' || buf[0] == '-');
        size_t wn = n - (size_t)(w - buf);
        if (word_eq(w, wn, "nan") || word_eq(w, wn, "inf") || word_eq(w, wn, "infinity"))
            return 2;
        return 3;
    }
    char *end = NULL;
    float f = strtof(buf, &end);
    if (end != buf + n)
        return 4;
    if (!isfinite(f))
        return 5;
    *out = f;
    return 0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Input text for a message: at most 32 bytes, other bytes than printable ASCII as '?'. */
typedef struct {
    char s[40];
} arff_snippet;
static arff_snippet snippet(const char *s, size_t n) {
    arff_snippet o;
    size_t k = n > 32 ? 32 : n;
    for (size_t i = 0; i < k; i++)
        o.s[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > k) {
        memcpy(o.s + k, "...", 4);
    } else {
        o.s[k] = '\0';
    }
    return o;
}

static void set_file(arff_error *err, const char *name) {
    size_t n = strlen(name), room = sizeof err->file - 1;
    if (n <= room) {
        memcpy(err->file, name, n + 1);
    } else { /* keep the tail, which names the file */
        memcpy(err->file, "...", 3);
        memcpy(err->file + 3, name + n - (room - 3), room - 3);
        err->file[room] = '\0';
    }
}

void arff_err_reset_(arff_error *err, const char *name) {
    memset(err, 0, sizeof *err);
    set_file(err, name ? name : "<memory>");
}

int arff_vfail_(arff_error *err, size_t line, size_t column, const char *fmt, va_list ap) {
    err->line = line;
    err->column = column;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    return -1;
}

int arff_fail_pos_(arff_error *err, size_t line, size_t column, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    arff_vfail_(err, line, column, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at `at`, a pointer into the current line. */
ARFF_PRINTF_(3, 4)
static int fail_at(arff_parser *p, const char *at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    arff_vfail_(p->err, p->cur_line, (size_t)(at - p->line) + 1, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at the end of the text. */
static int fail_eof(arff_parser *p, const char *msg) {
    if (p->len == 0 || p->text[p->len - 1] == '\n' || !p->line)
        return arff_fail_pos_(p->err, p->line_no, 1, "%s", msg);
    return arff_fail_pos_(p->err, p->cur_line, (size_t)(p->text + p->len - p->line) + 1, "%s", msg);
}

/* The end of the quoted string opening at s (past its closing quote), or NULL if unterminated. A
 * backslash escapes the next character. */
static const char *scan_quoted(const char *s, const char *e) {
    char q = *s;
    for (const char *t = s + 1; t < e; t++) {
        if (*t == '\\') {
            if (++t == e)
                return NULL;
        } else if (*t == q) {
            return t + 1;
        }
    }
    return NULL;
}

/* ---- lines ---- */

/* 1: the next line is p->line[0..*n), trailing whitespace removed; 0: end of text; -1: error. */
static int next_line(arff_parser *p, size_t *n) {
    if (p->pos >= p->len)
        return 0;
    const char *s = p->text + p->pos;
    size_t rest = p->len - p->pos;
    size_t scan = rest > (size_t)ARFF_MAX_LINE + 1 ? (size_t)ARFF_MAX_LINE + 1 : rest;
    const char *nl = memchr(s, '\n', scan);
    size_t len = nl ? (size_t)(nl - s) : scan;
    p->line = s;
    p->cur_line = p->line_no++;
    if (len > ARFF_MAX_LINE)
        return arff_fail_pos_(p->err, p->cur_line, (size_t)ARFF_MAX_LINE + 1,
                              "line longer than %u bytes", (unsigned)ARFF_MAX_LINE);
    const char *nul = memchr(s, '\0', len);
    if (nul)
        return fail_at(p, nul, "NUL byte in the text");
    p->pos += len + (nl != NULL);
    while (len > 0 && is_ws(s[len - 1]))
        len--;
    *n = len;
    return 1;
}

/* ---- header ---- */

/* A copy of s[0..n) with backslash escapes resolved (escaped = 1) or verbatim. */
static char *dup_name(const char *s, size_t n, int escaped) {
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (escaped && s[i] == '\\' && i + 1 < n)
            i++;
        d[k++] = s[i];
    }
    d[k] = '\0';
    return d;
}

/* Appends v to a's list of numeric values (a->values grows geometrically). */
static int push_value(arff_attr *a, size_t *cap, float v) {
    if (a->n_values == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        float *nv = realloc(a->values, nc * sizeof *nv);
        if (!nv)
            return -1;
        a->values = nv;
        *cap = nc;
    }
    a->values[a->n_values++] = v;
    return 0;
}

/* A nominal list {...} at s: sets a->binary (exactly 0 and 1) and, when every value is a
 * number, a->values (sorted) for features declared this way. */
static int parse_nominal(arff_parser *p, const char *s, const char *e, const char **after,
                         arff_attr *a) {
    const char *open = s;
    size_t nvals = 0, cap = 0;
    int has0 = 0, has1 = 0, other = 0, numeric = 1;
    s++;
    for (;;) {
        s = skip_ws(s, e);
        if (s == e)
            return fail_at(p, open, "unterminated nominal value list (missing '}')");
        if (*s == '}' && nvals == 0)
            return fail_at(p, s, "empty nominal value list");
        const char *v = s, *t;
        size_t vn;
        if (*s == '\'' || *s == '"') {
            t = scan_quoted(s, e);
            if (!t)
                return fail_at(p, s, "unterminated quoted nominal value");
            v = s + 1;
            vn = (size_t)(t - s) - 2;
        } else {
            t = s;
            while (t < e && *t != ',' && *t != '}' && !is_ws(*t))
                t++;
            vn = (size_t)(t - s);
            if (vn == 0)
                return fail_at(p, s, "empty nominal value");
        }
        if (vn == 1 && *v == '0')
            has0 = 1;
        else if (vn == 1 && *v == '1')
            has1 = 1;
        else
            other = 1;
        float f;
        if (numeric && decimal(v, vn, &f) == 0) {
            if (push_value(a, &cap, f))
                return fail_at(p, v, "out of memory");
        } else {
            numeric = 0;
        }
        nvals++;
        s = skip_ws(t, e);
        if (s == e)
            return fail_at(p, open, "unterminated nominal value list (missing '}')");
        if (*s == '}') {
            *after = s + 1;
            break;
        }
        if (*s != ',')
            return fail_at(p, s, "expected ',' or '}' in the nominal value list");
        s++;
    }
    a->binary = (unsigned char)(nvals == 2 && has0 && has1 && !other);
    if (!numeric) {
        free(a->values);
        a->values = NULL;
        a->n_values = 0;
    } else {
        qsort(a->values, a->n_values, sizeof *a->values, cmp_float);
    }
    return 0;
}

static int parse_attribute(arff_parser *p, const char *kw, const char *s, const char *e) {
    if (p->n_attr >= ARFF_MAX_ATTRIBUTES)
        return fail_at(p, kw, "too many attributes (the limit is %u)",
                       (unsigned)ARFF_MAX_ATTRIBUTES);
    s = skip_ws(s, e);
    if (s == e)
        return fail_at(p, s, "missing attribute name");
    const char *name = s, *t;
    size_t name_n;
    int quoted = (*s == '\'' || *s == '"');
    if (quoted) {
        t = scan_quoted(s, e);
        if (!t)
            return fail_at(p, s, "unterminated quoted attribute name");
        name = s + 1;
        name_n = (size_t)(t - s) - 2;
        if (name_n == 0)
            return fail_at(p, s, "empty attribute name");
    } else {
        t = s;
        while (t < e && !is_ws(*t))
            t++;
        name_n = (size_t)(t - s);
    }
    s = skip_ws(t, e);
    if (s == e)
        return fail_at(p, s, "missing attribute type after the name");
    arff_attr a = {NULL, p->cur_line, (size_t)(s - p->line) + 1, 0, 0, NULL, 0};
    if (*s == '{') {
        a.nominal = 1;
        if (parse_nominal(p, s, e, &t, &a)) {
            free(a.values);
            return -1;
        }
    } else {
        t = s;
        while (t < e && !is_ws(*t))
            t++;
        size_t n = (size_t)(t - s);
        if (!word_eq(s, n, "numeric") && !word_eq(s, n, "real") && !word_eq(s, n, "integer")) {
            if (word_eq(s, n, "string") || word_eq(s, n, "date") || word_eq(s, n, "relational"))
                return fail_at(p, s,
                               "attribute type '%s' is not supported (numeric features and "
                               "{0,1} labels only)",
                               snippet(s, n).s);
            return fail_at(p, s, "unknown attribute type '%s'", snippet(s, n).s);
        }
    }
    s = skip_ws(t, e);
    int rc = 0;
    if (s != e)
        rc = fail_at(p, s, "unexpected text after the attribute type");
    if (!rc && p->n_attr == p->cap_attr) {
        size_t cap = p->cap_attr ? p->cap_attr * 2 : 16;
        if (cap > ARFF_MAX_ATTRIBUTES)
            cap = ARFF_MAX_ATTRIBUTES;
        arff_attr *na = realloc(p->attrs, cap * sizeof *na);
        if (!na)
            rc = fail_at(p, kw, "out of memory");
        else
            p->attrs = na, p->cap_attr = cap;
    }
    if (!rc && !(a.name = dup_name(name, name_n, quoted)))
        rc = fail_at(p, kw, "out of memory");
    if (rc) {
        free(a.values);
        return -1;
    }
    p->attrs[p->n_attr++] = a;
    return 0;
}

/* MEKA's "-C N" in the relation name r[0..n) (quotes removed): an option word "-C" (after the
 * start, whitespace or ':') followed by whitespace and an integer. 0: none; 1: found; -1: error. */
static int parse_meka(arff_parser *p, const char *r, size_t n) {
    for (size_t i = 0; i + 2 <= n; i++) {
        if (r[i] != '-' || r[i + 1] != 'C' || (i > 0 && !is_ws(r[i - 1]) && r[i - 1] != ':'))
            continue;
        size_t k = i + 2;
        if (k < n && !is_ws(r[k]))
            continue; /* "-Cx": another option */
        while (k < n && is_ws(r[k]))
            k++;
        size_t start = k;
        if (k < n && (r[k] == '-' || r[k] == '+'))
            k++;
        size_t digits = 0;
        long long v = 0;
        for (; k < n && is_digit(r[k]); k++, digits++)
            v = v < 100000000 ? v * 10 + (r[k] - '0') : v; /* past the limit: refused below */
        if (!digits || (k < n && !is_ws(r[k]) && r[k] != '\'' && r[k] != '"'))
            return fail_at(p, r + start, "MEKA option -C wants an integer, not '%s'",
                           snippet(r + start, n - start).s);
        if (r[start] == '-')
            v = -v;
        if (v == 0 || v > (long long)ARFF_MAX_ATTRIBUTES || -v > (long long)ARFF_MAX_ATTRIBUTES)
            return fail_at(p, r + start,
                           "MEKA option -C %s: the label count must be 1 to %u "
                           "(or -1 to -%u)",
                           snippet(r + start, k - start).s, (unsigned)ARFF_MAX_ATTRIBUTES,
                           (unsigned)ARFF_MAX_ATTRIBUTES);
        p->has_meka = 1;
        p->meka_c = v;
        return 1;
    }
    return 0;
}

static int parse_relation(arff_parser *p, const char *r, const char *e) {
    if (*r == '\'' || *r == '"') {
        const char *t = scan_quoted(r, e);
        if (!t)
            return fail_at(p, r, "unterminated quoted relation name");
        return parse_meka(p, r + 1, (size_t)(t - r) - 2) < 0 ? -1 : 0;
    }
    return parse_meka(p, r, (size_t)(e - r)) < 0 ? -1 : 0;
}

/* Settles where the labels are (the caller's layout and MEKA's -C) at @data. */
static int resolve_layout(arff_parser *p, const char *kw) {
    size_t meka_n = p->has_meka ? (size_t)(p->meka_c < 0 ? -p->meka_c : p->meka_c) : 0;
    int meka_first = p->has_meka && p->meka_c > 0;
    if (p->n_labels == 0)
        p->n_labels = meka_n;
    else if (p->has_meka && meka_n != p->n_labels)
        return fail_at(p, kw, "%zu label(s) expected but the @relation name says -C %lld",
                       p->n_labels, p->meka_c);
    if (p->has_meka && p->place != ARFF_LABELS_AUTO &&
        meka_first != (p->place == ARFF_LABELS_FIRST))
        return fail_at(p, kw, "labels expected %s but the @relation name says -C %lld (%s)",
                       p->place == ARFF_LABELS_FIRST ? "first" : "last", p->meka_c,
                       meka_first ? "first" : "last");
    p->labels_first = p->place == ARFF_LABELS_FIRST || (p->place == ARFF_LABELS_AUTO && meka_first);
    return 0;
}

/* Whether attribute a is a label, and its column in x (feature) or y (label). */
static int is_label(const arff_parser *p, size_t a) {
    return p->labels_first ? a < p->n_labels : a >= p->features;
}
static size_t column_of(const arff_parser *p, size_t a) {
    if (p->labels_first)
        return a < p->n_labels ? a : a - p->n_labels;
    return a < p->features ? a : a - p->features;
}

static int start_data(arff_parser *p, const char *kw, const char *s, const char *e) {
    s = skip_ws(s, e);
    if (s != e)
        return fail_at(p, s, "unexpected text after @data");
    if (p->n_attr == 0)
        return fail_at(p, kw, "@data before any @attribute");
    if (resolve_layout(p, kw))
        return -1;
    if (p->n_labels > p->n_attr)
        return fail_at(p, kw, "%zu label(s) expected but the file declares only %zu attribute(s)",
                       p->n_labels, p->n_attr);
    p->features = p->n_attr - p->n_labels;
    const char *where = p->labels_first ? "first" : "last";
    for (size_t i = 0; i < p->n_attr; i++) {
        const arff_attr *a = &p->attrs[i];
        if (!is_label(p, i) && a->nominal && !a->values)
            return arff_fail_pos_(p->err, a->line, a->column,
                                  "nominal feature '%s' is not supported (only nominal lists of "
                                  "numbers; the labels are the %s %zu attribute(s))",
                                  snippet(a->name, strlen(a->name)).s, where, p->n_labels);
        if (is_label(p, i) && !a->binary)
            return arff_fail_pos_(p->err, a->line, a->column,
                                  "label attribute '%s' must be declared {0,1} (the labels are "
                                  "the %s %zu attribute(s))",
                                  snippet(a->name, strlen(a->name)).s, where, p->n_labels);
    }
    size_t lim = SIZE_MAX / 8; /* so that cells * sizeof(float) cannot overflow */
    size_t by_len = p->len > lim / ARFF_CELLS_PER_BYTE ? lim : p->len * ARFF_CELLS_PER_BYTE;
    p->cells_max = by_len > ARFF_MIN_CELLS ? by_len : ARFF_MIN_CELLS;
    return 0;
}

/* ---- data ---- */

/* Appends a zeroed row; *xr and *yr point at it. The caller counts it (p->rows++) once parsed. */
static int new_row(arff_parser *p, const char *at, float **xr, uint8_t **yr) {
    size_t cols = p->n_attr;
    if (p->rows >= ARFF_MAX_ROWS)
        return fail_at(p, at, "more than %u data rows", (unsigned)ARFF_MAX_ROWS);
    if (p->rows + 1 > p->cells_max / cols)
        return fail_at(p, at,
                       "data too large: more than %zu cells (rows x attributes) from a %zu-byte "
                       "input (sparse rows are stored dense)",
                       p->cells_max, p->len);
    if (p->rows == p->cap_rows) {
        size_t cap = p->cap_rows ? p->cap_rows * 2 : (cols < 4096 ? 4096 / cols : 1);
        size_t lim = p->cells_max / cols;
        if (lim > ARFF_MAX_ROWS)
            lim = ARFF_MAX_ROWS;
        if (cap > lim)
            cap = lim;
        size_t xb = cap * p->features * sizeof(float), yb = cap * p->n_labels;
        float *nx = realloc(p->x, xb ? xb : 1);
        if (!nx)
            return fail_at(p, at, "out of memory (%zu rows)", cap);
        p->x = nx;
        uint8_t *ny = realloc(p->y, yb ? yb : 1);
        if (!ny)
            return fail_at(p, at, "out of memory (%zu rows)", cap);
        p->y = ny;
        p->cap_rows = cap;
    }
    *xr = p->x + p->rows * p->features;
    *yr = p->y + p->rows * p->n_labels;
    memset(*xr, 0, p->features * sizeof(float));
    memset(*yr, 0, p->n_labels);
    return 0;
}

static int parse_float(arff_parser *p, const char *v, size_t n, float *out) {
    switch (decimal(v, n, out)) {
    case 0:
        return 0;
    case 1:
        return fail_at(p, v, "number too long (%zu bytes, at most 63)", n);
    case 2:
        return fail_at(p, v, "NaN and infinity are not allowed ('%s')", snippet(v, n).s);
    case 4:
        return fail_at(p, v, "not a number: '%s' (a locale whose decimal point is not '.'?)",
                       snippet(v, n).s);
    case 5:
        return fail_at(p, v, "number out of float range: '%s'", snippet(v, n).s);
    default:
        return fail_at(p, v, "not a number: '%s'", snippet(v, n).s);
    }
}

/* Stores value v[0..n) (quotes already removed; `quoted` tells) of attribute a. */
static int set_value(arff_parser *p, size_t a, float *xr, uint8_t *yr, const char *v, size_t n,
                     int quoted) {
    const arff_attr *at = &p->attrs[a];
    const char *name = at->name;
    if (!is_label(p, a)) {
        float *dst = &xr[column_of(p, a)];
        if (n == 1 && *v == '?' && !quoted) {
            *dst = 0.0f;
            return 0;
        }
        if (parse_float(p, v, n, dst))
            return -1;
        if (at->values && !bsearch(dst, at->values, at->n_values, sizeof *dst, cmp_float))
            return fail_at(p, v, "value '%s' is not in the nominal list of '%s'", snippet(v, n).s,
                           snippet(name, strlen(name)).s);
        return 0;
    }
    if (n == 1 && *v == '?' && !quoted)
        return fail_at(p, v, "missing label value '?' (label '%s')", snippet(name, strlen(name)).s);
    if (n == 1 && (*v == '0' || *v == '1')) {
        yr[column_of(p, a)] = (uint8_t)(*v - '0');
        return 0;
    }
    return fail_at(p, v, "label value must be 0 or 1, not '%s' (label '%s')", snippet(v, n).s,
                   snippet(name, strlen(name)).s);
}

/* A value token at s (whitespace skipped): quoted, or up to a delimiter or whitespace. Sets the
 * value span and returns the end of the token, or NULL on error. */
static const char *value_token(arff_parser *p, const char *s, const char *e, int sparse,
                               const char **v, size_t *n, int *quoted) {
    if (s < e && (*s == '\'' || *s == '"')) {
        const char *t = scan_quoted(s, e);
        if (!t) {
            fail_at(p, s, "unterminated quoted value");
            return NULL;
        }
        *v = s + 1;
        *n = (size_t)(t - s) - 2;
        *quoted = 1;
        return t;
    }
    const char *t = s;
    if (sparse) {
        while (t < e && *t != ',' && *t != '}' && !is_ws(*t))
            t++;
        *n = (size_t)(t - s);
    } else {
        while (t < e && *t != ',')
            t++;
        const char *te = t;
        while (te > s && is_ws(te[-1]))
            te--;
        *n = (size_t)(te - s);
    }
    *v = s;
    *quoted = 0;
    return t;
}

static int parse_dense(arff_parser *p, const char *s, const char *e) {
    float *xr;
    uint8_t *yr;
    if (new_row(p, s, &xr, &yr))
        return -1;
    size_t na = p->n_attr;
    for (size_t a = 0; a < na; a++) {
        s = skip_ws(s, e);
        const char *v;
        size_t n;
        int quoted;
        const char *t = value_token(p, s, e, 0, &v, &n, &quoted);
        if (!t)
            return -1;
        if (n == 0 && !quoted)
            return fail_at(p, s, "empty value (attribute %zu of %zu)", a + 1, na);
        if (set_value(p, a, xr, yr, v, n, quoted))
            return -1;
        s = skip_ws(t, e);
        if (a + 1 < na) {
            if (s == e)
                return fail_at(p, s, "row has %zu values, expected %zu", a + 1, na);
            if (*s != ',')
                return fail_at(p, s, "expected ',' after value %zu", a + 1);
            s++;
        } else if (s != e) {
            if (*s == ',')
                return fail_at(p, s, "row has more than %zu values", na);
            return fail_at(p, s, "unexpected text after the last value");
        }
    }
    p->rows++;
    return 0;
}

static int parse_sparse(arff_parser *p, const char *s, const char *e) {
    float *xr;
    uint8_t *yr;
    if (new_row(p, s, &xr, &yr))
        return -1;
    s = skip_ws(s + 1, e);
    if (s < e && *s == '}') {
        s++;
    } else {
        size_t prev = 0;
        int have_prev = 0;
        for (;;) {
            s = skip_ws(s, e);
            if (s == e)
                return fail_at(p, s, "missing '}' at the end of the sparse row");
            const char *ia = s;
            if (!is_digit(*s))
                return fail_at(p, s, "expected a sparse index (a non-negative integer)");
            size_t idx = 0;
            int big = 0;
            for (; s < e && is_digit(*s); s++) {
                if (!big) {
                    idx = idx * 10 + (size_t)(*s - '0');
                    big = idx >= p->n_attr;
                }
            }
            if (big)
                return fail_at(p, ia, "sparse index %s out of range (%zu attributes: 0 to %zu)",
                               snippet(ia, (size_t)(s - ia)).s, p->n_attr, p->n_attr - 1);
            if (have_prev && idx == prev)
                return fail_at(p, ia, "sparse index %zu repeated", idx);
            if (have_prev && idx < prev)
                return fail_at(p, ia, "sparse index %zu after %zu (indices must increase)", idx,
                               prev);
            if (s == e || !is_ws(*s))
                return fail_at(p, s, "expected whitespace and a value after sparse index %zu", idx);
            s = skip_ws(s, e);
            const char *v;
            size_t n;
            int quoted;
            const char *t = value_token(p, s, e, 1, &v, &n, &quoted);
            if (!t)
                return -1;
            if (n == 0 && !quoted)
                return fail_at(p, s, "missing value for sparse index %zu", idx);
            if (set_value(p, idx, xr, yr, v, n, quoted))
                return -1;
            prev = idx;
            have_prev = 1;
            s = skip_ws(t, e);
            if (s == e)
                return fail_at(p, s, "missing '}' at the end of the sparse row");
            if (*s == '}') {
                s++;
                break;
            }
            if (*s != ',')
                return fail_at(p, s, "expected ',' or '}' after the value of sparse index %zu",
                               idx);
            s++;
        }
    }
    s = skip_ws(s, e);
    if (s != e)
        return fail_at(p, s, "unexpected text after the sparse row's '}'");
    p->rows++;
    return 0;
}

/* ---- entry points ---- */

static void parser_free(arff_parser *p) {
    for (size_t i = 0; i < p->n_attr; i++) {
        free(p->attrs[i].name);
        free(p->attrs[i].values);
    }
    free(p->attrs);
    free(p->x);
    free(p->y);
}

/* Moves the parse result into *out (names array, matrices shrunk to size). */
static int finish(arff_parser *p, arff_data *out) {
    char **names = malloc(p->n_attr * sizeof *names);
    if (!names)
        return arff_fail_pos_(p->err, 0, 0, "out of memory");
    for (size_t i = 0; i < p->n_attr; i++) {
        names[i] = p->attrs[i].name;
        p->attrs[i].name = NULL;
    }
    size_t xb = p->rows * p->features * sizeof(float), yb = p->rows * p->n_labels;
    float *nx = realloc(p->x, xb ? xb : 1); /* shrinking: failure keeps the old block */
    if (nx)
        p->x = nx;
    uint8_t *ny = realloc(p->y, yb ? yb : 1);
    if (ny)
        p->y = ny;
    out->rows = p->rows;
    out->features = p->features;
    out->labels = p->n_labels;
    out->labels_first = p->labels_first;
    out->x = p->x;
    out->y = p->y;
    out->names = names;
    p->x = NULL;
    p->y = NULL;
    return 0;
}

int arff_parse(const char *text, size_t len, const char *name, size_t n_labels, arff_data *out,
               arff_error *err) {
    arff_layout layout = {n_labels, ARFF_LABELS_AUTO};
    return arff_parse_layout(text, len, name, &layout, out, err);
}

int arff_parse_layout(const char *text, size_t len, const char *name, const arff_layout *layout,
                      arff_data *out, arff_error *err) {
    arff_error scratch;
    if (!err)
        err = &scratch;
    arff_err_reset_(err, name);
    if (!out)
        return arff_fail_pos_(err, 0, 0, "no output struct (out is NULL)");
    memset(out, 0, sizeof *out);
    if (!text && len)
        return arff_fail_pos_(err, 0, 0, "text is NULL");
    if (!layout || (unsigned)layout->place > ARFF_LABELS_FIRST)
        return arff_fail_pos_(err, 0, 0, "layout is NULL or its place is not an arff_label_place");
    size_t n_labels = layout->n_labels;
    if (n_labels > ARFF_MAX_ATTRIBUTES)
        return arff_fail_pos_(err, 0, 0,
                              "%zu labels requested; at most %u attributes are supported", n_labels,
                              (unsigned)ARFF_MAX_ATTRIBUTES);

    arff_parser p;
    memset(&p, 0, sizeof p);
    p.text = text;
    p.len = len;
    p.line_no = 1;
    p.err = err;
    p.n_labels = n_labels;
    p.place = layout->place;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3; /* UTF-8 byte-order mark */

    int in_data = 0, seen_relation = 0, rc;
    size_t n = 0;
    while ((rc = next_line(&p, &n)) == 1) {
        const char *e = p.line + n, *s = skip_ws(p.line, e);
        rc = 0;
        if (s == e || *s == '%')
            continue;
        if (in_data) {
            if (*s == '@')
                rc = fail_at(&p, s, "keyword '%s' in the data section",
                             snippet(s, (size_t)(e - s)).s);
            else
                rc = (*s == '{') ? parse_sparse(&p, s, e) : parse_dense(&p, s, e);
        } else if (keyword(s, e, "@relation")) {
            const char *r = skip_ws(s + 9, e);
            if (seen_relation)
                rc = fail_at(&p, s, "second @relation");
            else if (p.n_attr > 0)
                rc = fail_at(&p, s, "@relation after @attribute");
            else if (r == e)
                rc = fail_at(&p, r, "missing relation name");
            else
                rc = parse_relation(&p, r, e);
            seen_relation = 1;
        } else if (keyword(s, e, "@attribute")) {
            rc = parse_attribute(&p, s, s + 10, e);
        } else if (keyword(s, e, "@data")) {
            rc = start_data(&p, s, s + 5, e);
            in_data = 1;
        } else {
            rc = fail_at(&p, s, "expected @relation, @attribute or @data, not '%s'",
                         snippet(s, (size_t)(e - s)).s);
        }
        if (rc)
            break;
    }
    if (rc == 0 && !in_data)
        rc = fail_eof(&p, "missing @data section");
    if (rc == 0 && p.rows == 0)
        rc = fail_eof(&p, "no data rows after @data");
    if (rc == 0)
        rc = finish(&p, out);
    parser_free(&p);
    return rc ? -1 : 0;
}

void arff_free(arff_data *d) {
    if (!d)
        return;
    if (d->names)
        for (size_t i = 0; i < d->features + d->labels; i++)
            free(d->names[i]);
    free(d->names);
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}
