/* npy.c: the .npy reader and writer of npy.h.
 *
 * The header is parsed as the one dict literal NumPy's format module writes ({'descr': ...,
 * 'fortran_order': ..., 'shape': (...), }), with whitespace allowed between tokens; anything else
 * is an error rather than a guess. Values are converted little-endian byte by byte, so the host's
 * byte order does not matter.
 */
#include "npy.h"

#include "aplcl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *descr, *name;
    size_t size;
} types[] = {{"<f2", "float16", 2}, {"<f4", "float32", 4}, {"<f8", "float64", 8},
             {"|i1", "int8", 1},    {"<i2", "int16", 2},   {"<i4", "int32", 4},
             {"<i8", "int64", 8},   {"|u1", "uint8", 1},   {"<u2", "uint16", 2},
             {"<u4", "uint32", 4},  {"<u8", "uint64", 8},  {"|b1", "bool", 1}};

const char *npy_type_name(npy_type t) { return types[t].name; }
size_t npy_type_size(npy_type t) { return types[t].size; }
int npy_type_is_float(npy_type t) { return t <= NPY_F64; }

static int fail(char *err, size_t size, const char *fmt, ...) {
    if (err && size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

typedef struct {
    const char *p, *end;
} cursor;

/* Python's literal syntax allows any whitespace between tokens, newlines included (NumPy's
 * reader uses ast.literal_eval). */
static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        ++c->p;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        ++c->p;
        return 1;
    }
    return 0;
}

/* A quoted Python string ('...' or "...") without escapes, into out (at most size - 1 bytes). */
static int quoted(cursor *c, char *out, size_t size) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= size)
            return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end)
        return -1;
    ++c->p;
    out[n] = '\0';
    return 0;
}

static int word(cursor *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* "(d0, d1, ...)" with "(d0,)" for one dimension and "()" for none. */
static int shape_tuple(cursor *c, npy_array *a, char *err, size_t es) {
    if (!eat(c, '('))
        return fail(err, es, "shape is not a tuple");
    a->ndim = 0;
    a->count = 1;
    for (;;) {
        skip_ws(c);
        if (eat(c, ')'))
            return 0;
        if (a->ndim == NPY_MAX_DIMS)
            return fail(err, es, "more than %d dimensions", NPY_MAX_DIMS);
        size_t v = 0;
        int digits = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            unsigned d = (unsigned)(*c->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return fail(err, es, "a dimension overflows");
            v = v * 10 + d, ++digits;
        }
        if (!digits)
            return fail(err, es, "shape holds something other than non-negative integers");
        if (v && a->count > SIZE_MAX / v)
            return fail(err, es, "the shape's element count overflows");
        a->shape[a->ndim++] = v;
        a->count *= v;
        if (!eat(c, ',')) {
            if (eat(c, ')'))
                return a->ndim == 1 ? fail(err, es, "shape (%zu) is not a tuple", v) : 0;
            return fail(err, es, "malformed shape tuple");
        }
    }
}

/* The dtype entry for descr d, or -1. The byte-order character: '<', '=' (the little-endian
 * hosts NumPy writes from) and '|' (not applicable) are accepted for every type, and any of
 * them, '>' too, for the single-byte types, whose order does not matter ('<u1' is uint8). */
static int find_type(const char *d) {
    size_t nt = sizeof types / sizeof types[0];
    if (d[0] != '<' && d[0] != '=' && d[0] != '|' && d[0] != '>')
        return -1;
    for (size_t t = 0; t < nt; ++t)
        if (strcmp(d + 1, types[t].descr + 1) == 0 && (d[0] != '>' || types[t].size == 1))
            return (int)t;
    return -1;
}

static int parse_header(cursor *c, npy_array *a, int *fortran, char *err, size_t es) {
    int seen[3] = {0, 0, 0};
    if (!eat(c, '{'))
        return fail(err, es, "header is not a dict");
    for (;;) {
        if (eat(c, '}'))
            break;
        char key[32], val[32];
        if (quoted(c, key, sizeof key) || !eat(c, ':'))
            return fail(err, es, "malformed header dict");
        int k = strcmp(key, "descr") == 0           ? 0
                : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0         ? 2
                                                    : -1;
        if (k < 0)
            return fail(err, es, "unexpected header key '%s'", key);
        if (seen[k]++)
            return fail(err, es, "header key '%s' given twice", key);
        if (k == 0) {
            if (quoted(c, val, sizeof val))
                return fail(err, es, "descr is not a plain type string (structured dtype?)");
            int t = find_type(val);
            char alt[40];
            snprintf(alt, sizeof alt, "<%s", val[0] ? val + 1 : "");
            if (t < 0)
                return fail(err, es,
                            val[0] == '>' && find_type(alt) >= 0
                                ? "big-endian dtype '%s' is not supported (use "
                                  "arr.astype(arr.dtype.newbyteorder('<')))"
                                : "dtype '%s' is not supported (float16/32/64, "
                                  "int8-64, uint8-64 or bool)",
                            val);
            a->type = (npy_type)t;
        } else if (k == 1) {
            if (word(c, "True"))
                *fortran = 1;
            else if (word(c, "False"))
                *fortran = 0;
            else
                return fail(err, es, "fortran_order is neither True nor False");
        } else if (shape_tuple(c, a, err, es))
            return -1;
        if (!eat(c, ',')) {
            if (eat(c, '}'))
                break;
            return fail(err, es, "malformed header dict");
        }
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return fail(err, es, "header lacks '%s'",
                    !seen[0]   ? "descr"
                    : !seen[1] ? "fortran_order"
                               : "shape");
    skip_ws(c);
    if (c->p != c->end)
        return fail(err, es, "text after the header dict");
    return 0;
}

static uint64_t le(const unsigned char *b, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = v << 8 | b[i];
    return v;
}

static double value(npy_type t, const unsigned char *b) {
    uint64_t u = le(b, types[t].size);
    switch (t) {
    case NPY_F16: {
        uint16_t h = (uint16_t)u;
        float f;
        aplcl_f16_to_f32(&h, &f, 1);
        return f;
    }
    case NPY_F32: {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, 4);
        return f;
    }
    case NPY_F64: {
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    case NPY_I8:
        return (double)(int8_t)u;
    case NPY_I16:
        return (double)(int16_t)u;
    case NPY_I32:
        return (double)(int32_t)u;
    case NPY_I64:
        return (double)(int64_t)u;
    case NPY_BOOL:
        return u != 0;
    default:
        return (double)u;
    }
}

/* The preamble: magic, version, header length. 0 with *start (offset of the header) and *hl
 * set; -1 with the reason. len may be short: only what is present is judged. */
static int preamble(const unsigned char *buf, size_t len, size_t *start, size_t *hl, char *err,
                    size_t es) {
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (memcmp(buf, magic, len < 6 ? len : 6) != 0)
        return fail(err, es, "not a .npy file (no \\x93NUMPY magic)");
    if (len < 8)
        return fail(err, es, "truncated: %zu bytes, not even the magic and version", len);
    unsigned major = buf[6], minor = buf[7];
    if (major < 1 || major > 3 || minor != 0)
        return fail(err, es, "unsupported .npy version %u.%u", major, minor);
    size_t hl_bytes = major == 1 ? 2 : 4;
    *start = 8 + hl_bytes;
    if (len < *start)
        return fail(err, es, "truncated header: %zu bytes, the header length needs %zu", len,
                    *start);
    *hl = (size_t)le(buf + 8, hl_bytes);
    if (*hl > NPY_MAX_HEADER)
        return fail(err, es, "header of %zu bytes is over the %d-byte limit", *hl, NPY_MAX_HEADER);
    return 0;
}

/* The header dict at buf[start..start+hl) into *a (type, shape, count) and *fortran. */
static int header(const unsigned char *buf, size_t start, size_t hl, npy_array *a, int *fortran,
                  char *err, size_t es) {
    for (size_t i = 0; i < hl; ++i) {
        unsigned char b = buf[start + i];
        if ((b < 0x20 || b > 0x7e) && b != '\n' && b != '\r' && b != '\t')
            return fail(err, es, "header holds a byte that is not printable ASCII");
    }
    cursor c = {(const char *)buf + start, (const char *)buf + start + hl};
    memset(a, 0, sizeof *a);
    *fortran = 0;
    if (parse_header(&c, a, fortran, err, es))
        return -1;
    if (a->count > SIZE_MAX / types[a->type].size)
        return fail(err, es, "the data size overflows");
    return 0;
}

int npy_parse(const unsigned char *buf, size_t len, npy_array *out, char *err, size_t es) {
    memset(out, 0, sizeof *out);
    size_t start = 0, hl = 0;
    if (!buf && len)
        return fail(err, es, "buffer is NULL");
    if (preamble(buf, len, &start, &hl, err, es))
        return -1;
    if (hl > len - start)
        return fail(err, es, "truncated header: %zu bytes announced, %zu present", hl, len - start);
    npy_array a;
    int fortran = 0;
    if (header(buf, start, hl, &a, &fortran, err, es))
        return -1;
    size_t isz = types[a.type].size, have = len - start - hl;
    size_t need = a.count * isz;
    if (have < need)
        return fail(err, es, "truncated data: the shape needs %zu bytes, the file has %zu", need,
                    have);
    if (have > need)
        return fail(err, es, "%zu bytes after the data the shape describes", have - need);
    a.data = malloc((a.count ? a.count : 1) * sizeof *a.data);
    if (!a.data)
        return fail(err, es, "out of memory for %zu values", a.count);
    const unsigned char *d = buf + start + hl;
    if (!fortran || a.ndim < 2) {
        for (size_t i = 0; i < a.count; ++i)
            a.data[i] = value(a.type, d + i * isz);
    } else {
        /* Fortran order: the first index varies fastest in the file; data[] is C order */
        size_t idx[NPY_MAX_DIMS] = {0};
        for (size_t i = 0; i < a.count; ++i) {
            size_t off = 0;
            for (int k = a.ndim; k-- > 0;)
                off = off * a.shape[k] + idx[k];
            a.data[i] = value(a.type, d + off * isz);
            for (int k = a.ndim; k-- > 0;) { /* next C-order index */
                if (++idx[k] < a.shape[k])
                    break;
                idx[k] = 0;
            }
        }
    }
    *out = a;
    return 0;
}

/* Reads exactly n bytes into b (fewer at the end of the file); returns the count. */
static size_t read_full(FILE *f, unsigned char *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t k = fread(b + got, 1, n - got, f);
        if (k == 0)
            break;
        got += k;
    }
    return got;
}

/* Reads in three steps, each judged before the next is read: the preamble (magic, version,
 * header length), the header (type and shape: the data size), then that many bytes and one
 * more to tell a longer file. So /dev/zero or a wrong file is refused after a few bytes, and a
 * header that promises more than max_bytes before any data is read. */
int npy_load(const char *path, size_t max_bytes, npy_array *out, char *err, size_t es) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, es, "%s: %s", path, strerror(errno));
    char inner[256] = "";
    unsigned char pre[12];
    unsigned char *buf = NULL;
    size_t start = 0, hl = 0, len = read_full(f, pre, 10);
    int rc = -1;
    if (len >= 8 && pre[6] >= 2 && pre[6] <= 3)
        len += read_full(f, pre + 10, 2); /* versions 2 and 3: a 4-byte header length */
    if (ferror(f)) {
        fail(inner, sizeof inner, "read error");
        goto out;
    }
    if (preamble(pre, len, &start, &hl, inner, sizeof inner))
        goto out;
    if (start + hl > max_bytes) {
        fail(inner, sizeof inner, "larger than the %zu-byte limit", max_bytes);
        goto out;
    }
    if (!(buf = malloc(start + hl + 1))) {
        fail(inner, sizeof inner, "out of memory");
        goto out;
    }
    memcpy(buf, pre, start);
    len = start + read_full(f, buf + start, hl);
    npy_array a;
    int fortran = 0;
    size_t need = 0;
    if (len < start + hl) /* npy_parse says it: truncated header */
        goto parse;
    if (header(buf, start, hl, &a, &fortran, inner, sizeof inner))
        goto out;
    need = a.count * types[a.type].size;
    if (need > max_bytes - start - hl) {
        fail(inner, sizeof inner, "larger than the %zu-byte limit (the shape needs %zu bytes)",
             max_bytes, need);
        goto out;
    }
    unsigned char *nb = realloc(buf, start + hl + need + 1);
    if (!nb) {
        fail(inner, sizeof inner, "out of memory for %zu bytes", need);
        goto out;
    }
    buf = nb;
    /* one byte past the data tells a longer file (npy_parse names it) */
    len += read_full(f, buf + len, need + 1);
parse:
    if (ferror(f))
        fail(inner, sizeof inner, "read error");
    else if (len > start + hl + need)
        fail(inner, sizeof inner, "bytes after the %zu bytes of data the shape describes", need);
    else if (npy_parse(buf, len, out, inner, sizeof inner) == 0)
        rc = 0;
out:
    if (rc)
        fail(err, es, "%s: %s", path, inner);
    free(buf);
    fclose(f);
    return rc;
}

void npy_free(npy_array *a) {
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int npy_write(const char *path, npy_type t, const size_t *shape, int ndim, const double *values) {
    if (t != NPY_F16 && t != NPY_F32 && t != NPY_F64 && t != NPY_U8 && t != NPY_I32 &&
        t != NPY_I64) {
        errno = EINVAL;
        return -1;
    }
    char head[512];
    int n = snprintf(head, sizeof head, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     types[t].descr);
    size_t count = 1;
    for (int i = 0; i < ndim; ++i) {
        n += snprintf(head + n, sizeof head - (size_t)n, "%zu%s", shape[i],
                      ndim == 1      ? ","
                      : i + 1 < ndim ? ", "
                                     : "");
        count *= shape[i];
    }
    n += snprintf(head + n, sizeof head - (size_t)n, "), }");
    /* pad with spaces so that magic + length + header + '\n' is a multiple of 64 */
    while ((10 + n + 1) % 64)
        head[n++] = ' ';
    head[n++] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(head, 1, (size_t)n, f);
    for (size_t i = 0; i < count; ++i) {
        unsigned char b[8];
        uint64_t u = 0;
        if (t == NPY_F16) {
            float x = (float)values[i];
            uint16_t h;
            aplcl_f32_to_f16(&x, &h, 1);
            u = h;
        } else if (t == NPY_F32) {
            float x = (float)values[i];
            uint32_t w;
            memcpy(&w, &x, 4);
            u = w;
        } else if (t == NPY_F64)
            memcpy(&u, &values[i], 8);
        else if (t == NPY_U8) /* clamped: out-of-range conversions are undefined */
            u = values[i] >= 255 ? 255 : values[i] > 0 ? (uint8_t)values[i] : 0;
        else
            u = (uint64_t)(int64_t)values[i];
        for (size_t k = 0; k < types[t].size; ++k)
            b[k] = (unsigned char)(u >> (8 * k));
        fwrite(b, 1, types[t].size, f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return -1;
    return 0;
}
