/* tune_search.h: the search `aplcl tune` runs over APL's parameters: the search space (a range
 * per tuned key), seeded sampling of candidates from it, and the successive-halving schedule.
 *
 * Successive halving (Jamieson and Talwalkar 2016; one bracket of Hyperband, Li et al. 2017):
 * n candidates drawn uniformly from the ranges are trained for a small number of epochs; the best
 * 1/eta of them by validation score go on to eta times more epochs, and so on, until one is left
 * trained with the full budget. Pure: no device, nothing prints except the range parser's errors.
 */
#ifndef APLCL_TRAIN_TUNE_SEARCH_H
#define APLCL_TRAIN_TUNE_SEARCH_H

#include "aplcl.h"
#include "tool_util.h"

/* The tuned keys: APL's first two alpha and beta coefficients, the focusing exponents, the
 * probability shift and the focusing mode (0 detached, 1 differentiated). */
enum {
    TS_ALPHA1,
    TS_ALPHA2,
    TS_BETA1,
    TS_BETA2,
    TS_GAMMA_POS,
    TS_GAMMA_NEG,
    TS_CLIP,
    TS_FOCUS,
    TS_KEYS
};
extern const char *const tune_keys[TS_KEYS];

typedef struct {
    double lo[TS_KEYS], hi[TS_KEYS]; /* inclusive; lo == hi fixes the key */
} tune_space;

/* The defaults: alpha1 0..3, alpha2 0..3, beta1 0.5..2, beta2 0.5 (BCE's 1/2), gamma_pos 0..2,
 * gamma_neg 0..6, clip 0..0.2, focus 0..1. (Reference APL is alpha (0, 1.75), BCE's beta,
 * gamma_pos 0, gamma_neg 4, clip 0.05, focus 0: inside the space.) */
void tune_space_default(tune_space *s);

/* Applies "key=lo:hi,key=v,..." (v alone fixes the key) to *s. Ranges must be finite with
 * lo <= hi; gammas and clip >= 0, clip < 1, focus 0 or 1. Returns 0, or -1 after printing why. */
int tune_space_parse(const char *who, const char *text, tune_space *s);

/* Draws one candidate (uniform per key; focus a fair coin when its range is 0..1) as APL
 * parameters (eps and the rest as aplcl_params_default). Draws again when
 * aplcl_params_validate refuses, at most 100 times. Returns 0 or -1. */
int tune_sample(const tune_space *s, cli_rng *r, aplcl_params *out);

/* The anchors every search holds as candidates: BCE (which 0: alpha = beta = 1, 1/2, gammas and
 * clip 0) and ASL's reference point (which 1: BCE's coefficients, gamma_neg 4, gamma_pos 0,
 * clip 0.05), both with focus 0, written as points of the space. APL contains both, so a search
 * that holds them cannot end below them on validation. Returns 0, or -1 when the point lies
 * outside the space (a narrowed --range). */
#define TUNE_ANCHORS 2
int tune_anchor(const tune_space *s, int which, aplcl_params *out);

#define TUNE_MAX_RUNGS 16
typedef struct {
    int rungs;
    int n[TUNE_MAX_RUNGS];      /* candidates trained in rung k */
    int epochs[TUNE_MAX_RUNGS]; /* epochs each of them gets */
} tune_schedule;

/* n_k = floor(trials / eta^k) and epochs_k = max(min_epochs, round(max_epochs * eta^(k - K)))
 * for k = 0..K, K the last rung with n_K >= 1: the last rung trains one candidate for
 * max_epochs. Returns 0, or -1 on trials < 1, eta < 2, min_epochs < 1 or max_epochs < min_epochs.
 */
int tune_schedule_make(int trials, int eta, int max_epochs, int min_epochs, tune_schedule *s);

/* Total training epochs of the schedule per seed (for the ETA). */
long tune_schedule_epochs(const tune_schedule *s);

/* Sorts idx[0..n) by score descending (NaN last), equal scores by index: the promotion order. */
void tune_rank(const double *score, int *idx, int n);

#endif /* APLCL_TRAIN_TUNE_SEARCH_H */
