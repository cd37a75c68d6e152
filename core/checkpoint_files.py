"""The one bounded reader of model and array files, before anything is materialised.

- `checkpoint_format` tells files apart by their first bytes.
- `BoundedUnpickler` is the base of every unpickler SemEdit runs: it caps the opcodes
  executed, the memo and the nesting of marks, so a small hostile pickle cannot keep the
  CPU busy for ever or grow without end.
- `load_torch_file` reads a `torch.save` file (zip or pre-1.6 format) with torch's
  restricted unpickler, after `scan_torch_*` has checked every storage's declared size
  against the bytes really present and every tensor's size, stride and offset against its
  storage: a 59 KB file cannot describe a 160 GB tensor (a zero-stride view) any more.
- `read_npy_bytes` / `read_npz_bytes` / `read_array_file` read NumPy files without pickles,
  checking each header's dtype and shape against the bytes present and a limit first.

Every failure is a `CheckpointError` naming the file (`ArrayFileError` for the array
helpers, which callers word in their own terms).
"""

from __future__ import annotations

import io
import math
import os
import pickle
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np

from core.errors import CheckpointError
from core.fileio import FileReadError, open_regular_file

# torch.save's zip format, and its pre-1.6 format (its magic number pickled at protocol 2).
_ZIP_MAGIC = b"PK\x03\x04"
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19."
_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C

MAX_TENSOR_DIMS = 8


def checkpoint_format(path: Path) -> str:
    """"torch" (a torch.save file), "pickle" (another pickle) or "other".

    A missing, empty or special file (FIFO, device, folder) raises CheckpointError naming it.
    """
    try:
        with open_regular_file(path) as f:
            head = f.read(len(_LEGACY_TORCH_MAGIC))
    except FileReadError as error:
        raise CheckpointError(path, _file_reason(error)) from error
    if not head:
        raise CheckpointError(path, "the file is empty")
    if head.startswith(_ZIP_MAGIC) or head == _LEGACY_TORCH_MAGIC:
        return "torch"
    if head[:1] == b"\x80":
        return "pickle"
    return "other"


def _file_reason(error: FileReadError) -> str:
    return "no such file" if error.reason == "does not exist" else f"the path {error.reason}"


# --------------------------------------------------------------------------- unpickling


@dataclass(frozen=True)
class PickleLimits:
    """The most work one unpickling may do (a released FFHQ network needs ~1/100 of it)."""

    opcodes: int = 20_000_000
    memo: int = 2_000_000
    nesting: int = 200  # open MARKs at once: tuples, lists and dicts being built inside others
    file_bytes: int = 8 << 30  # the released networks are 0.1–1 GB


DEFAULT_PICKLE_LIMITS = PickleLimits()


class PickleLimitError(pickle.UnpicklingError):
    """The pickle asks for more work than `PickleLimits` allow."""


def _counted(operation: Callable[[Any], None]) -> Callable[[Any], None]:
    def run(self: BoundedUnpickler) -> None:
        self.opcodes_run += 1
        if self.opcodes_run > self.limits.opcodes:
            raise PickleLimitError(f"more than {self.limits.opcodes:,} pickle operations")
        operation(self)
        if len(self.metastack) > self.limits.nesting:
            raise PickleLimitError(f"containers nested more than {self.limits.nesting} deep")
        if len(self.memo) > self.limits.memo:
            raise PickleLimitError(f"more than {self.limits.memo:,} remembered objects")

    return run


def bounded_dispatch(table: dict[int, Callable[[Any], None]]) -> dict[int, Callable[[Any], None]]:
    """`table` with every operation counted and checked against the limits."""
    return {code: _counted(operation) for code, operation in table.items()}


class _SizedStream:
    """A stream that refuses reads longer than what is left in it, before reading.

    A length field of a pickle (BINBYTES8, FRAME) can claim any size; Python allocates a
    read's full length before it knows how much data there is."""

    def __init__(self, file: BinaryIO, limits: PickleLimits):
        self._file = file
        self._left = _bytes_left(file)
        if self._left is not None and self._left > limits.file_bytes:
            raise PickleLimitError(f"the pickle is larger than {limits.file_bytes >> 30} GiB")

    def read(self, n: int = -1) -> bytes:
        if self._left is not None and n > self._left:
            raise pickle.UnpicklingError(f"a length of {n:,} bytes runs past the end of the "
                                         "data")
        data = self._file.read(n)
        if self._left is not None:
            self._left -= len(data)
        return data

    def readline(self) -> bytes:
        line = self._file.readline()
        if self._left is not None:
            self._left -= len(line)
        return line


def _bytes_left(file: BinaryIO) -> int | None:
    """How many bytes `file` still holds, when it can tell without reading them."""
    try:
        if isinstance(file, io.BytesIO):
            return file.getbuffer().nbytes - file.tell()
        return os.fstat(file.fileno()).st_size - file.tell()
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


def _refuse_bytearray(self: BoundedUnpickler) -> None:
    # BYTEARRAY8 allocates its claimed length before reading; no checkpoint uses it.
    raise pickle.UnpicklingError("bytearray objects are not allowed")


_BASE_OPERATIONS = {**pickle._Unpickler.dispatch, pickle.BYTEARRAY8[0]: _refuse_bytearray}


class BoundedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with its work bounded; refuses every global by default.

    Subclasses override `find_class` / `persistent_load`; a subclass that replaces an
    operation builds its table from `BoundedUnpickler.operations()` with `bounded_dispatch`
    so the count stays on.
    """

    dispatch: ClassVar[dict] = bounded_dispatch(_BASE_OPERATIONS)

    def __init__(self, file: BinaryIO, *, limits: PickleLimits = DEFAULT_PICKLE_LIMITS):
        super().__init__(_SizedStream(file, limits))
        self.limits = limits
        self.opcodes_run = 0

    @staticmethod
    def operations() -> dict[int, Callable[[Any], None]]:
        """The unwrapped operation table, for subclasses to change and wrap."""
        return dict(_BASE_OPERATIONS)

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused global {module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused persistent id")


# --------------------------------------------------------------------------- tensors


def tensor_geometry_problem(storage_elements: int, offset: Any, size: Any,
                            stride: Any) -> str | None:
    """Why a tensor view cannot be taken on a storage of `storage_elements`, or None.

    A view may not reach outside its storage, and may not hold more elements than the
    storage (overlapping or zero strides: a broadcast view grows into a huge copy the
    moment anything converts it).
    """
    if not (isinstance(size, tuple | list) and isinstance(stride, tuple | list)):
        return "a tensor's size or stride is not a tuple"
    values = [offset, *size, *stride]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        return "a tensor's size, stride or offset is not a non-negative whole number"
    if len(size) != len(stride) or len(size) > MAX_TENSOR_DIMS:
        return f"a tensor has {len(size)} dimensions and {len(stride)} strides"
    elements = math.prod(size)
    if elements == 0:
        return None if offset <= storage_elements else "a tensor starts outside its storage"
    last = offset + sum((n - 1) * step for n, step in zip(size, stride, strict=True))
    if last >= storage_elements:
        return (f"a tensor of shape {list(size)} reaches element {last:,} of a storage of "
                f"{storage_elements:,}")
    if elements > storage_elements:
        return (f"a tensor of shape {list(size)} claims {elements:,} elements from a storage "
                f"of {storage_elements:,} (overlapping strides {list(stride)})")
    return None


_STORAGE_ELEMENT_BYTES = {
    "DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
    "LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1,
    "ByteStorage": 1, "BoolStorage": 1, "ComplexFloatStorage": 8,
    "ComplexDoubleStorage": 16, "UntypedStorage": 1,
}
_TENSOR_BUILDERS = frozenset({("torch._utils", "_rebuild_tensor_v2"),
                              ("torch._utils", "_rebuild_tensor_v3"),
                              ("torch._utils", "_rebuild_tensor")})
# Tensor subclasses: _rebuild_from_type_v2(builder, class, builder_args, state).
_SUBCLASS_BUILDER = ("torch._tensor", "_rebuild_from_type_v2")


class _StorageType:
    def __init__(self, name: str):
        self.element_bytes = _STORAGE_ELEMENT_BYTES[name]


@dataclass
class _DeclaredStorage:
    key: str
    elements: int
    element_bytes: int


class _Inert(dict):
    """What any other global becomes while scanning: takes anything, keeps nothing.

    torch's own restricted unpickler vets those globals afterwards; the scan only needs
    to see that no storage reaches a tensor builder it does not check. A dict subclass with
    list methods, so that SETITEMS, APPENDS and BUILD on it work as on what it stands for."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()
        if _holds_storage((*args, *kwargs.values())):
            raise pickle.UnpicklingError("a storage is passed to something that is not a "
                                         "plain tensor")

    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass


def _holds_storage(values: Any, depth: int = 0) -> bool:
    if isinstance(values, _DeclaredStorage):
        return True
    if isinstance(values, tuple | list) and depth < 4:
        return any(_holds_storage(v, depth + 1) for v in values)
    return False


def _subclass_tensor(builder: Any, _cls: Any, args: Any, _state: Any = None) -> Any:
    if not isinstance(args, tuple):
        raise pickle.UnpicklingError("a tensor subclass without its arguments")
    return builder(*args)  # the checking builder, or _Inert (which refuses storages)


class _TensorScanner(BoundedUnpickler):
    """Checks the declared storages and the tensor views of a torch.save pickle."""

    def __init__(self, file: BinaryIO, storage_bytes: Callable[[str], int | None]):
        super().__init__(file)
        self._storage_bytes = storage_bytes
        self.storages: dict[str, _DeclaredStorage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _TENSOR_BUILDERS:
            return self._tensor
        if (module, name) == _SUBCLASS_BUILDER:
            return _subclass_tensor
        if module == "torch" and name in _STORAGE_ELEMENT_BYTES:
            return _StorageType(name)
        return _Inert

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise pickle.UnpicklingError("a persistent id that is not a storage")
        storage_type, key, _location, elements = pid[1:5]
        if len(pid) == 6 and pid[5] is not None:
            raise pickle.UnpicklingError("old-style storage views are not supported")
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("a storage of an unknown type")
        if not isinstance(key, str) or not isinstance(elements, int) or elements < 0:
            raise pickle.UnpicklingError("a malformed storage record")
        known = self.storages.get(key)
        if known is not None:
            return known
        declared = elements * storage_type.element_bytes
        present = self._storage_bytes(key)
        if present is None:
            raise pickle.UnpicklingError(f"storage {key!r} is missing")
        if declared > present:
            raise pickle.UnpicklingError(f"storage {key!r} declares {declared:,} bytes but "
                                         f"holds {present:,}")
        record = _DeclaredStorage(key, elements, storage_type.element_bytes)
        self.storages[key] = record
        return record

    @staticmethod
    def _tensor(storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> _Inert:
        if not isinstance(storage, _DeclaredStorage):
            raise pickle.UnpicklingError("a tensor built from something that is not a storage")
        problem = tensor_geometry_problem(storage.elements, offset, size, stride)
        if problem:
            raise pickle.UnpicklingError(problem)
        return _Inert()


def scan_torch_zip(archive: zipfile.ZipFile, file_size: int) -> None:
    """Check a torch.save zip before torch reads it. Raises pickle.UnpicklingError."""
    infos = archive.infolist()
    pickles = [i for i in infos if i.filename.endswith("/data.pkl") or i.filename == "data.pkl"]
    if len(pickles) != 1:
        raise pickle.UnpicklingError("no single data.pkl: not a torch.save archive")
    for info in infos:
        # torch stores members uncompressed; a compressed one could unpack to anything.
        if info.compress_type != zipfile.ZIP_STORED or info.file_size > file_size:
            raise pickle.UnpicklingError(f"the member {info.filename!r} is compressed or "
                                         "larger than the file")
    prefix = pickles[0].filename[: -len("data.pkl")]
    sizes = {i.filename: i.file_size for i in infos}
    with archive.open(pickles[0]) as stream:
        scanner = _TensorScanner(stream,
                                 lambda key: sizes.get(f"{prefix}data/{key}"))
        scanner.load()


def scan_legacy_torch(stream: BinaryIO, file_size: int) -> None:
    """Check a pre-1.6 torch.save stream (also NVIDIA's pickled storages) before torch
    reads it: magic, protocol, system info, the object, its storage keys, then each
    storage as an 8-byte element count and the raw bytes. Leaves `stream` where it was."""
    start = stream.tell()
    try:
        if BoundedUnpickler(stream).load() != _LEGACY_MAGIC_NUMBER:
            raise pickle.UnpicklingError("not a torch.save file (wrong magic number)")
        BoundedUnpickler(stream).load()  # protocol version
        info = BoundedUnpickler(stream).load()
        if not isinstance(info, dict):
            raise pickle.UnpicklingError("malformed system information")
        scanner = _TensorScanner(stream, lambda key: file_size)  # refined below
        scanner.load()
        keys = BoundedUnpickler(stream).load()
        if not isinstance(keys, list) or set(keys) != set(scanner.storages):
            raise pickle.UnpicklingError("the storage list does not match the object")
        for key in keys:
            storage = scanner.storages[key]
            head = stream.read(8)
            if len(head) != 8:
                raise pickle.UnpicklingError("the file ends before its tensor data")
            (elements,) = struct.unpack("<q", head)
            if elements != storage.elements:
                raise pickle.UnpicklingError(f"storage {key!r} has the wrong size")
            nbytes = elements * storage.element_bytes
            here = stream.tell()
            if here + nbytes > start + file_size:
                raise pickle.UnpicklingError(f"storage {key!r} is truncated")
            stream.seek(here + nbytes)
    finally:
        stream.seek(start)


def scan_torch_bytes(data: bytes) -> None:
    """`scan_legacy_torch` or `scan_torch_zip` for an in-memory torch.save payload."""
    if data.startswith(_ZIP_MAGIC):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            scan_torch_zip(archive, len(data))
    else:
        scan_legacy_torch(io.BytesIO(data), len(data))


MAX_TORCH_FILE_BYTES = 8 << 30


def load_torch_file(path: Path, *, safe_globals: Iterable[Any] = (),
                    limit: int = MAX_TORCH_FILE_BYTES, map_location: Any = "cpu") -> Any:
    """What `torch.save` wrote to `path`, read by torch's restricted unpickler after the
    scan above; CheckpointError naming the file for anything else (a missing file
    included: callers that offer a download check `path.exists()` first)."""
    import torch  # not at the top: the array readers must not need torch

    try:
        stream = open_regular_file(path)
    except FileReadError as error:
        raise CheckpointError(path, _file_reason(error)) from error
    with stream:
        size = os.fstat(stream.fileno()).st_size
        if size == 0:
            raise CheckpointError(path, "the file is empty")
        if size > limit:
            raise CheckpointError(path, f"the file is larger than {limit >> 30} GiB")
        try:
            is_zip = stream.read(4) == _ZIP_MAGIC
            stream.seek(0)
            if is_zip:
                with zipfile.ZipFile(stream) as archive:
                    scan_torch_zip(archive, size)
            else:
                scan_legacy_torch(stream, size)
            stream.seek(0)
        except PickleLimitError as error:
            raise CheckpointError(path, f"refused: {error}") from error
        except pickle.UnpicklingError as error:
            raise CheckpointError(path, f"refused: {error} (nothing in it was run)") from error
        except MemoryError as error:
            raise CheckpointError(path, "the file needs more memory than there is") from error
        except Exception as error:  # zip, EOF, struct: a damaged file
            raise CheckpointError(path, f"the file is truncated or corrupt "
                                        f"({torch_error_reason(error)})") from error
        try:
            with torch.serialization.safe_globals(list(safe_globals)), \
                    warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # torch's notes on protocols
                return torch.load(stream, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            raise CheckpointError(path, "refused: the file holds Python objects other than "
                                        f"tensors ({torch_error_reason(error)})") from error
        except MemoryError as error:
            raise CheckpointError(path, "the file needs more memory than there is") from error
        except Exception as error:  # zip, EOF, torch's own: a damaged file
            raise CheckpointError(path, f"the file is truncated or corrupt "
                                        f"({torch_error_reason(error)})") from error


def torch_error_reason(error: BaseException) -> str:
    """One line of what went wrong, without torch's advice to turn its safety off."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if line.startswith("WeightsUnpickler error:"):
            line = line[len("WeightsUnpickler error:"):].strip()
            return line.split(". Please use", 1)[0].rstrip(".")[:300]
    useful = [line for line in lines if "weights_only" not in line
              and not line.startswith(("Weights only load failed", "Check the documentation",
                                       "(1)", "(2)", "Please file an issue"))]
    return useful[0][:300] if useful else type(error).__name__


# --------------------------------------------------------------------------- arrays


class ArrayFileError(ValueError):
    """A NumPy array file that cannot be read; the message is a sentence fragment."""


NUMERIC_KINDS = "fiub"


def read_npy_bytes(raw: bytes, *, limit: int, kinds: str = NUMERIC_KINDS) -> np.ndarray:
    """One .npy array: no pickles, numeric `kinds` only, header checked before reading."""
    if len(raw) > limit:
        raise ArrayFileError(f"it is larger than {limit:,} bytes")
    stream = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ArrayFileError(f"npy format version {version} is not supported")
    except ArrayFileError:
        raise
    except Exception as error:  # numpy's header parser raises ValueError, SyntaxError,
        # tokenize.TokenError, ... for damaged headers: all mean the same here
        raise ArrayFileError(f"it is not a valid .npy array ({error})") from error
    if dtype.hasobject:
        raise ArrayFileError("it holds Python objects, which are not allowed")
    if dtype.kind not in kinds or dtype.subdtype is not None or dtype.names is not None:
        raise ArrayFileError(f"it holds {dtype} values, not numbers")
    if len(shape) > MAX_TENSOR_DIMS:
        raise ArrayFileError(f"it has {len(shape)} dimensions")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > len(raw) - stream.tell():
        raise ArrayFileError("its header promises more data than the file holds")
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=stream.tell())
    return array.reshape(shape, order="F" if fortran else "C").copy()


def read_npz_bytes(data: bytes, *, limit: int, max_arrays: int = 1000,
                   kinds: str = NUMERIC_KINDS) -> dict[str, np.ndarray]:
    """The arrays of an .npz held in memory; all of them together at most `limit` bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as error:  # BadZipFile, NotImplementedError (a version byte), ...
        raise ArrayFileError("it is not a valid .npz file") from error
    arrays: dict[str, np.ndarray] = {}
    total = 0
    with archive:
        infos = archive.infolist()
        if len(infos) > max_arrays:
            raise ArrayFileError(f"it holds {len(infos)} arrays; at most {max_arrays} are read")
        if sum(info.file_size for info in infos) > limit:
            raise ArrayFileError(f"its arrays would unpack to more than {limit:,} bytes")
        for info in infos:
            if not info.filename.endswith(".npy") or info.flag_bits & 0x1:
                raise ArrayFileError(f"it holds {info.filename!r}, which is no array")
            key = info.filename[: -len(".npy")]
            if key in arrays:
                raise ArrayFileError(f"it holds the array {key!r} twice")
            try:
                with archive.open(info) as stream:
                    raw = stream.read(limit - total + 1)  # a header may lie about the size
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                    RuntimeError) as error:
                raise ArrayFileError(f"the array {key!r} is damaged ({error})") from error
            total += len(raw)
            if total > limit:
                raise ArrayFileError(f"its arrays unpack to more than {limit:,} bytes")
            try:
                arrays[key] = read_npy_bytes(raw, limit=limit, kinds=kinds)
            except ArrayFileError as error:
                raise ArrayFileError(f"the array {key!r}: {error}") from error
    return arrays


def read_array_file(path: Path, *, limit: int) -> np.ndarray | dict[str, np.ndarray]:
    """An .npy array or the arrays of an .npz file (chosen by content); CheckpointError."""
    try:
        with open_regular_file(path) as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > limit:
                raise CheckpointError(path, f"the file is larger than {limit:,} bytes")
            data = stream.read(min(size, limit) + 1)  # not limit: read() allocates that
    except FileReadError as error:
        raise CheckpointError(path, _file_reason(error)) from error
    try:
        if data.startswith(b"PK"):  # a zip (an empty one starts with its end record)
            return read_npz_bytes(data, limit=limit)
        return read_npy_bytes(data, limit=limit)
    except ArrayFileError as error:
        reason = str(error)
        if "Python objects" in reason:
            raise CheckpointError(path, f"refused: {reason}") from error
        raise CheckpointError(path, f"the file is truncated or corrupt: {reason}") from error
