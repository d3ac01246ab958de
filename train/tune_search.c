/* tune_search.c: search space, sampling and the successive-halving schedule (tune_search.h). */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "tune_search.h"

#include "options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tune_keys[TS_KEYS] = {"alpha1",    "alpha2",    "beta1", "beta2",
                                        "gamma_pos", "gamma_neg", "clip",  "focus"};

void tune_space_default(tune_space *s) {
    static const double lo[TS_KEYS] = {0, 0, 0.5, 0.5, 0, 0, 0, 0};
    static const double hi[TS_KEYS] = {3, 3, 2, 0.5, 2, 6, 0.2, 1};
    memcpy(s->lo, lo, sizeof lo);
    memcpy(s->hi, hi, sizeof hi);
}

static int key_ok(const char *who, int k, double lo, double hi) {
    const char *why = NULL;
    if (!(lo <= hi))
        why = "wants lo <= hi";
    else if (k >= TS_GAMMA_POS && k <= TS_CLIP && lo < 0)
        why = "cannot be negative";
    else if (k == TS_CLIP && hi >= 1)
        why = "must stay below 1";
    else if (k == TS_FOCUS && ((lo != 0 && lo != 1) || (hi != 0 && hi != 1)))
        why = "takes 0, 1 or 0:1";
    if (why)
        fprintf(stderr, "%s: --range %s %s\n", who, tune_keys[k], why);
    return why ? -1 : 0;
}

int tune_space_parse(const char *who, const char *text, tune_space *s) {
    char buf[1024];
    if (strlen(text) >= sizeof buf) {
        fprintf(stderr, "%s: --range longer than %zu bytes\n", who, sizeof buf - 1);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", text);
    char *save = NULL;
    for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            fprintf(stderr, "%s: --range: '%s' is not key=lo:hi\n", who, kv);
            return -1;
        }
        *eq = '\0';
        int k = 0;
        while (k < TS_KEYS && strcmp(kv, tune_keys[k]) != 0)
            ++k;
        if (k == TS_KEYS) {
            const char *near = cli_nearest(kv, tune_keys, TS_KEYS);
            fprintf(stderr,
                    "%s: --range: unknown key '%s'%s%s%s (alpha1 alpha2 beta1 beta2 "
                    "gamma_pos gamma_neg clip focus)\n",
                    who, kv, near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
            return -1;
        }
        char *colon = strchr(eq + 1, ':');
        if (colon)
            *colon = '\0';
        double lo = 0, hi = 0;
        char what[64];
        snprintf(what, sizeof what, "--range %s", tune_keys[k]);
        if (cli_parse_f64(who, what, eq + 1, -1e30, 1e30, &lo) ||
            cli_parse_f64(who, what, colon ? colon + 1 : eq + 1, -1e30, 1e30, &hi) ||
            key_ok(who, k, lo, hi))
            return -1;
        s->lo[k] = lo, s->hi[k] = hi;
    }
    return 0;
}

int tune_sample(const tune_space *s, cli_rng *r, aplcl_params *out) {
    for (int attempt = 0; attempt < 100; ++attempt) {
        double v[TS_KEYS];
        for (int k = 0; k < TS_KEYS; ++k)
            v[k] = s->lo[k] == s->hi[k] ? s->lo[k] : cli_rng_range(r, s->lo[k], s->hi[k]);
        if (s->lo[TS_FOCUS] != s->hi[TS_FOCUS])
            v[TS_FOCUS] = (double)(cli_rng_next(r) & 1);
        /* 3 significant digits: specs stay short, and print and parse back exactly */
        for (int k = 0; k < TS_FOCUS; ++k) {
            char t[32];
            snprintf(t, sizeof t, "%.3g", v[k]);
            v[k] = strtod(t, NULL);
            v[k] = v[k] < s->lo[k] ? s->lo[k] : v[k] > s->hi[k] ? s->hi[k] : v[k];
        }
        aplcl_params p = aplcl_params_default();
        p.n_alpha = p.n_beta = 2;
        p.alpha[0] = (float)v[TS_ALPHA1], p.alpha[1] = (float)v[TS_ALPHA2];
        p.beta[0] = (float)v[TS_BETA1], p.beta[1] = (float)v[TS_BETA2];
        p.gamma_pos = (float)v[TS_GAMMA_POS], p.gamma_neg = (float)v[TS_GAMMA_NEG];
        p.clip = (float)v[TS_CLIP];
        p.focus_grad = v[TS_FOCUS] != 0;
        if (aplcl_params_validate(&p) == APLCL_SUCCESS) {
            *out = p;
            return 0;
        }
    }
    return -1;
}

int tune_anchor(const tune_space *s, int which, aplcl_params *out) {
    const double asl = which == 1;
    const double v[TS_KEYS] = {1, 0.5, 1, 0.5, 0, 4 * asl, 0.05 * asl, 0};
    for (int k = 0; k < TS_KEYS; ++k)
        if (!(v[k] >= s->lo[k] && v[k] <= s->hi[k]))
            return -1;
    aplcl_params p = aplcl_params_default();
    p.n_alpha = p.n_beta = 2;
    p.alpha[0] = 1.0f, p.alpha[1] = 0.5f, p.beta[0] = 1.0f, p.beta[1] = 0.5f;
    p.gamma_pos = 0.0f, p.gamma_neg = (float)v[TS_GAMMA_NEG], p.clip = (float)v[TS_CLIP];
    p.focus_grad = 0;
    if (which == 0)
        p.eps = 0.0f; /* BCE's exact log-sigmoid, as aplcl_params_bce */
    *out = p;
    return aplcl_params_validate(&p) == APLCL_SUCCESS ? 0 : -1;
}

int tune_schedule_make(int trials, int eta, int max_epochs, int min_epochs, tune_schedule *s) {
    memset(s, 0, sizeof *s);
    if (trials < 1 || eta < 2 || min_epochs < 1 || max_epochs < min_epochs)
        return -1;
    /* K: as many halvings as the candidates allow, but no rung below min_epochs */
    int K = 0;
    for (long n = trials, e = max_epochs;
         n / eta >= 1 && e / eta >= min_epochs && K + 1 < TUNE_MAX_RUNGS; n /= eta, e /= eta)
        ++K;
    s->rungs = K + 1;
    long n = trials;
    for (int k = 0; k <= K; ++k, n /= eta) {
        s->n[k] = (int)n;
        double e = floor((double)max_epochs * pow((double)eta, (double)(k - K)) + 0.5);
        s->epochs[k] = e < min_epochs ? min_epochs : (int)e;
    }
    return 0;
}

long tune_schedule_epochs(const tune_schedule *s) {
    long t = 0;
    for (int k = 0; k < s->rungs; ++k)
        t += (long)s->n[k] * s->epochs[k];
    return t;
}

/* a before b in the promotion order: higher score, NaN last, then lower index */
static int ahead(const double *score, int a, int b) {
    double x = score[a], y = score[b];
    if (isnan(x) != isnan(y))
        return isnan(y);
    if (!isnan(x) && x != y)
        return x > y;
    return a < b;
}

void tune_rank(const double *score, int *idx, int n) {
    for (int i = 1; i < n; ++i) /* insertion sort: n is a rung's candidates, stable */
        for (int j = i; j > 0 && ahead(score, idx[j], idx[j - 1]); --j) {
            int t = idx[j];
            idx[j] = idx[j - 1], idx[j - 1] = t;
        }
}
