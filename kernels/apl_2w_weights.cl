/* apl_2w_weights.cl: optional per-label pos_weight and per-element/label/row weight
 * (APL_WEIGHTED=1 only; the unweighted program compiles none of it).
 *
 * The weighted element loss is W (y P l+ + (1-y) l-). The loss pass folds it into what it already
 * computes: with s = y P + (1 - y) and y' = y P / s (y' = y where s = 0),
 *     W (y P l+ + (1-y) l-) = W s (y' l+ + (1-y') l-),
 * so the targets become y' before the math and the finished loss and gradient are multiplied by
 * W s (apl_weigh). 0/1 targets stay 0/1 (y' = P/P = 1 exactly), so the one-log fast path holds.
 * Here: the weight loads (next to the target loads) and that transform. No loss math.
 */
#ifndef APL_WEIGHTED
#define APL_WEIGHTED 0
#endif
#if APL_WEIGHTED
#define APL_WEIGHT_ELEMENT 0
#define APL_WEIGHT_LABEL 1
#define APL_WEIGHT_ROW 2

/* The weights of one step (per-lane W and P) and their validity. */
typedef struct {
    floatv w, pw;
    int has_pw; /* 0: pw is all 1 (no pos_weight given), so y' = y and s = 1 */
} apl_wstep;

/* W and P of len (<= APL_VW) elements from flat element i at (row r, column c); lanes past len
 * read nothing (1). The column wraps into the next row for dense formats. */
APL_INLINE apl_wstep load_weights(__global const float *pw, __global const float *w, int wkind,
                                  ulong cols, ulong i, ulong r, ulong c, ulong len) {
    if (len == APL_VW && c + APL_VW <= cols) { /* within one row: vector loads */
        apl_wstep ws;
        ws.has_pw = pw != 0;
        ws.pw = pw ? LOADV(pw + c) : (floatv)(1.0f);
        ws.w = !w                         ? (floatv)(1.0f)
               : wkind == APL_WEIGHT_LABEL ? LOADV(w + c)
               : wkind == APL_WEIGHT_ROW   ? (floatv)(w[r])
                                           : LOADV(w + i);
        return ws;
    }
    float wb[APL_VW], pb[APL_VW];
    for (ulong j = 0; j < APL_VW; ++j) {
        int in = j < len;
        pb[j] = in && pw ? pw[c] : 1.0f;
        wb[j] = !in || !w                    ? 1.0f
                : wkind == APL_WEIGHT_LABEL  ? w[c]
                : wkind == APL_WEIGHT_ROW    ? w[r]
                                             : w[i + j];
        if (++c == cols) c = 0, ++r;
    }
    apl_wstep ws = {LOADV(wb), LOADV(pb), pw != 0};
    return ws;
}

/* Lanes with a valid target whose weights are negative or not finite (NaN fails both). */
APL_INLINE intv weights_bad(const apl_wstep *ws, intv valid) {
    return valid & !((ws->w >= 0.0f) & (ws->w < INFINITY) & (ws->pw >= 0.0f) & (ws->pw < INFINITY));
}

/* Rewrites y (valid lanes) to y' and returns the factor W s of the finished loss and gradient. */
APL_INLINE floatv apl_weigh(const apl_wstep *ws, floatv *y) {
    if (!ws->has_pw) return ws->w;
    floatv yy = *y;
    floatv s = yy * ws->pw + (1.0f - yy);
    intv valid = (yy >= 0.0f) & (yy <= 1.0f) & (s > 0.0f);
    *y = select(yy, yy * ws->pw / s, valid);
    return ws->w * s;
}
#endif
