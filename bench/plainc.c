/* plainc.c: the plain-C yardstick of `aplcl bench` (interface: plainc.h).
 *
 * What a careful C programmer would write for the reference APL (aplcl_params_default(): gamma+
 * 0, gamma- 4, clip 0.05, eps 1e-8, alpha = (0, 1.75), no beta, no focus gradient), SUM, 0/1
 * u8 targets: one pass, branch-free, float32, inline polynomial exp and log1p (strict IEEE, no
 * fast-math; -fno-trapping-math only lets GCC compute both sides of a select, see
 * bench/CMakeLists.txt), compiled for the host's widest vector ISA (target_clones), rows split over
 * the host's cores (as PoCL splits work-groups). The same numerics class as the kernel: -ln p
 * as softplus, 1 - p without cancellation, the series form of G(u) for small u, losses summed
 * in float over 8 vectors of 16 lanes, then in double. Not the library and not a reference: it
 * exists so that "kernel / plain C" is a figure that means the same on an Intel or an AMD CPU.
 * The constants are the defaults written out; if they change, the check below fails.
 */
#define _POSIX_C_SOURCE 200809L
#include "plainc.h"

#include "aplcl.h"
#include "cases.h"
#include "tool_util.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PLAINC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define PLAINC_CLONES
#endif

#define LANES 16
#define BLOCK 8 /* vectors of LANES losses summed in float before the double sum */

/* The defaults (src/params.c) and the thresholds apl_derive finds for them. */
#define CLIP 0.05f
#define LN_EPS (-18.420680743952367f) /* ln 1e-8 */
#define ONE_MINUS_EPS 0.99999999f
#define POS_FLOOR_X (-18.420680644f) /* p < eps */
#define NEG_CLIP_X (-2.944439157f)   /* p < clip */
#define C1 (-1.0f)                   /* alpha_1 - 1 */
#define C2 1.25f                     /* alpha_2 - 1/2 */

/* max and min as selects (the inputs are finite): fmaxf and fminf are calls, and no loop with a
 * call is vectorised. */
static inline float max_f(float a, float b) { return a > b ? a : b; }
static inline float min_f(float a, float b) { return a < b ? a : b; }

static inline float bits_f(uint32_t b) {
    float f;
    memcpy(&f, &b, 4);
    return f;
}
static inline uint32_t f_bits(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* exp(a) for finite a <= 0 (Cephes expf: Cody-Waite reduction, degree-6 polynomial); below -87
 * it returns exp(-87), as good as 0 for every use here. The clamp is arithmetic: as a select, GCC
 * threads the constant through the rest and the loop is no longer vectorised. */
static inline float exp_neg(float a) {
    a -= (float)(a < -87.0f) * (a + 87.0f);
    float n = (float)(int32_t)(a * 1.44269504089f - 0.5f);
    float r = a - n * 0.693359375f + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return p * bits_f((uint32_t)((int32_t)n + 127) << 23);
}

/* log1p(a) for -1 < a < 2^24: log(1 + a) (Cephes logf on the mantissa) plus the rounding of
 * 1 + a, corrected to first order. */
static inline float log1p_f(float a) {
    float u = 1.0f + a;
    float corr = (a - (u - 1.0f)) / u;
    uint32_t b = f_bits(u);
    int32_t e = (int32_t)(b >> 23) - 127;
    float m = bits_f((b & 0x007fffffu) | 0x3f800000u);
    int big = m > 1.41421356f;
    m = big ? 0.5f * m : m;
    float fe = (float)(e + big);
    float f = m - 1.0f, z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z + fe * -2.12194440e-4f - 0.5f * z;
    return f + y + fe * 0.693359375f + corr;
}

/* Loss and gradient of one element, x logit, t 0/1 target; no branch. */
static inline void element(float x, int t, float *lo, float *go) {
    float e = exp_neg(-fabsf(x));
    float inv = 1.0f / (1.0f + e);
    int xpos = x >= 0.0f;
    float p = xpos ? inv : e * inv;
    float omp = xpos ? e * inv : inv;
    float s = p * omp;
    float pm = max_f(p - CLIP, 0.0f);
    float q = min_f(omp + CLIP, 1.0f);
    float lg = log1p_f(t ? e : -pm); /* one log per element, chosen by the target */
    /* positive: G(u) = -ln(1-u) + C1 u + C2 u^2, u = 1 - p, series form below u = 1/4 */
    int floored = x < POS_FLOOR_X;
    float u = floored ? ONE_MINUS_EPS : omp;
    float nl = floored ? -LN_EPS : max_f(-x, 0.0f) + lg;
    float direct = nl + (C2 * u + C1) * u;
    float v = 1.0f / 15;
    v = v * u + 1.0f / 14, v = v * u + 1.0f / 13, v = v * u + 1.0f / 12, v = v * u + 1.0f / 11;
    v = v * u + 1.0f / 10, v = v * u + 1.0f / 9, v = v * u + 1.0f / 8, v = v * u + 1.0f / 7;
    v = v * u + 1.0f / 6, v = v * u + 1.0f / 5, v = v * u + 1.0f / 4, v = v * u + 1.0f / 3;
    v = v * u + (C2 + 0.5f);
    v = v * u + (C1 + 1.0f);
    float lp = u < 0.25f ? v * u : direct;
    float gp = floored ? 0.0f : -omp * (omp + p * (2.0f * C2 * omp));
    /* negative: (p_m)^4 (-ln q), gradient (p_m)^4 s / q */
    float w = (pm * pm) * (pm * pm);
    float ln = w * -lg, gn = w * (s / q);
    int easy = !t && x < NEG_CLIP_X;
    *lo = easy ? 0.0f : t ? lp : ln;
    *go = easy ? 0.0f : t ? gp : gn;
}

/* Elements [0, n): gradients to g, the summed loss returned. Blocks of BLOCK x LANES elements
 * go through one flat loop the compiler vectorises, their losses summed lane-wise in float
 * then in double; the rest one by one. */
PLAINC_CLONES static double run_range(const float *x, const uint8_t *y, float *g, size_t n) {
    double sum[LANES] = {0};
    size_t i = 0;
    for (; i + LANES * BLOCK <= n; i += LANES * BLOCK) {
        float l[LANES * BLOCK], blk[LANES] = {0};
        const float *xb = x + i;
        const uint8_t *yb = y + i;
        float *gb = g + i;
        for (int j = 0; j < LANES * BLOCK; ++j)
            element(xb[j], yb[j], &l[j], &gb[j]);
        for (int b = 0; b < BLOCK; ++b)
            for (int j = 0; j < LANES; ++j)
                blk[j] += l[b * LANES + j];
        for (int j = 0; j < LANES; ++j)
            sum[j] += blk[j];
    }
    double total = 0.0;
    for (int j = 0; j < LANES; ++j)
        total += sum[j];
    for (; i < n; ++i) {
        float l;
        element(x[i], y[i], &l, &g[i]);
        total += l;
    }
    return total;
}

typedef struct {
    const float *x;
    const uint8_t *y;
    float *g;
    size_t n;
    double loss;
} part;

static void *run_part(void *arg) {
    part *pt = (part *)arg;
    pt->loss = run_range(pt->x, pt->y, pt->g, pt->n);
    return NULL;
}

#define MAX_THREADS 64

/* One call: rows split evenly over `threads` (a fixed split, so the loss is deterministic). */
static int run_call(const float *x, const uint8_t *y, float *g, size_t rows, size_t cols,
                    int threads, double *loss) {
    part parts[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started = 0, rc = 0;
    for (int t = 0; t < threads; ++t) {
        size_t r0 = rows * (size_t)t / (size_t)threads, r1 = rows * (size_t)(t + 1) / threads;
        parts[t] = (part){x + r0 * cols, y + r0 * cols, g + r0 * cols, (r1 - r0) * cols, 0.0};
    }
    for (int t = 1; t < threads; ++t, ++started)
        if (pthread_create(&tid[t], NULL, run_part, &parts[t]) != 0) {
            rc = 1;
            break;
        }
    run_part(&parts[0]);
    for (int t = 1; t <= started; ++t)
        pthread_join(tid[t], NULL);
    *loss = 0.0;
    for (int t = 0; t < threads; ++t)
        *loss += parts[t].loss;
    return rc;
}

/* Every gradient of the first rows (at most 2^20 elements) and the summed loss against
 * aplcl_ref_compute, by the rule `aplcl bench` checks the kernel with. */
static int check(const float *x, const uint8_t *y, const float *g, double loss, size_t rows,
                 size_t cols, cli_plainc_result *out) {
    size_t crows = ((size_t)1 << 20) / cols;
    crows = crows == 0 ? 1 : crows > rows ? rows : crows;
    size_t cn = crows * cols;
    float *yf = malloc(cn * sizeof *yf);
    double *rg = malloc(cn * sizeof *rg);
    if (!yf || !rg) {
        free(yf), free(rg);
        return 1;
    }
    aplcl_params p = aplcl_params_default();
    double rtol = cases_grad_rtol(APLCL_DTYPE_F32), atol = cases_grad_atol(APLCL_DTYPE_F32, 1.0);
    double total = 0.0, worst = 0.0;
    int ok = 1;
    for (size_t r0 = 0; r0 < rows && ok; r0 += crows) {
        size_t nr = rows - r0 < crows ? rows - r0 : crows, m = nr * cols, base = r0 * cols;
        for (size_t i = 0; i < m; ++i)
            yf[i] = (float)y[base + i];
        double l = 0.0;
        ok = aplcl_ref_compute(&p, nr, cols, x + base, yf, rg, NULL, &l) == APLCL_SUCCESS;
        total += l;
        for (size_t i = 0; ok && r0 == 0 && i < m; ++i) { /* gradients of the first rows */
            double d = fabs((double)g[i] - rg[i]) / cases_tol(rg[i], rtol, atol);
            worst = d > worst || isnan(d) ? d : worst;
        }
    }
    out->err_tol = worst;
    out->ok = ok && worst <= 1.0 && cases_sum_ok(loss, total, 1.0);
    free(yf), free(rg);
    return 0;
}

int cli_plainc_run(const float *x, const uint8_t *y, size_t rows, size_t cols, int reps,
                   cli_plainc_result *out) {
    memset(out, 0, sizeof *out);
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = nc < 1 ? 1 : nc > MAX_THREADS ? MAX_THREADS : (int)nc;
    if ((size_t)threads > rows)
        threads = (int)rows;
    out->threads = threads;
    size_t n = rows * cols;
    float *g = malloc(n * sizeof *g);
    double *t = malloc((size_t)(reps > 0 ? reps : 1) * sizeof *t);
    int rc = !g || !t;
    for (int w = 0; !rc && w < 2; ++w) /* warm-ups; the first is checked */
        rc = run_call(x, y, g, rows, cols, threads, &out->loss) ||
             (w == 0 && check(x, y, g, out->loss, rows, cols, out));
    for (int i = 0; !rc && out->ok && i < reps; ++i) {
        double t0 = cli_now_s();
        rc = run_call(x, y, g, rows, cols, threads, &out->loss);
        t[i] = cli_now_s() - t0;
    }
    if (!rc && out->ok) {
        out->reps = reps;
        cli_stats(t, reps, &out->median_s, &out->min_s, &out->max_s);
    }
    free(g), free(t);
    return rc;
}

void cli_plainc_row(const float *x, const uint8_t *y, size_t rows, size_t cols, int trained,
                    int reps, double copy_gb_s, cli_bench_row *r) {
    memset(r, 0, sizeof *r);
    cli_plainc_result pc;
    int rc = cli_plainc_run(x, y, rows, cols, reps, &pc);
    double n = (double)(rows * cols);
    snprintf(r->device, sizeof r->device, "plain C (%d threads)", pc.threads);
    snprintf(r->device_id, sizeof r->device_id, "cpu");
    snprintf(r->shape, sizeof r->shape, "%zux%zu", rows, cols);
    r->regime = trained ? "trained" : "early";
    r->dtype = "plainC";
    r->targets = "u8";
    r->timing = "wall";
    r->checked = rc ? "error" : pc.ok ? "ok" : "MISMATCH";
    r->err_tol = rc ? NAN : pc.err_tol;
    r->loss = rc ? NAN : pc.loss;
    r->bytes = n * 9.0; /* f32 logits and u8 targets read, f32 gradient written */
    r->copy_gb_s = copy_gb_s;
    r->median_ms = r->min_ms = r->max_ms = r->gelem_s = r->gb_s = r->frac_copy = NAN;
    if (!rc && pc.reps) {
        r->reps = pc.reps;
        r->median_ms = pc.median_s * 1e3, r->min_ms = pc.min_s * 1e3, r->max_ms = pc.max_s * 1e3;
        r->gelem_s = n / pc.median_s * 1e-9;
        r->gb_s = r->bytes / pc.median_s * 1e-9;
        r->frac_copy = copy_gb_s > 0 ? r->gb_s / copy_gb_s : NAN;
    }
}

void cli_plainc_ratio(FILE *f, const cli_bench_row *rows, size_t n) {
    const cli_bench_row *pc = n ? &rows[n - 1] : NULL;
    if (!pc || isnan(pc->gelem_s))
        return;
    for (size_t i = n - 1; i-- > 0;) {
        const cli_bench_row *k = &rows[i];
        /* the plain kernel row: not the host-pointer, weighted or accumulating ones beside it */
        int plain_row = !k->accumulate && k->timing && strcmp(k->timing, "host-ptr") != 0 &&
                        strncmp(k->timing, "weighted", 8) != 0;
        if (!strcmp(k->shape, pc->shape) && k->regime == pc->regime && !strcmp(k->dtype, "f32") &&
            !strcmp(k->targets, "u8") && plain_row && !isnan(k->gelem_s)) {
            fprintf(f,
                    "%-12s %-7s kernel f32/u8 / plain C: %.1f%% of the median, %.1f%% of the min\n",
                    pc->shape, pc->regime, 100.0 * k->gelem_s / pc->gelem_s,
                    100.0 * pc->min_ms / k->min_ms);
            return;
        }
    }
}
