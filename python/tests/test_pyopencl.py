"""test_pyopencl.py: Context.compute on pyopencl arrays: on the caller's queue, waiting for the
arrays' events, returning device arrays and an event without blocking, bit-identical to the
numpy path; offsets of sliced arrays and float16 logits."""

import numpy as np
import pyopencl as cl
import pyopencl.array as cla
import pytest

import aplcl
from conftest import make_inputs

COMPLETE = cl.command_execution_status.COMPLETE


@pytest.fixture(scope="module")
def queue():
    # the device aplcl.Context() picks (the first GPU, else the first device)
    name = aplcl.Context().device_name
    for plat in cl.get_platforms():
        for dev in plat.get_devices():
            if dev.name in name and plat.name in name:
                return cl.CommandQueue(cl.Context([dev]))
    pytest.fail("aplcl's default device %r not among pyopencl's devices" % name)


def test_zero_copy_with_events(queue, ctx):
    actx = aplcl.Context.from_queue(queue)
    x, y = make_inputs(64, 333, seed=21, ignore=0.05)
    y8 = np.where(y < 0, 255, y).astype(np.uint8)
    want_loss, want_g = ctx.compute(x, y8)
    x_d = cla.to_device(queue, x)
    y_d = cla.to_device(queue, y8)
    queue.finish()
    gate = cl.UserEvent(queue.context)  # holds the computation back until set
    x_d.add_event(gate)
    loss_d, g_d = actx.compute(x_d, y_d)
    # returned without waiting: the work cannot have run, the gate is still closed
    assert isinstance(g_d, cla.Array) and isinstance(loss_d, cla.Array)
    ev = g_d.events[-1]
    assert ev is loss_d.events[-1]
    assert ev.command_execution_status != COMPLETE
    gate.set_status(COMPLETE)
    ev.wait()
    assert g_d.shape == x.shape and g_d.dtype == np.float32 and loss_d.shape == ()
    assert np.array_equal(g_d.get(), want_g)  # same kernel, same device: same bits
    assert float(loss_d.get()) == pytest.approx(want_loss, rel=1e-6)
    # the inputs are the caller's buffers, untouched
    assert np.array_equal(x_d.get(), x)


def test_offsets_f16_and_elem_loss(queue, ctx):
    actx = aplcl.Context.from_queue(queue)
    x, y = make_inputs(40, 129, seed=22)
    big_x = cla.to_device(queue, np.concatenate([np.zeros((3, 129), np.float16),
                                                 x.astype(np.float16)]))
    big_y = cla.to_device(queue, np.concatenate([np.full((5, 129), 7.0, np.float32), y]))
    x_d, y_d = big_x[3:], big_y[5:]  # arrays at an offset into their buffers
    assert x_d.offset > 0 and y_d.offset > 0
    el_d = cla.empty(queue, x.shape, np.float32)
    p = aplcl.Params.asl(4, 1, 0.05).update(reduction="mean")
    loss_d, g_d = actx.compute(x_d, y_d, p, elem_loss=el_d)
    el = np.empty(x.shape, np.float32)
    want_loss, want_g = ctx.compute(x.astype(np.float16), y, p, elem_loss=el)
    assert g_d.dtype == np.float16
    assert np.array_equal(g_d.get(), want_g) and np.array_equal(el_d.get(), el)
    assert float(loss_d.get()) == pytest.approx(want_loss, rel=1e-6)
    loss_only, none = actx.compute(x_d, y_d, grad=False)
    assert none is None and float(loss_only.get()) > 0


def test_bad_device_input(queue):
    actx = aplcl.Context.from_queue(queue)
    x, y = make_inputs(4, 6)
    x_d, y_d = cla.to_device(queue, x), cla.to_device(queue, y)
    with pytest.raises(TypeError, match="both"):
        actx.compute(x_d, y)
    with pytest.raises(ValueError, match="shape"):
        actx.compute(x_d, cla.to_device(queue, y[:, :3].copy()))
    with pytest.raises(TypeError, match="int32"):
        actx.compute(x_d, cla.to_device(queue, y.astype(np.int32)))
    with pytest.raises(TypeError, match="float64"):
        actx.compute(cla.to_device(queue, x.astype(np.float64)), y_d)
    with pytest.raises(ValueError, match="contiguous"):
        actx.compute(x_d[:, :3], y_d[:, :3])
    # arrays of another OpenCL context: the library's CONTEXT_MISMATCH
    other = cl.CommandQueue(cl.Context([queue.device]))
    with pytest.raises(aplcl.Error) as ei:
        actx.compute(cla.to_device(other, x), cla.to_device(other, y))
    assert ei.value.name == "APLCL_ERR_CONTEXT_MISMATCH" and "from_queue" in str(ei.value)
    with pytest.raises(TypeError, match="CommandQueue"):
        aplcl.Context.from_queue("not a queue")
