/* study_plan.c: the cost model of `aplcl study` and the budget's plan (study_plan.h). */
#include "study_plan.h"

#include "tune_search.h"

/* One search of n candidates (+ n_extra in its last rung) per seed: *runs trainings and *epochs
 * epochs without the test set, *t_runs and *t_epochs in the last rung, which measures it. */
static void search_cost(int n, int n_extra, const study_summary *s, long *runs, long *epochs,
                        long *t_runs, long *t_epochs) {
    tune_schedule sch;
    *runs = *epochs = *t_runs = *t_epochs = 0;
    if (tune_schedule_make(n, s->eta, s->epochs, s->min_epochs, &sch) != 0)
        return;
    int last = sch.rungs - 1;
    for (int k = 0; k < last; ++k)
        *runs += sch.n[k], *epochs += (long)sch.n[k] * sch.epochs[k];
    *t_runs = sch.n[last] + n_extra;
    *t_epochs = *t_runs * sch.epochs[last];
}

double study_plan_seconds(const study_summary *s, const study_cost *c, int n_sets) {
    long runs = 0, epochs = 0, t_runs = 0, t_epochs = 0;
    for (int l = 0; l < STUDY_LOSSES; ++l) {
        long r, e, tr, te;
        /* APL's last rung also holds the BCE and ASL winners */
        search_cost(l == STUDY_BCE ? s->n_lr : s->trials, l == STUDY_APL ? 2 : 0, s, &r, &e, &tr,
                    &te);
        runs += r, epochs += e, t_runs += tr, t_epochs += te;
    }
    double t = 0;
    for (int d = 0; d < n_sets; ++d) {
        const study_cost *x = &c[d];
        double per_seed = (double)runs * x->run_s + (double)epochs * x->epoch_s +
                          (double)t_runs * (x->run_s + x->test_run_s) +
                          (double)t_epochs * (x->epoch_s + x->test_s);
        /* the bootstrap: B resamples x 2 comparisons x 2 sides x the seeds */
        t += x->load_s + x->calib_s + s->n_seeds * per_seed +
             4.0 * s->bootstrap * s->n_seeds * x->map_s;
    }
    return t;
}

int study_fit_budget(study_summary *s, const study_cost *c, int n_sets, double seconds) {
    for (int t = s->trials; t >= 1; --t) {
        s->trials = t;
        if (study_plan_seconds(s, c, n_sets) <= seconds)
            return 1;
    }
    while (s->epochs > 1 && study_plan_seconds(s, c, n_sets) > seconds) {
        s->epochs = s->epochs * 4 / 5 > 0 ? s->epochs * 4 / 5 : 1;
        if (s->min_epochs > s->epochs)
            s->min_epochs = s->epochs;
    }
    return study_plan_seconds(s, c, n_sets) <= seconds;
}
