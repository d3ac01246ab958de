/* convert.c: host-side conversions for the storage types and target formats.
 *
 * Float <-> half and bfloat16 conversions (round to nearest even, as the kernels' stores do) and
 * dense -> bit-packed / CSR target packing. Plain C, no OpenCL; used by callers preparing
 * buffers, by the tool and by the tests.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint16_t f32_to_f16_one(float f) {
    uint32_t x = bits_of(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)
        return (uint16_t)(sign | 0x7e00u); /* NaN */
    if (ax >= 0x477ff000u)
        return (uint16_t)(sign | 0x7c00u); /* rounds past 65504: inf */
    if (ax < 0x38800000u) {                /* below 2^-14: subnormal half */
        /* value / 2^-24, rounded to nearest even: scale by 2^24 exactly in double */
        double v = (double)float_of(ax) * 16777216.0;
        double r = nearbyint(v); /* default rounding mode: to nearest even */
        return (uint16_t)(sign | (uint16_t)r);
    }
    uint32_t mant = ax & 0x007fffffu, exp = (ax >> 23) - 127 + 15;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        ++h; /* may carry into the exponent */
    return (uint16_t)(sign | h);
}

static float f16_to_f32_one(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0) {
        float v = (float)mant * 5.9604644775390625e-8f; /* 2^-24 */
        return sign ? -v : v;
    }
    if (exp == 31)
        return float_of(sign | 0x7f800000u | (mant << 13));
    return float_of(sign | ((exp - 15 + 127) << 23) | (mant << 13));
}

void aplcl_f32_to_f16(const float *in, uint16_t *out, size_t n) {
    if (!in || !out)
        return;
    for (size_t i = 0; i < n; ++i)
        out[i] = f32_to_f16_one(in[i]);
}
void aplcl_f16_to_f32(const uint16_t *in, float *out, size_t n) {
    if (!in || !out)
        return;
    for (size_t i = 0; i < n; ++i)
        out[i] = f16_to_f32_one(in[i]);
}
void aplcl_f32_to_bf16(const float *in, uint16_t *out, size_t n) {
    if (!in || !out)
        return;
    for (size_t i = 0; i < n; ++i) {
        uint32_t b = bits_of(in[i]);
        out[i] =
            isnan(in[i]) ? (uint16_t)0x7fc0u : (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
    }
}
void aplcl_bf16_to_f32(const uint16_t *in, float *out, size_t n) {
    if (!in || !out)
        return;
    for (size_t i = 0; i < n; ++i)
        out[i] = float_of((uint32_t)in[i] << 16);
}

aplcl_status aplcl_pack_bits(size_t rows, size_t cols, const float *dense, uint32_t *bits,
                             uint32_t *ignore) {
    if (!dense || !bits)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = apl_check_shape(rows, cols, sizeof(float));
    if (st != APLCL_SUCCESS)
        return st;
    size_t words = APLCL_BITS_WORDS(cols);
    if (rows > SIZE_MAX / words / sizeof(uint32_t))
        return APLCL_ERR_SIZE_OVERFLOW;
    memset(bits, 0, rows * words * sizeof(uint32_t));
    if (ignore)
        memset(ignore, 0, rows * words * sizeof(uint32_t));
    for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c) {
            float y = dense[r * cols + c];
            uint32_t bit = 1u << (c % 32);
            size_t w = r * words + c / 32;
            if (y == 1.0f)
                bits[w] |= bit;
            else if (y < 0.0f && ignore)
                ignore[w] |= bit;
            else if (y != 0.0f)
                return APLCL_ERR_INVALID_TARGET;
        }
    return APLCL_SUCCESS;
}

aplcl_status aplcl_pack_csr(size_t rows, size_t cols, const float *dense, uint64_t *row_ptr,
                            uint32_t *indices, size_t capacity, size_t *nnz) {
    if (!dense || !row_ptr || !nnz)
        return APLCL_ERR_NULL_ARGUMENT;
    aplcl_status st = apl_check_shape(rows, cols, sizeof(float));
    if (st != APLCL_SUCCESS)
        return st;
    if (cols > UINT32_MAX)
        return APLCL_ERR_SIZE_OVERFLOW;
    size_t k = 0;
    for (size_t r = 0; r < rows; ++r) {
        row_ptr[r] = k;
        for (size_t c = 0; c < cols; ++c) {
            float y = dense[r * cols + c];
            if (y == 1.0f) {
                if (indices && k < capacity)
                    indices[k] = (uint32_t)c;
                ++k;
            } else if (y != 0.0f) {
                return APLCL_ERR_INVALID_TARGET;
            }
        }
    }
    row_ptr[rows] = k;
    *nnz = k;
    return indices && k > capacity ? APLCL_ERR_BUFFER_TOO_SMALL : APLCL_SUCCESS;
}
