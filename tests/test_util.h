/* test_util.h: the tiny assert and helper header shared by aplcl's CTest executables.
 *
 * Checks record a failure, print both operands with file:line (libuv test/task.h style) and carry
 * on, so one run shows every broken sub-case; main() returns tu_exit_code(). Also: element-wise
 * comparison under the tolerance rule (cases/cases.h), OpenCL buffer helpers whose failures count
 * as failed checks, and context creation that turns "no OpenCL here" into the skip code 77. Not a
 * framework: no registration, no fixtures.
 */
#ifndef APLCL_TEST_UTIL_H
#define APLCL_TEST_UTIL_H

#include "aplcl.h"
#include "aplcl_head.h"
#include "cases.h"
#include "tool_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit code CTest treats as "skipped" (SKIP_RETURN_CODE 77). */
#define TU_SKIP 77

/* The tolerance rule, the generator and the shared parameter sets are cases/cases.h's and
 * common/tool_util.h's (cases_grad_rtol, CASES_RTOL, cli_rng, cases_param_set_get): the tests,
 * `aplcl check` and `aplcl bench` compare by one rule. */

static int tu_failures = 0;
static long tu_checks = 0; /* checks evaluated (CHECK*, CL_CHECK, tu_buffer, TU_CMP_CHECK) */

static inline int tu_exit_code(void) {
    if (tu_failures) {
        printf("FAILED: %d of %ld check(s) failed\n", tu_failures, tu_checks);
        return 1;
    }
    printf("PASSED (%ld checks)\n", tu_checks);
    return 0;
}

/* Name of a status code ("APLCL_ERR_NO_DEVICE"), from the header's own X-macro list. */
static inline const char *tu_status_name(aplcl_status s) {
    switch (s) {
#define TU_STATUS_CASE_(name, value, text)                                                         \
    case name:                                                                                     \
        return #name;
        APLCL_STATUS_MAP(TU_STATUS_CASE_)
#undef TU_STATUS_CASE_
    }
    return "(not an aplcl_status)";
}

#define TU_FAIL_AT_(file, line, ...)                                                               \
    do {                                                                                           \
        fprintf(stdout, "  check failed at %s:%d: ", file, line);                                  \
        fprintf(stdout, __VA_ARGS__);                                                              \
        fputc('\n', stdout);                                                                       \
        tu_failures++;                                                                             \
    } while (0)

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        tu_checks++;                                                                               \
        if (!(expr))                                                                               \
            TU_FAIL_AT_(__FILE__, __LINE__, "`%s` is false", #expr);                               \
    } while (0)

/* Integers of any width, printed as long long. */
#define CHECK_INT_OP_(a, op, b)                                                                    \
    do {                                                                                           \
        tu_checks++;                                                                               \
        long long tu_a_ = (long long)(a), tu_b_ = (long long)(b);                                  \
        if (!(tu_a_ op tu_b_))                                                                     \
            TU_FAIL_AT_(__FILE__, __LINE__, "`%s %s %s` (%lld %s %lld)", #a, #op, #b, tu_a_, #op,  \
                        tu_b_);                                                                    \
    } while (0)
#define CHECK_EQ(a, b) CHECK_INT_OP_(a, ==, b)
#define CHECK_NE(a, b) CHECK_INT_OP_(a, !=, b)
#define CHECK_GE(a, b) CHECK_INT_OP_(a, >=, b)
#define CHECK_GT(a, b) CHECK_INT_OP_(a, >, b)

#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        tu_checks++;                                                                               \
        unsigned long long tu_a_ = (unsigned long long)(a), tu_b_ = (unsigned long long)(b);       \
        if (tu_a_ != tu_b_)                                                                        \
            TU_FAIL_AT_(__FILE__, __LINE__, "`%s == %s` (%llu == %llu)", #a, #b, tu_a_, tu_b_);    \
    } while (0)

/* Status codes, printed by name. */
#define CHECK_STATUS(expr, want)                                                                   \
    do {                                                                                           \
        tu_checks++;                                                                               \
        aplcl_status tu_got_ = (expr), tu_want_ = (want);                                          \
        if (tu_got_ != tu_want_)                                                                   \
            TU_FAIL_AT_(__FILE__, __LINE__, "`%s` returned %s (%d), expected %s (%d)", #expr,      \
                        tu_status_name(tu_got_), (int)tu_got_, tu_status_name(tu_want_),           \
                        (int)tu_want_);                                                            \
    } while (0)

/* |a - b| <= max(rtol * |b|, atol); b is the reference. NaN never passes. */
#define CHECK_NEAR(a, b, rtol, atol)                                                               \
    do {                                                                                           \
        tu_checks++;                                                                               \
        double tu_a_ = (double)(a), tu_b_ = (double)(b);                                           \
        double tu_tol_ = fmax((rtol)*fabs(tu_b_), (atol));                                         \
        if (!(fabs(tu_a_ - tu_b_) <= tu_tol_))                                                     \
            TU_FAIL_AT_(__FILE__, __LINE__,                                                        \
                        "`%s` ~ `%s` (%.15g vs %.15g, |diff| %.3g > tol %.3g)", #a, #b, tu_a_,     \
                        tu_b_, fabs(tu_a_ - tu_b_), tu_tol_);                                      \
    } while (0)

/* Exact floating-point equality (bits aside: -0 == 0). */
#define CHECK_EQ_DBL(a, b)                                                                         \
    do {                                                                                           \
        tu_checks++;                                                                               \
        double tu_a_ = (double)(a), tu_b_ = (double)(b);                                           \
        if (!(tu_a_ == tu_b_))                                                                     \
            TU_FAIL_AT_(__FILE__, __LINE__, "`%s == %s` (%.17g == %.17g)", #a, #b, tu_a_, tu_b_);  \
    } while (0)

/* One short line per sub-case: "ok   name" or "FAIL name" depending on whether any check failed
 * since the matching tu_case_begin(). */
static inline int tu_case_begin(void) { return tu_failures; }
#if defined(__GNUC__)
#define TU_PRINTF_(f, a) __attribute__((format(printf, f, a)))
#else
#define TU_PRINTF_(f, a)
#endif
TU_PRINTF_(2, 3) static inline void tu_case_end(int mark, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs(tu_failures == mark ? "ok   " : "FAIL ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    fflush(stdout);
}

/* ---- element-wise comparison under the tolerance rule ---- */
typedef struct tu_cmp {
    size_t n_bad;       /* elements outside the tolerance (NaN counts as outside) */
    size_t worst;       /* index of the worst element (largest |diff| / tol) */
    double worst_ratio; /* |diff| / tol there; <= 1 means pass */
    double worst_got, worst_want;
} tu_cmp;

static inline void tu_cmp_one_(tu_cmp *c, size_t i, double got, double want, double rtol,
                               double atol) {
    double tol = fmax(rtol * fabs(want), atol);
    double diff = fabs(got - want);
    double ratio = (diff == 0.0) ? 0.0 : (tol > 0.0 ? diff / tol : INFINITY);
    if (isnan(got) || isnan(want))
        ratio = (isnan(got) && isnan(want)) ? 0.0 : INFINITY;
    if (isinf(want) || isinf(got))
        ratio = (got == want) ? 0.0 : INFINITY;
    if (!(ratio <= 1.0))
        c->n_bad++;
    if (!(ratio <= c->worst_ratio)) {
        c->worst_ratio = ratio;
        c->worst = i;
        c->worst_got = got;
        c->worst_want = want;
    }
}

/* Float results against a double reference. */
static inline tu_cmp tu_compare_f32(const float *got, const double *want, size_t n, double rtol,
                                    double atol) {
    tu_cmp c = {0, 0, 0.0, 0.0, 0.0};
    for (size_t i = 0; i < n; i++)
        tu_cmp_one_(&c, i, (double)got[i], want[i], rtol, atol);
    return c;
}
/* Double results against a double reference. */
static inline tu_cmp tu_compare_f64(const double *got, const double *want, size_t n, double rtol,
                                    double atol) {
    tu_cmp c = {0, 0, 0.0, 0.0, 0.0};
    for (size_t i = 0; i < n; i++)
        tu_cmp_one_(&c, i, got[i], want[i], rtol, atol);
    return c;
}

/* Counts a failure and prints the worst element when the comparison did not pass. `x` (optional)
 * are the logits, printed at the worst index to make boundary cases obvious. */
static inline int tu_cmp_check_at(const char *file, int line, const char *what, tu_cmp c,
                                  const float *x) {
    tu_checks++;
    if (c.n_bad == 0)
        return 1;
    char xs[64] = "";
    if (x)
        snprintf(xs, sizeof xs, ", x = %.9g", (double)x[c.worst]);
    TU_FAIL_AT_(file, line,
                "%s: %zu element(s) out of tolerance; worst [%zu]%s: got %.9g want %.12g "
                "(|diff|/tol = %.3g)",
                what, c.n_bad, c.worst, xs, c.worst_got, c.worst_want, c.worst_ratio);
    return 0;
}
#define TU_CMP_CHECK(what, c, x) tu_cmp_check_at(__FILE__, __LINE__, (what), (c), (x))

/* ---- small helpers ---- */
static inline void *tu_xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* ---- OpenCL buffers: a failed OpenCL call is a failed check (the test carries on) ---- */

#define CL_CHECK(call)                                                                             \
    do {                                                                                           \
        tu_checks++;                                                                               \
        cl_int cl_err_ = (call);                                                                   \
        if (cl_err_ != CL_SUCCESS)                                                                 \
            TU_FAIL_AT_(__FILE__, __LINE__, "`%s` = OpenCL error %d", #call, (int)cl_err_);        \
    } while (0)

/* A READ_WRITE buffer of `bytes` (4 when 0) in OpenCL context c, a copy of host when not NULL. */
static inline cl_mem tu_buffer_at_(const char *file, int line, cl_context c, size_t bytes,
                                   const void *host) {
    tu_checks++;
    cl_int err;
    cl_mem m = clCreateBuffer(c, CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes ? bytes : 4, (void *)host, &err);
    if (err != CL_SUCCESS || !m)
        TU_FAIL_AT_(file, line, "clCreateBuffer(%zu bytes) = OpenCL error %d", bytes, (int)err);
    return err == CL_SUCCESS ? m : NULL;
}
#define tu_buffer(c, bytes, host) tu_buffer_at_(__FILE__, __LINE__, (c), (bytes), (host))

/* Blocking writes and reads at a byte offset. */
#define tu_write(q, m, off, host, bytes)                                                           \
    CL_CHECK(clEnqueueWriteBuffer((q), (m), CL_TRUE, (off), (bytes), (host), 0, NULL, NULL))
#define tu_read(q, m, off, host, bytes)                                                            \
    CL_CHECK(clEnqueueReadBuffer((q), (m), CL_TRUE, (off), (bytes), (host), 0, NULL, NULL))

/* count floats from element `off` set to v. */
static inline void tu_fill_f32(cl_command_queue q, cl_mem m, size_t off, size_t count, float v) {
    if (count == 0)
        return;
    CL_CHECK(
        clEnqueueFillBuffer(q, m, &v, sizeof v, off * sizeof v, count * sizeof v, 0, NULL, NULL));
    CL_CHECK(clFinish(q));
}

/* Creates a context on the default device, with the kernel shape the environment asks for
 * (APLCL_VECTOR_WIDTH, ...: cli_ctx_create, the tools' one mapping of variables to options; the
 * shaped runs in CMakeLists.txt set them). Returns 0 on success, TU_SKIP when there is no OpenCL
 * platform or device at all, 1 (after printing why) on any other failure. Use as
 *     int rc = tu_ctx_create(&ctx); if (rc) return rc; */
static inline int tu_ctx_create(aplcl_ctx **ctx) {
    aplcl_status st = cli_ctx_create(ctx, NULL);
    if (st == APLCL_SUCCESS) {
        printf("device: %s\n", aplcl_ctx_device_name(*ctx));
        return 0;
    }
    if (st == APLCL_ERR_NO_PLATFORM || st == APLCL_ERR_NO_DEVICE) {
        printf("skip: no OpenCL device (%s)\n", tu_status_name(st));
        return TU_SKIP;
    }
    printf("aplcl_ctx_create failed: %s (%s), cl error %d\n", tu_status_name(st),
           aplcl_status_string(st), (int)aplcl_last_cl_error());
    if (st == APLCL_ERR_KERNEL_BUILD)
        printf("build log:\n%s\n", aplcl_last_build_log());
    return 1;
}

#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L /* setenv: the includer asks for it */
/* Sets environment variable `name` to `value` and returns what to give tu_env_restore (the old
 * value, a copy, or NULL when it was unset). */
static inline char *tu_env_set(const char *name, const char *value) {
    const char *old = getenv(name);
    char *saved = old ? strdup(old) : NULL;
    setenv(name, value, 1);
    return saved;
}
static inline void tu_env_restore(const char *name, char *saved) {
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
    free(saved);
}

/* cli_ctx_create on the default device with environment variable `name` set to `value` (the
 * tools' helper maps it to an option); the variable is then put back as it was. */
static inline aplcl_status tu_ctx_create_with_env(aplcl_ctx **ctx, const char *name,
                                                  const char *value) {
    char *saved = tu_env_set(name, value);
    aplcl_status st = cli_ctx_create(ctx, NULL);
    tu_env_restore(name, saved);
    return st;
}
#endif

/* A host or reference call's loss and counts into loss and counts (each may be NULL), when the
 * call computed: SUCCESS or a data status. A rejected call wrote nothing, and nor does this. */
static inline void tu_take_results_(aplcl_status st, double io_loss,
                                    const uint64_t io_counts[APLCL_COUNT_LEN], double *loss,
                                    uint64_t counts[APLCL_COUNT_LEN]) {
    if (st != APLCL_SUCCESS && st != APLCL_ERR_INVALID_TARGET && st != APLCL_ERR_NONFINITE_LOGIT &&
        st != APLCL_ERR_INVALID_WEIGHT)
        return;
    if (loss)
        *loss = io_loss;
    if (counts)
        memcpy(counts, io_counts, APLCL_COUNT_LEN * sizeof counts[0]);
}

/* aplcl_host_compute_io with its arrays as arguments, the tests' one shape of a host call: any
 * dtype, dense target format and weights (w NULL: unweighted). loss and counts (may be NULL)
 * receive the call's results when it computed (SUCCESS or a data status). */
static inline aplcl_status tu_host(aplcl_ctx *ctx, const aplcl_params *p, size_t rows, size_t cols,
                                   aplcl_dtype dtype, const void *logits, aplcl_target_format fmt,
                                   const void *targets, const aplcl_weights *w, void *grad,
                                   float *elem_loss, double *loss,
                                   uint64_t counts[APLCL_COUNT_LEN]) {
    aplcl_host_io io;
    memset(&io, 0, sizeof io);
    io.dtype = dtype;
    io.logits = logits;
    io.target_format = fmt;
    io.targets = targets;
    if (w)
        io.weights = *w;
    io.grad = grad;
    io.elem_loss = elem_loss;
    aplcl_status st = aplcl_host_compute_io(ctx, p, rows, cols, &io);
    tu_take_results_(st, io.loss, io.counts, loss, counts);
    return st;
}
/* F32 logits, U8 targets. */
static inline aplcl_status tu_host_u8(aplcl_ctx *ctx, const aplcl_params *p, size_t rows,
                                      size_t cols, const float *logits, const uint8_t *targets,
                                      float *grad, float *elem_loss, double *loss) {
    return tu_host(ctx, p, rows, cols, APLCL_DTYPE_F32, logits, APLCL_TARGET_U8, targets, NULL,
                   grad, elem_loss, loss, NULL);
}

/* aplcl_ref_compute_io likewise: F32 targets, w NULL = unweighted; loss and counts as tu_host. */
static inline aplcl_status tu_ref(const aplcl_params *p, size_t rows, size_t cols,
                                  const float *logits, const float *targets, const aplcl_weights *w,
                                  double *grad, double *elem_loss, double *loss,
                                  uint64_t counts[APLCL_COUNT_LEN]) {
    aplcl_ref_io io;
    memset(&io, 0, sizeof io);
    io.logits = logits;
    io.target_format = APLCL_TARGET_F32;
    io.targets = targets;
    if (w)
        io.weights = *w;
    io.grad = grad;
    io.elem_loss = elem_loss;
    aplcl_status st = aplcl_ref_compute_io(p, rows, cols, &io);
    tu_take_results_(st, io.loss, io.counts, loss, counts);
    return st;
}
/* Unweighted, with counters. */
static inline aplcl_status tu_ref_counts(const aplcl_params *p, size_t rows, size_t cols,
                                         const float *logits, const float *targets, double *grad,
                                         double *elem_loss, double *loss,
                                         uint64_t counts[APLCL_COUNT_LEN]) {
    return tu_ref(p, rows, cols, logits, targets, NULL, grad, elem_loss, loss, counts);
}

/* aplcl_ctx_create_from_queue with the kernel shape the environment asks for (as tu_ctx_create),
 * so a second context in a shaped run has the first one's shape. INVALID_OPTION for a bad
 * variable. */
static inline aplcl_status tu_ctx_create_from_queue(aplcl_ctx **ctx, cl_command_queue q) {
    aplcl_ctx_options o;
    if (cli_ctx_options_from_env(&o, NULL) != 0) {
        *ctx = NULL;
        return APLCL_ERR_INVALID_OPTION;
    }
    o.queue = q;
    return aplcl_ctx_create_ex(ctx, &o);
}

/* The shaped CTest variants (tests/CMakeLists.txt, aplcl_add_shaped_test) rerun a test with the
 * kernel built in another shape, which they set through the environment (APLCL_VECTOR_WIDTH
 * and the rest, as the tools read it). There, one storage type per target format shows the
 * point: the shape changes how lanes load targets and how they load and store each storage type,
 * so each format and each storage type must meet the shape, not each pair (a new machine
 * compiles every program of every shape: pairs would be three times the programs). Format f
 * pairs with storage (f + shift) % 3, the shift taken from the vector width, so the shapes
 * between them still meet every pair. tu_shaped_skip: 1 when the pair is skipped here. */
static inline int tu_shaped_shift_(void) {
    const char *vw = getenv("APLCL_VECTOR_WIDTH");
    if (!vw || !*vw)
        return -1; /* not a shaped run */
    /* the suite's three shapes (widths 1, 4, 8) get shifts 0, 1, 2: between them, every pair */
    unsigned long w = strtoul(vw, NULL, 10);
    return w == 1 ? 0 : w == 4 ? 1 : w == 8 ? 2 : (int)(w % 3);
}
static inline int tu_shaped_skip(aplcl_target_format fmt, aplcl_dtype dt) {
    int shift = tu_shaped_shift_();
    return shift >= 0 && (int)dt != ((int)fmt + shift) % 3;
}
/* The target format that F32 storage meets in a shaped run (the first of them); `otherwise`
 * outside one. For calls whose logits are F32 by design (the linear head's). */
static inline aplcl_target_format tu_shaped_f32_format(aplcl_target_format otherwise) {
    int shift = tu_shaped_shift_();
    return shift < 0 ? otherwise : (aplcl_target_format)((3 - shift) % 3);
}
/* The storage type format fmt meets in a shaped run; `otherwise` outside one. */
static inline aplcl_dtype tu_shaped_dtype(aplcl_target_format fmt, aplcl_dtype otherwise) {
    int shift = tu_shaped_shift_();
    return shift < 0 ? otherwise : (aplcl_dtype)(((int)fmt + shift) % 3);
}

/* For tests that create their own contexts: tu_ctx_create's code for the default device, whose
 * context is destroyed again. */
static inline int tu_device_check(void) {
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    aplcl_ctx_destroy(ctx);
    return rc;
}

/* The shortest decimal that rounds to f (0.05f -> 0.05, 1e-8f -> 1e-8). The spec's constants and
 * its table are decimal, and aplcl reads a float parameter as the decimal it was written as; the
 * few double-precision checks that rebuild the loss from parameters use the same reading. */
static inline double tu_decimal(float f) {
    if (!isfinite(f))
        return (double)f;
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f)
            return d;
    }
    return (double)f;
}

/* Logistic sigmoid and softplus in double: the tests' own, written from docs/apl-spec.md and not
 * taken from the library (host/ref.c), so that a test that compares the library with them checks
 * it against an independent implementation. */
/* Logistic sigmoid in double. */
static inline double tu_sigmoid(double x) {
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}
/* softplus(x) = ln(1 + e^x), stable. */
static inline double tu_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

#endif /* APLCL_TEST_UTIL_H */
