/* arff.h: a reader for multi-label ARFF files (dense and sparse; MULAN's layout, labels last, and
 * MEKA's, labels first), and a feature standardiser.
 *
 * For the `aplcl` tool's trainer and its tests; not part of the library. The reader takes hostile
 * input: it never reads outside the buffer, never prints or exits, bounds every allocation, and
 * reports each error with file, line and column. No globals: calls on different data may run on
 * different threads.
 */
#ifndef APLCL_CLI_ARFF_H
#define APLCL_CLI_ARFF_H

#include <stddef.h>
#include <stdint.h>

/* Limits. A file over any of them is refused with an error, never truncated. */
#define ARFF_MAX_ATTRIBUTES 1000000u /* features + labels */
#define ARFF_MAX_ROWS 100000000u
#define ARFF_MAX_LINE (16u << 20) /* bytes per line, line break excluded */
/* arff_load reads at most this many bytes of a file (counted as read, so a pipe or a device like
 * /dev/zero is refused too, not only a large regular file); a NUL byte stops it at once. */
#define ARFF_MAX_FILE_BYTES ((size_t)1 << 30)
/* The dense matrices hold at most max(ARFF_MIN_CELLS, ARFF_CELLS_PER_BYTE * input bytes) cells
 * (rows * (features + labels); 5 bytes each: a float and a label byte). A dense row spends at
 * least two input bytes per cell, so only a sparse file can reach this: it bounds the memory a
 * small sparse file can claim (with 1e6 attributes, "{}" is one 4 MB row in 3 bytes). */
#define ARFF_MIN_CELLS ((size_t)1 << 22)
#define ARFF_CELLS_PER_BYTE 16u

/* Where the label attributes are. */
typedef enum {
    ARFF_LABELS_AUTO = 0, /* MEKA's "-C N" in the @relation name if there is one, else last */
    ARFF_LABELS_LAST = 1, /* the last n_labels attributes (MULAN) */
    ARFF_LABELS_FIRST = 2 /* the first n_labels attributes (MEKA) */
} arff_label_place;

/* How to split the attributes into features and labels, and which to drop.
 *
 * label_names (n_labels of them, e.g. a MULAN label file's): the labels are the attributes of
 * those names, wherever they are (with place FIRST or LAST they must be the first or last
 * n_labels attributes); each must be declared. Else n_labels 0: the count from MEKA's "-C N" in
 * the @relation name when there is one, else no labels. MEKA's N > 0 means the first N
 * attributes, N < 0 the last -N. "-C" is an option word in the relation name: "name: -C 14" or
 * "name -C -6 -split 0".
 *
 * The caller's explicit choice wins over "-C": with place FIRST or LAST, or with label_names,
 * a "-C" that says otherwise is not obeyed but reported in arff_data.note (MULAN's medical
 * carries a stray "-C 45" from its MEKA origin while its labels are last). With place AUTO and
 * n_labels given, a "-C" whose count differs is refused (nothing says which to trust).
 *
 * ignore (n_ignore names): attributes read over and dropped (an identifier, a string); each must
 * be declared and must not be a label. */
typedef struct {
    size_t n_labels;
    arff_label_place place;
    const char *const *label_names; /* NULL, or n_labels names */
    const char *const *ignore;      /* NULL, or n_ignore names */
    size_t n_ignore;
} arff_layout;

/* What became of one declared attribute. */
typedef enum { ARFF_ROLE_FEATURE = 0, ARFF_ROLE_LABEL = 1, ARFF_ROLE_IGNORED = 2 } arff_role;
typedef struct {
    char *name; /* as declared, quotes and escapes removed */
    char *type; /* the declaration, normalised: "numeric" (numeric, real, integer), "{v1,v2,..}"
                   (nominal, values in declared order), "string", "date" */
    arff_role role;
    size_t column, width; /* its first column in x (feature) or y (label) and how many: 1, a
                             one-hot nominal's value count, 0 when ignored */
} arff_attr_info;

/* A loaded data set. The label attributes (see arff_layout) are the labels, the others not
 * ignored the features, each in file order. On success rows >= 1 and x, y, names, attrs are
 * non-NULL (even when features or labels is 0). Free with arff_free(). */
typedef struct {
    size_t rows, features, labels;
    int labels_first; /* 1: the first label attribute comes before the first feature attribute */
    float *x;         /* rows * features, row-major; finite; a missing value ('?') is 0 */
    uint8_t *y;       /* rows * labels, row-major; each 0 or 1 */
    char **names;     /* features + labels column names (x's columns, then y's), NUL-terminated;
                         a one-hot column is "attribute=value" */
    size_t n_attrs;   /* the declared attributes, in file order */
    arff_attr_info *attrs;
    char note[256]; /* "" or why the @relation name's "-C" was not obeyed */
} arff_data;

/* Where and why a call failed. line and column are 1-based (column counts bytes, a tab is one);
 * both are 0 for errors that belong to no position (a file that cannot be opened, a bad argument).
 * `file` is the path or name given (its tail when longer than 255 bytes). */
typedef struct {
    char file[256];
    size_t line, column;
    char message[256];
} arff_error;

/* Reads the ARFF file at `path` (at most ARFF_MAX_FILE_BYTES); the attributes are split as
 * `layout` says (arff_load: n_labels, ARFF_LABELS_AUTO). Returns 0 and fills *out, or -1 with *out
 * zeroed (arff_free() on it is harmless) and *err filled (err may be NULL).
 *
 * Accepted: '%' comment lines, blank lines, CRLF or LF, leading and trailing whitespace, a UTF-8
 * byte-order mark; keywords (@relation, @attribute, @data) and the types numeric, real, integer in
 * any case; attribute names bare (up to the next whitespace) or quoted with '...' or "..." (a
 * backslash escapes the next character); dense rows of comma-separated values and sparse rows
 * "{index value, ...}" (0-based strictly increasing indices); values may be quoted. An attribute
 * a sparse row leaves out has its first declared value when nominal (Weka's rule: {1,0} gives
 * 1, {YES,NO} YES), else 0. Numeric features are decimal numbers
 * ([+-]digits[.digits][e[+-]digits]) that fit a float, or '?' (missing: read as 0). Nominal
 * features (Weka's NominalToBinary): a list of numbers only ({0,1}, as MULAN's enron and medical
 * declare their word features) is read as the number; another two-valued list as 0 for the first
 * declared value and 1 for the second ({YES,NO} of genbase: YES 0, NO 1); a longer list one-hot,
 * one 0/1 column per declared value (a missing value: all 0). A value must be one of the declared
 * ones. Labels must be declared nominal {0,1} (either order) and hold 0 or 1. Attributes of other
 * types (string, date) may be declared when the layout ignores them.
 *
 * Refused, each with a message: a value outside a nominal feature's list, string and date
 * attributes not ignored, relational attributes, NaN, infinity, numbers out of float range or
 * longer than 63 bytes, a missing label, label values other than 0 and 1, too few or too many
 * values in a dense row, empty values, sparse indices out of range, repeated or decreasing, text
 * after a sparse row's '}', lines longer than ARFF_MAX_LINE, NUL bytes, more than
 * ARFF_MAX_ATTRIBUTES attributes or ARFF_MAX_ROWS rows, two attributes of the same name, a file
 * without @data or without any row after it, n_labels greater than the number of attributes, a
 * label or ignored name that is not declared, an ignored label, a "-C" that is not a non-zero
 * integer or (place AUTO) disagrees with n_labels.
 * Numbers are read with strtod(), so under a locale whose decimal point is not '.' they are
 * refused rather than misread. */
int arff_load(const char *path, size_t n_labels, arff_data *out, arff_error *err);
int arff_load_layout(const char *path, const arff_layout *layout, arff_data *out, arff_error *err);

/* The same from memory: text[0..len) (no NUL terminator needed; a NUL inside is an error). `name`
 * (may be NULL: "<memory>") is copied into err->file. */
int arff_parse(const char *text, size_t len, const char *name, size_t n_labels, arff_data *out,
               arff_error *err);
int arff_parse_layout(const char *text, size_t len, const char *name, const arff_layout *layout,
                      arff_data *out, arff_error *err);

/* Frees what arff_load/arff_parse allocated and zeroes *d. Accepts NULL and a zeroed struct. */
void arff_free(arff_data *d);

/* Whether a and b declare the same attributes (names, normalised types, roles) in the same
 * order, so that their columns mean the same. 0: yes; -1: no, and msg (cap bytes) says which
 * attribute differs and how, naming a and b by a_name and b_name. */
int arff_same_attributes(const arff_data *a, const arff_data *b, const char *a_name,
                         const char *b_name, char *msg, size_t cap);

/* The names of the <label name="..."> elements of a MULAN label file, in document order (nested
 * labels of a hierarchy count too; the five predefined XML entities and numeric character
 * references are decoded). Returns 0 with *names (n strings, free with arff_free_names) and
 * *n >= 1, or -1 with *err filled as arff_label_count_from_xml says. */
int arff_label_names_from_xml(const char *xml_path, char ***names, size_t *n, arff_error *err);
void arff_free_names(char **names, size_t n);

/* Counts the <label name="..."> elements of a MULAN label file (nested labels of a hierarchy
 * count too). Returns 0 and sets *n_labels (>= 1), or -1 with *err filled: a file that cannot be
 * read or is larger than 64 MiB, a <label> without a name attribute, an unterminated tag, comment
 * or quoted value, a NUL byte, or no label at all. Comments, CDATA, <?...?> and <!...> are
 * skipped. Does not validate the XML beyond that. */
int arff_label_count_from_xml(const char *xml_path, size_t *n_labels, arff_error *err);

/* Column means and population standard deviations (divided by rows) of x (rows * features,
 * row-major), summed in double. A standard deviation that is 0 or not finite is returned as 1, so
 * a constant feature becomes 0 after arff_standardize(). rows == 0: mean 0, std 1. */
void arff_fit_standardizer(const float *x, size_t rows, size_t features, float *mean, float *std);

/* x[r][f] = (x[r][f] - mean[f]) / std[f] in place; a std of 0 (or not finite) is treated as 1.
 * Fit on the training set, then apply the same mean and std to the test set. */
void arff_standardize(float *x, size_t rows, size_t features, const float *mean, const float *std);

#endif /* APLCL_CLI_ARFF_H */
