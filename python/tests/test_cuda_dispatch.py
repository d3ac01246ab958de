"""The CUDA dispatch of aplcl.torch (python/aplcl/_cuda.py) without a GPU: the C entry and the
stream are replaced by fakes, and CPU tensors are routed as if they were CUDA tensors. Checks what
reaches aplcl_cuda_compute_io (pointers, dtype, format, weights, scratch size, stream) and that the
gradient it writes is what backward returns. The real CUDA runs are bench/gpu/run.sh's."""
import ctypes

import pytest
import torch

import aplcl
import aplcl.torch as at
from aplcl import _cuda
from aplcl._lib import C


@pytest.fixture
def fake_cuda(monkeypatch):
    calls = []

    def compute(ctx, p, rows, cols, io, scratch, nbytes, stream):
        io = io._obj
        calls.append(dict(ctx=ctx, rows=rows, cols=cols, dtype=io.dtype, logits=io.logits,
                          grad=io.grad, targets=io.targets.data, fmt=io.targets.format,
                          pos_weight=io.weights.pos_weight, weight=io.weights.weight,
                          kind=io.weights.kind,
                          scratch=scratch, nbytes=nbytes, stream=stream,
                          reduction=p._obj.reduction, elem=io.elem_loss))
        n = rows * cols
        if io.grad:  # the "kernel": grad = 2 x (float32), loss = 7
            xs = (ctypes.c_float * n).from_address(io.logits)
            gs = (ctypes.c_float * n).from_address(io.grad)
            for i in range(n):
                gs[i] = 2.0 * xs[i]
        ctypes.c_float.from_address(io.loss).value = 7.0
        return 0

    monkeypatch.setattr(_cuda, "wants", lambda *ts: True)
    monkeypatch.setattr(_cuda, "_context", lambda index: 1234)
    monkeypatch.setattr(_cuda, "_scratch_bytes", lambda ctx: 4096)
    monkeypatch.setattr(_cuda, "_stream", lambda device: 0xABC)
    monkeypatch.setattr(_cuda, "_compute", compute)
    return calls


def test_apl_loss_goes_through_the_cuda_entry(fake_cuda):
    x = torch.randn(3, 5, requires_grad=True)
    y = (torch.rand(3, 5) < 0.3).float()
    loss = at.APLLoss(reduction="mean")(x, y)
    assert float(loss) == 7.0
    loss.backward()
    assert torch.equal(x.grad, 2 * x.detach())
    c = fake_cuda[0]
    assert (c["ctx"], c["rows"], c["cols"], c["stream"]) == (1234, 3, 5, 0xABC)
    assert c["dtype"] == C["APLCL_DTYPE_F32"] and c["fmt"] == C["APLCL_TARGET_F32"]
    assert c["logits"] == x.data_ptr() and c["grad"] not in (None, 0)
    assert c["nbytes"] == 4096 and c["scratch"]
    assert c["reduction"] == C["APLCL_REDUCE_MEAN"]
    assert c["pos_weight"] is None and c["weight"] is None and c["elem"] is None


def test_u8_targets_weights_and_none(fake_cuda):
    x = torch.randn(4, 6)
    y = torch.randint(0, 2, (4, 6), dtype=torch.uint8)
    pw = torch.rand(6) + 0.5
    out = at.BCEWithLogitsLoss(reduction="none", pos_weight=pw)(x, y)
    assert out.shape == (4, 6) and out.dtype == torch.float32
    c = fake_cuda[0]
    assert c["fmt"] == C["APLCL_TARGET_U8"] and c["elem"] and c["grad"] is None
    assert c["pos_weight"] is not None and c["weight"] is None


def test_options_from_the_environment(monkeypatch):
    """The C library reads no APLCL_CUDA_LIBRARY / APLCL_NVRTC_LIBRARY: the binding maps them."""
    monkeypatch.delenv("APLCL_CUDA_LIBRARY", raising=False)
    monkeypatch.setenv("APLCL_NVRTC_LIBRARY", "")
    o = _cuda._options()
    assert o.allow_nvrtc == 1 and o.cuda_library is None and o.nvrtc_library is None
    monkeypatch.setenv("APLCL_CUDA_LIBRARY", "/x/libcuda.so.1")
    monkeypatch.setenv("APLCL_NVRTC_LIBRARY", "/y/libnvrtc.so.12")
    o = _cuda._options()
    assert o.cuda_library == b"/x/libcuda.so.1" and o.nvrtc_library == b"/y/libnvrtc.so.12"


def test_no_driver_is_a_clear_error(monkeypatch):
    """A missing driver library: RuntimeError naming the status, no crash (real C entry)."""
    monkeypatch.setenv("APLCL_CUDA_LIBRARY", "/nonexistent/libcuda.so.1")
    monkeypatch.setattr(_cuda, "_contexts", {})
    with pytest.raises(RuntimeError, match="APLCL_ERR_CUDA_UNAVAILABLE|APLCL_ERR_INVALID_OPTION"):
        _cuda._context(0)


def test_other_dtypes_and_mixed_devices():
    x = torch.zeros(2, 2, dtype=torch.float64)
    with pytest.raises(TypeError, match="CUDA input of dtype"):
        _cuda.run(aplcl.Params.default(), "sum", x, x, 0, False)

    class Dev:  # a target "on another device"
        device = torch.device("cuda", 1)
    xf = torch.zeros(2, 2)
    with pytest.raises(RuntimeError, match="put them on one device"):
        _cuda.run(aplcl.Params.default(), "sum", xf, Dev(), 0, False)


def test_wants_only_cuda_tensors():
    assert not _cuda.wants(torch.zeros(1), None)
