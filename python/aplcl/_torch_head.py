"""_torch_head.py: LinearAPLLoss and linear_apl_loss, a linear layer + APL loss that never holds
the N x C logits (exported by aplcl.torch).

Per chunk of rows, as Liger-Kernel's fused linear cross-entropy does: logits = x_chunk W^T + b
(PyTorch's matmul, the fastest on the device at hand), aplcl's fused loss writes the gradient over
the logits in place (the package's host call), then dx_chunk = G W, dW += G^T x_chunk,
db += column sums of G, all in forward, so backward only scales by the incoming gradient. Memory
beyond the parameters, their gradients and dx: one chunk of logits (and of dense uint8 targets
for sparse targets). Targets dense (float, bool, uint8) or sparse (a list of positive label
indices per row, or a CSR pair (indptr, indices)). float64 inputs take the differentiable path
of aplcl/_torch64.py chunk by chunk (for gradcheck and second derivatives; it keeps autograd's
intermediates, so it is not memory-bounded). Not here: the C library's own head
(aplcl_head_compute, CLBlast on OpenCL buffers) or GPU tensors.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple, Union

import torch

from . import _core
from ._core import Context, Params
from ._lib import C
from ._torch64 import _transforms_active, apl_loss64

DEFAULT_MAX_BYTES = 64 << 20  # per chunk: logits (float32) plus dense targets, in bytes
_ALIGN = 128  # CL_DEVICE_MEM_BASE_ADDR_ALIGN on PoCL: such buffers are used without a copy
_U8_IGNORE = C["APLCL_TARGET_U8_IGNORE"]

Target = Union[torch.Tensor, Sequence[Sequence[int]], Tuple[torch.Tensor, torch.Tensor]]


def _aligned_empty(n: int, dtype: torch.dtype) -> torch.Tensor:
    """A 1-D tensor of n elements whose data starts on a 128-byte boundary."""
    item = torch.empty((), dtype=dtype).element_size()
    pad = _ALIGN // item
    raw = torch.empty(n + pad, dtype=dtype)
    off = (-raw.data_ptr() % _ALIGN) // item
    return raw[off:off + n]


class _Targets:
    """The targets of an N x C problem, chunk by chunk as aplcl reads them: dense rows sliced (as
    float32 or uint8), sparse rows scattered into a reused dense uint8 chunk."""

    def __init__(self, target: Target, rows: int, cols: int, lead: Tuple[int, ...]):
        self.rows, self.cols = rows, cols
        self.dense: Optional[torch.Tensor] = None
        self.indptr: Optional[torch.Tensor] = None
        self.indices: Optional[torch.Tensor] = None
        self.buf: Optional[torch.Tensor] = None
        if isinstance(target, torch.Tensor):
            self._dense(target, lead)
        elif (isinstance(target, tuple) and len(target) == 2
              and all(isinstance(t, torch.Tensor) for t in target)):
            self._csr(target[0], target[1])
        elif isinstance(target, (list, tuple)):
            self._lists(target)
        else:
            raise TypeError("aplcl.torch: targets must be a tensor of the logits' shape, a list of "
                            "label-index lists (one per row) or a CSR pair (indptr, indices), "
                            f"not {type(target).__name__}")

    def _dense(self, y: torch.Tensor, lead):
        if y.device.type != "cpu":
            raise RuntimeError(f"aplcl.torch: the target is on device '{y.device}'; aplcl reaches "
                               "CPU memory only")
        if tuple(y.shape) != tuple(lead) + (self.cols,):
            raise ValueError(f"aplcl.torch: target shape {tuple(y.shape)} differs from the logits' "
                             f"shape {tuple(lead) + (self.cols,)}")
        y = y.detach().reshape(self.rows, self.cols)
        if y.dtype == torch.bool:
            self.dense, self.fmt = y.contiguous().view(torch.uint8), C["APLCL_TARGET_U8"]
        elif y.dtype == torch.uint8:
            self.dense, self.fmt = y.contiguous(), C["APLCL_TARGET_U8"]
        elif y.dtype.is_complex:
            raise TypeError("aplcl.torch: complex targets")
        else:  # other dtypes are converted chunk by chunk, never the whole N x C at once
            self.dense, self.fmt = y, C["APLCL_TARGET_F32"]

    def _csr(self, indptr: torch.Tensor, indices: torch.Tensor):
        indptr = indptr.detach().reshape(-1).to(torch.int64)
        indices = indices.detach().reshape(-1).to(torch.int64)
        if indptr.numel() != self.rows + 1:
            raise ValueError(f"aplcl.torch: CSR indptr has {indptr.numel()} values; {self.rows} "
                             f"rows need {self.rows + 1}")
        if int(indptr[0]) != 0 or int(indptr[-1]) != indices.numel() or bool(
                (indptr[1:] < indptr[:-1]).any()):
            raise ValueError("aplcl.torch: CSR indptr must start at 0, never decrease and end at "
                             f"len(indices) ({indices.numel()})")
        self._set_sparse(indptr, indices)

    def _lists(self, lists):
        if len(lists) != self.rows:
            raise ValueError(f"aplcl.torch: {len(lists)} target lists for {int(self.rows)} rows")
        lens = torch.tensor([len(r) for r in lists], dtype=torch.int64)
        indptr = torch.zeros(self.rows + 1, dtype=torch.int64)
        torch.cumsum(lens, 0, out=indptr[1:])
        flat = [int(i) for r in lists for i in r]
        self._set_sparse(indptr, torch.tensor(flat, dtype=torch.int64))

    def _set_sparse(self, indptr, indices):
        if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= self.cols):
            raise ValueError(f"aplcl.torch: a target label index is outside [0, {int(self.cols)})")
        self.indptr, self.indices, self.fmt = indptr, indices, C["APLCL_TARGET_U8"]

    def count(self, step: int = 4096) -> int:
        """Non-ignored elements (the MEAN divisor), `step` rows at a time (no N x C mask)."""
        if self.dense is None:
            return self.rows * self.cols
        n = 0
        for r0 in range(0, self.rows, step):
            y = self.dense[r0:r0 + step]
            n += int((y != _U8_IGNORE).sum() if self.fmt == C["APLCL_TARGET_U8"] else
                     (y >= 0).sum())
        return n

    def chunk(self, r0: int, r1: int) -> torch.Tensor:
        """Rows r0..r1 as a contiguous float32 or uint8 tensor aplcl reads (valid until the next
        call)."""
        if self.dense is not None:
            y = self.dense[r0:r1]
            if self.fmt == C["APLCL_TARGET_F32"] and y.dtype != torch.float32:
                y = y.to(torch.float32)
            return y.contiguous()
        n = (r1 - r0) * self.cols
        assert self.indptr is not None and self.indices is not None
        if self.buf is None or self.buf.numel() < n:
            self.buf = _aligned_empty(n, torch.uint8)
        y = self.buf[:n]
        y.zero_()
        a, b = int(self.indptr[r0]), int(self.indptr[r1])
        if b > a:
            counts = self.indptr[r0 + 1:r1 + 1] - self.indptr[r0:r1]
            rows = torch.repeat_interleave(torch.arange(r1 - r0, dtype=torch.int64), counts)
            y[rows * self.cols + self.indices[a:b]] = 1
        return y.view(r1 - r0, self.cols)

    def dense64(self, r0: int, r1: int) -> torch.Tensor:
        """Rows r0..r1 as float64 targets (255 and negatives ignored as -1) for the float64 path."""
        y = self.chunk(r0, r1)
        if y.dtype == torch.uint8:
            return torch.where(y == _U8_IGNORE, torch.tensor(-1.0, dtype=torch.float64),
                               y.to(torch.float64))
        if self.dense is not None:
            return self.dense[r0:r1].to(torch.float64)
        return y.to(torch.float64)


def _chunk_rows(rows: int, cols: int, chunk_rows: Optional[int], max_bytes: Optional[int],
                target_bytes: int) -> int:
    if chunk_rows is not None:
        if int(chunk_rows) < 1:
            raise ValueError(f"aplcl.torch: chunk_rows must be at least 1, got {chunk_rows!r}")
        return min(int(chunk_rows), max(rows, 1))
    budget = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    per_row = max(cols, 1) * (4 + target_bytes)
    if budget < per_row:
        raise ValueError(f"aplcl.torch: max_bytes={budget} holds not even one row of {cols} labels "
                         f"({per_row} bytes)")
    return max(1, min(budget // per_row, rows))


class _Plan:
    """Everything one linear_apl_loss call needs besides the tensors autograd tracks."""

    def __init__(self, ctx, params, reduction, targets, wts, chunk, rows, cols, lead):
        self.ctx, self.params, self.reduction = ctx, params, reduction
        self.targets, self.wts, self.chunk = targets, wts, chunk
        self.rows, self.cols, self.lead = rows, cols, lead
        self.wts_raw: Any = None  # the float64 path's (pos_weight, weight) in double

    def weights_of(self, r0: int, r1: int):
        """The _core weight pointers for rows r0..r1 (tensors kept alive by self.wts)."""
        if self.wts is None:
            return None
        pw, w, kind = self.wts
        if w is not None:
            if kind == _core.WEIGHT_KINDS["row"]:
                w = w[r0:r1]
            elif kind == _core.WEIGHT_KINDS["element"]:
                w = w.reshape(-1)[r0 * self.cols:r1 * self.cols]
        return (None if pw is None else pw.data_ptr(), None if w is None else w.data_ptr(), kind)


def _compute(plan: _Plan, x, W, b, want, gout_el=None):
    """The chunk loop of the float32 path. want: (dx, dW, db) booleans. gout_el: for 'none' in
    backward, the incoming N x C gradient (the element losses are then not written).
    Returns (loss, elem_loss or None, dx, dW, db) with float32 gradients (or None)."""
    rows, cols, R = plan.rows, plan.cols, plan.chunk
    f32 = torch.float32
    W32 = W if W.dtype == f32 else W.to(f32)
    b32 = None if b is None else (b if b.dtype == f32 else b.to(f32))
    W32t = W32.t()
    # 'none' in forward computes no gradient (backward needs the incoming one); in backward the
    # C call returns the per-element gradients, which the incoming ones then multiply.
    none_fwd = plan.reduction == "none" and gout_el is None
    any_grad = any(want) and not none_fwd
    red = plan.reduction
    p = plan.params
    dx = torch.empty(rows, x.shape[1], dtype=f32) if want[0] and any_grad else None
    dW = torch.zeros_like(W32) if want[1] and any_grad else None
    db = torch.zeros(cols, dtype=f32) if (want[2] and any_grad and b is not None) else None
    el = torch.empty(rows, cols, dtype=f32) if none_fwd else None
    buf = _aligned_empty(min(R, max(rows, 1)) * cols, f32)
    total = 0.0
    if rows * cols == 0:  # an empty call: a no-op (zero gradients), as aplcl.torch's losses
        _core._validated(p, red)
        if dx is not None:
            dx.zero_()
        return total, el, dx, dW, db
    for r0 in range(0, rows, R):
        r1 = min(rows, r0 + R)
        n = r1 - r0
        xc = x[r0:r1]
        if xc.dtype != f32:
            xc = xc.to(f32)
        logits = buf[:n * cols].view(n, cols)
        if b32 is not None:
            torch.addmm(b32, xc, W32t, out=logits)
        else:
            torch.mm(xc, W32t, out=logits)
        y = plan.targets.chunk(r0, r1)
        g_ptr = logits.data_ptr() if any_grad else None
        el_ptr = el[r0:r1].data_ptr() if el is not None else None
        total += plan.ctx._host(p, red, n, cols, C["APLCL_DTYPE_F32"], plan.targets.fmt,
                                (logits.data_ptr(), y.data_ptr(), g_ptr, el_ptr),
                                plan.weights_of(r0, r1))
        if not any_grad:
            continue
        g = logits  # the gradient, written over the logits
        if gout_el is not None:
            g.mul_(gout_el[r0:r1])
        if dx is not None:
            torch.mm(g, W32, out=dx[r0:r1])
        if dW is not None:
            dW.addmm_(g.t(), xc)
        if db is not None:
            db += g.sum(0)
    return total, el, dx, dW, db


class _LinearAPLFunction(torch.autograd.Function):
    @staticmethod
    def forward(fctx, x, W, b, plan):
        want = tuple(fctx.needs_input_grad[:3])
        loss, el, dx, dW, db = _compute(plan, x, W, b, want)
        fctx.plan = plan
        fctx.save_for_backward(x, W, b)
        fctx.grads = (dx, dW, db)
        if plan.reduction == "none":
            return el.view(plan.lead + (plan.cols,))
        return torch.tensor(loss, dtype=torch.float32)

    @staticmethod
    def backward(fctx, gout):
        x, W, b = fctx.saved_tensors
        plan = fctx.plan
        want = tuple(fctx.needs_input_grad[:3])
        with torch.no_grad():
            if plan.reduction == "none":
                _, _, dx, dW, db = _compute(plan, x, W, b, want,
                                            gout.reshape(plan.rows, plan.cols).to(torch.float32))
            else:
                grads, fctx.grads = fctx.grads, None
                if grads is None:  # a second backward (retain_graph): the first gave them away
                    grads = _compute(plan, x, W, b, want)[2:]
                dx, dW, db = grads
                if not (gout.dim() == 0 and float(gout) == 1.0):
                    dx, dW, db = (None if t is None else t * gout.to(torch.float32)
                                  for t in (dx, dW, db))
        out = []
        for t, ref in ((dx, x), (dW, W), (db, b)):
            if t is None:
                out.append(None)
                continue
            t = t.view(ref.shape).to(ref.dtype)
            out.append(_guard(t, (x, W, b)))
        return out[0], out[1], out[2], None


_SECOND = ("aplcl.torch.LinearAPLLoss: a second derivative through the float32/float16/bfloat16 "
           "path: its gradients come from aplcl's C code and are not differentiable. Use float64 "
           "inputs and parameters (computed with PyTorch operations) for second derivatives.")


def _guard(t, inputs):
    """Under create_graph, t behind a node with edges to the inputs that raises when
    differentiated (see aplcl.torch._no_second_derivative)."""
    if torch.is_grad_enabled():
        srcs = [a for a in inputs if a is not None and a.requires_grad]
        if srcs:
            return torch._C._functions.DelayedError(_SECOND, 1 + len(srcs))(t, *srcs)[0]
    return t


def _float64(plan: _Plan, x, W, b):
    """The float64 path: per chunk, the logits and aplcl/_torch64.py's differentiable loss."""
    pw = wt = None
    if plan.wts is not None:
        pw, wt = plan.wts_raw
    parts = []
    for r0 in range(0, plan.rows, plan.chunk):
        r1 = min(plan.rows, r0 + plan.chunk)
        logits = torch.nn.functional.linear(x[r0:r1], W, b)
        w = None
        if wt is not None:
            w = torch.broadcast_to(wt, plan.lead + (plan.cols,)).reshape(plan.rows, plan.cols)
            w = w[r0:r1]
        red = "none" if plan.reduction == "none" else "sum"
        parts.append(apl_loss64(plan.params.copy(reduction=red), red, logits,
                                plan.targets.dense64(r0, r1), w, pw))
    if not parts:  # no rows: zeros that still reach x, weight and bias in the graph
        zero = torch.nn.functional.linear(x, W, b) * 0.0
        return zero.view(plan.lead + (plan.cols,)) if plan.reduction == "none" else zero.sum()
    if plan.reduction == "none":
        return torch.cat(parts).view(plan.lead + (plan.cols,))
    total = torch.stack(parts).sum()
    if plan.reduction == "mean":
        p = plan.params
        norm = p.normalizer if p.normalizer and p.normalizer > 0 else plan.targets.count()
        total = total / norm if norm > 0 else total * 0.0
    return total


_FLOATS = (torch.float32, torch.float16, torch.bfloat16)


def linear_apl_loss(input: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                    target: Target, params: Optional[Params] = None,
                    reduction: Optional[str] = "mean", loss_weight: Optional[Any] = None,
                    pos_weight: Optional[Any] = None, chunk_rows: Optional[int] = None,
                    max_bytes: Optional[int] = None,
                    context: Optional[Context] = None) -> torch.Tensor:
    """The APL loss of torch.nn.functional.linear(input, weight, bias) without holding the logits:
    the value of aplcl.torch.apl_loss(input @ weight.T + bias, dense targets, params, reduction,
    weight=loss_weight, pos_weight=pos_weight), differentiable in input, weight and bias.

    input (..., D) float32/float16/bfloat16 (float32 math) or float64 (with float64 weight and
    bias); weight (C, D); bias (C,) or None. target: a tensor of shape (..., C) (float: 1/0/soft,
    negative = ignored; uint8: 255 = ignored; bool), a list of positive label-index lists (one per
    row of the flattened input), or a CSR pair (indptr, indices) of int tensors. params: an
    aplcl.Params (default: the reference APL); reduction 'mean' (over the non-ignored elements),
    'sum' or 'none' (an (..., C) tensor: that one holds N x C losses, and backward recomputes the
    logits). loss_weight broadcasts to (..., C) as torch.nn.BCEWithLogitsLoss's weight,
    pos_weight has one value per label. chunk_rows (rows per chunk) or max_bytes (the chunk's
    float32 logits and dense targets; default 64 MiB) bound the memory."""
    from . import torch as apt  # the module this file is exported by (circular at import)

    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None:
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"aplcl.torch.linear_apl_loss: {name} must be a tensor")
            apt._check_device(t, f"the {name}")
    if weight.dim() != 2 or input.dim() < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"aplcl.torch.linear_apl_loss: input {tuple(input.shape)} and weight "
                         f"{tuple(weight.shape)} do not make a "
                         "linear layer (weight is (C, D), input (..., D))")
    cols, dim = weight.shape
    if bias is not None and tuple(bias.shape) != (cols,):
        raise ValueError(f"aplcl.torch.linear_apl_loss: bias of shape {tuple(bias.shape)}; the "
                         f"layer has {cols} labels")
    p = Params.default() if params is None else params
    if not isinstance(p, Params):
        raise TypeError("aplcl.torch.linear_apl_loss: params must be an aplcl.Params")
    red = reduction if reduction is not None else p.reduction
    if red not in ("sum", "mean", "none"):
        raise ValueError(f"aplcl.torch: reduction {red!r} is not 'sum', 'mean' or 'none'")
    lead = tuple(input.shape[:-1])
    rows = int(math.prod(lead))
    x = input.reshape(rows, dim)
    f64 = input.dtype == torch.float64
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if t is not None and not ((t.dtype == torch.float64) if f64 else t.dtype in _FLOATS):
            raise TypeError(f"aplcl.torch.linear_apl_loss: {name} of dtype {t.dtype}; use float32, "
                            "float16 or bfloat16 (or float64 for input, weight and bias together)")
    if _transforms_active():
        raise RuntimeError(
            "aplcl.torch.linear_apl_loss inside a torch.func/functorch transform (vmap, grad): "
            "the head chunks its rows and reads its targets' values (and, in float32, aplcl's C "
            "library reads raw memory), which those transforms do not allow. Loop over the batch, "
            "or use aplcl.torch.apl_loss on float64 logits, which the transforms support.")
    targets = _Targets(target, rows, cols, lead)
    tbytes = 1 if (targets.dense is None or targets.fmt == C["APLCL_TARGET_U8"]) else 4
    chunk = _chunk_rows(rows, cols, chunk_rows, max_bytes, tbytes)
    wts = apt._weights(loss_weight, pos_weight, lead + (cols,)) if (
        loss_weight is not None or pos_weight is not None) else None
    if f64:
        plan = _Plan(None, p, red, targets, wts, chunk, rows, cols, lead)
        plan.wts_raw = (None if pos_weight is None else apt._as_weight64(pos_weight, "pos_weight"),
                        None if loss_weight is None else apt._as_weight64(loss_weight, "weight"))
        return _float64(plan, x, weight, bias)
    if red == "mean" and not (p.normalizer and p.normalizer > 0):
        cnt = targets.count()
        # every chunk divides by the whole call's count; none counted: sum of nothing, 0
        p = p.copy(normalizer=float(cnt)) if cnt > 0 else p.copy(reduction="sum")
        red = "mean" if cnt > 0 else "sum"
    ctx = context if context is not None else apt.default_context()
    plan = _Plan(ctx, p, red, targets, wts, chunk, rows, cols, lead)
    xc = x.contiguous()
    Wc = weight.contiguous()
    bc = None if bias is None else bias.contiguous()
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad
                                       for t in (input, weight, bias)):
        return _LinearAPLFunction.apply(xc, Wc, bc, plan)
    with torch.no_grad():
        loss, el, _, _, _ = _compute(plan, xc, Wc, bc, (False, False, False))
    if red == "none":
        return el.view(lead + (cols,))
    return torch.tensor(loss, dtype=torch.float32)


class LinearAPLLoss(torch.nn.Module):
    """A linear layer (in_features -> out_features labels, like torch.nn.Linear: .weight (C x D)
    and .bias) and the APL loss of its output, computed in chunks of rows so that the N x C
    logits and their gradient never exist in full: forward(input, target) returns
    APLLoss(reduction=...)(layer(input), target) and backward gives input, weight and bias their
    gradients. The loss is set by params (an aplcl.Params, e.g. aplcl.Params.bce()) or by the
    APLLoss constructor arguments (gamma_neg, gamma_pos, clip, eps,
    disable_torch_grad_focal_loss, alpha, beta). loss_weight (the per-element/label/row weight of
    torch.nn.BCEWithLogitsLoss, named so as not to clash with the layer's weight) and pos_weight
    are constant buffers. reduction 'mean' (default), 'sum' or 'none'. chunk_rows or max_bytes
    (default 64 MiB of float32 logits and dense targets per chunk) bound the memory. Targets:
    see linear_apl_loss (dense, lists of label indices, or a CSR pair)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 params: Optional[Params] = None, gamma_neg: float = 4, gamma_pos: float = 0,
                 clip: Optional[float] = 0.05, eps: float = 1e-8,
                 disable_torch_grad_focal_loss: bool = True,
                 alpha: Optional[Sequence[float]] = None, beta: Optional[Sequence[float]] = None,
                 loss_weight: Optional[Any] = None, pos_weight: Optional[Any] = None,
                 reduction: str = "mean", chunk_rows: Optional[int] = None,
                 max_bytes: Optional[int] = None, context: Optional[Context] = None,
                 device=None, dtype=None):
        super().__init__()
        from . import torch as apt

        if reduction not in ("sum", "mean", "none"):
            raise ValueError(f"LinearAPLLoss: reduction {reduction!r} is not 'sum', 'mean' or "
                             "'none'")
        self.in_features, self.out_features = in_features, out_features
        fk = {"device": device, "dtype": dtype}
        self.weight = torch.nn.Parameter(torch.empty(out_features, in_features, **fk))
        if bias:
            self.bias = torch.nn.Parameter(torch.empty(out_features, **fk))
        else:
            self.register_parameter("bias", None)
        self.register_buffer("loss_weight",
                             None if loss_weight is None else torch.as_tensor(loss_weight))
        self.register_buffer("pos_weight",
                             None if pos_weight is None else torch.as_tensor(pos_weight))
        # the loss parameters: an APLLoss (its epsilon_* attributes included) unless params given
        self.params_override = None if params is None else params.copy()
        self.criterion = apt.APLLoss(gamma_neg, gamma_pos, clip, eps,
                                     disable_torch_grad_focal_loss, alpha, beta, reduction)
        self.reduction = reduction
        self.chunk_rows, self.max_bytes = chunk_rows, max_bytes
        self.context = context
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Linear's initialisation."""
        torch.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            torch.nn.init.uniform_(self.bias, -bound, bound)

    def params(self) -> Params:
        """The aplcl.Params this module computes with now."""
        if self.params_override is not None:
            return self.params_override.copy()
        return self.criterion.params()

    def forward(self, input: torch.Tensor, target: Target) -> torch.Tensor:
        return linear_apl_loss(input, self.weight, self.bias, target, self.params(),
                               self.reduction, self.loss_weight, self.pos_weight,
                               self.chunk_rows, self.max_bytes, self.context)

    def logits(self, input: torch.Tensor) -> torch.Tensor:
        """The layer's output (N x C in full: for evaluation on small batches)."""
        return torch.nn.functional.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, reduction={self.reduction!r}")
