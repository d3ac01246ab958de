/* apl_2w_weights.cl: optional per-label pos_weight and per-element/label/row weight
 * (APL_WEIGHTED=1 only; the unweighted program compiles none of it).
 *
 * The weighted element loss is W (y P l+ + (1-y) l-), and its gradient the same mix of the
 * one-sided gradients. apl_loss computes the unweighted element as before, then apl_weigh makes
 * it the weighted one: for 0/1 targets that is one factor, W P (y = 1) or W (y = 0), exact; a
 * step with soft targets (float targets only) is recomputed as its two one-sided parts, each
 * weighted exactly (a single factor would need the target rewritten, which loses digits of
 * 1 - y' near y' = 1). Here: the weight loads (next to the target loads) and that step. No loss
 * math of its own.
 */
#ifndef APL_WEIGHTED
#define APL_WEIGHTED 0
#endif
#if APL_WEIGHTED
#define APL_WEIGHT_ELEMENT 0
#define APL_WEIGHT_LABEL 1
#define APL_WEIGHT_ROW 2

/* The weights of one step, per lane: W and P. */
typedef struct {
    floatv w, pw;
} apl_wstep;

/* W and P of len (<= APL_VW) elements from flat element i at (row r, column c); lanes past len
 * read nothing (1). The column wraps into the next row for dense formats. */
APL_INLINE apl_wstep load_weights(__global const float *pw, __global const float *w, int wkind,
                                  ulong cols, ulong i, ulong r, ulong c, ulong len) {
    apl_wstep ws;
    if (len == APL_VW && c + APL_VW <= cols) { /* within one row: vector loads */
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
    ws.w = LOADV(wb);
    ws.pw = LOADV(pb);
    return ws;
}

/* Lanes with a valid target whose weights are negative or not finite (NaN fails both). */
APL_INLINE intv weights_bad(const apl_wstep *ws, intv valid) {
    return valid & !((ws->w >= 0.0f) & (ws->w < INFINITY) & (ws->pw >= 0.0f) & (ws->pw < INFINITY));
}

/* The finished unweighted loss l and gradient g of a step (apl_elements on x, y, zero) made the
 * weighted ones. Lanes in zero must have W = P = 0 (load_step sees to it: no 0 * NaN). */
/* Zeros come out +0: a zero weight gives g * 0 (signed like g) on the binary path and a sum of
 * such terms on the other, and which path a lane takes depends on its neighbours' targets. */
#define PLUS_ZERO(v) select((v), (floatv)(0.0f), (v) == 0.0f)
APL_INLINE void apl_weigh(const apl_consts *k, floatv x, floatv y, intv zero, int binary,
                          const apl_wstep *ws, floatv *l, floatv *g) {
    if (binary) {
        floatv m = ws->w * select((floatv)(1.0f), ws->pw, y > 0.0f);
        *l = PLUS_ZERO(*l * m);
        *g = PLUS_ZERO(*g * m);
        return;
    }
    floatv lp, gp, ln, gn;
    apl_elements(k, x, (floatv)(1.0f), zero, 1, &lp, &gp);
    apl_elements(k, x, (floatv)(0.0f), zero, 1, &ln, &gn);
    /* y itself may be NaN on a lane in zero (an invalid target, counted): W = 0 does not clear
     * 0 * NaN, so such lanes take y = 0 (test_queue found the NaN loss this gave) */
    y = select(y, (floatv)(0.0f), zero);
    floatv a = ws->w * y * ws->pw, b = ws->w * (1.0f - y);
    *l = PLUS_ZERO(a * lp + b * ln);
    *g = PLUS_ZERO(a * gp + b * gn);
}
#endif
