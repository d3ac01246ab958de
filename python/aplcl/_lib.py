"""_lib.py: the ctypes binding of libaplcl, checked against include/aplcl.h at import.

Loads the library built with the package, declares the structures and functions the Python
front ends call, and compares every structure's size and field offsets, the constants and the
status list with _layout.json, which a small C program compiled against include/aplcl.h wrote at
build time (python/layout.c): a header change the binding does not follow fails the import with
the field named, never a silent misread. Not the public API: that is aplcl/__init__.py.
"""

import ctypes
import json
import os

_HERE = os.path.dirname(os.path.abspath(__file__))

MAX_TERMS = 8  # checked against APLCL_MAX_TERMS below

cl_mem = ctypes.c_void_p
cl_event = ctypes.c_void_p
c_size = ctypes.c_size_t


class aplcl_params(ctypes.Structure):
    _fields_ = [
        ("gamma_pos", ctypes.c_float),
        ("gamma_neg", ctypes.c_float),
        ("clip", ctypes.c_float),
        ("eps", ctypes.c_float),
        ("n_alpha", ctypes.c_int),
        ("alpha", ctypes.c_float * MAX_TERMS),
        ("n_beta", ctypes.c_int),
        ("beta", ctypes.c_float * MAX_TERMS),
        ("focus_grad", ctypes.c_int),
        ("reduction", ctypes.c_int),
        ("normalizer", ctypes.c_double),
        ("grad_scale", ctypes.c_float),
    ]


class aplcl_targets(ctypes.Structure):
    _fields_ = [
        ("format", ctypes.c_int),
        ("data", cl_mem),
        ("data_offset", c_size),
        ("indices", cl_mem),
        ("indices_offset", c_size),
        ("nnz", c_size),
        ("ignore", cl_mem),
        ("ignore_offset", c_size),
        ("label_count", c_size),
        ("label_offset", c_size),
    ]


class aplcl_weights(ctypes.Structure):
    """Host arrays (host and reference calls) or cl_mem handles (device calls), as void *."""
    _fields_ = [
        ("pos_weight", ctypes.c_void_p),
        ("pos_weight_offset", c_size),
        ("weight", ctypes.c_void_p),
        ("weight_offset", c_size),
        ("kind", ctypes.c_int),
    ]


class aplcl_io(ctypes.Structure):
    _fields_ = [
        ("dtype", ctypes.c_int),
        ("logits", cl_mem),
        ("logits_offset", c_size),
        ("targets", aplcl_targets),
        ("grad", cl_mem),
        ("grad_offset", c_size),
        ("grad_accumulate", ctypes.c_int),
        ("elem_loss", cl_mem),
        ("elem_loss_offset", c_size),
        ("loss", cl_mem),
        ("loss_offset", c_size),
        ("counts", cl_mem),
        ("counts_offset", c_size),
        ("weights", aplcl_weights),
    ]


class aplcl_host_io(ctypes.Structure):
    _fields_ = [
        ("dtype", ctypes.c_int),
        ("logits", ctypes.c_void_p),
        ("target_format", ctypes.c_int),
        ("targets", ctypes.c_void_p),
        ("weights", aplcl_weights),
        ("grad", ctypes.c_void_p),
        ("elem_loss", ctypes.c_void_p),
        ("loss", ctypes.c_double),
        ("counts", ctypes.c_uint64 * 4),
    ]


class aplcl_ref_io(ctypes.Structure):
    _fields_ = [
        ("logits", ctypes.c_void_p),
        ("target_format", ctypes.c_int),
        ("targets", ctypes.c_void_p),
        ("weights", aplcl_weights),
        ("grad", ctypes.c_void_p),
        ("elem_loss", ctypes.c_void_p),
        ("loss", ctypes.c_double),
        ("counts", ctypes.c_uint64 * 4),
    ]


class aplcl_device_info(ctypes.Structure):
    _fields_ = [
        ("platform_index", ctypes.c_uint),
        ("device_index", ctypes.c_uint),
        ("platform_name", ctypes.c_char * 128),
        ("device_name", ctypes.c_char * 128),
        ("device_version", ctypes.c_char * 64),
        ("driver_version", ctypes.c_char * 64),
        ("type", ctypes.c_uint64),
        ("compute_units", ctypes.c_uint),
        ("global_mem_bytes", ctypes.c_uint64),
        ("max_alloc_bytes", ctypes.c_uint64),
        ("has_fp64", ctypes.c_int),
    ]


STRUCTS = (aplcl_params, aplcl_targets, aplcl_io, aplcl_weights, aplcl_host_io, aplcl_ref_io,
           aplcl_device_info)
# C enums the binding passes as ctypes.c_int: their size must be int's.
ENUMS = ("aplcl_reduction", "aplcl_dtype", "aplcl_target_format", "aplcl_status",
         "aplcl_weight_kind")


class LayoutError(ImportError):
    """The binding's view of include/aplcl.h differs from the header the library was built with."""


def check_layout(layout, structs=STRUCTS):
    """Raises LayoutError naming the first difference between the ctypes structures (`structs`:
    this module's, or _cuda.py's) and the header's layout (a dict as _layout.json holds it)."""

    def want(key):
        if key not in layout:
            raise LayoutError("aplcl: _layout.json lacks %r: the header and the binding "
                              "(python/aplcl/_lib.py) disagree on what exists" % key)
        return layout[key]

    for st in structs:
        name = st.__name__
        for fname, _ in st._fields_:
            got = getattr(st, fname).offset
            exp = want("offsetof %s.%s" % (name, fname))
            if got != exp:
                raise LayoutError("aplcl: %s.%s is at offset %d in the ctypes binding but %d in "
                                  "include/aplcl.h; update python/aplcl/_lib.py"
                                  % (name, fname, got, exp))
        if ctypes.sizeof(st) != want("sizeof " + name):
            raise LayoutError("aplcl: sizeof(%s) is %d in the ctypes binding but %d in "
                              "include/aplcl.h; update python/aplcl/_lib.py"
                              % (name, ctypes.sizeof(st), want("sizeof " + name)))
        n_fields = sum(1 for k in layout if k.startswith("offsetof %s." % name))
        if n_fields != len(st._fields_):
            raise LayoutError("aplcl: %s has %d fields in include/aplcl.h but %d in the ctypes "
                              "binding; update python/aplcl/_lib.py"
                              % (name, n_fields, len(st._fields_)))
    for e in ENUMS:
        if want("sizeof " + e) != ctypes.sizeof(ctypes.c_int):
            raise LayoutError("aplcl: %s is not an int-sized enum" % e)
    if want("APLCL_MAX_TERMS") != MAX_TERMS:
        raise LayoutError("aplcl: APLCL_MAX_TERMS is %d in include/aplcl.h, %d in the binding"
                          % (want("APLCL_MAX_TERMS"), MAX_TERMS))


def _load():
    path = os.path.join(_HERE, "_layout.json")
    try:
        with open(path) as f:
            layout = json.load(f)
    except OSError as e:
        raise ImportError("aplcl: %s is missing (%s); install the package with "
                          "`python3 -m pip install ./python` from the repository" % (path, e))
    check_layout(layout)
    lib_path = os.environ.get("APLCL_LIBRARY") or os.path.join(_HERE, "libaplcl.so")
    try:
        lib = ctypes.CDLL(lib_path)
    except OSError as e:
        raise ImportError("aplcl: cannot load the C library %s (%s)" % (lib_path, e))
    return layout, lib


layout, lib = _load()
C = layout  # constants by their C names: C["APLCL_REDUCE_MEAN"]
STATUS = {v: (name, text) for name, v, text in layout["status"]}


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


_P = ctypes.POINTER
_st = ctypes.c_int
_ptr = ctypes.c_void_p
version_number = _fn("aplcl_version_number", ctypes.c_uint)
status_string = _fn("aplcl_status_string", ctypes.c_char_p, _st)
last_cl_error = _fn("aplcl_last_cl_error", ctypes.c_int)
last_build_log = _fn("aplcl_last_build_log", ctypes.c_char_p)
params_default = _fn("aplcl_params_default", aplcl_params)
params_bce = _fn("aplcl_params_bce", aplcl_params)
params_focal = _fn("aplcl_params_focal", aplcl_params, ctypes.c_float)
params_asl = _fn("aplcl_params_asl", aplcl_params, ctypes.c_float, ctypes.c_float, ctypes.c_float)
params_poly1 = _fn("aplcl_params_poly1", aplcl_params, ctypes.c_float)
params_validate = _fn("aplcl_params_validate", _st, _P(aplcl_params))
ctx_create = _fn("aplcl_ctx_create", _st, _P(_ptr), ctypes.c_char_p)
ctx_create_from_queue = _fn("aplcl_ctx_create_from_queue", _st, _P(_ptr), _ptr)
ctx_destroy = _fn("aplcl_ctx_destroy", None, _ptr)
ctx_device_name = _fn("aplcl_ctx_device_name", ctypes.c_char_p, _ptr)
host_compute_io = _fn("aplcl_host_compute_io", _st, _ptr, _P(aplcl_params), c_size, c_size,
                      _P(aplcl_host_io))
compute_io = _fn("aplcl_compute_io", _st, _ptr, _P(aplcl_params), c_size, c_size, _P(aplcl_io),
                 ctypes.c_uint, _P(cl_event), _P(cl_event))
ref_compute_io = _fn("aplcl_ref_compute_io", _st, _P(aplcl_params), c_size, c_size,
                     _P(aplcl_ref_io))
list_devices = _fn("aplcl_list_devices", _st, _P(aplcl_device_info), c_size, _P(c_size))
