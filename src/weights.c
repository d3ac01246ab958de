/* weights.c: host-side helpers of the optional weights (pos_weight, weight; see "weights" in
 * aplcl.h): the device copies a host call makes of the caller's weight arrays, and how many
 * floats a weight of each kind holds. The kernel side is kernels/apl_2w_weights.cl, the checks
 * are in check_io.c, the CPU reference in host/ref.c; and the weights of one chunk of the linear
 * head's rows. Not here: any loss math.
 */
#include "internal.h"

size_t apl_weight_count(aplcl_weight_kind kind, size_t rows, size_t cols) {
    return kind == APLCL_WEIGHT_LABEL ? cols : kind == APLCL_WEIGHT_ROW ? rows : rows * cols;
}

cl_int apl_host_weight_bufs(aplcl_ctx *ctx, const aplcl_weights *w, size_t rows, size_t cols,
                            cl_mem out[2]) {
    const float *src[2] = {w->pos_weight ? (const float *)w->pos_weight + w->pos_weight_offset
                                         : NULL,
                           w->weight ? (const float *)w->weight + w->weight_offset : NULL};
    size_t count[2] = {cols, apl_weight_count(w->kind, rows, cols)};
    cl_int err = CL_SUCCESS;
    for (int k = 0; k < 2 && err == CL_SUCCESS; ++k)
        if (src[k])
            out[k] = clCreateBuffer(ctx->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                    count[k] * sizeof(float), (void *)src[k], &err);
    return err;
}

void apl_chunk_weights(aplcl_io *cio, const aplcl_weights *w, size_t r0, size_t cols) {
    cio->weights = *w;
    cio->weights.weight_offset += w->kind == APLCL_WEIGHT_ELEMENT ? r0 * cols
                                  : w->kind == APLCL_WEIGHT_ROW   ? r0
                                                                  : 0;
}
