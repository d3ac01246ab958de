/* layout.c: writes include/aplcl.h's layout as JSON for the Python binding (python/aplcl/_lib.py).
 *
 * Built and run when the package is built: sizes and field offsets of the structs the binding
 * passes (aplcl.h's and aplcl_cuda.h's), the constants it uses and the status list (from
 * APLCL_STATUS_MAP, names and messages). The binding compares its ctypes structures with this file
 * at import, so the header cannot drift from the binding silently. Not part of the library.
 */
#include "aplcl.h"
#include "aplcl_cuda.h" /* its structs: python/aplcl/_cuda.py */

#include <stddef.h>
#include <stdio.h>

static FILE *out;
static int first;

static void key(const char *k, long long v) {
    fprintf(out, "%s\n  \"%s\": %lld", first ? "" : ",", k, v);
    first = 0;
}

/* JSON string of a C string (the messages hold only printable ASCII, quotes escaped). */
static void str(const char *s) {
    fputc('"', out);
    for (; *s; ++s) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* OFF(f): field f of the struct T, #defined before each struct's list; NAME spells what T stands
 * for */
#define NAME_(t) #t
#define NAME(t) NAME_(t)
#define SIZE(t) key("sizeof " NAME(t), (long long)sizeof(t))
#define OFF(f) key("offsetof " NAME(T) "." #f, (long long)offsetof(T, f))
#define CONST(c) key(#c, (long long)(c))

int main(int argc, char **argv) {
    out = argc > 1 ? fopen(argv[1], "w") : stdout;
    if (!out)
        return 1;
    first = 1;
    fputc('{', out);
#undef T
#define T aplcl_params
    SIZE(T);
    OFF(gamma_pos), OFF(gamma_neg), OFF(clip), OFF(eps), OFF(n_alpha), OFF(alpha), OFF(n_beta),
        OFF(beta), OFF(focus_grad), OFF(reduction), OFF(normalizer), OFF(grad_scale);
#undef T
#define T aplcl_targets
    SIZE(T);
    OFF(format), OFF(data), OFF(data_offset), OFF(indices), OFF(indices_offset), OFF(nnz),
        OFF(ignore), OFF(ignore_offset), OFF(label_count), OFF(label_offset);
#undef T
#define T aplcl_io
    SIZE(T);
    OFF(dtype), OFF(logits), OFF(logits_offset), OFF(targets), OFF(grad), OFF(grad_offset),
        OFF(grad_accumulate), OFF(elem_loss), OFF(elem_loss_offset), OFF(loss), OFF(loss_offset),
        OFF(counts), OFF(counts_offset), OFF(weights);
#undef T
#define T aplcl_weights
    SIZE(T);
    OFF(pos_weight), OFF(pos_weight_offset), OFF(weight), OFF(weight_offset), OFF(kind);
#undef T
#define T aplcl_host_io
    SIZE(T);
    OFF(dtype), OFF(logits), OFF(target_format), OFF(targets), OFF(weights), OFF(grad),
        OFF(elem_loss), OFF(loss), OFF(counts);
#undef T
#define T aplcl_ref_io
    SIZE(T);
    OFF(logits), OFF(target_format), OFF(targets), OFF(weights), OFF(grad), OFF(elem_loss),
        OFF(loss), OFF(counts);
#undef T
#define T aplcl_device_info
    SIZE(T);
    OFF(platform_index), OFF(device_index), OFF(platform_name), OFF(device_name),
        OFF(device_version), OFF(driver_version), OFF(type), OFF(compute_units),
        OFF(global_mem_bytes), OFF(max_alloc_bytes), OFF(has_fp64);
#undef T
#define T aplcl_cuda_options
    SIZE(T);
    OFF(allow_nvrtc), OFF(cache_dir), OFF(cuda_library), OFF(nvrtc_library);
#undef T
#define T aplcl_cuda_targets
    SIZE(T);
    OFF(format), OFF(data), OFF(data_offset), OFF(indices), OFF(indices_offset), OFF(nnz),
        OFF(ignore), OFF(ignore_offset), OFF(label_count), OFF(label_offset);
#undef T
#define T aplcl_cuda_io
    SIZE(T);
    OFF(dtype), OFF(logits), OFF(logits_offset), OFF(targets), OFF(grad), OFF(grad_offset),
        OFF(grad_accumulate), OFF(elem_loss), OFF(elem_loss_offset), OFF(loss), OFF(loss_offset),
        OFF(counts), OFF(counts_offset), OFF(weights);
#undef T
    SIZE(aplcl_reduction), SIZE(aplcl_dtype), SIZE(aplcl_target_format), SIZE(aplcl_status);
    SIZE(aplcl_weight_kind);
    CONST(APLCL_WEIGHT_ELEMENT), CONST(APLCL_WEIGHT_LABEL), CONST(APLCL_WEIGHT_ROW);
    CONST(APLCL_MAX_TERMS), CONST(APLCL_COUNT_LEN), CONST(APLCL_TARGET_U8_IGNORE);
    CONST(APLCL_REDUCE_SUM), CONST(APLCL_REDUCE_MEAN), CONST(APLCL_REDUCE_NONE);
    CONST(APLCL_DTYPE_F32), CONST(APLCL_DTYPE_F16), CONST(APLCL_DTYPE_BF16);
    CONST(APLCL_TARGET_F32), CONST(APLCL_TARGET_U8), CONST(APLCL_VERSION_NUMBER);
    fputs(",\n  \"status\": [", out);
    first = 1;
#define APLCL_LAYOUT_STATUS_(name, value, text)                                                    \
    fprintf(out, "%s\n    [\"%s\", %d, ", first ? "" : ",", #name, value);                         \
    str(text);                                                                                     \
    fputc(']', out);                                                                               \
    first = 0;
    APLCL_STATUS_MAP(APLCL_LAYOUT_STATUS_)
#undef APLCL_LAYOUT_STATUS_
    fputs("\n  ]\n}\n", out);
    return fclose(out) == 0 ? 0 : 1;
}
