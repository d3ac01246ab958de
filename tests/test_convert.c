/* test_convert.c: the host-side format conversions (no OpenCL device needed).
 *
 * f16/bf16 conversions against hand-worked bit patterns (round to nearest even, subnormals,
 * overflow, NaN, infinities) and exhaustively round-tripped; bit-packing and CSR packing of dense
 * targets, including their error cases. Device use of these formats is in test_formats.
 */
#include "test_util.h"

static uint16_t f16(float f) {
    uint16_t h;
    aplcl_f32_to_f16(&f, &h, 1);
    return h;
}
static uint16_t bf16(float f) {
    uint16_t h;
    aplcl_f32_to_bf16(&f, &h, 1);
    return h;
}

static void conversions(void) {
    int mark = tu_case_begin();
    CHECK_EQ(f16(1.0f), 0x3c00);
    CHECK_EQ(f16(-2.0f), 0xc000);
    CHECK_EQ(f16(65504.0f), 0x7bff);
    CHECK_EQ(f16(65519.0f), 0x7bff); /* below the halfway point to 65536 */
    CHECK_EQ(f16(65520.0f), 0x7c00); /* halfway, ties to even: infinity */
    CHECK_EQ(f16(1e9f), 0x7c00);
    CHECK_EQ(f16(-INFINITY), 0xfc00);
    CHECK_EQ(f16(NAN) & 0x7c00, 0x7c00);
    CHECK(f16(NAN) & 0x3ff);
    CHECK_EQ(f16(0x1p-24f), 0x0001); /* smallest subnormal */
    CHECK_EQ(f16(0x1p-25f), 0x0000); /* halfway to it: ties to even (0) */
    CHECK_EQ(f16(0x1.8p-25f), 0x0001);
    CHECK_EQ(f16(0x1p-14f), 0x0400);        /* smallest normal */
    CHECK_EQ(f16(1.0f + 0x1p-11f), 0x3c00); /* tie between 1 and 1+2^-10: even */
    CHECK_EQ(f16(1.0f + 0x1.8p-11f), 0x3c01);
    CHECK_EQ(f16(1.0f + 0x3p-11f), 0x3c02); /* tie between odd 1+2^-10 and 1+2^-9: up */
    CHECK_EQ(bf16(1.0f), 0x3f80);
    CHECK_EQ(bf16(1.0f + 0x1p-8f), 0x3f80); /* tie: even */
    CHECK_EQ(bf16(1.0f + 0x3p-8f), 0x3f82); /* tie from odd: up */
    CHECK_EQ(bf16(NAN), 0x7fc0);
    CHECK_EQ(bf16(INFINITY), 0x7f80);
    /* every half value round-trips through float exactly */
    int bad = 0;
    for (uint32_t h = 0; h < 65536; ++h) {
        uint16_t in = (uint16_t)h, back;
        float f;
        aplcl_f16_to_f32(&in, &f, 1);
        aplcl_f32_to_f16(&f, &back, 1);
        if (isnan(f) ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) : back != in)
            ++bad;
    }
    CHECK_EQ(bad, 0);
    for (uint32_t h = 0; h < 65536; h += 7) {
        uint16_t in = (uint16_t)h, back;
        float f;
        aplcl_bf16_to_f32(&in, &f, 1);
        aplcl_f32_to_bf16(&f, &back, 1);
        if (!isnan(f) && back != in)
            ++bad;
    }
    CHECK_EQ(bad, 0);
    tu_case_end(mark, "f16/bf16 conversions");
}

static void packing(void) {
    int mark = tu_case_begin();
    enum { R = 2, C = 35 };
    float y[R * C];
    for (int i = 0; i < R * C; ++i)
        y[i] = (i % 5 == 0) ? 1.0f : 0.0f;
    y[1] = -1.0f; /* ignored */
    uint32_t bits[R * 2], ign[R * 2];
    CHECK_STATUS(aplcl_pack_bits(R, C, y, bits, ign), APLCL_SUCCESS);
    /* row 0: labels 0,5,...,30 set in word 0; 35 is row 1's label 0 */
    CHECK_EQ(bits[0], 0x42108421u);
    CHECK_EQ(bits[1], 0u); /* labels 32..34: 32%5 != 0 ... none divisible among 32,33,34 */
    CHECK_EQ(ign[0], 0x2u);
    CHECK_EQ(bits[2] & 1u, 1u); /* element 35 */
    CHECK_STATUS(aplcl_pack_bits(R, C, y, bits, NULL), APLCL_ERR_INVALID_TARGET);
    y[1] = 0.5f;
    CHECK_STATUS(aplcl_pack_bits(R, C, y, bits, ign), APLCL_ERR_INVALID_TARGET);
    y[1] = 0.0f;

    uint64_t rp[R + 1];
    uint32_t idx[64];
    size_t nnz = 0;
    CHECK_STATUS(aplcl_pack_csr(R, C, y, rp, NULL, 0, &nnz), APLCL_SUCCESS);
    CHECK_EQ(nnz, 14);
    CHECK_STATUS(aplcl_pack_csr(R, C, y, rp, idx, 3, &nnz), APLCL_ERR_BUFFER_TOO_SMALL);
    CHECK_STATUS(aplcl_pack_csr(R, C, y, rp, idx, 64, &nnz), APLCL_SUCCESS);
    CHECK_EQ(rp[0], 0);
    CHECK_EQ(rp[1], 7);
    CHECK_EQ(rp[2], 14);
    CHECK_EQ(idx[0], 0);
    CHECK_EQ(idx[6], 30);
    CHECK_EQ(idx[7], 0); /* row 1, element 35 */
    y[2] = -1.0f;
    CHECK_STATUS(aplcl_pack_csr(R, C, y, rp, idx, 64, &nnz), APLCL_ERR_INVALID_TARGET);
    CHECK_STATUS(aplcl_pack_csr(R, 0, y, rp, idx, 64, &nnz), APLCL_ERR_INVALID_SIZE);
    CHECK_STATUS(aplcl_pack_csr(R, C, NULL, rp, idx, 64, &nnz), APLCL_ERR_NULL_ARGUMENT);
    tu_case_end(mark, "bit and CSR packing");
}

int main(void) {
    conversions();
    packing();
    return tu_exit_code();
}
