/* test_cuda_args.c: the build's argument-drift check itself (src/cuda/cuda_args.c), on PTX text
 * written here: the packed apl_finalize list passes against its true parameter list and fails
 * against lists with a parameter too few, too many, or of another size or class. The check on
 * the real kernels runs at build time (aplcl_cubin_gen); this proves that check can fail. */
#include "cuda_args.h"
#include "test_util.h"

/* apl_finalize as NVRTC writes it (CUDA 12.9, fp64 accumulation), with {MID} for parameter 5 */
static void finalize_ptx(char *out, size_t size, const char *p5, const char *extra) {
    snprintf(
        out, size,
        ".visible .entry apl_finalize(\n"
        "\t.param .u32 apl_finalize_param_0,\n\t.param .u64 apl_finalize_param_1,\n"
        "\t.param .u64 apl_finalize_param_2,\n\t.param .u32 apl_finalize_param_3,\n"
        "\t.param .u32 apl_finalize_param_4,\n\t.param %s apl_finalize_param_5,\n"
        "\t.param .u64 apl_finalize_param_6,\n\t.param .u64 apl_finalize_param_7,\n"
        "\t.param .u64 apl_finalize_param_8,\n\t.param .u64 apl_finalize_param_9,\n"
        "\t.param .u64 apl_finalize_param_10,\n\t.param .u64 apl_finalize_param_11%s\n)\n{\n}\n",
        p5, extra);
}

int main(void) {
    apl_cu_args a;
    apl_cu_finalize_args f;
    memset(&f, 0, sizeof f);
    apl_cu_pack_finalize(&a, &f);
    char ptx[2048], err[256];
    finalize_ptx(ptx, sizeof ptx, ".f64", "");
    CHECK_EQ(apl_cu_check_params(ptx, "apl_finalize", &a, err, sizeof err), 0);
    finalize_ptx(ptx, sizeof ptx, ".f32", ""); /* float accumulation: 4 bytes */
    CHECK_EQ(apl_cu_check_params(ptx, "apl_finalize", &a, err, sizeof err), -1);
    printf("f32 normalizer: %s\n", err);
    finalize_ptx(ptx, sizeof ptx, ".u64", ""); /* same size, integer class */
    CHECK_EQ(apl_cu_check_params(ptx, "apl_finalize", &a, err, sizeof err), -1);
    finalize_ptx(ptx, sizeof ptx, ".f64", ",\n\t.param .u64 apl_finalize_param_12");
    CHECK_EQ(apl_cu_check_params(ptx, "apl_finalize", &a, err, sizeof err), -1);
    printf("one more: %s\n", err);
    CHECK_EQ(apl_cu_check_params(ptx, "apl_count", &a, err, sizeof err), -1); /* no entry */
    /* one argument fewer packed than the kernel takes */
    finalize_ptx(ptx, sizeof ptx, ".f64", "");
    a.n -= 1;
    CHECK_EQ(apl_cu_check_params(ptx, "apl_finalize", &a, err, sizeof err), -1);
    printf("one fewer: %s\n", err);
    /* the loss kernel's by-value constants: a byte array of APL_CONSTS_BYTES */
    apl_cu_loss_args l;
    memset(&l, 0, sizeof l);
    apl_cu_pack_loss(&a, &l);
    CHECK_EQ(a.n, 24);
    CHECK_EQ(a.kind[16], 'b');
    CHECK_EQ(a.size[16], APL_CONSTS_BYTES);
    l.weighted = 1;
    apl_cu_pack_loss(&a, &l);
    CHECK_EQ(a.n, 29);
    return tu_exit_code();
}
