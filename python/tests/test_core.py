"""test_core.py: aplcl.Params, Context.compute on numpy arrays, reference, devices, errors and the
header-layout check of the ctypes binding."""

import copy
import threading

import numpy as np
import pytest

import aplcl
from aplcl import _lib
from conftest import make_inputs

# docs/apl-spec.md section 6 (defaults): x, y, loss, detached gradient, full gradient
SPEC_VECTORS = [
    (0.0, 1, 0.505647180560, -0.5625, -0.5625),
    (2.0, 1, 0.025486759794, -0.045498192053, -0.045498192053),
    (-3.0, 1, 3.230260058616, -1.014982760081, -1.014982760081),
    (0.0, 0, 0.024515053512, 0.018639204545, 0.073117101239),
    (2.0, 0, 0.846414950692, 0.295620637658, 0.723489934592),
    (-3.0, 0, 0.0, 0.0, 0.0),
]


def test_version_matches_library():
    n = _lib.version_number()
    assert aplcl.__version__ == "%d.%d.%d" % (n // 10000, n // 100 % 100, n % 100)


def test_presets_and_fields():
    p = aplcl.Params.default()
    assert (p.gamma_pos, p.gamma_neg, p.clip, p.eps) == (0.0, 4.0, 0.05, 1e-8)
    assert p.alpha == (0.0, 1.75) and p.beta == () and p.n_alpha == 2 and p.n_beta == 0
    assert p.reduction == "sum" and p.focus_grad is False and p.grad_scale == 1.0
    assert aplcl.Params() == p
    b = aplcl.Params.bce()
    assert (b.gamma_pos, b.gamma_neg, b.clip, b.eps) == (0.0, 0.0, 0.0, 0.0)
    f = aplcl.Params.focal(2.0)
    assert f.gamma_pos == f.gamma_neg == 2.0 and f.clip == 0.0
    a = aplcl.Params.asl(4, 1, 0.05)
    assert (a.gamma_neg, a.gamma_pos, a.clip, a.eps) == (4.0, 1.0, 0.05, 1e-8)
    q = aplcl.Params.poly1(2.0)
    assert q.alpha[0] == 3.0 and q.beta[0] == 3.0
    assert aplcl.Params(gamma_neg=2.0, reduction="mean").gamma_neg == 2.0
    with pytest.raises(TypeError, match="no field"):
        aplcl.Params(gamma=1.0)


def test_params_validate_raises_status():
    with pytest.raises(aplcl.Error) as ei:
        aplcl.Params(gamma_neg=-1.0).validate()
    assert ei.value.name == "APLCL_ERR_INVALID_PARAMS"
    assert "invalid loss parameters" in ei.value.message
    assert ei.value.status == -4 and "APLCL_ERR_INVALID_PARAMS" in str(ei.value)
    with pytest.raises(ValueError, match="at most 8"):
        aplcl.Params(alpha=[0.1] * 9).to_c()
    with pytest.raises(ValueError, match="reduction"):
        aplcl.Params(reduction="avg").to_c()


@pytest.mark.parametrize("focus", [False, True])
def test_spec_vectors(ctx, focus):
    x = np.array([[v[0] for v in SPEC_VECTORS]], np.float32)
    y = np.array([[v[1] for v in SPEC_VECTORS]], np.float32)
    p = aplcl.Params(focus_grad=focus)
    want_g = np.array([v[4] if focus else v[3] for v in SPEC_VECTORS])
    want_l = sum(v[2] for v in SPEC_VECTORS)
    for loss, g in (ctx.compute(x, y, p), aplcl.reference(x, y, p)):
        assert loss == pytest.approx(want_l, rel=1e-6)
        np.testing.assert_allclose(g[0], want_g, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("preset", ["default", "bce", "focal", "asl", "poly1"])
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("focus", [False, True])
def test_compute_matches_reference(ctx, preset, reduction, focus):
    p = {"default": aplcl.Params.default(), "bce": aplcl.Params.bce(),
         "focal": aplcl.Params.focal(2.0), "asl": aplcl.Params.asl(4, 1, 0.05),
         "poly1": aplcl.Params.poly1(1.0)}[preset]
    p.update(reduction=reduction, focus_grad=focus)
    x, y = make_inputs(37, 211, seed=3, ignore=0.05, soft=0.05)
    el = np.empty_like(x)
    loss, g = ctx.compute(x, y, p, elem_loss=el)
    rl, rg, rel = aplcl.reference(x, y, p, elem_loss=True)
    assert g.dtype == np.float32 and g.shape == x.shape
    assert loss == pytest.approx(rl, rel=1e-5)
    np.testing.assert_allclose(g, rg, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(el, rel, rtol=1e-5, atol=1e-7)
    ignored = y < 0
    assert np.all(g[ignored] == 0) and np.all(el[ignored] == 0)


def test_target_types_agree(ctx):
    x, y = make_inputs(16, 300, seed=4, ignore=0.1)
    y8 = np.where(y < 0, 255, y).astype(np.uint8)
    lf, gf = ctx.compute(x, y)
    l8, g8 = ctx.compute(x, y8)
    assert lf == l8 and np.array_equal(gf, g8)
    yb = y > 0.5
    lb, gb = ctx.compute(x, yb)
    l1, g1 = ctx.compute(x, yb.astype(np.float32))
    assert lb == l1 and np.array_equal(gb, g1)
    li, gi = ctx.compute(x, np.where(y < 0, -1, y).astype(np.int64))  # ints become float32
    assert li == lf and np.array_equal(gi, gf)
    assert aplcl.reference(x, y8)[0] == pytest.approx(aplcl.reference(x, y)[0], rel=1e-15)
    assert ctx.last_counts()[0] == int(np.sum(y >= 0))


def test_f16_logits(ctx):
    x, y = make_inputs(33, 129, seed=5, ignore=0.05)
    x16 = x.astype(np.float16)
    loss, g = ctx.compute(x16, y, aplcl.Params(reduction="mean"))
    assert g.dtype == np.float16 and g.shape == x.shape
    rl, rg = aplcl.reference(x16.astype(np.float32), y, aplcl.Params(reduction="mean"))
    assert loss == pytest.approx(rl, rel=1e-5)
    # the gradient is stored in float16: half an ulp of rounding on top of float32's error
    np.testing.assert_allclose(g.astype(np.float64), rg, rtol=2.0 ** -11 + 1e-5, atol=2.0 ** -24)


def test_shapes_and_layouts(ctx):
    x, y = make_inputs(6, 35, seed=6)
    base_l, base_g = ctx.compute(x, y)
    l3, g3 = ctx.compute(x.reshape(2, 3, 35), y.reshape(2, 3, 35))
    assert l3 == base_l and np.array_equal(g3.reshape(6, 35), base_g)
    # a non-contiguous view is copied, not misread
    xt, yt = np.asfortranarray(x), np.asfortranarray(y)
    lt, gt = ctx.compute(xt, yt)
    assert lt == base_l and np.array_equal(gt, base_g)
    l0, g0 = ctx.compute(x, y, grad=False)
    assert g0 is None and l0 == base_l
    ls, gs = ctx.compute(np.float32(0.0), np.float32(1.0))
    assert ls == pytest.approx(0.505647180560, rel=1e-6) and gs.shape == ()


def test_bad_input_raises(ctx):
    x, y = make_inputs(4, 5)
    with pytest.raises(ValueError, match="shape"):
        ctx.compute(x, y[:, :4])
    with pytest.raises(TypeError, match="float64"):
        ctx.compute(x.astype(np.float64), y)
    with pytest.raises(TypeError, match="targets of dtype"):
        ctx.compute(x, y.astype(np.complex64))
    y_bad = y.copy()
    y_bad[1, 2] = np.nan
    with pytest.raises(aplcl.Error) as ei:
        ctx.compute(x, y_bad)
    assert ei.value.name == "APLCL_ERR_INVALID_TARGET"
    assert ctx.last_counts()[1] == 1
    x_bad = x.copy()
    x_bad[0, 0] = np.inf
    with pytest.raises(aplcl.Error) as ei:
        ctx.compute(x_bad, y)
    assert ei.value.name == "APLCL_ERR_NONFINITE_LOGIT"
    with pytest.raises(aplcl.Error) as ei:
        ctx.compute(x, np.full(x.shape, 7, np.uint8))
    assert ei.value.name == "APLCL_ERR_INVALID_TARGET"
    with pytest.raises(aplcl.Error) as ei:
        aplcl.reference(x, y_bad)
    assert ei.value.name == "APLCL_ERR_INVALID_TARGET"
    # an empty batch is a no-op (loss 0; issue 17 item 6, test_edges.py), but bad parameters
    # are refused there too
    assert ctx.compute(np.zeros((0, 5), np.float32), np.zeros((0, 5), np.float32))[0] == 0.0
    for xx, yy in ((x, y), (x[:0], y[:0])):
        with pytest.raises(aplcl.Error) as ei:
            ctx.compute(xx, yy, aplcl.Params(clip=1.5))
        assert ei.value.name == "APLCL_ERR_INVALID_PARAMS"
        with pytest.raises(aplcl.Error) as ei:
            aplcl.reference(xx, yy, aplcl.Params(clip=1.5))
        assert ei.value.name == "APLCL_ERR_INVALID_PARAMS"
    with pytest.raises(ValueError, match="elem_loss"):
        ctx.compute(x, y, elem_loss=np.empty((4, 5), np.float64))
    with pytest.raises(TypeError, match="aplcl.Params"):
        ctx.compute(x, y, params={"gamma_neg": 2})


def test_context_errors():
    with pytest.raises(aplcl.Error) as ei:
        aplcl.Context("no such device anywhere")
    assert ei.value.name == "APLCL_ERR_NO_DEVICE"
    with pytest.raises(aplcl.Error) as ei:
        aplcl.Context("1:2:3")
    assert ei.value.name == "APLCL_ERR_INVALID_DEVICE_SPEC"
    c = aplcl.Context()
    c.close()
    with pytest.raises(ValueError, match="after close"):
        c.compute(*make_inputs(2, 2))


def test_devices_and_context_by_spec():
    devs = aplcl.devices()
    assert len(devs) >= 1
    d = devs[0]
    assert d.spec == "0:0" and d.device_name and d.compute_units >= 1
    with aplcl.Context(d.spec) as c:
        assert d.device_name in c.device_name


def test_threads_share_a_context(ctx):
    x, y = make_inputs(64, 500, seed=7, ignore=0.02)
    want = ctx.compute(x, y)
    got = [None] * 4

    def work(i):
        got[i] = [ctx.compute(x, y) for _ in range(5)]

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for runs in got:
        for loss, g in runs:
            assert loss == want[0] and np.array_equal(g, want[1])


def test_layout_check_catches_drift():
    good = copy.deepcopy(_lib.layout)
    _lib.check_layout(good)  # the installed header's layout passes
    bad = copy.deepcopy(good)
    bad["offsetof aplcl_params.grad_scale"] += 4
    with pytest.raises(aplcl.LayoutError, match="aplcl_params.grad_scale"):
        _lib.check_layout(bad)
    bad = copy.deepcopy(good)
    bad["sizeof aplcl_io"] += 8
    with pytest.raises(aplcl.LayoutError, match="sizeof"):
        _lib.check_layout(bad)
    bad = copy.deepcopy(good)
    bad["offsetof aplcl_params.new_field"] = 100
    with pytest.raises(aplcl.LayoutError, match="fields"):
        _lib.check_layout(bad)
    # every status of the header has a name and message here
    assert _lib.STATUS[0][0] == "APLCL_SUCCESS"
    assert all(n.startswith("APLCL_") and m for n, m in _lib.STATUS.values())
