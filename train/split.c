/* split.c: iterative stratification into train and validation (split.h).
 *
 * O(rows * labels): the remaining count of each label is kept up to date as rows are dealt.
 * Ties are broken by a seeded shuffle of the row order, so the split depends on the seed only.
 */
#include "split.h"

#include "tool_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int split_stratified(const uint8_t *y, size_t rows, size_t labels, double fraction, uint64_t seed,
                     uint8_t *is_val) {
    if (rows < 2 || !(fraction > 0.0 && fraction < 1.0))
        return -1;
    double n_val = floor(fraction * (double)rows + 0.5);
    if (n_val < 1 || n_val > (double)rows - 1)
        return -1;
    size_t *order = malloc(rows * sizeof *order);
    double *want = malloc(2 * (labels ? labels : 1) * sizeof *want); /* [subset][label] */
    size_t *left = malloc((labels ? labels : 1) * sizeof *left);     /* unassigned positives */
    uint8_t *done = calloc(rows, 1);
    if (!order || !want || !left || !done) {
        free(order), free(want), free(left), free(done);
        return -1;
    }
    cli_rng rng = cli_rng_seed(seed ^ 0x5eed5a1177ull);
    for (size_t i = 0; i < rows; ++i)
        order[i] = i;
    for (size_t i = rows; i > 1; --i) {
        size_t j = (size_t)(cli_rng_next(&rng) % i), t = order[i - 1];
        order[i - 1] = order[j], order[j] = t;
    }
    double ratio[2] = {1.0 - n_val / (double)rows, n_val / (double)rows};
    double size_want[2] = {(double)rows - n_val, n_val};
    for (size_t l = 0; l < labels; ++l) {
        size_t c = 0;
        for (size_t r = 0; r < rows; ++r)
            c += y[r * labels + l] != 0;
        left[l] = c;
        want[l] = (double)c * ratio[0];
        want[labels + l] = (double)c * ratio[1];
    }
    /* assign row r to a subset: the one wanting most of label l (or, l == labels, most rows),
     * then most rows, then the coin */
    for (;;) {
        size_t best = labels;
        for (size_t l = 0; l < labels; ++l)
            if (left[l] && (best == labels || left[l] < left[best]))
                best = l;
        for (size_t k = 0; k < rows; ++k) {
            size_t r = order[k];
            if (done[r] || (best < labels && !y[r * labels + best]))
                continue;
            int s;
            double a = best < labels ? want[best] : size_want[0];
            double b = best < labels ? want[labels + best] : size_want[1];
            if (a != b)
                s = b > a;
            else if (size_want[0] != size_want[1])
                s = size_want[1] > size_want[0];
            else
                s = (int)(cli_rng_next(&rng) & 1);
            if (size_want[s] <= 0) /* a full subset takes no more rows */
                s = !s;
            is_val[r] = (uint8_t)s;
            done[r] = 1;
            size_want[s] -= 1;
            for (size_t l = 0; l < labels; ++l)
                if (y[r * labels + l]) {
                    want[(size_t)s * labels + l] -= 1;
                    left[l] -= 1;
                }
        }
        if (best == labels)
            break; /* the rows without any remaining label were dealt last */
    }
    free(order), free(want), free(left), free(done);
    return 0;
}

int split_subset(const arff_data *src, const uint8_t *mask, uint8_t want, arff_data *out) {
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (size_t r = 0; r < src->rows; ++r)
        n += mask[r] == want;
    if (n == 0)
        return -1;
    out->x = malloc(n * (src->features ? src->features : 1) * sizeof *out->x);
    out->y = malloc(n * (src->labels ? src->labels : 1));
    if (!out->x || !out->y) {
        arff_free(out);
        return -1;
    }
    out->rows = n, out->features = src->features, out->labels = src->labels;
    out->labels_first = src->labels_first;
    size_t k = 0;
    for (size_t r = 0; r < src->rows; ++r)
        if (mask[r] == want) {
            memcpy(out->x + k * src->features, src->x + r * src->features,
                   src->features * sizeof *out->x);
            memcpy(out->y + k * src->labels, src->y + r * src->labels, src->labels);
            ++k;
        }
    return 0;
}
