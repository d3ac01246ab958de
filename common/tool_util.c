/* tool_util.c: helpers shared by aplcl's programs (see tool_util.h). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "tool_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

cli_rng cli_rng_seed(uint64_t seed) {
    cli_rng r = {seed};
    return r;
}

uint64_t cli_rng_next(cli_rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double cli_rng_uniform(cli_rng *r) { return (double)(cli_rng_next(r) >> 11) * 0x1.0p-53; }

double cli_rng_range(cli_rng *r, double lo, double hi) {
    return lo + (hi - lo) * cli_rng_uniform(r);
}

double cli_rng_normal(cli_rng *r, double mean, double sd) {
    double u1 = cli_rng_uniform(r), u2 = cli_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return mean + sd * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void cli_rng_shuffle_u32(cli_rng *r, uint32_t *a, size_t n) {
    for (size_t i = n; i > 1; --i) {
        size_t j = (size_t)(cli_rng_next(r) % i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

cli_device_spec *cli_device_specs(const char *named, const char *who, size_t *count) {
    cli_device_spec *specs = NULL;
    *count = 0;
    if (named) {
        if ((specs = calloc(1, sizeof *specs))) {
            snprintf(specs[0], sizeof specs[0], "%s", named);
            *count = 1;
        }
    } else {
        size_t n = 0;
        aplcl_status st = aplcl_list_devices(NULL, 0, &n);
        aplcl_device_info *infos = n ? calloc(n, sizeof *infos) : NULL;
        if (st != APLCL_SUCCESS || !infos) {
            fprintf(stderr, "%s: %s\n", who,
                    st != APLCL_SUCCESS ? aplcl_status_string(st) : "no OpenCL device");
            free(infos);
            return NULL;
        }
        aplcl_list_devices(infos, n, &n);
        if ((specs = calloc(n, sizeof *specs))) {
            for (size_t i = 0; i < n; ++i)
                snprintf(specs[i], sizeof specs[i], "%u:%u", infos[i].platform_index,
                         infos[i].device_index);
            *count = n;
        }
        free(infos);
    }
    if (!specs)
        fprintf(stderr, "%s: out of memory\n", who);
    return specs;
}

void cli_release_all(const cl_mem *ms, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (ms[i])
            clReleaseMemObject(ms[i]);
}

void cli_csv_field(FILE *f, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; ++s) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

int cli_close_output(FILE *f, const char *path, const char *who) {
    if (!f)
        return 0;
    errno = 0;
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (f != stdout && fclose(f) != 0 && !bad)
        bad = 1, e = errno;
    if (!bad)
        return 0;
    fprintf(stderr, "%s: cannot write %s: %s\n", who, f == stdout ? "standard output" : path,
            e ? strerror(e) : "write error");
    return -1;
}

void cli_json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cli_json_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

double cli_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void cli_stats(double *t, int n, double *median, double *min, double *max) {
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    *min = t[0];
    *max = t[n - 1];
    *median = n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Strict decimal: the whole string, digits only, at most hi. */
static int env_uint(const char *name, unsigned hi, unsigned *out, int *given) {
    const char *s = getenv(name);
    *given = s && *s;
    if (!*given)
        return 0;
    unsigned long long v = 0;
    for (const char *p = s; *p; ++p) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (unsigned)(*p - '0');
        if (v > hi)
            return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int is_pow2_u(unsigned v) { return v != 0 && (v & (v - 1)) == 0; }

int cli_ctx_options_from_env(aplcl_ctx_options *o, const char **bad) {
    *o = aplcl_ctx_options_default();
    unsigned v = 0;
    int given = 0;
    const char *which = NULL;
    if (env_uint("APLCL_VECTOR_WIDTH", 16, &v, &given) || (given && !is_pow2_u(v)))
        which = "APLCL_VECTOR_WIDTH";
    else if (given)
        o->vector_width = v;
    if (!which) {
        if (env_uint("APLCL_LOCAL_SIZE", 1u << 16, &v, &given) || (given && !is_pow2_u(v)))
            which = "APLCL_LOCAL_SIZE";
        else if (given)
            o->local_size = v;
    }
    if (!which) {
        if (env_uint("APLCL_CONTIGUOUS", 1, &v, &given))
            which = "APLCL_CONTIGUOUS";
        else if (given)
            o->layout = v ? APLCL_LAYOUT_CONTIGUOUS : APLCL_LAYOUT_STRIDED;
    }
    if (!which) {
        if (env_uint("APLCL_QUEUE", 2, &v, &given))
            which = "APLCL_QUEUE";
        else if (given)
            o->sparse_queue = v == 0   ? APLCL_SPARSE_QUEUE_OFF
                              : v == 2 ? APLCL_SPARSE_QUEUE_ALWAYS
                                       : APLCL_SPARSE_QUEUE_AUTO;
    }
    const char *kdir = getenv("APLCL_KERNEL_DIR");
    if (kdir && *kdir)
        o->kernel_dir = kdir;
    if (bad)
        *bad = which;
    return which ? -1 : 0;
}

aplcl_status cli_ctx_create(aplcl_ctx **ctx, const char *device) {
    aplcl_ctx_options o;
    if (cli_ctx_options_from_env(&o, NULL) != 0) {
        if (ctx)
            *ctx = NULL;
        return APLCL_ERR_INVALID_OPTION;
    }
    o.device = device;
    return aplcl_ctx_create_ex(ctx, &o);
}

void cli_cuda_options_from_env(aplcl_cuda_options *o) {
    *o = aplcl_cuda_options_default();
    const char *cuda = getenv("APLCL_CUDA_LIBRARY"), *nvrtc = getenv("APLCL_NVRTC_LIBRARY");
    if (cuda && *cuda)
        o->cuda_library = cuda;
    if (nvrtc && *nvrtc)
        o->nvrtc_library = nvrtc;
}

aplcl_status cli_cuda_ctx_create(aplcl_cuda_ctx **ctx, int ordinal) {
    aplcl_cuda_options o;
    cli_cuda_options_from_env(&o);
    return aplcl_cuda_ctx_create(ctx, ordinal, &o);
}

/* ---- target packing: the library's packers (aplcl_pack_bits, aplcl_pack_csr) ---- */

int cli_pack_u8(const uint8_t *y, size_t rows, size_t cols, aplcl_target_format fmt, uint32_t *bits,
                uint64_t *row_ptr, uint32_t *indices, size_t nnz) {
    if (rows == 0 || cols == 0) { /* nothing to pack (and no division by cols) */
        for (size_t r = 0; fmt == APLCL_TARGET_CSR && row_ptr && r <= rows; ++r)
            row_ptr[r] = 0;
        return 0;
    }
    /* through a float copy of a block of rows at a time: no float copy of the whole matrix */
    size_t block = ((size_t)1 << 20) / cols, words = APLCL_BITS_WORDS(cols), done = 0;
    if (block == 0)
        block = 1;
    float *yf = malloc((block < rows ? block : rows) * cols * sizeof *yf);
    if (!yf)
        return 1;
    aplcl_status st = APLCL_SUCCESS;
    for (size_t r0 = 0; r0 < rows && st == APLCL_SUCCESS; r0 += block) {
        size_t nr = rows - r0 < block ? rows - r0 : block, k = 0;
        for (size_t i = 0; i < nr * cols; ++i)
            yf[i] = (float)y[r0 * cols + i];
        if (fmt == APLCL_TARGET_BITS) {
            st = aplcl_pack_bits(nr, cols, yf, bits + r0 * words, NULL);
            continue;
        }
        /* the block's row pointers start at 0, over the previous block's last one */
        st = aplcl_pack_csr(nr, cols, yf, row_ptr + r0, indices + done, nnz - done, &k);
        for (size_t r = 0; r <= nr; ++r)
            row_ptr[r0 + r] += done;
        done += k;
    }
    free(yf);
    return st != APLCL_SUCCESS;
}

size_t cli_count_positives(const uint8_t *y, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < n; ++i)
        k += y[i] == 1;
    return k;
}
