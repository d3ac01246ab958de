/* arff_internal.h: what the ARFF reader's files share: the parser state (arff.c parses lines and
 * rows, arff_header.c the @relation / @attribute / @data lines, arff_file.c reads files), small
 * text helpers and error filling. Not for other users. */
#ifndef APLCL_ARFF_INTERNAL_H
#define APLCL_ARFF_INTERNAL_H

#include "arff.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define ARFF_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#else
#define ARFF_PRINTF_(f, a)
#endif

/* Zeroes *err and sets its file (NULL name: "<memory>"). */
void arff_err_reset_(arff_error *err, const char *name);
/* Fills err's position and message; return -1. */
ARFF_PRINTF_(4, 0)
int arff_vfail_(arff_error *err, size_t line, size_t column, const char *fmt, va_list ap);
ARFF_PRINTF_(4, 5)
int arff_fail_pos_(arff_error *err, size_t line, size_t column, const char *fmt, ...);

/* How a feature's value becomes its column(s) (see arff.h). */
enum {
    ARFF_ENC_NUMBER = 0, /* numeric, or a nominal list of numbers: the number */
    ARFF_ENC_INDEX = 1,  /* a two-valued nominal list: 0 first declared value, 1 second */
    ARFF_ENC_ONEHOT = 2  /* a longer nominal list: one column per declared value */
};

typedef struct {
    char *name;
    size_t line, column;     /* of the type, for the checks made at @data */
    unsigned char nominal;   /* declared as {...} */
    unsigned char binary;    /* declared as exactly the values 0 and 1 */
    unsigned char label_1st; /* nominal: the first declared value is "1" (sparse default) */
    unsigned char other;     /* string or date: only ignoring it is allowed */
    char *type;              /* normalised declaration (arff_attr_info.type) */
    char **vals;             /* nominal: the declared values in order (n_vals) */
    size_t *by_name;         /* nominal: indices into vals sorted by strcmp, for the look-up */
    size_t n_vals;
    float *values; /* a nominal list of numbers: its values, sorted; else NULL */
    size_t n_values;
    float first_value; /* a nominal list of numbers: the first declared one */
    /* set at @data */
    unsigned char role; /* arff_role */
    unsigned char enc;  /* ARFF_ENC_* (features) */
    size_t col, width;  /* first column in x or y, column count */
} arff_attr;

typedef struct {
    const char *text;
    size_t len;
    size_t pos;       /* offset of the next line */
    size_t line_no;   /* number of the next line */
    const char *line; /* the current line */
    size_t cur_line;  /* its number */
    arff_error *err;
    const arff_layout *layout;
    size_t n_labels;
    arff_label_place place;
    int labels_first; /* set at @data */
    int has_meka;     /* the @relation name holds MEKA's "-C N" */
    long long meka_c; /* its N */
    char note[256];   /* why "-C" was not obeyed (arff_data.note) */
    arff_attr *attrs;
    size_t n_attr, cap_attr;
    size_t features;   /* x columns, set at @data */
    size_t cells_max;  /* set at @data */
    float *x_sparse;   /* a sparse row before its values: the defaults (features) */
    uint8_t *y_sparse; /* (n_labels) */
    float *x;
    uint8_t *y;
    size_t rows, cap_rows;
} arff_parser;

/* Text helpers (ASCII; bounded by the end pointer e). */
static inline int arff_is_ws_(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}
static inline int arff_is_digit_(char c) { return c >= '0' && c <= '9'; }
static inline const char *arff_skip_ws_(const char *s, const char *e) {
    while (s < e && arff_is_ws_(*s))
        s++;
    return s;
}
/* Whether s[0..n) equals the lower-case word, ignoring ASCII case. */
int arff_word_eq_(const char *s, size_t n, const char *word);
/* A strict decimal number (see arff.c); 0 when *out is set, else why not (1..5). */
int arff_decimal_(const char *v, size_t n, float *out);
int arff_cmp_float_(const void *a, const void *b);
/* Input text for a message: at most 32 bytes, other bytes than printable ASCII as '?'. */
typedef struct {
    char s[40];
} arff_snippet;
arff_snippet arff_snippet_(const char *s, size_t n);
/* The end of the quoted string opening at s (past its closing quote), or NULL. */
const char *arff_scan_quoted_(const char *s, const char *e);
/* An error at `at`, a pointer into the current line; returns -1. */
ARFF_PRINTF_(3, 4)
int arff_fail_at_(arff_parser *p, const char *at, const char *fmt, ...);

/* The value of a nominal attribute named v[0..n): its declared index, or -1. */
long arff_nominal_index_(const arff_attr *a, const char *v, size_t n);
/* Frees what an attribute holds and zeroes it. */
void arff_attr_free_(arff_attr *a);

/* The header lines (arff_header.c); each returns 0 or -1 with the error filled. */
int arff_parse_relation_(arff_parser *p, const char *r, const char *e);
int arff_parse_attribute_(arff_parser *p, const char *kw, const char *s, const char *e);
int arff_start_data_(arff_parser *p, const char *kw, const char *s, const char *e);
/* Reads a whole file into *buf (malloc'd, *len bytes, not NUL-terminated): at most max bytes,
 * counted as they arrive (a pipe or a device has no size to check first); a NUL byte fails at
 * once with its line and column, and so does a head that is not the format's: the first
 * character of the first significant line must be `lead` ('@' ARFF, after blank and '%' lines;
 * '<' XML; 0 no check). Returns 0, or -1 with *err filled and *buf NULL. */
int arff_read_file_(const char *path, size_t max, char lead, char **buf, size_t *len,
                    arff_error *err);

#endif /* APLCL_ARFF_INTERNAL_H */
