"""_core.py: aplcl's Python API over numpy arrays and pyopencl arrays.

Params (the loss parameters and presets), Context (an aplcl context: compute on numpy arrays
through the blocking host path, zero-copy where the device shares host memory; on
pyopencl.array.Array's through the device path on the caller's queue, without blocking),
reference (the float64 CPU reference), devices, and Error. The PyTorch front end is aplcl/torch.py.
"""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np

from . import _lib
from ._lib import C

_REDUCTIONS = {"sum": C["APLCL_REDUCE_SUM"], "mean": C["APLCL_REDUCE_MEAN"],
               "none": C["APLCL_REDUCE_NONE"]}
_REDUCTION_NAMES = {v: k for k, v in _REDUCTIONS.items()}


class Error(RuntimeError):
    """A failed aplcl call: .status (the C value), .name ("APLCL_ERR_INVALID_TARGET"), .message
    (the library's text) and, for OpenCL failures, .cl_error (the raw OpenCL code)."""

    def __init__(self, status, what="", cl_error=None, build_log=None):
        self.status = int(status)
        self.name, self.message = _lib.STATUS.get(self.status, ("unknown", "unknown aplcl status"))
        self.cl_error = cl_error
        self.build_log = build_log
        text = f"{what + ': ' if what else ''}{self.name}: {self.message}"
        if cl_error:
            text += f" (OpenCL error {cl_error})"
        if build_log:
            text += "\n" + build_log
        self._what = what
        super().__init__(text)

    def __reduce__(self):
        # RuntimeError pickles as cls(*args), args being the text: an Error raised in a
        # DataLoader worker or a multiprocessing pool could then not reach the parent
        return (Error, (self.status, self._what, self.cl_error, self.build_log))


def _check(status, what=""):
    if status != 0:
        cl_err = int(_lib.last_cl_error()) or None
        log = None
        if _lib.STATUS.get(status, ("",))[0] == "APLCL_ERR_KERNEL_BUILD":
            log = (_lib.last_build_log() or b"").decode(errors="replace")
        raise Error(status, what, cl_err, log)


def _decimal(v):
    return float(str(np.float32(v)))


class Params:
    """The loss parameters of aplcl_params (docs/apl-spec.md), as attributes: gamma_pos,
    gamma_neg, clip, eps, alpha and beta (sequences of the leading Taylor coefficients; n_alpha and
    n_beta are their lengths), focus_grad (bool: differentiate the focusing weight), reduction
    ('sum', 'mean' or 'none'), normalizer (mean: divide by this; <= 0: by the non-ignored count)
    and grad_scale. Params() is Params.default(); keyword arguments override fields."""

    _FIELDS = ("gamma_pos", "gamma_neg", "clip", "eps", "alpha", "beta", "focus_grad",
               "reduction", "normalizer", "grad_scale")

    def __init__(self, **fields: Any) -> None:
        self._set_from_c(_lib.params_default())
        self.update(**fields)

    def update(self, **fields: Any) -> "Params":
        for k, v in fields.items():
            if k not in self._FIELDS:
                raise TypeError(f"aplcl.Params has no field {k!r} (fields: "
                                f"{', '.join(self._FIELDS)})")
            setattr(self, k, v)
        return self

    def _set_from_c(self, c):
        # float fields as the shortest decimal that rounds to the float (0.05, not 0.0500000007)
        f = _decimal
        self.gamma_pos, self.gamma_neg, self.clip, self.eps = (f(c.gamma_pos), f(c.gamma_neg),
                                                               f(c.clip), f(c.eps))
        self.alpha = tuple(f(c.alpha[i]) for i in range(c.n_alpha))
        self.beta = tuple(f(c.beta[i]) for i in range(c.n_beta))
        self.focus_grad = bool(c.focus_grad)
        self.reduction = _REDUCTION_NAMES.get(c.reduction, c.reduction)
        self.normalizer, self.grad_scale = float(c.normalizer), f(c.grad_scale)

    @classmethod
    def _from_c(cls, c):
        p = cls.__new__(cls)
        p._set_from_c(c)
        return p

    @property
    def n_alpha(self):
        return len(self.alpha)

    @property
    def n_beta(self):
        return len(self.beta)

    def to_c(self):
        """The aplcl_params struct (raises ValueError for what cannot be put in it; the C side
        checks the ranges: validate())."""
        c = _lib.aplcl_params()
        c.gamma_pos, c.gamma_neg, c.clip, c.eps = (self.gamma_pos, self.gamma_neg, self.clip,
                                                  self.eps)
        for name in ("alpha", "beta"):
            vals = tuple(getattr(self, name) or ())
            if len(vals) > _lib.MAX_TERMS:
                raise ValueError(f"aplcl.Params.{name}: at most {_lib.MAX_TERMS} coefficients, got "
                                 f"{len(vals)}")
            setattr(c, "n_" + name, len(vals))
            arr = getattr(c, name)
            for i, v in enumerate(vals):
                arr[i] = v
        c.focus_grad = 1 if self.focus_grad else 0
        red = self.reduction
        if isinstance(red, str):
            if red not in _REDUCTIONS:
                raise ValueError(f"aplcl.Params.reduction: {red!r} is not 'sum', 'mean' or 'none'")
            red = _REDUCTIONS[red]
        c.reduction = int(red)
        c.normalizer, c.grad_scale = self.normalizer, self.grad_scale
        return c

    def validate(self) -> "Params":
        """Raises aplcl.Error (APLCL_ERR_INVALID_PARAMS) when the C library rejects these."""
        c = self.to_c()
        _check(_lib.params_validate(ctypes.byref(c)), "aplcl.Params")
        return self

    def copy(self, **fields: Any) -> "Params":
        return Params._from_c(self.to_c()).update(**fields)

    def __eq__(self, other):
        return isinstance(other, Params) and all(
            getattr(self, k) == getattr(other, k) for k in self._FIELDS)

    def __repr__(self):
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._FIELDS)
        return f"aplcl.Params({fields})"

    @classmethod
    def default(cls) -> "Params":
        """Reference APL: gamma_pos 0, gamma_neg 4, clip 0.05, eps 1e-8, alpha (0, 1.75)."""
        return cls._from_c(_lib.params_default())

    @classmethod
    def bce(cls) -> "Params":
        return cls._from_c(_lib.params_bce())

    @classmethod
    def focal(cls, gamma: float) -> "Params":
        return cls._from_c(_lib.params_focal(gamma))

    @classmethod
    def asl(cls, gamma_neg: float = 4.0, gamma_pos: float = 0.0, clip: float = 0.05) -> "Params":
        return cls._from_c(_lib.params_asl(gamma_neg, gamma_pos, clip))

    @classmethod
    def poly1(cls, epsilon: float = 1.0) -> "Params":
        return cls._from_c(_lib.params_poly1(epsilon))


def _params(params, reduction=None):
    p = Params.default() if params is None else params
    if not isinstance(p, Params):
        raise TypeError(f"aplcl: params must be an aplcl.Params or None, not {type(p).__name__}")
    c = p.to_c()
    if reduction is not None:
        if reduction not in _REDUCTIONS:
            raise ValueError(f"aplcl: reduction {reduction!r} is not 'sum', 'mean' or 'none'")
        c.reduction = _REDUCTIONS[reduction]
    return c


def _validated(params, reduction=None):
    """_params, then the C library's range check: what an empty call (a no-op that reaches no C
    compute call) still checks, so that it fails where a non-empty call would."""
    c = _params(params, reduction)
    _check(_lib.params_validate(ctypes.byref(c)), "aplcl")
    return c


_DTYPES = {np.dtype(np.float32): C["APLCL_DTYPE_F32"], np.dtype(np.float16): C["APLCL_DTYPE_F16"]}


WEIGHT_KINDS = {"element": C["APLCL_WEIGHT_ELEMENT"], "label": C["APLCL_WEIGHT_LABEL"],
                "row": C["APLCL_WEIGHT_ROW"]}


def _shape2(shape):
    """rows x cols of an array: the last axis is the labels, every other axis rows."""
    if len(shape) == 0:
        return 1, 1
    return int(math.prod(shape[:-1])), int(shape[-1])


def _contig(a, dtype=None):
    """a as a C-contiguous array (of dtype), copied only when needed; keeps 0-d arrays 0-d."""
    a = np.asarray(a, dtype=dtype)
    return a if a.flags.c_contiguous else a.copy(order="C")


def _np_targets(t, shape):
    """Targets as a contiguous float32 or uint8 array and its aplcl format; bool is uint8 0/1, any
    other real dtype becomes float32 (negative = ignored)."""
    t = np.asarray(t)
    if t.shape != tuple(shape):
        raise ValueError(f"aplcl: targets have shape {t.shape}, logits {tuple(shape)}; they must "
                         "match")
    if t.dtype == np.bool_:
        return _contig(t).view(np.uint8), C["APLCL_TARGET_U8"]
    if t.dtype == np.uint8:
        return _contig(t), C["APLCL_TARGET_U8"]
    if t.dtype.kind not in "fiu":
        raise TypeError(f"aplcl: targets of dtype {t.dtype}; use float32, uint8 (255 = ignore) or "
                        "bool")
    return _contig(t, np.float32), C["APLCL_TARGET_F32"]


def _np_logits(x):
    x = np.asarray(x)
    if x.dtype not in _DTYPES:
        raise TypeError(f"aplcl: logits of dtype {x.dtype}; Context.compute takes float32 or "
                        "float16 (use aplcl.reference for a float64 check, or "
                        ".astype(np.float32))")
    return _contig(x)


def _check_output(out, name, inputs):
    """Refuses an output array the library would write into although the caller cannot see the
    write as intended: a read-only array (numpy's writeable flag off: the C code would write
    through it anyway) or one that shares memory with an input."""
    if not out.flags.writeable:
        raise ValueError(f"aplcl: {name} is read-only (writeable is False); pass a writable array")
    for iname, a in inputs:
        if a is not None and np.shares_memory(out, a):
            raise ValueError(f"aplcl: {name} shares memory with the {iname}; pass a separate array")


def _is_cl_array(a):
    return type(a).__module__.startswith("pyopencl") and hasattr(a, "base_data")


class Context:
    """An aplcl context: one OpenCL device, its kernels, and the queue its work goes to.

    Context(device=None): device as `aplcl devices` lists it ("P:D" or a name substring; None:
    $APLCL_DEVICE, else the first GPU, else the first device). Context.from_queue(queue): on a
    pyopencl CommandQueue, so that compute() on pyopencl arrays runs on it. Calls from several
    threads are safe (the C library's "threads" rules). close() (or a with block) releases it."""

    def __init__(self, device: Optional[str] = None) -> None:
        h = ctypes.c_void_p()
        spec = None if device is None else str(device).encode()
        _check(_lib.ctx_create(ctypes.byref(h), spec), f"aplcl.Context({device!r})")
        self._h: Optional[ctypes.c_void_p] = h
        self._queue: Any = None
        self._spec = None if device is None else str(device)

    @classmethod
    def from_queue(cls, queue: Any) -> "Context":
        """A context on a pyopencl.CommandQueue (and its context and device); the queue is retained
        by the C library. compute() on pyopencl arrays of that OpenCL context runs on it."""
        if not hasattr(queue, "int_ptr"):
            raise TypeError("aplcl.Context.from_queue: expected a pyopencl.CommandQueue, got "
                            f"{type(queue).__name__}")
        self = cls.__new__(cls)
        h = ctypes.c_void_p()
        _check(_lib.ctx_create_from_queue(ctypes.byref(h), ctypes.c_void_p(queue.int_ptr)),
               "aplcl.Context.from_queue")
        self._h = h
        self._queue = queue
        self._spec = None
        return self

    # A context is a handle on a device, like torch.device: copies share it (a module holding one
    # deep-copies without opening the device again). A pickle carries the device spec and opens a
    # new context on that device when loaded; a context on a caller's pyopencl queue cannot be
    # pickled (the queue is not), nor a closed one.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        if not getattr(self, "_h", None):
            raise TypeError("aplcl.Context: a closed context cannot be pickled")
        if self._queue is not None:
            raise TypeError("aplcl.Context.from_queue: a context on a pyopencl queue cannot be "
                            "pickled (the queue is not picklable); pickle the loss without it "
                            "(context=None) and set .context after loading")
        return (Context, (self._spec if self._spec is not None else self._resolved_spec(),))

    def _resolved_spec(self):
        """The "P:D" spec of this context's device (the first device of that name); None when
        the listing has no device of that name."""
        name = self.device_name
        for d in devices():
            if d.device_name == name:
                return d.spec
        return None

    @property
    def handle(self):
        if not self._h:
            raise ValueError("aplcl.Context: used after close()")
        return self._h

    @property
    def device_name(self) -> str:
        return _lib.ctx_device_name(self.handle).decode(errors="replace")

    def close(self) -> None:
        h, self._h = getattr(self, "_h", None), None
        if h:
            _lib.ctx_destroy(h)

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"aplcl.Context({self.device_name if self._h else 'closed'!r})"

    def last_counts(self):
        """(elements counted, invalid targets, non-finite logits, invalid weights) of this
        Context's last host call from Python (the C call returns them; this object keeps them)."""
        return getattr(self, "_last_counts", (0,) * C["APLCL_COUNT_LEN"])

    def compute(self, logits: Any, targets: Any, params: Optional[Params] = None, grad: bool = True,
                elem_loss: Any = None) -> Tuple[Any, Any]:
        """The loss and its gradient: (loss, grad).

        numpy: logits float32 or float16 (any shape; the last axis is the labels), targets of the
        same shape: float32 (1, 0, soft in between, negative = ignored), uint8 (1, 0, 255 =
        ignored) or bool. Blocking; loss is a Python float (the reduction params.reduction says;
        for 'none', the plain sum), grad an array like the logits (None with grad=False).
        elem_loss: an optional float32 array of the logits' shape that receives the per-element
        losses. Invalid targets or non-finite logits raise aplcl.Error after the outputs are
        written (those elements 0).

        pyopencl.array.Array's (of this context's OpenCL context; Context.from_queue): nothing is
        copied or waited for. The work waits for the arrays' events and runs on the context's
        queue; returns (loss, grad) as device arrays (loss a 0-d float32 array) whose .events hold
        the completion event. Invalid targets and non-finite logits are not checked on the host
        there (they add nothing, as in the C device path)."""
        if _is_cl_array(logits) or _is_cl_array(targets):
            return self._compute_cl(logits, targets, params, grad, elem_loss)
        x = _np_logits(logits)
        t, fmt = _np_targets(targets, x.shape)
        g = np.empty_like(x) if grad else None
        if elem_loss is not None:
            if (not isinstance(elem_loss, np.ndarray) or elem_loss.dtype != np.float32
                    or elem_loss.shape != x.shape or not elem_loss.flags.c_contiguous):
                raise ValueError("aplcl: elem_loss must be a C-contiguous float32 array of shape "
                                 f"{x.shape}")
            _check_output(elem_loss, "elem_loss", (("logits", x), ("targets", t)))
        if x.size == 0:  # nothing to compute (the C library takes no empty arrays): a no-op
            _validated(params)  # the same parameter errors as a non-empty call
            return 0.0, g
        ptrs = (x.ctypes.data, t.ctypes.data, g.ctypes.data if g is not None else None,
                elem_loss.ctypes.data if elem_loss is not None else None)
        rows, cols = _shape2(x.shape)
        loss = self._host(params, None, rows, cols, _DTYPES[x.dtype], fmt, ptrs)
        return loss, g

    def _host(self, params, reduction, rows, cols, dtype, fmt, ptrs, weights=None):
        """The blocking C host call on raw pointers (logits, targets, grad, elem_loss; the last
        two may be None) to contiguous memory: the reduced loss. weights: None or
        (pos_weight pointer or None, weight pointer or None, aplcl weight kind), float32 arrays
        the caller keeps alive."""
        p = _params(params, reduction)
        io = _lib.aplcl_host_io()
        io.dtype, io.logits, io.target_format, io.targets = dtype, ptrs[0], fmt, ptrs[1]
        io.grad, io.elem_loss = ptrs[2], ptrs[3]
        if weights is not None:
            io.weights.pos_weight, io.weights.weight, io.weights.kind = weights
        st = _lib.host_compute_io(self.handle, ctypes.byref(p), rows, cols, ctypes.byref(io))
        self._last_counts = tuple(int(v) for v in io.counts)
        _check(st, "aplcl.Context.compute")
        return io.loss

    def _compute_cl(self, logits, targets, params, grad, elem_loss):
        import pyopencl as cl
        import pyopencl.array as cla

        if not (_is_cl_array(logits) and _is_cl_array(targets)):
            raise TypeError("aplcl: logits and targets must both be pyopencl arrays or both not")
        if logits.dtype not in _DTYPES:
            raise TypeError(f"aplcl: logits of dtype {logits.dtype}; use float32 or float16")
        if targets.shape != logits.shape:
            raise ValueError(f"aplcl: targets have shape {targets.shape}, logits {logits.shape}; "
                             "they must match")
        if targets.dtype == np.float32:
            fmt = C["APLCL_TARGET_F32"]
        elif targets.dtype in (np.uint8, np.bool_):
            fmt = C["APLCL_TARGET_U8"]
        else:
            raise TypeError(f"aplcl: device targets of dtype {targets.dtype}; use float32, uint8 "
                            "or bool")
        if logits.size == 0:  # nothing to compute: a no-op, as on numpy arrays
            queue = self._queue or logits.queue
            _validated(params)
            return cla.zeros(queue, (), np.float32), (cla.empty_like(logits) if grad else None)
        for name, a in (("logits", logits), ("targets", targets)):
            if not a.flags.c_contiguous or a.base_data is None:
                raise ValueError(f"aplcl: {name} must be a C-contiguous, non-empty pyopencl array")
        queue = self._queue or logits.queue
        p = _params(params)
        rows, cols = _shape2(logits.shape)
        io = _lib.aplcl_io()
        io.dtype = _DTYPES[logits.dtype]
        io.logits = logits.base_data.int_ptr
        io.logits_offset = logits.offset // logits.dtype.itemsize
        io.targets.format = fmt
        io.targets.data = targets.base_data.int_ptr
        io.targets.data_offset = targets.offset // targets.dtype.itemsize
        g = cla.empty_like(logits) if grad else None
        loss = cla.empty(queue, (), np.float32)
        if g is not None:
            io.grad, io.grad_offset = g.base_data.int_ptr, g.offset // g.dtype.itemsize
        if elem_loss is not None:
            if (not _is_cl_array(elem_loss) or elem_loss.dtype != np.float32
                    or elem_loss.shape != logits.shape or not elem_loss.flags.c_contiguous):
                raise ValueError("aplcl: elem_loss must be a C-contiguous float32 pyopencl array "
                                 f"of shape {logits.shape}")
            if elem_loss.base_data.get_info(cl.mem_info.FLAGS) & cl.mem_flags.READ_ONLY:
                raise ValueError("aplcl: elem_loss is in a READ_ONLY OpenCL buffer; the kernel "
                                 "writes it")
            if elem_loss.base_data.int_ptr in (logits.base_data.int_ptr,
                                               targets.base_data.int_ptr):
                raise ValueError("aplcl: elem_loss shares its OpenCL buffer with the logits or "
                                 "targets; pass a separate array")
            io.elem_loss, io.elem_loss_offset = elem_loss.base_data.int_ptr, elem_loss.offset // 4
        io.loss, io.loss_offset = loss.base_data.int_ptr, loss.offset // 4
        waits = [e for a in (logits, targets, elem_loss) if a is not None for e in a.events]
        wait_arr = (_lib.cl_event * max(1, len(waits)))(*[e.int_ptr for e in waits])
        ev = _lib.cl_event()
        st = _lib.compute_io(self.handle, ctypes.byref(p), rows, cols, ctypes.byref(io),
                             len(waits), wait_arr if waits else None, ctypes.byref(ev))
        if st != 0 and _lib.STATUS.get(st, ("",))[0] == "APLCL_ERR_CONTEXT_MISMATCH":
            _check(st, "aplcl.Context.compute (the arrays' OpenCL context is not this aplcl "
                       "context's: make it with aplcl.Context.from_queue(the arrays' queue))")
        _check(st, "aplcl.Context.compute")
        event = cl.Event.from_int_ptr(ev.value, retain=False)
        for out in (g, loss, elem_loss):
            if out is not None:
                out.add_event(event)
        return loss, g


@dataclass(frozen=True)
class Device:
    """One OpenCL device as aplcl lists it; spec ("P:D") selects it in Context(spec)."""

    spec: str
    platform_name: str
    device_name: str
    device_version: str
    driver_version: str
    type: int
    compute_units: int
    global_mem_bytes: int
    max_alloc_bytes: int
    has_fp64: bool


def devices() -> List[Device]:
    """Every OpenCL device on every platform, in `aplcl devices` order (a list of Device)."""
    n = ctypes.c_size_t()
    _check(_lib.list_devices(None, 0, ctypes.byref(n)), "aplcl.devices")
    if n.value == 0:
        return []
    arr = (_lib.aplcl_device_info * n.value)()
    _check(_lib.list_devices(arr, n.value, ctypes.byref(n)), "aplcl.devices")
    out = []
    for d in arr[: n.value]:
        out.append(Device(f"{d.platform_index}:{d.device_index}",
                          d.platform_name.decode(errors="replace"),
                          d.device_name.decode(errors="replace"),
                          d.device_version.decode(errors="replace"),
                          d.driver_version.decode(errors="replace"), int(d.type),
                          int(d.compute_units), int(d.global_mem_bytes), int(d.max_alloc_bytes),
                          bool(d.has_fp64)))
    return out


def reference(logits: Any, targets: Any, params: Optional[Params] = None, grad: bool = True,
              elem_loss: bool = False, reduction: Optional[str] = None,
              pos_weight: Any = None, weight: Any = None,
              weight_kind: str = "element") -> tuple:
    """The CPU reference in double precision (aplcl_ref_compute_io): (loss, grad), grad
    float64 of the logits' shape (None with grad=False); with elem_loss=True, (loss, grad,
    elem_loss). It reads float32 logits, as the C reference does: float16 widens exactly, and
    float64 logits are taken only when every value is a float32 value (else ValueError: rounding
    them silently would make a double-precision check wrong; round with .astype(np.float32), or
    compute in double with aplcl.torch on a float64 tensor). Targets as in Context.compute
    (uint8 255 and negative floats are ignored), read as float32. Optional weights (read as
    float32, see "weights" in include/aplcl.h): pos_weight, one per label; weight, one per
    element, label or row as weight_kind ('element', 'label', 'row') says. Empty logits give
    loss 0 (every reduction) and empty outputs."""
    x = np.asarray(logits)
    if x.dtype.kind != "f":
        raise TypeError(f"aplcl.reference: logits of dtype {x.dtype}; use a float dtype")
    x32 = _contig(x, np.float32)
    if x.dtype.itemsize > 4:
        with np.errstate(invalid="ignore"):
            same = (x32.astype(x.dtype) == x) | (np.isnan(x) & np.isnan(x32))
        if not np.all(same):
            raise ValueError(f"aplcl.reference: {int(np.sum(~same))} of the {x.dtype} logits are "
                             "not float32 values and "
                             "would be rounded; pass logits.astype(np.float32) to accept the "
                             "rounding, or use aplcl.torch on a float64 tensor (computed in "
                             "double)")
    x = x32
    t, fmt = _np_targets(targets, x.shape)
    if fmt == C["APLCL_TARGET_U8"]:
        tf = t.astype(np.float32)
        tf[t == C["APLCL_TARGET_U8_IGNORE"]] = -1.0
        bad = (t > 1) & (t != C["APLCL_TARGET_U8_IGNORE"])
        tf[bad] = np.nan  # an invalid u8 code stays invalid
        t = tf
    p = _params(params, reduction)
    rows, cols = _shape2(x.shape)
    g = np.empty(x.shape, np.float64) if grad else None
    el = np.empty(x.shape, np.float64) if elem_loss else None
    pw = None if pos_weight is None else _contig(pos_weight, np.float32).reshape(-1)
    wt = None if weight is None else _contig(weight, np.float32).reshape(-1)
    kind = WEIGHT_KINDS[weight_kind]
    want = {C["APLCL_WEIGHT_ELEMENT"]: rows * cols, C["APLCL_WEIGHT_LABEL"]: cols,
            C["APLCL_WEIGHT_ROW"]: rows}[kind]
    if (pw is not None and pw.size != cols) or (wt is not None and wt.size != want):
        raise ValueError(f"aplcl.reference: pos_weight needs {cols} values, a {weight_kind} weight "
                         f"{want}")
    if x.size == 0:  # a no-op: loss 0 (the C reference's rule for empty shapes too)
        _validated(params, reduction)
        out = (0.0, g) + ((el,) if elem_loss else ())
        return out
    io = _lib.aplcl_ref_io()
    io.logits, io.targets = x.ctypes.data, t.ctypes.data
    io.target_format = C["APLCL_TARGET_F32"]
    io.weights.pos_weight = pw.ctypes.data if pw is not None else None
    io.weights.weight = wt.ctypes.data if wt is not None else None
    io.weights.kind = kind
    io.grad = g.ctypes.data if g is not None else None
    io.elem_loss = el.ctypes.data if el is not None else None
    st = _lib.ref_compute_io(ctypes.byref(p), rows, cols, ctypes.byref(io))
    _check(st, "aplcl.reference")
    return (io.loss, g, el) if elem_loss else (io.loss, g)
