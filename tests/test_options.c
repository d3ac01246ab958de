/* test_options.c: the `aplcl` tool's option parser and output helpers (common/options.c,
 * common/tool_util.c): option tables, suggestions, strict numbers, RFC 4180 fields, write errors
 * and the APLCL_DEVICE fallback. Host only; the CLI tests drive the same code through the binary.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "options.h"
#include "test_util.h"
#include "tool_util.h"

static int parse(int argc, const char *const *argv, cli_option *o, size_t n, const char **pos,
                 int *np) {
    return cli_parse("test", argc, (char **)argv, o, n, pos, 2, np);
}

static void test_parse(void) {
    int m = tu_case_begin();
    cli_option o[] = {{"--epochs", 1, NULL}, {"--quick", 0, NULL}, {"--csv", 1, NULL}};
    const char *pos[2] = {NULL, NULL};
    int np = -1;
    const char *a1[] = {"train.arff", "--epochs", "3", "--quick", "--csv=-", "test.arff"};
    CHECK_EQ(parse(6, a1, o, 3, pos, &np), CLI_PARSE_OK);
    CHECK_EQ(np, 2);
    CHECK(pos[0] && strcmp(pos[0], "train.arff") == 0 && pos[1] &&
          strcmp(pos[1], "test.arff") == 0);
    CHECK(o[0].value && strcmp(o[0].value, "3") == 0);
    CHECK(cli_given(o, 3, "--quick"));
    CHECK(cli_value(o, 3, "--csv") && strcmp(cli_value(o, 3, "--csv"), "-") == 0);
    /* a value may start with '-' ("--csv -", a negative number); "--" ends the options */
    const char *a2[] = {"--csv", "-", "--", "--quick"};
    CHECK_EQ(parse(4, a2, o, 3, pos, &np), CLI_PARSE_OK);
    CHECK_EQ(np, 1);
    CHECK(!cli_given(o, 3, "--quick") && strcmp(pos[0], "--quick") == 0);
    CHECK(strcmp(o[2].value, "-") == 0);
    tu_case_end(m, "options, --name=value, positionals, '--'");

    m = tu_case_begin();
    static const struct {
        int argc;
        const char *argv[4];
        int want;
    } cases[] = {
        {1, {"--epoch"}, CLI_PARSE_ERROR},            /* unknown */
        {1, {"--epochs"}, CLI_PARSE_ERROR},           /* no value */
        {1, {"--quick=1"}, CLI_PARSE_ERROR},          /* a flag with a value */
        {2, {"--quick", "--quick"}, CLI_PARSE_ERROR}, /* twice */
        {3, {"a", "b", "c"}, CLI_PARSE_ERROR},        /* a third positional */
        {2, {"--epoch", "--help"}, CLI_PARSE_HELP},   /* help wins over errors */
        {1, {"-h"}, CLI_PARSE_HELP},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_EQ(parse(cases[i].argc, cases[i].argv, o, 3, pos, &np), cases[i].want);
    tu_case_end(m, "unknown, missing value, flag value, twice, stray, help");
}

static void test_nearest(void) {
    int m = tu_case_begin();
    static const char *const names[] = {"--epochs", "--hidden", "--batch", "--lr", "--labels"};
    const char *n;
    CHECK((n = cli_nearest("--epoch", names, 5)) && strcmp(n, "--epochs") == 0);
    CHECK((n = cli_nearest("--hiden", names, 5)) && strcmp(n, "--hidden") == 0);
    CHECK((n = cli_nearest("--batch-size", names, 5)) && strcmp(n, "--batch") == 0);
    CHECK((n = cli_nearest("epochs", names, 5)) && strcmp(n, "--epochs") == 0);
    CHECK(cli_nearest("--learning-rate", names, 5) == NULL);
    CHECK(cli_nearest("--zzzzzzzz", names, 5) == NULL);
    tu_case_end(m, "nearest option by edit distance and prefix");
}

static void test_numbers(void) {
    int m = tu_case_begin();
    int64_t i = 0;
    uint64_t u = 0;
    double d = 0;
    CHECK_EQ(cli_parse_i64("t", "--n", "12", 1, 100, &i), 0);
    CHECK_EQ(i, 12);
    CHECK_EQ(cli_parse_i64("t", "--n", "-5", -10, 10, &i), 0);
    CHECK_EQ(i, -5);
    static const char *bad_int[] = {"",    " 12", "12 ", "12x", "0x10", "99999999999999999999",
                                    "101", "0",   "1.0", "+",   NULL};
    for (int k = 0; bad_int[k]; k++)
        CHECK_EQ(cli_parse_i64("t", "--n", bad_int[k], 1, 100, &i), -1);
    CHECK_EQ(cli_parse_u64("t", "--seed", "18446744073709551615", 0, UINT64_MAX, &u), 0);
    CHECK(u == UINT64_MAX);
    CHECK_EQ(cli_parse_u64("t", "--seed", "18446744073709551616", 0, UINT64_MAX, &u), -1);
    CHECK_EQ(cli_parse_u64("t", "--seed", "-1", 0, UINT64_MAX, &u), -1);
    CHECK_EQ(cli_parse_u64("t", "--seed", "abc", 0, UINT64_MAX, &u), -1);
    CHECK_EQ(cli_parse_f64("t", "--lr", "3e-3", 0, 1, &d), 0);
    CHECK_EQ_DBL(d, 3e-3);
    static const char *bad_f[] = {"inf",   "-inf", "nan", "infinity", "1e400", "1e-400",
                                  "0x1p3", "1,5",  "2",   "",         "1e",    NULL};
    for (int k = 0; bad_f[k]; k++)
        CHECK_EQ(cli_parse_f64("t", "--lr", bad_f[k], 0, 1, &d), -1);
    tu_case_end(m, "strict integers and finite numbers: range, overflow, trailing text");

    /* The one number rule for options and files (issue 17 item 11), with its scanners. */
    m = tu_case_begin();
    static const struct {
        const char *text;
        double v;
    } good[] = {{"0", 0}, {"-0.5", -0.5}, {".5", 0.5}, {"5.", 5}, {"+1e-3", 1e-3}, {"1E3", 1e3}};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        d = -99;
        CHECK_EQ(cli_strict_f64(good[k].text, &d), 0);
        CHECK_EQ_DBL(d, good[k].v);
    }
    static const char *bad_strict[] = {" 0.2",  "0.2 ",  "0x1p-2",   "1,5",   ".",   "-",
                                       "e3",    "1e",    "1e+",      "inf",   "nan", "1e-400",
                                       "1e400", "1.2.3", "\xd9\xa1", "0.2\n", "+-1", NULL};
    for (int k = 0; bad_strict[k]; k++) {
        d = -99;
        CHECK_EQ(cli_strict_f64(bad_strict[k], &d), -1);
        CHECK_EQ_DBL(d, -99); /* untouched */
    }
    CHECK_EQ(cli_strict_f64(NULL, &d), -1);
    CHECK_EQ(cli_strict_u64("007", &u), 0);
    CHECK(u == 7);
    static const char *bad_u[] = {"+7", "-7", " 7", "7 ", "0x7", "7.0", "", NULL};
    for (int k = 0; bad_u[k]; k++)
        CHECK_EQ(cli_strict_u64(bad_u[k], &u), -1);
    const char *p = "1.5M";
    CHECK_EQ(cli_scan_f64(&p, &d), 0);
    CHECK(d == 1.5 && strcmp(p, "M") == 0);
    p = "64x80";
    CHECK_EQ(cli_scan_u64(&p, &u), 0);
    CHECK(u == 64 && strcmp(p, "x80") == 0);
    p = " 64x80";
    CHECK_EQ(cli_scan_u64(&p, &u), -1);
    CHECK(strcmp(p, " 64x80") == 0); /* not moved */
    p = "0x1p-2";
    CHECK_EQ(cli_scan_f64(&p, &d), 0); /* the number is "0": the caller sees "x1p-2" follow */
    CHECK(strcmp(p, "x1p-2") == 0);
    tu_case_end(m, "the one number rule: cli_strict_f64/u64 and the scanners");
}

static void test_outputs(void) {
    int m = tu_case_begin();
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (f) {
        static const char *fields[] = {"apl", "asl:gamma=2,clip=0.1", "say \"hi\"", "a\nb", ""};
        for (int k = 0; k < 5; k++) {
            if (k)
                fputc(',', f);
            cli_csv_field(f, fields[k]);
        }
        rewind(f);
        char buf[256] = {0};
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        CHECK(strcmp(buf, "apl,\"asl:gamma=2,clip=0.1\",\"say \"\"hi\"\"\",\"a\nb\",") == 0);
        CHECK_EQ(cli_close_output(f, "tmpfile", "test"), 0);
    }
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        fputs("x\n", full);
        CHECK_EQ(cli_close_output(full, "/dev/full", "test"), -1);
    }
    CHECK_EQ(cli_close_output(NULL, "none", "test"), 0);
    tu_case_end(m, "RFC 4180 fields; a write error (/dev/full) is reported");

    m = tu_case_begin();
    setenv("APLCL_DEVICE", "env-device", 1);
    CHECK(strcmp(cli_device_choice(NULL), "env-device") == 0);
    CHECK(strcmp(cli_device_choice("0:0"), "0:0") == 0);
    setenv("APLCL_DEVICE", "", 1);
    CHECK(cli_device_choice(NULL) == NULL);
    tu_case_end(m, "--device wins over APLCL_DEVICE; empty APLCL_DEVICE is unset");
}

int main(void) {
    test_parse();
    test_nearest();
    test_numbers();
    test_outputs();
    return tu_exit_code();
}
