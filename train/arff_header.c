/* arff_header.c: the ARFF header lines: @attribute (numeric, nominal, nominal lists of numbers),
 * @relation (MEKA's "-C N" label option) and @data (where the labels are: the caller's layout
 * against MEKA's option; which attributes may be features or labels). See arff.h; the lines
 * themselves are split and the rows parsed in arff.c.
 */
#include "arff.h"
#include "arff_internal.h"

#include <stdlib.h>
#include <string.h>

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
        s = arff_skip_ws_(s, e);
        if (s == e)
            return arff_fail_at_(p, open, "unterminated nominal value list (missing '}')");
        if (*s == '}' && nvals == 0)
            return arff_fail_at_(p, s, "empty nominal value list");
        const char *v = s, *t;
        size_t vn;
        if (*s == '\'' || *s == '"') {
            t = arff_scan_quoted_(s, e);
            if (!t)
                return arff_fail_at_(p, s, "unterminated quoted nominal value");
            v = s + 1;
            vn = (size_t)(t - s) - 2;
        } else {
            t = s;
            while (t < e && *t != ',' && *t != '}' && !arff_is_ws_(*t))
                t++;
            vn = (size_t)(t - s);
            if (vn == 0)
                return arff_fail_at_(p, s, "empty nominal value");
        }
        if (vn == 1 && *v == '0')
            has0 = 1;
        else if (vn == 1 && *v == '1')
            has1 = 1;
        else
            other = 1;
        float f;
        if (numeric && arff_decimal_(v, vn, &f) == 0) {
            if (push_value(a, &cap, f))
                return arff_fail_at_(p, v, "out of memory");
        } else {
            numeric = 0;
        }
        nvals++;
        s = arff_skip_ws_(t, e);
        if (s == e)
            return arff_fail_at_(p, open, "unterminated nominal value list (missing '}')");
        if (*s == '}') {
            *after = s + 1;
            break;
        }
        if (*s != ',')
            return arff_fail_at_(p, s, "expected ',' or '}' in the nominal value list");
        s++;
    }
    a->binary = (unsigned char)(nvals == 2 && has0 && has1 && !other);
    if (!numeric) {
        free(a->values);
        a->values = NULL;
        a->n_values = 0;
    } else {
        qsort(a->values, a->n_values, sizeof *a->values, arff_cmp_float_);
    }
    return 0;
}

int arff_parse_attribute_(arff_parser *p, const char *kw, const char *s, const char *e) {
    if (p->n_attr >= ARFF_MAX_ATTRIBUTES)
        return arff_fail_at_(p, kw, "too many attributes (the limit is %u)",
                             (unsigned)ARFF_MAX_ATTRIBUTES);
    s = arff_skip_ws_(s, e);
    if (s == e)
        return arff_fail_at_(p, s, "missing attribute name");
    const char *name = s, *t;
    size_t name_n;
    int quoted = (*s == '\'' || *s == '"');
    if (quoted) {
        t = arff_scan_quoted_(s, e);
        if (!t)
            return arff_fail_at_(p, s, "unterminated quoted attribute name");
        name = s + 1;
        name_n = (size_t)(t - s) - 2;
        if (name_n == 0)
            return arff_fail_at_(p, s, "empty attribute name");
    } else {
        t = s;
        while (t < e && !arff_is_ws_(*t))
            t++;
        name_n = (size_t)(t - s);
    }
    s = arff_skip_ws_(t, e);
    if (s == e)
        return arff_fail_at_(p, s, "missing attribute type after the name");
    arff_attr a = {NULL, p->cur_line, (size_t)(s - p->line) + 1, 0, 0, NULL, 0};
    if (*s == '{') {
        a.nominal = 1;
        if (parse_nominal(p, s, e, &t, &a)) {
            free(a.values);
            return -1;
        }
    } else {
        t = s;
        while (t < e && !arff_is_ws_(*t))
            t++;
        size_t n = (size_t)(t - s);
        if (!arff_word_eq_(s, n, "numeric") && !arff_word_eq_(s, n, "real") &&
            !arff_word_eq_(s, n, "integer")) {
            if (arff_word_eq_(s, n, "string") || arff_word_eq_(s, n, "date") ||
                arff_word_eq_(s, n, "relational"))
                return arff_fail_at_(p, s,
                                     "attribute type '%s' is not supported (numeric features and "
                                     "{0,1} labels only)",
                                     arff_snippet_(s, n).s);
            return arff_fail_at_(p, s, "unknown attribute type '%s'", arff_snippet_(s, n).s);
        }
    }
    s = arff_skip_ws_(t, e);
    int rc = 0;
    if (s != e)
        rc = arff_fail_at_(p, s, "unexpected text after the attribute type");
    if (!rc && p->n_attr == p->cap_attr) {
        size_t cap = p->cap_attr ? p->cap_attr * 2 : 16;
        if (cap > ARFF_MAX_ATTRIBUTES)
            cap = ARFF_MAX_ATTRIBUTES;
        arff_attr *na = realloc(p->attrs, cap * sizeof *na);
        if (!na)
            rc = arff_fail_at_(p, kw, "out of memory");
        else
            p->attrs = na, p->cap_attr = cap;
    }
    if (!rc && !(a.name = dup_name(name, name_n, quoted)))
        rc = arff_fail_at_(p, kw, "out of memory");
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
        if (r[i] != '-' || r[i + 1] != 'C' || (i > 0 && !arff_is_ws_(r[i - 1]) && r[i - 1] != ':'))
            continue;
        size_t k = i + 2;
        if (k < n && !arff_is_ws_(r[k]))
            continue; /* "-Cx": another option */
        while (k < n && arff_is_ws_(r[k]))
            k++;
        size_t start = k;
        if (k < n && (r[k] == '-' || r[k] == '+'))
            k++;
        size_t digits = 0;
        long long v = 0;
        for (; k < n && arff_is_digit_(r[k]); k++, digits++)
            v = v < 100000000 ? v * 10 + (r[k] - '0') : v; /* past the limit: refused below */
        if (!digits || (k < n && !arff_is_ws_(r[k]) && r[k] != '\'' && r[k] != '"'))
            return arff_fail_at_(p, r + start, "MEKA option -C wants an integer, not '%s'",
                                 arff_snippet_(r + start, n - start).s);
        if (r[start] == '-')
            v = -v;
        if (v == 0 || v > (long long)ARFF_MAX_ATTRIBUTES || -v > (long long)ARFF_MAX_ATTRIBUTES)
            return arff_fail_at_(p, r + start,
                                 "MEKA option -C %s: the label count must be 1 to %u "
                                 "(or -1 to -%u)",
                                 arff_snippet_(r + start, k - start).s,
                                 (unsigned)ARFF_MAX_ATTRIBUTES, (unsigned)ARFF_MAX_ATTRIBUTES);
        p->has_meka = 1;
        p->meka_c = v;
        return 1;
    }
    return 0;
}

int arff_parse_relation_(arff_parser *p, const char *r, const char *e) {
    if (*r == '\'' || *r == '"') {
        const char *t = arff_scan_quoted_(r, e);
        if (!t)
            return arff_fail_at_(p, r, "unterminated quoted relation name");
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
        return arff_fail_at_(p, kw, "%zu label(s) expected but the @relation name says -C %lld",
                             p->n_labels, p->meka_c);
    if (p->has_meka && p->place != ARFF_LABELS_AUTO &&
        meka_first != (p->place == ARFF_LABELS_FIRST))
        return arff_fail_at_(p, kw, "labels expected %s but the @relation name says -C %lld (%s)",
                             p->place == ARFF_LABELS_FIRST ? "first" : "last", p->meka_c,
                             meka_first ? "first" : "last");
    p->labels_first = p->place == ARFF_LABELS_FIRST || (p->place == ARFF_LABELS_AUTO && meka_first);
    return 0;
}

int arff_start_data_(arff_parser *p, const char *kw, const char *s, const char *e) {
    s = arff_skip_ws_(s, e);
    if (s != e)
        return arff_fail_at_(p, s, "unexpected text after @data");
    if (p->n_attr == 0)
        return arff_fail_at_(p, kw, "@data before any @attribute");
    if (resolve_layout(p, kw))
        return -1;
    if (p->n_labels > p->n_attr)
        return arff_fail_at_(p, kw,
                             "%zu label(s) expected but the file declares only %zu attribute(s)",
                             p->n_labels, p->n_attr);
    p->features = p->n_attr - p->n_labels;
    const char *where = p->labels_first ? "first" : "last";
    for (size_t i = 0; i < p->n_attr; i++) {
        const arff_attr *a = &p->attrs[i];
        if (!arff_is_label_(p, i) && a->nominal && !a->values)
            return arff_fail_pos_(p->err, a->line, a->column,
                                  "nominal feature '%s' is not supported (only nominal lists of "
                                  "numbers; the labels are the %s %zu attribute(s))",
                                  arff_snippet_(a->name, strlen(a->name)).s, where, p->n_labels);
        if (arff_is_label_(p, i) && !a->binary)
            return arff_fail_pos_(p->err, a->line, a->column,
                                  "label attribute '%s' must be declared {0,1} (the labels are "
                                  "the %s %zu attribute(s))",
                                  arff_snippet_(a->name, strlen(a->name)).s, where, p->n_labels);
    }
    size_t lim = SIZE_MAX / 8; /* so that cells * sizeof(float) cannot overflow */
    size_t by_len = p->len > lim / ARFF_CELLS_PER_BYTE ? lim : p->len * ARFF_CELLS_PER_BYTE;
    p->cells_max = by_len > ARFF_MIN_CELLS ? by_len : ARFF_MIN_CELLS;
    return 0;
}
