/* check.c: `aplcl check`, every OpenCL device (or one, or a CUDA device) against the CPU
 * reference.
 *
 * Runs a matrix of shapes x presets x target formats (f32, u8, bits, csr); storage type (f32,
 * f16, bf16), focusing mode and reduction rotate through the cases. Logits include extremes and
 * the exact clip/eps branch points; the reference runs on the logits as stored. One row per case
 * with the worst errors; exit status 1 on any mismatch. The parameter sets, the inputs and the
 * tolerance rule are cases/cases.h's, the same the tests use: per element |dev - ref| <=
 * max(1e-5 |ref|, 1e-7 * scale), scale = gradient multiplier (1 for losses), plus half an ulp of
 * the storage type for 16-bit gradients; the reduced loss within 1e-6 relative. Weighted cases
 * (pos_weight, per-element, per-label and per-row weights) follow each shape's matrix, checked
 * against aplcl_ref_compute_io with the absolute floors times CASES_WEIGHT_MAX. The cases run
 * through a backend (check.h): OpenCL here, CUDA in check_cuda.c (`--cuda N`), one matrix and one
 * rule for both.
 */
#include "check.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The presets and the custom set every device is checked with (cases/cases.h). */
static const cases_set_id k_sets[] = {CASES_APL_DEFAULT, CASES_BCE,     CASES_FOCAL_2,
                                      CASES_ASL_4_1_005, CASES_POLY1_1, CASES_CUSTOM_NOEPS};

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

/* ---- the OpenCL backend ---- */

/* Device buffers of one case; NULL host pointer: uninitialised. */
typedef struct {
    aplcl_ctx *ctx;
    cl_mem list[12]; /* at most 9: logits, 2 targets, grad, elem_loss, loss, counts, 2 weights */
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
    if (m && b->n == (int)(sizeof b->list / sizeof b->list[0])) { /* never: list has room */
        clReleaseMemObject(m);
        b->failed = 1;
        return NULL;
    }
    if (m)
        b->list[b->n++] = m;
    return m;
}
static void release_all(buffers *b) {
    for (int i = 0; i < b->n; ++i)
        clReleaseMemObject(b->list[i]);
}

static aplcl_status run_opencl(void *backend, const aplcl_params *p, check_call *c) {
    aplcl_ctx *ctx = (aplcl_ctx *)backend;
    size_t n = c->rows * c->cols, xb = cases_dtype_bytes(c->dtype);
    const cases_targets *pk = c->targets;
    buffers b = {ctx, {0}, 0, 0};
    aplcl_io io = aplcl_io_default();
    io.dtype = c->dtype;
    io.logits = buf(&b, c->logits, n * xb);
    io.targets.format = pk->format;
    io.targets.data = buf(&b, pk->data, pk->data_bytes);
    if (pk->format == APLCL_TARGET_BITS)
        io.targets.ignore = buf(&b, pk->aux, pk->aux_bytes);
    if (pk->format == APLCL_TARGET_CSR) {
        io.targets.indices = pk->aux ? buf(&b, pk->aux, pk->aux_bytes) : NULL;
        io.targets.nnz = pk->nnz;
    }
    io.grad = buf(&b, NULL, n * xb);
    io.elem_loss = buf(&b, NULL, n * 4);
    io.loss = buf(&b, NULL, 4);
    io.counts = buf(&b, NULL, APLCL_COUNT_LEN * 8);
    const aplcl_weights *w = &c->weights;
    io.weights.pos_weight = w->pos_weight ? buf(&b, w->pos_weight, c->cols * 4) : NULL;
    io.weights.weight = w->weight ? buf(&b, w->weight, c->weight_count * 4) : NULL;
    io.weights.kind = w->kind;
    aplcl_status st = b.failed ? APLCL_ERR_OPENCL : APLCL_SUCCESS;
    cl_event ev = NULL;
    if (st == APLCL_SUCCESS)
        st = aplcl_compute_io(ctx, p, c->rows, c->cols, &io, 0, NULL, &ev);
    if (st == APLCL_SUCCESS) {
        cl_command_queue q = aplcl_ctx_queue(ctx);
        cl_int err = clEnqueueReadBuffer(q, io.grad, CL_TRUE, 0, n * xb, c->grad, 1, &ev, NULL);
        if (!err)
            err =
                clEnqueueReadBuffer(q, io.elem_loss, CL_TRUE, 0, n * 4, c->elem_loss, 1, &ev, NULL);
        if (!err)
            err = clEnqueueReadBuffer(q, io.loss, CL_TRUE, 0, 4, &c->loss, 1, &ev, NULL);
        if (!err)
            err = clEnqueueReadBuffer(q, io.counts, CL_TRUE, 0, sizeof c->counts, c->counts, 1, &ev,
                                      NULL);
        if (err)
            st = APLCL_ERR_OPENCL;
    }
    if (ev)
        clReleaseEvent(ev);
    release_all(&b);
    return st;
}

/* ---- one case on any backend, against the reference ---- */

static int run_case(check_run_fn run, void *backend, const aplcl_params *p, size_t rows,
                    size_t cols, aplcl_target_format fmt, aplcl_dtype dt, int wmode, uint64_t seed,
                    case_result *res) {
    size_t n = rows * cols, xb = cases_dtype_bytes(dt);
    float *x = malloc(n * 4), *y = malloc(n * 4), *g = malloc(n * 4), *l = malloc(n * 4);
    void *xs = malloc(n * xb), *gs = malloc(n * xb);
    double *rg = malloc(n * sizeof *rg), *rl = malloc(n * sizeof *rl);
    int rc = -1;
    float *pw = NULL, *w = NULL;
    aplcl_weights hw = {NULL, 0, NULL, 0, APLCL_WEIGHT_ELEMENT};
    size_t wcount = 0;
    cases_targets packed;
    memset(&packed, 0, sizeof packed);
    cli_rng r = cli_rng_seed(seed);
    if (!x || !y || !g || !l || !xs || !gs || !rg || !rl ||
        cases_make_weights(&r, wmode, rows, cols, &pw, &w, &hw.kind, &wcount) != 0)
        goto out;
    hw.pos_weight = pw, hw.weight = w;
    cases_check_inputs(&r, p, n, fmt, x, y);
    cases_to_storage(dt, x, xs, n); /* x now holds what the device sees */
    if (cases_pack_targets(fmt, rows, cols, y, 1, &packed) != APLCL_SUCCESS)
        goto out;

    check_call c;
    memset(&c, 0, sizeof c);
    c.dtype = dt, c.rows = rows, c.cols = cols, c.logits = xs, c.targets = &packed;
    c.weights = hw, c.weight_count = wcount;
    c.grad = gs, c.elem_loss = l;
    aplcl_status st = run(backend, p, &c);
    aplcl_ref_io rio = {0};
    rio.logits = x, rio.targets = y, rio.weights = hw, rio.grad = rg, rio.elem_loss = rl;
    aplcl_status rst = aplcl_ref_compute_io(p, rows, cols, &rio);
    if (st != APLCL_SUCCESS || rst != APLCL_SUCCESS) {
        fprintf(stderr, "  status: device %s, reference %s\n", aplcl_status_string(st),
                aplcl_status_string(rst));
        rc = 1;
        goto out;
    }
    cases_from_storage(dt, gs, g, n);

    double wmax = wmode ? CASES_WEIGHT_MAX : 1.0; /* weights scale the absolute floors */
    double scale = fabs(cases_grad_scale(p, rio.counts[APLCL_COUNT_ELEMENTS])) * wmax;
    double g_rtol = cases_grad_rtol(dt);
    double g_atol = cases_grad_atol(dt, scale > 0 ? scale : 1.0);
    int ok = 1;
    res->loss_err = worst_ratio(l, rl, n, CASES_RTOL, CASES_ATOL * wmax, &ok);
    res->grad_err = worst_ratio(g, rg, n, g_rtol, g_atol, &ok);
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        ok &= c.counts[k] == rio.counts[k];
    /* the reduced loss (returned in a float) by the same rule as the tests' */
    res->sum_err = fabs(c.loss - rio.loss) / fmax(fabs(rio.loss), 1e-12);
    if (!cases_sum_ok(c.loss, rio.loss,
                      cases_loss_scale(p, rio.counts[APLCL_COUNT_ELEMENTS]) * wmax))
        ok = 0;
    rc = ok ? 0 : 1;
out:
    cases_targets_free(&packed);
    free(x), free(y), free(g), free(l), free(xs), free(gs), free(rg), free(rl), free(pw), free(w);
    return rc;
}

void check_cases(check_run_fn run, void *backend, int quick, int *cases, int *failures) {
    static const size_t shapes_full[][2] = {{1, 1},   {1, 7},    {3, 5},     {17, 13},
                                            {64, 80}, {1, 1000}, {300, 1001}};
    static const size_t shapes_quick[][2] = {{1, 1}, {3, 5}, {17, 13}, {64, 80}};
    const size_t(*shapes)[2] = quick ? shapes_quick : shapes_full;
    size_t nshapes = quick ? sizeof shapes_quick / sizeof shapes_quick[0]
                           : sizeof shapes_full / sizeof shapes_full[0];
    const int np = (int)(sizeof k_sets / sizeof k_sets[0]);
    printf("%-9s %-13s %-5s %-5s %-5s %-4s %-7s %11s %11s %11s  %s\n", "shape", "preset", "tgt",
           "store", "focus", "red", "weights", "loss_rel", "grad_rel", "sum_rel", "result");
    static const aplcl_target_format fmts[4] = {APLCL_TARGET_F32, APLCL_TARGET_U8,
                                                APLCL_TARGET_BITS, APLCL_TARGET_CSR};
    int k = 0;
    for (size_t s = 0; s < nshapes; ++s)
        /* the presets unweighted, then the first three (APL, BCE, focal) with weights */
        for (int pi = 0; pi < np + 3; ++pi)
            for (int f = 0; f < 4; ++f, ++k) {
                int wmode = pi < np ? 0 : 1 + (f + pi + (int)s) % (CASES_WEIGHT_MODES - 1);
                cases_param_set set = cases_param_set_get(k_sets[pi < np ? pi : pi - np]);
                aplcl_params p = set.p;
                p.focus_grad = k % 2;
                p.reduction = (aplcl_reduction)((k / 2) % 3);
                if (p.reduction == APLCL_REDUCE_MEAN && (k / 6) % 2)
                    p.normalizer = 123.0;
                aplcl_dtype dt =
                    (aplcl_dtype)((k / 4 + f) % 3); /* every format meets every dtype */
                case_result res = {0, 0, 0};
                int rc = run_case(run, backend, &p, shapes[s][0], shapes[s][1], fmts[f], dt, wmode,
                                  1234 + (uint64_t)k, &res);
                char shape[32];
                snprintf(shape, sizeof shape, "%zux%zu", shapes[s][0], shapes[s][1]);
                printf("%-9s %-13s %-5s %-5s %-5s %-4s %-7s %11.3e %11.3e %11.3e  %s\n", shape,
                       set.name, cases_format_name(fmts[f]), cases_dtype_name(dt),
                       p.focus_grad ? "diff" : "det", cases_reduction_name(p.reduction),
                       cases_weight_name(wmode), res.loss_err, res.grad_err, res.sum_err,
                       rc == 0 ? "ok" : "MISMATCH");
                ++*cases;
                if (rc != 0)
                    ++*failures;
            }
}

static int check_device(const char *spec, int quick, int *cases, int *failures) {
    aplcl_ctx *ctx = NULL;
    aplcl_status st = cli_ctx_create(&ctx, spec);
    if (st != APLCL_SUCCESS) {
        fprintf(stderr, "aplcl check: device '%s': %s\n", spec ? spec : "(default)",
                aplcl_status_string(st));
        if (st == APLCL_ERR_KERNEL_BUILD)
            fprintf(stderr, "%s\n", aplcl_last_build_log());
        ++*failures;
        return 1;
    }
    printf("device %s: %s\n", spec, aplcl_ctx_device_name(ctx));
    check_cases(run_opencl, ctx, quick, cases, failures);
    aplcl_ctx_destroy(ctx);
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: aplcl check [--device D | --cuda N] [--quick]\n"
               "  Compares every OpenCL device (or D: \"P:D\" or a name substring; default\n"
               "  $APLCL_DEVICE, else every device) with the CPU reference; exit 1 on a mismatch.\n"
               "  --cuda N  CUDA device N instead (aplcl_cuda_compute_io, the same cases and\n"
               "           tolerance); exit 3 when there is no CUDA driver or no device N\n"
               "  --quick   fewer and smaller shapes\n");
}

int cli_check(int argc, char **argv) {
    cli_option opts[] = {{"--device", 1, NULL}, {"--quick", 0, NULL}, {"--cuda", 1, NULL}};
    int pr = cli_parse("aplcl check", argc, argv, opts, 3, NULL, 0, NULL);
    if (pr != CLI_PARSE_OK) {
        if (pr == CLI_PARSE_HELP)
            usage(stdout);
        return pr == CLI_PARSE_HELP ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    int quick = opts[1].value != NULL;
    int cases = 0, failures = 0;
    if (opts[2].value) { /* CUDA: one device by ordinal; $APLCL_DEVICE names OpenCL devices */
        int64_t ordinal;
        if (opts[0].value) {
            fprintf(stderr, "aplcl check: --device and --cuda exclude each other\n");
            return CLI_EXIT_USAGE;
        }
        if (cli_parse_i64("aplcl check", "--cuda", opts[2].value, 0, 1023, &ordinal))
            return CLI_EXIT_USAGE;
        int rc = check_cuda_device((int)ordinal, quick, &cases, &failures);
        if (rc != 0)
            return rc;
        printf("%d passed, %d failed\n", cases - failures, failures);
        return failures || cli_close_output(stdout, NULL, "aplcl check") ? 1 : 0;
    }
    const char *device = cli_device_choice(opts[0].value);
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
