/* arff.c: the ARFF parser (MULAN and MEKA layouts; see arff.h): lines, data rows, the entry
 * points, shared text helpers. The header lines are in arff_header.c; the file reader, the MULAN
 * label-file counter and the standardiser in arff_file.c.
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

/* ---- small helpers ---- */

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

/* Whether s[0..n) equals the lower-case word, ignoring ASCII case. */
int arff_word_eq_(const char *s, size_t n, const char *word) {
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
    if ((size_t)(e - s) < w || !arff_word_eq_(s, w, word))
        return 0;
    return s + w == e || arff_is_ws_(s[w]);
}

/* A strict arff_decimal_ number v[0..n) ([+-]digits[.digits][e[+-]digits], at most 63 bytes) that
 * fits a float. 0: *out set; else why not: 1 too long, 2 NaN/infinity, 3 not a number, 4 not a
 * number to strtof (the locale), 5 out of float range. */
int arff_decimal_(const char *v, size_t n, float *out) {
    char buf[64];
    if (n >= sizeof buf)
        return 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    size_t i = 0, d1 = 0, d2 = 0;
    if (buf[i] == '+' || buf[i] == '-')
        i++;
    while (arff_is_digit_(buf[i]))
        i++, d1++;
    if (buf[i] == '.') {
        i++;
        while (arff_is_digit_(buf[i]))
            i++, d2++;
    }
    int ok = d1 + d2 > 0;
    if (ok && (buf[i] == 'e' || buf[i] == 'E')) {
        i++;
        if (buf[i] == '+' || buf[i] == '-')
            i++;
        size_t d3 = 0;
        while (arff_is_digit_(buf[i]))
            i++, d3++;
        ok = d3 > 0;
    }
    if (!ok || i != n) {
        const char *w = buf + (buf[0] == '+' || buf[0] == '-');
        size_t wn = n - (size_t)(w - buf);
        if (arff_word_eq_(w, wn, "nan") || arff_word_eq_(w, wn, "inf") ||
            arff_word_eq_(w, wn, "infinity"))
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

int arff_cmp_float_(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Input text for a message: at most 32 bytes, other bytes than printable ASCII as '?'. */
arff_snippet arff_snippet_(const char *s, size_t n) {
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
int arff_fail_at_(arff_parser *p, const char *at, const char *fmt, ...) {
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
const char *arff_scan_quoted_(const char *s, const char *e) {
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
        return arff_fail_at_(p, nul, "NUL byte in the text");
    p->pos += len + (nl != NULL);
    while (len > 0 && arff_is_ws_(s[len - 1]))
        len--;
    *n = len;
    return 1;
}

/* ---- data ---- */

/* Appends a zeroed row; *xr and *yr point at it. The caller counts it (p->rows++) once parsed. */
static int new_row(arff_parser *p, const char *at, int sparse, float **xr, uint8_t **yr) {
    size_t cols = p->features + p->n_labels ? p->features + p->n_labels : 1;
    if (p->rows >= ARFF_MAX_ROWS)
        return arff_fail_at_(p, at, "more than %u data rows", (unsigned)ARFF_MAX_ROWS);
    if (p->rows + 1 > p->cells_max / cols)
        return arff_fail_at_(
            p, at,
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
            return arff_fail_at_(p, at, "out of memory (%zu rows)", cap);
        p->x = nx;
        uint8_t *ny = realloc(p->y, yb ? yb : 1);
        if (!ny)
            return arff_fail_at_(p, at, "out of memory (%zu rows)", cap);
        p->y = ny;
        p->cap_rows = cap;
    }
    *xr = p->x + p->rows * p->features;
    *yr = p->y + p->rows * p->n_labels;
    if (sparse) {
        memcpy(*xr, p->x_sparse, p->features * sizeof(float));
        memcpy(*yr, p->y_sparse, p->n_labels);
    } else {
        memset(*xr, 0, p->features * sizeof(float));
        memset(*yr, 0, p->n_labels);
    }
    return 0;
}

static int parse_float(arff_parser *p, const char *v, size_t n, float *out) {
    switch (arff_decimal_(v, n, out)) {
    case 0:
        return 0;
    case 1:
        return arff_fail_at_(p, v, "number too long (%zu bytes, at most 63)", n);
    case 2:
        return arff_fail_at_(p, v, "NaN and infinity are not allowed ('%s')",
                             arff_snippet_(v, n).s);
    case 4:
        return arff_fail_at_(p, v,
                             "not a number: '%s' (a locale whose arff_decimal_ point is not '.'?)",
                             arff_snippet_(v, n).s);
    case 5:
        return arff_fail_at_(p, v, "number out of float range: '%s'", arff_snippet_(v, n).s);
    default:
        return arff_fail_at_(p, v, "not a number: '%s'", arff_snippet_(v, n).s);
    }
}

/* Stores value v[0..n) (quotes already removed; `quoted` tells) of attribute a. */
static int set_value(arff_parser *p, size_t a, float *xr, uint8_t *yr, const char *v, size_t n,
                     int quoted) {
    const arff_attr *at = &p->attrs[a];
    const char *name = at->name;
    int missing = n == 1 && *v == '?' && !quoted;
    if (at->role == ARFF_ROLE_IGNORED)
        return 0;
    if (at->role == ARFF_ROLE_FEATURE) {
        float *dst = &xr[at->col];
        if (at->enc == ARFF_ENC_ONEHOT)
            memset(dst, 0, at->width * sizeof *dst); /* a sparse row's default cleared */
        if (missing) {
            *dst = 0.0f;
            return 0;
        }
        if (at->enc == ARFF_ENC_NUMBER) {
            if (parse_float(p, v, n, dst))
                return -1;
            if (at->values && !bsearch(dst, at->values, at->n_values, sizeof *dst, arff_cmp_float_))
                return arff_fail_at_(p, v, "value '%s' is not in the nominal list of '%s'",
                                     arff_snippet_(v, n).s, arff_snippet_(name, strlen(name)).s);
            return 0;
        }
        long k = arff_nominal_index_(at, v, n);
        if (k < 0)
            return arff_fail_at_(p, v, "value '%s' is not in the nominal list of '%s'",
                                 arff_snippet_(v, n).s, arff_snippet_(name, strlen(name)).s);
        if (at->enc == ARFF_ENC_INDEX)
            *dst = (float)k;
        else
            dst[k] = 1.0f;
        return 0;
    }
    if (missing)
        return arff_fail_at_(p, v, "missing label value '?' (label '%s')",
                             arff_snippet_(name, strlen(name)).s);
    if (n == 1 && (*v == '0' || *v == '1')) {
        yr[at->col] = (uint8_t)(*v - '0');
        return 0;
    }
    return arff_fail_at_(p, v, "label value must be 0 or 1, not '%s' (label '%s')",
                         arff_snippet_(v, n).s, arff_snippet_(name, strlen(name)).s);
}

/* A value token at s (whitespace skipped): quoted, or up to a delimiter or whitespace. Sets the
 * value span and returns the end of the token, or NULL on error. */
static const char *value_token(arff_parser *p, const char *s, const char *e, int sparse,
                               const char **v, size_t *n, int *quoted) {
    if (s < e && (*s == '\'' || *s == '"')) {
        const char *t = arff_scan_quoted_(s, e);
        if (!t) {
            arff_fail_at_(p, s, "unterminated quoted value");
            return NULL;
        }
        *v = s + 1;
        *n = (size_t)(t - s) - 2;
        *quoted = 1;
        return t;
    }
    const char *t = s;
    if (sparse) {
        while (t < e && *t != ',' && *t != '}' && !arff_is_ws_(*t))
            t++;
        *n = (size_t)(t - s);
    } else {
        while (t < e && *t != ',')
            t++;
        const char *te = t;
        while (te > s && arff_is_ws_(te[-1]))
            te--;
        *n = (size_t)(te - s);
    }
    *v = s;
    *quoted = 0;
    return t;
}

/* Reads the value at s (blanks skipped) into attribute a of the row and sets *end past its
 * token. Returns 0, -1 after an error, or 1 for an empty unquoted value (nothing read), which the
 * caller names in its own terms. */
static int read_value(arff_parser *p, const char *s, const char *e, int sparse, size_t a, float *xr,
                      uint8_t *yr, const char **end) {
    const char *v;
    size_t n;
    int quoted;
    if (!(*end = value_token(p, s, e, sparse, &v, &n, &quoted)))
        return -1;
    if (n == 0 && !quoted)
        return 1;
    return set_value(p, a, xr, yr, v, n, quoted) ? -1 : 0;
}

static int parse_dense(arff_parser *p, const char *s, const char *e) {
    float *xr;
    uint8_t *yr;
    if (new_row(p, s, 0, &xr, &yr))
        return -1;
    size_t na = p->n_attr;
    for (size_t a = 0; a < na; a++) {
        s = arff_skip_ws_(s, e);
        const char *t;
        int rv = read_value(p, s, e, 0, a, xr, yr, &t);
        if (rv > 0)
            return arff_fail_at_(p, s, "empty value (attribute %zu of %zu)", a + 1, na);
        if (rv < 0)
            return -1;
        s = arff_skip_ws_(t, e);
        if (a + 1 < na) {
            if (s == e)
                return arff_fail_at_(p, s, "row has %zu values, expected %zu", a + 1, na);
            if (*s != ',')
                return arff_fail_at_(p, s, "expected ',' after value %zu", a + 1);
            s++;
        } else if (s != e) {
            if (*s == ',')
                return arff_fail_at_(p, s, "row has more than %zu values", na);
            return arff_fail_at_(p, s, "unexpected text after the last value");
        }
    }
    p->rows++;
    return 0;
}

static int parse_sparse(arff_parser *p, const char *s, const char *e) {
    float *xr;
    uint8_t *yr;
    if (new_row(p, s, 1, &xr, &yr))
        return -1;
    s = arff_skip_ws_(s + 1, e);
    if (s < e && *s == '}') {
        s++;
    } else {
        size_t prev = 0;
        int have_prev = 0;
        for (;;) {
            s = arff_skip_ws_(s, e);
            if (s == e)
                return arff_fail_at_(p, s, "missing '}' at the end of the sparse row");
            const char *ia = s;
            if (!arff_is_digit_(*s))
                return arff_fail_at_(p, s, "expected a sparse index (a non-negative integer)");
            size_t idx = 0;
            int big = 0;
            for (; s < e && arff_is_digit_(*s); s++) {
                if (!big) {
                    idx = idx * 10 + (size_t)(*s - '0');
                    big = idx >= p->n_attr;
                }
            }
            if (big)
                return arff_fail_at_(
                    p, ia, "sparse index %s out of range (%zu attributes: 0 to %zu)",
                    arff_snippet_(ia, (size_t)(s - ia)).s, p->n_attr, p->n_attr - 1);
            if (have_prev && idx == prev)
                return arff_fail_at_(p, ia, "sparse index %zu repeated", idx);
            if (have_prev && idx < prev)
                return arff_fail_at_(p, ia, "sparse index %zu after %zu (indices must increase)",
                                     idx, prev);
            if (s == e || !arff_is_ws_(*s))
                return arff_fail_at_(p, s, "expected whitespace and a value after sparse index %zu",
                                     idx);
            s = arff_skip_ws_(s, e);
            const char *t;
            int rv = read_value(p, s, e, 1, idx, xr, yr, &t);
            if (rv > 0)
                return arff_fail_at_(p, s, "missing value for sparse index %zu", idx);
            if (rv < 0)
                return -1;
            prev = idx;
            have_prev = 1;
            s = arff_skip_ws_(t, e);
            if (s == e)
                return arff_fail_at_(p, s, "missing '}' at the end of the sparse row");
            if (*s == '}') {
                s++;
                break;
            }
            if (*s != ',')
                return arff_fail_at_(
                    p, s, "expected ',' or '}' after the value of sparse index %zu", idx);
            s++;
        }
    }
    s = arff_skip_ws_(s, e);
    if (s != e)
        return arff_fail_at_(p, s, "unexpected text after the sparse row's '}'");
    p->rows++;
    return 0;
}

/* ---- entry points ---- */

static void parser_free(arff_parser *p) {
    for (size_t i = 0; i < p->n_attr; i++)
        arff_attr_free_(&p->attrs[i]);
    free(p->attrs);
    free(p->x);
    free(p->y);
    free(p->x_sparse);
    free(p->y_sparse);
}

/* "name=value": a one-hot column's name. */
static char *column_name(const char *name, const char *value) {
    size_t a = strlen(name), b = strlen(value);
    char *s = malloc(a + b + 2);
    if (s) {
        memcpy(s, name, a);
        s[a] = '=';
        memcpy(s + a + 1, value, b + 1);
    }
    return s;
}

/* The column names and attribute descriptions of *out (names, attrs) from the parser's. */
static int describe(arff_parser *p, arff_data *out) {
    size_t cols = p->features + p->n_labels;
    out->names = calloc(cols ? cols : 1, sizeof *out->names);
    out->attrs = calloc(p->n_attr, sizeof *out->attrs);
    if (!out->names || !out->attrs)
        return -1;
    out->features = p->features;
    out->labels = p->n_labels;
    out->n_attrs = p->n_attr;
    for (size_t i = 0; i < p->n_attr; i++) {
        arff_attr *a = &p->attrs[i];
        arff_attr_info *d = &out->attrs[i];
        d->role = (arff_role)a->role;
        d->column = a->role == ARFF_ROLE_IGNORED ? 0 : a->col;
        d->width = a->role == ARFF_ROLE_IGNORED ? 0 : a->width;
        d->type = a->type, a->type = NULL;
        if (a->role == ARFF_ROLE_FEATURE && a->enc == ARFF_ENC_ONEHOT) {
            for (size_t k = 0; k < a->width; k++)
                if (!(out->names[a->col + k] = column_name(a->name, a->vals[k])))
                    return -1;
        } else if (a->role != ARFF_ROLE_IGNORED) {
            size_t c = a->role == ARFF_ROLE_LABEL ? p->features + a->col : a->col;
            if (!(out->names[c] = column_name(a->name, "")))
                return -1;
            out->names[c][strlen(a->name)] = '\0';
        }
        d->name = a->name, a->name = NULL;
    }
    return 0;
}

/* Moves the parse result into *out (names, attributes, matrices shrunk to size). */
static int finish(arff_parser *p, arff_data *out) {
    if (describe(p, out)) {
        arff_free(out);
        return arff_fail_pos_(p->err, 0, 0, "out of memory");
    }
    size_t xb = p->rows * p->features * sizeof(float), yb = p->rows * p->n_labels;
    float *nx = realloc(p->x, xb ? xb : 1); /* shrinking: failure keeps the old block */
    if (nx)
        p->x = nx;
    uint8_t *ny = realloc(p->y, yb ? yb : 1);
    if (ny)
        p->y = ny;
    out->rows = p->rows;
    out->labels_first = p->labels_first;
    memcpy(out->note, p->note, sizeof out->note);
    out->x = p->x;
    out->y = p->y;
    p->x = NULL;
    p->y = NULL;
    return 0;
}

int arff_parse(const char *text, size_t len, const char *name, size_t n_labels, arff_data *out,
               arff_error *err) {
    arff_layout layout = {n_labels, ARFF_LABELS_AUTO, NULL, NULL, 0};
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
    if (layout->n_ignore && !layout->ignore)
        return arff_fail_pos_(err, 0, 0, "layout: n_ignore %zu but ignore is NULL",
                              layout->n_ignore);
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
    p.layout = layout;
    p.n_labels = layout->label_names ? 0 : n_labels;
    p.place = layout->place;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        p.pos = 3; /* UTF-8 byte-order mark */

    int in_data = 0, seen_relation = 0, rc;
    size_t n = 0;
    while ((rc = next_line(&p, &n)) == 1) {
        const char *e = p.line + n, *s = arff_skip_ws_(p.line, e);
        rc = 0;
        if (s == e || *s == '%')
            continue;
        if (in_data) {
            if (*s == '@')
                rc = arff_fail_at_(&p, s, "keyword '%s' in the data section",
                                   arff_snippet_(s, (size_t)(e - s)).s);
            else
                rc = (*s == '{') ? parse_sparse(&p, s, e) : parse_dense(&p, s, e);
        } else if (keyword(s, e, "@relation")) {
            const char *r = arff_skip_ws_(s + 9, e);
            if (seen_relation)
                rc = arff_fail_at_(&p, s, "second @relation");
            else if (p.n_attr > 0)
                rc = arff_fail_at_(&p, s, "@relation after @attribute");
            else if (r == e)
                rc = arff_fail_at_(&p, r, "missing relation name");
            else
                rc = arff_parse_relation_(&p, r, e);
            seen_relation = 1;
        } else if (keyword(s, e, "@attribute")) {
            rc = arff_parse_attribute_(&p, s, s + 10, e);
        } else if (keyword(s, e, "@data")) {
            rc = arff_start_data_(&p, s, s + 5, e);
            in_data = 1;
        } else {
            rc = arff_fail_at_(&p, s, "expected @relation, @attribute or @data, not '%s'",
                               arff_snippet_(s, (size_t)(e - s)).s);
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
    if (d->attrs)
        for (size_t i = 0; i < d->n_attrs; i++) {
            free(d->attrs[i].name);
            free(d->attrs[i].type);
        }
    free(d->attrs);
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}
