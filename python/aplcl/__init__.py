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
from ._lib import version_number as _version_number

# Written once, in include/aplcl.h: the linked library's APLCL_VERSION_NUMBER as MAJOR.MINOR.PATCH.
_v = _version_number()
__version__ = f"{_v // 10000}.{_v // 100 % 100}.{_v % 100}"
del _v

__all__ = ["Context", "Device", "Error", "LayoutError", "Params", "devices", "reference",
           "__version__"]
