/* bench_data.c: inputs of `aplcl bench`: the two logit regimes, target packing (BITS, CSR, by
 * the library's packers) and --save-inputs / --load-inputs files.
 *
 * Host-side only; the device never sees these helpers. Storage conversions are the library's
 * (aplcl_f32_to_f16 etc.), so the reference is evaluated on exactly the logits the device reads.
 */
#include "bench.h"
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- regimes ---- */

double cli_bench_pos_rate(size_t cols) {
    double p = 3.0 / (double)cols; /* about 3 positives per row (80 labels: 3.75%) */
    return p < 0.01 ? 0.01 : p > 0.5 ? 0.5 : p;
}

uint64_t cli_bench_seed(size_t rows, size_t cols, int trained) {
    return 0x5eed0000u + (uint64_t)rows * 1000003u + (uint64_t)cols * 7919u + (trained ? 7u : 3u);
}

void cli_bench_make_inputs(size_t rows, size_t cols, int trained, uint64_t seed, float *x,
                           uint8_t *y) {
    cli_rng r = {seed};
    double rate = cli_bench_pos_rate(cols);
    size_t n = rows * cols;
    for (size_t i = 0; i < n; ++i) {
        int pos = cli_rng_uniform(&r) < rate;
        y[i] = (uint8_t)pos;
        x[i] = trained ? (float)cli_rng_normal(&r, pos ? 3.0 : -6.0, 2.0)
                       : (float)cli_rng_normal(&r, 0.0, 2.0);
    }
}

/* ---- --save-inputs / --load-inputs ---- */

static int write_file(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        return 1;
    }
    int bad = bytes && fwrite(data, 1, bytes, f) != bytes;
    bad |= fclose(f) != 0;
    if (bad)
        fprintf(stderr, "aplcl bench: writing %s failed\n", path);
    return bad;
}

static int is_little_endian(void) {
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

int cli_bench_save_inputs(const char *dir, size_t rows, size_t cols, int trained, uint64_t seed,
                          const float *x, const uint8_t *y) {
    if (!is_little_endian()) {
        fprintf(stderr, "aplcl bench: --save-inputs writes little-endian files only\n");
        return 1;
    }
    size_t n = rows * cols;
    char meta[256];
    int len = snprintf(meta, sizeof meta,
                       "rows %zu\ncols %zu\nregime %s\nseed %llu\n"
                       "logits logits.f32 float32 little-endian row-major\n"
                       "targets targets.u8 uint8 0/1 row-major\n",
                       rows, cols, trained ? "trained" : "early", (unsigned long long)seed);
    if (write_file(dir, "logits.f32", x, n * sizeof *x) || write_file(dir, "targets.u8", y, n) ||
        write_file(dir, "meta.txt", meta, (size_t)len))
        return 1;
    return 0;
}

static void *read_file(const char *dir, const char *name, size_t expect) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    unsigned char *buf = malloc(expect ? expect : 1);
    size_t got = buf ? fread(buf, 1, expect, f) : 0;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (!buf || got != expect || extra) {
        fprintf(stderr, "aplcl bench: %s: expected exactly %zu bytes\n", path, expect);
        free(buf);
        return NULL;
    }
    return buf;
}

int cli_bench_load_inputs(const char *dir, size_t *rows, size_t *cols, int *trained, uint64_t *seed,
                          float **x, uint8_t **y) {
    char path[4096], key[64], val[256];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    unsigned long long r = 0, c = 0, s = 0;
    int regime = -1;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%63s %255s", key, val) != 2)
            continue;
        /* the tools' one number rule: a malformed number is refused, not read as far as it goes */
        uint64_t v = 0;
        int numeric = !strcmp(key, "rows") || !strcmp(key, "cols") || !strcmp(key, "seed");
        if (numeric && cli_strict_u64(val, &v) != 0) {
            fprintf(stderr, "aplcl bench: %s: %s '%s' is not a decimal integer\n", path, key, val);
            fclose(f);
            return 1;
        }
        if (strcmp(key, "rows") == 0)
            r = v;
        if (strcmp(key, "cols") == 0)
            c = v;
        if (strcmp(key, "seed") == 0)
            s = v;
        if (strcmp(key, "regime") == 0)
            regime = strcmp(val, "trained") == 0 ? 1 : strcmp(val, "early") == 0 ? 0 : -1;
    }
    fclose(f);
    if (!r || !c || regime < 0 || r > SIZE_MAX / c / sizeof(float)) {
        fprintf(stderr, "aplcl bench: %s: need rows, cols and regime (early|trained)\n", path);
        return 1;
    }
    if (!is_little_endian()) {
        fprintf(stderr, "aplcl bench: --load-inputs reads little-endian files only\n");
        return 1;
    }
    size_t n = (size_t)r * (size_t)c;
    *x = read_file(dir, "logits.f32", n * sizeof(float));
    *y = *x ? read_file(dir, "targets.u8", n) : NULL;
    if (!*x || !*y) {
        free(*x), free(*y);
        *x = NULL, *y = NULL;
        return 1;
    }
    for (size_t i = 0; i < n; ++i)
        if ((*y)[i] > 1 || !isfinite((*x)[i])) {
            fprintf(stderr,
                    "aplcl bench: %s: element %zu: targets must be 0 or 1 and logits finite\n", dir,
                    i);
            free(*x), free(*y);
            *x = NULL, *y = NULL;
            return 1;
        }
    *rows = (size_t)r, *cols = (size_t)c, *trained = regime, *seed = s;
    return 0;
}
