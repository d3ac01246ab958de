"""_cuda.py: aplcl.torch on CUDA tensors, through the C library's CUDA entry (include/aplcl_cuda.h).

The loss runs on torch.cuda.current_stream() of the input's device, in the device's primary
context (PyTorch's), on the tensors' own memory; its scratch is a uint8 tensor from PyTorch's
caching allocator (stream-ordered), the scalar loss a 0-dim float32 tensor written on the stream.
Nothing synchronises the host. One aplcl CUDA context per device, created on first use.
Not here: the autograd Function and argument handling (torch.py), CPU tensors (the OpenCL path).
Status: compiled and tested without a GPU (the dispatch, with a fake entry point); the real runs
are bench/gpu/run.sh's (docs/cuda.md).
"""
import ctypes
import os
import threading

import torch

from . import _core, _lib
from ._lib import C

_P = ctypes.POINTER
_vp = ctypes.c_void_p
_sz = ctypes.c_size_t


class aplcl_cuda_targets(ctypes.Structure):
    _fields_ = [("format", ctypes.c_int), ("data", _vp), ("data_offset", _sz), ("indices", _vp),
                ("indices_offset", _sz), ("nnz", _sz), ("ignore", _vp), ("ignore_offset", _sz),
                ("label_count", _sz), ("label_offset", _sz)]


class aplcl_cuda_io(ctypes.Structure):
    """aplcl_io with device pointers; the weights are aplcl_weights (device pointers here)."""
    _fields_ = [("dtype", ctypes.c_int), ("logits", _vp), ("logits_offset", _sz),
                ("targets", aplcl_cuda_targets), ("grad", _vp), ("grad_offset", _sz),
                ("grad_accumulate", ctypes.c_int), ("elem_loss", _vp), ("elem_loss_offset", _sz),
                ("loss", _vp), ("loss_offset", _sz), ("counts", _vp), ("counts_offset", _sz),
                ("weights", _lib.aplcl_weights)]


class aplcl_cuda_options(ctypes.Structure):
    _fields_ = [("allow_nvrtc", ctypes.c_int), ("cache_dir", ctypes.c_char_p),
                ("cuda_library", ctypes.c_char_p), ("nvrtc_library", ctypes.c_char_p)]


# the header's layout (_layout.json, from python/layout.c) against these: a drift fails the import
_lib.check_layout(_lib.layout, (aplcl_cuda_targets, aplcl_cuda_io, aplcl_cuda_options))


def _bind(name, restype, *argtypes):
    f = getattr(_lib.lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


_ctx_create = _bind("aplcl_cuda_ctx_create", ctypes.c_int, _P(_vp), ctypes.c_int,
                    _P(aplcl_cuda_options))
_options_default = _bind("aplcl_cuda_options_default", aplcl_cuda_options)
_scratch_bytes = _bind("aplcl_cuda_scratch_bytes", _sz, _vp)
_compute = _bind("aplcl_cuda_compute_io", ctypes.c_int, _vp, _P(_lib.aplcl_params), _sz, _sz,
                 _P(aplcl_cuda_io), _vp, _sz, _vp)
_describe = _bind("aplcl_cuda_ctx_describe", ctypes.c_char_p, _vp)
_last_error = _bind("aplcl_cuda_last_error", ctypes.c_int)

_DTYPES = {torch.float32: C["APLCL_DTYPE_F32"], torch.float16: C["APLCL_DTYPE_F16"],
           torch.bfloat16: C["APLCL_DTYPE_BF16"]}
_contexts = {}
_lock = threading.Lock()


def wants(*tensors):
    """Whether a call goes this way: any of its tensors is a CUDA tensor."""
    return any(t is not None and t.device.type == "cuda" for t in tensors)


def _options():
    """The context options, with the driver and NVRTC libraries the environment names
    (APLCL_CUDA_LIBRARY, APLCL_NVRTC_LIBRARY: the C library reads neither, so the binding maps
    them, as the tools do in common/tool_util.c)."""
    o = _options_default()
    for field, var in (("cuda_library", "APLCL_CUDA_LIBRARY"),
                       ("nvrtc_library", "APLCL_NVRTC_LIBRARY")):
        value = os.environ.get(var)
        if value:
            setattr(o, field, os.fsencode(value))
    return o


def _context(index):
    """The aplcl CUDA context of device `index` (created once, kept for the process)."""
    with _lock:
        if index not in _contexts:
            h = _vp()
            o = _options()  # kept alive across the call: its strings are read during it
            st = _ctx_create(ctypes.byref(h), index, ctypes.byref(o))
            if st != 0:
                raise RuntimeError("aplcl.torch: CUDA device %d: %s (%s; CUresult %d)"
                                   % (index, _lib.STATUS.get(st, ("?",))[0],
                                      _lib.status_string(st).decode(), _last_error()))
            _contexts[index] = h.value
        return _contexts[index]


def describe(index=0):
    """What aplcl runs on CUDA device `index`, e.g. "sm_90 embedded (NVRTC 12.9)"."""
    return _describe(_context(index)).decode()


def _stream(device):
    return torch.cuda.current_stream(device).cuda_stream


def _ptr(t):
    return None if t is None else t.data_ptr()


def run(params, reduction, x, y, fmt, want_grad, wts=None):
    """As torch._run, for CUDA tensors: (loss tensor, grad tensor or None), on the device."""
    dev = x.device
    for t, name in ((y, "the target"), (None if wts is None else wts[0], "pos_weight"),
                    (None if wts is None else wts[1], "weight")):
        if t is not None and t.device != dev:
            raise RuntimeError("aplcl.torch: %s is on %s, the input on %s; put them on one device"
                               % (name, t.device, dev))
    if x.dtype not in _DTYPES:
        raise TypeError("aplcl.torch: CUDA input of dtype %s; use float32, float16 or bfloat16"
                        % x.dtype)
    ctx = _context(dev.index if dev.index is not None else 0)
    rows, cols = _core._shape2(x.shape)
    g = torch.empty_like(x) if want_grad else None
    el = torch.empty(x.shape, dtype=torch.float32, device=dev) if reduction == "none" else None
    loss = torch.empty((), dtype=torch.float32, device=dev)
    io = aplcl_cuda_io()
    io.dtype = _DTYPES[x.dtype]
    io.logits, io.grad, io.elem_loss, io.loss = _ptr(x), _ptr(g), _ptr(el), _ptr(loss)
    io.targets.format = fmt
    io.targets.data = _ptr(y)
    if wts is not None:
        w = io.weights
        w.pos_weight, w.weight, w.kind = _ptr(wts[0]), _ptr(wts[1]), wts[2]
    nbytes = _scratch_bytes(ctx)
    scratch = torch.empty(nbytes, dtype=torch.uint8, device=dev)
    p = _core._params(params, reduction)
    st = _compute(ctx, ctypes.byref(p), rows, cols, ctypes.byref(io), _ptr(scratch), nbytes,
                  _stream(dev))
    _core._check(st, "aplcl.torch (CUDA)")
    return (el if el is not None else loss), g
