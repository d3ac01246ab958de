/* test_metrics.c: the multi-label metrics of train/metrics.c against hand-worked values.
 *
 * Every expected number is worked out in the comment above its check. Also: the tie-break and NaN
 * conventions, skipped labels, the zero-division convention of F1, and the closed form of the
 * constant predictor's expected AP against brute-force enumeration of every ranking. Host only.
 */
#include "metrics.h"
#include "test_util.h"

#include <string.h>

static void test_ap(void) {
    int m = tu_case_begin();
    /* One label, scores already in descending order, positives at ranks 1, 3, 5:
     * AP = (1/1 + 2/3 + 3/5) / 3 = (15 + 10 + 9) / 15 / 3 = 34/45 = 0.755555... */
    const float s1[5] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f};
    const uint8_t y1[5] = {1, 0, 1, 0, 1};
    CHECK_NEAR(metrics_label_ap(s1, y1, 5, 1, 0), 34.0 / 45.0, 1e-15, 0);

    /* The same ranking from shuffled rows: rows (score, y) = (0.6,0) (0.9,1) (0.5,1) (0.8,0)
     * (0.7,1) sort to 0.9+ 0.8- 0.7+ 0.6- 0.5+, again 34/45. */
    const float s2[5] = {0.6f, 0.9f, 0.5f, 0.8f, 0.7f};
    const uint8_t y2[5] = {0, 1, 1, 0, 1};
    CHECK_NEAR(metrics_label_ap(s2, y2, 5, 1, 0), 34.0 / 45.0, 1e-15, 0);

    /* Perfect ranking: AP 1. Worst ranking of 2 positives in 4 (ranks 3, 4):
     * (1/3 + 2/4) / 2 = 5/12. */
    const float s3[4] = {4, 3, 2, 1};
    const uint8_t good[4] = {1, 1, 0, 0}, bad[4] = {0, 0, 1, 1};
    CHECK_EQ_DBL(metrics_label_ap(s3, good, 4, 1, 0), 1.0);
    CHECK_NEAR(metrics_label_ap(s3, bad, 4, 1, 0), 5.0 / 12.0, 1e-15, 0);

    /* Logits and probabilities give the same AP: only the order counts. */
    const float logits[5] = {2.2f, 1.4f, 0.8f, 0.4f, 0.0f};
    CHECK_NEAR(metrics_label_ap(logits, y1, 5, 1, 0), 34.0 / 45.0, 1e-15, 0);
    tu_case_end(m, "AP: hand-worked values, row order does not matter");

    m = tu_case_begin();
    /* Ties: all scores equal, so the order is the row index. y = 0 1 0 1: positives at ranks 2
     * and 4, AP = (1/2 + 2/4) / 2 = 1/2; y = 1 0 1 0: ranks 1 and 3, AP = (1 + 2/3) / 2 = 5/6. */
    const float tie[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const uint8_t ya[4] = {0, 1, 0, 1}, yb[4] = {1, 0, 1, 0};
    CHECK_NEAR(metrics_label_ap(tie, ya, 4, 1, 0), 0.5, 1e-15, 0);
    CHECK_NEAR(metrics_label_ap(tie, yb, 4, 1, 0), 5.0 / 6.0, 1e-15, 0);
    /* A partial tie: scores 0.9, 0.5, 0.5, 0.1 with y = 0 0 1 1: order rows 0, 1, 2, 3 (the tied
     * rows 1 and 2 keep index order), positives at ranks 3 and 4: (1/3 + 2/4) / 2 = 5/12. With the
     * tied rows' labels swapped (y = 0 1 0 1) ranks 2 and 4: (1/2 + 2/4) / 2 = 1/2. */
    const float part[4] = {0.9f, 0.5f, 0.5f, 0.1f};
    const uint8_t yc[4] = {0, 0, 1, 1}, yd[4] = {0, 1, 0, 1};
    CHECK_NEAR(metrics_label_ap(part, yc, 4, 1, 0), 5.0 / 12.0, 1e-15, 0);
    CHECK_NEAR(metrics_label_ap(part, yd, 4, 1, 0), 0.5, 1e-15, 0);
    /* NaN ranks last: scores NaN, 0.1 with y = 1, 0 put the positive at rank 2: AP 1/2. And two
     * NaNs tie by index: NaN(y=0), NaN(y=1), -5(y=0) -> order -5, NaN row 0, NaN row 1: the
     * positive at rank 3, AP 1/3. */
    const float sn[2] = {NAN, 0.1f};
    const uint8_t yn[2] = {1, 0};
    CHECK_NEAR(metrics_label_ap(sn, yn, 2, 1, 0), 0.5, 1e-15, 0);
    const float sn2[3] = {NAN, NAN, -5.0f};
    const uint8_t yn2[3] = {0, 1, 0};
    CHECK_NEAR(metrics_label_ap(sn2, yn2, 3, 1, 0), 1.0 / 3.0, 1e-15, 0);
    /* -0 and +0 are equal scores: a tie broken by index. Rows (-0, y=1), (+0, y=0): rank 1. */
    const float sz[2] = {-0.0f, 0.0f};
    const uint8_t yz[2] = {1, 0};
    CHECK_EQ_DBL(metrics_label_ap(sz, yz, 2, 1, 0), 1.0);
    tu_case_end(m, "AP ties: by row index; NaN last");

    m = tu_case_begin();
    /* mAP over 3 labels (columns), 5 rows:
     *   label 0: scores 0.9 .. 0.5, y 1 0 1 0 1     -> 34/45 (above)
     *   label 1: no positive                        -> skipped
     *   label 2: every row positive                 -> AP 1 (precision 1 at every rank)
     * mAP = (34/45 + 1) / 2 = 79/90 = 0.877777..., skipped = 1. */
    const float s[15] = {0.9f, 0.1f, 0.3f, 0.8f, 0.2f, 0.1f, 0.7f, 0.3f,
                         0.9f, 0.6f, 0.4f, 0.2f, 0.5f, 0.5f, 0.5f};
    const uint8_t y[15] = {1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1};
    size_t skipped = 99;
    CHECK_NEAR(metrics_map(s, y, 5, 3, &skipped), 79.0 / 90.0, 1e-15, 0);
    CHECK_EQ(skipped, 1);
    CHECK_NEAR(metrics_label_ap(s, y, 5, 3, 0), 34.0 / 45.0, 1e-15, 0);
    CHECK(isnan(metrics_label_ap(s, y, 5, 3, 1)));
    CHECK_EQ_DBL(metrics_label_ap(s, y, 5, 3, 2), 1.0);
    CHECK(isnan(metrics_label_ap(s, y, 5, 3, 3))); /* no such label */
    CHECK_NEAR(metrics_map(s, y, 5, 3, NULL), 79.0 / 90.0, 1e-15, 0);

    /* Every label skipped: NaN, skipped = labels. rows 0 likewise. */
    const uint8_t none[4] = {0, 0, 0, 0};
    CHECK(isnan(metrics_map(tie, none, 2, 2, &skipped)));
    CHECK_EQ(skipped, 2);
    CHECK(isnan(metrics_map(tie, none, 0, 2, &skipped)));
    CHECK_EQ(skipped, 2);
    tu_case_end(m, "mAP: labels without positives are skipped and counted");
}

static void test_f1(void) {
    int m = tu_case_begin();
    /* 4 rows x 3 labels, threshold 0.5 (>= counts as positive):
     *   label 0: p 0.9 0.6 0.4 0.2, y 1 0 1 0 -> pred 1 1 0 0: TP 1, FP 1, FN 1, F1 = 2/4 = 1/2
     *   label 1: p 0.5 0.1 0.7 0.3, y 1 0 0 0 -> pred 1 0 1 0: TP 1, FP 1, FN 0, F1 = 2/3
     *   label 2: p 0.1 0.2 0.3 0.4, y 0 0 0 0 -> pred 0 0 0 0: TP = FP = FN = 0, F1 = 1
     * micro: TP 2, FP 2, FN 1 -> 4 / (4 + 3) = 4/7; macro = (1/2 + 2/3 + 1) / 3 = 13/18. */
    const float p[12] = {0.9f, 0.5f, 0.1f, 0.6f, 0.1f, 0.2f, 0.4f, 0.7f, 0.3f, 0.2f, 0.3f, 0.4f};
    const uint8_t y[12] = {1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0};
    double micro = -1, macro = -1;
    metrics_f1(p, y, 4, 3, 0.5f, &micro, &macro);
    CHECK_NEAR(micro, 4.0 / 7.0, 1e-15, 0);
    CHECK_NEAR(macro, 13.0 / 18.0, 1e-15, 0);
    CHECK_EQ(metrics_f1_empty_labels(p, y, 4, 3, 0.5f), 1);

    /* Threshold 0.55: label 1's 0.5 is now negative -> label 1: TP 0, FP 1, FN 1, F1 0;
     * micro: TP 1, FP 2, FN 2 -> 2 / (2 + 4) = 1/3; macro = (1/2 + 0 + 1) / 3 = 1/2. */
    metrics_f1(p, y, 4, 3, 0.55f, &micro, &macro);
    CHECK_NEAR(micro, 1.0 / 3.0, 1e-15, 0);
    CHECK_NEAR(macro, 0.5, 1e-15, 0);

    /* A label with no positive but a false alarm has F1 0 (TP 0, FP 1): not "empty". */
    const float p2[2] = {0.9f, 0.1f};
    const uint8_t y2[2] = {0, 0};
    metrics_f1(p2, y2, 2, 1, 0.5f, &micro, &macro);
    CHECK_EQ_DBL(micro, 0.0);
    CHECK_EQ_DBL(macro, 0.0);
    CHECK_EQ(metrics_f1_empty_labels(p2, y2, 2, 1, 0.5f), 0);

    /* Nothing positive, nothing predicted: both 1 by the convention. NaN is never positive. */
    const float p3[2] = {NAN, 0.2f};
    metrics_f1(p3, y2, 2, 1, 0.5f, &micro, &macro);
    CHECK_EQ_DBL(micro, 1.0);
    CHECK_EQ_DBL(macro, 1.0);
    metrics_f1(p3, y2, 2, 1, 0.5f, NULL, NULL); /* outputs optional */
    tu_case_end(m, "F1: micro 4/7, macro 13/18 (empty label = 1), threshold inclusive");
}

/* Every permutation of ranks over n rows, by Heap's algorithm, averaging metrics_label_ap. */
static double brute_expected_ap(const uint8_t *y, size_t n) {
    float s[8];
    size_t c[8] = {0};
    for (size_t i = 0; i < n; i++)
        s[i] = (float)i;
    double sum = metrics_label_ap(s, y, n, 1, 0);
    size_t count = 1, i = 0;
    while (i < n) {
        if (c[i] < i) {
            size_t j = (i % 2 == 0) ? 0 : c[i];
            float t = s[j];
            s[j] = s[i];
            s[i] = t;
            sum += metrics_label_ap(s, y, n, 1, 0);
            count++;
            c[i]++;
            i = 0;
        } else {
            c[i] = 0;
            i++;
        }
    }
    return sum / (double)count;
}

static void test_baseline(void) {
    int m = tu_case_begin();
    /* n = 3, P = 1: the positive is at rank 1, 2 or 3 -> E[AP] = (1 + 1/2 + 1/3) / 3 = 11/18.
     * n = 3, P = 2: positive ranks {1,2}: 1; {1,3}: (1 + 2/3)/2 = 5/6; {2,3}: (1/2 + 2/3)/2 =
     * 7/12 -> E[AP] = (12 + 10 + 7) / 12 / 3 = 29/36. Closed form (H_3 = 11/6):
     * (11/6 + 1/2 * (3 - 11/6)) / 3 = 29/36. Two labels -> mean (11/18 + 29/36) / 2 = 51/72. */
    const uint8_t y[6] = {1, 1, 0, 1, 0, 0};
    size_t skipped = 99;
    CHECK_NEAR(metrics_baseline_map(y, 3, 2, &skipped), 51.0 / 72.0, 1e-15, 0);
    CHECK_EQ(skipped, 0);
    /* Positive rates 1/3 and 2/3: plain mean 1/2. */
    CHECK_NEAR(metrics_positive_rate_mean(y, 3, 2, &skipped), 0.5, 1e-15, 0);

    /* n = 1 with a positive: AP 1. A label without positives is skipped. */
    const uint8_t y1[2] = {1, 0};
    CHECK_EQ_DBL(metrics_baseline_map(y1, 1, 2, &skipped), 1.0);
    CHECK_EQ(skipped, 1);
    CHECK(isnan(metrics_baseline_map(y1 + 1, 1, 1, &skipped)));
    CHECK(isnan(metrics_positive_rate_mean(y1 + 1, 1, 1, &skipped)));
    CHECK_EQ(skipped, 1);

    /* The closed form against every ranking, for 7 rows and each number of positives. */
    for (size_t pos = 1; pos <= 7; pos++) {
        uint8_t yy[7] = {0};
        for (size_t i = 0; i < pos; i++)
            yy[(i * 3) % 7] = 1; /* spread out; the expectation does not depend on where */
        CHECK_NEAR(metrics_baseline_map(yy, 7, 1, NULL), brute_expected_ap(yy, 7), 1e-12, 0);
    }
    tu_case_end(m, "baseline mAP: 51/72 by hand, closed form = enumeration of all 7! rankings");

    /* For many rows the baseline approaches the positive rate: 1000 rows, 100 positives:
     * E[AP] = 0.1 + (H_n / n) * (1 - 99/999) ~ 0.1 + 0.0075 * 0.9 = 0.10674. */
    m = tu_case_begin();
    uint8_t *big = tu_xmalloc(1000);
    for (size_t i = 0; i < 1000; i++)
        big[i] = (i % 10) == 3;
    double b = metrics_baseline_map(big, 1000, 1, NULL);
    CHECK(b > 0.1 && b < 0.108);
    CHECK_NEAR(metrics_positive_rate_mean(big, 1000, 1, NULL), 0.1, 1e-15, 0);
    free(big);
    tu_case_end(m, "baseline mAP: 1000 rows, 10%% positive -> %.6f", b);
}

/* metrics_ml.c on one worked case, 3 rows x 4 labels, threshold 0.5:
 *   row 0: y 1 0 1 0, scores 0.9 0.6 0.4 0.1 -> predicted 1 1 0 0
 *   row 1: y 0 0 0 0, scores 0.2 0.7 0.1 0.3 -> predicted 0 1 0 0
 *   row 2: y 0 1 0 0, scores 0.3 0.3 0.8 0.1 -> predicted 0 0 1 0 */
static void test_ml(void) {
    int m = tu_case_begin();
    const uint8_t y[12] = {1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0};
    const float s[12] = {0.9f, 0.6f, 0.4f, 0.1f, 0.2f, 0.7f, 0.1f, 0.3f, 0.3f, 0.3f, 0.8f, 0.1f};
    /* wrong decisions: row 0 labels 1 and 2, row 1 label 1, row 2 labels 1 and 2: 5 of 12 */
    CHECK_NEAR(metrics_hamming_loss(s, y, 3, 4, 0.5f), 5.0 / 12.0, 1e-15, 0);
    /* row 0: pairs (pos, neg) = (0,1) (0,3) (2,1) (2,3); only 0.6 >= 0.4 is wrong: 1/4.
     * row 1: no positive: 0. row 2: positive 1 (0.3) against 0 (0.3, a tie: wrong), 2 (0.8,
     * wrong), 3 (0.1): 2/3. Mean (1/4 + 0 + 2/3) / 3 = 11/36. */
    CHECK_NEAR(metrics_ranking_loss(s, y, 3, 4), 11.0 / 36.0, 1e-15, 0);
    /* row 0: lowest positive 0.4, three labels score >= 0.4; row 1: 0; row 2: lowest positive
     * 0.3, three labels >= 0.3 (the tie counts): (3 + 0 + 3) / 3 = 2 */
    CHECK_NEAR(metrics_coverage(s, y, 3, 4), 2.0, 1e-15, 0);
    /* top labels: row 0 label 0 (positive), row 1 label 1 (no positive: an error), row 2 label 2
     * (negative): 2/3 */
    CHECK_NEAR(metrics_one_error(s, y, 3, 4), 2.0 / 3.0, 1e-15, 0);
    /* row 0: Y {0,2}, Z {0,1}: P 1/2 R 1/2 F1 2/4. row 1: Y {}, Z {1}: P 0, R 1 (empty), F1 0.
     * row 2: Y {1}, Z {2}: 0, 0, 0. Means: P 1/6, R 1/2, F1 1/6. */
    double p = 0, r = 0, f = 0;
    metrics_example_prf(s, y, 3, 4, 0.5f, &p, &r, &f);
    CHECK_NEAR(p, 1.0 / 6.0, 1e-15, 0);
    CHECK_NEAR(r, 0.5, 1e-15, 0);
    CHECK_NEAR(f, 1.0 / 6.0, 1e-15, 0);
    metrics_set all;
    metrics_all(s, s, y, 3, 4, 0.5f, &all);
    CHECK_NEAR(all.ranking_loss, 11.0 / 36.0, 1e-15, 0);
    CHECK_NEAR(metrics_get(&all, 9), 1.0 / 6.0, 1e-15, 0);
    CHECK(strcmp(metrics_names[9], "ex_f1") == 0);
    tu_case_end(m, "Hamming, ranking loss, coverage, one-error, example P/R/F1: worked case");

    m = tu_case_begin();
    /* One-error ties go to the lowest index: scores 0.5 0.5, y 0 1 -> label 0, an error. Every
     * label positive: ranking loss 0 (no pair), coverage = labels. Nothing predicted, nothing
     * true: P = R = F1 = 1 (zero_division = 1). */
    const float t[2] = {0.5f, 0.5f};
    const uint8_t yt[2] = {0, 1}, ya[2] = {1, 1}, y0[2] = {0, 0};
    const float lo[2] = {0.1f, 0.2f};
    CHECK_EQ_DBL(metrics_one_error(t, yt, 1, 2), 1.0);
    CHECK_EQ_DBL(metrics_ranking_loss(lo, ya, 1, 2), 0.0);
    CHECK_EQ_DBL(metrics_coverage(lo, ya, 1, 2), 2.0);
    metrics_example_prf(lo, y0, 1, 2, 0.5f, &p, &r, &f);
    CHECK(p == 1.0 && r == 1.0 && f == 1.0);
    tu_case_end(m, "one-error tie-break, all-positive rows, the empty-set convention");
}

int main(void) {
    test_ap();
    test_f1();
    test_baseline();
    test_ml();
    return tu_exit_code();
}
