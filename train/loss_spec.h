/* loss_spec.h: the `--loss` syntax of `aplcl train` and `aplcl tune` (and `aplcl verify --params`):
 * parsing a spec into aplcl_params and printing aplcl_params back as a spec that parses to the
 * same bits.
 *
 * Syntax: "name[:key=value,...]"; name apl (reference defaults), bce, asl (4, 0, 0.05), focal (2),
 * poly1 (1); keys gamma_pos, gamma_neg, gamma (both), clip, eps, alpha=a1/a2/.. and beta=b1/..
 * (at most APLCL_MAX_TERMS each; "alpha=" alone means no leading coefficients), focus (0/1),
 * epsilon (poly1). Not the library: a tool-side helper; messages go to stderr, prefixed by `who`.
 */
#ifndef APLCL_TRAIN_LOSS_SPEC_H
#define APLCL_TRAIN_LOSS_SPEC_H

#include "aplcl.h"

#include <stddef.h>

#define LOSS_SPEC_MAX 256 /* bytes of a spec, NUL included */

typedef struct {
    char name[LOSS_SPEC_MAX]; /* the spec as given (or as loss_spec_format wrote it) */
    aplcl_params p;
} loss_spec;

/* Parses one spec; prints why and returns -1 on a bad one (unknown name or key, a bad number,
 * parameters aplcl_params_validate refuses). */
int loss_spec_parse(const char *who, const char *spec, loss_spec *out);

/* Splits a --loss list: ';' separates specs when there is one or any spec has keys, else ','
 * (plain names). Returns the number of specs, or -1 (printed) on an empty entry, a bad spec or
 * more than max. */
int loss_spec_parse_list(const char *who, const char *list, loss_spec *out, int max);

/* Writes p as "apl:key=value,..." listing only what differs from aplcl_params_default() (plain
 * "apl" when nothing does); values with %.9g, so loss_spec_parse gives back the same floats.
 * Reduction, normalizer and grad_scale are not part of a spec (the trainer sets them). Returns 0,
 * or -1 when out is too small. */
int loss_spec_format(const aplcl_params *p, char *out, size_t size);

#endif /* APLCL_TRAIN_LOSS_SPEC_H */
