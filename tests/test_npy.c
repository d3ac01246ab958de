/* test_npy.c: the .npy reader of common/npy.c on valid files of every supported dtype and on
 * hostile ones.
 *
 * Valid: npy_write round trips (float16/32/64, uint8, int32, int64), version 2.0 headers, 0-d
 * and empty arrays, '=' byte order, bool and the other integer types from hand-made headers,
 * single-byte types with any byte-order mark, newlines in the header, Fortran order.
 * Hostile: every malformed case must fail with the reason in the message (bad magic, version,
 * header length past the end, truncated or trailing data, big-endian, complex and
 * structured dtypes, bad or overflowing shapes, missing, repeated or unknown keys, non-ASCII
 * bytes); then a few thousand random mutations of a valid file must each parse or fail cleanly
 * (CI runs this under ASan/UBSan). Host only.
 */
#include "npy.h"
#include "test_util.h"
#include "tool_util.h"

#include <stdlib.h>
#include <string.h>

/* A v1.0 file: magic, the header text as given (padded to 64 with spaces and '\n'), data. */
static size_t make(unsigned char *buf, const char *header, const void *data, size_t data_len) {
    size_t h = strlen(header), pad = h;
    while ((10 + pad + 1) % 64)
        ++pad;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((pad + 1) & 0xff), buf[9] = (unsigned char)((pad + 1) >> 8);
    memcpy(buf + 10, header, h);
    memset(buf + 10 + h, ' ', pad - h);
    buf[10 + pad] = '\n';
    if (data_len) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(buf + 11 + pad, data, data_len);
    return 11 + pad + data_len;
}

static int refused(const unsigned char *buf, size_t len, const char *want) {
    npy_array a;
    char err[256] = "";
    int rc = npy_parse(buf, len, &a, err, sizeof err);
    int ok = rc == -1 && strstr(err, want) != NULL && a.data == NULL;
    if (!ok)
        printf("     expected a refusal mentioning '%s', got rc %d: '%s'\n", want, rc, err);
    npy_free(&a);
    return ok;
}

static void test_valid(void) {
    int m = tu_case_begin();
    const double vf[6] = {1.5, -2.25, 0.0, 65504.0, 1e-3, 3.0}, vu[6] = {1, 2, 0, 255, 0, 3};
    const size_t shape[2] = {2, 3};
    const npy_type ts[6] = {NPY_F16, NPY_F32, NPY_F64, NPY_U8, NPY_I32, NPY_I64};
    for (int k = 0; k < 6; ++k) {
        char path[256];
        snprintf(path, sizeof path, "%s/npy_rt_%d.npy", APLCL_TEST_TMP_DIR, k);
        const double *v = ts[k] == NPY_U8 ? vu : vf;
        CHECK_EQ(npy_write(path, ts[k], shape, 2, v), 0);
        npy_array a;
        char err[256];
        CHECK_EQ(npy_load(path, 1 << 20, &a, err, sizeof err), 0);
        CHECK(a.type == ts[k] && a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.count == 6);
        for (int i = 0; i < 6 && a.data; ++i) {
            double want = ts[k] == NPY_F16 && i == 4   ? 0.0010004043579101562
                          : ts[k] == NPY_F32 && i == 4 ? (double)1e-3f
                          : ts[k] >= NPY_I8            ? (double)(int)v[i]
                                                       : v[i];
            CHECK_EQ_DBL(a.data[i], want);
        }
        npy_free(&a);
    }
    tu_case_end(m, "npy_write / npy_load round trip: float16/32/64, uint8, int32, int64");

    m = tu_case_begin();
    unsigned char buf[512];
    const unsigned char b3[3] = {0, 1, 1};
    npy_array a;
    size_t n = make(buf, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", b3, 3);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.type == NPY_BOOL && a.count == 3 && a.data && a.data[1] == 1.0);
    npy_free(&a);
    const unsigned char i2[4] = {0xff, 0xff, 0x02, 0x00};
    n = make(buf, "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"=i2\"}", i2, 4);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.type == NPY_I16 && a.data && a.data[0] == -1.0 && a.data[1] == 2.0);
    npy_free(&a);
    const float one = 1.0f;
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", &one, 4);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.ndim == 0 && a.count == 1 && a.data && a.data[0] == 1.0);
    npy_free(&a);
    n = make(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 4), }", NULL, 0);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.count == 0 && a.data != NULL);
    npy_free(&a);
    /* version 2.0: a 4-byte header length */
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", &one, 4);
    unsigned char v2[520];
    memcpy(v2, "\x93NUMPY\x02\x00", 8);
    v2[8] = buf[8], v2[9] = buf[9], v2[10] = v2[11] = 0;
    memcpy(v2 + 12, buf + 10, n - 10);
    CHECK_EQ(npy_parse(v2, n + 2, &a, NULL, 0), 0);
    CHECK(a.count == 1 && a.data && a.data[0] == 1.0);
    npy_free(&a);
    tu_case_end(m, "bool, '=i2' with keys in another order, 0-d, empty, version 2.0");

    /* What NumPy writes or loads and the reader once refused (issue 17 item 18). */
    m = tu_case_begin();
    const unsigned char u3[3] = {7, 0, 255};
    static const char *const u1[3] = {"<u1", ">u1", "=u1"};
    for (int k = 0; k < 3; ++k) {
        char h[128];
        snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (3,), }", u1[k]);
        n = make(buf, h, u3, 3);
        CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
        CHECK(a.type == NPY_U8 && a.count == 3 && a.data && a.data[0] == 7 && a.data[2] == 255);
        npy_free(&a);
    }
    n = make(buf, "{'descr': '>i1', 'fortran_order': False, 'shape': (1,), }", u3 + 2, 1);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.type == NPY_I8 && a.data && a.data[0] == -1.0);
    npy_free(&a);
    /* newlines between the keys (a header written by hand or by another tool) */
    n = make(buf, "{'descr': '<f4',\n 'fortran_order': False,\r\n 'shape': (1,\n),\n}", &one, 4);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.count == 1 && a.data && a.data[0] == 1.0);
    npy_free(&a);
    /* Fortran order: 1-D is the same bytes; 2-D and 3-D are read back into C order */
    const float f4[4] = {1, 2, 3, 4};
    n = make(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (4,), }", f4, 16);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    CHECK(a.count == 4 && a.data && a.data[0] == 1 && a.data[3] == 4);
    npy_free(&a);
    /* the 2 x 3 matrix [[1, 2, 3], [4, 5, 6]] stored column by column */
    const float f6[6] = {1, 4, 2, 5, 3, 6};
    n = make(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", f6, 24);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    for (int i = 0; i < 6 && a.data; ++i)
        CHECK_EQ_DBL(a.data[i], i + 1);
    npy_free(&a);
    /* shape (2, 2, 2): element [i][j][k] = 100i + 10j + k at file offset i + 2j + 4k */
    float f8[8];
    for (int i = 0; i < 2; ++i)
        for (int j = 0; j < 2; ++j)
            for (int k = 0; k < 2; ++k)
                f8[i + 2 * j + 4 * k] = (float)(100 * i + 10 * j + k);
    n = make(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2, 2), }", f8, 32);
    CHECK_EQ(npy_parse(buf, n, &a, NULL, 0), 0);
    for (int i = 0; i < 8 && a.data; ++i)
        CHECK_EQ_DBL(a.data[i], 100 * (i / 4) + 10 * (i / 2 % 2) + i % 2);
    npy_free(&a);
    tu_case_end(m, "'<u1', '>u1', '>i1', newlines in the header, Fortran order 1-D, 2-D, 3-D");
}

static void test_hostile(void) {
    int m = tu_case_begin();
    unsigned char buf[512];
    const float d[4] = {1, 2, 3, 4};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    size_t n = make(buf, ok, d, 16);
    CHECK(refused(buf, 5, "truncated: 5 bytes"));
    CHECK(refused(buf, 8, "truncated header: 8 bytes")); /* the magic is there: not "no magic" */
    CHECK(refused(buf, 9, "truncated header: 9 bytes"));
    buf[0] = 'X';
    CHECK(refused(buf, n, "no \\x93NUMPY magic"));
    CHECK(refused(buf, 3, "no \\x93NUMPY magic"));
    buf[0] = 0x93, buf[6] = 4;
    CHECK(refused(buf, n, "version 4.0"));
    buf[6] = 1, buf[8] = 0xff, buf[9] = 0x7f;
    CHECK(refused(buf, n, "truncated header"));
    n = make(buf, ok, d, 16);
    CHECK(refused(buf, n - 1, "truncated data"));
    CHECK(refused(buf, n - 16, "truncated data"));
    n = make(buf, ok, d, 16);
    buf[n] = 0;
    CHECK(refused(buf, n + 1, "1 bytes after the data"));
    static const struct {
        const char *header, *why;
    } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", "big-endian"},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (2, 2), }", "not supported"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2), }", "structured"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (2, 2), }", "not supported"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", "non-negative"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4), }", "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 2], }", "not a tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
         "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }",
         "overflows"},
        {"{'descr': '<f4', 'fortran_order': False, }", "lacks 'shape'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", "twice"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1, }", "unexpected"},
        {"{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 2), }", "neither True"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), } junk", "after the header"},
        {"['descr', '<f4']", "not a dict"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2, 1, 1, 1, 1, 1, 1, 1), }",
         "more than 8"},
        {"{'descr': '<f4\xc3\xa9', 'fortran_order': False, 'shape': (2, 2), }", "ASCII"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
        n = make(buf, bad[i].header, d, 16);
        CHECK(refused(buf, n, bad[i].why));
    }
    tu_case_end(m, "%zu kinds of malformed files refused with their reason",
                sizeof bad / sizeof bad[0] + 7);

    m = tu_case_begin();
    n = make(buf, ok, d, 16);
    cli_rng r = cli_rng_seed(12);
    int parsed = 0, failed = 0;
    for (int it = 0; it < 5000; ++it) {
        unsigned char mut[512];
        memcpy(mut, buf, n);
        size_t len = n - (size_t)(cli_rng_next(&r) % 3 == 0 ? cli_rng_next(&r) % n : 0);
        for (int k = 0; k < 1 + (int)(cli_rng_next(&r) % 4); ++k)
            mut[cli_rng_next(&r) % n] = (unsigned char)cli_rng_next(&r);
        npy_array a;
        char err[128];
        if (npy_parse(mut, len, &a, err, sizeof err) == 0) {
            ++parsed;
            CHECK(a.data != NULL || a.count == 0);
        } else {
            ++failed;
            CHECK(a.data == NULL && err[0] != '\0');
        }
        npy_free(&a);
    }
    tu_case_end(m, "5000 random mutations: %d parsed, %d refused, none crashed", parsed, failed);

    m = tu_case_begin();
    npy_array a;
    char err[256];
    CHECK_EQ(npy_load(APLCL_TEST_TMP_DIR "/no-such-file.npy", 1 << 20, &a, err, sizeof err), -1);
    CHECK(strstr(err, "no-such-file.npy") != NULL);
    const size_t big[1] = {4096};
    double *zeros = calloc(4096, sizeof *zeros);
    CHECK_EQ(npy_write(APLCL_TEST_TMP_DIR "/npy_big.npy", NPY_F64, big, 1, zeros), 0);
    CHECK_EQ(npy_load(APLCL_TEST_TMP_DIR "/npy_big.npy", 1000, &a, err, sizeof err), -1);
    CHECK(strstr(err, "limit") != NULL);
    free(zeros);
    tu_case_end(m, "missing file, a file over the size limit");

    /* The magic and the header are judged before the data is read (issue 17 item 9): /dev/zero
     * with a limit of 1 << 40 must fail at once, without reading (or allocating) the limit. */
    m = tu_case_begin();
    CHECK_EQ(npy_load("/dev/zero", (size_t)1 << 40, &a, err, sizeof err), -1);
    CHECK(strstr(err, "/dev/zero: not a .npy file (no \\x93NUMPY magic)") != NULL);
    printf("  /dev/zero: %s\n", err);
    /* a header that promises more data than the limit: refused before reading it */
    unsigned char hb[512];
    size_t hn =
        make(hb, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }", NULL, 0);
    const char *hp = APLCL_TEST_TMP_DIR "/npy_promise.npy";
    FILE *hf = fopen(hp, "wb");
    CHECK(hf != NULL);
    if (hf) {
        CHECK_EQ(fwrite(hb, 1, hn, hf), hn);
        fclose(hf);
    }
    CHECK_EQ(npy_load(hp, (size_t)1 << 20, &a, err, sizeof err), -1);
    CHECK(strstr(err, "limit (the shape needs 8000000000 bytes)") != NULL);
    /* trailing bytes after the data, read through a file */
    const size_t one_shape[1] = {1};
    const double v1 = 2.0;
    CHECK_EQ(npy_write(hp, NPY_F64, one_shape, 1, &v1), 0);
    hf = fopen(hp, "ab");
    CHECK(hf != NULL);
    if (hf) {
        fputs("extra bytes", hf);
        fclose(hf);
    }
    CHECK_EQ(npy_load(hp, (size_t)1 << 20, &a, err, sizeof err), -1);
    CHECK(strstr(err, "bytes after the 8 bytes of data the shape describes") != NULL);
    remove(hp);
    tu_case_end(m, "/dev/zero and an over-promising header refused before reading the data: %s",
                err);
}

int main(void) {
    test_valid();
    test_hostile();
    return tu_exit_code();
}
