"""test_head.py: aplcl.torch.LinearAPLLoss / linear_apl_loss against the unfused module
(torch.nn.functional.linear, then aplcl.torch.apl_loss on the full logits).

Values and the gradients of input, weight and bias agree to float32 rounding (the chunked
matmuls sum in another order) for every target form (dense float, bool, uint8 with ignored
entries, lists of label indices, a CSR pair), chunkings that split the rows unevenly, a chunk of
one row, a chunk larger than N, every reduction, weights, presets, float32/float16/bfloat16
inputs; the target forms give the same bits as each other; with sparse targets no operation makes
a tensor of N x C elements. float64 goes through PyTorch operations: gradcheck and second
derivatives there; a second derivative in float32 raises.
"""

import copy
import pickle

import pytest
import torch
import torch.nn.functional as F
from torch.utils._pytree import tree_flatten
from torch.utils._python_dispatch import TorchDispatchMode

import aplcl
from aplcl.torch import LinearAPLLoss, apl_loss, linear_apl_loss


def problem(n=37, d=11, c=23, seed=0, dtype=torch.float32, ignore=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    W = torch.randn(c, d, generator=g) * 0.7
    b = torch.randn(c, generator=g) * 0.5
    y = (torch.rand(n, c, generator=g) < 0.15).float()
    if ignore:
        y[torch.rand(n, c, generator=g) < 0.1] = -1.0
    return x.to(dtype), W.to(dtype), b.to(dtype), y


def grads(fn, x, W, b, gout=None):
    x, W = x.detach().clone().requires_grad_(True), W.detach().clone().requires_grad_(True)
    b = None if b is None else b.detach().clone().requires_grad_(True)
    loss = fn(x, W, b)
    if gout is None:
        loss.backward()
    else:
        loss.backward(gout)
    return loss.detach(), x.grad, W.grad, None if b is None else b.grad


def unfused(y, params=None, reduction="mean", **kw):
    def fn(x, W, b):
        return apl_loss(F.linear(x.float(), W.float(), None if b is None else b.float()), y,
                        params, reduction, **kw)
    return fn


def fused(y, params=None, reduction="mean", **kw):
    def fn(x, W, b):
        return linear_apl_loss(x, W, b, y, params, reduction, **kw)
    return fn


def assert_close_all(got, want, rtol=2e-5):
    for a, w in zip(got, want):
        if w is None:
            assert a is None
            continue
        scale = float(w.abs().max()) if w.numel() else 1.0
        torch.testing.assert_close(a.float(), w.float(), rtol=rtol, atol=rtol * scale + 1e-12)


def sparse_forms(y):
    lists = [torch.nonzero(r > 0.5).flatten().tolist() for r in y]
    indptr = torch.tensor([0] + [len(r) for r in lists]).cumsum(0)
    indices = torch.tensor([i for r in lists for i in r], dtype=torch.int32)
    return lists, (indptr, indices)


@pytest.mark.parametrize("chunk_rows", [1, 5, 36, 37, 100])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_matches_unfused(chunk_rows, reduction):
    x, W, b, y = problem(seed=1, ignore=True)
    gout = torch.randn(37, 23) if reduction == "none" else None
    got = grads(fused(y, reduction=reduction, chunk_rows=chunk_rows), x, W, b, gout)
    want = grads(unfused(y, reduction=reduction), x, W, b, gout)
    assert got[0].dtype == torch.float32 and got[0].shape == want[0].shape
    assert_close_all(got, want)


def test_target_forms_give_the_same_bits():
    x, W, b, y = problem(seed=2)
    lists, csr = sparse_forms(y)
    base = grads(fused(y, chunk_rows=6), x, W, b)
    for yy in (y > 0.5, (y > 0.5).to(torch.uint8), y.double(), lists, csr,
               (csr[0].to(torch.int32), csr[1].to(torch.int64))):
        got = grads(fused(yy, chunk_rows=6), x, W, b)
        for a, w in zip(got, base):
            assert torch.equal(a, w)
    assert_close_all(base, grads(unfused(y), x, W, b))


def test_uint8_ignored_and_mean_count():
    x, W, b, y = problem(seed=3, ignore=True)
    y8 = torch.where(y < 0, torch.tensor(255.0), y).to(torch.uint8)
    for red in ("mean", "sum"):
        a = grads(fused(y8, reduction=red, chunk_rows=4), x, W, b)
        w = grads(unfused(y, reduction=red), x, W, b)
        assert_close_all(a, w)
    # every target ignored: mean is 0 with zero gradients, as the unfused module
    allign = torch.full_like(y, -1.0)
    loss, gx, gW, gb = grads(fused(allign, chunk_rows=4), x, W, b)
    assert float(loss) == 0.0 and not gx.any() and not gW.any() and not gb.any()


@pytest.mark.parametrize("max_bytes", [23 * 5 * 1, 23 * 5 * 3 + 7, 1 << 20])
def test_max_bytes_chunking(max_bytes):
    x, W, b, y = problem(seed=4)
    lists, _ = sparse_forms(y)  # sparse: 4 bytes of logits + 1 of targets per element
    assert_close_all(grads(fused(lists, max_bytes=max_bytes), x, W, b),
                     grads(unfused(y), x, W, b))
    with pytest.raises(ValueError, match="not even one row"):
        linear_apl_loss(x, W, b, lists, max_bytes=23 * 5 - 1)


@pytest.mark.parametrize("preset", ["default", "focus", "bce", "focal", "asl", "poly1"])
def test_presets(preset):
    p = {"default": aplcl.Params(), "focus": aplcl.Params(focus_grad=True),
         "bce": aplcl.Params.bce(), "focal": aplcl.Params.focal(2.0),
         "asl": aplcl.Params.asl(4, 1, 0.05), "poly1": aplcl.Params.poly1(1.0)}[preset]
    x, W, b, y = problem(seed=5, ignore=True)
    assert_close_all(grads(fused(y, p, "sum", chunk_rows=8), x, W, b),
                     grads(unfused(y, p, "sum"), x, W, b))


@pytest.mark.parametrize("wshape", ["label", "row", "element", "pos_only"])
def test_weights(wshape):
    x, W, b, y = problem(seed=6, ignore=True)
    g = torch.Generator().manual_seed(7)
    pw = torch.rand(23, generator=g) + 0.5
    w = {"label": torch.rand(23, generator=g), "row": torch.rand(37, 1, generator=g),
         "element": torch.rand(37, 23, generator=g), "pos_only": None}[wshape]
    for red in ("mean", "sum", "none"):
        gout = torch.rand(37, 23) if red == "none" else None
        assert_close_all(
            grads(fused(y, None, red, loss_weight=w, pos_weight=pw, chunk_rows=7), x, W, b, gout),
            grads(unfused(y, None, red, weight=w, pos_weight=pw), x, W, b, gout))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_inputs_float32_math(dtype):
    x, W, b, y = problem(seed=8, dtype=dtype)
    got = grads(fused(y, chunk_rows=9), x, W, b)
    want = grads(unfused(y), x, W, b)  # the same 16-bit values, float32 math
    assert got[0].dtype == torch.float32
    assert got[1].dtype == dtype and got[2].dtype == dtype and got[3].dtype == dtype
    # the gradients are rounded to the 16-bit type once at the end
    rtol = {torch.float16: 2.0 ** -10, torch.bfloat16: 2.0 ** -7}[dtype]
    assert float(got[0]) == pytest.approx(float(want[0]), rel=2e-5)
    assert_close_all(got[1:], [t.to(dtype) for t in want[1:]], rtol=rtol)
    # mixed: 16-bit input, float32 parameters
    got = grads(fused(y, chunk_rows=9), x, W.float(), b.float())
    want = grads(unfused(y), x, W.float(), b.float())
    assert got[1].dtype == dtype and got[2].dtype == torch.float32
    assert_close_all(got[2:], want[2:])


def test_no_bias_3d_input_and_partial_requires_grad():
    x, W, _, y = problem(n=24, seed=9)
    x3, y3 = x.view(4, 6, 11), y.view(4, 6, 23)
    got = grads(fused(y3, chunk_rows=5), x3, W, None)
    want = grads(unfused(y3), x3, W, None)
    assert got[1].shape == (4, 6, 11)
    assert_close_all(got, want)
    # a frozen layer: only the input's gradient
    xa = x.clone().requires_grad_(True)
    linear_apl_loss(xa, W, None, y, chunk_rows=5).backward()
    assert xa.grad is not None and W.grad is None
    # no gradient wanted: a plain tensor
    loss = linear_apl_loss(x, W, None, y)
    assert not loss.requires_grad
    assert float(loss) == pytest.approx(float(apl_loss(F.linear(x, W), y, reduction="mean")),
                                        rel=1e-6)


def test_incoming_gradient_and_retain_graph():
    x, W, b, y = problem(seed=10)
    a = grads(lambda *t: 3.0 * fused(y, chunk_rows=4)(*t), x, W, b)
    base = grads(fused(y, chunk_rows=4), x, W, b)
    for u, v in zip(a[1:], base[1:]):
        torch.testing.assert_close(u, 3.0 * v, rtol=1e-6, atol=0)
    xa, Wa, ba = (t.clone().requires_grad_(True) for t in (x, W, b))
    loss = linear_apl_loss(xa, Wa, ba, y, chunk_rows=4)
    loss.backward(retain_graph=True)
    loss.backward()
    for u, v in zip((xa.grad, Wa.grad, ba.grad), base[1:]):
        torch.testing.assert_close(u, 2.0 * v, rtol=1e-6, atol=0)


def test_empty_and_errors():
    x, W, b, y = problem(seed=11)
    for red in ("sum", "mean", "none"):
        gout = torch.zeros(0, 23) if red == "none" else None
        loss, gx, gW, gb = grads(fused(y[:0], reduction=red), x[:0], W, b, gout)
        assert gx.shape == (0, 11) and not gW.any() and not gb.any()
        assert loss.shape == ((0, 23) if red == "none" else ())
    # float64 too
    for red in ("sum", "mean", "none"):
        gout = torch.zeros(0, 23, dtype=torch.float64) if red == "none" else None
        loss, gx, gW, gb = grads(fused(y[:0], reduction=red), x[:0].double(), W.double(),
                                 b.double(), gout)
        assert gx.shape == (0, 11) and not gW.any() and not gb.any()
    # no labels (C = 0): a no-op too
    W0, b0 = W[:0], b[:0]
    for red in ("sum", "mean", "none"):
        gout = torch.zeros(37, 0) if red == "none" else None
        for yy in (y[:, :0], [[]] * 37):
            loss, gx, gW, gb = grads(fused(yy, reduction=red), x, W0, b0, gout)
            assert not gx.any() and gW.shape == (0, 11) and gb.shape == (0,)
            assert loss.shape == ((37, 0) if red == "none" else ()) and not loss.any()
    with pytest.raises(ValueError, match="outside"):
        linear_apl_loss(x, W, b, [[23]] + [[]] * 36)
    with pytest.raises(ValueError, match="target lists"):
        linear_apl_loss(x, W, b, [[0]])
    with pytest.raises(ValueError, match="indptr"):
        linear_apl_loss(x, W, b, (torch.tensor([0, 1]), torch.tensor([0])))
    with pytest.raises(ValueError, match="target shape"):
        linear_apl_loss(x, W, b, y[:, :5])
    with pytest.raises(ValueError, match="linear layer"):
        linear_apl_loss(x[:, :3], W, b, y)
    with pytest.raises(ValueError, match="chunk_rows"):
        linear_apl_loss(x, W, b, y, chunk_rows=0)
    with pytest.raises(TypeError, match="float64"):
        linear_apl_loss(x.double(), W, b, y)
    bad = y.clone()
    bad[3, 3] = float("nan")
    with pytest.raises(aplcl.Error, match="INVALID_TARGET"):
        linear_apl_loss(x, W, b, bad)


def test_float64_gradcheck_and_second_derivative():
    x, W, b, y = problem(n=5, d=2, c=4, seed=12, dtype=torch.float64, ignore=True)
    p = aplcl.Params(focus_grad=True)
    for t in (x, W, b):
        t.requires_grad_(True)
    lists = [[0, 2], [], [3], [1], [0, 1, 2, 3]]
    for yy, red in ((y, "mean"), (lists, "sum"), (y, "none")):
        assert torch.autograd.gradcheck(
            lambda a, w, c: linear_apl_loss(a, w, c, yy, p, red, chunk_rows=2), (x, W, b))
    assert torch.autograd.gradgradcheck(
        lambda a, w, c: linear_apl_loss(a, w, c, lists, p, chunk_rows=2), (x, W, b))
    # the same numbers as the unfused float64 path
    for red in ("mean", "sum"):
        u = apl_loss(F.linear(x, W, b), y, p, red)
        v = linear_apl_loss(x, W, b, y, p, red, chunk_rows=2)
        assert float(u) == pytest.approx(float(v), rel=1e-13)


def test_float32_second_derivative_raises():
    x, W, b, y = problem(seed=13)
    Wa = W.clone().requires_grad_(True)
    (gW,) = torch.autograd.grad(linear_apl_loss(x, Wa, b, y, chunk_rows=5), Wa, create_graph=True)
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad((gW ** 2).sum() + (Wa ** 2).sum(), Wa)


def test_module_state_dict_pickle_and_constructor_args():
    torch.manual_seed(0)
    m = LinearAPLLoss(11, 23, gamma_neg=2, clip=0.1, pos_weight=torch.full((23,), 2.0),
                      reduction="sum", chunk_rows=4)
    x, _, _, y = problem(seed=14)
    lists, csr = sparse_forms(y)
    want = grads(unfused(y, m.params(), "sum", pos_weight=torch.full((23,), 2.0)), x,
                 m.weight.detach(), m.bias.detach())
    loss = m(x, csr)
    assert float(loss) == pytest.approx(float(want[0]), rel=1e-5)
    assert set(m.state_dict()) == {"weight", "bias", "pos_weight"}
    m2 = LinearAPLLoss(11, 23, gamma_neg=2, clip=0.1, pos_weight=torch.zeros(23), reduction="sum")
    m2.load_state_dict(m.state_dict())
    assert float(m2(x, lists)) == pytest.approx(float(loss), rel=1e-6)
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert float(c(x, y)) == float(loss)
    # params given: a preset; the module's own logits for evaluation
    mb = LinearAPLLoss(11, 23, params=aplcl.Params.bce(), bias=False)
    assert mb.bias is None
    torch.testing.assert_close(
        mb(x, y), F.binary_cross_entropy_with_logits(mb.logits(x), y), rtol=1e-5, atol=0)
    with pytest.raises(ValueError, match="reduction"):
        LinearAPLLoss(3, 4, reduction="avg")


def test_functorch_transform_raises_clearly():
    from functorch import vmap  # torch 1.13; torch.func.vmap in 2.x

    vmap_ = getattr(getattr(torch, "func", None), "vmap", vmap)
    for dtype in (torch.float32, torch.float64):
        x, W, b, y = problem(n=4, d=3, c=5, seed=15, dtype=dtype)
        with pytest.raises(RuntimeError, match="transform"):
            vmap_(lambda a, t: linear_apl_loss(a[None], W, b, t[None]))(x, y.to(dtype))


class _LargestTensor(TorchDispatchMode):
    """Records the largest tensor (in elements) any PyTorch operation produces."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_never_holds_the_logits(reduction):
    # with sparse targets no tensor of N x C elements is ever made, in forward or backward: the
    # largest is dx (N x D) or a chunk (chunk_rows x C); the unfused module makes N x C ones
    n, d, c, chunk = 64, 11, 50, 8
    x, W, b, y = problem(n, d, c, seed=16)
    lists, csr = sparse_forms(y)
    for yy in (lists, csr):
        xa, Wa, ba = (t.clone().requires_grad_(True) for t in (x, W, b))
        with _LargestTensor() as m:
            linear_apl_loss(xa, Wa, ba, yy, reduction=reduction, chunk_rows=chunk).backward()
        assert m.largest <= max(n * d, c * d, chunk * c) < n * c
    xa, Wa, ba = (t.clone().requires_grad_(True) for t in (x, W, b))
    with _LargestTensor() as m:
        apl_loss(F.linear(xa, Wa, ba), y, reduction=reduction).backward()
    assert m.largest >= n * c  # the check can fail: the unfused module holds the logits
