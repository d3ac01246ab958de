"""test_edges.py: empty inputs and caller-owned outputs (issue 17 items 6 and 10, with their
siblings).

Empty shapes (0, C), (N, 0) and (0,) in every reduction through aplcl.torch (every dtype,
forward and backward), Context.compute (numpy and pyopencl) and aplcl.reference: a no-op whose
loss is 0 (sum, and mean: aplcl's rule when no element is counted, as for all-ignored targets)
and whose gradient / element losses are empty. Outputs a caller passes in (elem_loss) are refused
when read-only or overlapping an input, instead of being written through.
"""

import numpy as np
import pytest
import torch

import aplcl
from aplcl.torch import APLLoss, BCEWithLogitsLoss, apl_loss
from conftest import make_inputs

SHAPES = [(0, 6), (5, 0), (0,), (0, 0), (2, 0, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_torch_empty(shape, reduction, dtype):
    x = torch.zeros(shape, dtype=dtype, requires_grad=True)
    for crit in (APLLoss(reduction=reduction), BCEWithLogitsLoss(reduction=reduction)):
        loss = crit(x, torch.zeros(shape))
        if reduction == "none":
            assert loss.shape == x.shape
            loss.sum().backward()
        else:
            assert loss.dim() == 0 and float(loss) == 0.0
            loss.backward()
        assert x.grad.shape == x.shape and x.grad.dtype == dtype
        x.grad = None
    with torch.no_grad():
        assert apl_loss(x, torch.zeros(shape, dtype=torch.uint8), reduction=reduction).shape == (
            x.shape if reduction == "none" else ())
    # with weights too
    cols = shape[-1]
    loss = apl_loss(x, torch.zeros(shape), reduction=reduction,
                    pos_weight=torch.ones(cols), weight=torch.ones(cols))
    assert loss.shape == (x.shape if reduction == "none" else ())


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["sum", "mean", "none"])
def test_compute_and_reference_empty(ctx, shape, reduction):
    x = np.zeros(shape, np.float32)
    y = np.zeros(shape, np.float32)
    p = aplcl.Params(reduction=reduction)
    el = np.empty(shape, np.float32)
    loss, g = ctx.compute(x, y, p, elem_loss=el)
    assert loss == 0.0 and g.shape == shape
    loss, g = ctx.compute(x.astype(np.float16), y.astype(np.uint8), p, grad=False)
    assert loss == 0.0 and g is None
    rl, rg, rel = aplcl.reference(x, y, p, elem_loss=True)
    assert rl == 0.0 and rg.shape == shape and rel.shape == shape


def test_pyopencl_empty(ctx):
    import pyopencl as cl
    import pyopencl.array as cla

    cctx = cl.Context([d for pl in cl.get_platforms() for d in pl.get_devices()][:1])
    q = cl.CommandQueue(cctx)
    c = aplcl.Context.from_queue(q)
    x = cla.zeros(q, (0, 6), np.float32)
    loss, g = c.compute(x, cla.zeros(q, (0, 6), np.float32))
    assert float(loss.get()) == 0.0 and g.shape == (0, 6)
    c.close()


def test_all_ignored_mean_is_zero_like_empty():
    x = torch.randn(3, 4, requires_grad=True)
    loss = APLLoss(reduction="mean")(x, torch.full((3, 4), -1.0))
    assert float(loss) == 0.0
    loss.backward()
    assert torch.all(x.grad == 0)


def test_read_only_elem_loss_refused(ctx):
    x, y = make_inputs(4, 9, seed=1)
    el = np.full(x.shape, 7.0, np.float32)
    el.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        ctx.compute(x, y, elem_loss=el)
    assert np.all(el == 7.0)  # not written through
    # siblings: an elem_loss that is the logits (or targets) memory would be written over inputs
    xa = x.copy()
    with pytest.raises(ValueError, match="shares memory with the logits"):
        ctx.compute(xa, y, elem_loss=xa)
    ya = y.copy()
    with pytest.raises(ValueError, match="shares memory with the targets"):
        ctx.compute(x, ya, elem_loss=ya)
    assert np.array_equal(xa, x) and np.array_equal(ya, y)


def test_read_only_cl_elem_loss_refused(ctx):
    import pyopencl as cl
    import pyopencl.array as cla

    cctx = cl.Context([d for pl in cl.get_platforms() for d in pl.get_devices()][:1])
    q = cl.CommandQueue(cctx)
    c = aplcl.Context.from_queue(q)
    x, y = make_inputs(4, 9, seed=2)
    xd, yd = cla.to_device(q, x), cla.to_device(q, y)
    ro = cl.Buffer(cctx, cl.mem_flags.READ_ONLY, x.nbytes)
    el = cla.Array(q, x.shape, np.float32, data=ro)
    with pytest.raises(ValueError, match="READ_ONLY"):
        c.compute(xd, yd, elem_loss=el)
    with pytest.raises(ValueError, match="shares its OpenCL buffer"):
        c.compute(xd, yd, elem_loss=xd)
    c.close()


def test_reference_refuses_rounding_float64():
    x, y = make_inputs(3, 5, seed=3)
    l32 = aplcl.reference(x, y)[0]
    assert aplcl.reference(x.astype(np.float64), y)[0] == l32  # float32 values: taken
    with pytest.raises(ValueError, match="not float32 values"):
        aplcl.reference(x.astype(np.float64) + 1e-9, y)


@pytest.mark.parametrize("rows", [0, 3])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_params_checked_on_every_path(rows, dtype):
    # empty batches, and the float64 path (which does not reach the C library), still refuse
    # parameters the C library refuses
    x = torch.zeros(rows, 4, dtype=dtype, requires_grad=True)
    with pytest.raises(aplcl.Error, match="INVALID_PARAMS"):
        apl_loss(x, torch.zeros(rows, 4), aplcl.Params(gamma_neg=-1.0))
