/* test_device_api: the cl_mem entry point and the context API on a real OpenCL device.
 *
 * aplcl_compute with non-zero offsets on every buffer, the in-place gradient, a wait list holding
 * a user event (the returned event must not complete before it), the counts and loss buffers,
 * contexts made from the test's own in-order and out-of-order queues (and their release in either
 * order), device listing and selection. Numerical coverage is test_device_vs_ref's; rejected
 * arguments are test_bad_input's.
 */
#define _POSIX_C_SOURCE 200809L /* alarm, nanosleep */
#include "test_util.h"

#include <ctype.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* A buffer of `bytes`, filled from `src` at byte offset `at` (the rest zero). */
static cl_mem make_buffer(cl_context c, size_t bytes, const void *src, size_t at,
                          size_t src_bytes) {
    unsigned char *h = tu_xmalloc(bytes);
    memset(h, 0, bytes);
    if (src)
        memcpy(h + at, src, src_bytes);
    cl_mem m = tu_buffer(c, bytes, h);
    free(h);
    return m;
}

static void read_buffer(cl_command_queue q, cl_mem m, size_t at, size_t bytes, void *dst,
                        cl_uint nwait, const cl_event *wait) {
    CL_CHECK(clEnqueueReadBuffer(q, m, CL_TRUE, at, bytes, dst, nwait, wait, NULL));
}

/* ---- shared inputs: a 37x29 matrix with ignored, invalid and non-finite entries ---- */
#define ROWS 37
#define COLS 29
#define N (ROWS * COLS)

static float g_x[N], g_y[N], g_y8f[N];
static uint8_t g_y8[N];
static uint64_t g_expect_elems, g_expect_invalid, g_expect_nonfinite;
static uint64_t g_expect_elems8, g_expect_invalid8;

static void make_inputs(void) {
    cli_rng r = cli_rng_seed(42);
    g_expect_elems = g_expect_invalid = g_expect_nonfinite = 0;
    g_expect_elems8 = g_expect_invalid8 = 0;
    for (size_t i = 0; i < N; i++) {
        g_x[i] = (float)cli_rng_normal(&r, 0.0, 3.0);
        double u = cli_rng_uniform(&r);
        g_y[i] = u < 0.3 ? 1.0f : (u < 0.35 ? 0.4f : 0.0f);
        g_y8[i] = u < 0.3 ? 1 : 0;
        if (i % 50 == 7) { /* ignored */
            g_y[i] = -1.0f;
            g_y8[i] = APLCL_TARGET_U8_IGNORE;
        } else if (i % 97 == 11) { /* invalid target */
            g_y[i] = (i % 2) ? NAN : 1.5f;
            g_y8[i] = 7;
            g_expect_invalid++;
            g_expect_invalid8++;
        } else if (i % 131 == 13) {
            /* non-finite logit, valid target: still in the (target-only) MEAN count */
            g_x[i] = (i % 3 == 0) ? NAN : ((i % 3 == 1) ? INFINITY : -INFINITY);
            g_expect_nonfinite++;
            g_expect_elems++;
            g_expect_elems8++;
        } else {
            g_expect_elems++;
            g_expect_elems8++;
        }
        g_y8f[i] =
            g_y8[i] == APLCL_TARGET_U8_IGNORE ? -1.0f : (g_y8[i] <= 1 ? (float)g_y8[i] : 7.0f);
    }
}

/* Everything aplcl_compute writes, read back. */
typedef struct results {
    float grad[N], elem[N], loss;
    cl_ulong counts[APLCL_COUNT_LEN];
} results;

/* Offsets, in elements, of every buffer; all non-zero on purpose. */
enum { OFF_X = 5, OFF_Y = 11, OFF_G = 3, OFF_E = 7, OFF_L = 2, OFF_C = 1 };

typedef struct bufs {
    cl_mem x, y, y8, g, e, l, c;
} bufs;

static bufs make_bufs(cl_context c) {
    bufs b;
    b.x = make_buffer(c, (OFF_X + N) * sizeof(float), g_x, OFF_X * sizeof(float), sizeof g_x);
    b.y = make_buffer(c, (OFF_Y + N) * sizeof(float), g_y, OFF_Y * sizeof(float), sizeof g_y);
    b.y8 = make_buffer(c, OFF_Y + N, g_y8, OFF_Y, sizeof g_y8);
    b.g = make_buffer(c, (OFF_G + N) * sizeof(float), NULL, 0, 0);
    b.e = make_buffer(c, (OFF_E + N) * sizeof(float), NULL, 0, 0);
    b.l = make_buffer(c, (OFF_L + 1) * sizeof(float), NULL, 0, 0);
    b.c = make_buffer(c, (OFF_C + APLCL_COUNT_LEN) * sizeof(cl_ulong), NULL, 0, 0);
    return b;
}

static void free_bufs(bufs *b) {
    cl_mem *all[] = {&b->x, &b->y, &b->y8, &b->g, &b->e, &b->l, &b->c};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i])
            clReleaseMemObject(*all[i]);
}

static void read_results(cl_command_queue q, const bufs *b, results *r, cl_event after) {
    cl_uint nw = after ? 1 : 0;
    const cl_event *w = after ? &after : NULL;
    read_buffer(q, b->g, OFF_G * sizeof(float), sizeof r->grad, r->grad, nw, w);
    read_buffer(q, b->e, OFF_E * sizeof(float), sizeof r->elem, r->elem, nw, w);
    read_buffer(q, b->l, OFF_L * sizeof(float), sizeof(float), &r->loss, nw, w);
    read_buffer(q, b->c, OFF_C * sizeof(cl_ulong), sizeof r->counts, r->counts, nw, w);
}

/* Compares device results with the reference, and the counters with what make_inputs planted. */
static void check_results(const char *what, const aplcl_params *p, const results *r, int u8) {
    static double rg[N], re[N];
    double rl = 0.0;
    uint64_t rc[APLCL_COUNT_LEN] = {0};
    aplcl_status st = tu_ref_counts(p, ROWS, COLS, g_x, u8 ? g_y8f : g_y, rg, re, &rl, rc);
    CHECK(st == APLCL_ERR_INVALID_TARGET || st == APLCL_ERR_NONFINITE_LOGIT);
    CHECK_EQ_U64(rc[APLCL_COUNT_ELEMENTS], u8 ? g_expect_elems8 : g_expect_elems);
    CHECK_EQ_U64(rc[APLCL_COUNT_INVALID_TARGETS], u8 ? g_expect_invalid8 : g_expect_invalid);
    CHECK_EQ_U64(rc[APLCL_COUNT_NONFINITE_LOGITS], g_expect_nonfinite);
    CHECK_EQ_U64(r->counts[APLCL_COUNT_ELEMENTS], rc[APLCL_COUNT_ELEMENTS]);
    CHECK_EQ_U64(r->counts[APLCL_COUNT_INVALID_TARGETS], rc[APLCL_COUNT_INVALID_TARGETS]);
    CHECK_EQ_U64(r->counts[APLCL_COUNT_NONFINITE_LOGITS], rc[APLCL_COUNT_NONFINITE_LOGITS]);
    double lscale = 1.0;
    if (p->reduction == APLCL_REDUCE_MEAN)
        lscale = 1.0 / (p->normalizer > 0 ? p->normalizer : (double)rc[APLCL_COUNT_ELEMENTS]);
    char buf[128];
    snprintf(buf, sizeof buf, "%s: grad", what);
    TU_CMP_CHECK(buf,
                 tu_compare_f32(r->grad, rg, N, CASES_RTOL,
                                CASES_ATOL * fabs((double)p->grad_scale) * lscale),
                 g_x);
    snprintf(buf, sizeof buf, "%s: elem_loss", what);
    TU_CMP_CHECK(buf, tu_compare_f32(r->elem, re, N, CASES_RTOL, CASES_ATOL), g_x);
    snprintf(buf, sizeof buf, "%s: loss buffer", what);
    TU_CMP_CHECK(buf, tu_compare_f32(&r->loss, &rl, 1, CASES_SUM_RTOL, CASES_ATOL * lscale), NULL);
}

/* One aplcl_compute over all of `b`, optionally after `wait`; returns the out event. */
static cl_event run(aplcl_ctx *ctx, const aplcl_params *p, const bufs *b, int u8, cl_mem grad,
                    size_t grad_off, cl_uint nwait, const cl_event *wait) {
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute(ctx, p, ROWS, COLS, b->x, OFF_X, u8 ? b->y8 : b->y, OFF_Y,
                               u8 ? APLCL_TARGET_U8 : APLCL_TARGET_F32, grad, grad_off, b->e, OFF_E,
                               b->l, OFF_L, b->c, OFF_C, nwait, wait, &ev),
                 APLCL_SUCCESS);
    CHECK(ev != NULL);
    return ev;
}

/* ---- sub-cases ---- */

static void test_offsets(aplcl_ctx *ctx, results *ref_sum) {
    cl_context c = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    bufs b = make_bufs(c);
    static results r;
    aplcl_params p = aplcl_params_default();

    int mark = tu_case_begin();
    cl_event ev = run(ctx, &p, &b, 0, b.g, OFF_G, 0, NULL);
    if (ev)
        CL_CHECK(clWaitForEvents(1, &ev));
    read_results(q, &b, &r, NULL);
    check_results("f32 SUM", &p, &r, 0);
    *ref_sum = r;
    if (ev)
        clReleaseEvent(ev);
    tu_case_end(mark,
                "aplcl_compute, every offset non-zero, f32 targets, SUM: grad/elem/loss/counts");

    mark = tu_case_begin();
    p.reduction = APLCL_REDUCE_MEAN;
    p.focus_grad = 1;
    ev = run(ctx, &p, &b, 1, b.g, OFF_G, 0, NULL);
    read_results(q, &b, &r, ev); /* the read waits on the event, no host wait */
    check_results("u8 MEAN", &p, &r, 1);
    if (ev)
        clReleaseEvent(ev);
    tu_case_end(mark, "aplcl_compute, u8 targets, MEAN over the count, focus_grad 1");

    /* In place: the gradient overwrites the logits at the same offset. */
    mark = tu_case_begin();
    p = aplcl_params_default();
    cl_mem xg = make_buffer(c, (OFF_X + N) * sizeof(float), g_x, OFF_X * sizeof(float), sizeof g_x);
    bufs bi = b;
    bi.x = xg;
    ev = run(ctx, &p, &bi, 0, xg, OFF_X, 0, NULL);
    static float gin[N];
    read_buffer(q, xg, OFF_X * sizeof(float), sizeof gin, gin, ev ? 1 : 0, ev ? &ev : NULL);
    if (memcmp(gin, ref_sum->grad, sizeof gin) != 0) {
        size_t i = 0;
        while (i < N && memcmp(&gin[i], &ref_sum->grad[i], sizeof(float)) == 0)
            i++;
        TU_FAIL_AT_(__FILE__, __LINE__,
                    "in-place gradient differs from out-of-place at [%zu]: %.9g vs %.9g", i,
                    (double)gin[i], (double)ref_sum->grad[i]);
    }
    if (ev)
        clReleaseEvent(ev);
    clReleaseMemObject(xg);
    tu_case_end(mark,
                "in-place gradient (grad == logits, same offset) equals out-of-place bitwise");
    free_bufs(&b);
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] =
        "FAIL aplcl_compute blocked on an unsignalled wait event (deadlock)\n";
    ssize_t w = write(1, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

static void test_user_event(aplcl_ctx *ctx) {
    cl_context c = aplcl_ctx_cl_context(ctx);
    cl_command_queue q = aplcl_ctx_queue(ctx);
    bufs b = make_bufs(c);
    static results r;
    /* SUM, then MEAN over the count with a gradient (which adds a count pass). */
    for (int mean = 0; mean <= 1; mean++) {
        int mark = tu_case_begin();
        aplcl_params p = aplcl_params_default();
        if (mean)
            p.reduction = APLCL_REDUCE_MEAN;
        cl_int err;
        cl_event user = clCreateUserEvent(c, &err);
        CL_CHECK(err);
        signal(SIGALRM, on_alarm);
        alarm(60); /* a call that blocks on the wait list would hang forever */
        cl_event ev = run(ctx, &p, &b, 0, b.g, OFF_G, 1, &user);
        alarm(0);
        if (ev) {
            cl_int status = CL_COMPLETE;
            CL_CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                                    NULL));
            if (status == CL_COMPLETE || status < 0)
                TU_FAIL_AT_(__FILE__, __LINE__,
                            "out event status %d before the user event was set (want queued/"
                            "submitted/running)",
                            (int)status);
        }
        CL_CHECK(clSetUserEventStatus(user, CL_COMPLETE));
        if (ev) {
            CL_CHECK(clWaitForEvents(1, &ev));
            cl_int status = 1;
            CL_CHECK(clGetEventInfo(ev, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status, &status,
                                    NULL));
            CHECK_EQ(status, CL_COMPLETE);
        }
        read_results(q, &b, &r, NULL);
        check_results(mean ? "user event MEAN" : "user event SUM", &p, &r, 0);
        if (ev)
            clReleaseEvent(ev);
        clReleaseEvent(user);
        tu_case_end(mark, "wait list with a user event, %s: not complete before, correct after",
                    mean ? "MEAN(count)" : "SUM");
    }
    free_bufs(&b);
}

static cl_uint refcount_queue(cl_command_queue q) {
    cl_uint n = 0;
    clGetCommandQueueInfo(q, CL_QUEUE_REFERENCE_COUNT, sizeof n, &n, NULL);
    return n;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A context on the test's own queue. order 0: the test releases its queue and context first,
 * then destroys the aplcl context; order 1: the other way round. */
static void test_from_queue(cl_device_id dev, int out_of_order, int order) {
    int mark = tu_case_begin();
    cl_int err;
    cl_context c = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    CL_CHECK(err);
    cl_command_queue_properties props = out_of_order ? CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE : 0;
    cl_command_queue q = clCreateCommandQueue(c, dev, props, &err);
    CL_CHECK(err);
    if (!c || !q) {
        tu_case_end(mark, "from_queue: could not create a context/queue");
        return;
    }
    cl_uint q_refs0 = refcount_queue(q);
    aplcl_ctx *ctx = NULL;
    aplcl_status st = tu_ctx_create_from_queue(&ctx, q); /* aplcl_ctx_create_from_queue + shape */
    CHECK_STATUS(st, APLCL_SUCCESS);
    if (st == APLCL_SUCCESS) {
        CHECK(aplcl_ctx_queue(ctx) == q);
        CHECK(aplcl_ctx_cl_context(ctx) == c);
        CHECK(aplcl_ctx_device(ctx) == dev);
        bufs b = make_bufs(c); /* blocking writes: complete before aplcl_compute */
        static results r;
        aplcl_params p = aplcl_params_default();
        p.reduction = APLCL_REDUCE_MEAN; /* several launches that must be ordered */
        for (int rep = 0; rep < 3; rep++) {
            cl_event ev = run(ctx, &p, &b, 0, b.g, OFF_G, 0, NULL);
            read_results(q, &b, &r, ev);
            check_results(out_of_order ? "out-of-order queue" : "in-order queue", &p, &r, 0);
            if (ev)
                clReleaseEvent(ev);
        }
        CL_CHECK(clFinish(q));
        free_bufs(&b);
        if (order == 0) {
            clReleaseCommandQueue(q);
            clReleaseContext(c);
            aplcl_ctx_destroy(ctx);
        } else {
            aplcl_ctx_destroy(ctx);
            /* the library must have dropped its references (an implementation may release
             * event-held ones a little later: poll briefly) */
            cl_uint refs = refcount_queue(q);
            for (int t = 0; t < 20 && refs != q_refs0; t++) {
                sleep_ms(50);
                refs = refcount_queue(q);
            }
            if (refs != q_refs0)
                TU_FAIL_AT_(__FILE__, __LINE__,
                            "queue reference count %u after aplcl_ctx_destroy, %u before create",
                            refs, q_refs0);
            clReleaseCommandQueue(q);
            clReleaseContext(c);
        }
    } else {
        clReleaseCommandQueue(q);
        clReleaseContext(c);
    }
    tu_case_end(mark, "aplcl_ctx_create_from_queue, %s queue, %s",
                out_of_order ? "out-of-order" : "in-order",
                order ? "destroy then release (references dropped)" : "release then destroy");
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

static void test_devices(void) {
    int mark = tu_case_begin();
    aplcl_ctx_destroy(NULL); /* documented as fine */
    size_t count = 0;
    CHECK_STATUS(aplcl_list_devices(NULL, 0, &count), APLCL_SUCCESS);
    CHECK_GE(count, 1);
    aplcl_device_info info[16];
    size_t count2 = 0;
    memset(info, 0, sizeof info);
    CHECK_STATUS(aplcl_list_devices(info, 16, &count2), APLCL_SUCCESS);
    CHECK_EQ(count2, count);
    if (count2 >= 1) {
        CHECK_EQ(info[0].platform_index, 0);
        CHECK_EQ(info[0].device_index, 0);
        CHECK(info[0].device_name[0] != '\0');
        CHECK_GE(info[0].compute_units, 1);
    }
    tu_case_end(mark, "aplcl_ctx_destroy(NULL); aplcl_list_devices: %zu device(s)", count);
    if (count2 == 0)
        return;

    mark = tu_case_begin();
    aplcl_ctx *c = NULL;
    CHECK_STATUS(aplcl_ctx_create(&c, "0:0"), APLCL_SUCCESS);
    if (c)
        CHECK(contains_nocase(aplcl_ctx_device_name(c), info[0].device_name));
    aplcl_ctx_destroy(c);
    tu_case_end(mark, "device \"0:0\" selects %s", info[0].device_name);

    /* A substring of the device name, in upper case (matching is case-insensitive). */
    mark = tu_case_begin();
    char sub[32];
    size_t len = strlen(info[0].device_name);
    size_t from = len > 12 ? 2 : 0, take = len - from < 8 ? len - from : 8;
    memcpy(sub, info[0].device_name + from, take);
    sub[take] = '\0';
    for (char *s = sub; *s; s++)
        *s = (char)toupper((unsigned char)*s);
    c = NULL;
    CHECK_STATUS(aplcl_ctx_create(&c, sub), APLCL_SUCCESS);
    if (c)
        CHECK(contains_nocase(aplcl_ctx_device_name(c), sub));
    aplcl_ctx_destroy(c);
    tu_case_end(mark, "device name substring \"%s\" selects a device", sub);

    mark = tu_case_begin();
    const char *bogus[] = {"no-such-device-xyz-4711", "99:0", "0:99"};
    for (size_t i = 0; i < 3; i++) {
        c = (aplcl_ctx *)&c; /* must be reset to NULL on error */
        aplcl_status st = aplcl_ctx_create(&c, bogus[i]);
        if (st != APLCL_ERR_NO_DEVICE && st != APLCL_ERR_INVALID_DEVICE_SPEC)
            TU_FAIL_AT_(__FILE__, __LINE__,
                        "aplcl_ctx_create(\"%s\") = %s, expected NO_DEVICE or "
                        "INVALID_DEVICE_SPEC",
                        bogus[i], tu_status_name(st));
        if (st == APLCL_SUCCESS)
            aplcl_ctx_destroy(c);
        else
            CHECK(c == NULL);
    }
    tu_case_end(mark, "bogus device strings rejected, *out NULL");

    /* The header's grammar: digits and colons that are not exactly "P:D" are malformed (and said
     * so before any OpenCL call); well-formed indices that match nothing are NO_DEVICE, 2^32
     * and larger included (it used to wrap to device 0). */
    mark = tu_case_begin();
    const struct {
        const char *spec;
        aplcl_status want;
    } specs[] = {{"0:", APLCL_ERR_INVALID_DEVICE_SPEC},
                 {":1", APLCL_ERR_INVALID_DEVICE_SPEC},
                 {":", APLCL_ERR_INVALID_DEVICE_SPEC},
                 {"1:2:3", APLCL_ERR_INVALID_DEVICE_SPEC},
                 {"0::0", APLCL_ERR_INVALID_DEVICE_SPEC},
                 {"0:4294967296", APLCL_ERR_NO_DEVICE},
                 {"4294967296:0", APLCL_ERR_NO_DEVICE},
                 {"0:18446744073709551616", APLCL_ERR_NO_DEVICE},
                 {"0:4294967295", APLCL_ERR_NO_DEVICE},
                 {"abc:1", APLCL_ERR_NO_DEVICE}, /* a name (letters), matching nothing */
                 {"0:0 ", APLCL_ERR_NO_DEVICE},  /* a space makes it a name */
                 {"00:000", APLCL_SUCCESS},
                 {"", APLCL_SUCCESS}}; /* "" is NULL: $APLCL_DEVICE or the default */
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        c = (aplcl_ctx *)&c;
        aplcl_status st = aplcl_ctx_create(&c, specs[i].spec);
        if (st != specs[i].want)
            TU_FAIL_AT_(__FILE__, __LINE__, "aplcl_ctx_create(\"%s\") = %s, expected %s",
                        specs[i].spec, tu_status_name(st), tu_status_name(specs[i].want));
        if (st == APLCL_SUCCESS)
            aplcl_ctx_destroy(c);
        else
            CHECK(c == NULL);
    }
    tu_case_end(mark, "device strings: malformed -> INVALID_DEVICE_SPEC, unmatched -> NO_DEVICE");
}

/* The shape overrides: unset or empty is "not given", anything but the documented numbers is
 * APLCL_ERR_INVALID_OPTION (strtoul used to read "abc" as 0 and "8x" as 8). Each variable is
 * restored afterwards: the CTest variants of this test set them.
 * A valid value is checked where it lands (the option field the tools' helper fills), and all of
 * them together in one context: every context compiles its first programs, and one per accepted
 * value cost a new machine 16 compiles per run of this test (4 runs: the shaped ones too). That
 * context runs only where the environment sets no shape, so the shaped runs compile nothing
 * here. */
static int env_parses(const char *name, const char *value, aplcl_ctx_options *o, const char **bad) {
    char *saved = tu_env_set(name, value);
    *bad = NULL;
    int rc = cli_ctx_options_from_env(o, bad);
    tu_env_restore(name, saved);
    return rc;
}

/* The tools' shape variables (common/tool_util.h). */
static const char *const SHAPE_VARS[4] = {"APLCL_VECTOR_WIDTH", "APLCL_LOCAL_SIZE",
                                          "APLCL_CONTIGUOUS", "APLCL_QUEUE"};

static int env_shape_given(void) {
    for (size_t i = 0; i < 4; ++i) {
        const char *v = getenv(SHAPE_VARS[i]);
        if (v && *v)
            return 1;
    }
    return 0;
}

static void test_env_overrides(void) {
    int mark = tu_case_begin();
    enum { VW, LS, LAYOUT, QUEUE, NONE };
    const struct {
        const char *name, *value;
        aplcl_status want;
        int field;          /* the option a valid value sets */
        unsigned value_set; /* ... to this */
    } cases[] = {{"APLCL_VECTOR_WIDTH", "abc", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", "8x", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", "3", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", "0", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", "-4", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", " 4", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", "4294967300", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_VECTOR_WIDTH", "2", APLCL_SUCCESS, VW, 2},
                 {"APLCL_VECTOR_WIDTH", "", APLCL_SUCCESS, VW, 0},
                 {"APLCL_LOCAL_SIZE", "abc", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_LOCAL_SIZE", "0", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_LOCAL_SIZE", "48", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_LOCAL_SIZE", "64k", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_LOCAL_SIZE", "131072", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_LOCAL_SIZE", "64", APLCL_SUCCESS, LS, 64},
                 {"APLCL_LOCAL_SIZE", "65536", APLCL_SUCCESS, LS, 65536}, /* the device clamps */
                 {"APLCL_CONTIGUOUS", "2", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_CONTIGUOUS", "0x", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_CONTIGUOUS", "yes", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_CONTIGUOUS", "0", APLCL_SUCCESS, LAYOUT, APLCL_LAYOUT_STRIDED},
                 {"APLCL_QUEUE", "3", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_QUEUE", "on", APLCL_ERR_INVALID_OPTION, NONE, 0},
                 {"APLCL_QUEUE", "2", APLCL_SUCCESS, QUEUE, APLCL_SPARSE_QUEUE_ALWAYS}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        aplcl_ctx_options o;
        const char *bad;
        int rc = env_parses(cases[i].name, cases[i].value, &o, &bad);
        if (cases[i].want != APLCL_SUCCESS) {
            if (rc != -1 || !bad || strcmp(bad, cases[i].name) != 0)
                TU_FAIL_AT_(__FILE__, __LINE__, "%s=\"%s\": parsed (rc %d, bad %s), expected -1",
                            cases[i].name, cases[i].value, rc, bad ? bad : "NULL");
            /* ... and the tools' context call refuses it before building anything */
            aplcl_ctx *c = (aplcl_ctx *)&c;
            aplcl_status st = tu_ctx_create_with_env(&c, cases[i].name, cases[i].value);
            if (st != cases[i].want)
                TU_FAIL_AT_(__FILE__, __LINE__, "%s=\"%s\": aplcl_ctx_create = %s, expected %s",
                            cases[i].name, cases[i].value, tu_status_name(st),
                            tu_status_name(cases[i].want));
            if (st == APLCL_SUCCESS)
                aplcl_ctx_destroy(c);
            else
                CHECK(c == NULL);
            continue;
        }
        unsigned got = cases[i].field == VW       ? o.vector_width
                       : cases[i].field == LS     ? o.local_size
                       : cases[i].field == LAYOUT ? (unsigned)o.layout
                                                  : (unsigned)o.sparse_queue;
        if (rc != 0 || got != cases[i].value_set)
            TU_FAIL_AT_(__FILE__, __LINE__, "%s=\"%s\": rc %d, option %u, expected 0 and %u",
                        cases[i].name, cases[i].value, rc, got, cases[i].value_set);
    }
    if (!env_shape_given()) {
        /* every accepted value at once: a context, its programs built at creation */
        const char *values[] = {"2", "65536", "0", "2"};
        for (size_t i = 0; i < 4; ++i)
            setenv(SHAPE_VARS[i], values[i], 1);
        aplcl_ctx *c = NULL;
        CHECK_STATUS(cli_ctx_create(&c, NULL), APLCL_SUCCESS);
        aplcl_ctx_destroy(c);
        for (size_t i = 0; i < 4; ++i)
            unsetenv(SHAPE_VARS[i]);
    }
    tu_case_end(mark, "APLCL_VECTOR_WIDTH / LOCAL_SIZE / CONTIGUOUS / QUEUE parsed strictly");
}

/* aplcl_ctx_create_ex checks every option field; a queue option is aplcl_ctx_create_from_queue. */
static void test_options(cl_command_queue q) {
    int mark = tu_case_begin();
    struct {
        unsigned vw, ls;
        int layout, sq;
        aplcl_status want;
    } cases[] = {{3, 0, 0, 0, APLCL_ERR_INVALID_OPTION},
                 {32, 0, 0, 0, APLCL_ERR_INVALID_OPTION},
                 {0, 48, 0, 0, APLCL_ERR_INVALID_OPTION},
                 {0, 1u << 17, 0, 0, APLCL_ERR_INVALID_OPTION},
                 {0, 0, 3, 0, APLCL_ERR_INVALID_OPTION},
                 {0, 0, 0, 3, APLCL_ERR_INVALID_OPTION},
                 {0, 0, -1, 0, APLCL_ERR_INVALID_OPTION},
                 {0, 0, APLCL_LAYOUT_AUTO, 1, APLCL_SUCCESS},
                 {0, 0, 0, 0, APLCL_SUCCESS}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        aplcl_ctx_options o = aplcl_ctx_options_default();
        o.vector_width = cases[i].vw, o.local_size = cases[i].ls;
        o.layout = (aplcl_layout)cases[i].layout;
        o.sparse_queue = (aplcl_sparse_queue)cases[i].sq;
        aplcl_ctx *c = (aplcl_ctx *)&c;
        aplcl_status st = aplcl_ctx_create_ex(&c, &o);
        if (st != cases[i].want)
            TU_FAIL_AT_(__FILE__, __LINE__, "options case %zu: %s, expected %s", i,
                        tu_status_name(st), tu_status_name(cases[i].want));
        if (st == APLCL_SUCCESS)
            aplcl_ctx_destroy(c);
        else
            CHECK(c == NULL);
    }
    CHECK_STATUS(aplcl_ctx_create_ex(NULL, NULL), APLCL_ERR_NULL_ARGUMENT);
    aplcl_ctx *c = NULL;
    CHECK_STATUS(aplcl_ctx_create_ex(&c, NULL), APLCL_SUCCESS); /* NULL options: the defaults */
    aplcl_ctx_destroy(c);
    aplcl_ctx_options o = aplcl_ctx_options_default();
    o.queue = q;
    o.device = "no-such-device-xyz"; /* ignored with a queue */
    c = NULL;
    CHECK_STATUS(aplcl_ctx_create_ex(&c, &o), APLCL_SUCCESS);
    CHECK(c && aplcl_ctx_queue(c) == q);
    aplcl_ctx_destroy(c);
    c = NULL; /* the simple call for the same */
    CHECK_STATUS(aplcl_ctx_create_from_queue(&c, q), APLCL_SUCCESS);
    cl_context qc = NULL;
    clGetCommandQueueInfo(q, CL_QUEUE_CONTEXT, sizeof qc, &qc, NULL);
    CHECK(c && aplcl_ctx_queue(c) == q && aplcl_ctx_cl_context(c) == qc);
    aplcl_ctx_destroy(c);
    c = (aplcl_ctx *)&c;
    CHECK_STATUS(aplcl_ctx_create_from_queue(&c, NULL), APLCL_ERR_NULL_ARGUMENT);
    CHECK(c == NULL);
    tu_case_end(mark, "aplcl_ctx_create_ex: option ranges, NULL options, the caller's queue");
}

int main(void) {
    make_inputs();
    aplcl_ctx *ctx = NULL;
    int rc = tu_ctx_create(&ctx);
    if (rc)
        return rc;

    static results r_sum;
    test_offsets(ctx, &r_sum);
    test_user_event(ctx);

    cl_device_id dev = aplcl_ctx_device(ctx);
    test_from_queue(dev, 0, 0);
    test_from_queue(dev, 0, 1);
    cl_command_queue_properties qp = 0;
    clGetDeviceInfo(dev, CL_DEVICE_QUEUE_PROPERTIES, sizeof qp, &qp, NULL);
    if (qp & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE) {
        test_from_queue(dev, 1, 0);
        test_from_queue(dev, 1, 1);
    } else {
        printf("note: device has no out-of-order queues; that sub-case is not run\n");
    }
    test_options(aplcl_ctx_queue(ctx));
    aplcl_ctx_destroy(ctx);

    test_devices();
    test_env_overrides();
    return tu_exit_code();
}
