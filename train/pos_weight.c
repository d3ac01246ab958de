/* pos_weight.c: `aplcl train --pos-weight auto | FILE` (pos_weight.h). Host only. */
#include "pos_weight.h"

#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pos_weight_auto(const arff_data *d, float *out) {
    for (size_t c = 0; c < d->labels; ++c) {
        size_t pos = 0;
        for (size_t r = 0; r < d->rows; ++r)
            pos += d->y[r * d->labels + c] != 0;
        double ratio = pos ? (double)(d->rows - pos) / (double)pos : (double)POS_WEIGHT_CAP;
        /* every row positive: ratio 0 would erase the label's loss; keep 1/CAP */
        out[c] = (float)fmax(fmin(ratio, (double)POS_WEIGHT_CAP), 1.0 / (double)POS_WEIGHT_CAP);
    }
}

/* The file is read whole, up to this many bytes (a million labels of generous lines fit). */
#define POS_WEIGHT_MAX_FILE ((size_t)256 << 20)

static char *read_all(const char *who, const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", who, path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        size_t got = fread(b + n, 1, cap - n, f);
        if (memchr(b + n, '\0', got)) { /* not a text file (/dev/zero): say so at once */
            fprintf(stderr, "%s: %s: NUL byte near byte %zu (not a text file?)\n", who, path,
                    n + (size_t)((char *)memchr(b + n, '\0', got) - (b + n)) + 1);
            free(b), fclose(f);
            return NULL;
        }
        n += got;
        if (n < cap || ferror(f))
            break;
        if (cap >= POS_WEIGHT_MAX_FILE) {
            fprintf(stderr, "%s: %s: larger than %zu bytes\n", who, path, POS_WEIGHT_MAX_FILE);
            free(b), fclose(f);
            return NULL;
        }
        char *nb = realloc(b, cap * 2 + 1);
        if (!nb)
            free(b);
        b = nb, cap *= 2;
    }
    int bad = !b || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "%s: %s: %s\n", who, path, b ? "read error" : "out of memory");
        free(b);
        return NULL;
    }
    b[n] = '\0';
    *len = n;
    return b;
}

/* A word of the file for a message: at most 24 bytes, non-printable bytes as '?'. */
static void show(const char *w, size_t n, char *out, size_t cap) {
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap && i < 24; ++i)
        out[k++] = w[i] >= 0x20 && w[i] < 0x7f ? w[i] : '?';
    if (n > 24 && k + 4 < cap)
        out[k++] = '.', out[k++] = '.', out[k++] = '.';
    out[k] = '\0';
}

int pos_weight_read(const char *who, const char *path, size_t labels, float *out) {
    size_t len = 0;
    char *b = read_all(who, path, &len);
    if (!b)
        return -1;
    size_t i = 0, n = 0, line = 1;
    int rc = 0, after_value = 0, after_comma = 0;
    char shown[32];
    if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0)
        i = 3; /* a UTF-8 byte-order mark (editors write one) */
    while (rc == 0 && i < len) {
        char c = b[i];
        if (c == '#') { /* a comment, to the end of the line */
            while (i < len && b[i] != '\n')
                ++i;
        } else if (c == '\n') {
            ++line, ++i;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
        } else if (c == ',') {
            if (!after_value) {
                fprintf(stderr, "%s: %s:%zu: empty value (a comma %s)\n", who, path, line,
                        after_comma ? "after a comma" : "before any value");
                rc = -1;
            }
            after_value = 0, after_comma = 1, ++i;
        } else {
            size_t j = i;
            while (j < len && !strchr(" \t\r\n,#", b[j]) && b[j] != '\0')
                ++j;
            if (j == i) /* a NUL byte */
                j = i + 1;
            char word[64];
            double v = -1;
            size_t wn = j - i;
            int ok = wn < sizeof word;
            if (ok) {
                memcpy(word, b + i, wn);
                word[wn] = '\0';
                ok = cli_strict_f64(word, &v) == 0 && v >= 0.0 && v <= 3.0e38;
            }
            if (!ok) {
                show(b + i, wn, shown, sizeof shown);
                fprintf(stderr,
                        "%s: %s:%zu: value %zu '%s' is not a decimal number >= 0 (and below "
                        "3e38)\n",
                        who, path, line, n + 1, shown);
                rc = -1;
            } else if (n == labels) {
                fprintf(stderr, "%s: %s: more than %zu values (one per label)\n", who, path,
                        labels);
                rc = -1;
            } else {
                out[n++] = (float)v;
            }
            after_value = 1, after_comma = 0, i = j;
        }
    }
    free(b);
    if (rc == 0 && after_comma) {
        fprintf(stderr, "%s: %s:%zu: empty value (the file ends with a comma)\n", who, path, line);
        rc = -1;
    }
    if (rc == 0 && n != labels) {
        fprintf(stderr, "%s: %s: %zu values, want %zu (one per label)\n", who, path, n, labels);
        rc = -1;
    }
    return rc;
}
