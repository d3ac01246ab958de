/* bench_shard.c: `aplcl bench shard`, the linear head sharded over labels on MPI ranks, on a
 * synthetic extreme multi-label problem.
 *
 * N samples, D features, C labels (at least 10^5 by default), K positives per row as CSR with
 * global label indices: the one target structure every rank holds, each reading its block of
 * labels through a label window (aplcl_targets label_count / label_offset). Rank r of R owns
 * labels [C r / R, C (r+1) / R): its rows of W and b, their gradients and their Adam moments
 * (allocated, as a trainer holds them; the update itself is not run or timed). One step is
 * aplcl_head_compute (forward and backward, MEAN over the N samples) and the sum of dX and the
 * loss over the ranks (MPI_Allreduce through the host). Reported per rank: the device bytes of
 * each buffer group and the head's peak scratch, and the step's median time; then the same model's
 * memory on one device with an unsharded, unfused head, computed from the sizes (its N x C logits
 * plus everything above for all C labels; CLBlast's temporary buffer not included). Time does not
 * scale on one CPU device shared by the ranks; memory per rank does. Not a test of values:
 * tests/test_windows.c checks sharded against unsharded results.
 */
#include "aplcl_head.h"
#include "bench_head.h"
#include "options.h"
#include "parallel.h"
#include "tool_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHO "aplcl bench shard"

/* Device bytes of one rank, by group. */
enum { M_W, M_ADAM, M_GRAD, M_XDX, M_TARGETS, M_SCRATCH, M_TOTAL, M_LEN };
static const char *const group_names[M_TOTAL] = {"W,b",       "Adam m,v", "dW,db",
                                                 "X,dX,loss", "targets",  "head scratch"};

typedef struct {
    size_t n, d, c, k, c0, cw, budget;
    int reps;
    uint64_t seed;
} shard_cfg;

static void usage(FILE *f) {
    fprintf(f, "usage: [mpirun -n R] aplcl bench shard [--shape NxDxC] [--positives K]\n"
               "         [--budget BYTES] [--reps N] [--seed S] [--device D]\n"
               "  --shape     N samples, D features, C labels (default 256x64x131072)\n"
               "  --positives positives per row, CSR targets (default 5)\n"
               "  --budget    the head's scratch budget per rank (default 64M)\n"
               "  --reps      timed steps after one warm-up (default 3)\n"
               "Each rank holds labels [C r/R, C (r+1)/R): W, b, dW, db, Adam m and v for them;\n"
               "prints each rank's device memory and step time, and the memory of the same model\n"
               "on one device with an unsharded, unfused head.\n");
}

/* The synthetic targets, the same on every rank: K distinct labels per row, ascending. */
static int make_targets(const shard_cfg *s, uint64_t **rp, uint32_t **idx) {
    *rp = malloc((s->n + 1) * sizeof **rp);
    *idx = malloc(s->n * s->k * sizeof **idx + 4);
    if (!*rp || !*idx)
        return -1;
    cli_rng r = cli_rng_seed(s->seed);
    size_t nnz = 0;
    for (size_t row = 0; row < s->n; ++row) {
        (*rp)[row] = nnz;
        size_t start = nnz;
        while (nnz - start < s->k) { /* insertion keeps the row sorted and distinct */
            uint32_t c = (uint32_t)(cli_rng_next(&r) % s->c);
            size_t j = nnz;
            int dup = 0;
            for (size_t q = start; q < nnz; ++q)
                dup |= (*idx)[q] == c;
            if (dup)
                continue;
            while (j > start && (*idx)[j - 1] > c)
                (*idx)[j] = (*idx)[j - 1], --j;
            (*idx)[j] = c;
            ++nnz;
        }
    }
    (*rp)[s->n] = nnz;
    return 0;
}

/* Uniform values in [-a, a); label c's weights come from its own stream, so a label has the
 * same weights whatever the sharding. */
static void fill_rows(float *w, size_t c0, size_t cw, size_t d, uint64_t seed, float a) {
    for (size_t c = 0; c < cw; ++c) {
        cli_rng r = cli_rng_seed(seed ^ ((c0 + c) * 0x9e3779b97f4a7c15ull));
        for (size_t k = 0; k < d; ++k)
            w[c * d + k] = (float)cli_rng_range(&r, -a, a);
    }
}

typedef struct {
    aplcl_ctx *ctx;
    aplcl_head *head;
    cl_command_queue q;
    cl_mem x, w, b, dx, dw, db, m, v, rp, idx, loss, counts;
    double bytes[M_LEN];
    cl_int err;
} rank_state;

static cl_mem dev_buf(rank_state *st, size_t bytes, const void *host, int group) {
    if (st->err != CL_SUCCESS)
        return NULL;
    st->bytes[group] += (double)bytes;
    cl_mem m = clCreateBuffer(aplcl_ctx_cl_context(st->ctx),
                              CL_MEM_READ_WRITE | (host ? CL_MEM_COPY_HOST_PTR : 0),
                              bytes ? bytes : 4, (void *)host, &st->err);
    if (st->err == CL_SUCCESS && !host) { /* zeroed, as a trainer starts its moments */
        cl_float z = 0.0f;
        st->err = clEnqueueFillBuffer(st->q, m, &z, sizeof z, 0, bytes ? bytes : 4, 0, NULL, NULL);
    }
    return m;
}

static int setup(rank_state *st, const shard_cfg *s) {
    size_t N = s->n, D = s->d, cw = s->cw;
    uint64_t *rp = NULL;
    uint32_t *idx = NULL;
    float *x = malloc(N * D * sizeof *x), *w = malloc(cw * D * sizeof *w + 4);
    int rc = -1;
    if (!x || !w || make_targets(s, &rp, &idx))
        goto out;
    fill_rows(x, 0, N, D, s->seed + 1, 1.0f); /* X's rows: the same streams' construction */
    fill_rows(w, s->c0, cw, D, s->seed + 2, 0.1f);
    st->x = dev_buf(st, N * D * 4, x, M_XDX);
    st->dx = dev_buf(st, N * D * 4, NULL, M_XDX);
    st->w = dev_buf(st, cw * D * 4, w, M_W);
    st->b = dev_buf(st, cw * 4, NULL, M_W);
    st->dw = dev_buf(st, cw * D * 4, NULL, M_GRAD);
    st->db = dev_buf(st, cw * 4, NULL, M_GRAD);
    st->m = dev_buf(st, (cw * D + cw) * 4, NULL, M_ADAM);
    st->v = dev_buf(st, (cw * D + cw) * 4, NULL, M_ADAM);
    st->rp = dev_buf(st, (N + 1) * 8, rp, M_TARGETS);
    st->idx = dev_buf(st, N * s->k * 4, idx, M_TARGETS);
    st->loss = dev_buf(st, 4, NULL, M_XDX);
    st->counts = dev_buf(st, APLCL_COUNT_LEN * 8, NULL, M_XDX);
    rc = st->err == CL_SUCCESS ? 0 : -1;
out:
    free(x), free(w), free(rp), free(idx);
    return rc;
}

/* One step: the head on this rank's labels, then dX and the loss summed over the ranks. */
static int step(rank_state *st, const shard_cfg *s, float *dx, double *dxd, double *loss,
                double *t_head, double *t_sum) {
    aplcl_params p = aplcl_params_default();
    p.reduction = APLCL_REDUCE_MEAN;
    p.normalizer = (double)s->n; /* the global normaliser: the ranks' losses add up */
    aplcl_head_io io = aplcl_head_io_default();
    io.x = st->x, io.w = st->w, io.b = st->b;
    io.targets.format = APLCL_TARGET_CSR;
    io.targets.data = st->rp;
    io.targets.indices = st->idx;
    io.targets.nnz = s->n * s->k;
    io.targets.label_count = s->c; /* the whole structure, read through this rank's window */
    io.targets.label_offset = s->c0;
    io.dx = st->dx, io.dw = st->dw, io.db = st->db, io.loss = st->loss, io.counts = st->counts;
    double t0 = cli_now_s();
    aplcl_status a =
        aplcl_head_compute(st->head, &p, s->n, s->d, s->cw, &io, s->budget, 0, NULL, NULL);
    if (a != APLCL_SUCCESS) {
        par_fail(WHO, "aplcl_head_compute: %s", aplcl_status_string(a));
        return -1;
    }
    float lf = 0;
    cl_int e = clEnqueueReadBuffer(st->q, st->dx, CL_TRUE, 0, s->n * s->d * 4, dx, 0, NULL, NULL);
    if (e == CL_SUCCESS)
        e = clEnqueueReadBuffer(st->q, st->loss, CL_TRUE, 0, 4, &lf, 0, NULL, NULL);
    if (e != CL_SUCCESS) {
        par_fail(WHO, "reading dX: OpenCL error %d", (int)e);
        return -1;
    }
    double t1 = cli_now_s();
    for (size_t i = 0; i < s->n * s->d; ++i)
        dxd[i] = dx[i];
    *loss = lf;
    par_sum_f64(dxd, s->n * s->d);
    par_sum_f64(loss, 1);
    *t_head = t1 - t0, *t_sum = cli_now_s() - t1;
    return 0;
}

static double mib(double b) { return b / 1048576.0; }

/* The report (rank 0): each rank's memory and time, then the unsharded, unfused model. */
static void report(const shard_cfg *s, const double *all, int R, double loss, double dx_abs) {
    size_t N = s->n, D = s->d, C = s->c;
    printf("aplcl bench shard: N %zu, D %zu, C %zu labels, %zu positives/row (CSR), %d rank%s, "
           "head budget %.0f MiB\n",
           N, D, C, s->k, R, R > 1 ? "s" : "", mib((double)s->budget));
    printf("  device MiB per rank (targets: the whole CSR structure; head scratch: its peak); "
           "median step times\n");
    printf("  %-5s %-9s", "rank", "labels");
    for (int g = 0; g < M_TOTAL; ++g)
        printf(" %12.12s", group_names[g]);
    printf(" %10s %9s %9s\n", "total MiB", "head ms", "sum ms");
    for (int r = 0; r < R; ++r) {
        const double *a = all + (size_t)r * (M_LEN + 3);
        printf("  %-5d %-9.0f", r, a[M_LEN]);
        for (int g = 0; g < M_TOTAL; ++g)
            printf(" %12.2f", mib(a[g]));
        printf(" %10.2f %9.1f %9.1f\n", mib(a[M_TOTAL]), a[M_LEN + 1] * 1e3, a[M_LEN + 2] * 1e3);
    }
    double wfull = (double)(C * D + C) * 4;
    double unfused = (double)N * C * 4 /* logits, gradient in place */ + 4 * wfull /* W, dW, m, v */
                     + 2.0 * N * D * 4 + (N + 1) * 8.0 + (double)N * s->k * 4;
    const double *r0 = all;
    printf("  W,b + Adam m,v on rank 0: %.2f MiB = %.3f of the unsharded model's %.2f MiB "
           "(1/R = %.3f)\n",
           mib(r0[M_W] + r0[M_ADAM]), (r0[M_W] + r0[M_ADAM]) / (3 * wfull), mib(3 * wfull),
           1.0 / R);
    printf("  one device, unsharded and unfused (N x C logits + all of the above for C labels): "
           "%.2f MiB, plus CLBlast's temporary buffer\n",
           mib(unfused));
    printf("  loss %.6f, sum |dX| %.6f (summed over the ranks)\n", loss, dx_abs);
    if (R > 1)
        printf("  time: the ranks share one device here, so a step does not get faster with R; "
               "memory per rank is what scales\n");
}

int cli_bench_shard(int argc, char **argv) {
    enum { O_SHAPE, O_POS, O_BUDGET, O_REPS, O_SEED, O_DEVICE, O_N };
    cli_option o[O_N] = {{"--shape", 1, NULL}, {"--positives", 1, NULL}, {"--budget", 1, NULL},
                         {"--reps", 1, NULL},  {"--seed", 1, NULL},      {"--device", 1, NULL}};
    int np = 0;
    int pr = cli_parse(WHO, argc, argv, o, O_N, NULL, 0, &np);
    if (pr == CLI_PARSE_HELP) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (pr != CLI_PARSE_OK)
        return CLI_EXIT_USAGE;
    shard_cfg s = {256, 64, 131072, 5, 0, 0, 64u << 20, 3, 7};
    int64_t i64 = 0;
    if (o[O_SHAPE].value && bench_parse_shape(o[O_SHAPE].value, &s.n, &s.d, &s.c)) {
        fprintf(stderr, WHO ": --shape wants NxDxC, each > 0\n");
        return CLI_EXIT_USAGE;
    }
    if (o[O_BUDGET].value && bench_parse_bytes(o[O_BUDGET].value, &s.budget)) {
        fprintf(stderr, WHO ": --budget wants a byte count (64M, 1G, ...)\n");
        return CLI_EXIT_USAGE;
    }
    if (o[O_POS].value && cli_parse_i64(WHO, "--positives", o[O_POS].value, 1, 1000, &i64))
        return CLI_EXIT_USAGE;
    s.k = o[O_POS].value ? (size_t)i64 : s.k;
    if (o[O_REPS].value && cli_parse_i64(WHO, "--reps", o[O_REPS].value, 1, 1000, &i64))
        return CLI_EXIT_USAGE;
    s.reps = o[O_REPS].value ? (int)i64 : s.reps;
    if (o[O_SEED].value && cli_parse_u64(WHO, "--seed", o[O_SEED].value, 0, UINT64_MAX, &s.seed))
        return CLI_EXIT_USAGE;
    if (s.k > s.c || s.c > UINT32_MAX) {
        fprintf(stderr, WHO ": needs positives <= C < 2^32\n");
        return CLI_EXIT_USAGE;
    }
    if (par_start() != 0)
        return CLI_EXIT_FAIL;
    int R = par_size(), rank = par_rank();
    /* every rank must run the same problem: ranks given another --shape would sum arrays of
     * different sizes and report a mixture */
    uint64_t cfg[6] = {s.n, s.d, s.c, s.k, s.budget, s.seed};
    if (!par_all_equal(
            par_hash(par_hash(PAR_HASH_INIT, cfg, sizeof cfg), &s.reps, sizeof s.reps))) {
        par_fail(WHO, "the ranks differ in --shape, --positives, --budget, --reps or --seed");
        return CLI_EXIT_FAIL;
    }
    if (s.c < (size_t)R) {
        par_fail(WHO, "%zu labels cannot be split over %d ranks", s.c, R);
        return CLI_EXIT_FAIL;
    }
    s.c0 = s.c * (size_t)rank / (size_t)R;
    s.cw = s.c * (size_t)(rank + 1) / (size_t)R - s.c0;

    rank_state st;
    memset(&st, 0, sizeof st);
    const char *dev = cli_device_choice(o[O_DEVICE].value);
    aplcl_status a = cli_ctx_create(&st.ctx, dev);
    if (a == APLCL_SUCCESS)
        a = aplcl_head_create(&st.head, st.ctx);
    if (a != APLCL_SUCCESS) {
        par_fail(WHO, "device '%s': %s", dev ? dev : "(default)", aplcl_status_string(a));
        aplcl_ctx_destroy(st.ctx);
        return CLI_EXIT_FAIL;
    }
    st.q = aplcl_ctx_queue(st.ctx);
    int rc = CLI_EXIT_FAIL;
    float *dx = malloc(s.n * s.d * sizeof *dx);
    double *dxd = malloc(s.n * s.d * sizeof *dxd), *times = malloc((size_t)s.reps * sizeof *times);
    double *all = calloc((size_t)R * (M_LEN + 3), sizeof *all);
    if (!dx || !dxd || !times || !all) {
        par_fail(WHO, "out of memory");
        goto out;
    }
    if (setup(&st, &s) != 0) {
        par_fail(WHO, "allocating this rank's buffers: OpenCL error %d", (int)st.err);
        goto out;
    }
    double loss = 0, th = 0, ts = 0, ss = 0;
    if (step(&st, &s, dx, dxd, &loss, &th, &ts)) /* warm-up (and the values reported) */
        goto out;
    for (int i = 0; i < s.reps; ++i) {
        if (step(&st, &s, dx, dxd, &loss, &th, &ts))
            goto out;
        times[i] = th;
        ss += ts;
    }
    double med = 0, lo = 0, hi = 0;
    cli_stats(times, s.reps, &med, &lo, &hi);
    aplcl_head_stats hs;
    aplcl_head_get_stats(st.head, &hs);
    st.bytes[M_SCRATCH] = (double)hs.peak_held_bytes;
    for (int g = 0; g < M_TOTAL; ++g)
        st.bytes[M_TOTAL] += st.bytes[g];
    double *mine = all + (size_t)rank * (M_LEN + 3);
    memcpy(mine, st.bytes, sizeof st.bytes);
    mine[M_LEN] = (double)s.cw, mine[M_LEN + 1] = med, mine[M_LEN + 2] = ss / s.reps;
    par_sum_f64(all, (size_t)R * (M_LEN + 3)); /* every rank's row to every rank */
    double dx_abs = 0;
    for (size_t i = 0; i < s.n * s.d; ++i)
        dx_abs += dxd[i] < 0 ? -dxd[i] : dxd[i];
    if (rank == 0)
        report(&s, all, R, loss, dx_abs);
    rc = CLI_EXIT_OK;
out:
    fflush(stdout);
    free(dx), free(dxd), free(times), free(all);
    cl_mem ms[] = {st.x, st.w, st.b,  st.dx,  st.dw,   st.db,
                   st.m, st.v, st.rp, st.idx, st.loss, st.counts};
    cli_release_all(ms, sizeof ms / sizeof ms[0]);
    aplcl_head_destroy(st.head);
    aplcl_ctx_destroy(st.ctx);
    return rc;
}
