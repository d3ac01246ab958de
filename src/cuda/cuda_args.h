/* cuda_args.h: the argument lists of the CUDA launches of apl_loss, apl_count and apl_finalize,
 * in the kernels' order (kernels/apl_4_loss.cl, apl_4_finalize.cl; the same order as the OpenCL
 * enqueue, src/enqueue.c), and the check of a packed list against a compiled kernel's PTX
 * parameter list. The launch code (cuda_compute.c) packs through these functions only, and the
 * build-time generator (cubin_gen.c) packs the same way and runs apl_cu_check_params on every
 * variant's PTX, so a drift between the C side and a kernel fails the build. No launching here.
 */
#ifndef APLCL_CUDA_ARGS_H
#define APLCL_CUDA_ARGS_H

#include "apl_abi.h"

#include <stddef.h>
#include <stdint.h>

#define APL_CU_MAX_ARGS 32

/* Values copied in; ptr[i] points at value i (what cuLaunchKernel's kernelParams takes).
 * kind: 'u' 64-bit integer or pointer, 'i' 32-bit integer, 'f' float, 'd' double, 'b' bytes. */
typedef struct apl_cu_args {
    void *ptr[APL_CU_MAX_ARGS];
    uint64_t word[APL_CU_MAX_ARGS];
    apl_consts consts; /* the one by-value struct (apl_loss's k_arg) */
    char kind[APL_CU_MAX_ARGS];
    size_t size[APL_CU_MAX_ARGS];
    int n, overflow;
} apl_cu_args;

typedef struct apl_cu_loss_args {
    uint64_t n, rows, cols, per_item;
    uint64_t xs, x_off, t0, t0_off, t1, t1_off, nnz, grad, g_off;
    int accumulate;
    uint64_t elem, e_off;
    apl_consts k;
    float grad_scale;
    int mul_from_count;
    uint64_t res_cnt, partial_acc, partial_cnt, tcols, tcol0;
    int weighted; /* the weighted program's five more arguments follow */
    uint64_t pw, pw_off, wt, wt_off;
    int wkind;
} apl_cu_loss_args;

typedef struct apl_cu_count_args {
    uint64_t n, rows, cols, per_item, t0, t0_off, t1, t1_off, partial_cnt, tcols, tcol0;
} apl_cu_count_args;

typedef struct apl_cu_finalize_args {
    uint32_t groups;
    uint64_t partial_acc, partial_cnt;
    int counts_only, mean;
    double normalizer; /* acc_t: double (APL_CUDA_FP64) */
    uint64_t res_loss, res_cnt, loss_out, loss_off, cnt_out, cnt_off;
} apl_cu_finalize_args;

void apl_cu_pack_loss(apl_cu_args *a, const apl_cu_loss_args *v);
void apl_cu_pack_count(apl_cu_args *a, const apl_cu_count_args *v);
void apl_cu_pack_finalize(apl_cu_args *a, const apl_cu_finalize_args *v);

/* 0 when the PTX entry `entry` takes exactly a's arguments (count, sizes, integer/float class);
 * else -1 and a sentence in err. */
int apl_cu_check_params(const char *ptx, const char *entry, const apl_cu_args *a, char *err,
                        size_t err_size);

#endif /* APLCL_CUDA_ARGS_H */
