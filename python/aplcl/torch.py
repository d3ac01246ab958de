"""aplcl.torch: the PyTorch drop-in. APLLoss, ASLLoss and BCEWithLogitsLoss modules and the
functional apl_loss.

APLLoss takes the constructor arguments of the APL authors' module (gamma_neg=4, gamma_pos=0,
clip=0.05, eps=1e-8, disable_torch_grad_focal_loss=True) and honours its epsilon_pos, epsilon_neg
and epsilon_pos_pow attributes, so training code changes one import; alpha/beta lists and
reduction='sum'|'mean'|'none' are extras. Forward runs aplcl's fused loss + gradient once (CPU
tensors are passed to the C library without copies, float32, float16 and bfloat16); backward
hands that gradient back, times the incoming one, and is once_differentiable (a second derivative
raises). float64 tensors are computed in double with PyTorch operations (aplcl/_torch64.py):
exact under autograd (gradcheck, double backward, functorch transforms), no OpenCL needed.
Weights (weight, pos_weight) are those of torch.nn.BCEWithLogitsLoss: constants (no gradient
flows to them), passed to aplcl per label, per row or per element (see _weights); targets are
constants too. Empty inputs give 0 (sum, and mean: aplcl's rule for no counted element), or an
empty tensor ('none'). The fused linear head is aplcl/torch_head.py (LinearAPLLoss).
CUDA tensors go through python/aplcl/_cuda.py (aplcl's CUDA entry, on the current stream).
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Sequence

import torch

from . import _core, _cuda
from ._core import Context, Params
from ._lib import C
from ._torch64 import _transforms_active, apl_loss64

_TORCH_DTYPES = {torch.float32: C["APLCL_DTYPE_F32"], torch.float16: C["APLCL_DTYPE_F16"],
                 torch.bfloat16: C["APLCL_DTYPE_BF16"]}

_default_ctx = None
_default_lock = threading.Lock()


def default_context() -> Context:
    """The process-wide aplcl.Context the modules use unless given one (made on first use:
    $APLCL_DEVICE, else the first GPU, else the first device)."""
    global _default_ctx
    with _default_lock:
        if _default_ctx is None:
            _default_ctx = Context()
        return _default_ctx


def _check_device(t, name):
    if t.device.type not in ("cpu", "cuda"):  # CUDA: the _cuda module's entry
        raise RuntimeError(
            f"aplcl.torch: {name} is on device '{t.device}', which aplcl cannot reach: aplcl "
            "computes on OpenCL devices from CPU memory. Move the tensors with .cpu() (and the "
            "loss back with .to(device)), or use the loss written in PyTorch on that device.")


def _targets(y, shape):
    """(contiguous targets tensor, aplcl format): float32 as is, bool/uint8 as u8, else float32.
    Targets are constants: one that requires grad is read (detached) and gets no gradient."""
    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(y)
    y = y.detach()
    _check_device(y, "the target")
    if tuple(y.shape) != tuple(shape):
        raise ValueError(f"aplcl.torch: target shape {tuple(y.shape)} differs from input shape "
                         f"{tuple(shape)}")
    if y.dtype == torch.bool:
        return y.contiguous().view(torch.uint8), C["APLCL_TARGET_U8"]
    if y.dtype == torch.uint8:
        return y.contiguous(), C["APLCL_TARGET_U8"]
    if y.dtype.is_complex:
        raise TypeError("aplcl.torch: complex targets")
    return y.to(torch.float32).contiguous(), C["APLCL_TARGET_F32"]


def _as_weight(w, name):
    if not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w)
    _check_device(w, name)
    return w.detach().to(torch.float32)


def _weights(weight, pos_weight, shape):
    """(pos_weight, weight, kind): contiguous float32 tensors (or None) as aplcl reads them for
    logits of `shape` (last axis labels). weight broadcasts to shape as in PyTorch: a weight
    constant over every axis but the last is per label, one constant over the last axis is per
    row, anything else is expanded to one value per element. pos_weight broadcasts to the labels
    (C values or one)."""
    if weight is None and pos_weight is None:
        return None
    shape = tuple(shape)
    cols = shape[-1] if shape else 1
    lead = shape[:-1]
    pw = w = None
    kind = _core.WEIGHT_KINDS["element"]
    if pos_weight is not None:
        pw = _as_weight(pos_weight, "pos_weight")
        if pw.dim() > 1 and any(s != 1 for s in pw.shape[:-1]):
            raise ValueError(f"aplcl.torch: pos_weight of shape {tuple(pw.shape)}: aplcl takes one "
                             "factor per label (shape (C,))")
        pw = pw.reshape(-1).expand(cols).contiguous()
    if weight is not None:
        w = _as_weight(weight, "weight")
        if w.dim() > len(shape):
            raise ValueError(f"aplcl.torch: weight of shape {tuple(w.shape)} has more axes than "
                             f"the input {shape}")
        ws = (1,) * (len(shape) - w.dim()) + tuple(w.shape)
        w = w.reshape(ws)
        try:
            torch.broadcast_shapes(ws, shape)
        except RuntimeError:
            raise ValueError(f"aplcl.torch: weight of shape {tuple(weight.shape)} does not "
                             f"broadcast to the input {shape}")
        if all(s == 1 for s in ws[:-1]):
            kind, w = _core.WEIGHT_KINDS["label"], w.reshape(-1).expand(cols).contiguous()
        elif ws[-1] == 1 and shape:
            kind, w = _core.WEIGHT_KINDS["row"], w.expand(lead + (1,)).reshape(-1).contiguous()
        else:
            w = w.expand(shape).contiguous()
    return pw, w, kind


def _run(ctx, params, reduction, x, y, fmt, want_grad, wts=None):
    """One aplcl call: (loss tensor, grad tensor or None). x, y contiguous CPU tensors of float32,
    float16 or bfloat16 logits; wts from _weights."""
    if _cuda.wants(x, y, *(wts[:2] if wts is not None else ())):  # CUDA tensors: _cuda.py
        return _cuda.run(params, reduction, x, y, fmt, want_grad, wts)
    if x.dtype not in _TORCH_DTYPES:
        raise TypeError(f"aplcl.torch: input of dtype {x.dtype}; use float32, float16 or bfloat16")
    g = torch.empty_like(x) if want_grad else None
    el = torch.empty(x.shape, dtype=torch.float32) if reduction == "none" else None
    if x.numel() == 0:  # nothing to compute: the C library takes no empty arrays
        _core._validated(params, reduction)
        return (el if el is not None else torch.zeros((), dtype=torch.float32)), g
    ptrs = (x.data_ptr(), y.data_ptr(), g.data_ptr() if g is not None else None,
            el.data_ptr() if el is not None else None)
    rows, cols = _core._shape2(x.shape)
    wp = None
    if wts is not None:
        wp = tuple(None if t is None else t.data_ptr() for t in wts[:2]) + (wts[2],)
    loss = ctx._host(params, reduction, rows, cols, _TORCH_DTYPES[x.dtype], fmt, ptrs, wp)
    # float32 loss for 16-bit inputs (as autocast does): a sum of many elements overflows float16
    return (el if el is not None else torch.tensor(loss, dtype=torch.float32)), g


class _APLFunction(torch.autograd.Function):
    """The float32/16-bit path: aplcl computes the loss and its gradient in one call. The gradient
    is not itself differentiable (it comes from C): a second derivative through it raises (see
    _no_second_derivative) instead of silently dropping the Hessian term. Use float64 tensors
    for second derivatives."""

    @staticmethod
    def forward(fctx, x, y, fmt, ctx, params, reduction, wts):
        loss, g = _run(ctx, params, reduction, x, y, fmt, True, wts)
        fctx.save_for_backward(x, y)
        # The gradient is an intermediate, kept as an attribute rather than a saved tensor: the
        # first backward hands this very tensor on, and autograd can then adopt it as x.grad
        # without a copy (it copies a tensor that something else still references).
        fctx.grad = g
        fctx.aplcl = (ctx, params, reduction, fmt, wts)
        return loss

    @staticmethod
    def backward(fctx, gout):
        with torch.no_grad():
            g = _APLFunction._grad(fctx, gout)
        return _no_second_derivative(g, fctx.saved_tensors[0]), None, None, None, None, None, None

    @staticmethod
    def _grad(fctx, gout):
        g, fctx.grad = fctx.grad, None
        if g is None:  # a second backward (retain_graph): the first gave the gradient away
            x, y = fctx.saved_tensors
            ctx, params, reduction, fmt, wts = fctx.aplcl
            g = _run(ctx, params, reduction, x, y, fmt, True, wts)[1]
        if gout.dim() == 0 and float(gout) == 1.0:
            return g
        return (g * gout).to(g.dtype)


_SECOND_DERIVATIVE = (
    "aplcl.torch: a second derivative through the float32/float16/bfloat16 path: its gradient "
    "comes from aplcl's C code and is not itself differentiable. Use float64 tensors (computed "
    "with PyTorch operations, exact to any order) for Hessians and double backward.")


def _no_second_derivative(g, x):
    """g as backward returns it; under create_graph (grad mode on in backward) the output of a
    node whose inputs are g and x and which raises when differentiated. PyTorch's
    once_differentiable is not enough: it adds its error node only when the incoming gradient
    requires grad (usually not), and then without an edge to x, so d/dx of the gradient would
    silently be 0, dropping the Hessian term."""
    if torch.is_grad_enabled() and x.requires_grad:
        return torch._C._functions.DelayedError(_SECOND_DERIVATIVE, 2)(g, x)[0]
    return g


def apl_loss(input: torch.Tensor, target: Any, params: Optional[Params] = None,
             reduction: Optional[str] = None, context: Optional[Context] = None,
             weight: Optional[Any] = None, pos_weight: Optional[Any] = None) -> torch.Tensor:
    """The functional form: aplcl's loss of `input` (logits, any shape, last axis = labels) and
    `target` (same shape: float 1/0/soft/negative = ignored, uint8 with 255 = ignored, or bool).
    params: an aplcl.Params (default: the reference APL); reduction 'sum', 'mean' (over the
    non-ignored elements, not the weights' sum, as PyTorch) or 'none' overrides params.reduction.
    weight (broadcast to the input) multiplies each element's loss, pos_weight (one per label)
    the positive term, as in torch.nn.BCEWithLogitsLoss. Differentiable in `input`."""
    if not isinstance(input, torch.Tensor):
        raise TypeError("aplcl.torch: input must be a torch.Tensor")
    _check_device(input, "the input")
    p = Params.default() if params is None else params
    red = reduction if reduction is not None else p.reduction
    if red not in ("sum", "mean", "none"):
        raise ValueError(f"aplcl.torch: reduction {red!r} is not 'sum', 'mean' or 'none'")
    if input.dtype == torch.float64:
        return _apl_loss_float64(input, target, p, red, weight, pos_weight)
    if input.dtype not in _TORCH_DTYPES:
        raise TypeError(f"aplcl.torch: input of dtype {input.dtype}; use float32, float16, "
                        "bfloat16 (or float64, computed in double with PyTorch operations)")
    if _transforms_active():
        raise RuntimeError(
            f"aplcl.torch: a {input.dtype} input inside a torch.func/functorch transform (vmap, "
            "grad, jacrev, ...): aplcl's C library reads raw memory, which those transforms do not "
            "have. Use float64 inputs (computed with PyTorch operations, which the transforms "
            "support) or loop over the batch.")
    ctx = context if context is not None or _cuda.wants(input) else default_context()
    y, fmt = _targets(target, input.shape)
    wts = _weights(weight, pos_weight, input.shape)
    x = input.contiguous()
    if input.requires_grad and torch.is_grad_enabled():
        return _APLFunction.apply(x, y, fmt, ctx, p, red, wts)
    return _run(ctx, p, red, x.detach(), y, fmt, False, wts)[0]


def _apl_loss_float64(x, target, p, red, weight, pos_weight):
    """float64 logits: the loss in double with PyTorch operations (aplcl/_torch64.py), exact
    under autograd (gradcheck, double backward) and without OpenCL. Targets and weights are read
    in double and are constants: no gradient flows to them."""
    y = target if isinstance(target, torch.Tensor) else torch.as_tensor(target)
    _check_device(y, "the target")
    if tuple(y.shape) != tuple(x.shape):
        raise ValueError(f"aplcl.torch: target shape {tuple(y.shape)} differs from input shape "
                         f"{tuple(x.shape)}")
    if y.dtype.is_complex:
        raise TypeError("aplcl.torch: complex targets")
    y = y.detach()
    if y.dtype == torch.bool:
        y = y.to(torch.float64)
    elif y.dtype == torch.uint8:  # 255 ignored; 2..254 stay > 1, invalid
        y = torch.where(y == C["APLCL_TARGET_U8_IGNORE"], torch.tensor(-1.0, dtype=torch.float64),
                        y.double())
    _weights(weight, pos_weight, x.shape)  # the shape checks and messages of the float32 path
    w = None if weight is None else _as_weight64(weight, "weight")
    pw = None if pos_weight is None else _as_weight64(pos_weight, "pos_weight")
    return apl_loss64(p, red, x, y, w, pw)


def _as_weight64(w, name):
    if not isinstance(w, torch.Tensor):
        w = torch.as_tensor(w)
    _check_device(w, name)
    return w.detach().to(torch.float64)


class APLLoss(torch.nn.Module):
    """Asymmetric Polynomial Loss, a drop-in for the APL authors' module (same constructor
    arguments and defaults; its epsilon_pos, epsilon_neg, epsilon_pos_pow attributes are read at
    each call). Extras: alpha / beta (the leading Taylor coefficients, overriding the epsilons),
    reduction ('sum' as the authors' module, whose value is the negated sum of its log terms;
    'mean' over non-ignored elements; 'none'), context (an aplcl.Context), weight and pos_weight
    (as in torch.nn.BCEWithLogitsLoss: weight broadcast to the input multiplies the element loss,
    pos_weight of one value per label the positive term).

    The authors' epsilon_neg = en adds en * p_m to the negative bracket, which is beta_1 = 1 + en
    plus a constant -en * w- per negative (docs/apl-spec.md section 3): aplcl keeps the beta_1 term
    and leaves out that constant, so with en != 0 the loss value differs from the authors' by it
    (the gradient agrees when the focusing weight is detached)."""

    def __init__(self, gamma_neg: float = 4, gamma_pos: float = 0, clip: Optional[float] = 0.05,
                 eps: Optional[float] = 1e-8, disable_torch_grad_focal_loss: bool = True,
                 alpha: Optional[Sequence[float]] = None, beta: Optional[Sequence[float]] = None,
                 reduction: str = "sum", context: Optional[Context] = None,
                 weight: Optional[Any] = None, pos_weight: Optional[Any] = None) -> None:
        super().__init__()
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight))
        self.register_buffer("pos_weight",
                             None if pos_weight is None else torch.as_tensor(pos_weight))
        self.gamma_neg = gamma_neg
        self.gamma_pos = gamma_pos
        self.clip = clip
        self.eps = eps
        self.disable_torch_grad_focal_loss = disable_torch_grad_focal_loss
        # the authors' Taylor-expansion parameters (alpha_1 = 1 - e1, alpha_2 = (1 - e2) / 2)
        self.epsilon_pos = 1.0
        self.epsilon_neg = 0.0
        self.epsilon_pos_pow = -2.5
        self.alpha = None if alpha is None else tuple(float(a) for a in alpha)
        self.beta = None if beta is None else tuple(float(b) for b in beta)
        if reduction not in ("sum", "mean", "none"):
            raise ValueError(f"APLLoss: reduction {reduction!r} is not 'sum', 'mean' or 'none'")
        self.reduction = reduction
        self.context = context

    def _coefficients(self):
        alpha = self.alpha
        if alpha is None:
            alpha = (1.0 - self.epsilon_pos, (1.0 - self.epsilon_pos_pow) / 2.0)
        beta = self.beta
        if beta is None:
            beta = (1.0 + self.epsilon_neg,) if self.epsilon_neg else ()
        return alpha, beta

    def params(self) -> Params:
        """The aplcl.Params this module computes with now."""
        alpha, beta = self._coefficients()
        clip = self.clip if self.clip is not None and self.clip > 0 else 0.0
        return Params(gamma_pos=float(self.gamma_pos), gamma_neg=float(self.gamma_neg),
                      clip=float(clip), eps=float(self.eps or 0.0), alpha=alpha, beta=beta,
                      focus_grad=not self.disable_torch_grad_focal_loss,
                      reduction=self.reduction)

    def forward(self, x: torch.Tensor, y: Any) -> torch.Tensor:
        return apl_loss(x, y, self.params(), self.reduction, self.context, self.weight,
                        self.pos_weight)

    def extra_repr(self) -> str:
        return (f"gamma_neg={self.gamma_neg}, gamma_pos={self.gamma_pos}, clip={self.clip}, "
                f"eps={self.eps}, reduction={self.reduction!r}")


class ASLLoss(APLLoss):
    """Asymmetric Loss (Ridnik et al.), a drop-in for the ASL authors' AsymmetricLoss: the same
    constructor arguments and defaults (gamma_neg=4, gamma_pos=1, clip=0.05, eps=1e-8,
    disable_torch_grad_focal_loss=True), BCE's coefficients, the negated sum; plus reduction and
    context as in APLLoss."""

    def __init__(self, gamma_neg: float = 4, gamma_pos: float = 1, clip: Optional[float] = 0.05,
                 eps: Optional[float] = 1e-8, disable_torch_grad_focal_loss: bool = True,
                 reduction: str = "sum", context: Optional[Context] = None) -> None:
        super().__init__(gamma_neg, gamma_pos, clip, eps, disable_torch_grad_focal_loss,
                         alpha=(), beta=(), reduction=reduction, context=context)


class BCEWithLogitsLoss(torch.nn.Module):
    """A drop-in for torch.nn.BCEWithLogitsLoss(weight=None, size_average=None, reduce=None,
    reduction='mean', pos_weight=None), computed by aplcl's BCE preset (exact log-sigmoid): same
    value and gradient, for every weight shape that broadcasts to the input and pos_weight of one
    value per label. Differences: a negative target means "ignored" (PyTorch has no such
    targets), and 'mean' then divides by the non-ignored count; size_average and reduce (deprecated
    in PyTorch) are not taken. context: an aplcl.Context (default: default_context())."""

    def __init__(self, weight: Optional[Any] = None, reduction: str = "mean",
                 pos_weight: Optional[Any] = None, context: Optional[Context] = None) -> None:
        super().__init__()
        if reduction not in ("sum", "mean", "none"):
            raise ValueError(f"BCEWithLogitsLoss: reduction {reduction!r} is not 'sum', 'mean' or "
                             "'none'")
        self.register_buffer("weight", None if weight is None else torch.as_tensor(weight))
        self.register_buffer("pos_weight",
                             None if pos_weight is None else torch.as_tensor(pos_weight))
        self.reduction = reduction
        self.context = context

    def forward(self, input: torch.Tensor, target: Any) -> torch.Tensor:
        return apl_loss(input, target, Params.bce(), self.reduction, self.context, self.weight,
                        self.pos_weight)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


from ._torch_head import LinearAPLLoss, linear_apl_loss  # noqa: E402 (it uses this module)
