/* apl_2_storage.cl: how logits, gradients and targets sit in memory, per program variant.
 *
 * Logits and gradient (APL_DTYPE): float; IEEE half through vload_half/vstore_half_rte; bfloat16
 * as 16-bit words (load: shift into the top of a float; store: round to nearest even, NaN kept).
 * Targets (APL_TFMT), decoded to y: >= 0 valid (0..1), < 0 ignored, NaN invalid:
 *   0 float, 1 uint8 (0, 1, 255 = ignore), 2 bit-packed rows (+ optional ignore mask),
 *   3 CSR positives (row pointers + ascending label indices; everything else negative).
 * The row formats (2, 3) may be read through a label window: the call's cols labels are labels
 * tcol0 .. tcol0+cols-1 of rows of tcols labels (tcols = cols, tcol0 = 0 without a window).
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
/* Bits b .. b+31 of a row of row_words words starting at word row0 (a label window may start
 * anywhere in a word); bits past the row read as 0. */
inline uint bits_at(__global const uint *p, ulong row0, ulong row_words, ulong b) {
    ulong w = b / 32;
    uint s = (uint)(b % 32);
    uint v = p[row0 + w] >> s;
    if (s && w + 1 < row_words) v |= p[row0 + w + 1] << (32 - s);
    return v;
}
/* Labels b .. b+APL_VW-1 of one row (b = window offset + c0): lanes read bits 0..APL_VW-1 of
 * bits_at. ign may be NULL. */
inline floatv target_bits(__global const uint *bits, __global const uint *ign, ulong row0,
                          ulong row_words, ulong b) {
    uintv lane = LANE_IDS;
    uintv w = (uintv)(bits_at(bits, row0, row_words, b));
    floatv y = select((floatv)(0.0f), (floatv)(1.0f), ((w >> lane) & (uintv)(1u)) != (uintv)(0u));
    if (ign) {
        uintv m = (uintv)(bits_at(ign, row0, row_words, b));
        y = select(y, (floatv)(-1.0f), ((m >> lane) & (uintv)(1u)) != (uintv)(0u));
    }
    return y;
}
/* Non-ignored labels in unit u of the count pass: the u-th 32-label word of the window
 * (cols labels from tcol0 of rows of tcols labels). */
inline ulong bits_valid_in_word(__global const uint *ign, ulong u, ulong cols, ulong tcols,
                                ulong tcol0) {
    ulong words = (cols + 31) / 32, row_words = (tcols + 31) / 32;
    ulong r = u / words, wc = u % words;
    uint nbits = (uint)min((ulong)32, cols - wc * 32);
    uint mask = nbits == 32 ? 0xffffffffu : ((1u << nbits) - 1u);
    uint m = ign ? bits_at(ign, r * row_words, row_words, tcol0 + wc * 32) : 0u;
    return nbits - popcount(m & mask);
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
/* Invalid entries of row r that the window [lo, hi) of a tcols-label space owns, so that the
 * windows of a partition count each one once: a decreasing pointer or one past nnz (the window
 * at label 0), an index >= tcols (the window holding the last label), an index not above its
 * predecessor (the window holding it). Read once per row (by the chunk at label 0). */
inline ulong csr_row_errors(__global const ulong *rp, __global const uint *idx, ulong nnz,
                            ulong r, ulong lo, ulong hi, ulong tcols) {
    ulong a = rp[r], b = rp[r + 1];
    if (b < a || b > nnz) return lo == 0 ? 1 : 0;
    ulong bad = 0;
    for (ulong k = a; k < b; ++k) {
        ulong c = idx[k];
        bool owned = c >= tcols ? hi == tcols : (c >= lo && c < hi);
        bad += (owned && (c >= tcols || (k > a && c <= idx[k - 1]))) ? 1 : 0;
    }
    return bad;
}
#endif
