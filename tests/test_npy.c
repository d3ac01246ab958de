/* test_npy.c: the .npy reader of common/npy.c on valid files of every supported dtype and on
 * hostile ones.
 *
 * Valid: npy_write round trips (float16/32/64, uint8, int32, int64), version 2.0 headers, 0-d
 * and empty arrays, '=' byte order, bool and the other integer types from hand-made headers.
 * Hostile: every malformed case must fail with the reason in the message (bad magic, version,
 * header length past the end, truncated or trailing data, Fortran order, big-endian, complex and
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
}

static void test_hostile(void) {
    int m = tu_case_begin();
    unsigned char buf[512];
    const float d[4] = {1, 2, 3, 4};
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    size_t n = make(buf, ok, d, 16);
    CHECK(refused(buf, 5, "magic"));
    buf[0] = 'X';
    CHECK(refused(buf, n, "magic"));
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
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", "Fortran"},
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
    CHECK_EQ(npy_load("/dev/zero", 1 << 16, &a, err, sizeof err), -1);
    free(zeros);
    tu_case_end(m, "missing file, a file over the size limit, /dev/zero");
}

int main(void) {
    test_valid();
    test_hostile();
    return tu_exit_code();
}
