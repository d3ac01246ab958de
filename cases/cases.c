/* cases.c: the shared cases of aplcl's checkers (see cases.h): parameter sets, the tolerance rule,
 * storage rounding, target packing and `aplcl check`'s input generator. */
#include "cases.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameter sets ---- */

/* The default with 3 alpha and 2 beta terms, gamma_neg 2.5, clip 0.1. */
static aplcl_params three_two(float gamma_pos, const float alpha[3], const float beta[2]) {
    aplcl_params c = aplcl_params_default();
    c.gamma_pos = gamma_pos;
    c.gamma_neg = 2.5f;
    c.clip = 0.1f;
    c.n_alpha = 3;
    c.n_beta = 2;
    memcpy(c.alpha, alpha, 3 * sizeof *alpha);
    memcpy(c.beta, beta, 2 * sizeof *beta);
    return c;
}

cases_param_set cases_param_set_get(cases_set_id id) {
    cases_param_set s = {"apl-default", aplcl_params_default()};
    aplcl_params c = aplcl_params_default();
    switch (id) {
    case CASES_APL_DEFAULT:
    case CASES_N_SETS:
        break;
    case CASES_BCE:
        s = (cases_param_set){"bce", aplcl_params_bce()};
        break;
    case CASES_FOCAL_2:
        s = (cases_param_set){"focal(2)", aplcl_params_focal(2.0f)};
        break;
    case CASES_ASL_4_1_005:
        s = (cases_param_set){"asl(4,1,.05)", aplcl_params_asl(4.0f, 1.0f, 0.05f)};
        break;
    case CASES_POLY1_1:
        s = (cases_param_set){"poly1(1)", aplcl_params_poly1(1.0f)};
        break;
    case CASES_CUSTOM_3A2B: {
        static const float alpha[3] = {0.5f, 1.75f, -0.25f}, beta[2] = {1.5f, 0.125f};
        s = (cases_param_set){"custom(3a,2b,g1.5/2.5,m0.1)", three_two(1.5f, alpha, beta)};
        break;
    }
    case CASES_CUSTOM_8A8B:
        /* no clip but eps 1e-8: the floor binds for negatives too (x > 18.42) */
        c.gamma_pos = 1.0f;
        c.gamma_neg = 3.0f;
        c.clip = 0.0f;
        c.n_alpha = APLCL_MAX_TERMS;
        c.n_beta = APLCL_MAX_TERMS;
        for (int j = 0; j < APLCL_MAX_TERMS; j++) {
            c.alpha[j] = 1.0f / (float)(j + 1) + 0.25f * (float)(j % 3);
            c.beta[j] = 1.0f / (float)(j + 1) - 0.125f * (float)(j % 2);
        }
        s = (cases_param_set){"custom(8a,8b,m0,eps1e-8)", c};
        break;
    case CASES_FOCAL_01:
        /* gamma below 1 with no clip: the differentiated weight's p_m^(gamma-1) overflowed float
         * once p_m was tiny (x near -100), giving inf/NaN gradients */
        s = (cases_param_set){"focal(0.1)", aplcl_params_focal(0.1f)};
        break;
    case CASES_CUSTOM_NOEPS: {
        static const float alpha[3] = {0.5f, 1.5f, -0.25f}, beta[2] = {2.0f, 0.25f};
        c = three_two(0.5f, alpha, beta);
        c.eps = 0.0f;
        c.grad_scale = 0.5f;
        s = (cases_param_set){"custom(eps0)", c};
        break;
    }
    }
    return s;
}

/* ---- names ---- */

const char *cases_format_name(aplcl_target_format f) {
    return f == APLCL_TARGET_BITS  ? "bits"
           : f == APLCL_TARGET_CSR ? "csr"
           : f == APLCL_TARGET_U8  ? "u8"
                                   : "f32";
}
const char *cases_dtype_name(aplcl_dtype d) {
    return d == APLCL_DTYPE_F16 ? "f16" : d == APLCL_DTYPE_BF16 ? "bf16" : "f32";
}
const char *cases_reduction_name(aplcl_reduction r) {
    return r == APLCL_REDUCE_SUM ? "sum" : r == APLCL_REDUCE_MEAN ? "mean" : "none";
}

/* ---- the tolerance rule ---- */

double cases_grad_rtol(aplcl_dtype d) {
    return CASES_RTOL + (d == APLCL_DTYPE_F16 ? 0x1p-11 : d == APLCL_DTYPE_BF16 ? 0x1p-8 : 0.0);
}
double cases_grad_atol(aplcl_dtype d, double scale) {
    return CASES_ATOL * scale + (d == APLCL_DTYPE_F16 ? 0x1p-24 : 0.0);
}

double cases_grad_acc_atol(aplcl_dtype d, double scale, double start_max) {
    return cases_grad_atol(d, scale) +
           (d == APLCL_DTYPE_F32 ? CASES_ATOL : cases_grad_rtol(d)) * start_max;
}

double cases_tol(double ref, double rtol, double atol) { return fmax(rtol * fabs(ref), atol); }

int cases_within(double got, double ref, double rtol, double atol) {
    if (isinf(got) || isinf(ref))
        return got == ref;
    return fabs(got - ref) <= cases_tol(ref, rtol, atol); /* false for NaN */
}

int cases_sum_ok(double got, double ref, double loss_scale) {
    return cases_within(got, ref, CASES_SUM_RTOL, CASES_ATOL * loss_scale);
}

double cases_loss_scale(const aplcl_params *p, uint64_t count) {
    if (p->reduction != APLCL_REDUCE_MEAN)
        return 1.0;
    double norm = p->normalizer > 0 ? p->normalizer : (double)count;
    return norm > 0 ? 1.0 / norm : 0.0;
}
double cases_grad_scale(const aplcl_params *p, uint64_t count) {
    if (p->reduction != APLCL_REDUCE_MEAN)
        return (double)p->grad_scale;
    double norm = p->normalizer > 0 ? p->normalizer : (double)count;
    return norm > 0 ? (double)p->grad_scale / norm : 0.0;
}

/* ---- storage ---- */

size_t cases_dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }

void cases_to_storage(aplcl_dtype d, float *vals, void *out, size_t n) {
    if (d == APLCL_DTYPE_F32) {
        memcpy(out, vals, n * 4);
    } else if (d == APLCL_DTYPE_F16) {
        aplcl_f32_to_f16(vals, out, n);
        aplcl_f16_to_f32(out, vals, n);
    } else {
        aplcl_f32_to_bf16(vals, out, n);
        aplcl_bf16_to_f32(out, vals, n);
    }
}

void cases_from_storage(aplcl_dtype d, const void *in, float *vals, size_t n) {
    if (d == APLCL_DTYPE_F32)
        memcpy(vals, in, n * 4);
    else if (d == APLCL_DTYPE_F16)
        aplcl_f16_to_f32(in, vals, n);
    else
        aplcl_bf16_to_f32(in, vals, n);
}

/* ---- targets ---- */

aplcl_status cases_pack_targets(aplcl_target_format fmt, size_t rows, size_t cols, const float *y,
                                int with_ignore, cases_targets *t) {
    memset(t, 0, sizeof *t);
    t->format = fmt;
    size_t n = rows * cols, wbytes = rows * APLCL_BITS_WORDS(cols) * sizeof(uint32_t);
    if (fmt == APLCL_TARGET_F32) {
        t->data_bytes = n * sizeof(float);
        if ((t->data = malloc(t->data_bytes ? t->data_bytes : 1)))
            memcpy(t->data, y, t->data_bytes);
    } else if (fmt == APLCL_TARGET_U8) {
        t->data_bytes = n;
        uint8_t *u = t->data = malloc(n ? n : 1);
        for (size_t i = 0; u && i < n; ++i)
            u[i] = y[i] < 0 ? APLCL_TARGET_U8_IGNORE : (uint8_t)y[i];
    } else if (fmt == APLCL_TARGET_BITS) {
        t->data_bytes = wbytes;
        t->data = malloc(wbytes ? wbytes : 1);
        if (with_ignore) {
            t->aux_bytes = wbytes;
            t->aux = malloc(wbytes ? wbytes : 1);
        }
        if (!t->data || (with_ignore && !t->aux))
            return APLCL_ERR_OUT_OF_HOST_MEMORY;
        return aplcl_pack_bits(rows, cols, y, t->data, t->aux);
    } else {
        t->data_bytes = (rows + 1) * sizeof(uint64_t);
        t->data = malloc(t->data_bytes);
        if (!t->data)
            return APLCL_ERR_OUT_OF_HOST_MEMORY;
        aplcl_status st = aplcl_pack_csr(rows, cols, y, t->data, NULL, 0, &t->nnz);
        if (st != APLCL_SUCCESS || t->nnz == 0)
            return st;
        t->aux_bytes = t->nnz * sizeof(uint32_t);
        if (!(t->aux = malloc(t->aux_bytes)))
            return APLCL_ERR_OUT_OF_HOST_MEMORY;
        return aplcl_pack_csr(rows, cols, y, t->data, t->aux, t->nnz, &t->nnz);
    }
    return t->data ? APLCL_SUCCESS : APLCL_ERR_OUT_OF_HOST_MEMORY;
}

void cases_targets_free(cases_targets *t) {
    free(t->data);
    free(t->aux);
    memset(t, 0, sizeof *t);
}

/* ---- `aplcl check`'s inputs ---- */

void cases_check_inputs(cli_rng *r, const aplcl_params *p, size_t n, aplcl_target_format fmt,
                        float *x, float *y) {
    float special[12];
    int ns = 0;
    if (p->clip > 0) {
        float t = logf(p->clip / (1.0f - p->clip));
        special[ns++] = t;
        special[ns++] = nextafterf(t, -INFINITY);
        special[ns++] = nextafterf(t, INFINITY);
    }
    if (p->eps > 0) {
        float t = logf(p->eps / (1.0f - p->eps));
        special[ns++] = t;
        special[ns++] = nextafterf(t, INFINITY);
        special[ns++] = -t;
    }
    special[ns++] = 0.0f;
    special[ns++] = 100.0f;
    special[ns++] = -100.0f;
    special[ns++] = 88.0f;
    special[ns++] = -88.0f;
    for (size_t i = 0; i < n; ++i) {
        double u = cli_rng_uniform(r);
        if (u < 0.8)
            x[i] = (float)cli_rng_normal(r, 0.0, 3.0);
        else if (u < 0.9)
            x[i] = (float)(cli_rng_uniform(r) * 200.0 - 100.0);
        else
            x[i] = special[cli_rng_next(r) % (uint64_t)ns];
        double v = cli_rng_uniform(r);
        float t = v < 0.12 ? 1.0f : 0.0f;
        if (v > 0.97 && fmt != APLCL_TARGET_CSR)
            t = -1.0f; /* ignored */
        if (fmt == APLCL_TARGET_F32 && v > 0.92 && v <= 0.97)
            t = (float)cli_rng_uniform(r);
        y[i] = t;
    }
}

/* ---- weights ---- */

const char *cases_weight_name(int mode) {
    static const char *const names[CASES_WEIGHT_MODES] = {"-", "pw", "pw+elem", "label", "pw+row"};
    return mode >= 0 && mode < CASES_WEIGHT_MODES ? names[mode] : "?";
}

int cases_make_weights(cli_rng *r, int mode, size_t rows, size_t cols, float **pw, float **w,
                       aplcl_weight_kind *kind, size_t *wcount) {
    *pw = *w = NULL;
    *kind = mode == 3 ? APLCL_WEIGHT_LABEL : mode == 4 ? APLCL_WEIGHT_ROW : APLCL_WEIGHT_ELEMENT;
    *wcount = mode == 3 ? cols : mode == 4 ? rows : rows * cols;
    int with_pw = mode == 1 || mode == 2 || mode == 4, with_w = mode >= 2;
    if ((with_pw && !(*pw = malloc(cols * sizeof **pw))) ||
        (with_w && !(*w = malloc(*wcount * sizeof **w)))) {
        free(*pw), free(*w);
        *pw = *w = NULL;
        return -1;
    }
    for (size_t i = 0; with_pw && i < cols; ++i)
        (*pw)[i] = (float)cli_rng_range(r, 0.0, 2.0);
    for (size_t i = 0; with_w && i < *wcount; ++i)
        (*w)[i] = i % 11 == 5 ? 0.0f : (float)cli_rng_range(r, 0.0, 3.0);
    return 0;
}
