/* verify.c: `aplcl verify`, checks another engine's APL/ASL/BCE loss and gradient (JAX, a custom
 * CUDA kernel, an fp16 run) against aplcl's CPU reference.
 *
 * Reads logits, targets and the engine's gradient / per-element losses from NumPy .npy files
 * (common/npy.h), computes aplcl_ref_compute in double on the same inputs (logits rounded to
 * float32, as the reference takes them), and reports the worst absolute and relative errors, in
 * ulps of the tested file's type, with the element's index, logit and target, and how many
 * elements exceed the tolerance. Non-finite logits and invalid targets are compared too, against
 * the library's rule (loss 0, gradient 0), and counted. Exit 0 only when everything is within
 * it; 1 when something is not; 2 for bad options or input files. Not a device check: `aplcl check`
 * tests aplcl's kernels.
 */
#include "cases.h"
#include "cli.h"
#include "loss_spec.h"
#include "npy.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "aplcl verify"
#define MAX_FILE ((size_t)1 << 31)
#define SHOW 5 /* elements beyond tolerance listed */

static void usage(FILE *f) {
    fprintf(
        f, "usage: aplcl verify --logits X.npy --targets Y.npy [--grad G.npy]\n"
           "         [--loss L | --elem-loss E.npy] [--params SPEC | --preset NAME]\n"
           "         [--reduction sum|mean|none] [--normalizer N] [--grad-scale S]\n"
           "         [--rtol R | --tol-ulps U] [--atol A]\n"
           "  --logits        float16/32/64, shape (N, C) or (C,), C order\n"
           "  --targets       same shape; float (1 positive, 0 negative, (0,1) soft, < 0 ignored)\n"
           "                  or integer/bool (0, 1; uint8 255 = ignored, as aplcl's U8)\n"
           "  --grad          the engine's d(loss)/d(logits), float16/32/64, same shape\n"
           "  --loss L        the engine's reduced loss (a number)\n"
           "  --elem-loss     the engine's per-element losses, float16/32/64, same shape\n"
           "  --params SPEC   the loss as `aplcl train --loss` writes it (default apl);\n"
           "  --preset NAME   apl, bce, asl, focal, poly1 (the library's presets)\n"
           "  --reduction     default sum (the gradient of the summed loss); mean divides by\n"
           "                  --normalizer, else the number of non-ignored elements\n"
           "  --rtol/--atol   an element passes when |got - ref| <= max(rtol |ref|, atol);\n"
           "                  default aplcl's own rule: rtol 1e-5 plus half an ulp of the\n"
           "                  tested type, atol 1e-7 times the gradient scale (loss: 1e-6, 1e-7)\n"
           "  --tol-ulps U    rtol = U ulps of the tested type\n"
           "Exit 0: all within tolerance; 1: some element or the loss is not; 2: bad input.\n");
}

enum {
    O_LOGITS,
    O_TARGETS,
    O_GRAD,
    O_LOSS,
    O_ELEM,
    O_PARAMS,
    O_PRESET,
    O_RED,
    O_NORM,
    O_GSCALE,
    O_RTOL,
    O_ULPS,
    O_ATOL,
    O_COUNT
};

/* The spacing of the type's numbers at |x| (its subnormal spacing near 0). */
static double ulp_of(npy_type t, double x) {
    int mant = t == NPY_F16 ? 10 : t == NPY_F32 ? 23 : 52;
    int emin = t == NPY_F16 ? -14 : t == NPY_F32 ? -126 : -1022;
    int e = x != 0 && isfinite(x) ? ilogb(x) : emin;
    return ldexp(1.0, (e < emin ? emin : e) - mant);
}

static double half_ulp_rel(npy_type t) {
    return ldexp(1.0, t == NPY_F16 ? -11 : t == NPY_F32 ? -24 : -53);
}

typedef struct {
    const char *what; /* "gradient", "element loss" */
    npy_type type;
    double rtol, atol;
} tolerance;

/* Whether element i is one the library's rule zeroes: a non-finite logit or an invalid target
 * (NaN or above 1; below 0 is "ignored", a valid target). */
static int zeroed_by_rule(float x, float y) { return !isfinite(x) || isnan(y) || y > 1.0f; }

/* Compares got[] with ref[] element-wise; prints the worst absolute and relative errors and the
 * first SHOW elements beyond tolerance, and how many of those the library's rule zeroes. Returns
 * the count beyond it. */
static size_t compare(const tolerance *t, const double *got, const double *ref, size_t n,
                      size_t cols, const float *x, const float *y) {
    size_t worst_abs = 0, worst_rel = 0, beyond = 0, beyond_ruled = 0;
    double wa = -1, wr = -1;
    for (size_t i = 0; i < n; ++i) {
        double e = fabs(got[i] - ref[i]);
        if (isnan(e))
            e = INFINITY;
        double r = ref[i] != 0 ? e / fabs(ref[i]) : e > 0 ? INFINITY : 0;
        if (e > wa)
            wa = e, worst_abs = i;
        if (r > wr)
            wr = r, worst_rel = i;
        if (!cases_within(got[i], ref[i], t->rtol, t->atol)) {
            if (beyond < SHOW)
                printf("  %-12s beyond tolerance at [%zu, %zu] (index %zu): logit %.9g target "
                       "%g: got %.9g, reference %.9g, error %.3g (%.3g ulps)\n",
                       t->what, i / cols, i % cols, i, (double)x[i], (double)y[i], got[i], ref[i],
                       e, e / ulp_of(t->type, ref[i]));
            ++beyond;
            beyond_ruled += zeroed_by_rule(x[i], y[i]);
        }
    }
    size_t w[2] = {worst_abs, worst_rel};
    for (int k = 0; k < 2; ++k) {
        size_t i = w[k];
        double e = fabs(got[i] - ref[i]);
        printf("  %-12s worst %s error %.3g (%.3g ulps of %s, relative %.3g) at [%zu, %zu] "
               "(index %zu): logit %.9g target %g, got %.9g, reference %.9g\n",
               t->what, k ? "relative" : "absolute", e, e / ulp_of(t->type, ref[i]),
               npy_type_name(t->type), ref[i] != 0 ? e / fabs(ref[i]) : (e > 0 ? INFINITY : 0),
               i / cols, i % cols, i, (double)x[i], (double)y[i], got[i], ref[i]);
    }
    printf("  %-12s %zu of %zu elements beyond tolerance\n", t->what, beyond, n);
    if (beyond_ruled)
        printf("  %-12s %zu of them at a non-finite logit or an invalid target, where the "
               "library's rule gives 0\n",
               t->what, beyond_ruled);
    return beyond;
}

static int load(const char *path, const char *what, npy_array *a, int want_float) {
    char err[512];
    if (npy_load(path, MAX_FILE, a, err, sizeof err) != 0) {
        fprintf(stderr, WHO ": %s: %s\n", what, err);
        return -1;
    }
    if (want_float && !npy_type_is_float(a->type)) {
        fprintf(stderr, WHO ": %s: %s holds %s; float16, float32 or float64 expected\n", what, path,
                npy_type_name(a->type));
        return -1;
    }
    return 0;
}

static int same_shape(const npy_array *a, const npy_array *b, const char *what) {
    int ok = a->ndim == b->ndim;
    for (int i = 0; ok && i < a->ndim; ++i)
        ok = a->shape[i] == b->shape[i];
    if (!ok)
        fprintf(stderr, WHO ": %s's shape differs from the logits'\n", what);
    return ok;
}

/* Options to parameters; returns -1 to go on, else an exit status. */
static int parse_params(cli_option *o, aplcl_params *p, int *rtol_set, double *rtol, double *atol,
                        double *ulps) {
    if (o[O_PARAMS].value && o[O_PRESET].value) {
        fprintf(stderr, WHO ": --params and --preset exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    loss_spec ls;
    const char *spec = o[O_PARAMS].value ? o[O_PARAMS].value : o[O_PRESET].value;
    if (o[O_PRESET].value && strchr(spec, ':')) {
        fprintf(stderr, WHO ": --preset takes a name (apl, bce, asl, focal, poly1); keys go to "
                            "--params\n");
        return CLI_EXIT_USAGE;
    }
    if (loss_spec_parse(WHO, spec ? spec : "apl", &ls))
        return CLI_EXIT_USAGE;
    *p = ls.p;
    const char *r = o[O_RED].value;
    if (r) {
        if (strcmp(r, "sum") && strcmp(r, "mean") && strcmp(r, "none")) {
            fprintf(stderr, WHO ": --reduction wants sum, mean or none, not '%s'\n", r);
            return CLI_EXIT_USAGE;
        }
        p->reduction = !strcmp(r, "sum")    ? APLCL_REDUCE_SUM
                       : !strcmp(r, "mean") ? APLCL_REDUCE_MEAN
                                            : APLCL_REDUCE_NONE;
    }
    double d = 0;
    if (o[O_NORM].value && (cli_parse_f64(WHO, "--normalizer", o[O_NORM].value, 0, DBL_MAX, &d) ||
                            (p->normalizer = d, 0)))
        return CLI_EXIT_USAGE;
    if (o[O_GSCALE].value &&
        (cli_parse_f64(WHO, "--grad-scale", o[O_GSCALE].value, -FLT_MAX, FLT_MAX, &d) ||
         (p->grad_scale = (float)d, 0)))
        return CLI_EXIT_USAGE;
    if (aplcl_params_validate(p) != APLCL_SUCCESS) {
        fprintf(stderr, WHO ": %s\n", aplcl_status_string(APLCL_ERR_INVALID_PARAMS));
        return CLI_EXIT_USAGE;
    }
    if (o[O_RTOL].value && o[O_ULPS].value) {
        fprintf(stderr, WHO ": --rtol and --tol-ulps exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    *rtol_set = o[O_RTOL].value || o[O_ULPS].value;
    if ((o[O_RTOL].value && cli_parse_f64(WHO, "--rtol", o[O_RTOL].value, 0, 1e30, rtol)) ||
        (o[O_ULPS].value && cli_parse_f64(WHO, "--tol-ulps", o[O_ULPS].value, 0, 1e30, ulps)) ||
        (o[O_ATOL].value && cli_parse_f64(WHO, "--atol", o[O_ATOL].value, 0, 1e30, atol)))
        return CLI_EXIT_USAGE;
    return -1;
}

int cli_verify(int argc, char **argv) {
    cli_option o[O_COUNT] = {
        {"--logits", 1, NULL},     {"--targets", 1, NULL},   {"--grad", 1, NULL},
        {"--loss", 1, NULL},       {"--elem-loss", 1, NULL}, {"--params", 1, NULL},
        {"--preset", 1, NULL},     {"--reduction", 1, NULL}, {"--normalizer", 1, NULL},
        {"--grad-scale", 1, NULL}, {"--rtol", 1, NULL},      {"--tol-ulps", 1, NULL},
        {"--atol", 1, NULL}};
    int np = 0;
    int pr = cli_parse(WHO, argc, argv, o, O_COUNT, NULL, 0, &np);
    if (pr == CLI_PARSE_HELP) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr != CLI_PARSE_OK)
        return CLI_EXIT_USAGE;
    if (!o[O_LOGITS].value || !o[O_TARGETS].value) {
        fprintf(stderr, WHO ": needs --logits and --targets (--help shows the usage)\n");
        return CLI_EXIT_USAGE;
    }
    if (!o[O_GRAD].value && !o[O_LOSS].value && !o[O_ELEM].value) {
        fprintf(stderr, WHO ": nothing to verify: give --grad, --loss or --elem-loss\n");
        return CLI_EXIT_USAGE;
    }
    if (o[O_LOSS].value && o[O_ELEM].value) {
        fprintf(stderr, WHO ": --loss and --elem-loss exclude each other\n");
        return CLI_EXIT_USAGE;
    }
    aplcl_params p;
    int rtol_set = 0;
    double rtol = 0, atol = -1, ulps = -1, claimed = 0;
    int st = parse_params(o, &p, &rtol_set, &rtol, &atol, &ulps);
    if (st >= 0)
        return st;
    if (o[O_LOSS].value &&
        cli_parse_f64(WHO, "--loss", o[O_LOSS].value, -DBL_MAX, DBL_MAX, &claimed))
        return CLI_EXIT_USAGE;
    npy_array X = {0}, Y = {0}, G = {0}, E = {0};
    float *x = NULL, *y = NULL;
    double *grad = NULL, *elem = NULL, loss = 0;
    int status = CLI_EXIT_USAGE;
    if (load(o[O_LOGITS].value, "--logits", &X, 1) ||
        load(o[O_TARGETS].value, "--targets", &Y, 0) ||
        (o[O_GRAD].value && load(o[O_GRAD].value, "--grad", &G, 1)) ||
        (o[O_ELEM].value && load(o[O_ELEM].value, "--elem-loss", &E, 1)))
        goto out;
    if (X.ndim < 1 || X.ndim > 2 || X.count == 0) {
        fprintf(stderr, WHO ": --logits must have shape (N, C) or (C,) with N, C > 0\n");
        goto out;
    }
    if (!same_shape(&X, &Y, "--targets") || (G.data && !same_shape(&X, &G, "--grad")) ||
        (E.data && !same_shape(&X, &E, "--elem-loss")))
        goto out;
    size_t n = X.count, cols = X.shape[X.ndim - 1], rows = n / cols;
    x = malloc(n * sizeof *x), y = malloc(n * sizeof *y);
    grad = malloc(n * sizeof *grad), elem = malloc(n * sizeof *elem);
    if (!x || !y || !grad || !elem) {
        fprintf(stderr, WHO ": out of memory\n");
        goto out;
    }
    size_t rounded = 0;
    for (size_t i = 0; i < n; ++i) {
        x[i] = (float)X.data[i];
        rounded += (double)x[i] != X.data[i] && !isnan(X.data[i]);
        y[i] = Y.type == NPY_U8 && Y.data[i] == APLCL_TARGET_U8_IGNORE ? -1.0f : (float)Y.data[i];
    }
    uint64_t counts[APLCL_COUNT_LEN] = {0};
    aplcl_ref_io rio = {0};
    rio.logits = x, rio.targets = y, rio.grad = grad, rio.elem_loss = elem;
    aplcl_status rs = aplcl_ref_compute_io(&p, rows, cols, &rio);
    loss = rio.loss;
    memcpy(counts, rio.counts, sizeof counts);
    /* Invalid targets and non-finite logits (an fp16 run's overflows) are what needs verifying
     * most: the reference has written every output by the library's rule (loss 0, gradient 0
     * there) and counted them; the comparison goes on and the note below reports them. */
    if (rs != APLCL_SUCCESS && rs != APLCL_ERR_INVALID_TARGET && rs != APLCL_ERR_NONFINITE_LOGIT) {
        fprintf(stderr, WHO ": reference: %s\n", aplcl_status_string(rs));
        goto out;
    }
    char spec[LOSS_SPEC_MAX];
    loss_spec_format(&p, spec, sizeof spec);
    printf("aplcl verify: %zu x %zu elements, logits %s, targets %s; loss %s, reduction %s, "
           "normalizer %g, grad scale %g\n",
           rows, cols, npy_type_name(X.type), npy_type_name(Y.type), spec,
           cases_reduction_name(p.reduction), p.normalizer, (double)p.grad_scale);
    if (rounded)
        printf("  note: %zu float64 logits are not float32 numbers; the reference sees them "
               "rounded to float32\n",
               rounded);
    if (counts[APLCL_COUNT_INVALID_TARGETS] || counts[APLCL_COUNT_NONFINITE_LOGITS])
        printf("  note: %llu invalid targets and %llu non-finite logits: the reference gives "
               "them loss 0 and gradient 0 (the library's rule) and compares them so\n",
               (unsigned long long)counts[APLCL_COUNT_INVALID_TARGETS],
               (unsigned long long)counts[APLCL_COUNT_NONFINITE_LOGITS]);
    status = CLI_EXIT_OK;
    if (G.data) {
        double scale = cases_grad_scale(&p, counts[APLCL_COUNT_ELEMENTS]);
        tolerance t = {"gradient", G.type, 0, 0};
        t.rtol = ulps >= 0  ? ulps * 2 * half_ulp_rel(G.type)
                 : rtol_set ? rtol
                            : CASES_RTOL + half_ulp_rel(G.type);
        t.atol = atol >= 0 ? atol : CASES_ATOL * fabs(scale) + (G.type == NPY_F16 ? 0x1p-24 : 0);
        printf("  gradient     tolerance: |got - ref| <= max(rtol |ref|, atol), rtol %.4g (%.3g "
               "ulps of %s), atol %.4g\n",
               t.rtol, t.rtol / (2 * half_ulp_rel(G.type)), npy_type_name(G.type), t.atol);
        if (compare(&t, G.data, grad, n, cols, x, y))
            status = CLI_EXIT_FAIL;
    }
    if (E.data) {
        tolerance t = {"element loss", E.type, 0, 0};
        t.rtol = ulps >= 0 ? ulps * 2 * half_ulp_rel(E.type) : rtol_set ? rtol : CASES_RTOL;
        t.atol = atol >= 0 ? atol : CASES_ATOL;
        printf("  element loss tolerance: rtol %.4g (%.3g ulps of %s), atol %.4g\n", t.rtol,
               t.rtol / (2 * half_ulp_rel(E.type)), npy_type_name(E.type), t.atol);
        if (compare(&t, E.data, elem, n, cols, x, y))
            status = CLI_EXIT_FAIL;
    }
    if (o[O_LOSS].value) {
        double scale = cases_loss_scale(&p, counts[APLCL_COUNT_ELEMENTS]);
        double r =
            rtol_set ? (ulps >= 0 ? ulps * 2 * half_ulp_rel(NPY_F32) : rtol) : CASES_SUM_RTOL;
        double a = atol >= 0 ? atol : CASES_ATOL * scale;
        int ok = cases_within(claimed, loss, r, a);
        double e = fabs(claimed - loss);
        printf("  loss         got %.9g, reference %.9g: error %.3g (relative %.3g, %.3g ulps of "
               "float32); tolerance rtol %.4g, atol %.4g: %s\n",
               claimed, loss, e, loss != 0 ? e / fabs(loss) : e, e / ulp_of(NPY_F32, loss), r, a,
               ok ? "within" : "BEYOND");
        if (!ok)
            status = CLI_EXIT_FAIL;
    }
    printf("%s\n", status == CLI_EXIT_OK ? "PASS: everything within tolerance"
                                         : "FAIL: see the elements beyond tolerance above");
out:
    free(x), free(y), free(grad), free(elem);
    npy_free(&X), npy_free(&Y), npy_free(&G), npy_free(&E);
    if (cli_close_output(stdout, NULL, WHO))
        status = CLI_EXIT_FAIL;
    return status;
}
