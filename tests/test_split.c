/* test_split.c: the stratified validation split of train/split.c.
 *
 * On a synthetic multi-label set with labels of very different frequency: the validation size is
 * round(fraction * rows); every label with enough positives lands in validation in proportion
 * (within one row of the ideal); the same seed gives the same split and another seed another;
 * split_subset copies the right rows; impossible requests fail cleanly. Host only.
 */
#include "split.h"
#include "test_util.h"
#include "tool_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { ROWS = 1000, LABELS = 8 };

int main(void) {
    static uint8_t y[ROWS * LABELS], v1[ROWS], v2[ROWS], v3[ROWS];
    static const double rate[LABELS] = {0.5, 0.3, 0.1, 0.05, 0.02, 0.01, 0.005, 0.2};
    cli_rng r = cli_rng_seed(42);
    for (int i = 0; i < ROWS; ++i)
        for (int l = 0; l < LABELS; ++l)
            y[i * LABELS + l] = cli_rng_uniform(&r) < rate[l];
    int m = tu_case_begin();
    CHECK_EQ(split_stratified(y, ROWS, LABELS, 0.2, 7, v1), 0);
    size_t nv = 0;
    for (int i = 0; i < ROWS; ++i)
        nv += v1[i];
    CHECK_EQ(nv, 200);
    for (int l = 0; l < LABELS; ++l) {
        size_t pos = 0, pv = 0;
        for (int i = 0; i < ROWS; ++i)
            pos += y[i * LABELS + l], pv += y[i * LABELS + l] && v1[i];
        /* iterative stratification: within one row of 20% of the label's positives */
        CHECK(fabs((double)pv - 0.2 * (double)pos) <= 1.0 + 1e-9);
    }
    tu_case_end(m, "200 of 1000 rows, every label within one row of 20%% of its positives");

    m = tu_case_begin();
    CHECK_EQ(split_stratified(y, ROWS, LABELS, 0.2, 7, v2), 0);
    CHECK(memcmp(v1, v2, ROWS) == 0);
    CHECK_EQ(split_stratified(y, ROWS, LABELS, 0.2, 8, v3), 0);
    CHECK(memcmp(v1, v3, ROWS) != 0);
    tu_case_end(m, "same seed, same split; another seed, another split");

    m = tu_case_begin();
    float x[ROWS * 2];
    for (int i = 0; i < ROWS * 2; ++i)
        x[i] = (float)i;
    arff_data src = {ROWS, 2, LABELS, 0, x, y, NULL, 0, NULL, ""}, val;
    CHECK_EQ(split_subset(&src, v1, 1, &val), 0);
    CHECK_EQ(val.rows, 200);
    int k = 0;
    for (int i = 0; i < ROWS && val.rows == 200; ++i)
        if (v1[i]) {
            CHECK_EQ_DBL(val.x[k * 2 + 1], (double)x[i * 2 + 1]);
            CHECK(memcmp(val.y + k * LABELS, y + i * LABELS, LABELS) == 0);
            ++k;
        }
    arff_free(&val);
    tu_case_end(m, "split_subset copies the marked rows in order");

    m = tu_case_begin();
    CHECK_EQ(split_stratified(y, 1, LABELS, 0.5, 1, v1), -1);
    CHECK_EQ(split_stratified(y, ROWS, LABELS, 0.0, 1, v1), -1);
    CHECK_EQ(split_stratified(y, ROWS, LABELS, 1.0, 1, v1), -1);
    CHECK_EQ(split_stratified(y, 10, LABELS, 0.01, 1, v1), -1); /* no validation row */
    CHECK_EQ(split_stratified(y, ROWS, 0, 0.1, 1, v1), 0);      /* no labels: plain split */
    memset(v2, 0, sizeof v2);
    CHECK_EQ(split_subset(&src, v2, 1, &val), -1);
    CHECK(val.x == NULL && val.rows == 0);
    tu_case_end(m, "impossible splits fail cleanly");
    return tu_exit_code();
}
