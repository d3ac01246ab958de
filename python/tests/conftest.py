"""conftest.py: fixtures shared by the aplcl Python tests (one context per session, inputs)."""

import numpy as np
import pytest

import aplcl


@pytest.fixture(scope="session")
def ctx():
    with aplcl.Context() as c:
        yield c


def make_inputs(rows, cols, seed=0, lo=-6.0, hi=6.0, ignore=0.0, soft=0.0):
    """float32 logits uniform in [lo, hi) and float32 targets: positives at 20%, a share of
    ignored (-1) and of soft (0.3) targets."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo, hi, size=(rows, cols)).astype(np.float32)
    u = rng.random((rows, cols))
    y = (u < 0.2).astype(np.float32)
    y[(u >= 0.2) & (u < 0.2 + ignore)] = -1.0
    y[(u >= 0.2 + ignore) & (u < 0.2 + ignore + soft)] = 0.3
    return x, y
