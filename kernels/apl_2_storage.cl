/* apl_2_storage.cl: how logits, gradients and targets sit in memory, per program variant.
 *
 * Logits and gradient (APL_DTYPE): float; IEEE half through vload_half/vstore_half_rte; bfloat16
 * as 16-bit words (load: shift into the top of a float; store: round to nearest even, NaN kept).
 * Targets (APL_TFMT), decoded to y: >= 0 valid (0..1), < 0 ignored, NaN invalid:
 *   0 float, 1 uint8 (0, 1, 255 = ignore), 2 bit-packed rows (+ optional ignore mask),
 *   3 CSR positives (row pointers + ascending label indices; everything else negative).
 * No loss math here.
 */

/* ---- logits and gradient ---- */
#if APL_DTYPE == 0
typedef float xstore_t;
#elif APL_DTYPE == 1
typedef half xstore_t;
#else
typedef ushort xstore_t;
#endif

#if APL_DTYPE == 2
inline ushortv bf16_from_float(floatv f) {
    uintv b = AS_UINT(f);
    uintv r = (b + (uintv)(0x7fffu) + ((b >> 16) & (uintv)(1u))) >> 16;
    return TO_USHORT(select(r, (uintv)(0x7fc0u), isnan(f)));
}
inline float bf16_to_float1(ushort u) { return as_float((uint)u << 16); }
inline ushort bf16_from_float1(float f) {
    uint b = as_uint(f);
    return isnan(f) ? (ushort)0x7fc0u : (ushort)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}
#endif

inline floatv load_x(__global const xstore_t *p) {
#if APL_DTYPE == 0
    return LOADV(p);
#elif APL_DTYPE == 1
    return VLOAD_HALF(p);
#else
    return AS_FLOAT(TO_UINT(LOADV(p)) << 16);
#endif
}
inline float load_x1(__global const xstore_t *p) {
#if APL_DTYPE == 0
    return *p;
#elif APL_DTYPE == 1
    return vload_half(0, p);
#else
    return bf16_to_float1(*p);
#endif
}
inline void store_x(floatv v, __global xstore_t *p) {
#if APL_DTYPE == 0
    STOREV(v, p);
#elif APL_DTYPE == 1
    VSTORE_HALF(v, p);
#else
    STOREV(bf16_from_float(v), p);
#endif
}
inline void store_x1(float v, __global xstore_t *p) {
#if APL_DTYPE == 0
    *p = v;
#elif APL_DTYPE == 1
    vstore_half_rte(v, 0, p);
#else
    *p = bf16_from_float1(v);
#endif
}

/* ---- targets ---- */
#if APL_TFMT == 0
typedef float tstore_t;
#elif APL_TFMT == 1
typedef uchar tstore_t;
#elif APL_TFMT == 2
typedef uint tstore_t;
#else
typedef ulong tstore_t; /* CSR row pointers; the indices are a second uint buffer */
#endif

#if APL_TFMT <= 1
/* Dense targets: one value per element, element index i. */
inline float target1(__global const tstore_t *t, ulong i) {
#if APL_TFMT == 0
    return t[i];
#else
    uchar c = t[i];
    return c == 0 ? 0.0f : c == 1 ? 1.0f : c == 255 ? -1.0f : NAN;
#endif
}
inline floatv targetv(__global const tstore_t *t, ulong i) {
#if APL_TFMT == 0
    return LOADV(t + i);
#else
    intv c = TO_INT(LOADV(t + i));
    floatv y = select((floatv)(NAN), (floatv)(-1.0f), c == 255);
    y = select(y, (floatv)(1.0f), c == 1);
    return select(y, (floatv)(0.0f), c == 0);
#endif
}
#endif

#if APL_TFMT == 2
/* Labels c0 .. c0+APL_VW-1 of one row: bits shift .. shift+APL_VW-1 of one word (c0 is a
 * multiple of APL_VW, which divides 32). ign may be NULL. */
inline floatv target_bits(__global const uint *bits, __global const uint *ign, ulong word,
                          uint shift) {
    uintv lane = LANE_IDS + (uintv)(shift);
    uintv w = (uintv)(bits[word]);
    floatv y = select((floatv)(0.0f), (floatv)(1.0f), ((w >> lane) & (uintv)(1u)) != (uintv)(0u));
    if (ign) {
        uintv m = (uintv)(ign[word]);
        y = select(y, (floatv)(-1.0f), ((m >> lane) & (uintv)(1u)) != (uintv)(0u));
    }
    return y;
}
#endif

#if APL_TFMT == 3
/* Positives of row r among labels [c0, c0 + len): binary search for the first index >= c0 in the
 * row's (ascending) indices, then walk. Rows with bad pointers read as all negative (they are
 * counted by csr_row_errors). */
inline floatv target_csr(__global const ulong *rp, __global const uint *idx, ulong nnz, ulong r,
                         ulong c0, ulong len) {
    float yb[APL_VW];
    for (int j = 0; j < APL_VW; ++j) yb[j] = 0.0f;
    ulong a = rp[r], b = rp[r + 1];
    if (b > a && b <= nnz) {
        ulong lo = a, hi = b;
        while (lo < hi) {
            ulong mid = lo + (hi - lo) / 2;
            if (idx[mid] < c0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (ulong k = lo; k < b; ++k) {
            ulong c = idx[k];
            if (c >= c0 + len) break;
            if (c >= c0) yb[c - c0] = 1.0f;
        }
    }
    return LOADV(yb);
}
/* Invalid entries of row r: a decreasing pointer or one past nnz (once), an index >= cols, an
 * index not above its predecessor. Read once per row (by the chunk at label 0). */
inline ulong csr_row_errors(__global const ulong *rp, __global const uint *idx, ulong nnz,
                            ulong r, ulong cols) {
    ulong a = rp[r], b = rp[r + 1];
    if (b < a || b > nnz) return 1;
    ulong bad = 0;
    for (ulong k = a; k < b; ++k)
        bad += (idx[k] >= cols || (k > a && idx[k] <= idx[k - 1])) ? 1 : 0;
    return bad;
}
#endif
