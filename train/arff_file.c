/* arff_file.c: reading ARFF and MULAN label files from disk (bounded), the label-file counter
 * and the feature standardiser (see arff.h). The ARFF text itself is parsed in arff.c.
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

#define ARFF_XML_MAX ((size_t)64 << 20)

/* Line and column (1-based, bytes) of offset off in t. */
static void text_pos(const char *t, size_t off, size_t *line, size_t *col) {
    size_t l = 1, start = 0;
    for (size_t i = 0; i < off; i++)
        if (t[i] == '\n')
            l++, start = i + 1;
    *line = l;
    *col = off - start + 1;
}

/* Judges the head of the text as it arrives: the first character of the first line that is not
 * blank (nor, for ARFF, a '%' comment, nor a UTF-8 byte-order mark) must be `lead` ('@' for
 * ARFF, '<' for XML). *scan is where the judging stopped (the start of a line not yet whole).
 * 1: good; 0: not decided yet (more text needed, or none: the parser then says why); -1:
 * refused. */
static int judge_head(const char *b, size_t n, size_t *scan, char lead, arff_error *err) {
    size_t i = *scan;
    if (i == 0 && n >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (;;) {
        while (i < n && (arff_is_ws_(b[i]) || (lead == '<' && b[i] == '\n')))
            i++;
        if (i == n)
            break;
        if (b[i] == '\n') {
            *scan = ++i;
            continue;
        }
        if (lead == '@' && b[i] == '%') { /* a comment line: on to its end */
            const char *nl = memchr(b + i, '\n', n - i);
            if (!nl)
                break;
            i = (size_t)(nl - b) + 1;
            *scan = i;
            continue;
        }
        if (b[i] == lead)
            return 1;
        size_t line, col, e = i;
        while (e < n && b[e] != '\n' && b[e] != '\r')
            e++;
        text_pos(b, i, &line, &col);
        return arff_fail_pos_(err, line, col,
                              lead == '@' ? "expected @relation, @attribute or @data, not '%s'"
                                          : "not an XML label file: '%s' before the first tag",
                              arff_snippet_(b + i, e - i).s);
    }
    return 0;
}

/* See arff_internal.h. A NUL byte ends the read at once: neither format may hold one, and
 * /dev/zero must not take a gigabyte to refuse; nor must a file whose first line already says
 * it is not ARFF (or XML): the head is judged as each block arrives. */
int arff_read_file_(const char *path, size_t max, char lead, char **buf, size_t *len,
                    arff_error *err) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return arff_fail_pos_(err, 0, 0, "cannot open: %s", strerror(errno));
    size_t cap = 0, n = 0, room = max + 1; /* one byte past the limit tells a file over it */
    size_t scan = 0;
    int head = lead ? 0 : 1;
    char *b = NULL;
    for (;;) {
        if (n > max) {
            free(b);
            fclose(f);
            return arff_fail_pos_(err, 0, 0, "file larger than %zu bytes (the reader's limit)",
                                  max);
        }
        if (n == cap) {
            size_t nc = cap ? (cap > room / 2 ? room : cap * 2) : (room < 65536 ? room : 65536);
            char *nb = realloc(b, nc);
            if (!nb) {
                free(b);
                fclose(f);
                return arff_fail_pos_(err, 0, 0, "out of memory reading the file (%zu bytes)", nc);
            }
            b = nb;
            cap = nc;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        const char *nul = memchr(b + n, '\0', got);
        if (nul) {
            size_t line, col;
            text_pos(b, (size_t)(nul - b), &line, &col);
            free(b);
            fclose(f);
            return arff_fail_pos_(err, line, col, "NUL byte in the text (not a text file?)");
        }
        n += got;
        if (!head && (head = judge_head(b, n, &scan, lead, err)) < 0) {
            free(b);
            fclose(f);
            return -1;
        }
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(b);
                fclose(f);
                return arff_fail_pos_(err, 0, 0, "cannot read: %s", e ? strerror(e) : "I/O error");
            }
            break;
        }
    }
    fclose(f);
    *buf = b;
    *len = n;
    return 0;
}

int arff_load(const char *path, size_t n_labels, arff_data *out, arff_error *err) {
    arff_layout layout = {n_labels, ARFF_LABELS_AUTO, NULL, NULL, 0};
    return arff_load_layout(path, &layout, out, err);
}

int arff_load_layout(const char *path, const arff_layout *layout, arff_data *out, arff_error *err) {
    arff_error scratch;
    if (!err)
        err = &scratch;
    arff_err_reset_(err, path);
    if (out)
        memset(out, 0, sizeof *out);
    if (!path)
        return arff_fail_pos_(err, 0, 0, "path is NULL");
    if (!out)
        return arff_fail_pos_(err, 0, 0, "no output struct (out is NULL)");
    char *text;
    size_t len;
    if (arff_read_file_(path, ARFF_MAX_FILE_BYTES, '@', &text, &len, err))
        return -1;
    int rc = arff_parse_layout(text, len, path, layout, out, err);
    free(text);
    return rc;
}

/* ---- MULAN label file ---- */

ARFF_PRINTF_(4, 5)
static int xml_fail(arff_error *err, const char *t, size_t off, const char *fmt, ...) {
    size_t line, col;
    text_pos(t, off, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    arff_vfail_(err, line, col, fmt, ap);
    va_end(ap);
    return -1;
}

/* Offset of the first `pat` in t[from..n), or n. */
static size_t xml_find(const char *t, size_t n, size_t from, const char *pat) {
    size_t m = strlen(pat);
    for (size_t i = from; i + m <= n; i++)
        if (t[i] == pat[0] && memcmp(t + i, pat, m) == 0)
            return i;
    return n;
}

static int xml_starts(const char *t, size_t n, size_t i, const char *pat) {
    size_t m = strlen(pat);
    return i + m <= n && memcmp(t + i, pat, m) == 0;
}

static int xml_ws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' || c == '\n';
}

/* Appends the attribute value t[a..b) (entities decoded) to *names. */
static int push_label(char ***names, size_t *count, size_t *cap, const char *t, size_t a,
                      size_t b) {
    if (*count == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **nn = realloc(*names, nc * sizeof *nn);
        if (!nn)
            return -1;
        *names = nn, *cap = nc;
    }
    char *d = malloc(b - a + 1);
    if (!d)
        return -1;
    size_t k = 0;
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = a; i < b; i++) {
        int done = 0;
        for (size_t e = 0; t[i] == '&' && e < sizeof ents / sizeof ents[0] && !done; e++)
            if (xml_starts(t, b, i, ents[e].ent)) {
                d[k++] = ents[e].c;
                i += strlen(ents[e].ent) - 1;
                done = 1;
            }
        if (!done && t[i] == '&' && i + 2 < b && t[i + 1] == '#') {
            /* &#N; or &#xN; in the ASCII range; other references stay as written */
            int hex = t[i + 2] == 'x';
            size_t j = i + 2 + (size_t)hex;
            unsigned v = 0, digits = 0;
            for (; j < b && digits < 8; j++, digits++) {
                char c = t[j];
                unsigned dv = c >= '0' && c <= '9'          ? (unsigned)(c - '0')
                              : hex && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                              : hex && c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                                            : 99u;
                if (dv == 99u)
                    break;
                v = v * (hex ? 16u : 10u) + dv;
            }
            if (digits && j < b && t[j] == ';' && v > 0 && v < 128) {
                d[k++] = (char)v;
                i = j;
                done = 1;
            }
        }
        if (!done)
            d[k++] = t[i];
    }
    d[k] = '\0';
    (*names)[(*count)++] = d;
    return 0;
}

void arff_free_names(char **names, size_t n) {
    if (names)
        for (size_t i = 0; i < n; i++)
            free(names[i]);
    free(names);
}

static int count_labels(const char *t, size_t n, char ***names, size_t *count, arff_error *err) {
    const char *nul = memchr(t, '\0', n);
    if (nul)
        return xml_fail(err, t, (size_t)(nul - t), "NUL byte in the file");
    static const struct {
        const char *open, *close, *what;
    } skips[] = {{"<!--", "-->", "comment"},
                 {"<![CDATA[", "]]>", "CDATA section"},
                 {"<?", "?>", "processing instruction"},
                 {"<!", ">", "declaration"},
                 {"</", ">", "end tag"}};
    size_t i = 0, c = 0, cap = 0;
    size_t name_a = 0, name_b = 0;
    while (i < n) {
        const char *lt = memchr(t + i, '<', n - i);
        if (!lt)
            break;
        i = (size_t)(lt - t);
        int skipped = 0;
        for (size_t k = 0; k < sizeof skips / sizeof skips[0]; k++) {
            if (xml_starts(t, n, i, skips[k].open)) {
                size_t end = xml_find(t, n, i + strlen(skips[k].open), skips[k].close);
                if (end == n)
                    return xml_fail(err, t, i, "unterminated %s", skips[k].what);
                i = end + strlen(skips[k].close);
                skipped = 1;
                break;
            }
        }
        if (skipped)
            continue;
        size_t j = i + 1;
        while (j < n && !xml_ws(t[j]) && t[j] != '/' && t[j] != '>')
            j++;
        int is_label = (j - (i + 1) == 5 && memcmp(t + i + 1, "label", 5) == 0);
        int has_name = 0;
        while (j < n && t[j] != '>') {
            if (t[j] == '"' || t[j] == '\'') {
                const char *q = memchr(t + j + 1, t[j], n - j - 1);
                if (!q)
                    return xml_fail(err, t, j, "unterminated quoted attribute value");
                j = (size_t)(q - t) + 1;
            } else if (xml_ws(t[j]) || t[j] == '/' || t[j] == '=') {
                j++;
            } else {
                size_t a = j;
                while (j < n && !xml_ws(t[j]) && t[j] != '=' && t[j] != '>' && t[j] != '/' &&
                       t[j] != '"' && t[j] != '\'')
                    j++;
                if (is_label && j - a == 4 && memcmp(t + a, "name", 4) == 0) {
                    size_t k = j;
                    while (k < n && xml_ws(t[k]))
                        k++;
                    if (k < n && t[k] == '=') {
                        k++;
                        while (k < n && xml_ws(t[k]))
                            k++;
                        if (k < n && (t[k] == '"' || t[k] == '\'')) {
                            const char *q = memchr(t + k + 1, t[k], n - k - 1);
                            if (!q)
                                return xml_fail(err, t, k, "unterminated quoted attribute value");
                            has_name = 1;
                            name_a = k + 1, name_b = (size_t)(q - t);
                        }
                    }
                }
            }
        }
        if (j >= n)
            return xml_fail(err, t, i, "unterminated tag");
        if (is_label) {
            if (!has_name)
                return xml_fail(err, t, i, "<label> element without a name attribute");
            if (push_label(names, &c, &cap, t, name_a, name_b))
                return xml_fail(err, t, i, "out of memory");
        }
        i = j + 1;
    }
    *count = c;
    if (c == 0)
        return arff_fail_pos_(err, 0, 0, "no <label name=\"...\"> element found");
    return 0;
}

int arff_label_names_from_xml(const char *xml_path, char ***names, size_t *n, arff_error *err) {
    arff_error scratch;
    if (!err)
        err = &scratch;
    arff_err_reset_(err, xml_path);
    if (names)
        *names = NULL;
    if (n)
        *n = 0;
    if (!xml_path || !names || !n)
        return arff_fail_pos_(err, 0, 0, "xml_path, names or n is NULL");
    char *text;
    size_t len;
    if (arff_read_file_(xml_path, ARFF_XML_MAX, '<', &text, &len, err))
        return -1;
    char **got = NULL;
    size_t count = 0;
    int rc = count_labels(text, len, &got, &count, err);
    free(text);
    if (rc) {
        arff_free_names(got, count);
        return -1;
    }
    *names = got;
    *n = count;
    return 0;
}

int arff_label_count_from_xml(const char *xml_path, size_t *n_labels, arff_error *err) {
    arff_error scratch;
    if (!err)
        err = &scratch;
    if (!xml_path || !n_labels) {
        arff_err_reset_(err, xml_path);
        return arff_fail_pos_(err, 0, 0, "xml_path or n_labels is NULL");
    }
    char **names = NULL;
    int rc = arff_label_names_from_xml(xml_path, &names, n_labels, err);
    arff_free_names(names, *n_labels);
    if (rc)
        *n_labels = 0;
    return rc;
}

/* ---- comparing two files' attributes ---- */

static const char *role_word(arff_role r) {
    return r == ARFF_ROLE_LABEL ? "a label" : r == ARFF_ROLE_IGNORED ? "ignored" : "a feature";
}

int arff_same_attributes(const arff_data *a, const arff_data *b, const char *a_name,
                         const char *b_name, char *msg, size_t cap) {
    if (a->n_attrs != b->n_attrs) {
        snprintf(msg, cap, "%s declares %zu attributes, %s %zu", a_name, a->n_attrs, b_name,
                 b->n_attrs);
        return -1;
    }
    for (size_t i = 0; i < a->n_attrs; i++) {
        const arff_attr_info *x = &a->attrs[i], *y = &b->attrs[i];
        arff_snippet xn = arff_snippet_(x->name, strlen(x->name));
        if (strcmp(x->name, y->name) != 0) {
            snprintf(msg, cap, "attribute %zu is '%s' in %s but '%s' in %s", i + 1, xn.s, a_name,
                     arff_snippet_(y->name, strlen(y->name)).s, b_name);
            return -1;
        }
        if (strcmp(x->type, y->type) != 0) {
            snprintf(msg, cap, "attribute %zu '%s' is declared %s in %s but %s in %s", i + 1, xn.s,
                     arff_snippet_(x->type, strlen(x->type)).s, a_name,
                     arff_snippet_(y->type, strlen(y->type)).s, b_name);
            return -1;
        }
        if (x->role != y->role || x->column != y->column || x->width != y->width) {
            snprintf(msg, cap, "attribute %zu '%s' is %s in %s but %s in %s", i + 1, xn.s,
                     role_word(x->role), a_name, role_word(y->role), b_name);
            return -1;
        }
    }
    if (a->features != b->features || a->labels != b->labels) { /* cannot differ by now */
        snprintf(msg, cap, "%s has %zu features and %zu labels, %s %zu and %zu", a_name,
                 a->features, a->labels, b_name, b->features, b->labels);
        return -1;
    }
    return 0;
}

/* ---- standardiser ---- */

void arff_fit_standardizer(const float *x, size_t rows, size_t features, float *mean, float *std) {
    for (size_t f = 0; f < features; f++) {
        double m = 0.0, v = 0.0;
        for (size_t r = 0; r < rows; r++)
            m += (double)x[r * features + f];
        m = rows ? m / (double)rows : 0.0;
        for (size_t r = 0; r < rows; r++) {
            double d = (double)x[r * features + f] - m;
            v += d * d;
        }
        double sd = rows ? sqrt(v / (double)rows) : 0.0;
        if (sd > FLT_MAX) /* cannot happen for finite floats; keeps the cast defined regardless */
            sd = FLT_MAX;
        mean[f] = (float)m;
        std[f] = (isfinite(sd) && (float)sd > 0.0f) ? (float)sd : 1.0f;
    }
}

void arff_standardize(float *x, size_t rows, size_t features, const float *mean, const float *std) {
    for (size_t f = 0; f < features; f++) {
        double sd = (isfinite(std[f]) && std[f] != 0.0f) ? (double)std[f] : 1.0;
        for (size_t r = 0; r < rows; r++) {
            float *v = &x[r * features + f];
            *v = (float)(((double)*v - (double)mean[f]) / sd);
        }
    }
}
