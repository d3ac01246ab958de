"""test_weights.py: weights in aplcl.torch against PyTorch's own BCEWithLogitsLoss.

aplcl.torch.BCEWithLogitsLoss must match torch.nn.BCEWithLogitsLoss to 1e-5 in value and
gradient for every weight shape that broadcasts to the input (scalar, per label, per row, per
element, 3-D inputs), with and without pos_weight, every reduction; APLLoss's weights must follow
the formula l = W (y P l+ + (1-y) l-) (checked against the authors' formula written in
test_torch.py, weighted here); float64 goes through the weighted reference (gradcheck); the
layout check knows the new fields.
"""

import numpy as np
import pytest
import torch

import aplcl
from aplcl import _lib
from aplcl.torch import APLLoss, BCEWithLogitsLoss
from test_torch import authors_apl

N, C = 12, 7


def inputs(shape=(N, C), seed=0, soft=True):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(shape, generator=g) * 12 - 6).float()
    u = torch.rand(shape, generator=g)
    y = (u < 0.3).float()
    if soft:
        y[(u > 0.8) & (u < 0.9)] = 0.3
    return x, y


WEIGHT_SHAPES = [None, (), (1,), (C,), (1, C), (N, 1), (N, C)]


@pytest.mark.parametrize("wshape", WEIGHT_SHAPES)
@pytest.mark.parametrize("with_pos", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_matches_torch(wshape, with_pos, reduction):
    x, y = inputs(seed=hash((wshape, with_pos, reduction)) % 1000)
    g = torch.Generator().manual_seed(7)
    w = None if wshape is None else torch.rand(wshape, generator=g) * 3
    pw = torch.rand(C, generator=g) * 4 + 0.1 if with_pos else None
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    ours = BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)(x1, y)
    theirs = torch.nn.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)(x2, y)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    up = torch.rand(ours.shape, generator=g) if reduction == "none" else torch.tensor(1.0)
    (ours * up).sum().backward()
    (theirs * up).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("wshape", [(5,), (1, 1, 5), (3, 1, 5), (3, 4, 1), (4, 1), (3, 4, 5)])
def test_bce_3d_broadcast(wshape):
    x, y = inputs((3, 4, 5), seed=3)
    w = torch.rand(wshape, generator=torch.Generator().manual_seed(1)) + 0.5
    pw = torch.tensor([0.5, 1.0, 2.0, 3.0, 0.0])
    x1 = x.clone().requires_grad_()
    x2 = x.clone().requires_grad_()
    ours = BCEWithLogitsLoss(weight=w, pos_weight=pw)(x1, y)
    theirs = torch.nn.BCEWithLogitsLoss(weight=w, pos_weight=pw)(x2, y)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-7)


def test_bce_bad_weights():
    x, y = inputs()
    with pytest.raises(ValueError):
        BCEWithLogitsLoss(weight=torch.ones(N + 1, 1))(x, y)
    with pytest.raises(ValueError):
        BCEWithLogitsLoss(pos_weight=torch.ones(N, C))(x, y)
    with pytest.raises(aplcl.Error) as e:  # negative weights are invalid input, reported
        BCEWithLogitsLoss(weight=-torch.ones(C))(x, y)
    assert "INVALID_WEIGHT" in str(e.value)


@pytest.mark.parametrize("focus", [True, False])
@pytest.mark.parametrize("wshape", [(C,), (N, 1), (N, C)])
def test_apl_weighted_formula(focus, wshape):
    """APLLoss with weights against the authors' APL, weighted per side by hand, in float64."""
    x, y = inputs(seed=11)
    g = torch.Generator().manual_seed(5)
    w = torch.rand(wshape, generator=g) * 2
    pw = torch.rand(C, generator=g) * 3
    x1 = x.clone().requires_grad_()
    loss = APLLoss(disable_torch_grad_focal_loss=not focus, weight=w, pos_weight=pw)(x1, y)
    loss.backward()
    xd = x.double().requires_grad_()
    yd = y.double()
    lp = authors_apl(xd, torch.ones_like(yd), detach_focus=not focus, reduce=False)
    ln = authors_apl(xd, torch.zeros_like(yd), detach_focus=not focus, reduce=False)
    want = (w.double() * (yd * pw.double() * lp + (1 - yd) * ln)).sum()
    want.backward()
    torch.testing.assert_close(loss.double(), want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x1.grad.double(), xd.grad, rtol=1e-5, atol=1e-6)


def test_apl_weighted_gradcheck():
    # logits on a 1/64 grid away from the clip kink, as test_torch's gradcheck: x +- 2^-10 is
    # exact in float32, which the reference reads
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.integers(-128, 256, size=(4, 5)) / 64.0)
    y = torch.from_numpy((rng.random((4, 5)) < 0.4).astype(np.float64))
    w = torch.rand(4, 1, dtype=torch.float64) + 0.5
    pw = torch.rand(5, dtype=torch.float64) * 2
    m = APLLoss(disable_torch_grad_focal_loss=False, weight=w, pos_weight=pw, reduction="mean")
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: m(t, y), (x,), eps=2.0 ** -10, atol=1e-5,
                                    rtol=1e-3)


def test_reference_weights_and_layout():
    x, y = inputs()
    xn, yn = x.numpy(), y.numpy()
    w = np.linspace(0.5, 2.0, C).astype(np.float32)
    l1, g1 = aplcl.reference(xn, yn, weight=w, weight_kind="label")
    l2, g2 = aplcl.reference(xn, yn, weight=np.broadcast_to(w, (N, C)))
    assert l1 == l2 and np.array_equal(g1, g2)
    with pytest.raises(ValueError):
        aplcl.reference(xn, yn, weight=w, weight_kind="row")
    assert _lib.layout["offsetof aplcl_io.weights"] == _lib.aplcl_io.weights.offset
    assert _lib.layout["offsetof aplcl_weights.kind"] == _lib.aplcl_weights.kind.offset
    assert _lib.layout["APLCL_COUNT_LEN"] == 4


def test_weights_u8_targets_and_half():
    """bool/uint8 targets and float16 logits take the same weights as float32 ones."""
    x, y = inputs(soft=False)
    w = torch.rand(N, 1, generator=torch.Generator().manual_seed(2)) * 2
    pw = torch.linspace(0.5, 3.0, C)
    m = APLLoss(weight=w, pos_weight=pw, reduction="mean")
    ref = m(x, y)
    torch.testing.assert_close(m(x, y.bool()), ref, rtol=0, atol=0)
    torch.testing.assert_close(m(x, y.to(torch.uint8)), ref, rtol=0, atol=0)
    xh = x.half()
    torch.testing.assert_close(m(xh, y), m(xh.float(), y), rtol=1e-6, atol=1e-7)
    ign = y.clone()
    ign[0, 0] = -1.0  # ignored: no loss, not in the mean's count
    yu = ign.to(torch.uint8)
    yu[0, 0] = 255
    torch.testing.assert_close(m(x, yu), m(x, ign), rtol=0, atol=0)
