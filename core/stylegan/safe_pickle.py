"""Reading NVIDIA network pickles without running anything inside them.

NVIDIA's `torch_utils.persistence` stores every network as a call to
`_reconstruct_persistent_obj(meta)`, where `meta` holds the module's Python
source (executed by NVIDIA's own loader) and the object's saved `__dict__`.
We never execute that source: a restricted unpickler maps each allowed global
to a harmless stand-in and refuses every other one, so what comes out is only
containers, numbers, strings, tensors and `PersistentObject` records.
"""

from __future__ import annotations

import io
import math
import pickle
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar

import numpy as np
import torch

from core.checkpoint_files import (
    DEFAULT_PICKLE_LIMITS,
    MAX_TENSOR_DIMS,
    BoundedUnpickler,
    PickleLimitError,
    PickleLimits,
    bounded_dispatch,
    scan_torch_bytes,
    tensor_geometry_problem,
    torch_error_reason,
)


class UnsafePickleError(pickle.UnpicklingError):
    """The pickle references something outside the allow-list."""


@dataclass
class PersistentObject:
    """What NVIDIA's persistence layer saved for one network object: class name + state."""

    class_name: str
    state: dict[str, Any]
    version: int | None = None
    module_hint: str = field(default="", repr=False)  # first line of the (unexecuted) source

    def children(self) -> dict[str, Any]:
        """The saved `_modules` (name -> PersistentObject or None)."""
        modules = self.state.get("_modules") or {}
        if not isinstance(modules, dict):
            raise UnsafePickleError(f"the modules of {self.class_name} are not a dict")
        return modules

    def parameters_and_buffers(self) -> dict[str, torch.Tensor]:
        """Flatten `_parameters`, `_buffers` and nested `_modules` into state-dict names.

        A network's modules form a tree; one reached twice or nested deeper than
        MAX_MODULE_DEPTH is refused (walking such a graph by names could take for ever).
        """
        out: dict[str, torch.Tensor] = {}
        for prefix, obj in _named_objects(self):
            for group in ("_parameters", "_buffers"):
                values = obj.state.get(group) or {}
                if not isinstance(values, dict):
                    raise UnsafePickleError(f"{prefix}{group} is not a dict")
                for name, value in values.items():
                    if value is None:
                        continue
                    if not isinstance(value, torch.Tensor):
                        raise UnsafePickleError(f"{prefix}{name} is not a tensor")
                    out[f"{prefix}{name}"] = value.detach()
        return out


MAX_MODULE_DEPTH = 64  # NVIDIA's Generator nests 4 deep


def _named_objects(root: PersistentObject):
    """(prefix, object) for the root and every saved module below it, each exactly once."""
    seen = {id(root)}
    pending = [("", root, 0)]
    while pending:
        prefix, obj, depth = pending.pop()
        yield prefix, obj
        for name, child in obj.children().items():
            if child is None:
                continue
            if not isinstance(child, PersistentObject):
                raise UnsafePickleError(f"module {prefix}{name} is not a saved network object")
            if id(child) in seen:
                raise UnsafePickleError(f"module {prefix}{name} appears more than once; a "
                                        "network's modules form a tree")
            if depth + 1 > MAX_MODULE_DEPTH:
                raise UnsafePickleError(f"modules are nested more than {MAX_MODULE_DEPTH} deep")
            seen.add(id(child))
            pending.append((f"{prefix}{name}.", child, depth + 1))


def walk_objects(root: PersistentObject):
    """The root and every saved module below it, each once (see `_named_objects`)."""
    for _prefix, obj in _named_objects(root):
        yield obj


def _reconstruct_persistent_obj(meta: Any) -> PersistentObject:
    if not isinstance(meta, dict) or not isinstance(meta.get("state"), dict):
        raise UnsafePickleError("persistent object without a state dict")
    if meta.get("type") != "class":
        raise UnsafePickleError(f"persistent object of type {meta.get('type')!r}")
    src = meta.get("module_src")
    hint = src.splitlines()[0][:200] if isinstance(src, str) and src else ""
    return PersistentObject(
        class_name=str(meta.get("class_name")),
        state=meta["state"],
        version=meta.get("version"),
        module_hint=hint,
    )


class _AttrDict(dict):
    """Stand-in for `dnnlib.util.EasyDict`: a dict that tolerates BUILD state."""


def _load_storage_from_bytes(data: Any):
    if not isinstance(data, bytes | bytearray):
        raise UnsafePickleError("tensor storage is not a byte string")
    data = bytes(data)
    try:
        scan_torch_bytes(data)  # sizes checked before torch allocates anything
        storage = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch's own restricted unpickler said no
        raise UnsafePickleError(f"tensor storage refused: {torch_error_reason(exc)}") from exc
    if not isinstance(storage, torch.TypedStorage):
        raise UnsafePickleError("tensor storage is not a typed storage")
    return storage


_NUMERIC_KINDS = frozenset("biufc")


def _numpy_scalar(dtype: Any, raw: Any = None):
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(f"numpy scalar of non-numeric dtype {dtype!r}")
    if not isinstance(raw, bytes) or len(raw) != dtype.itemsize:
        raise UnsafePickleError("numpy scalar with malformed data")
    return np.frombuffer(raw, dtype=dtype)[0]


def _numpy_dtype(spec: Any, align: Any = False, copy: Any = True):
    if not isinstance(spec, str):
        raise UnsafePickleError("numpy dtype spec is not a string")
    dtype = np.dtype(spec, copy=True)  # a copy: BUILD below must not touch numpy's singletons
    if dtype.kind not in _NUMERIC_KINDS:
        raise UnsafePickleError(f"numpy dtype {spec!r} is not numeric")
    return dtype


def _numpy_reconstruct(subtype: Any, shape: Any, dtype_code: Any):
    # ndarray.__reduce__ -> _reconstruct(ndarray, (0,), b'b') followed by BUILD.
    if subtype is not np.ndarray:
        raise UnsafePickleError("numpy array of an unexpected subclass")
    # numpy pickles an empty array here and fills it in BUILD, which checks the data length.
    dims = (shape,) if isinstance(shape, int) else shape
    if not (isinstance(dims, tuple) and all(isinstance(d, int) and d >= 0 for d in dims)
            and len(dims) <= MAX_TENSOR_DIMS and math.prod(dims) <= 1):
        raise UnsafePickleError("numpy array placeholder of an unexpected shape")
    return np.ndarray.__new__(np.ndarray, shape, dtype_code)


def _ordered_dict(*args: Any) -> OrderedDict:
    return OrderedDict(*args)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, torch.TypedStorage):
        raise UnsafePickleError("tensor built from something that is not a storage")
    with warnings.catch_warnings():  # TypedStorage is what these pickles hold
        warnings.simplefilter("ignore", UserWarning)
        elements = storage.size()
    problem = tensor_geometry_problem(elements, storage_offset, size, stride)
    if problem:
        raise UnsafePickleError(problem)
    return torch._utils._rebuild_tensor_v2(storage, storage_offset, tuple(size), tuple(stride),
                                           False, OrderedDict())


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *_rest):
    if not isinstance(data, torch.Tensor):
        raise UnsafePickleError("parameter built from something that is not a tensor")
    return torch.nn.Parameter(data, requires_grad=False)


def _builtin_set(items: Any = ()):
    return set(items)


# (module, name) -> stand-in. Protocol-3 pickles (Python 3.7, the released FFHQ
# networks) spell the same things with GLOBAL; NumPy >= 2 writes `numpy._core`.
_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): _AttrDict,
    ("dnnlib", "EasyDict"): _AttrDict,
    ("collections", "OrderedDict"): _ordered_dict,
    ("builtins", "set"): _builtin_set,
    ("__builtin__", "set"): _builtin_set,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage_from_bytes,
    ("numpy", "dtype"): _numpy_dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct,
}


# BUILD may only update objects the stand-ins created, never a function or class.
_BUILDABLE = (np.dtype, np.ndarray, _AttrDict)


def _checked_build(self: RestrictedUnpickler) -> None:
    target = self.stack[-2] if len(self.stack) >= 2 else None
    if not isinstance(target, _BUILDABLE):
        raise UnsafePickleError(f"refused to set state on {type(target).__name__}")
    pickle._Unpickler.load_build(self)


class RestrictedUnpickler(BoundedUnpickler):
    """The pure-Python unpickler with bounded work, so that BUILD can be checked as well
    as globals."""

    dispatch: ClassVar[dict] = bounded_dispatch(
        {**BoundedUnpickler.operations(), pickle.BUILD[0]: _checked_build})

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"refused global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError("refused persistent id")


def safe_unpickle(stream: BinaryIO, *, limits: PickleLimits = DEFAULT_PICKLE_LIMITS) -> Any:
    """Unpickle with the allow-list above. Raises UnsafePickleError (a refused global or a
    limit of `limits` reached) or another pickle error."""
    try:
        return RestrictedUnpickler(stream, limits=limits).load()
    except PickleLimitError as exc:  # hostile, not damaged: worded as a refusal
        raise UnsafePickleError(str(exc)) from exc
