/* study_calib.h: the calibration of `aplcl study`: timed training runs that give a data set's
 * study_cost on this machine, and the record that keeps it in the cache folder so that later
 * runs plan with the same numbers (and so write the same summary.json).
 *
 * A record is keyed by what the cost depends on: the device (name, driver, compute units), the
 * CPU (model, online cores), this build (version, optimised or not, sanitizers), the data set
 * (name, rows, features, labels) and the model (hidden units, batch). Nothing prints here.
 */
#ifndef APLCL_TRAIN_STUDY_CALIB_H
#define APLCL_TRAIN_STUDY_CALIB_H

#include "arff.h"
#include "study_plan.h"

#include "aplcl.h"

#include <stddef.h>

/* Times training runs (BCE, learning rate lr) of the data set: a warm-up, three short runs (the
 * start-up), runs doubled in length until one takes 0.3 s (the per-epoch cost, which a short run
 * cannot tell apart from its start-up's noise), each with and without the test set, and a few
 * bootstrap resamples. Fills c's run_s, epoch_s, test_run_s, test_s, map_s and calib_s (the
 * calibration's seconds, its warm-up priced by the model: that run may have built the kernels of
 * a cold cache); not load_s, the caller's. Returns 0, or -1 after the trainer printed why
 * (prefixed by who). */
int study_calibrate(aplcl_ctx *ctx, const arff_data *train, const arff_data *val,
                    const arff_data *test, int hidden, size_t batch, float lr, const char *who,
                    study_cost *c);

/* The record's key (one line) for data set `name` of these shapes on ctx's device. */
void study_calib_key(aplcl_ctx *ctx, const char *name, const arff_data *train, const arff_data *val,
                     const arff_data *test, int hidden, size_t batch, char *key, size_t size);

/* The folder of the records: dir/study-calibration, dir being `option` when not NULL, else
 * aplcl's cache folder by the library's rule ($APLCL_CACHE_DIR, else $XDG_CACHE_HOME/aplcl, else
 * $HOME/.cache/aplcl). "" (returned 0) when that is "off" or empty: no records. -1: too long. */
int study_calib_dir(const char *option, char *out, size_t size);

/* Reads the record of `key` from folder dir into *c. Returns 0, or -1 when there is none or it
 * does not parse (a different key, a number missing, negative or not finite). */
int study_calib_load(const char *dir, const char *key, study_cost *c);

/* Writes *c as the record of `key` (a temporary file renamed over the old one, so a reader never
 * sees half a record). Returns 0, or -1 with errno set. */
int study_calib_save(const char *dir, const char *key, const study_cost *c);

/* The path of key's record in dir (for messages). */
void study_calib_path(const char *dir, const char *key, char *out, size_t size);

#endif /* APLCL_TRAIN_STUDY_CALIB_H */
