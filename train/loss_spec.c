/* loss_spec.c: the --loss spec parser and printer (loss_spec.h).
 *
 * Only text <-> aplcl_params; range checks beyond "a finite float" are aplcl_params_validate's.
 */
#define _POSIX_C_SOURCE 200809L /* strtok_r */
#include "loss_spec.h"

#include "options.h"

#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A loss parameter: a finite float (the validation of aplcl_params_validate comes after). */
static int loss_num(const char *who, const char *spec, const char *key, const char *v, float *out) {
    char what[LOSS_SPEC_MAX + 64];
    double d = 0;
    snprintf(what, sizeof what, "loss '%s': %s", spec, key);
    if (cli_parse_f64(who, what, v, -FLT_MAX, FLT_MAX, &d))
        return -1;
    *out = (float)d;
    return 0;
}

/* "a1/a2/...": at most APLCL_MAX_TERMS coefficients, each a finite float. */
static int loss_terms(const char *who, const char *spec, const char *key, char *v, float *c,
                      int *n) {
    *n = 0;
    char *save = NULL;
    for (char *t = strtok_r(v, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
        if (*n == APLCL_MAX_TERMS) {
            fprintf(stderr, "%s: loss '%s': %s takes at most %d coefficients\n", who, spec, key,
                    APLCL_MAX_TERMS);
            return -1;
        }
        if (loss_num(who, spec, key, t, &c[(*n)++]))
            return -1;
    }
    return 0;
}

static int preset(const char *who, const char *name, aplcl_params *p) {
    static const char *const names[] = {"apl", "bce", "asl", "focal", "poly1"};
    if (strcmp(name, "apl") == 0)
        *p = aplcl_params_default();
    else if (strcmp(name, "bce") == 0)
        *p = aplcl_params_bce();
    else if (strcmp(name, "asl") == 0)
        *p = aplcl_params_asl(4.0f, 0.0f, 0.05f);
    else if (strcmp(name, "focal") == 0)
        *p = aplcl_params_focal(2.0f);
    else if (strcmp(name, "poly1") == 0)
        *p = aplcl_params_poly1(1.0f);
    else {
        const char *near = cli_nearest(name, names, 5);
        fprintf(stderr, "%s: unknown loss '%s'%s%s%s (apl, bce, asl, focal, poly1)\n", who, name,
                near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return -1;
    }
    return 0;
}

/* One "key=value" applied to *p. */
static int apply_key(const char *who, const char *spec, char *kv, aplcl_params *p) {
    static const char *const keys[] = {"gamma_pos", "gamma_neg", "gamma", "clip", "eps",
                                       "focus",     "epsilon",   "alpha", "beta"};
    char *eq = strchr(kv, '=');
    if (!eq) {
        fprintf(stderr, "%s: loss '%s': '%s' is not key=value\n", who, spec, kv);
        return -1;
    }
    *eq = '\0';
    const char *k = kv;
    char *v = eq + 1;
    float f = 0;
    if (strcmp(k, "alpha") == 0)
        return loss_terms(who, spec, k, v, p->alpha, &p->n_alpha);
    if (strcmp(k, "beta") == 0)
        return loss_terms(who, spec, k, v, p->beta, &p->n_beta);
    if (strcmp(k, "focus") == 0) {
        int64_t b = 0;
        if (cli_parse_i64(who, "loss key focus", v, 0, 1, &b))
            return -1;
        p->focus_grad = (int)b;
        return 0;
    }
    int unknown = 1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; ++i)
        unknown = unknown && strcmp(k, keys[i]) != 0;
    if (unknown) {
        const char *near = cli_nearest(k, keys, sizeof keys / sizeof keys[0]);
        fprintf(stderr, "%s: loss '%s': unknown key '%s'%s%s%s\n", who, spec, k,
                near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
        return -1;
    }
    if (loss_num(who, spec, k, v, &f))
        return -1;
    if (strcmp(k, "gamma_pos") == 0)
        p->gamma_pos = f;
    else if (strcmp(k, "gamma_neg") == 0)
        p->gamma_neg = f;
    else if (strcmp(k, "gamma") == 0)
        p->gamma_pos = p->gamma_neg = f;
    else if (strcmp(k, "clip") == 0)
        p->clip = f;
    else if (strcmp(k, "eps") == 0)
        p->eps = f;
    else /* epsilon */
        p->alpha[0] = p->beta[0] = 1.0f + f, p->n_alpha = p->n_beta = 1;
    return 0;
}

int loss_spec_parse(const char *who, const char *spec, loss_spec *out) {
    char buf[LOSS_SPEC_MAX];
    if (strlen(spec) >= sizeof buf) {
        fprintf(stderr, "%s: loss spec longer than %zu bytes: '%s'\n", who, sizeof buf - 1, spec);
        return -1;
    }
    snprintf(buf, sizeof buf, "%s", spec);
    snprintf(out->name, sizeof out->name, "%s", spec);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = '\0';
    if (preset(who, buf, &out->p))
        return -1;
    char *kv_save = NULL;
    for (char *kv = colon ? strtok_r(colon + 1, ",", &kv_save) : NULL; kv;
         kv = strtok_r(NULL, ",", &kv_save))
        if (apply_key(who, spec, kv, &out->p))
            return -1;
    aplcl_status st = aplcl_params_validate(&out->p);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "%s: loss '%s': %s\n", who, spec, aplcl_status_string(st));
        return -1;
    }
    return 0;
}

int loss_spec_parse_list(const char *who, const char *list, loss_spec *out, int max) {
    char buf[4096];
    if (cli_copy_list(who, "--loss", list, buf, sizeof buf))
        return -1;
    /* ',' separates plain names only: a spec with keys ("asl:gamma=2,clip=0.1") is one spec */
    char sep = strchr(buf, ';') || strchr(buf, ':') ? ';' : ',';
    int n = 0;
    for (char *cur = buf, *tok; (tok = cli_next_entry(&cur, sep)) != NULL; ++n) {
        if (!*tok) {
            fprintf(stderr, "%s: empty entry in the --loss list '%s'\n", who, list);
            return -1;
        }
        if (n == max) {
            fprintf(stderr, "%s: more than %d losses in --loss\n", who, max);
            return -1;
        }
        if (loss_spec_parse(who, tok, &out[n]) != 0)
            return -1;
    }
    return n;
}

/* Appends to out at *len; -1 when it does not fit. */
static int put(char *out, size_t size, size_t *len, const char *text) {
    size_t n = strlen(text);
    if (n >= size - *len)
        return -1;
    memcpy(out + *len, text, n + 1);
    *len += n;
    return 0;
}

/* The shortest %g text (6 to 9 digits) that reads back as the same float. */
static int put_float(char *out, size_t size, size_t *len, float v) {
    char t[32];
    for (int digits = 6; digits <= 9; ++digits) {
        snprintf(t, sizeof t, "%.*g", digits, (double)v);
        if ((float)strtod(t, NULL) == v)
            break;
    }
    return put(out, size, len, t);
}

static int terms_equal(const float *a, int na, const float *b, int nb) {
    if (na != nb)
        return 0;
    for (int i = 0; i < na; ++i)
        if (a[i] != b[i])
            return 0;
    return 1;
}

static int put_terms(char *out, size_t size, size_t *len, const float *c, int n) {
    for (int i = 0; i < n; ++i)
        if ((i && put(out, size, len, "/")) || put_float(out, size, len, c[i]))
            return -1;
    return 0;
}

int loss_spec_format(const aplcl_params *p, char *out, size_t size) {
    const aplcl_params d = aplcl_params_default();
    size_t len = 0;
    if (size == 0 || put(out, size, &len, "apl"))
        return -1;
    const char *keys[4] = {"gamma_pos", "gamma_neg", "clip", "eps"};
    const float mine[4] = {p->gamma_pos, p->gamma_neg, p->clip, p->eps};
    const float dflt[4] = {d.gamma_pos, d.gamma_neg, d.clip, d.eps};
    int first = 1;
#define SEP() (put(out, size, &len, first ? ":" : ",") || (first = 0))
    for (int k = 0; k < 4; ++k)
        if (mine[k] != dflt[k] &&
            (SEP() || put(out, size, &len, keys[k]) || put(out, size, &len, "=") ||
             put_float(out, size, &len, mine[k])))
            return -1;
    if (!terms_equal(p->alpha, p->n_alpha, d.alpha, d.n_alpha) &&
        (SEP() || put(out, size, &len, "alpha=") ||
         put_terms(out, size, &len, p->alpha, p->n_alpha)))
        return -1;
    if (!terms_equal(p->beta, p->n_beta, d.beta, d.n_beta) &&
        (SEP() || put(out, size, &len, "beta=") || put_terms(out, size, &len, p->beta, p->n_beta)))
        return -1;
    if (p->focus_grad != d.focus_grad &&
        (SEP() || put(out, size, &len, p->focus_grad ? "focus=1" : "focus=0")))
        return -1;
#undef SEP
    return 0;
}
