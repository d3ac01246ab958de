/* pos_weight.c: `aplcl train --pos-weight auto | FILE` (pos_weight.h). Host only. */
#include "pos_weight.h"

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

int pos_weight_read(const char *who, const char *path, size_t labels, float *out) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s: %s\n", who, path, strerror(errno));
        return -1;
    }
    size_t n = 0;
    int rc = 0;
    char word[128];
    int ch = 0;
    while (rc == 0 && ch != EOF) {
        size_t len = 0;
        while ((ch = fgetc(f)) != EOF) {
            if (ch == '#') { /* comment to the end of the line */
                while ((ch = fgetc(f)) != EOF && ch != '\n')
                    ;
                break;
            }
            if (ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
                break;
            if (len + 1 < sizeof word)
                word[len++] = (char)ch;
            else
                len = sizeof word; /* too long: reported below */
        }
        if (len == 0)
            continue;
        char *end = NULL;
        double v = len < sizeof word ? (word[len] = '\0', strtod(word, &end)) : NAN;
        if (len >= sizeof word || *end != '\0' || !isfinite(v) || v < 0.0 || v > 3.0e38) {
            fprintf(stderr, "%s: %s: value %zu is not a finite number >= 0\n", who, path, n + 1);
            rc = -1;
        } else if (n == labels) {
            fprintf(stderr, "%s: %s: more than %zu values (one per label)\n", who, path, labels);
            rc = -1;
        } else {
            out[n++] = (float)v;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: %s: read error\n", who, path);
        rc = -1;
    }
    fclose(f);
    if (rc == 0 && n != labels) {
        fprintf(stderr, "%s: %s: %zu values, want %zu (one per label)\n", who, path, n, labels);
        rc = -1;
    }
    return rc;
}
