/* pos_weight.h: the per-label pos_weight of `aplcl train --pos-weight` (see "weights" in
 * aplcl.h): computed from the training labels ("auto") or read from a file of numbers.
 *
 * auto is the usual balance: negatives / positives per label, kept within [1/POS_WEIGHT_CAP,
 * POS_WEIGHT_CAP] (a label with no positives gets the cap; it weighs nothing then). Not a general
 * imbalance toolkit: no per-sample weights here.
 */
#ifndef APLCL_TRAIN_POS_WEIGHT_H
#define APLCL_TRAIN_POS_WEIGHT_H

#include "arff.h"

#include <stddef.h>

#define POS_WEIGHT_CAP 100.0f

/* out[c] = negatives_c / positives_c over the rows of d, within [1/CAP, CAP]. */
void pos_weight_auto(const arff_data *d, float *out);

/* Reads exactly `labels` numbers, separated by whitespace and/or one comma ('#' starts a comment
 * to the end of the line; a UTF-8 byte-order mark is skipped), each a decimal number by the
 * tools' one rule (cli_strict_f64: no hex, no inf/nan) >= 0, from path into out. An empty field
 * (two commas, a comma first or last) is an error, not skipped. Returns 0, or -1 after printing
 * "who: path[:line]: ..." to stderr. */
int pos_weight_read(const char *who, const char *path, size_t labels, float *out);

#endif /* APLCL_TRAIN_POS_WEIGHT_H */
