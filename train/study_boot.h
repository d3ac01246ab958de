/* study_boot.h: the percentile bootstrap over test rows of `aplcl study`: how much a paired
 * test-mAP difference between two losses moves when the test set is drawn again.
 *
 * Pure: host arrays in, two numbers out; nothing prints. (It lives apart from cli/study.c because
 * the calibration, study_calib.h, times it too.)
 */
#ifndef APLCL_TRAIN_STUDY_BOOT_H
#define APLCL_TRAIN_STUDY_BOOT_H

#include <stddef.h>
#include <stdint.h>

/* The 95% percentile interval of mean_k [mAP(a[k]) - mAP(b[k])] over B resamples of the test rows
 * (drawn with replacement from a generator seeded by `seed`; the same rows for every k and both
 * sides). a[k], b[k]: rows x labels scores of seed k (k < n_seeds); y: the 0/1 targets. *lo, *hi
 * are NaN when B < 1, any score array is NULL, or an allocation fails. */
void study_bootstrap(const float *const *a, const float *const *b, int n_seeds, const uint8_t *y,
                     size_t rows, size_t labels, int B, uint64_t seed, double *lo, double *hi);

#endif /* APLCL_TRAIN_STUDY_BOOT_H */
