/* test_windows.c: label windows (aplcl_targets label_count / label_offset) against the unsharded
 * result, for every compact target format.
 *
 * A problem of C labels runs once whole, then as shards: each shard's logits are its columns,
 * its targets the WHOLE structure read through a window. Per-element gradients and losses must
 * equal the whole run's columns bit for bit; the shards' loss sums and counts must add up to the
 * whole run's (counts exactly, the loss to float-summation order). Windows start on and off
 * 32-label words. Also the linear head (dX summed over shards, dW/db rows) and the window's
 * argument checks, and MEAN by a window's own count (the count pass over a window). Not here:
 * dense formats (they take no window; only their rejection is).
 */
#include "test_util.h"

static aplcl_ctx *g_ctx;

#define upload(host, bytes) tu_buffer(aplcl_ctx_cl_context(g_ctx), (bytes), (host))
#define download(m, host, bytes) tu_read(aplcl_ctx_queue(g_ctx), (m), 0, (host), (bytes))

/* The packed targets of one problem on the device. */
typedef struct {
    aplcl_targets t;
    cl_mem data, aux;
} dev_targets;

static dev_targets upload_targets(aplcl_target_format fmt, size_t rows, size_t cols, const float *y,
                                  int with_ignore) {
    cases_targets h;
    dev_targets d;
    memset(&d, 0, sizeof d);
    CHECK_STATUS(cases_pack_targets(fmt, rows, cols, y, with_ignore, &h), APLCL_SUCCESS);
    d.data = upload(h.data, h.data_bytes);
    d.aux = h.aux ? upload(h.aux, h.aux_bytes) : NULL;
    d.t.format = fmt;
    d.t.data = d.data;
    if (fmt == APLCL_TARGET_BITS)
        d.t.ignore = d.aux;
    if (fmt == APLCL_TARGET_CSR)
        d.t.indices = d.aux, d.t.nnz = h.nnz;
    cases_targets_free(&h);
    return d;
}

static void free_targets(dev_targets *d) {
    clReleaseMemObject(d->data);
    if (d->aux)
        clReleaseMemObject(d->aux);
}

/* One aplcl_compute_io on rows x cols logits x (host), targets t: grad, elem_loss, loss, counts. */
static void run_io(const aplcl_params *p, size_t rows, size_t cols, const float *x,
                   const aplcl_targets *t, float *grad, float *elem, float *loss,
                   uint64_t counts[APLCL_COUNT_LEN]) {
    size_t n = rows * cols;
    aplcl_io io = aplcl_io_default();
    io.logits = upload(x, n * 4);
    io.targets = *t;
    io.grad = upload(NULL, n * 4);
    io.elem_loss = upload(NULL, n * 4);
    io.loss = upload(NULL, 4);
    io.counts = upload(NULL, APLCL_COUNT_LEN * 8);
    cl_event ev = NULL;
    CHECK_STATUS(aplcl_compute_io(g_ctx, p, rows, cols, &io, 0, NULL, &ev), APLCL_SUCCESS);
    if (ev)
        clWaitForEvents(1, &ev), clReleaseEvent(ev);
    download(io.grad, grad, n * 4);
    download(io.elem_loss, elem, n * 4);
    download(io.loss, loss, 4);
    download(io.counts, counts, APLCL_COUNT_LEN * 8);
    cl_mem all[] = {io.logits, io.grad, io.elem_loss, io.loss, io.counts};
    cli_release_all(all, 5);
}

/* Columns [c0, c0 + w) of a rows x cols matrix. */
static float *columns(const float *m, size_t rows, size_t cols, size_t c0, size_t w) {
    float *out = tu_xmalloc(rows * w * sizeof *out + 4);
    for (size_t r = 0; r < rows; ++r)
        memcpy(out + r * w, m + r * cols + c0, w * sizeof *out);
    return out;
}

/* The whole problem, then the shards split at `cuts` (ascending, from 0 to cols). */
static void loss_case(const char *label, const aplcl_params *p0, aplcl_target_format fmt,
                      int with_ignore, size_t rows, size_t cols, const size_t *cuts, int ncuts,
                      uint64_t seed) {
    int mark = tu_case_begin();
    size_t n = rows * cols;
    float *x = tu_xmalloc(n * 4), *y = tu_xmalloc(n * 4);
    cli_rng r = cli_rng_seed(seed);
    for (size_t i = 0; i < n; ++i) {
        x[i] = (float)cli_rng_normal(&r, 0.0, 3.0);
        double v = cli_rng_uniform(&r);
        y[i] = with_ignore && v < 0.05 ? -1.0f : v < 0.13 ? 1.0f : 0.0f;
    }
    dev_targets dt = upload_targets(fmt, rows, cols, y, with_ignore);
    float *g = tu_xmalloc(n * 4), *e = tu_xmalloc(n * 4), loss = 0;
    uint64_t cnt[APLCL_COUNT_LEN];
    aplcl_params p = *p0;
    run_io(&p, rows, cols, x, &dt.t, g, e, &loss, cnt);
    /* MEAN: every shard divides by the whole problem's count, as a sharded engine must */
    if (p.reduction == APLCL_REDUCE_MEAN)
        p.normalizer = (double)cnt[APLCL_COUNT_ELEMENTS];
    double loss_sum = 0;
    uint64_t cnt_sum[APLCL_COUNT_LEN] = {0, 0, 0};
    for (int s = 0; s + 1 < ncuts; ++s) {
        size_t c0 = cuts[s], w = cuts[s + 1] - cuts[s];
        float *xs = columns(x, rows, cols, c0, w), *gs = tu_xmalloc(rows * w * 4),
              *es = tu_xmalloc(rows * w * 4), *gw = columns(g, rows, cols, c0, w),
              *ew = columns(e, rows, cols, c0, w), ls = 0;
        uint64_t cs[APLCL_COUNT_LEN];
        aplcl_targets t = dt.t;
        t.label_count = cols, t.label_offset = c0;
        run_io(&p, rows, w, xs, &t, gs, es, &ls, cs);
        CHECK(memcmp(gs, gw, rows * w * 4) == 0);
        CHECK(memcmp(es, ew, rows * w * 4) == 0);
        if (p0->reduction == APLCL_REDUCE_MEAN) {
            /* MEAN by the window's own count (the count pass over the window, for BITS with an
             * ignore mask) = MEAN by that count given */
            aplcl_params by_count = *p0, given = *p0;
            given.normalizer = (double)cs[APLCL_COUNT_ELEMENTS];
            float *g1 = tu_xmalloc(rows * w * 4), *g2 = tu_xmalloc(rows * w * 4), l1, l2;
            uint64_t c1[APLCL_COUNT_LEN], c2[APLCL_COUNT_LEN];
            run_io(&by_count, rows, w, xs, &t, g1, es, &l1, c1);
            run_io(&given, rows, w, xs, &t, g2, es, &l2, c2);
            CHECK(memcmp(g1, g2, rows * w * 4) == 0);
            CHECK_EQ_U64(c1[APLCL_COUNT_ELEMENTS], cs[APLCL_COUNT_ELEMENTS]);
            free(g1), free(g2);
        }
        loss_sum += ls;
        for (int k = 0; k < APLCL_COUNT_LEN; ++k)
            cnt_sum[k] += cs[k];
        free(xs), free(gs), free(es), free(gw), free(ew);
    }
    CHECK_NEAR(loss_sum, loss, 1e-5, 1e-6);
    for (int k = 0; k < APLCL_COUNT_LEN; ++k)
        CHECK_EQ_U64(cnt_sum[k], cnt[k]);
    tu_case_end(mark, "%-24s %zux%zu %s%s in %d shards", label, rows, cols, cases_format_name(fmt),
                with_ignore ? "+ignore" : "", ncuts - 1);
    free_targets(&dt);
    free(x), free(y), free(g), free(e);
}

/* CSR with invalid entries (unsorted, past the label space, a bad pointer): each is counted by
 * exactly one shard, so the shards' counts add up to the whole run's. */
static void csr_invalid_case(void) {
    int mark = tu_case_begin();
    const size_t rows = 4, cols = 70;
    uint64_t rp[5] = {0, 3, 5, 4, 7}; /* row 2's pointer decreases */
    uint32_t idx[7] = {5, 3, 69, 40, 90, 1, 2};
    float x[4 * 70];
    for (size_t i = 0; i < rows * cols; ++i)
        x[i] = (float)((int)(i % 11) - 5);
    dev_targets d;
    memset(&d, 0, sizeof d);
    d.t.format = APLCL_TARGET_CSR;
    d.t.data = d.data = upload(rp, sizeof rp);
    d.t.indices = d.aux = upload(idx, sizeof idx);
    d.t.nnz = 7;
    aplcl_params p = aplcl_params_default();
    float g[4 * 70], e[4 * 70], loss = 0;
    uint64_t cnt[APLCL_COUNT_LEN];
    run_io(&p, rows, cols, x, &d.t, g, e, &loss, cnt);
    CHECK(cnt[APLCL_COUNT_INVALID_TARGETS] >= 3);
    const size_t cuts[] = {0, 4, 33, 70};
    uint64_t bad = 0;
    for (int s = 0; s < 3; ++s) {
        size_t w = cuts[s + 1] - cuts[s];
        float *xs = columns(x, rows, cols, cuts[s], w), gs[4 * 70], es[4 * 70], ls;
        uint64_t cs[APLCL_COUNT_LEN];
        aplcl_targets t = d.t;
        t.label_count = cols, t.label_offset = cuts[s];
        run_io(&p, rows, w, xs, &t, gs, es, &ls, cs);
        bad += cs[APLCL_COUNT_INVALID_TARGETS];
        free(xs);
    }
    CHECK_EQ_U64(bad, cnt[APLCL_COUNT_INVALID_TARGETS]);
    tu_case_end(mark, "CSR invalid entries are counted once over the shards (%llu)",
                (unsigned long long)bad);
    free_targets(&d);
}

/* The window's argument checks: out of range, on a dense format, extents of the whole structure. */
static void window_checks(void) {
    int mark = tu_case_begin();
    const size_t rows = 2, cols = 40;
    aplcl_params p = aplcl_params_default();
    aplcl_io io = aplcl_io_default();
    io.logits = upload(NULL, rows * cols * 4);
    io.grad = upload(NULL, rows * cols * 4);
    uint32_t words[2 * 3] = {0};
    cl_mem bits = upload(words, sizeof words); /* 2 rows of 96 labels (3 words) */
    io.targets.format = APLCL_TARGET_BITS;
    io.targets.data = bits;
    io.targets.label_count = 96;
    io.targets.label_offset = 57; /* 57 + 40 > 96 */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, NULL),
                 APLCL_ERR_INVALID_WINDOW);
    io.targets.label_count = 20; /* fewer labels than the call's columns */
    io.targets.label_offset = 0;
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, NULL),
                 APLCL_ERR_INVALID_WINDOW);
    io.targets.label_count = 129; /* 5 words a row: the buffer holds 3 */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, NULL),
                 APLCL_ERR_BUFFER_TOO_SMALL);
    io.targets.label_count = 96;
    io.targets.label_offset = 56; /* the last 40 labels: fine */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, NULL), APLCL_SUCCESS);
    io.targets.format = APLCL_TARGET_F32; /* dense: no window */
    io.targets.data = upload(NULL, rows * 96 * 4);
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, NULL),
                 APLCL_ERR_INVALID_WINDOW);
    io.targets.label_count = cols, io.targets.label_offset = 0; /* the call's own width: fine */
    CHECK_STATUS(aplcl_compute_io(g_ctx, &p, rows, cols, &io, 0, NULL, NULL), APLCL_SUCCESS);
    clFinish(aplcl_ctx_queue(g_ctx));
    tu_case_end(mark, "a window outside the structure or on dense targets is refused");
    cl_mem all[] = {io.logits, io.grad, bits, io.targets.data};
    cli_release_all(all, 4);
}

/* The linear head over label shards: per shard W, b rows, targets through the window; dX summed
 * over the shards and the loss summed match the whole head; dW and db rows match its rows. */
static void head_case(aplcl_target_format fmt, size_t n, size_t d, size_t c, size_t cut) {
    int mark = tu_case_begin();
    cli_rng r = cli_rng_seed(77 + c);
    float *x = tu_xmalloc(n * d * 4), *w = tu_xmalloc(c * d * 4), *b = tu_xmalloc(c * 4),
          *y = tu_xmalloc(n * c * 4);
    for (size_t i = 0; i < n * d; ++i)
        x[i] = (float)cli_rng_normal(&r, 0, 1);
    for (size_t i = 0; i < c * d; ++i)
        w[i] = (float)cli_rng_normal(&r, 0, 0.3);
    for (size_t i = 0; i < c; ++i)
        b[i] = (float)cli_rng_normal(&r, -1, 0.5);
    for (size_t i = 0; i < n * c; ++i)
        y[i] = cli_rng_uniform(&r) < 0.1 ? 1.0f : 0.0f;
    dev_targets dt = upload_targets(fmt, n, c, y, 0);
    aplcl_head *h = NULL;
    CHECK_STATUS(aplcl_head_create(&h, g_ctx), APLCL_SUCCESS);
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    p.normalizer = (double)n; /* the global normaliser on every shard */
    float *dx = tu_xmalloc(n * d * 4), *dw = tu_xmalloc(c * d * 4), *db = tu_xmalloc(c * 4);
    float *dxs = tu_xmalloc(n * d * 4), *dws = tu_xmalloc(c * d * 4), *dbs = tu_xmalloc(c * 4);
    double dx_sum_abs = 0;
    float loss = 0, lsum = 0;
    memset(dxs, 0, n * d * 4);
    const size_t cuts[3] = {0, cut, c};
    for (int s = -1; s < 2; ++s) { /* -1: the whole head */
        size_t c0 = s < 0 ? 0 : cuts[s], cw = s < 0 ? c : cuts[s + 1] - cuts[s];
        aplcl_head_io io = aplcl_head_io_default();
        io.x = upload(x, n * d * 4);
        io.w = upload(w + c0 * d, cw * d * 4);
        io.b = upload(b + c0, cw * 4);
        io.targets = dt.t;
        if (s >= 0)
            io.targets.label_count = c, io.targets.label_offset = c0;
        io.dx = upload(NULL, n * d * 4);
        io.dw = upload(NULL, cw * d * 4);
        io.db = upload(NULL, cw * 4);
        tu_fill_f32(aplcl_ctx_queue(g_ctx), io.dw, 0, cw * d, 0.0f);
        tu_fill_f32(aplcl_ctx_queue(g_ctx), io.db, 0, cw, 0.0f);
        io.loss = upload(NULL, 4);
        CHECK_STATUS(aplcl_head_compute(h, &p, n, d, cw, &io, SIZE_MAX, 0, NULL, NULL),
                     APLCL_SUCCESS);
        float ls = 0, *dxp = s < 0 ? dx : tu_xmalloc(n * d * 4);
        download(io.loss, &ls, 4);
        download(io.dx, dxp, n * d * 4);
        download(io.dw, (s < 0 ? dw : dws) + c0 * d, cw * d * 4);
        download(io.db, (s < 0 ? db : dbs) + c0, cw * 4);
        if (s < 0)
            loss = ls;
        else {
            lsum += ls;
            for (size_t i = 0; i < n * d; ++i)
                dxs[i] += dxp[i];
            free(dxp);
        }
        cl_mem all[] = {io.x, io.w, io.b, io.dx, io.dw, io.db, io.loss};
        cli_release_all(all, 7);
    }
    for (size_t i = 0; i < n * d; ++i)
        dx_sum_abs += fabs(dx[i]);
    CHECK(dx_sum_abs > 0);
    CHECK_NEAR(lsum, loss, 1e-5, 1e-6);
    for (size_t i = 0; i < n * d; ++i)
        CHECK_NEAR(dxs[i], dx[i], 1e-5, 1e-6);
    for (size_t i = 0; i < c * d; ++i)
        CHECK_NEAR(dws[i], dw[i], 1e-5, 1e-6);
    for (size_t i = 0; i < c; ++i)
        CHECK_NEAR(dbs[i], db[i], 1e-5, 1e-6);
    tu_case_end(mark, "head %zux%zux%zu %s in 2 label shards (cut at %zu) = the whole head", n, d,
                c, cases_format_name(fmt), cut);
    aplcl_head_destroy(h);
    free_targets(&dt);
    free(x), free(w), free(b), free(y), free(dx), free(dw), free(db), free(dxs), free(dws),
        free(dbs);
}

int main(void) {
    int rc = tu_ctx_create(&g_ctx);
    if (rc)
        return rc;
    aplcl_params def = aplcl_params_default(), mean = def;
    mean.reduction = APLCL_REDUCE_MEAN;
    mean.focus_grad = 1;
    const size_t cuts3[] = {0, 13, 64, 101}, cuts2[] = {0, 32, 70}, cuts1[] = {0, 5, 6, 7};
    const aplcl_target_format fmts[2] = {APLCL_TARGET_BITS, APLCL_TARGET_CSR};
    uint64_t seed = 11;
    for (int f = 0; f < 2; ++f)
        for (int ign = 0; ign <= (fmts[f] == APLCL_TARGET_BITS); ++ign) {
            loss_case("sum, unaligned cuts", &def, fmts[f], ign, 9, 101, cuts3, 4, seed++);
            loss_case("mean, word cut", &mean, fmts[f], ign, 17, 70, cuts2, 3, seed++);
            loss_case("mean, unaligned cuts", &mean, fmts[f], ign, 9, 101, cuts3, 4, seed++);
            loss_case("sum, 1-label shards", &def, fmts[f], ign, 3, 7, cuts1, 4, seed++);
        }
    csr_invalid_case();
    window_checks();
    head_case(APLCL_TARGET_CSR, 24, 10, 75, 40);
    head_case(APLCL_TARGET_BITS, 24, 10, 75, 19);
    aplcl_ctx_destroy(g_ctx);
    return tu_exit_code();
}
