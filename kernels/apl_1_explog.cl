/* apl_1_explog.cl: exp and log1p of APL_VW floats, as inline polynomials, for the loss math.
 *
 * Why not the built-ins: on PoCL they were most of the kernel's time (each a call-free but long
 * general-purpose routine), and they round differently for float/float2 than for float4..16, so
 * the narrow widths had to evaluate them four lanes wide. These are a fixed sequence of fma,
 * multiplies and selects: the same bits per lane at every APL_VW and on every device (Cephes
 * expf/logf coefficients). Against double exp and log1p over every 7th float of their domains
 * here: at most 1.01 ulp (exp) and 1.44 ulp (log1p). Only those domains; no loss math here.
 */

/* exp(a) for a <= 0 (a = -|x|, x finite): Cody-Waite reduction a = n ln2 + r, |r| <= ln2/2,
 * a degree-6 polynomial, then 2^n applied in two halves so that results down to the smallest
 * subnormal come out right; below -104 (where float exp is 0) exactly 0. */
APL_INLINE floatv apl_exp_neg(floatv a) {
    floatv ac = fmax(a, -104.0f);
    /* round to nearest by adding and removing 1.5 * 2^23 (|n| <= 150): PoCL's rint was a
     * sequence of conversions and compares */
    floatv n = (ac * 1.44269504089f + 12582912.0f) - 12582912.0f;
    floatv r = fma(n, (floatv)(-0.693359375f), ac);
    r = fma(n, (floatv)(2.12194440e-4f), r);
    floatv p = 1.9875691500e-4f;
    p = fma(p, r, (floatv)(1.3981999507e-3f));
    p = fma(p, r, (floatv)(8.3334519073e-3f));
    p = fma(p, r, (floatv)(4.1665795894e-2f));
    p = fma(p, r, (floatv)(1.6666665459e-1f));
    p = fma(p, r, (floatv)(5.0000001201e-1f));
    p = fma(p * r, r, r) + 1.0f;
    intv ni = TO_INT(n);
    intv n1 = ni >> 1, n2 = ni - n1; /* n >= -150: each >= -75, so 2^n1 and 2^n2 are normal */
    p = p * AS_FLOAT((n1 + 127) << 23);
    p = p * AS_FLOAT((n2 + 127) << 23);
    return select(p, (floatv)(0.0f), a < -104.0f);
}

/* log1p(a) for -1 < a <= 1: log(u), u = 1 + a rounded, from its exponent and mantissa m in
 * [sqrt(1/2), sqrt(2)) (Cephes logf), plus the rounding of u to first order, (a - (u - 1)) / u
 * (exact: u - 1 is; a below 2^-24 comes out as a). inv_u is 1/u or within a few ulp of it:
 * the caller has that reciprocal already (sigmoid's 1/(1+e), the gradient's 1/q), and the
 * correction is below half an ulp of the result, so its own rounding does not show. */
APL_INLINE floatv apl_log1p_inv(floatv a, floatv inv_u) {
    floatv u = 1.0f + a;
    floatv corr = (a - (u - (floatv)(1.0f))) * inv_u;
    intv b = AS_INT(u);
    intv big = (b & 0x007fffff) > 0x003504f3; /* mantissa above sqrt(2): halve it */
    floatv m = AS_FLOAT((b & 0x007fffff) | select((intv)(0x3f800000), (intv)(0x3f000000), big));
    floatv fe = TO_FLOAT(((b >> 23) - 127) + select((intv)(0), (intv)(1), big));
    floatv f = m - (floatv)(1.0f), z = f * f;
    floatv y = 7.0376836292e-2f;
    y = fma(y, f, (floatv)(-1.1514610310e-1f));
    y = fma(y, f, (floatv)(1.1676998740e-1f));
    y = fma(y, f, (floatv)(-1.2420140846e-1f));
    y = fma(y, f, (floatv)(1.4249322787e-1f));
    y = fma(y, f, (floatv)(-1.6668057665e-1f));
    y = fma(y, f, (floatv)(2.0000714765e-1f));
    y = fma(y, f, (floatv)(-2.4999993993e-1f));
    y = fma(y, f, (floatv)(3.3333331174e-1f));
    y = fma(y * f, z, fe * -2.12194440e-4f);
    y = fma(z, (floatv)(-0.5f), y);
    return fma(fe, (floatv)(0.693359375f), (f + y)) + corr;
}
