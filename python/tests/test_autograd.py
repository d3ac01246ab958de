"""test_autograd.py: aplcl.torch under autograd's harder uses (issue 17 items 3, 4, 14; issue 18
item 5): second derivatives exact or refused, gradcheck in float64 at default settings, the
float64 path in double from double inputs and without OpenCL, functorch transforms, copies and
pickles of the modules, torch.jit.script's documented limit.

Second derivatives are compared with PyTorch's own BCE (binary_cross_entropy_with_logits) and
with the APL authors' formula written in PyTorch (test_torch.authors_apl), both in float64.
"""

import copy
import io
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import aplcl
from aplcl.torch import APLLoss, ASLLoss, BCEWithLogitsLoss, apl_loss
from test_torch import authors_apl

PRESETS = {"apl": aplcl.Params(), "apl_full_focus": aplcl.Params(focus_grad=True),
           "bce": aplcl.Params.bce(), "focal_full": aplcl.Params.focal(2.0).update(focus_grad=True),
           "asl": aplcl.Params.asl(4, 1, 0.05), "poly1": aplcl.Params.poly1(1.0),
           "floors": aplcl.Params(eps=0.01, clip=0.001, beta=(1.5, 0.2), focus_grad=True)}
# With a detached focusing weight (the authors' default) the gradient is by design not the
# derivative of the value (the weight counts as a constant), so gradcheck cannot pass there, for
# the authors' module neither (test_detached_weight_is_not_a_derivative); these are the others.
DIFFERENTIABLE = sorted(k for k, p in PRESETS.items()
                        if p.focus_grad or (p.gamma_pos == 0 and p.gamma_neg == 0))


def rand64(rows=5, cols=9, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, cols, generator=g, dtype=torch.float64) * scale
    y = (torch.rand(rows, cols, generator=g) < 0.4).double()
    return x, y


# ---- issue 17 item 3: second derivatives are exact (float64) or a clear error (float32) ----

@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_double_backward_float32_path_raises(dtype):
    x, y = rand64()
    xa = x.to(dtype).requires_grad_(True)
    (g,) = torch.autograd.grad(APLLoss()(xa, y), xa, create_graph=True)
    # the repro: (g**2).sum() + (x**2).sum() used to give d/dx without the Hessian term
    with pytest.raises(RuntimeError, match="second derivative"):
        torch.autograd.grad((g.float() ** 2).sum() + (xa.float() ** 2).sum(), xa)


def test_double_backward_float64_matches_torch_bce():
    x, y = rand64(seed=1)
    for red in ("sum", "mean"):
        xa = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(BCEWithLogitsLoss(reduction=red)(xa, y), xa, create_graph=True)
        (h,) = torch.autograd.grad((g ** 2).sum() + (xa ** 2).sum(), xa)
        xb = x.clone().requires_grad_(True)
        (gb,) = torch.autograd.grad(F.binary_cross_entropy_with_logits(xb, y, reduction=red), xb,
                                    create_graph=True)
        (hb,) = torch.autograd.grad((gb ** 2).sum() + (xb ** 2).sum(), xb)
        torch.testing.assert_close(g, gb, rtol=1e-12, atol=1e-15)
        torch.testing.assert_close(h, hb, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("detach", [True, False])
def test_double_backward_float64_matches_authors_apl(detach):
    # logits away from the eps floor (|x| < 8): the authors' clamp and aplcl's agree there
    x, y = rand64(seed=2, scale=2.0)
    xa = x.clone().requires_grad_(True)
    mod = APLLoss(disable_torch_grad_focal_loss=detach)
    (g,) = torch.autograd.grad(mod(xa, y), xa, create_graph=True)
    (h,) = torch.autograd.grad((g ** 2).sum(), xa)
    xb = x.clone().requires_grad_(True)
    (gb,) = torch.autograd.grad(authors_apl(xb, y, detach_focus=detach), xb, create_graph=True)
    (hb,) = torch.autograd.grad((gb ** 2).sum(), xb)
    torch.testing.assert_close(g, gb, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(h, hb, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("preset", DIFFERENTIABLE)
def test_gradgradcheck_float64(preset):
    x, y = rand64(3, 6, seed=3)
    y[0, 0] = -1.0
    x.requires_grad_(True)
    assert torch.autograd.gradgradcheck(lambda a: apl_loss(a, y, PRESETS[preset], "mean"), (x,))


# ---- issue 17 item 4: the float64 path is double precision, needs no OpenCL ----

@pytest.mark.parametrize("preset", DIFFERENTIABLE)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_gradcheck_default_settings(preset, reduction):
    x, y = rand64(4, 7, seed=4)  # random logits, not on a float32 grid
    y[1, 2] = -1.0
    y[2, 3] = 0.3
    x.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: apl_loss(a, y, PRESETS[preset], reduction), (x,))


def test_gradcheck_modules_default_settings():
    # the call, with the focusing weight differentiated (see DIFFERENTIABLE)
    x, y = rand64(4, 7, seed=14)
    x.requires_grad_(True)
    for mod in (APLLoss(disable_torch_grad_focal_loss=False),
                ASLLoss(disable_torch_grad_focal_loss=False), BCEWithLogitsLoss(),
                APLLoss(gamma_neg=0)):
        assert torch.autograd.gradcheck(lambda a: mod(a, y), (x,))


def test_detached_weight_is_not_a_derivative():
    # gradcheck fails for the detached weight in aplcl and in the authors' module alike: the
    # gradient leaves out w' F on purpose. aplcl's gradient is the authors' one.
    x, y = rand64(4, 7, seed=15)
    x.requires_grad_(True)
    for fn in (lambda a: APLLoss()(a, y), lambda a: authors_apl(a, y)):
        with pytest.raises(RuntimeError, match="Jacobian mismatch"):
            torch.autograd.gradcheck(fn, (x,))
    (g1,) = torch.autograd.grad(APLLoss()(x, y), x)
    (g2,) = torch.autograd.grad(authors_apl(x, y), x)
    torch.testing.assert_close(g1, g2, rtol=1e-12, atol=1e-15)


def test_float64_is_not_rounded_to_float32():
    x, y = rand64(seed=5)
    crit = APLLoss()
    assert float(crit(x, y)) != float(crit(x + 1e-9, y))
    # soft targets and weights in double too: 0.1 is not a float32 value
    a = apl_loss(x, torch.full_like(x, 0.1), reduction="sum")
    b = apl_loss(x, torch.full_like(x, 0.1).float().double(), reduction="sum")
    assert float(a) != float(b)
    w = torch.full((9,), 0.1, dtype=torch.float64)
    a = apl_loss(x, y, weight=w)
    b = apl_loss(x, y, weight=w.float().double())
    assert float(a) != float(b)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_float64_matches_c_reference(preset):
    # float32-representable logits and targets: the C reference reads those exactly
    rng = np.random.default_rng(6)
    x = np.concatenate([rng.uniform(-25, 25, (30, 40)), rng.uniform(-4, 4, (30, 40))])
    x = x.astype(np.float32)
    y = (rng.random(x.shape) < 0.3).astype(np.float32)
    y[rng.random(x.shape) < 0.1] = -1.0
    y[rng.random(x.shape) < 0.1] = 0.25
    pw = rng.uniform(0.5, 2.0, 40).astype(np.float32)
    w = rng.uniform(0.0, 2.0, x.shape).astype(np.float32)
    for kw, rkw in (({}, {}), ({"pos_weight": torch.from_numpy(pw), "weight": torch.from_numpy(w)},
                               {"pos_weight": pw, "weight": w})):
        for red in ("sum", "mean", "none"):
            rl, rg, rel = aplcl.reference(x, y, PRESETS[preset], elem_loss=True, reduction=red,
                                          **rkw)
            xt = torch.from_numpy(x).double().requires_grad_(True)
            out = apl_loss(xt, torch.from_numpy(y), PRESETS[preset], red, **kw)
            out.sum().backward()
            if red == "none":
                np.testing.assert_allclose(out.detach().numpy(), rel, rtol=1e-12, atol=1e-14)
            else:
                assert float(out) == pytest.approx(rl, rel=1e-12, abs=1e-14)
            np.testing.assert_allclose(xt.grad.numpy(), rg, rtol=1e-12, atol=1e-14)


def test_float64_errors_as_the_c_library():
    x, y = rand64(seed=7)
    bad = y.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(aplcl.Error) as ei:
        apl_loss(x, bad)
    assert ei.value.name == "APLCL_ERR_INVALID_TARGET"
    xb = x.clone()
    xb[1, 1] = float("inf")
    with pytest.raises(aplcl.Error) as ei:
        apl_loss(xb, y)
    assert ei.value.name == "APLCL_ERR_NONFINITE_LOGIT"
    yi = y.clone()
    yi[1, 1] = -1.0  # an ignored element may hold any logit, and its gradient stays 0
    xb.requires_grad_(True)
    apl_loss(xb, yi).backward()
    assert torch.isfinite(xb.grad).all() and xb.grad[1, 1] == 0
    with pytest.raises(aplcl.Error) as ei:
        apl_loss(x, y, weight=torch.full((9,), -1.0, dtype=torch.float64))
    assert ei.value.name == "APLCL_ERR_INVALID_WEIGHT"
    u8 = (y > 0.5).to(torch.uint8)
    u8[0, 0] = 255
    u8f = (y > 0.5).double()
    u8f[0, 0] = -1.0
    assert float(apl_loss(x, u8)) == float(apl_loss(x, u8f))
    u8[0, 1] = 7
    with pytest.raises(aplcl.Error, match="INVALID_TARGET"):
        apl_loss(x, u8)


def test_float64_needs_no_opencl(tmp_path):
    # an ICD loader that finds no platform: the float64 path must still compute (and the float32
    # path must say that no platform exists)
    code = ("import torch, aplcl.torch as t\n"
            "x = torch.linspace(-3, 3, 12, dtype=torch.float64).reshape(3, 4).requires_grad_()\n"
            "y = (torch.arange(12).reshape(3, 4) % 3 == 0).double().requires_grad_()\n"
            "l = t.APLLoss()(x, y); l.backward(); print('ok %.12f' % float(l))\n"
            "try:\n    t.APLLoss()(x.float(), y)\n"
            "except Exception as e:\n    print(type(e).__name__, e)\n")
    env = dict(os.environ, OCL_ICD_VENDORS=str(tmp_path), OCL_ICD_FILENAMES="")
    r = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    assert r.returncode == 0, r.stdout
    assert r.stdout.startswith("ok "), r.stdout
    assert "APLCL_ERR_NO_PLATFORM" in r.stdout, r.stdout


def test_targets_that_require_grad():
    x, y = rand64(seed=8)
    yg = y.clone().requires_grad_(True)
    for xx in (x.clone().requires_grad_(True), x.float().requires_grad_(True)):
        loss = APLLoss()(xx, yg)
        assert float(loss) == pytest.approx(float(APLLoss()(xx.detach(), y)), rel=1e-7)
        # targets are constants: asking for their gradient is an error, not a silent zero
        with pytest.raises(RuntimeError, match="not have been used|does not require grad"):
            torch.autograd.grad(loss, yg)


# ---- torch.func / functorch transforms ----

def _vmap():
    f = getattr(getattr(torch, "func", None), "vmap", None)
    if f is None:
        from functorch import vmap as f
    return f


def _grad():
    f = getattr(getattr(torch, "func", None), "grad", None)
    if f is None:
        from functorch import grad as f
    return f


def test_vmap_and_grad_float64():
    x, y = rand64(6, 5, seed=9)
    per_row = _vmap()(lambda a, b: apl_loss(a, b, reduction="sum"))(x, y)
    want = torch.stack([apl_loss(x[i], y[i], reduction="sum") for i in range(6)])
    torch.testing.assert_close(per_row, want, rtol=1e-14, atol=0)
    g = _grad()(lambda a: apl_loss(a, y, reduction="mean"))(x)
    xa = x.clone().requires_grad_(True)
    apl_loss(xa, y, reduction="mean").backward()
    torch.testing.assert_close(g, xa.grad, rtol=1e-14, atol=0)
    # per-sample gradients, the usual reason for vmap(grad(...))
    ps = _vmap()(_grad()(lambda a, b: apl_loss(a, b)))(x, y)
    torch.testing.assert_close(ps, xa.grad * x.numel(), rtol=1e-12, atol=1e-15)


def test_vmap_float64_bad_target_gives_nan():
    x, y = rand64(2, 3, seed=10)
    y[1, 0] = 7.0  # invalid: no value can be raised on inside vmap, so that row is NaN
    out = _vmap()(lambda a, b: apl_loss(a, b))(x, y)
    assert torch.isfinite(out[0]) and torch.isnan(out[1])


def test_vmap_float32_raises_clearly():
    x, y = rand64(4, 5, seed=11)
    with pytest.raises(RuntimeError, match="transform.*float64"):
        _vmap()(lambda a, b: apl_loss(a, b))(x.float(), y)


# ---- issue 17 item 14: copies and pickles; state_dict; torch.jit.script ----

def test_deepcopy_and_pickle_with_context(ctx):
    x, y = rand64(seed=12)
    x = x.float()
    crit = APLLoss(context=ctx, reduction="mean", pos_weight=torch.full((9,), 2.0))
    want = float(crit(x, y))
    c2 = copy.deepcopy(crit)
    assert c2.context is ctx  # a context is a handle on a device: copies share it
    assert float(c2(x, y)) == want
    c3 = pickle.loads(pickle.dumps(crit))
    assert c3.context is not ctx and c3.context.device_name == ctx.device_name
    assert float(c3(x, y)) == want
    buf = io.BytesIO()
    torch.save(crit, buf)
    buf.seek(0)
    assert float(torch.load(buf)(x, y)) == want
    for mod in (ASLLoss(context=ctx), BCEWithLogitsLoss(context=ctx)):
        assert float(pickle.loads(pickle.dumps(mod))(x, y)) == float(mod(x, y))


def test_context_from_queue_does_not_pickle():
    import pyopencl as cl
    dev = aplcl.Context()
    cctx = cl.Context([d for p in cl.get_platforms() for d in p.get_devices()][:1])
    q = cl.CommandQueue(cctx)
    c = aplcl.Context.from_queue(q)
    with pytest.raises(TypeError, match="queue"):
        pickle.dumps(c)
    assert copy.deepcopy(c) is c
    c.close()
    with pytest.raises(TypeError, match="closed"):
        pickle.dumps(c)
    dev.close()


def test_state_dict_round_trip():
    a = APLLoss(weight=torch.rand(9), pos_weight=torch.rand(9) + 0.5)
    b = APLLoss(weight=torch.zeros(9), pos_weight=torch.zeros(9))
    b.load_state_dict(a.state_dict())
    x, y = rand64(seed=13)
    assert float(a(x.float(), y)) == float(b(x.float(), y))
    assert set(a.state_dict()) == {"weight", "pos_weight"}


def test_jit_script_documented_limit():
    # aplcl's losses call C through ctypes: TorchScript cannot compile them (docs/python.md says
    # so, and that trace/script of the model without its loss is the way)
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(4, 3)
            self.loss = APLLoss()

        def forward(self, x, y):
            return self.loss(self.lin(x), y)

    with pytest.raises(Exception):
        torch.jit.script(Model())
    torch.jit.script(Model().lin)  # the model part scripts as usual


def test_error_pickles():
    # an aplcl.Error raised in a DataLoader worker or multiprocessing pool is pickled to the parent
    x, y = rand64(seed=16)
    y[0, 0] = float("nan")
    with pytest.raises(aplcl.Error) as ei:
        APLLoss()(x.float(), y)
    e2 = pickle.loads(pickle.dumps(ei.value))
    assert (e2.name, e2.status, str(e2)) == (ei.value.name, ei.value.status, str(ei.value))
    for obj in (aplcl.Params.asl(4, 1, 0.05), aplcl.devices()[0]):
        assert pickle.loads(pickle.dumps(obj)) == obj
