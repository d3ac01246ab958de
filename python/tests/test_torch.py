"""test_torch.py: aplcl.torch against the APL and ASL authors' formulas written here in PyTorch.

The authors' modules are not imported: their forward passes are written out below from their
published definitions (the loss is the negated sum; focusing weights computed without autograd
when disable_torch_grad_focal_loss is set), in float64. aplcl's module must give the same value
and gradient to 1e-5, in both focusing modes, for every reduction, float16 inputs, ignored
targets; gradcheck runs in float64 (PyTorch operations in double; test_autograd.py has more).
"""

import contextlib

import numpy as np
import pytest
import torch

import aplcl
from aplcl.torch import APLLoss, ASLLoss, apl_loss
from conftest import make_inputs


def authors_apl(x, y, gamma_neg=4, gamma_pos=0, clip=0.05, eps=1e-8, detach_focus=True,
                epsilon_pos=1.0, epsilon_neg=0.0, epsilon_pos_pow=-2.5, taylor=True, reduce=True):
    """The APL authors' forward pass (taylor=False: the ASL authors' one, plain logs);
    reduce=False: the element losses before their sum."""
    p = torch.sigmoid(x)
    p_neg = 1 - p
    if clip is not None and clip > 0:
        p_neg = (p_neg + clip).clamp(max=1)
    pc, nc = p.clamp(min=eps), p_neg.clamp(min=eps)
    pos = torch.log(pc)
    neg = torch.log(nc)
    if taylor:
        pos = pos + epsilon_pos * (1 - pc) + epsilon_pos_pow * 0.5 * (1 - pc) ** 2
        neg = neg + epsilon_neg * nc
    loss = y * pos + (1 - y) * neg
    if gamma_neg > 0 or gamma_pos > 0:
        with torch.no_grad() if detach_focus else contextlib.nullcontext():
            pt = p * y + p_neg * (1 - y)
            w = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
        loss = loss * w
    return -loss.sum() if reduce else -loss


def inputs(rows=48, cols=97, seed=0, **kw):
    x, y = make_inputs(rows, cols, seed=seed, **kw)
    return torch.from_numpy(x), torch.from_numpy(y)


def value_and_grad(fn, x, y):
    x = x.detach().clone().requires_grad_(True)
    loss = fn(x, y)
    loss.sum().backward() if loss.dim() else loss.backward()
    return loss.detach(), x.grad


@pytest.mark.parametrize("detach", [True, False])
@pytest.mark.parametrize("kw", [{}, {"gamma_pos": 1, "gamma_neg": 2, "clip": 0.1},
                                {"clip": 0, "eps": 1e-6}, {"gamma_neg": 0, "gamma_pos": 0}])
def test_apl_matches_authors(kw, detach):
    x, y = inputs(seed=1)
    mod = APLLoss(disable_torch_grad_focal_loss=detach, **kw)
    lv, g = value_and_grad(mod, x, y)
    wl, wg = value_and_grad(lambda a, b: authors_apl(a, b, detach_focus=detach, **kw),
                            x.double(), y.double())
    assert lv.dtype == torch.float32 and g.dtype == torch.float32
    assert float(lv) == pytest.approx(float(wl), rel=1e-5)
    torch.testing.assert_close(g.double(), wg, rtol=1e-5, atol=1e-6)


def test_epsilon_attributes_and_alpha():
    x, y = inputs(seed=2)
    mod = APLLoss()
    mod.epsilon_pos, mod.epsilon_pos_pow = 0.5, -1.0
    lv, g = value_and_grad(mod, x, y)
    wl, wg = value_and_grad(lambda a, b: authors_apl(a, b, epsilon_pos=0.5, epsilon_pos_pow=-1.0),
                            x.double(), y.double())
    assert float(lv) == pytest.approx(float(wl), rel=1e-5)
    torch.testing.assert_close(g.double(), wg, rtol=1e-5, atol=1e-6)
    # epsilon_neg: beta_1 = 1 + en; the authors' constant -en * w- is left out of the value, so
    # with detached weights the gradient agrees and the value differs by exactly that constant
    mod = APLLoss()
    mod.epsilon_neg = 0.5
    lv, g = value_and_grad(mod, x, y)
    wl, wg = value_and_grad(lambda a, b: authors_apl(a, b, epsilon_neg=0.5), x.double(),
                            y.double())
    torch.testing.assert_close(g.double(), wg, rtol=1e-5, atol=1e-6)
    p = torch.sigmoid(x.double())
    w_neg = ((p - 0.05).clamp(min=0) ** 4 * (1 - y.double())).sum()
    assert float(lv) == pytest.approx(float(wl) + 0.5 * float(w_neg), rel=1e-5)  # wl has -en*w-
    # alpha/beta lists equal to the epsilons' coefficients give the same bits
    a = APLLoss(alpha=[0.0, 1.75])
    b = APLLoss()
    assert torch.equal(value_and_grad(a, x, y)[1], value_and_grad(b, x, y)[1])


@pytest.mark.parametrize("detach", [True, False])
def test_asl_matches_authors(detach):
    x, y = inputs(seed=3)
    lv, g = value_and_grad(ASLLoss(disable_torch_grad_focal_loss=detach), x, y)
    wl, wg = value_and_grad(
        lambda a, b: authors_apl(a, b, gamma_pos=1, detach_focus=detach, taylor=False),
        x.double(), y.double())
    assert float(lv) == pytest.approx(float(wl), rel=1e-5)
    torch.testing.assert_close(g.double(), wg, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_reductions_with_ignored_targets(reduction):
    x, y = inputs(seed=4, ignore=0.1)
    lv, g = value_and_grad(APLLoss(reduction=reduction), x, y)

    def masked(a, b):  # the authors' element losses, ignored ones dropped, then reduced
        keep = (b >= 0).double()
        el = authors_apl(a, b.clamp(min=0), reduce=False) * keep
        return {"sum": el.sum(), "mean": el.sum() / keep.sum(), "none": el}[reduction]

    wl, wg = value_and_grad(masked, x.double(), y.double())
    if reduction == "none":
        assert lv.shape == x.shape and lv.dtype == torch.float32
        torch.testing.assert_close(lv.double(), wl, rtol=1e-5, atol=1e-7)
    else:
        assert float(lv) == pytest.approx(float(wl), rel=1e-5)
    torch.testing.assert_close(g.double(), wg, rtol=1e-5, atol=1e-7)
    assert torch.all(g[y < 0] == 0)


def test_gradient_scaled_by_incoming_gradient():
    x, y = inputs(seed=5)
    for reduction in ("sum", "mean"):
        xa = x.clone().requires_grad_(True)
        (3.0 * APLLoss(reduction=reduction)(xa, y)).backward()
        _, g = value_and_grad(APLLoss(reduction=reduction), x, y)
        torch.testing.assert_close(xa.grad, 3.0 * g, rtol=1e-6, atol=0)
    xa = x.clone().requires_grad_(True)
    w = torch.rand(x.shape)
    (APLLoss(reduction="none")(xa, y) * w).sum().backward()
    _, g = value_and_grad(APLLoss(reduction="none"), x, y)
    torch.testing.assert_close(xa.grad, g * w, rtol=1e-6, atol=0)


def test_retain_graph_second_backward():
    x, y = inputs(seed=6)
    xa = x.clone().requires_grad_(True)
    loss = APLLoss()(xa, y)
    loss.backward(retain_graph=True)
    g1 = xa.grad.clone()
    loss.backward(retain_graph=True)
    loss.backward()
    torch.testing.assert_close(xa.grad, 3 * g1, rtol=1e-6, atol=0)


def test_float16_and_bfloat16():
    x, y = inputs(seed=7, ignore=0.05)
    for dt, rtol in ((torch.float16, 2.0 ** -11), (torch.bfloat16, 2.0 ** -8)):
        xh = x.to(dt)
        lv, g = value_and_grad(APLLoss(reduction="mean"), xh, y)
        assert g.dtype == dt and lv.dtype == torch.float32
        wl, wg = value_and_grad(APLLoss(reduction="mean"), xh.float(), y)
        assert float(lv) == pytest.approx(float(wl), rel=1e-6)
        torch.testing.assert_close(g.double(), wg.double(), rtol=rtol + 1e-5, atol=2.0 ** -24)


def test_target_dtypes():
    x, y = inputs(seed=8)
    ref = value_and_grad(APLLoss(), x, y)
    for yy in (y > 0.5, (y > 0.5).to(torch.uint8), y.double(), y.long()):
        got = value_and_grad(APLLoss(), x, yy)
        assert torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1])


def test_non_contiguous_input():
    x, y = inputs(40, 24, seed=12)
    a = value_and_grad(APLLoss(), x.t(), y.t())  # transposed views: copied, then computed
    b = value_and_grad(APLLoss(), x.t().contiguous(), y.t().contiguous())
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[1].shape == (24, 40)


def test_functional_form_and_params():
    x, y = inputs(seed=9)
    p = aplcl.Params.asl(4, 1, 0.05)
    a = value_and_grad(lambda u, v: apl_loss(u, v, p, "mean"), x, y)
    b = value_and_grad(ASLLoss(reduction="mean"), x, y)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    lv = apl_loss(x, y)  # no grad wanted: a plain tensor
    assert not lv.requires_grad and float(lv) == pytest.approx(float(APLLoss()(x, y)), rel=0)


def test_grad_mode_untouched():
    x, y = inputs(seed=10)
    xa = x.clone().requires_grad_(True)
    with torch.no_grad():
        lv = APLLoss(disable_torch_grad_focal_loss=True)(xa, y)
        assert not torch.is_grad_enabled()
    assert not lv.requires_grad
    assert torch.is_grad_enabled()
    with torch.enable_grad():
        APLLoss()(xa, y).backward()
    assert torch.is_grad_enabled() and xa.grad is not None


@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("params", ["apl_full_focus", "bce", "poly1", "focal_full"])
def test_gradcheck_float64(reduction, params):
    # logits on a 1/64 grid, far from the clip kink at -2.944, with a coarse step (the float64
    # path needs neither: test_autograd.py runs gradcheck at its default settings)
    rng = np.random.default_rng(11)
    x = torch.from_numpy(rng.integers(-256, 256, size=(3, 7)) / 64.0)
    y = torch.from_numpy((rng.random((3, 7)) < 0.4).astype(np.float64))
    y[0, 0] = -1.0  # one ignored target
    p = {"apl_full_focus": aplcl.Params(focus_grad=True), "bce": aplcl.Params.bce(),
         "poly1": aplcl.Params.poly1(1.0),
         "focal_full": aplcl.Params.focal(2.0).update(focus_grad=True)}[params]
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: apl_loss(a, y, p, reduction), (x,),
                                    eps=2.0 ** -10, atol=1e-5, rtol=1e-3)


def test_unreachable_device_and_bad_input():
    x = torch.empty(4, 5, device="meta")
    with pytest.raises(RuntimeError, match=r"\.cpu\(\)"):
        APLLoss()(x, torch.zeros(4, 5))
    xc, yc = inputs(4, 5)
    with pytest.raises(RuntimeError, match="meta"):
        APLLoss()(xc, torch.empty(4, 5, device="meta"))
    with pytest.raises(ValueError, match="shape"):
        APLLoss()(xc, yc[:, :3])
    with pytest.raises(TypeError, match="int64"):
        APLLoss()(torch.zeros(4, 5, dtype=torch.int64), yc)
    with pytest.raises(ValueError, match="reduction"):
        APLLoss(reduction="avg")
    bad = yc.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(aplcl.Error) as ei:
        APLLoss()(xc.requires_grad_(True), bad)
    assert ei.value.name == "APLCL_ERR_INVALID_TARGET"
