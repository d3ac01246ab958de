/* test_arff.c: the MULAN ARFF reader, the label-file counter and the standardiser (train/arff.c).
 *
 * Loads the yeast split shipped in data/yeast and checks known values; parses small dense and
 * sparse texts, MULAN's nominal {0,1} features and MEKA's labels-first layout (tests/data), an
 * explicit layout over a stray MEKA "-C", nominal features as 0/1 and one-hot, ignored
 * attributes, labels by name, Weka's sparse defaults, the train/test attribute comparison, the
 * label file's names; checks that /dev/zero and a non-ARFF stream are refused at once; checks that
 * each malformed input fails with the right line, column and message; replays every fuzz corpus and
 * regression input (tests/fuzz/). Host only; run under ASan/UBSan in CI, which also makes every
 * error path a leak check.
 */
#define _POSIX_C_SOURCE 200809L /* opendir/readdir for the fuzz folders */

#include "arff.h"
#include "arff_internal.h"
#include "test_util.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#ifndef APLCL_SOURCE_DIR
#error "APLCL_SOURCE_DIR must be defined (tests/CMakeLists.txt does)"
#endif
#ifndef APLCL_TEST_TMP_DIR
#error "APLCL_TEST_TMP_DIR must be defined (tests/CMakeLists.txt does)"
#endif

static int parse_str(const char *text, size_t n_labels, arff_data *d, arff_error *err) {
    return arff_parse(text, strlen(text), "mem.arff", n_labels, d, err);
}

static int is_zeroed(const arff_data *d) {
    return d->rows == 0 && d->features == 0 && d->labels == 0 && !d->x && !d->y && !d->names;
}

/* Checks that a parse or load succeeded (rc 0), printing its error when not; returns rc == 0. */
static int parsed(int rc, const arff_error *err) {
    if (rc != 0)
        printf("  %s:%zu:%zu: %s\n", err->file, err->line, err->column, err->message);
    CHECK_EQ(rc, 0);
    return rc == 0;
}

/* Checks d's matrices against want_x (nx values, rows x features) and want_y (ny, rows x
 * labels). */
static void check_matrices(const arff_data *d, const float *want_x, size_t nx,
                           const uint8_t *want_y, size_t ny) {
    for (size_t i = 0; i < nx; i++)
        CHECK_EQ_DBL(d->x[i], want_x[i]);
    for (size_t i = 0; i < ny; i++)
        CHECK_EQ(d->y[i], want_y[i]);
}
#define CHECK_MATRICES(d, x, y)                                                                    \
    check_matrices(d, x, sizeof(x) / sizeof((x)[0]), y, sizeof(y) / sizeof((y)[0]))

/* ---- the yeast split ---- */

static const int yeast_train_sums[14] = {476, 645, 598, 532, 441,  378,  261,
                                         289, 98,  161, 198, 1128, 1116, 21};
static const int yeast_test_sums[14] = {286, 393, 385, 330, 281, 219, 167,
                                        191, 80,  92,  91,  688, 683, 13};

static void check_yeast(const char *file, size_t rows, const int *sums, size_t first_row,
                        float first_x0, float first_x102, size_t sample_row, float sample_x0,
                        float sample_x102) {
    int m = tu_case_begin();
    char path[1024];
    snprintf(path, sizeof path, "%s/data/yeast/%s", APLCL_SOURCE_DIR, file);
    arff_data d;
    arff_error err;
    if (parsed(arff_load(path, 14, &d, &err), &err)) {
        CHECK_EQ(d.rows, rows);
        CHECK_EQ(d.features, 103);
        CHECK_EQ(d.labels, 14);
        CHECK_EQ_DBL(d.x[first_row * 103 + 0], first_x0);
        CHECK_EQ_DBL(d.x[first_row * 103 + 102], first_x102);
        CHECK_EQ_DBL(d.x[sample_row * 103 + 0], sample_x0);
        CHECK_EQ_DBL(d.x[sample_row * 103 + 102], sample_x102);
        for (size_t c = 0; c < 14; c++) {
            long sum = 0;
            for (size_t r = 0; r < d.rows; r++)
                sum += d.y[r * 14 + c];
            CHECK_EQ(sum, sums[c]);
        }
        CHECK(strcmp(d.names[0], "Att1") == 0);
        CHECK(strcmp(d.names[102], "Att103") == 0);
        CHECK(strcmp(d.names[103], "Class1") == 0);
        CHECK(strcmp(d.names[116], "Class14") == 0);
        for (size_t i = 0; i < d.rows * d.features; i++)
            if (!isfinite(d.x[i])) {
                CHECK(isfinite(d.x[i]));
                break;
            }
    }
    arff_free(&d);
    CHECK(is_zeroed(&d));
    tu_case_end(m, "yeast %s: %zu x 103 + 14 labels, known values and label sums", file, rows);
}

static void test_yeast(void) {
    /* Att1 and Att103 of the first and last rows, read off the files with awk. */
    check_yeast("yeast-train.arff", 1500, yeast_train_sums, 0, 0.0937f, 0.125632f, 1499, -0.171578f,
                0.01881f);
    check_yeast("yeast-test.arff", 917, yeast_test_sums, 0, 0.004168f, 0.124722f, 916, -0.001043f,
                -0.146233f);

    int m = tu_case_begin();
    char path[1024];
    snprintf(path, sizeof path, "%s/data/yeast/yeast.xml", APLCL_SOURCE_DIR);
    size_t n = 0;
    arff_error err;
    CHECK_EQ(arff_label_count_from_xml(path, &n, &err), 0);
    CHECK_EQ(n, 14);
    tu_case_end(m, "yeast.xml: 14 labels");

    /* Train statistics standardise the test set: train columns get mean 0, std 1. */
    m = tu_case_begin();
    arff_data tr, te;
    snprintf(path, sizeof path, "%s/data/yeast/yeast-train.arff", APLCL_SOURCE_DIR);
    int rc1 = arff_load(path, 14, &tr, &err);
    snprintf(path, sizeof path, "%s/data/yeast/yeast-test.arff", APLCL_SOURCE_DIR);
    int rc2 = arff_load(path, 14, &te, &err);
    CHECK(rc1 == 0 && rc2 == 0);
    if (rc1 == 0 && rc2 == 0) {
        float mean[103], sd[103], mean2[103], sd2[103];
        arff_fit_standardizer(tr.x, tr.rows, 103, mean, sd);
        float te00 = te.x[0];
        arff_standardize(tr.x, tr.rows, 103, mean, sd);
        arff_standardize(te.x, te.rows, 103, mean, sd);
        arff_fit_standardizer(tr.x, tr.rows, 103, mean2, sd2);
        for (int f = 0; f < 103; f++) {
            CHECK_NEAR(mean2[f], 0.0, 0, 1e-5);
            CHECK_NEAR(sd2[f], 1.0, 1e-5, 0);
        }
        CHECK_NEAR(te.x[0], ((double)te00 - mean[0]) / sd[0], 1e-6, 1e-7);
    }
    arff_free(&tr);
    arff_free(&te);
    tu_case_end(m, "yeast: standardised with train statistics");
}

/* ---- valid inputs ---- */

static void test_dense(void) {
    int m = tu_case_begin();
    const char *text = "\xEF\xBB\xBF% comment first\r\n"
                       "@RELATION 'my data set'\r\n"
                       "   \t\r\n"
                       "@Attribute 'feature one' NUMERIC\r\n"
                       "@attribute \"f \\\"2\\\"\"   real   \r\n"
                       "  @ATTRIBUTE f3 Integer\r\n"
                       "@attribute lab1 {0,1}\r\n"
                       "@attribute 'lab 2' { '1' , '0' }\r\n"
                       "%% another comment\r\n"
                       "@DATA\r\n"
                       "1.5,-2,3e2,1,0\r\n"
                       "\r\n"
                       " ? , .5 ,-.25E+1 , '0' , 1 \t\r\n"
                       "% comment between rows\n"
                       "+7,'8',0,1,1"; /* no final line break */
    arff_data d;
    arff_error err;
    int rc = parse_str(text, 2, &d, &err);
    if (parsed(rc, &err)) {
        CHECK_EQ(d.rows, 3);
        CHECK_EQ(d.features, 3);
        CHECK_EQ(d.labels, 2);
        const float want_x[9] = {1.5f, -2.0f, 300.0f, 0.0f, 0.5f, -2.5f, 7.0f, 8.0f, 0.0f};
        const uint8_t want_y[6] = {1, 0, 0, 1, 1, 1};
        CHECK_MATRICES(&d, want_x, want_y);
        CHECK(strcmp(d.names[0], "feature one") == 0);
        CHECK(strcmp(d.names[1], "f \"2\"") == 0);
        CHECK(strcmp(d.names[2], "f3") == 0);
        CHECK(strcmp(d.names[4], "lab 2") == 0);
    }
    arff_free(&d);
    tu_case_end(m, "dense: BOM, comments, CRLF, quotes, case, blanks, '?' feature, no final EOL");

    /* Float rounding: the nearest float (strtof), not a double rounded twice. */
    m = tu_case_begin();
    rc = parse_str("@relation r\n@attribute a numeric\n@data\n0.1\n1e-50\n3.4028234e38\n-0\n", 0,
                   &d, &err);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK_EQ(d.rows, 4);
        CHECK_EQ(d.labels, 0);
        CHECK_EQ_DBL(d.x[0], 0.1f);
        CHECK_EQ_DBL(d.x[1], 0.0f); /* underflow is not an error */
        CHECK_EQ_DBL(d.x[2], 3.4028234e38f);
        CHECK_EQ_DBL(d.x[3], 0.0f);
    }
    arff_free(&d);
    tu_case_end(m, "dense: no labels, float rounding and limits");
}

static void test_sparse(void) {
    int m = tu_case_begin();
    const char *text = "@relation s\n"
                       "@attribute a numeric\n"
                       "@attribute b numeric\n"
                       "@attribute c numeric\n"
                       "@attribute y1 {0,1}\n"
                       "@attribute y2 {0,1}\n"
                       "@data\n"
                       "{0 1.5, 2 -3, 3 1}\n"
                       "{}\n"
                       "  { }  \n"
                       "{1\t2,4 '1'}\n"
                       "4,5,6,1,1\n" /* dense and sparse rows mix */
                       "{0 ?,4 0}\n";
    arff_data d;
    arff_error err;
    int rc = parse_str(text, 2, &d, &err);
    if (parsed(rc, &err)) {
        CHECK_EQ(d.rows, 6);
        const float want_x[18] = {1.5f, 0, -3, 0, 0, 0, 0, 0, 0, 0, 2, 0, 4, 5, 6, 0, 0, 0};
        const uint8_t want_y[12] = {1, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0};
        CHECK_MATRICES(&d, want_x, want_y);
    }
    arff_free(&d);
    tu_case_end(m, "sparse rows: unlisted values 0, empty rows, tabs, quotes, mixed with dense");

    /* All attributes labels: features 0, x still non-NULL. */
    m = tu_case_begin();
    rc = parse_str("@relation s\n@attribute y {0,1}\n@data\n{0 1}\n0\n", 1, &d, &err);
    CHECK_EQ(rc, 0);
    if (rc == 0) {
        CHECK_EQ(d.features, 0);
        CHECK(d.x != NULL);
        CHECK_EQ(d.y[0], 1);
        CHECK_EQ(d.y[1], 0);
    }
    arff_free(&d);
    tu_case_end(m, "labels only: no features");
}

/* ---- malformed inputs: each fails at a known line and column ---- */

typedef struct {
    const char *what;
    const char *text;
    size_t n_labels;
    size_t line, column;
    const char *message; /* a substring of the expected message */
} bad_case;

#define HDR2 "@relation r\n@attribute a numeric\n@attribute b numeric\n@attribute y {0,1}\n@data\n"
/* Rows after HDR2 start on line 6. */

static const bad_case bad_cases[] = {
    {"empty input", "", 1, 1, 1, "missing @data"},
    {"header only", "@relation r\n@attribute a numeric\n", 0, 3, 1, "missing @data"},
    {"no rows", HDR2 "% nothing\n", 1, 7, 1, "no data rows"},
    {"no rows, no final EOL", HDR2 "%c", 1, 6, 3, "no data rows"},
    {"junk in header", "@relation r\nhello\n", 1, 2, 1, "expected @relation, @attribute or @data"},
    {"unknown keyword", "@relation r\n  @attrib a numeric\n", 1, 2, 3, "expected @relation"},
    {"second relation", "@relation r\n@relation s\n", 1, 2, 1, "second @relation"},
    {"relation after attribute", "@attribute a numeric\n@relation r\n", 1, 2, 1,
     "@relation after @attribute"},
    {"relation without name", "@relation   \n", 1, 1, 10, "missing relation name"},
    {"attribute without name", "@attribute\n", 1, 1, 11, "missing attribute name"},
    {"attribute without type", "@relation r\n@attribute abc\n", 1, 2, 15, "missing attribute type"},
    {"unterminated quoted name", "@attribute 'abc numeric\n", 1, 1, 12, "unterminated quoted"},
    {"empty quoted name", "@attribute '' numeric\n", 1, 1, 12, "empty attribute name"},
    {"string feature", "@attribute a string\n@attribute y {0,1}\n@data\nx,1\n", 1, 1, 14,
     "attribute 'a' has type string, which a feature cannot have"},
    {"date feature", "@attribute a date 'yyyy-MM-dd'\n@attribute y {0,1}\n@data\nx,1\n", 1, 1, 14,
     "attribute 'a' has type date"},
    {"relational type", "@attribute a relational\n", 1, 1, 14, "'relational' is not supported"},
    {"attribute declared twice",
     "@attribute a numeric\n@attribute a {0,1}\n@attribute y {0,1}\n@data\n1,1,1\n", 1, 2, 14,
     "attribute 'a' declared twice"},
    {"nominal value declared twice", "@attribute a {x,y,x}\n", 1, 1, 14,
     "nominal value 'x' declared twice"},
    {"unknown type", "@attribute a numerical\n", 1, 1, 14, "unknown attribute type 'numerical'"},
    {"text after type", "@attribute a numeric x\n", 1, 1, 22, "unexpected text after"},
    {"unterminated nominal", "@attribute y {0,1\n", 1, 1, 14, "missing '}'"},
    {"empty nominal", "@attribute y { }\n", 1, 1, 16, "empty nominal value list"},
    {"empty nominal value", "@attribute y {0,,1}\n", 1, 1, 17, "empty nominal value"},
    {"nominal trailing comma", "@attribute y {0,1,}\n", 1, 1, 19, "empty nominal value"},
    {"nominal bad separator", "@attribute y {0 1}\n", 1, 1, 17, "expected ',' or '}'"},
    {"data before attributes", "@relation r\n@data\n1\n", 1, 2, 1, "@data before any @attribute"},
    {"text after @data", "@attribute y {0,1}\n@data x\n", 1, 2, 7, "unexpected text after @data"},
    {"more labels than attributes", "@attribute y {0,1}\n@data\n", 2, 2, 1,
     "2 label(s) expected but the file declares only 1 attribute"},
    {"value outside a word nominal list", "@attribute a {x,y}\n@attribute y {0,1}\n@data\nz,1\n", 1,
     4, 1, "value 'z' is not in the nominal list of 'a'"},
    {"value outside a one-hot list", "@attribute a {x,y,z}\n@attribute y {0,1}\n@data\n{0 X,1 1}\n",
     1, 4, 4, "value 'X' is not in the nominal list of 'a'"},
    {"value outside a nominal list", "@attribute a {0,1}\n@attribute y {0,1}\n@data\n2,1\n", 1, 4,
     1, "value '2' is not in the nominal list of 'a'"},
    {"sparse value outside a nominal list",
     "@attribute a {0,1}\n@attribute y {0,1}\n@data\n{0 0.5}\n", 1, 4, 4,
     "value '0.5' is not in the nominal list"},
    {"MEKA -C without a number", "@relation 'r: -C x'\n", 0, 1, 18,
     "MEKA option -C wants an integer, not 'x'"},
    {"MEKA -C 0", "@relation 'r: -C 0'\n", 0, 1, 18, "the label count must be 1 to"},
    {"MEKA -C too large", "@relation r:-C 99999999999\n", 0, 1, 16, "the label count must be"},
    {"MEKA -C more than the attributes",
     "@relation 'r: -C 3'\n@attribute y {0,1}\n@attribute a numeric\n@data\n1,2\n", 0, 4, 1,
     "3 label(s) expected but the file declares only 2"},
    {"MEKA -C disagrees with n_labels",
     "@relation 'r: -C 1'\n@attribute y {0,1}\n@attribute a numeric\n@data\n1,2\n", 2, 4, 1,
     "2 label(s) expected but the @relation name says -C 1"},
    {"MEKA labels first: a numeric label",
     "@relation 'r: -C 1'\n@attribute a numeric\n@attribute y {0,1}\n@data\n1,1\n", 0, 2, 14,
     "label attribute 'a' must be declared {0,1}"},
    {"numeric label", "@attribute a numeric\n@attribute y numeric\n@data\n1,1\n", 1, 2, 14,
     "label attribute 'y' must be declared {0,1}"},
    {"three-valued label", "@attribute a numeric\n@attribute y {0,1,2}\n@data\n1,1\n", 1, 2, 14,
     "must be declared {0,1}"},
    {"label {0,0}", "@attribute a numeric\n@attribute y {0,0}\n@data\n1,1\n", 1, 2, 14,
     "nominal value '0' declared twice"},
    {"label {0,2}", "@attribute a numeric\n@attribute y {0,2}\n@data\n1,1\n", 1, 2, 14,
     "must be declared {0,1}"},
    {"too few values", HDR2 "1,2\n", 1, 6, 4, "row has 2 values, expected 3"},
    {"too many values", HDR2 "1,2,1,5\n", 1, 6, 6, "row has more than 3 values"},
    {"empty value", HDR2 "1,,1\n", 1, 6, 3, "empty value"},
    {"trailing comma", HDR2 "1,2,1,\n", 1, 6, 6, "row has more than 3 values"},
    {"missing label", HDR2 "1,2,?\n", 1, 6, 5, "missing label value"},
    {"label 2", HDR2 "1,2,2\n", 1, 6, 5, "label value must be 0 or 1, not '2'"},
    {"label 1.0", HDR2 "1,2,1.0\n", 1, 6, 5, "label value must be 0 or 1"},
    {"NaN", HDR2 "1,NaN,1\n", 1, 6, 3, "NaN and infinity are not allowed"},
    {"-inf", HDR2 "-Infinity,1,1\n", 1, 6, 1, "NaN and infinity are not allowed"},
    {"float overflow", HDR2 "1,3.5e38,1\n", 1, 6, 3, "out of float range"},
    {"double overflow", HDR2 "1e999,0,1\n", 1, 6, 1, "out of float range"},
    {"hex float", HDR2 "0x10,0,1\n", 1, 6, 1, "not a number: '0x10'"},
    {"two numbers in a value", HDR2 "1 2,0,1\n", 1, 6, 1, "not a number: '1 2'"},
    {"bare sign", HDR2 "-,0,1\n", 1, 6, 1, "not a number"},
    {"bare dot", HDR2 "1,.,1\n", 1, 6, 3, "not a number"},
    {"exponent without digits", HDR2 "1e,0,1\n", 1, 6, 1, "not a number"},
    {"number too long",
     HDR2 "1.000000000000000000000000000000000000000000000000000000000000000,0,1\n", 1, 6, 1,
     "number too long"},
    {"text after a quoted value", HDR2 "1,2,'1' x\n", 1, 6, 9,
     "unexpected text after the last value"},
    {"text after a value", HDR2 "1,2,1 x\n", 1, 6, 5, "label value must be 0 or 1, not '1 x'"},
    {"unterminated quoted value", HDR2 "1,'2,1\n", 1, 6, 3, "unterminated quoted value"},
    {"keyword in data", HDR2 "@data\n", 1, 6, 1, "keyword '@data' in the data section"},
    {"sparse index out of range", HDR2 "{0 1,3 1}\n", 1, 6, 6, "sparse index 3 out of range"},
    {"sparse huge index", HDR2 "{99999999999999999999999 1}\n", 1, 6, 2, "out of range"},
    {"sparse repeated index", HDR2 "{1 1,1 2}\n", 1, 6, 6, "sparse index 1 repeated"},
    {"sparse decreasing index", HDR2 "{1 1,0 2}\n", 1, 6, 6, "sparse index 0 after 1"},
    {"sparse negative index", HDR2 "{-1 1}\n", 1, 6, 2, "expected a sparse index"},
    {"sparse missing value", HDR2 "{0 1,1}\n", 1, 6, 7, "expected whitespace and a value"},
    {"sparse missing value 2", HDR2 "{0 ,1 1}\n", 1, 6, 4, "missing value for sparse index 0"},
    {"sparse missing brace", HDR2 "{0 1, 1 2\n", 1, 6, 10, "missing '}'"},
    {"sparse trailing comma", HDR2 "{0 1,}\n", 1, 6, 6, "expected a sparse index"},
    {"sparse text after brace", HDR2 "{0 1} x\n", 1, 6, 7, "unexpected text after"},
    {"sparse weight", HDR2 "{0 1}, {2}\n", 1, 6, 6, "unexpected text after"},
    {"sparse bad separator", HDR2 "{0 1; 1 2}\n", 1, 6, 4, "not a number: '1;'"},
    {"sparse missing label", HDR2 "{2 ?}\n", 1, 6, 4, "missing label value"},
    {"sparse bad label", HDR2 "{2 5}\n", 1, 6, 4, "label value must be 0 or 1"},
    {"sparse NaN feature", HDR2 "{0 nan}\n", 1, 6, 4, "NaN and infinity"},
    {"error on a later row", HDR2 "1,2,1\n\n% c\n3,4,0\n5,x,1\n", 1, 10, 3, "not a number: 'x'"},
    {"CRLF keeps columns", HDR2 "1,2,1\r\n1,2,7\r\n", 1, 7, 5, "label value must be 0 or 1"},
};

static void test_malformed(void) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        int m = tu_case_begin();
        arff_data d;
        arff_error err;
        memset(&d, 0xAB, sizeof d); /* garbage in: must come back zeroed */
        int rc = parse_str(c->text, c->n_labels, &d, &err);
        CHECK_EQ(rc, -1);
        CHECK(is_zeroed(&d));
        CHECK_EQ(err.line, c->line);
        CHECK_EQ(err.column, c->column);
        CHECK(strcmp(err.file, "mem.arff") == 0);
        if (!strstr(err.message, c->message))
            TU_FAIL_AT_(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err.message, c->message);
        tu_case_end(m, "malformed: %-28s -> %zu:%zu: %s", c->what, err.line, err.column,
                    err.message);
        arff_free(&d); /* harmless on the zeroed struct */
    }
}

/* Inputs that need building: NUL bytes, huge lines, attribute and size limits. */
static void test_limits(void) {
    arff_data d;
    arff_error err;

    /* one-hot columns count against ARFF_MAX_ATTRIBUTES: two nominal features of 600000 values
     * each (1.2 million columns) are refused at the second, not allocated */
    int mo = tu_case_begin();
    size_t hcap = 16u << 20, hlen = 0;
    char *htext = malloc(hcap);
    CHECK(htext != NULL);
    if (htext) {
        for (int a = 0; a < 2; a++) {
            hlen += (size_t)snprintf(htext + hlen, hcap - hlen, "@attribute %c {", "ab"[a]);
            for (int v = 0; v < 600000; v++)
                hlen += (size_t)snprintf(htext + hlen, hcap - hlen, v ? ",v%d" : "v%d", v);
            hlen += (size_t)snprintf(htext + hlen, hcap - hlen, "}\n");
        }
        hlen += (size_t)snprintf(htext + hlen, hcap - hlen, "@attribute y {0,1}\n@data\nv1,v2,1\n");
        CHECK_EQ(arff_parse(htext, hlen, NULL, 1, &d, &err), -1);
        CHECK(is_zeroed(&d));
        CHECK(strstr(err.message, "more than 1000000 columns (one-hot 'b')") != NULL);
        CHECK_EQ(err.line, 2);
        free(htext);
    }
    tu_case_end(mo, "one-hot columns over the limit: %zu:%zu: %s", err.line, err.column,
                err.message);

    int m = tu_case_begin();
    const char nul_text[] = HDR2 "1,2\0,1\n";
    CHECK_EQ(arff_parse(nul_text, sizeof nul_text - 1, NULL, 1, &d, &err), -1);
    CHECK_EQ(err.line, 6);
    CHECK_EQ(err.column, 4);
    CHECK(strstr(err.message, "NUL") != NULL);
    CHECK(strcmp(err.file, "<memory>") == 0);
    tu_case_end(m, "NUL byte: %zu:%zu: %s", err.line, err.column, err.message);

    /* A line of ARFF_MAX_LINE bytes is fine, one byte more is not. */
    m = tu_case_begin();
    const char *head = "@relation r\n@attribute a numeric\n@data\n";
    size_t hn = strlen(head), big = (size_t)ARFF_MAX_LINE + 1;
    char *buf = tu_xmalloc(hn + big + 1);
    memcpy(buf, head, hn);
    memset(buf + hn, ' ', big);
    buf[hn] = '1';
    buf[hn + big] = '\n';
    CHECK_EQ(arff_parse(buf, hn + big + 1, "big", 0, &d, &err), -1);
    CHECK_EQ(err.line, 4);
    CHECK_EQ(err.column, (size_t)ARFF_MAX_LINE + 1);
    CHECK(strstr(err.message, "line longer than") != NULL);
    buf[hn + big - 1] = '\n'; /* now exactly ARFF_MAX_LINE bytes before the break */
    CHECK_EQ(arff_parse(buf, hn + big, "big", 0, &d, &err), 0);
    CHECK_EQ(d.rows, 1);
    arff_free(&d);
    free(buf);
    tu_case_end(m, "line length limit (%u bytes)", (unsigned)ARFF_MAX_LINE);

    /* ARFF_MAX_ATTRIBUTES + 1 attributes: the error names the extra one's line. */
    m = tu_case_begin();
    const char *attr = "@attribute a numeric\n";
    size_t an = strlen(attr), na = (size_t)ARFF_MAX_ATTRIBUTES + 1;
    buf = tu_xmalloc(an * na);
    for (size_t i = 0; i < na; i++)
        memcpy(buf + i * an, attr, an);
    CHECK_EQ(arff_parse(buf, an * na, "attrs", 0, &d, &err), -1);
    CHECK_EQ(err.line, na);
    CHECK_EQ(err.column, 1);
    CHECK(strstr(err.message, "too many attributes") != NULL);
    free(buf);
    tu_case_end(m, "attribute limit (%u)", (unsigned)ARFF_MAX_ATTRIBUTES);

    /* Sparse rows are stored dense: 1000 attributes and 5000 "{}" rows (5e6 cells) from a ~40 KB
     * text exceed max(ARFF_MIN_CELLS, 16 per input byte) = 4194304 cells at row 4195. */
    m = tu_case_begin();
    size_t nattr = 1000, nrows = 5000, cap = 64 + nattr * 32 + nrows * 3;
    buf = tu_xmalloc(cap);
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "@relation r\n");
    for (size_t i = 0; i < nattr; i++)
        n += (size_t)snprintf(buf + n, cap - n, "@attribute a%zu numeric\n", i);
    n += (size_t)snprintf(buf + n, cap - n, "@data\n");
    for (size_t i = 0; i < nrows; i++)
        n += (size_t)snprintf(buf + n, cap - n, "{}\n");
    CHECK(n * ARFF_CELLS_PER_BYTE < ARFF_MIN_CELLS);
    CHECK_EQ(arff_parse(buf, n, "cells", 0, &d, &err), -1);
    CHECK_EQ(err.line, 1 + nattr + 1 + ARFF_MIN_CELLS / nattr + 1);
    CHECK(strstr(err.message, "data too large") != NULL);
    free(buf);
    tu_case_end(m, "dense cell budget: %zu:%zu: %s", err.line, err.column, err.message);

    /* Arguments and files. */
    m = tu_case_begin();
    CHECK_EQ(arff_parse(NULL, 5, "x", 0, &d, &err), -1);
    CHECK_EQ(err.line, 0);
    CHECK_EQ(arff_parse("@data", 5, "x", 0, NULL, &err), -1);
    CHECK_EQ(arff_parse(HDR2 "1,2,1\n", strlen(HDR2 "1,2,1\n"), "x", 1, &d, NULL), 0);
    arff_free(&d);
    CHECK_EQ(arff_parse("@data", 5, "x", (size_t)ARFF_MAX_ATTRIBUTES + 1, &d, &err), -1);
    arff_free(NULL);
    CHECK_EQ(arff_load(APLCL_SOURCE_DIR "/data/yeast/no-such-file.arff", 14, &d, &err), -1);
    CHECK(is_zeroed(&d));
    CHECK_EQ(err.line, 0);
    CHECK(strstr(err.message, "cannot open") != NULL);
    CHECK(strstr(err.file, "no-such-file.arff") != NULL);
    CHECK_EQ(arff_load(APLCL_SOURCE_DIR "/data", 14, &d, &err), -1); /* a directory */
    CHECK(err.message[0] != '\0');
    /* A name longer than err.file keeps its tail. */
    char longname[600];
    memset(longname, 'd', sizeof longname);
    memcpy(longname + sizeof longname - 10, "/tail.arff", 10);
    longname[sizeof longname - 1] = '\0';
    CHECK_EQ(arff_parse("", 0, longname, 0, &d, &err), -1);
    CHECK_EQ(strlen(err.file), sizeof err.file - 1);
    CHECK(strncmp(err.file, "...", 3) == 0);
    CHECK(strstr(err.file, "/tail.arf") != NULL);
    tu_case_end(m, "arguments, missing file, directory, long names");
}

/* ---- MULAN label files ---- */

static int write_tmp(const char *name, const char *text, char *path, size_t cap) {
    snprintf(path, cap, "%s/%s", APLCL_TEST_TMP_DIR, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(text, 1, strlen(text), f);
    return fclose(f);
}

static void test_xml(void) {
    static const struct {
        const char *text;
        int rc;
        size_t count, line, column;
        const char *message;
    } cases[] = {
        {"<?xml version=\"1.0\"?>\n<labels xmlns=\"http://mulan.sourceforge.net/labels\">\n"
         "<!-- <label name=\"not this\"/> -->\n"
         "<label name=\"a\"></label>\n<label\n  name = 'b' />\n"
         "<label name=\"c\"><label name=\"c.1\"></label></label>\n"
         "<labelled name=\"x\"/>\n<![CDATA[<label name=\"no\">]]></labels>\n",
         0, 4, 0, 0, ""},
        {"<labels></labels>\n", -1, 0, 0, 0, "no <label"},
        {"<labels>\n  <label id=\"a\"/>\n</labels>\n", -1, 0, 2, 3, "without a name"},
        {"<labels>\n<!-- open\n", -1, 0, 2, 1, "unterminated comment"},
        {"<labels>\n<label name=\"a></labels>\n", -1, 0, 2, 13, "unterminated quoted"},
        {"<labels>\n<label name=\"a\"\n", -1, 0, 2, 1, "unterminated tag"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int m = tu_case_begin();
        char path[1024], name[32];
        snprintf(name, sizeof name, "labels_%zu.xml", i);
        CHECK_EQ(write_tmp(name, cases[i].text, path, sizeof path), 0);
        size_t n = 99;
        arff_error err;
        int rc = arff_label_count_from_xml(path, &n, &err);
        CHECK_EQ(rc, cases[i].rc);
        if (rc == 0) {
            CHECK_EQ(n, cases[i].count);
        } else {
            CHECK_EQ(err.line, cases[i].line);
            CHECK_EQ(err.column, cases[i].column);
            CHECK(strstr(err.message, cases[i].message) != NULL);
        }
        tu_case_end(m, "xml case %zu: rc %d, %zu labels; %zu:%zu: %s", i, rc, n, err.line,
                    err.column, err.message);
        remove(path);
    }
    int m = tu_case_begin();
    char path[1024];
    char **names = NULL;
    size_t n = 0;
    arff_error err;
    CHECK_EQ(write_tmp("labels_names.xml", cases[0].text, path, sizeof path), 0);
    CHECK_EQ(arff_label_names_from_xml(path, &names, &n, &err), 0);
    static const char *const want[4] = {"a", "b", "c", "c.1"};
    CHECK_EQ(n, 4);
    for (size_t i = 0; i < n && i < 4; i++)
        CHECK(strcmp(names[i], want[i]) == 0);
    arff_free_names(names, n);
    remove(path);
    CHECK_EQ(write_tmp("labels_ent.xml",
                       "<labels><label name=\"a&amp;b &lt;c&gt; &quot;q&quot; &apos;s&#39; "
                       "&#x41;&#0; &bogus;\"/></labels>",
                       path, sizeof path),
             0);
    CHECK_EQ(arff_label_names_from_xml(path, &names, &n, &err), 0);
    CHECK_EQ(n, 1);
    if (n == 1)
        CHECK(strcmp(names[0], "a&b <c> \"q\" 's' A&#0; &bogus;") == 0);
    printf("  decoded: %s\n", n == 1 ? names[0] : "?");
    arff_free_names(names, n);
    remove(path);
    tu_case_end(m, "xml: the label names in document order, entities decoded");

    m = tu_case_begin();
    CHECK_EQ(arff_label_count_from_xml(APLCL_TEST_TMP_DIR "/no-such.xml", &n, &err), -1);
    CHECK(strstr(err.message, "cannot open") != NULL);
    tu_case_end(m, "xml: missing file");
}

/* ---- nominal features, ignored attributes, labels by name, sparse defaults (issue 17) ---- */

static int parse_layout_str(const char *text, const arff_layout *l, arff_data *d, arff_error *err) {
    return arff_parse_layout(text, strlen(text), "mem.arff", l, d, err);
}

/* genbase's form: a protein ID, YES/NO features; plus a three-valued one, a string. */
static const char genbase_like[] = "@relation protein\n"
                                   "@attribute id {P1,P2,P3}\n"
                                   "@attribute s1 {YES,NO}\n"
                                   "@attribute s2 {YES,NO}\n"
                                   "@attribute code {a,b,c}\n"
                                   "@attribute note string\n"
                                   "@attribute L1 {0,1}\n"
                                   "@attribute L2 {0,1}\n"
                                   "@data\n"
                                   "P1,YES,NO,b,'hello, world',1,0\n"
                                   "P3,NO,NO,?,x,0,1\n"
                                   "{0 P2,2 YES,3 c,4 y,5 1}\n";

static void test_nominal_features(void) {
    arff_data d;
    arff_error err;
    int m = tu_case_begin();
    const char *ignore[2] = {"id", "note"};
    arff_layout l = {2, ARFF_LABELS_LAST, NULL, ignore, 2};
    if (parsed(parse_layout_str(genbase_like, &l, &d, &err), &err)) {
        CHECK_EQ(d.rows, 3);
        CHECK_EQ(d.features, 5); /* s1, s2 (0/1), code one-hot (3) */
        CHECK_EQ(d.labels, 2);
        /* two values: 0 the first declared (YES), 1 the second; one-hot: 1 in the value's column;
         * '?' all 0; a sparse row's omitted nominal: its first declared value (Weka) */
        const float x[15] = {0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1};
        const uint8_t y[6] = {1, 0, 0, 1, 1, 0};
        CHECK_MATRICES(&d, x, y);
        static const char *const names[7] = {"s1", "s2", "code=a", "code=b", "code=c", "L1", "L2"};
        for (int i = 0; i < 7; i++)
            CHECK(strcmp(d.names[i], names[i]) == 0);
        CHECK_EQ(d.n_attrs, 7);
        CHECK(d.attrs[0].role == ARFF_ROLE_IGNORED && strcmp(d.attrs[0].type, "{P1,P2,P3}") == 0);
        CHECK(d.attrs[3].role == ARFF_ROLE_FEATURE && d.attrs[3].column == 2 &&
              d.attrs[3].width == 3);
        CHECK(d.attrs[4].role == ARFF_ROLE_IGNORED && strcmp(d.attrs[4].type, "string") == 0);
        CHECK(d.attrs[6].role == ARFF_ROLE_LABEL && d.attrs[6].column == 1);
    }
    arff_free(&d);
    tu_case_end(m,
                "nominal features: {YES,NO} as 0/1, {a,b,c} one-hot, an ID and a string ignored");

    m = tu_case_begin();
    arff_layout keep_id = {2, ARFF_LABELS_LAST, NULL, ignore + 1, 1};
    if (parsed(parse_layout_str(genbase_like, &keep_id, &d, &err), &err)) {
        CHECK_EQ(d.features, 8); /* the ID one-hot too */
        CHECK(strcmp(d.names[2], "id=P3") == 0);
        CHECK_EQ_DBL(d.x[0], 1);      /* row 1: P1 */
        CHECK_EQ_DBL(d.x[8 + 2], 1);  /* row 2: P3 */
        CHECK_EQ_DBL(d.x[16 + 1], 1); /* row 3: P2 */
    }
    arff_free(&d);
    tu_case_end(m, "a nominal ID not ignored: one-hot");

    /* refusals: a string feature not ignored; an unknown or label name ignored */
    static const struct {
        const char *ignore;
        const char *message;
    } bad[] = {{"id", "attribute 'note' has type string, which a feature cannot have"},
               {"nope", "attribute 'nope' to ignore is not declared"},
               {"L2", "attribute 'L2' is a label and cannot be ignored"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = tu_case_begin();
        const char *one[1] = {bad[i].ignore};
        arff_layout lb = {2, ARFF_LABELS_LAST, NULL, one, 1};
        CHECK_EQ(parse_layout_str(genbase_like, &lb, &d, &err), -1);
        CHECK(is_zeroed(&d));
        CHECK(strstr(err.message, bad[i].message) != NULL);
        tu_case_end(m, "ignore '%s': %s", bad[i].ignore, err.message);
    }
    m = tu_case_begin();
    arff_layout null_ignore = {2, ARFF_LABELS_LAST, NULL, NULL, 1};
    CHECK_EQ(parse_layout_str(genbase_like, &null_ignore, &d, &err), -1);
    tu_case_end(m, "n_ignore without a list: %s", err.message);
}

/* Weka's sparse rule: an omitted nominal value is the first declared value, not 0. */
static void test_sparse_defaults(void) {
    const char *text = "@relation r\n"
                       "@attribute f {1,0}\n"
                       "@attribute g {x,y}\n"
                       "@attribute h {2,5,7}\n"
                       "@attribute n numeric\n"
                       "@attribute L1 {1,0}\n"
                       "@attribute L2 {0,1}\n"
                       "@data\n"
                       "{3 1.5}\n"
                       "{0 0,1 y,2 7,4 0,5 1}\n"
                       "1,x,5,2,1,0\n";
    arff_data d;
    arff_error err;
    int m = tu_case_begin();
    if (parsed(arff_parse(text, strlen(text), "mem", 2, &d, &err), &err)) {
        const float x[12] = {1, 0, 2, 1.5f, 0, 1, 7, 0, 1, 0, 5, 2};
        const uint8_t y[6] = {1, 0, 0, 1, 1, 0};
        CHECK_MATRICES(&d, x, y);
    }
    arff_free(&d);
    tu_case_end(m, "sparse rows: omitted {1,0} is 1, {2,5,7} is 2, a {1,0} label is 1");
}

/* Labels by name (a MULAN label file's), wherever they are. */
static void test_labels_by_name(void) {
    const char *text = "@relation 'r: -C 2'\n"
                       "@attribute a numeric\n"
                       "@attribute L1 {0,1}\n"
                       "@attribute b numeric\n"
                       "@attribute L2 {0,1}\n"
                       "@data\n"
                       "1,1,2,0\n";
    arff_data d;
    arff_error err;
    int m = tu_case_begin();
    const char *names[2] = {"L2", "L1"};
    arff_layout l = {2, ARFF_LABELS_AUTO, names, NULL, 0};
    if (parsed(parse_layout_str(text, &l, &d, &err), &err)) {
        CHECK_EQ(d.features, 2);
        CHECK_EQ(d.labels, 2);
        const float x[2] = {1, 2};
        const uint8_t y[2] = {1, 0}; /* file order: L1, L2 */
        CHECK_MATRICES(&d, x, y);
        CHECK(strcmp(d.names[2], "L1") == 0 && strcmp(d.names[3], "L2") == 0);
        CHECK(strstr(d.note, "says -C 2 (the first 2 attributes), overridden: the labels are "
                             "the named 2") != NULL);
    }
    arff_free(&d);
    tu_case_end(m, "labels by name, between features, '-C 2' overridden: %s", d.note);

    static const struct {
        const char *a, *b;
        arff_label_place place;
        const char *ignore, *message;
        size_t line;
    } bad[] = {
        {"L1", "L3", ARFF_LABELS_AUTO, NULL, "label 'L3' (label 2 of 2) is not a declared", 6},
        {"L1", "a", ARFF_LABELS_AUTO, NULL, "label attribute 'a' must be declared {0,1}", 2},
        {"L1", "L1", ARFF_LABELS_AUTO, NULL, "label 'L1' named twice", 6},
        {"L1", "L2", ARFF_LABELS_LAST, NULL, "label 'L1' is attribute 2, not among the last", 6},
        {"L1", "L2", ARFF_LABELS_AUTO, "L1", "attribute 'L1' is a label and cannot be", 6}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = tu_case_begin();
        const char *nm[2] = {bad[i].a, bad[i].b}, *ig[1] = {bad[i].ignore};
        arff_layout lb = {2, bad[i].place, nm, bad[i].ignore ? ig : NULL, bad[i].ignore ? 1 : 0};
        CHECK_EQ(parse_layout_str(text, &lb, &d, &err), -1);
        CHECK(strstr(err.message, bad[i].message) != NULL);
        CHECK_EQ(err.line, bad[i].line); /* @data, or the label's declaration */
        tu_case_end(m, "labels by name, bad case %zu: %s", i, err.message);
    }
}

/* Train and test files must declare the same attributes; the first difference is named. */
static void test_same_attributes(void) {
    static const char base[] = "@attribute a numeric\n@attribute s {YES,NO}\n@attribute y {0,1}\n"
                               "@data\n1,YES,1\n";
    static const struct {
        const char *text;
        const char *message;
    } other[] = {
        {"@attribute a real\n@attribute s {YES,NO}\n@attribute y {0,1}\n@data\n2,NO,0\n", NULL},
        {"@attribute b numeric\n@attribute s {YES,NO}\n@attribute y {0,1}\n@data\n1,YES,1\n",
         "attribute 1 is 'a' in TRAIN but 'b' in TEST"},
        {"@attribute a numeric\n@attribute s {NO,YES}\n@attribute y {0,1}\n@data\n1,YES,1\n",
         "attribute 2 's' is declared {YES,NO} in TRAIN but {NO,YES} in TEST"},
        {"@attribute a numeric\n@attribute s {YES,NO}\n@attribute y {0,1}\n@attribute z {0,1}\n"
         "@data\n1,YES,1,0\n",
         "TRAIN declares 3 attributes, TEST 4"},
        {"@attribute a numeric\n@attribute s {0,1}\n@attribute y {0,1}\n@data\n1,1,1\n",
         "attribute 2 's' is declared {YES,NO} in TRAIN but {0,1} in TEST"},
    };
    arff_data a, b;
    arff_error err;
    CHECK(parsed(parse_str(base, 1, &a, &err), &err));
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        int m = tu_case_begin();
        char msg[256] = "";
        if (parsed(parse_str(other[i].text, 1, &b, &err), &err)) {
            int rc = arff_same_attributes(&a, &b, "TRAIN", "TEST", msg, sizeof msg);
            CHECK_EQ(rc, other[i].message ? -1 : 0);
            CHECK(!other[i].message || strstr(msg, other[i].message) != NULL);
        }
        arff_free(&b);
        tu_case_end(m, "same attributes, case %zu: %s", i, msg[0] ? msg : "same");
    }
    /* the same file with another label count: roles differ */
    int m = tu_case_begin();
    const char *two =
        "@attribute a numeric\n@attribute s {0,1}\n@attribute y {0,1}\n@data\n1,0,1\n";
    arff_data c, e;
    char msg[256] = "";
    if (parsed(parse_str(two, 1, &c, &err), &err) && parsed(parse_str(two, 2, &e, &err), &err)) {
        CHECK_EQ(arff_same_attributes(&c, &e, "TRAIN", "VAL", msg, sizeof msg), -1);
        CHECK(strstr(msg, "attribute 2 's' is a feature in TRAIN but a label in VAL") != NULL);
    }
    arff_free(&c);
    arff_free(&e);
    tu_case_end(m, "same attributes, other roles: %s", msg);
    arff_free(&a);
}

/* ---- standardiser ---- */

static void test_standardizer(void) {
    int m = tu_case_begin();
    /* Column 0: 1, 2, 3, 6 -> mean 3, population variance (4+1+0+9)/4 = 3.5, std 1.8708287.
     * Column 1: constant 5 -> std 0, returned as 1. Column 2: -1, 1, -1, 1 -> mean 0, std 1. */
    float x[12] = {1, 5, -1, 2, 5, 1, 3, 5, -1, 6, 5, 1};
    float mean[3], sd[3];
    arff_fit_standardizer(x, 4, 3, mean, sd);
    CHECK_NEAR(mean[0], 3.0, 1e-7, 0);
    CHECK_NEAR(sd[0], sqrt(3.5), 1e-7, 0);
    CHECK_EQ_DBL(mean[1], 5.0);
    CHECK_EQ_DBL(sd[1], 1.0);
    CHECK_EQ_DBL(mean[2], 0.0);
    CHECK_EQ_DBL(sd[2], 1.0);
    arff_standardize(x, 4, 3, mean, sd);
    CHECK_NEAR(x[0], -2.0 / sqrt(3.5), 1e-6, 0);
    CHECK_NEAR(x[9], 3.0 / sqrt(3.5), 1e-6, 0);
    CHECK_EQ_DBL(x[1], 0.0);
    CHECK_EQ_DBL(x[4], 0.0);
    CHECK_EQ_DBL(x[2], -1.0);

    /* Test data take the train statistics, and a zero std passed in is treated as 1. */
    float t[3] = {4, 7, 2};
    const float zero_sd[3] = {sd[0], 0.0f, sd[2]};
    arff_standardize(t, 1, 3, mean, zero_sd);
    CHECK_NEAR(t[0], 1.0 / sqrt(3.5), 1e-6, 0);
    CHECK_EQ_DBL(t[1], 2.0);
    CHECK_EQ_DBL(t[2], 2.0);

    float m0[2], s0[2];
    arff_fit_standardizer(NULL, 0, 2, m0, s0);
    CHECK_EQ_DBL(m0[0], 0.0);
    CHECK_EQ_DBL(s0[1], 1.0);
    tu_case_end(m, "standardiser: population std, constant columns, train stats on test rows");
}

/* ---- fuzz corpus and regressions: no crash, and a clean error or a result ---- */

/* The labels of d, named (a label file's way), with d's first feature attribute ignored, must
 * parse to the same rows and labels and one attribute's columns fewer (fuzz_arff.c checks the
 * same). 0 when they do or d has no labels or features; -1 otherwise. */
static int same_by_names(const char *text, size_t len, const arff_data *d) {
    if (d->labels == 0)
        return 0;
    const char **names = tu_xmalloc(d->labels * sizeof *names);
    const char *ignore[1] = {NULL};
    size_t k = 0, gone = 0;
    for (size_t i = 0; i < d->n_attrs; i++)
        if (d->attrs[i].role == ARFF_ROLE_LABEL)
            names[k++] = d->attrs[i].name;
        else if (!ignore[0] && d->attrs[i].role == ARFF_ROLE_FEATURE)
            ignore[0] = d->attrs[i].name, gone = d->attrs[i].width;
    arff_layout l = {d->labels, ARFF_LABELS_AUTO, names, ignore, ignore[0] ? 1 : 0};
    arff_data e;
    arff_error err;
    int rc = arff_parse_layout(text, len, "again", &l, &e, &err);
    int ok = rc == 0 && e.rows == d->rows && e.labels == d->labels &&
             e.features == d->features - gone && memcmp(e.y, d->y, d->rows * d->labels) == 0;
    if (!ok)
        printf("  by names: rc %d (%s)\n", rc, rc ? err.message : "other data");
    arff_free(&e);
    free(names);
    return ok ? 0 : -1;
}

/* Parses one fuzz input as the fuzzer does: byte 0 mod 16 = n_labels, the rest is the text. */
static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = tu_xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb)
                break;
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    int ok = 1;
    if (n > 0) {
        /* An exact-size copy, so ASan catches a read past the end. */
        char *text = tu_xmalloc(n - 1);
        memcpy(text, buf + 1, n - 1);
        arff_data d;
        arff_error err;
        arff_layout layout = {buf[0] % 16, (arff_label_place)((buf[0] >> 4) % 3), NULL, NULL,
                              0}; /* fuzz_arff.c */
        int rc = arff_parse_layout(text, n - 1, path, &layout, &d, &err);
        if (rc == 0)
            ok = d.rows >= 1 && d.labels == (size_t)(buf[0] % 16) &&
                 same_by_names(text, n - 1, &d) == 0;
        else
            ok = rc == -1 && is_zeroed(&d) && err.message[0] && err.line >= 1 && err.column >= 1;
        arff_free(&d);
        free(text);
    }
    free(buf);
    return ok ? 0 : -1;
}

static void replay_dir(const char *sub, int expect_files) {
    int m = tu_case_begin();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", APLCL_SOURCE_DIR, sub);
    DIR *dp = opendir(dir);
    if (expect_files)
        CHECK(dp != NULL);
    size_t files = 0;
    if (dp) {
        struct dirent *de;
        while ((de = readdir(dp)) != NULL) {
            if (de->d_name[0] == '.')
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (replay_file(path) != 0)
                TU_FAIL_AT_(__FILE__, __LINE__, "%s: broke the reader's contract", path);
            files++;
        }
        closedir(dp);
    }
    if (expect_files)
        CHECK_GT(files, 0);
    tu_case_end(m, "fuzz %s: %zu file(s) parsed without a crash", sub, files);
}

/* ---- MULAN's nominal {0,1} features, MEKA's labels first (tests/data) ---- */

static int load_data(const char *file, size_t n_labels, arff_label_place place, arff_data *d,
                     arff_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/%s", APLCL_SOURCE_DIR, file);
    arff_layout layout = {n_labels, place, NULL, NULL, 0};
    int rc = arff_load_layout(path, &layout, d, err);
    if (rc)
        printf("  %s:%zu:%zu: %s\n", err->file, err->line, err->column, err->message);
    return rc;
}

static void test_layouts(void) {
    arff_data d;
    arff_error err;
    int m = tu_case_begin();
    CHECK_EQ(load_data("mulan-sparse-nominal.arff", 3, ARFF_LABELS_AUTO, &d, &err), 0);
    if (d.x) {
        CHECK_EQ(d.rows, 4);
        CHECK_EQ(d.features, 6);
        CHECK_EQ(d.labels, 3);
        CHECK_EQ(d.labels_first, 0);
        const float x[24] = {1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0,
                             0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
        const uint8_t y[12] = {1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1};
        CHECK_MATRICES(&d, x, y);
        CHECK(strcmp(d.names[0], "a") == 0 && strcmp(d.names[6], "A.A1") == 0);
    }
    arff_free(&d);
    tu_case_end(m, "MULAN sparse, nominal {0,1} word features (enron's form), labels last");

    m = tu_case_begin();
    CHECK_EQ(load_data("mulan-dense-nominal.arff", 2, ARFF_LABELS_LAST, &d, &err), 0);
    if (d.x) {
        CHECK_EQ(d.rows, 3);
        CHECK_EQ(d.features, 3);
        CHECK_EQ(d.labels, 2);
        const float x[9] = {1, 0, 7.5f, 0, 1, 3, 0, 0, 0};
        const uint8_t y[6] = {1, 0, 0, 1, 0, 0};
        CHECK_MATRICES(&d, x, y);
        CHECK(strcmp(d.names[0], "word:cough") == 0);
    }
    arff_free(&d);
    tu_case_end(m, "MULAN dense, nominal {0,1} and {1,0} features with a numeric one");

    /* MEKA: the count and the place from '-C 3' (n_labels 0), or given and agreeing. */
    const float meka_x[24] = {1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    const uint8_t meka_y[12] = {1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1};
    for (int k = 0; k < 3; k++) {
        static const size_t n[3] = {0, 3, 3};
        static const arff_label_place place[3] = {ARFF_LABELS_AUTO, ARFF_LABELS_AUTO,
                                                  ARFF_LABELS_FIRST};
        m = tu_case_begin();
        CHECK_EQ(load_data("meka-labels-first.arff", n[k], place[k], &d, &err), 0);
        if (d.x) {
            CHECK_EQ(d.rows, 4);
            CHECK_EQ(d.features, 6);
            CHECK_EQ(d.labels, 3);
            CHECK_EQ(d.labels_first, 1);
            CHECK_MATRICES(&d, meka_x, meka_y);
            /* names: the feature columns, then the label columns */
            CHECK(strcmp(d.names[0], "a") == 0 && strcmp(d.names[6], "A.A1") == 0);
            CHECK_EQ(d.n_attrs, 9);
            CHECK(d.attrs && d.attrs[0].role == ARFF_ROLE_LABEL && d.attrs[3].role == 0);
            CHECK(d.note[0] == '\0');
        }
        arff_free(&d);
        tu_case_end(m, "MEKA '-C 3' (labels first), n_labels %zu, place %d: same data as MULAN's",
                    n[k], (int)place[k]);
    }
    /* The caller's explicit layout wins over '-C' and the note says so (issue 17 item 2: MULAN's
     * medical carries a stray '-C 45' while its labels are last). */
    m = tu_case_begin();
    arff_layout last = {3, ARFF_LABELS_LAST, NULL, NULL, 0};
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/data/meka-labels-first.arff", APLCL_SOURCE_DIR);
    if (parsed(arff_load_layout(path, &last, &d, &err), &err)) {
        CHECK_EQ(d.labels, 3);
        CHECK_EQ(d.labels_first, 0);
        CHECK(strcmp(d.names[6], "about") == 0); /* the last three attributes */
        const uint8_t y[12] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0};
        for (size_t i = 0; i < 12; i++)
            CHECK_EQ(d.y[i], y[i]);
        CHECK(strstr(d.note, "says -C 3 (the first 3 attributes), overridden: the labels are the "
                             "last 3") != NULL);
    }
    arff_free(&d);
    arff_layout fewer = {2, ARFF_LABELS_FIRST, NULL, NULL, 0};
    if (parsed(arff_load_layout(path, &fewer, &d, &err), &err)) {
        CHECK_EQ(d.labels, 2);
        CHECK_EQ(d.labels_first, 1);
        CHECK(strstr(d.note, "the labels are the first 2") != NULL);
    }
    arff_free(&d);
    tu_case_end(m, "MEKA '-C 3' overridden by the caller's layout: %s", d.note);

    m = tu_case_begin();
    CHECK_EQ(load_data("meka-labels-last.arff", 0, ARFF_LABELS_AUTO, &d, &err), 0);
    if (d.x) {
        CHECK_EQ(d.features, 2);
        CHECK_EQ(d.labels, 2);
        CHECK_EQ(d.labels_first, 0);
        const float x[4] = {0.5f, 2, -1.25f, 0};
        const uint8_t y[4] = {1, 0, 0, 1};
        CHECK_MATRICES(&d, x, y);
    }
    arff_free(&d);
    tu_case_end(m, "MEKA '-C -2' (labels last), a nominal {0,1,2} feature");

    /* --labels-first without a MEKA relation */
    m = tu_case_begin();
    const char *text = "@relation plain\n@attribute y1 {0,1}\n@attribute y2 {0,1}\n"
                       "@attribute f numeric\n@data\n1,0,2.5\n{1 1,2 -3}\n";
    arff_layout first = {2, ARFF_LABELS_FIRST, NULL, NULL, 0};
    CHECK_EQ(arff_parse_layout(text, strlen(text), "mem", &first, &d, &err), 0);
    if (d.x) {
        const float x[2] = {2.5f, -3};
        const uint8_t y[4] = {1, 0, 0, 1};
        CHECK_EQ(d.labels_first, 1);
        CHECK_MATRICES(&d, x, y);
    }
    arff_free(&d);
    arff_layout bad = {2, (arff_label_place)7, NULL, NULL, 0};
    CHECK_EQ(arff_parse_layout(text, strlen(text), "mem", &bad, &d, &err), -1);
    CHECK_EQ(arff_parse_layout(text, strlen(text), "mem", NULL, &d, &err), -1);
    tu_case_end(m, "labels first by the caller's layout, dense and sparse rows; bad layouts");
}

/* Writes "y\n" lines into fd, at most 64 MiB, until a write fails (the reader closed). */
typedef struct {
    int fd;
    size_t written;
} streamer;
static void *stream_y(void *arg) {
    streamer *s = arg;
    char block[65536];
    for (size_t i = 0; i < sizeof block; i += 2)
        block[i] = 'y', block[i + 1] = '\n';
    while (s->written < ((size_t)64 << 20)) {
        ssize_t k = write(s->fd, block, sizeof block);
        if (k <= 0)
            break;
        s->written += (size_t)k;
    }
    close(s->fd);
    return NULL;
}

/* The reader bounds what it reads: /dev/zero (a character device: stat size 0) is refused at its
 * first NUL byte, not read until memory runs out. */
static void test_file_bounds(void) {
    arff_data d;
    arff_error err;
    int m = tu_case_begin();
    FILE *probe = fopen("/dev/zero", "rb");
    if (probe) {
        fclose(probe);
        CHECK_EQ(arff_load("/dev/zero", 1, &d, &err), -1);
        CHECK(is_zeroed(&d));
        CHECK(strstr(err.message, "NUL byte") != NULL);
        CHECK_EQ(err.line, 1);
        CHECK_EQ(err.column, 1);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/nul-later.arff", APLCL_TEST_TMP_DIR);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        static const char text[] = "@relation r\n@attribute a numeric\n@data\n12\0\n";
        fwrite(text, 1, sizeof text - 1, f);
        fclose(f);
        CHECK_EQ(arff_load(path, 0, &d, &err), -1);
        CHECK(strstr(err.message, "NUL byte") != NULL);
        CHECK_EQ(err.line, 4);
        CHECK_EQ(err.column, 3);
    }
    CHECK(ARFF_MAX_FILE_BYTES >= ((size_t)256 << 20)); /* MULAN's largest text sets fit */
    tu_case_end(m, "file bounds: /dev/zero and a NUL byte refused at once: %s", err.message);

    /* The limit counts the bytes read: a regular file at and over it, and a pipe (size 0 to
     * stat, like a device), through the reader arff_load uses with ARFF_MAX_FILE_BYTES. */
    m = tu_case_begin();
    char *buf = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/hundred.arff", APLCL_TEST_TMP_DIR);
    if ((f = fopen(path, "wb")) != NULL) {
        for (int i = 0; i < 100; i++)
            fputc('a', f);
        fclose(f);
    }
    CHECK_EQ(arff_read_file_(path, 100, 0, &buf, &len, &err), 0);
    CHECK_EQ(len, 100);
    free(buf);
    CHECK_EQ(arff_read_file_(path, 99, 0, &buf, &len, &err), -1);
    CHECK(buf == NULL && strstr(err.message, "file larger than 99 bytes") != NULL);
    int fds[2];
    CHECK_EQ(pipe(fds), 0);
    char chunk[300];
    memset(chunk, 'b', sizeof chunk);
    CHECK_EQ(write(fds[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
    close(fds[1]);
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    CHECK_EQ(arff_read_file_(path, 200, 0, &buf, &len, &err), -1);
    CHECK(strstr(err.message, "file larger than 200 bytes") != NULL);
    close(fds[0]);
    tu_case_end(m, "file bounds: the limit counts bytes read (regular file, pipe): %s",
                err.message);

    /* The head is judged as it arrives (issue 17 item 9's sibling): a pipe that streams a text
     * which is not ARFF ("y" lines) is refused after its first block, not read to the limit. */
    m = tu_case_begin();
    signal(SIGPIPE, SIG_IGN);
    CHECK_EQ(pipe(fds), 0);
    streamer st = {fds[1], 0};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, stream_y, &st), 0);
    snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
    CHECK_EQ(arff_load(path, 1, &d, &err), -1);
    close(fds[0]); /* the streamer's next write fails: it stops */
    pthread_join(th, NULL);
    CHECK(strstr(err.message, "expected @relation, @attribute or @data, not 'y'") != NULL);
    CHECK_EQ(err.line, 1);
    CHECK(st.written < ((size_t)4 << 20)); /* the streamer offers 64 MiB */
    tu_case_end(m, "a non-ARFF stream refused after %zu bytes were written: %s", st.written,
                err.message);
    /* an XML label file that is not XML: the same, with '<' */
    m = tu_case_begin();
    snprintf(path, sizeof path, "%s/not-xml.xml", APLCL_TEST_TMP_DIR);
    if ((f = fopen(path, "wb")) != NULL) {
        fputs("\n  label,name\nA,B\n", f);
        fclose(f);
    }
    size_t nl = 0;
    CHECK_EQ(arff_label_count_from_xml(path, &nl, &err), -1);
    CHECK(strstr(err.message, "not an XML label file: 'label,name' before the first tag") != NULL);
    CHECK(err.line == 2 && err.column == 3);
    remove(path);
    tu_case_end(m, "a label file that is not XML: %zu:%zu: %s", err.line, err.column, err.message);
}

int main(void) {
    test_yeast();
    test_dense();
    test_sparse();
    test_malformed();
    test_limits();
    test_layouts();
    test_nominal_features();
    test_sparse_defaults();
    test_labels_by_name();
    test_same_attributes();
    test_file_bounds();
    test_xml();
    test_standardizer();
    replay_dir("corpus", 1);
    replay_dir("regressions", 0);
    return tu_exit_code();
}
