/* layout.c: writes include/aplcl.h's layout as JSON for the Python binding (python/aplcl/_lib.py).
 *
 * Built and run when the package is built: sizes and field offsets of the structs the binding
 * passes, the constants it uses and the status list (from APLCL_STATUS_MAP, names and messages).
 * The binding compares its ctypes structures with this file at import, so the header cannot
 * drift from the binding silently. Not part of the library.
 */
#include "aplcl.h"

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

#define SIZE(t) key("sizeof " #t, (long long)sizeof(t))
#define OFF(t, f) key("offsetof " #t "." #f, (long long)offsetof(t, f))
#define CONST(c) key(#c, (long long)(c))

int main(int argc, char **argv) {
    out = argc > 1 ? fopen(argv[1], "w") : stdout;
    if (!out)
        return 1;
    first = 1;
    fputc('{', out);
    SIZE(aplcl_params);
    OFF(aplcl_params, gamma_pos), OFF(aplcl_params, gamma_neg), OFF(aplcl_params, clip);
    OFF(aplcl_params, eps), OFF(aplcl_params, n_alpha), OFF(aplcl_params, alpha);
    OFF(aplcl_params, n_beta), OFF(aplcl_params, beta), OFF(aplcl_params, focus_grad);
    OFF(aplcl_params, reduction), OFF(aplcl_params, normalizer), OFF(aplcl_params, grad_scale);
    SIZE(aplcl_targets);
    OFF(aplcl_targets, format), OFF(aplcl_targets, data), OFF(aplcl_targets, data_offset);
    OFF(aplcl_targets, indices), OFF(aplcl_targets, indices_offset), OFF(aplcl_targets, nnz);
    OFF(aplcl_targets, ignore), OFF(aplcl_targets, ignore_offset);
    OFF(aplcl_targets, label_count), OFF(aplcl_targets, label_offset);
    SIZE(aplcl_io);
    OFF(aplcl_io, dtype), OFF(aplcl_io, logits), OFF(aplcl_io, logits_offset);
    OFF(aplcl_io, targets), OFF(aplcl_io, grad), OFF(aplcl_io, grad_offset);
    OFF(aplcl_io, grad_accumulate), OFF(aplcl_io, elem_loss), OFF(aplcl_io, elem_loss_offset);
    OFF(aplcl_io, loss), OFF(aplcl_io, loss_offset), OFF(aplcl_io, counts);
    OFF(aplcl_io, counts_offset), OFF(aplcl_io, pos_weight), OFF(aplcl_io, pos_weight_offset);
    OFF(aplcl_io, weight), OFF(aplcl_io, weight_offset), OFF(aplcl_io, weight_kind);
    SIZE(aplcl_weights);
    OFF(aplcl_weights, pos_weight), OFF(aplcl_weights, weight), OFF(aplcl_weights, weight_kind);
    SIZE(aplcl_device_info);
    OFF(aplcl_device_info, platform_index), OFF(aplcl_device_info, device_index);
    OFF(aplcl_device_info, platform_name), OFF(aplcl_device_info, device_name);
    OFF(aplcl_device_info, device_version), OFF(aplcl_device_info, driver_version);
    OFF(aplcl_device_info, type), OFF(aplcl_device_info, compute_units);
    OFF(aplcl_device_info, global_mem_bytes), OFF(aplcl_device_info, max_alloc_bytes);
    OFF(aplcl_device_info, has_fp64);
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
