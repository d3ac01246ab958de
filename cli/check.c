/* check.c: `aplcl check`, every device (or one) against the CPU reference.
 *
 * Runs a matrix of shapes x presets x target formats (f32, u8, bits, csr); storage type (f32,
 * f16, bf16), focusing mode and reduction rotate through the cases. Logits include extremes and
 * the exact clip/eps branch points; the reference runs on the logits as stored. One row per case
 * with the worst errors; exit status 1 on any mismatch. Tolerance (per element): |dev - ref| <=
 * max(1e-5 |ref|, 1e-7 * scale), scale = gradient multiplier (1 for losses), plus half an ulp
 * of the storage type for 16-bit gradients.
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

/* Logits: mostly N(0,3), some uniform in [-100,100], some exactly at branch points.
 * Targets: ~12% positive; soft ones only where the format has them (f32); ignored ones where it
 * can express them (not CSR). */
static void make_inputs(cli_rng *r, const aplcl_params *p, size_t n, aplcl_target_format fmt,
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

typedef struct {
    double loss_err, grad_err, sum_err; /* worst |d-r| / max(|r|, floor) */
} case_result;

static double worst_ratio(const float *dev, const double *ref, size_t n, double rtol,
                          double floor_abs, int *ok) {
    double worst = 0.0;
    for (size_t i = 0; i < n; ++i) {
        double err = fabs((double)dev[i] - ref[i]);
        if (!(err <= fmax(rtol * fabs(ref[i]), floor_abs)))
            *ok = 0; /* NaN fails too */
        double rel = err / fmax(fabs(ref[i]), floor_abs);
        if (!(rel <= worst))
            worst = rel;
    }
    return worst;
}

/* Device buffers of one case; NULL host pointer: uninitialised. */
typedef struct {
    aplcl_ctx *ctx;
    cl_mem list[8];
    int n;
    int failed;
} buffers;
static cl_mem buf(buffers *b, const void *host, size_t bytes) {
    cl_int err;
    cl_mem m = clCreateBuffer(aplcl_ctx_cl_context(b->ctx),
                              CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes ? bytes : 4, (void *)host, &err);
    if (err != CL_SUCCESS)
        b->failed = 1;
    if (m)
        b->list[b->n++] = m;
    return m;
}
static void release_all(buffers *b) {
    for (int i = 0; i < b->n; ++i)
        clReleaseMemObject(b->list[i]);
}

static size_t dtype_bytes(aplcl_dtype d) { return d == APLCL_DTYPE_F32 ? 4 : 2; }
/* Float values -> storage bytes and the floats the storage really holds. */
static void to_storage(aplcl_dtype d, float *vals, void *out, size_t n) {
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
static void from_storage(aplcl_dtype d, const void *in, float *vals, size_t n) {
    if (d == APLCL_DTYPE_F32)
        memcpy(vals, in, n * 4);
    else if (d == APLCL_DTYPE_F16)
        aplcl_f16_to_f32(in, vals, n);
    else
        aplcl_bf16_to_f32(in, vals, n);
}

/* Targets in their format, as device buffers in io->targets. */
static int upload_targets(buffers *b, aplcl_target_format fmt, size_t rows, size_t cols,
                          const float *y, aplcl_targets *t) {
    size_t n = rows * cols, words = APLCL_BITS_WORDS(cols);
    t->format = fmt;
    int rc = 0;
    if (fmt == APLCL_TARGET_F32) {
        t->data = buf(b, y, n * 4);
    } else if (fmt == APLCL_TARGET_U8) {
        uint8_t *u = malloc(n);
        if (!u)
            return -1;
        for (size_t i = 0; i < n; ++i)
            u[i] = y[i] < 0 ? APLCL_TARGET_U8_IGNORE : (uint8_t)y[i];
        t->data = buf(b, u, n);
        free(u);
    } else if (fmt == APLCL_TARGET_BITS) {
        uint32_t *bits = malloc(rows * words * 4), *ign = malloc(rows * words * 4);
        if (bits && ign && aplcl_pack_bits(rows, cols, y, bits, ign) == APLCL_SUCCESS) {
            t->data = buf(b, bits, rows * words * 4);
            t->ignore = buf(b, ign, rows * words * 4);
        } else {
            rc = -1;
        }
        free(bits), free(ign);
    } else {
        uint64_t *rp = malloc((rows + 1) * 8);
        size_t nnz = 0;
        uint32_t *idx = NULL;
        if (rp && aplcl_pack_csr(rows, cols, y, rp, NULL, 0, &nnz) == APLCL_SUCCESS &&
            (idx = malloc(nnz * 4 + 4)) &&
            aplcl_pack_csr(rows, cols, y, rp, idx, nnz, &nnz) == APLCL_SUCCESS) {
            t->data = buf(b, rp, (rows + 1) * 8);
            t->indices = nnz ? buf(b, idx, nnz * 4) : NULL;
            t->nnz = nnz;
        } else {
            rc = -1;
        }
        free(rp), free(idx);
    }
    return rc;
}

static int run_case(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                    aplcl_target_format fmt, aplcl_dtype dt, uint64_t seed, case_result *res) {
    size_t n = rows * cols, xb = dtype_bytes(dt);
    float *x = malloc(n * 4), *y = malloc(n * 4), *g = malloc(n * 4), *l = malloc(n * 4);
    void *xs = malloc(n * xb);
    double *rg = malloc(n * sizeof *rg), *rl = malloc(n * sizeof *rl);
    buffers b = {ctx, {0}, 0, 0};
    int rc = -1;
    if (!x || !y || !g || !l || !xs || !rg || !rl)
        goto out;
    cli_rng r = {seed};
    make_inputs(&r, p, n, fmt, x, y);
    to_storage(dt, x, xs, n); /* x now holds what the device sees */

    aplcl_io io = aplcl_io_default();
    io.dtype = dt;
    io.logits = buf(&b, xs, n * xb);
    if (upload_targets(&b, fmt, rows, cols, y, &io.targets) != 0)
        goto out;
    io.grad = buf(&b, NULL, n * xb);
    io.elem_loss = buf(&b, NULL, n * 4);
    io.loss = buf(&b, NULL, 4);
    io.counts = buf(&b, NULL, APLCL_COUNT_LEN * 8);
    if (b.failed)
        goto out;
    cl_event ev = NULL;
    aplcl_status st = aplcl_compute_io(ctx, p, rows, cols, &io, 0, NULL, &ev);
    double rloss = 0;
    uint64_t counts[APLCL_COUNT_LEN], dcounts[APLCL_COUNT_LEN];
    aplcl_status rst = aplcl_ref_compute_counts(p, rows, cols, x, y, rg, rl, &rloss, counts);
    if (st != APLCL_SUCCESS || rst != APLCL_SUCCESS) {
        fprintf(stderr, "  status: device %s, reference %s\n", aplcl_status_string(st),
                aplcl_status_string(rst));
        rc = 1;
        goto out;
    }
    float loss_f = 0;
    cl_command_queue q = aplcl_ctx_queue(ctx);
    cl_int err = clEnqueueReadBuffer(q, io.grad, CL_TRUE, 0, n * xb, xs, 1, &ev, NULL);
    if (!err)
        err = clEnqueueReadBuffer(q, io.elem_loss, CL_TRUE, 0, n * 4, l, 1, &ev, NULL);
    if (!err)
        err = clEnqueueReadBuffer(q, io.loss, CL_TRUE, 0, 4, &loss_f, 1, &ev, NULL);
    if (!err)
        err = clEnqueueReadBuffer(q, io.counts, CL_TRUE, 0, sizeof dcounts, dcounts, 1, &ev, NULL);
    clReleaseEvent(ev);
    if (err)
        goto out;
    from_storage(dt, xs, g, n);

    double scale = fabs(p->grad_scale);
    if (p->reduction == APLCL_REDUCE_MEAN) {
        double norm = p->normalizer > 0 ? p->normalizer : (double)counts[APLCL_COUNT_ELEMENTS];
        scale = norm > 0 ? scale / norm : 0.0;
    }
    /* 16-bit storage rounds the gradient: half an ulp on top of the kernel's 1e-5 */
    double g_rtol = 1e-5 + (dt == APLCL_DTYPE_F16 ? 0x1p-11 : dt == APLCL_DTYPE_BF16 ? 0x1p-8 : 0);
    double g_atol = 1e-7 * (scale > 0 ? scale : 1.0) + (dt == APLCL_DTYPE_F16 ? 0x1p-24 : 0);
    int ok = 1;
    res->loss_err = worst_ratio(l, rl, n, 1e-5, 1e-7, &ok);
    res->grad_err = worst_ratio(g, rg, n, g_rtol, g_atol, &ok);
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        ok &= dcounts[k] == counts[k];
    /* The reduced loss is a sum of float element losses: allow what those errors can add up to
     * plus 1e-6 relative for the accumulation, plus the float the loss is returned in. */
    double elem_abs = 0.0, mul = 1.0;
    for (size_t i = 0; i < n; ++i)
        elem_abs += fabs((double)l[i] - rl[i]);
    if (p->reduction == APLCL_REDUCE_MEAN) {
        double norm = p->normalizer > 0 ? p->normalizer : (double)counts[APLCL_COUNT_ELEMENTS];
        mul = norm > 0 ? 1.0 / norm : 0.0;
    }
    double sum_tol = (1e-6 + 0x1p-24) * fabs(rloss) + elem_abs * mul + 1e-12;
    res->sum_err = fabs(loss_f - rloss) / fmax(fabs(rloss), 1e-12);
    if (!(fabs(loss_f - rloss) <= sum_tol))
        ok = 0;
    rc = ok ? 0 : 1;
out:
    release_all(&b);
    free(x), free(y), free(g), free(l), free(xs), free(rg), free(rl);
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
        if (st == APLCL_ERR_KERNEL_BUILD)
            fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++*failures;
        return 1;
    }
    printf("device %s: %s\n", spec, aplcl_ctx_device_name(ctx));
    static const size_t shapes_full[][2] = {{1, 1},   {1, 7},    {3, 5},     {17, 13},
                                            {64, 80}, {1, 1000}, {300, 1001}};
    static const size_t shapes_quick[][2] = {{1, 1}, {3, 5}, {17, 13}, {64, 80}};
    const size_t(*shapes)[2] = quick ? shapes_quick : shapes_full;
    size_t nshapes = quick ? sizeof shapes_quick / sizeof shapes_quick[0]
                           : sizeof shapes_full / sizeof shapes_full[0];
    preset presets[8];
    int np = make_presets(presets);
    printf("%-9s %-13s %-5s %-5s %-5s %-4s %11s %11s %11s  %s\n", "shape", "preset", "tgt", "store",
           "focus", "red", "loss_rel", "grad_rel", "sum_rel", "result");
    static const aplcl_target_format fmts[4] = {APLCL_TARGET_F32, APLCL_TARGET_U8,
                                                APLCL_TARGET_BITS, APLCL_TARGET_CSR};
    static const char *fmt_names[4] = {"f32", "u8", "bits", "csr"};
    static const char *dt_names[3] = {"f32", "f16", "bf16"};
    int k = 0;
    for (size_t s = 0; s < nshapes; ++s)
        for (int pi = 0; pi < np; ++pi)
            for (int f = 0; f < 4; ++f, ++k) {
                aplcl_params p = presets[pi].p;
                p.focus_grad = k % 2;
                p.reduction = (aplcl_reduction)((k / 2) % 3);
                if (p.reduction == APLCL_REDUCE_MEAN && (k / 6) % 2)
                    p.normalizer = 123.0;
                aplcl_dtype dt =
                    (aplcl_dtype)((k / 4 + f) % 3); /* every format meets every dtype */
                case_result res = {0, 0, 0};
                int rc = run_case(ctx, &p, shapes[s][0], shapes[s][1], fmts[f], dt,
                                  1234 + (uint64_t)k, &res);
                char shape[32];
                snprintf(shape, sizeof shape, "%zux%zu", shapes[s][0], shapes[s][1]);
                printf("%-9s %-13s %-5s %-5s %-5s %-4s %11.3e %11.3e %11.3e  %s\n", shape,
                       presets[pi].name, fmt_names[f], dt_names[dt], p.focus_grad ? "diff" : "det",
                       red_name(p.reduction), res.loss_err, res.grad_err, res.sum_err,
                       rc == 0 ? "ok" : "MISMATCH");
                ++*cases;
                if (rc != 0)
                    ++*failures;
            }
    aplcl_ctx_destroy(ctx);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: aplcl check [--device D] [--quick]\n"
               "  Compares every device (or D: \"P:D\" or a name substring; default\n"
               "  $APLCL_DEVICE, else every device) with the CPU reference; exit 1 on a mismatch.\n"
               "  --quick  fewer and smaller shapes\n");
}

int cli_check(int argc, char **argv) {
    cli_option opts[] = {{"--device", 1, NULL}, {"--quick", 0, NULL}};
    int pr = cli_parse("aplcl check", argc, argv, opts, 2, NULL, 0, NULL);
    if (pr != CLI_PARSE_OK) {
        if (pr == CLI_PARSE_HELP)
            usage(stdout);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    const char *device = cli_device_choice(opts[0].value);
    int quick = opts[1].value != NULL;
    int cases = 0, failures = 0;
    size_t count = 0;
    cli_device_spec *specs = cli_device_specs(device, "aplcl check", &count);
    if (!specs)
        return 1;
    for (size_t i = 0; i < count; ++i)
        check_device(specs[i], quick, &cases, &failures);
    free(specs);
    printf("%d passed, %d failed\n", cases - (failures > cases ? cases : failures), failures);
    return failures || cli_close_output(stdout, NULL, "aplcl check") ? 1 : 0;
}
