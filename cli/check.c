/* check.c: `aplcl check`, every device (or one) against the CPU reference.
 *
 * Runs a matrix of shapes x presets x target formats (focusing mode and reduction rotate through
 * the cases), with logits that include extremes and the exact clip/eps branch points, and prints
 * one row per case with the worst errors. Exit status 1 on any mismatch. Tolerance (per element):
 * |dev - ref| <= max(1e-5 |ref|, 1e-7 * scale), scale = gradient multiplier (1 for losses).
 */
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    aplcl_params p;
} preset;

static int make_presets(preset *out) {
    int n = 0;
    out[n++] = (preset){"apl-default", aplcl_params_default()};
    out[n++] = (preset){"bce", aplcl_params_bce()};
    out[n++] = (preset){"focal(2)", aplcl_params_focal(2.0f)};
    out[n++] = (preset){"asl(4,1,.05)", aplcl_params_asl(4.0f, 1.0f, 0.05f)};
    out[n++] = (preset){"poly1(1)", aplcl_params_poly1(1.0f)};
    aplcl_params c = aplcl_params_default();
    c.gamma_pos = 0.5f;
    c.gamma_neg = 2.5f;
    c.clip = 0.1f;
    c.eps = 0.0f;
    c.n_alpha = 3;
    c.alpha[0] = 0.5f;
    c.alpha[1] = 1.5f;
    c.alpha[2] = -0.25f;
    c.n_beta = 2;
    c.beta[0] = 2.0f;
    c.beta[1] = 0.25f;
    c.grad_scale = 0.5f;
    out[n++] = (preset){"custom", c};
    return n;
}

/* Logits: mostly N(0,3), some uniform in [-100,100], some exactly at branch points. */
static void make_inputs(cli_rng *r, const aplcl_params *p, size_t n, float *x, float *yf,
                        uint8_t *yu, int u8) {
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
        float y = v < 0.12 ? 1.0f : 0.0f;
        if (v > 0.97) y = -1.0f;                              /* ignored */
        if (!u8 && v > 0.92 && v <= 0.97) y = (float)cli_rng_uniform(r); /* soft */
        yf[i] = y;
        if (yu) yu[i] = y < 0 ? APLCL_TARGET_U8_IGNORE : (uint8_t)y;
    }
}

typedef struct {
    double loss_err, grad_err, sum_err; /* worst |d-r| / max(|r|, floor) */
    int pass;
} case_result;

static double worst_ratio(const float *dev, const double *ref, size_t n, double floor_abs,
                          int *ok) {
    double worst = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double err = fabs((double)dev[i] - ref[i]);
        double tol = fmax(1e-5 * fabs(ref[i]), floor_abs);
        if (!(err <= tol)) *ok = 0; /* NaN fails too */
        double rel = err / fmax(fabs(ref[i]), floor_abs);
        if (!(rel <= worst)) worst = rel;
    }
    return worst;
}

static int run_case(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols, int u8,
                    uint64_t seed, case_result *res) {
    size_t n = rows * cols;
    float *x = malloc(n * sizeof *x), *yf = malloc(n * sizeof *yf);
    float *g = malloc(n * sizeof *g), *l = malloc(n * sizeof *l);
    uint8_t *yu = u8 ? malloc(n) : NULL;
    double *rg = malloc(n * sizeof *rg), *rl = malloc(n * sizeof *rl);
    int rc = 0;
    if (!x || !yf || !g || !l || !rg || !rl || (u8 && !yu)) {
        rc = -1;
        goto out;
    }
    cli_rng r = {seed};
    make_inputs(&r, p, n, x, yf, yu, u8);
    double loss = 0, rloss = 0;
    uint64_t counts[APLCL_COUNT_LEN];
    aplcl_status st = u8 ? aplcl_host_compute_u8(ctx, p, rows, cols, x, yu, g, l, &loss)
                         : aplcl_host_compute(ctx, p, rows, cols, x, yf, g, l, &loss);
    aplcl_status rst = aplcl_ref_compute_counts(p, rows, cols, x, yf, rg, rl, &rloss, counts);
    if (st != APLCL_SUCCESS || rst != APLCL_SUCCESS) {
        fprintf(stderr, "  status: device %s, reference %s\n", aplcl_status_string(st),
                aplcl_status_string(rst));
        rc = 1;
        goto out;
    }
    double scale = fabs(p->grad_scale);
    if (p->reduction == APLCL_REDUCE_MEAN) {
        double norm = p->normalizer > 0 ? p->normalizer : (double)counts[APLCL_COUNT_ELEMENTS];
        scale = norm > 0 ? scale / norm : 0.0;
    }
    int ok = 1;
    res->loss_err = worst_ratio(l, rl, n, 1e-7, &ok);
    res->grad_err = worst_ratio(g, rg, n, 1e-7 * (scale > 0 ? scale : 1.0), &ok);
    /* The reduced loss is a sum of float element losses: allow what those errors can add up to
     * plus 1e-6 relative for the accumulation itself. */
    double elem_abs = 0.0, mul = 1.0;
    for (size_t i = 0; i < n; ++i) elem_abs += fabs((double)l[i] - rl[i]);
    if (p->reduction == APLCL_REDUCE_MEAN) {
        double norm = p->normalizer > 0 ? p->normalizer : (double)counts[APLCL_COUNT_ELEMENTS];
        mul = norm > 0 ? 1.0 / norm : 0.0;
    }
    double sum_tol = 1e-6 * fabs(rloss) + elem_abs * mul + 1e-12;
    res->sum_err = fabs(loss - rloss) / fmax(fabs(rloss), 1e-12);
    if (!(fabs(loss - rloss) <= sum_tol)) ok = 0;
    res->pass = ok;
    rc = ok ? 0 : 1;
out:
    free(x), free(yf), free(g), free(l), free(yu), free(rg), free(rl);
    return rc;
}

static const char *red_name(aplcl_reduction r) {
    return r == APLCL_REDUCE_SUM ? "sum" : r == APLCL_REDUCE_MEAN ? "mean" : "none";
}

static int check_device(const char *spec, int quick, int *cases, int *failures) {
    aplcl_ctx *ctx = NULL;
    aplcl_status st = aplcl_ctx_create(&ctx, spec);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl check: device '%s': %s\n", spec ? spec : "(default)",
                aplcl_status_string(st));
        if (st == APLCL_ERR_KERNEL_BUILD) fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++*failures;
        return 1;
    }
    printf("device %s: %s\n", spec, aplcl_ctx_device_name(ctx));
    static const size_t shapes_full[][2] = {{1, 1}, {1, 7}, {3, 5}, {17, 13}, {64, 80},
                                            {1, 1000}, {300, 1001}};
    static const size_t shapes_quick[][2] = {{1, 1}, {3, 5}, {17, 13}, {64, 80}};
    const size_t(*shapes)[2] = quick ? shapes_quick : shapes_full;
    size_t nshapes = quick ? sizeof shapes_quick / sizeof shapes_quick[0]
                           : sizeof shapes_full / sizeof shapes_full[0];
    preset presets[8];
    int np = make_presets(presets);
    printf("%-9s %-13s %-4s %-5s %-4s %11s %11s %11s  %s\n", "shape", "preset", "tgt", "focus",
           "red", "loss_rel", "grad_rel", "sum_rel", "result");
    int k = 0;
    for (size_t s = 0; s < nshapes; ++s)
        for (int pi = 0; pi < np; ++pi)
            for (int u8 = 0; u8 < 2; ++u8, ++k) {
                aplcl_params p = presets[pi].p;
                p.focus_grad = k % 2;
                p.reduction = (aplcl_reduction)((k / 2) % 3);
                if (p.reduction == APLCL_REDUCE_MEAN && (k / 6) % 2) p.normalizer = 123.0;
                case_result res = {0, 0, 0, 0};
                int rc = run_case(ctx, &p, shapes[s][0], shapes[s][1], u8, 1234 + (uint64_t)k, &res);
                char shape[32];
                snprintf(shape, sizeof shape, "%zux%zu", shapes[s][0], shapes[s][1]);
                printf("%-9s %-13s %-4s %-5s %-4s %11.3e %11.3e %11.3e  %s\n", shape,
                       presets[pi].name, u8 ? "u8" : "f32", p.focus_grad ? "diff" : "det",
                       red_name(p.reduction), res.loss_err, res.grad_err, res.sum_err,
                       rc == 0 ? "ok" : "MISMATCH");
                ++*cases;
                if (rc != 0) ++*failures;
            }
    aplcl_ctx_destroy(ctx);
    return 0;
}

int cli_check(int argc, char **argv) {
    const char *device = cli_opt(argc, argv, "--device");
    int quick = cli_flag(argc, argv, "--quick");
    int cases = 0, failures = 0;
    if (device) {
        check_device(device, quick, &cases, &failures);
    } else {
        size_t count = 0;
        aplcl_status st = aplcl_list_devices(NULL, 0, &count);
        aplcl_device_info *infos = count ? calloc(count, sizeof *infos) : NULL;
        if (st != APLCL_SUCCESS || !infos) {
            fprintf(stderr, "aplcl check: %s\n",
                    st != APLCL_SUCCESS ? aplcl_status_string(st) : "no OpenCL device");
            free(infos);
            return 1;
        }
        aplcl_list_devices(infos, count, &count);
        for (size_t i = 0; i < count; ++i) {
            char spec[32];
            snprintf(spec, sizeof spec, "%u:%u", infos[i].platform_index, infos[i].device_index);
            check_device(spec, quick, &cases, &failures);
        }
        free(infos);
    }
    printf("%d passed, %d failed\n", cases - (failures > cases ? cases : failures),
           failures);
    return failures ? 1 : 0;
}
