"""aplcl: the Asymmetric Polynomial Loss on OpenCL, for numpy, PyOpenCL and PyTorch users.

    import aplcl
    ctx = aplcl.Context()                      # the first GPU, else the first device
    loss, grad = ctx.compute(logits, targets)  # numpy float32/float16 logits, N x C
    loss, grad = aplcl.reference(logits, targets)   # float64 CPU reference
    from aplcl.torch import APLLoss            # the drop-in nn.Module

The math is the repository's docs/apl-spec.md; the C API is include/aplcl.h, whose layout this
binding checks at import (aplcl/_lib.py). Errors from the library raise aplcl.Error.
"""

from ._core import Context, Device, Error, Params, devices, reference
from ._lib import LayoutError

__version__ = "1.0.0"

__all__ = ["Context", "Device", "Error", "LayoutError", "Params", "devices", "reference",
           "__version__"]
