/* arff_header.c: the ARFF header lines: @attribute (numeric, nominal, string, date), @relation
 * (MEKA's "-C N" label option) and @data (each attribute's role and columns: the caller's layout,
 * label names and ignored names against MEKA's option; nominal features as numbers, 0/1 or
 * one-hot). See arff.h; the lines themselves are split and the rows parsed in arff.c.
 */
#include "arff.h"
#include "arff_internal.h"

#include <stdio.h>
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

/* Appends the value v[0..n) (escapes resolved when quoted) to a's declared values. */
static int push_val(arff_attr *a, size_t *cap, const char *v, size_t n, int quoted) {
    if (a->n_vals == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        char **nv = realloc(a->vals, nc * sizeof *nv);
        if (!nv)
            return -1;
        a->vals = nv;
        *cap = nc;
    }
    char *d = dup_name(v, n, quoted);
    if (!d)
        return -1;
    a->vals[a->n_vals++] = d;
    return 0;
}

/* Sorts the indices ix[0..n) by vals[ix[i]] (strcmp). C11's qsort passes no context and
 * qsort_r is not portable: a merge sort, stable and re-entrant. */
static void merge_sort(size_t *ix, size_t *tmp, size_t n, char *const *vals) {
    if (n < 2)
        return;
    size_t h = n / 2;
    merge_sort(ix, tmp, h, vals);
    merge_sort(ix + h, tmp, n - h, vals);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = strcmp(vals[ix[j]], vals[ix[i]]) < 0 ? ix[j++] : ix[i++];
    while (i < h)
        tmp[k++] = ix[i++];
    while (j < n)
        tmp[k++] = ix[j++];
    memcpy(ix, tmp, n * sizeof *ix);
}

long arff_nominal_index_(const arff_attr *a, const char *v, size_t n) {
    size_t lo = 0, hi = a->n_vals;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *c = a->vals[a->by_name[mid]];
        size_t cn = strlen(c);
        int r = memcmp(v, c, n < cn ? n : cn);
        if (r == 0)
            r = (n > cn) - (n < cn);
        if (r == 0)
            return (long)a->by_name[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* The normalised declaration "{v1,v2,...}" of a nominal attribute. */
static char *nominal_type(const arff_attr *a) {
    size_t len = 3;
    for (size_t i = 0; i < a->n_vals; i++)
        len += strlen(a->vals[i]) + 1;
    char *t = malloc(len);
    if (!t)
        return NULL;
    size_t k = 0;
    t[k++] = '{';
    for (size_t i = 0; i < a->n_vals; i++) {
        size_t n = strlen(a->vals[i]);
        if (i)
            t[k++] = ',';
        memcpy(t + k, a->vals[i], n);
        k += n;
    }
    t[k++] = '}';
    t[k] = '\0';
    return t;
}

/* A nominal list {...} at s: the declared values (a->vals, a->by_name), a->binary (exactly 0 and
 * 1), and, when every value is a number, a->values (sorted) and a->first_value. */
static int parse_nominal(arff_parser *p, const char *s, const char *e, const char **after,
                         arff_attr *a) {
    const char *open = s;
    size_t cap = 0, vcap = 0;
    int has0 = 0, has1 = 0, other = 0, numeric = 1;
    s++;
    for (;;) {
        s = arff_skip_ws_(s, e);
        if (s == e)
            return arff_fail_at_(p, open, "unterminated nominal value list (missing '}')");
        if (*s == '}' && a->n_vals == 0)
            return arff_fail_at_(p, s, "empty nominal value list");
        const char *v = s, *t;
        size_t vn;
        int quoted = (*s == '\'' || *s == '"');
        if (quoted) {
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
        if (a->n_vals == 0)
            a->label_1st = (unsigned char)(vn == 1 && *v == '1');
        float f;
        if (numeric && arff_decimal_(v, vn, &f) == 0) {
            if (a->n_vals == 0)
                a->first_value = f;
            if (push_value(a, &cap, f))
                return arff_fail_at_(p, v, "out of memory");
        } else {
            numeric = 0;
        }
        if (push_val(a, &vcap, v, vn, quoted))
            return arff_fail_at_(p, v, "out of memory");
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
    a->binary = (unsigned char)(a->n_vals == 2 && has0 && has1 && !other);
    if (!numeric) {
        free(a->values);
        a->values = NULL;
        a->n_values = 0;
    } else {
        qsort(a->values, a->n_values, sizeof *a->values, arff_cmp_float_);
    }
    a->by_name = malloc(a->n_vals * sizeof *a->by_name);
    size_t *tmp = malloc(a->n_vals * sizeof *tmp);
    if (!a->by_name || !tmp) {
        free(tmp);
        return arff_fail_at_(p, open, "out of memory");
    }
    for (size_t i = 0; i < a->n_vals; i++)
        a->by_name[i] = i;
    merge_sort(a->by_name, tmp, a->n_vals, a->vals);
    free(tmp);
    for (size_t i = 1; i < a->n_vals; i++)
        if (strcmp(a->vals[a->by_name[i - 1]], a->vals[a->by_name[i]]) == 0)
            return arff_fail_at_(
                p, open, "nominal value '%s' declared twice",
                arff_snippet_(a->vals[a->by_name[i]], strlen(a->vals[a->by_name[i]])).s);
    if (!(a->type = nominal_type(a)))
        return arff_fail_at_(p, open, "out of memory");
    return 0;
}

void arff_attr_free_(arff_attr *a) {
    free(a->name);
    free(a->type);
    for (size_t i = 0; i < a->n_vals; i++)
        free(a->vals[i]);
    free(a->vals);
    free(a->by_name);
    free(a->values);
    memset(a, 0, sizeof *a);
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
    arff_attr a;
    memset(&a, 0, sizeof a);
    a.line = p->cur_line;
    a.column = (size_t)(s - p->line) + 1;
    int rc = 0;
    if (*s == '{') {
        a.nominal = 1;
        rc = parse_nominal(p, s, e, &t, &a);
    } else {
        t = s;
        while (t < e && !arff_is_ws_(*t))
            t++;
        size_t n = (size_t)(t - s);
        const char *word = NULL;
        if (arff_word_eq_(s, n, "numeric") || arff_word_eq_(s, n, "real") ||
            arff_word_eq_(s, n, "integer"))
            word = "numeric";
        else if (arff_word_eq_(s, n, "string"))
            word = "string";
        else if (arff_word_eq_(s, n, "date"))
            word = "date", t = e; /* its optional format runs to the end of the line */
        else if (arff_word_eq_(s, n, "relational"))
            rc = arff_fail_at_(p, s, "attribute type 'relational' is not supported");
        else
            rc = arff_fail_at_(p, s, "unknown attribute type '%s'", arff_snippet_(s, n).s);
        if (word) {
            a.other = (unsigned char)(word[0] != 'n');
            if (!(a.type = dup_name(word, strlen(word), 0)))
                rc = arff_fail_at_(p, kw, "out of memory");
        }
    }
    s = rc ? e : arff_skip_ws_(t, e);
    if (!rc && s != e)
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
        arff_attr_free_(&a);
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

/* The declared attribute named name, or -1 (by_name: attribute indices sorted by name). */
static long find_attr(const arff_parser *p, const size_t *by_name, const char *name) {
    size_t lo = 0, hi = p->n_attr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(name, p->attrs[by_name[mid]].name);
        if (r == 0)
            return (long)by_name[mid];
        if (r < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* Attribute i's name for a message (use .s within the full expression). */
static arff_snippet attr_name(const arff_parser *p, size_t i) {
    return arff_snippet_(p->attrs[i].name, strlen(p->attrs[i].name));
}

/* Marks the labels by the caller's names (layout->label_names). */
static int labels_by_name(arff_parser *p, const char *kw, const size_t *by_name) {
    const arff_layout *l = p->layout;
    if (l->n_labels > p->n_attr)
        return arff_fail_at_(p, kw,
                             "%zu label names given but the file declares only %zu "
                             "attribute(s)",
                             l->n_labels, p->n_attr);
    for (size_t k = 0; k < l->n_labels; k++) {
        const char *nm = l->label_names[k] ? l->label_names[k] : "";
        long i = find_attr(p, by_name, nm);
        if (i < 0)
            return arff_fail_at_(p, kw, "label '%s' (label %zu of %zu) is not a declared attribute",
                                 arff_snippet_(nm, strlen(nm)).s, k + 1, l->n_labels);
        if (p->attrs[i].role == ARFF_ROLE_LABEL)
            return arff_fail_at_(p, kw, "label '%s' named twice", arff_snippet_(nm, strlen(nm)).s);
        if (p->attrs[i].role == ARFF_ROLE_IGNORED)
            return arff_fail_at_(p, kw, "attribute '%s' is a label and cannot be ignored",
                                 arff_snippet_(nm, strlen(nm)).s);
        if (p->place != ARFF_LABELS_AUTO) {
            int first = p->place == ARFF_LABELS_FIRST;
            if (first ? (size_t)i >= l->n_labels : (size_t)i < p->n_attr - l->n_labels)
                return arff_fail_at_(p, kw, "label '%s' is attribute %ld, not among the %s %zu",
                                     arff_snippet_(nm, strlen(nm)).s, i + 1,
                                     first ? "first" : "last", l->n_labels);
        }
        p->attrs[i].role = ARFF_ROLE_LABEL;
    }
    p->n_labels = l->n_labels;
    return 0;
}

/* Marks the labels by count and place (the caller's, else MEKA's -C). */
static int labels_by_place(arff_parser *p, const char *kw) {
    size_t meka_n = p->has_meka ? (size_t)(p->meka_c < 0 ? -p->meka_c : p->meka_c) : 0;
    int meka_first = p->has_meka && p->meka_c > 0;
    if (p->n_labels == 0)
        p->n_labels = meka_n;
    else if (p->has_meka && p->place == ARFF_LABELS_AUTO && meka_n != p->n_labels)
        return arff_fail_at_(p, kw, "%zu label(s) expected but the @relation name says -C %lld",
                             p->n_labels, p->meka_c);
    if (p->n_labels > p->n_attr)
        return arff_fail_at_(p, kw,
                             "%zu label(s) expected but the file declares only %zu attribute(s)",
                             p->n_labels, p->n_attr);
    int first = p->place == ARFF_LABELS_FIRST || (p->place == ARFF_LABELS_AUTO && meka_first);
    for (size_t k = 0; k < p->n_labels; k++) {
        size_t i = first ? k : p->n_attr - p->n_labels + k;
        if (p->attrs[i].role == ARFF_ROLE_IGNORED)
            return arff_fail_at_(p, kw, "attribute '%s' is a label and cannot be ignored",
                                 attr_name(p, i).s);
        p->attrs[i].role = ARFF_ROLE_LABEL;
    }
    return 0;
}

/* Whether MEKA's -C names other labels than those marked; if so, p->note says so. */
static void check_meka(arff_parser *p) {
    if (!p->has_meka)
        return;
    size_t n = (size_t)(p->meka_c < 0 ? -p->meka_c : p->meka_c);
    int first = p->meka_c > 0, same = n == p->n_labels && n <= p->n_attr;
    for (size_t k = 0; same && k < n; k++)
        same = p->attrs[first ? k : p->n_attr - n + k].role == ARFF_ROLE_LABEL;
    if (same)
        return;
    size_t lab = p->n_labels, head = 0, tail = 0;
    while (head < p->n_attr && p->attrs[head].role == ARFF_ROLE_LABEL)
        head++;
    while (tail < p->n_attr && p->attrs[p->n_attr - 1 - tail].role == ARFF_ROLE_LABEL)
        tail++;
    const char *now = head == lab ? "first" : tail == lab ? "last" : "named";
    snprintf(p->note, sizeof p->note,
             "the @relation name says -C %lld (the %s %zu attributes), overridden: the labels are "
             "the %s %zu as asked",
             p->meka_c, first ? "first" : "last", n, now, lab);
}

/* The sparse row defaults: each nominal attribute's first declared value (Weka), else 0. */
static int sparse_defaults(arff_parser *p) {
    p->x_sparse = calloc(p->features ? p->features : 1, sizeof *p->x_sparse);
    p->y_sparse = calloc(p->n_labels ? p->n_labels : 1, 1);
    if (!p->x_sparse || !p->y_sparse)
        return -1;
    for (size_t i = 0; i < p->n_attr; i++) {
        const arff_attr *a = &p->attrs[i];
        if (a->role == ARFF_ROLE_LABEL)
            p->y_sparse[a->col] = a->label_1st;
        else if (a->role == ARFF_ROLE_FEATURE && a->nominal)
            p->x_sparse[a->col] = a->enc == ARFF_ENC_NUMBER   ? a->first_value
                                  : a->enc == ARFF_ENC_ONEHOT ? 1.0f
                                                              : 0.0f;
    }
    return 0;
}

/* Settles the attributes' roles and columns at @data: the ignored ones, the labels (by name, or
 * by count and place against MEKA's -C), then the features and their encodings. */
static int resolve_layout(arff_parser *p, const char *kw) {
    const arff_layout *l = p->layout;
    size_t *by_name = malloc(p->n_attr * sizeof *by_name), *tmp = malloc(p->n_attr * sizeof *tmp);
    char **names = malloc(p->n_attr * sizeof *names);
    if (!by_name || !tmp || !names) {
        free(by_name), free(tmp), free(names);
        return arff_fail_at_(p, kw, "out of memory");
    }
    for (size_t i = 0; i < p->n_attr; i++)
        by_name[i] = i, names[i] = p->attrs[i].name;
    merge_sort(by_name, tmp, p->n_attr, names);
    free(tmp), free(names);
    int rc = 0;
    for (size_t i = 1; !rc && i < p->n_attr; i++)
        if (strcmp(p->attrs[by_name[i - 1]].name, p->attrs[by_name[i]].name) == 0) {
            size_t a = by_name[i - 1] < by_name[i] ? by_name[i] : by_name[i - 1];
            rc = arff_fail_pos_(p->err, p->attrs[a].line, p->attrs[a].column,
                                "attribute '%s' declared twice", attr_name(p, a).s);
        }
    for (size_t k = 0; !rc && k < l->n_ignore; k++) {
        const char *nm = l->ignore[k] ? l->ignore[k] : "";
        long i = find_attr(p, by_name, nm);
        if (i < 0)
            rc = arff_fail_at_(p, kw, "attribute '%s' to ignore is not declared",
                               arff_snippet_(nm, strlen(nm)).s);
        else
            p->attrs[i].role = ARFF_ROLE_IGNORED;
    }
    if (!rc)
        rc = l->label_names ? labels_by_name(p, kw, by_name) : labels_by_place(p, kw);
    free(by_name);
    if (rc)
        return -1;
    check_meka(p);
    size_t fcol = 0, lcol = 0, first_label = SIZE_MAX, first_feature = SIZE_MAX;
    for (size_t i = 0; i < p->n_attr; i++) {
        arff_attr *a = &p->attrs[i];
        if (a->role == ARFF_ROLE_LABEL) {
            if (!a->binary)
                return arff_fail_pos_(p->err, a->line, a->column,
                                      "label attribute '%s' must be declared {0,1} (%zu labels)",
                                      attr_name(p, i).s, p->n_labels);
            a->col = lcol++, a->width = 1;
            first_label = first_label < i ? first_label : i;
        } else if (a->role == ARFF_ROLE_FEATURE) {
            if (a->other)
                return arff_fail_pos_(p->err, a->line, a->column,
                                      "attribute '%s' has type %s, which a feature cannot have "
                                      "(ignore it)",
                                      attr_name(p, i).s, a->type);
            a->enc = !a->nominal || a->values ? ARFF_ENC_NUMBER
                     : a->n_vals == 2         ? ARFF_ENC_INDEX
                                              : ARFF_ENC_ONEHOT;
            a->width = a->enc == ARFF_ENC_ONEHOT ? a->n_vals : 1;
            if (a->width > ARFF_MAX_ATTRIBUTES - p->n_labels - fcol) /* columns in all */
                return arff_fail_pos_(p->err, a->line, a->column,
                                      "more than %u columns (one-hot '%s')",
                                      (unsigned)ARFF_MAX_ATTRIBUTES, attr_name(p, i).s);
            a->col = fcol, fcol += a->width;
            first_feature = first_feature < i ? first_feature : i;
        }
    }
    p->features = fcol;
    p->labels_first = lcol > 0 && first_label < first_feature;
    if (sparse_defaults(p))
        return arff_fail_at_(p, kw, "out of memory");
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
    size_t lim = SIZE_MAX / 8; /* so that cells * sizeof(float) cannot overflow */
    size_t by_len = p->len > lim / ARFF_CELLS_PER_BYTE ? lim : p->len * ARFF_CELLS_PER_BYTE;
    p->cells_max = by_len > ARFF_MIN_CELLS ? by_len : ARFF_MIN_CELLS;
    return 0;
}
