/* npy_fixture.c: writes the .npy files tests/verify_check.py runs `aplcl verify` on.
 *
 * Usage: npy_fixture OUTDIR. 6 x 7 logits (float32; normal draws and a few large ones), uint8
 * targets with one ignored element (255), the reference gradient of default APL (sum) as float32
 * (grad_good), float16 (grad_f16) and, with mean reduction, float32 (grad_mean); grad_bad is
 * grad_good with element 17 ([2, 3]) off by 1e-3; elem_good the per-element losses; the logits
 * in Fortran order; a mis-shaped file; logits_inf / targets_nan with one infinite logit ([1, 1])
 * and one NaN target ([1, 5]), their reference gradient grad_inf, and grad_inf_nan with NaN at
 * the infinite logit. Prints the reference sum loss (%.17g). A test helper: it
 * checks nothing itself.
 */
#include "npy.h"
#include "tool_util.h"

#include <math.h>
#include <stdio.h>

enum { R = 6, C = 7, N = R * C };

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    const char *dir = argv[1];
    float x[N], yf[N];
    double xd[N], yd[N], g[N], e[N], gm[N], loss = 0, lm = 0;
    cli_rng r = cli_rng_seed(2026);
    for (int i = 0; i < N; ++i) {
        x[i] = (float)cli_rng_normal(&r, 0, 3);
        yf[i] = cli_rng_uniform(&r) < 0.3 ? 1.0f : 0.0f;
    }
    x[5] = 40.0f, x[11] = -30.0f;
    yf[30] = -1.0f; /* ignored: uint8 255 in the file */
    aplcl_params p = aplcl_params_default();
    if (aplcl_ref_compute(&p, R, C, x, yf, g, e, &loss) != APLCL_SUCCESS)
        return 1;
    double sum_loss = loss;
    aplcl_params pm = p;
    pm.reduction = APLCL_REDUCE_MEAN;
    if (aplcl_ref_compute(&pm, R, C, x, yf, gm, NULL, &lm) != APLCL_SUCCESS)
        return 1;
    for (int i = 0; i < N; ++i)
        xd[i] = x[i], yd[i] = yf[i] < 0 ? 255 : yf[i];
    const size_t shape[2] = {R, C}, wrong[2] = {C, R};
    char path[4096];
    int bad = 0;
#define W(name, type, sh, v)                                                                       \
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);                                           \
    bad |= npy_write(path, type, sh, 2, v);
    W("logits", NPY_F32, shape, xd)
    W("targets", NPY_U8, shape, yd)
    W("grad_good", NPY_F32, shape, g)
    W("grad_f16", NPY_F16, shape, g)
    W("grad_mean", NPY_F32, shape, gm)
    W("elem_good", NPY_F32, shape, e)
    W("grad_wrong_shape", NPY_F32, wrong, g)
    g[17] += 1e-3;
    W("grad_bad", NPY_F32, shape, g)
#undef W
    /* the same logits stored in Fortran order (column by column), as NumPy writes arr.T.T */
    float xt[N];
    for (int i = 0; i < R; ++i)
        for (int j = 0; j < C; ++j)
            xt[j * R + i] = x[i * C + j];
    snprintf(path, sizeof path, "%s/logits_fortran.npy", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 1;
    char head[118];
    int n = snprintf(head, sizeof head,
                     "{'descr': '<f4', 'fortran_order': True, 'shape': (%d, %d), }", R, C);
    while (n < 117)
        head[n++] = ' ';
    head[117] = '\n';
    fwrite("\x93NUMPY\x01\x00\x76\x00", 1, 10, f);
    fwrite(head, 1, 118, f);
    fwrite(xt, sizeof xt[0], N, f);
    bad |= fclose(f) != 0;
    /* an fp16 run's overflow: one infinite logit, one NaN target (float32 targets); the
     * reference's outputs by the library's rule (loss 0, gradient 0 there) */
    x[8] = INFINITY;
    yf[12] = NAN;
    if (aplcl_ref_compute(&p, R, C, x, yf, g, e, &loss) != APLCL_ERR_INVALID_TARGET)
        return 1;
    for (int i = 0; i < N; ++i)
        xd[i] = x[i], yd[i] = yf[i];
#define W(name, type, sh, v)                                                                       \
    snprintf(path, sizeof path, "%s/%s.npy", dir, name);                                           \
    bad |= npy_write(path, type, sh, 2, v);
    W("logits_inf", NPY_F32, shape, xd)
    W("targets_nan", NPY_F32, shape, yd)
    W("grad_inf", NPY_F32, shape, g)
    g[8] = NAN; /* an engine that propagates the infinity */
    W("grad_inf_nan", NPY_F32, shape, g)
#undef W
    printf("%.17g\n", sum_loss);
    return bad ? 1 : 0;
}
