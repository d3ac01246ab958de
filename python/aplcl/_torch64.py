"""_torch64.py: the APL loss of float64 tensors, written with PyTorch operations in double.

aplcl.torch routes float64 inputs here: the closed-form formulas of docs/apl-spec.md sections 2-3
in the stable forms of the C reference (ref/ref.c: ln p as -softplus(-x), the Taylor series below
u = 1/4), computed from the double logits, so autograd differentiates them exactly (gradcheck,
double backward, torch.func/functorch transforms) and no OpenCL platform is needed. A test checks
it against the C reference to 1e-12. Not the float32 path (that is the C library) and not a
second definition of the math: where the two could differ, ref/ref.c is the one to follow.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch

from . import _lib
from ._core import Error, Params, _decimal, _validated

_SERIES_BELOW = 0.25  # ref.c SERIES_BELOW
_SERIES_TERMS = 40  # ref.c SERIES_TERMS


def _status(name: str) -> int:
    return next(v for v, (n, _) in _lib.STATUS.items() if n == name)


def _transforms_active() -> bool:
    """True inside torch.func / functorch transforms (vmap, grad, jacrev): data-dependent checks
    (raising on a bad value) cannot run there."""
    f = getattr(torch._C, "_are_functorch_transforms_active", None)
    return bool(f()) if f is not None else False


def _softplus(z: torch.Tensor) -> torch.Tensor:
    # torch.nn.functional.softplus returns z itself above its threshold (20): 2e-9 off. logaddexp
    # is exact, and its derivative (sigmoid) is right at z = 0, unlike relu + log1p(exp(-|z|)).
    return torch.logaddexp(z, torch.zeros_like(z))


def _pow_guarded(b: torch.Tensor, g: float) -> torch.Tensor:
    """b^g with 0^0 = 1 and b <= 0 giving 0 (ref.c pow_guarded); the base is made safe before the
    power so that its derivative at 0 is 0 times a finite number, never 0 * inf = nan."""
    if g == 0.0:
        return torch.ones_like(b)
    pos = b > 0
    safe = torch.where(pos, b, torch.ones_like(b))
    return torch.where(pos, safe ** g, torch.zeros_like(b))


def _poly(coef: Sequence[float], u: torch.Tensor) -> torch.Tensor:
    """sum_j coef[j-1] u^j (Horner)."""
    v = torch.zeros_like(u)
    for c in reversed(coef):
        v = v * u + c
    return v * u


def _series(coef: Sequence[float], u: torch.Tensor) -> torch.Tensor:
    """G(u) = sum_{j<=n} (c_j + 1/j) u^j + sum_{n<j<=n+40} u^j / j: -ln(1-u) + poly without the
    cancellation of its first term (ref.c g_of_u, for u < 1/4)."""
    n = len(coef)
    v = torch.zeros_like(u)
    for j in range(n + _SERIES_TERMS, n, -1):
        v = v * u + 1.0 / j
    for j in range(n, 0, -1):
        v = v * u + (coef[j - 1] + 1.0 / j)
    return v * u


def _g_of_u(coef, u, neg_ln_1mu, series_ok):
    log_form = neg_ln_1mu + _poly(coef, u)
    if series_ok is False:
        return log_form
    use_series = u.detach() < _SERIES_BELOW
    if series_ok is not True:
        use_series = use_series & series_ok
    return torch.where(use_series, _series(coef, u), log_form)


def loss_parts(p: Params, x: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor]":
    """(l+, l-) of float64 logits x: the positive and negative element losses, differentiable in
    x (the focusing weights detached unless p.focus_grad)."""
    gamma_pos, gamma_neg = _decimal(p.gamma_pos), _decimal(p.gamma_neg)
    clip, eps = _decimal(p.clip), _decimal(p.eps)
    coef_pos = [_decimal(a) - 1.0 / (j + 1) for j, a in enumerate(p.alpha or ())]
    coef_neg = [_decimal(b) - 1.0 / (j + 1) for j, b in enumerate(p.beta or ())]
    ln_eps = math.log(eps) if eps > 0 else 0.0
    focus = bool(p.focus_grad)

    prob = torch.sigmoid(x)
    omp = torch.sigmoid(-x)  # 1 - p without cancellation

    # positive part: u = 1 - p^, F+ = G(u) with -ln p^ as the log term
    if eps > 0:
        floored = prob.detach() < eps  # p < eps: p^ = eps, F+ constant
        u_pos = torch.where(floored, torch.full_like(omp, 1.0 - eps), omp)
        neg_ln_p = torch.where(floored, torch.full_like(x, -ln_eps), _softplus(-x))
    else:
        u_pos, neg_ln_p = omp, _softplus(-x)
    f_pos = _g_of_u(coef_pos, u_pos, neg_ln_p, True)
    w_pos = _pow_guarded(omp if focus else omp.detach(), gamma_pos)
    l_pos = w_pos * f_pos

    # negative part: u = p_m, q = 1 - p_m, F- = G(p_m) with -ln q^ as the log term
    if clip > 0:
        pm = torch.clamp(prob - clip, min=0.0)
        q = torch.clamp(omp + clip, max=1.0)
        neg_ln_q = -torch.log(q)
    else:
        pm, q, neg_ln_q = prob, omp, _softplus(x)
    if eps > clip:
        q_floored = q.detach() < eps  # q < eps: q^ = eps, the log term constant
        neg_ln_q = torch.where(q_floored, torch.full_like(x, -ln_eps), neg_ln_q)
        f_neg = _g_of_u(coef_neg, pm, neg_ln_q, ~q_floored)
    else:
        f_neg = _g_of_u(coef_neg, pm, neg_ln_q, True)
    w_neg = _pow_guarded(pm if focus else pm.detach(), gamma_neg)
    l_neg = w_neg * f_neg
    if clip > 0:  # easy negatives (p < clip): exactly 0, as in ref.c
        l_neg = torch.where(prob.detach() < clip, torch.zeros_like(l_neg), l_neg)
    return l_pos, l_neg


def _raise(name: str, what: str) -> None:
    raise Error(_status(name), what)


def apl_loss64(p: Params, reduction: str, x: torch.Tensor, y: torch.Tensor,
               weight: Optional[torch.Tensor] = None,
               pos_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """The reduced loss of float64 logits x: 'sum', 'mean' (over the non-ignored elements, or
    p.normalizer when > 0; 0 when there are none) or 'none' (float64 element losses). y: float
    targets (negative = ignored; NaN or > 1 invalid) of x's shape, any float dtype, read in double;
    weight (broadcast to x) and pos_weight (one per label, or one) in double, as constants.
    Invalid targets, non-finite logits and invalid weights of non-ignored elements raise
    aplcl.Error as the C library does; inside torch.func transforms, where no value can be
    looked at, those elements give NaN instead."""
    _validated(p, reduction)  # the C library's parameter check, as every other path makes it
    y = y.detach().to(torch.float64)
    ignored = y < 0
    invalid = torch.isnan(y) | (y > 1)
    use = ~(ignored | invalid)
    finite = torch.isfinite(x.detach())
    W = P = None
    bad_w = torch.zeros_like(use)
    if weight is not None:
        W = torch.broadcast_to(weight.detach().to(torch.float64), x.shape)
        bad_w = bad_w | ~((W >= 0) & (W < math.inf))
    if pos_weight is not None:
        cols = x.shape[-1] if x.dim() else 1
        P = pos_weight.detach().to(torch.float64).reshape(-1).expand(cols)
        P = torch.broadcast_to(P, x.shape) if x.dim() else P.reshape(())
        bad_w = bad_w | ~((P >= 0) & (P < math.inf))
    poison = None
    if _transforms_active():
        poison = invalid | (use & (~finite | bad_w))
    else:  # the C library's order: targets, then logits, then weights
        n_bad = int(invalid.sum())
        if n_bad:
            _raise("APLCL_ERR_INVALID_TARGET",
                   f"aplcl.torch (float64): {n_bad} invalid targets (NaN or > 1)")
        n_bad = int((use & ~finite).sum())
        if n_bad:
            _raise("APLCL_ERR_NONFINITE_LOGIT", f"aplcl.torch (float64): {n_bad} non-finite logits")
        n_bad = int((use & bad_w).sum())
        if n_bad:
            _raise("APLCL_ERR_INVALID_WEIGHT", f"aplcl.torch (float64): {n_bad} invalid weights")
    keep = use & finite & ~bad_w
    # masked elements are computed on safe values (0) so that their zero gradient stays zero
    xs = torch.where(keep, x, torch.zeros_like(x))
    ys = torch.where(keep, y, torch.zeros_like(y))
    l_pos, l_neg = loss_parts(p, xs)
    y_pos = ys if P is None else ys * torch.where(keep, P, torch.ones_like(P))
    el = y_pos * l_pos + (1.0 - ys) * l_neg
    if W is not None:
        el = el * torch.where(keep, W, torch.zeros_like(W))
    el = torch.where(keep, el, torch.zeros_like(el))
    if poison is not None:
        el = torch.where(poison, torch.full_like(el, math.nan), el)
    scale = _decimal(p.grad_scale)
    if reduction == "none":
        out = el
    else:
        out = el.sum()
        if reduction == "mean":
            norm = float(p.normalizer) if p.normalizer and p.normalizer > 0 else None
            if norm is None:
                cnt = use.sum().to(torch.float64)
                out = torch.where(cnt > 0, out / torch.clamp(cnt, min=1.0), torch.zeros_like(out))
            else:
                out = out / norm
    if scale != 1.0:  # grad_scale scales the gradient, not the value (as the C library)
        out = out + (scale - 1.0) * (out - out.detach())
    return out

