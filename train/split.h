/* split.h: a seeded, label-stratified train/validation split of a multi-label data set.
 *
 * Iterative stratification (Sechidis, Tsoumakas and Vlahavas, "On the stratification of
 * multi-label data", ECML PKDD 2011): the rarest label's rows are dealt first, each to the subset
 * that still wants most of that label, so every label's positives are split in about the
 * requested ratio where its count allows (a label with one positive cannot be). Not a k-fold
 * splitter: two subsets. Pure; nothing prints.
 */
#ifndef APLCL_TRAIN_SPLIT_H
#define APLCL_TRAIN_SPLIT_H

#include "arff.h"

#include <stddef.h>
#include <stdint.h>

/* Marks is_val[r] = 1 for about fraction * rows rows (fraction in (0, 1)), 0 for the rest.
 * Same (y, fraction, seed): same split. Returns 0, or -1 when an allocation fails or either
 * subset would be empty (rows < 2, or fraction too close to 0 or 1 for rows). */
int split_stratified(const uint8_t *y, size_t rows, size_t labels, double fraction, uint64_t seed,
                     uint8_t *is_val);

/* out = the rows r of src with mask[r] == want (features, labels, layout as src; names NULL).
 * Returns 0, or -1 (allocation failure, or no such row) with *out zeroed. Free with arff_free. */
int split_subset(const arff_data *src, const uint8_t *mask, uint8_t want, arff_data *out);

#endif /* APLCL_TRAIN_SPLIT_H */
