/* bench_check.c: the check of one `aplcl bench` case against the CPU reference, before it is
 * timed, so no wrong result is ever timed.
 *
 * Reads the first call's counters, loss and gradient back (a bench_reader: OpenCL buffers or CUDA
 * device memory) and compares them, in chunks of about
 * 2^20 elements, with aplcl_ref_compute on the same (storage-rounded) logits, by the tolerance
 * rule of the tests and `aplcl check` (cases/cases.h). Not a test: tests/ and `aplcl check`
 * cover correctness.
 */
#include "bench_run.h"
#include "cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cl_read(void *u, int which, size_t offset, size_t bytes, void *dst) {
    bench_cl_outputs *o = (bench_cl_outputs *)u;
    return (int)clEnqueueReadBuffer(aplcl_ctx_queue(o->ctx), o->mem[which], CL_TRUE, offset, bytes,
                                    dst, 0, NULL, NULL);
}

bench_reader bench_cl_reader(bench_cl_outputs *o) {
    bench_reader r = {cl_read, o, "OpenCL error"};
    return r;
}

void bench_check_case(const bench_reader *rd, const aplcl_params *p, inputs *in, combo c, int acc,
                      check_result *res) {
    size_t rows = in->rows, cols = in->cols, n = rows * cols, ds = bench_dtype_bytes(c.dtype);
    size_t crows = ((size_t)1 << 20) / cols;
    if (crows == 0)
        crows = 1;
    if (crows > rows)
        crows = rows;
    size_t cn = crows * cols;
    float *xr = c.dtype == APLCL_DTYPE_F32 ? NULL : malloc(cn * sizeof *xr);
    float *yf = malloc(cn * sizeof *yf);
    double *rg = malloc(cn * sizeof *rg);
    unsigned char *gd = malloc(cn * ds);
    res->ok = 0;
    res->err_tol = 0.0;
    if ((c.dtype != APLCL_DTYPE_F32 && !xr) || !yf || !rg || !gd) {
        snprintf(res->why, sizeof res->why, "out of host memory");
        goto out;
    }
    float dloss = 0.0f;
    uint64_t cnt[APLCL_COUNT_LEN] = {0};
    int err = rd->read(rd->u, BENCH_OUT_LOSS, 0, sizeof dloss, &dloss);
    if (!err)
        err = rd->read(rd->u, BENCH_OUT_COUNTS, 0, sizeof cnt, cnt);
    if (err) {
        snprintf(res->why, sizeof res->why, "reading results: %s %d", rd->api, err);
        goto out;
    }
    if (cnt[APLCL_COUNT_ELEMENTS] != n || cnt[APLCL_COUNT_INVALID_TARGETS] ||
        cnt[APLCL_COUNT_NONFINITE_LOGITS]) {
        snprintf(res->why, sizeof res->why,
                 "counts: %llu elements (expected %zu), %llu invalid targets, %llu non-finite",
                 (unsigned long long)cnt[0], n, (unsigned long long)cnt[1],
                 (unsigned long long)cnt[2]);
        goto out;
    }
    /* The tolerance rule of the tests and `aplcl check` (cases/cases.h), per storage type; the
     * gradient multiplier is grad_scale (SUM). Accumulating: against ref + ACC_START, with the
     * start value's rounding on top. Against the rule bench used before (rel 1e-5 / 1e-3 / 8e-3,
     * floor 1e-7): tighter everywhere except f16 elements with |ref| < 1.6e-4, where the floor is
     * 1e-7 + 2^-24 (f16's subnormal spacing) instead of 1e-7, as the tests have it; the old floor
     * did not cover the kernel's 1e-7 plus the f16 rounding of a subnormal gradient. */
    double rtol = cases_grad_rtol(c.dtype), scale = fabs((double)p->grad_scale);
    double atol =
        acc ? cases_grad_acc_atol(c.dtype, scale, ACC_START) : cases_grad_atol(c.dtype, scale);
    double ref_loss = 0.0, worst = 0.0;
    size_t bad = 0, first_bad = 0;
    double bad_dev = 0, bad_ref = 0;
    for (size_t r0 = 0; r0 < rows; r0 += crows) {
        size_t nr = rows - r0 < crows ? rows - r0 : crows, m = nr * cols, base = r0 * cols;
        const float *xl = in->x + base;
        if (xr) {
            for (size_t i = 0; i < m; ++i)
                xr[i] = bench_from_storage(c.dtype, in->x16[base + i]);
            xl = xr;
        }
        for (size_t i = 0; i < m; ++i)
            yf[i] = (float)in->y[base + i];
        double l = 0.0;
        aplcl_status st = aplcl_ref_compute(p, nr, cols, xl, yf, rg, NULL, &l);
        if (st != APLCL_SUCCESS) {
            snprintf(res->why, sizeof res->why, "reference: %s", aplcl_status_string(st));
            goto out;
        }
        ref_loss += l;
        err = rd->read(rd->u, BENCH_OUT_GRAD, base * ds, m * ds, gd);
        if (err) {
            snprintf(res->why, sizeof res->why, "reading gradient: %s %d", rd->api, err);
            goto out;
        }
        for (size_t i = 0; i < m; ++i) {
            double dev;
            if (c.dtype == APLCL_DTYPE_F32) {
                float f;
                memcpy(&f, gd + 4 * i, 4);
                dev = f;
            } else {
                uint16_t h;
                memcpy(&h, gd + 2 * i, 2);
                dev = bench_from_storage(c.dtype, h);
            }
            double ref = rg[i] + (acc ? ACC_START : 0.0);
            double e = fabs(dev - ref) / cases_tol(ref, rtol, atol);
            if (!(e <= 1.0)) {
                if (!bad++)
                    first_bad = base + i, bad_dev = dev, bad_ref = ref;
            }
            if (!(e <= worst))
                worst = e; /* NaN sticks */
        }
    }
    res->loss_dev = dloss;
    res->loss_ref = ref_loss;
    double le = fabs((double)dloss - ref_loss) /
                cases_tol(ref_loss, CASES_SUM_RTOL, CASES_ATOL * cases_loss_scale(p, n));
    if (!(le <= worst))
        worst = le;
    res->err_tol = worst;
    if (bad) {
        snprintf(res->why, sizeof res->why,
                 "%zu gradient elements out of tolerance, first at %zu: %.9g vs reference %.9g",
                 bad, first_bad, bad_dev, bad_ref);
        goto out;
    }
    if (!(le <= 1.0)) {
        snprintf(res->why, sizeof res->why, "loss %.9g vs reference %.9g", (double)dloss, ref_loss);
        goto out;
    }
    res->ok = 1;
out:
    free(xr), free(yf), free(rg), free(gd);
}
