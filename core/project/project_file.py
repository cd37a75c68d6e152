"""`.semedit` project files: a zip archive holding everything needed to reopen a document.

Members (format_version 1):

- `manifest.json`   format, versions, generator, resolution and one entry per chunk
- `photo`           the original photo file, byte for byte (absent when there is none)
- `aligned.png`     the generator-resolution input image, 8-bit RGB
- `transform.json`  the alignment transform (may hold null)
- `masks/NN.png`    one 16-bit greyscale PNG per chunk: value = round(mask × 65535)
- `latents.npz`     `chunk_NN` for each chunk that has a code (np.savez, no pickles)
- `edits.json`      {"chunks": [[edit, ...] per chunk]}
- `inversion.json`  settings and metrics of the last inversion
- `pti.npz`         fine-tuned generator tensors, only when there are any
- `thumbnail.png`   the aligned image at most 256 px wide, for file browsers

A project may come from anywhere, so loading trusts nothing: member names, sizes (declared
and actually decompressed), counts, JSON, image sizes, array headers and shapes are all
checked, and every problem is a `ProjectFileError` naming the file. Nothing is ever
unpickled and nothing is extracted to disk.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image

from core import __version__
from core.checkpoint_files import ArrayFileError, read_npz_bytes
from core.errors import ImageError, InvalidInputError, ProjectFileError
from core.fileio import same_file, write_atomically
from core.imageio import open_image
from core.mask_png import mask_png_bytes
from core.project import schema
from core.project.document import Chunk, Document, Edit

FORMAT_NAME = "semedit-project"
FORMAT_VERSION = 1
PROJECT_SUFFIX = ".semedit"
THUMBNAIL_SIZE = 256

MANIFEST = "manifest.json"
PHOTO = "photo"
ALIGNED = "aligned.png"
TRANSFORM = "transform.json"
LATENTS = "latents.npz"
EDITS = "edits.json"
INVERSION = "inversion.json"
PTI = "pti.npz"
THUMBNAIL = "thumbnail.png"

_MIB = 1 << 20
_GIB = 1 << 30
_READ_CHUNK = _MIB

# Upgrades from older format versions: _MIGRATIONS[n] turns a version-n manifest into a
# version-(n + 1) one (and sets its "format_version"). The loader chains them, so a project
# saved by any older SemEdit still opens after the format changes.
_MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass(frozen=True)
class ProjectLimits:
    """What a project may hold before the loader refuses it (hostile or damaged files)."""

    photo_bytes: int = 1 * _GIB
    pti_bytes: int = 2 * _GIB
    member_bytes: int = 256 * _MIB
    total_bytes: int = 4 * _GIB  # all members together, also the decoded masks' memory
    members: int = 1000
    chunks: int = 256
    resolution: int = 4096

    def for_member(self, name: str) -> int:
        if name == PHOTO:
            return self.photo_bytes
        if name == PTI:
            return self.pti_bytes
        return self.member_bytes


DEFAULT_LIMITS = ProjectLimits()


# ===================================================================== saving


def save_project(doc: Document, path: str | Path, *, protect: str | Path | None = None) -> Path:
    """Write `doc` to `path` atomically and return the path.

    `protect` is a file that must never be overwritten (the photo being edited); saving onto
    it is refused. The document is validated first, so nothing is written for a bad one.
    """
    path = Path(path)
    doc.validate()
    if protect is not None and same_file(path, Path(protect)):
        raise ProjectFileError(
            f"{path} is the photo being edited; SemEdit never overwrites it. "
            "Choose another file name for the project."
        )
    if path.is_dir():
        raise ProjectFileError(f"{path} could not be saved: it is a folder.")
    if not path.parent.is_dir():
        raise ProjectFileError(
            f"{path} could not be saved: the folder {path.parent} does not exist."
        )
    _write_zip_atomically(path, _members(doc))
    return path


def _members(doc: Document) -> Iterator[tuple[str, bytes]]:
    """Each member's name and bytes, built one at a time to keep peak memory low."""
    yield MANIFEST, _json_bytes(_manifest(doc))
    if doc.photo_bytes is not None:
        yield PHOTO, doc.photo_bytes
    yield ALIGNED, _png_bytes(Image.fromarray(np.ascontiguousarray(doc.aligned), "RGB"))
    yield TRANSFORM, _json_bytes(doc.transform)
    for i, chunk in enumerate(doc.chunks):
        yield _mask_member(i), mask_png_bytes(chunk.mask, bits=16)
    codes = {_code_key(i): c.code for i, c in enumerate(doc.chunks) if c.code is not None}
    yield LATENTS, _npz_bytes(codes)
    yield EDITS, _json_bytes({"chunks": [[e.to_json() for e in c.edits] for c in doc.chunks]})
    yield INVERSION, _json_bytes(doc.inversion)
    if doc.pti_weights:
        yield PTI, _npz_bytes(doc.pti_weights)
    yield THUMBNAIL, _png_bytes(_thumbnail(doc.aligned))


def _manifest(doc: Document) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "app_version": __version__,
        "generator": {"id": doc.generator_id, "sha256": doc.generator_sha256,
                      "name": doc.generator_name, "path": doc.generator_path},
        "resolution": doc.resolution,
        "latent_spaces": [c.space for c in doc.chunks],
        "chunks": [
            {
                "name": c.name,
                "colour": [int(v) for v in c.colour],
                "space": c.space,
                "visible": c.visible,
                "locked": c.locked,
                "mask": _mask_member(i),
                "has_code": c.code is not None,
            }
            for i, c in enumerate(doc.chunks)
        ],
        "photo": None if doc.photo_bytes is None else {"name": doc.photo_name, "member": PHOTO},
        "pti": PTI if doc.pti_weights else None,
        "thumbnail": THUMBNAIL,
        "created_with": {
            "app": "SemEdit",
            "version": __version__,
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }


def _mask_member(index: int) -> str:
    return f"masks/{index:02d}.png"


def _code_key(index: int) -> str:
    return f"chunk_{index:02d}"


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    # np.asarray, not ascontiguousarray: the latter turns 0-d arrays into shape [1].
    np.savez(buffer, **{k: np.asarray(v, order="C") for k, v in arrays.items()})
    return buffer.getvalue()


def _thumbnail(aligned: np.ndarray) -> Image.Image:
    image = Image.fromarray(np.ascontiguousarray(aligned), "RGB")
    image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), Image.Resampling.LANCZOS)
    return image


def _compression(name: str) -> tuple[int, int | None]:
    # PNGs and the photo are compressed already; deflating them again only costs time.
    if name == PHOTO or name.endswith(".png"):
        return zipfile.ZIP_STORED, None
    if name == PTI:
        return zipfile.ZIP_DEFLATED, 1  # float weights hardly compress; be quick
    return zipfile.ZIP_DEFLATED, 6


def _write_zip_atomically(path: Path, members: Iterator[tuple[str, bytes]]) -> None:
    stamp = time.localtime()[:6]

    def write(stream: BinaryIO) -> None:
        with zipfile.ZipFile(stream, "w") as archive:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type, level = _compression(name)
                archive.writestr(info, data, compresslevel=level)

    try:
        write_atomically(path, write)
    except OSError as error:
        raise ProjectFileError(
            f"{path} could not be saved: {error.strerror or error}."
        ) from error


# ===================================================================== loading


def load_project(path: str | Path, *, limits: ProjectLimits = DEFAULT_LIMITS) -> Document:
    """Read a `.semedit` file. Every problem with it is a ProjectFileError naming it."""
    path = Path(path)
    with _open_archive(path, limits) as reader:
        manifest = _read_manifest(reader)
        doc = _read_document(reader, manifest)
    try:
        doc.validate()
    except InvalidInputError as error:
        raise _broken(path, f"its contents do not fit together. {error}") from error
    return doc


def read_project_thumbnail(
    path: str | Path, *, limits: ProjectLimits = DEFAULT_LIMITS
) -> np.ndarray | None:
    """The small preview image (uint8 [h, w, 3]) of a project, or None if it has none."""
    path = Path(path)
    with _open_archive(path, limits) as reader:
        _read_manifest(reader)
        if not reader.has(THUMBNAIL):
            return None
        image = _open_png(reader, THUMBNAIL)
        if image.mode != "RGB" or max(image.size) > THUMBNAIL_SIZE:
            raise _broken(path, f"{THUMBNAIL} is not a small RGB image.")
        return np.asarray(image)


def _broken(path: Path, reason: str) -> ProjectFileError:
    return ProjectFileError(f"{path} cannot be opened as a SemEdit project: {reason}")


@contextlib.contextmanager
def _open_archive(path: Path, limits: ProjectLimits) -> Iterator[_Reader]:
    if not path.exists():
        raise ProjectFileError(f"{path} does not exist.")
    if not path.is_file():
        raise ProjectFileError(f"{path} is not a file.")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise _broken(path, "it is not a zip archive, or it is truncated.") from error
    except (OSError, EOFError, ValueError, NotImplementedError, UnicodeDecodeError) as error:
        # NotImplementedError: a damaged "version needed" field; names may not decode
        raise _broken(path, f"the archive cannot be read ({error}).") from error
    try:
        with archive:
            yield _Reader(path, archive, limits)
    except ProjectFileError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as error:
        raise _broken(path, f"the file is damaged ({error}).") from error
    except (NotImplementedError, RuntimeError) as error:
        raise _broken(path, f"it uses an unsupported zip feature ({error}).") from error
    except OSError as error:
        raise _broken(path, f"reading failed ({error.strerror or error}).") from error


class _Reader:
    """Checked access to the members of one archive, counting every decompressed byte."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, limits: ProjectLimits):
        self.path = path
        self.limits = limits
        self._archive = archive
        self._infos = _checked_infos(path, archive.infolist(), limits)
        self._bytes_read = 0

    def has(self, name: str) -> bool:
        return name in self._infos

    def read(self, name: str) -> bytes:
        info = self._infos.get(name)
        if info is None:
            raise _broken(self.path, f"the member {name!r} is missing.")
        limit = self.limits.for_member(name)
        parts: list[bytes] = []
        size = 0
        with self._archive.open(info) as stream:
            # Count what really comes out: the declared size was checked, but a header
            # may lie and a reader that trusts it is how zip bombs work.
            while chunk := stream.read(_READ_CHUNK):
                size += len(chunk)
                self._bytes_read += len(chunk)
                if size > limit:
                    raise _broken(self.path, f"{name} is larger than {_size_text(limit)}.")
                if self._bytes_read > self.limits.total_bytes:
                    raise _broken(
                        self.path,
                        f"its members add up to more than {_size_text(self.limits.total_bytes)}.",
                    )
                parts.append(chunk)
        return b"".join(parts)


def _checked_infos(
    path: Path, infos: list[zipfile.ZipInfo], limits: ProjectLimits
) -> dict[str, zipfile.ZipInfo]:
    """Refuse the whole archive for any hostile or unsupported entry, before reading any."""
    if len(infos) > limits.members:
        raise _broken(path, f"it has {len(infos)} members; at most {limits.members} are allowed.")
    duplicates = sorted(name for name, n in Counter(i.filename for i in infos).items() if n > 1)
    if duplicates:
        raise _broken(path, f"the member name {duplicates[0]!r} occurs more than once.")
    total = 0
    for info in infos:
        if not _safe_member_name(info.filename):
            raise _broken(
                path, f"it contains the unsafe member name {info.filename!r}; it is refused."
            )
        if info.flag_bits & 0x1:
            raise _broken(path, f"the member {info.filename!r} is encrypted.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _broken(
                path, f"the member {info.filename!r} uses an unsupported compression method."
            )
        limit = limits.for_member(info.filename)
        if info.file_size > limit:
            raise _broken(
                path,
                f"{info.filename} would unpack to {_size_text(info.file_size)}; "
                f"at most {_size_text(limit)} is allowed.",
            )
        total += info.file_size
    if total > limits.total_bytes:
        raise _broken(
            path,
            f"its members would unpack to {_size_text(total)}; "
            f"at most {_size_text(limits.total_bytes)} is allowed.",
        )
    return {info.filename: info for info in infos}


_DRIVE = re.compile(r"^[A-Za-z]:")


def _safe_member_name(name: str) -> bool:
    """Relative, forward-slash names without '..', '.', empty parts, drives or control bytes."""
    if not name or name.startswith("/") or "\\" in name or _DRIVE.match(name):
        return False
    if any(ord(ch) < 32 for ch in name) or ":" in name:
        return False
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _size_text(n: int) -> str:
    for unit, size in (("GiB", _GIB), ("MiB", _MIB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


# --------------------------------------------------------------------- manifest


def _read_manifest(reader: _Reader) -> dict[str, Any]:
    manifest = _read_json(reader, MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise _broken(reader.path, f"{MANIFEST} does not describe a SemEdit project.")
    version = manifest.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _broken(reader.path, f"{MANIFEST} has no valid format_version.")
    if version > FORMAT_VERSION:
        raise ProjectFileError(
            f"{reader.path} was made by a newer SemEdit (project format {version}; this "
            f"version reads up to {FORMAT_VERSION}). Update SemEdit to open it."
        )
    return _migrate(reader.path, manifest, version)


def _migrate(path: Path, manifest: dict[str, Any], version: int) -> dict[str, Any]:
    while version < FORMAT_VERSION:
        upgrade = _MIGRATIONS.get(version)
        if upgrade is None:
            raise _broken(path, f"project format {version} can no longer be upgraded.")
        manifest = upgrade(manifest)
        version += 1
        manifest["format_version"] = version
    return manifest


def _read_json(reader: _Reader, name: str) -> Any:
    data = reader.read(name)
    try:
        value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _broken(reader.path, f"{name} is not valid JSON ({error}).") from error
    try:  # every member: finite numbers (1e400 parses as infinity), bounded nesting
        schema.check_plain_json(value, name)
    except ValueError as error:
        raise _broken(reader.path, f"{error}.") from error
    return value


def _checked(reader: _Reader, name: str, check: Callable[[Any], Any]) -> Any:
    """A JSON member after its schema check; a failure names the project and the member."""
    try:
        return check(_read_json(reader, name))
    except ValueError as error:
        raise _broken(reader.path, f"{name} {error}.") from error


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not allowed")


def _field(path: Path, where: str, data: dict[str, Any], key: str, kinds: tuple[type, ...],
           default: Any = ...) -> Any:
    """`data[key]`, checked to be one of `kinds` (bool is never taken for int)."""
    if key not in data:
        if default is not ...:
            return default
        raise _broken(path, f"{where} has no {key!r}.")
    value = data[key]
    if isinstance(value, bool) and bool not in kinds:
        raise _broken(path, f"{where}: {key!r} has the wrong type.")
    if not isinstance(value, kinds):
        raise _broken(path, f"{where}: {key!r} has the wrong type.")
    return value


# --------------------------------------------------------------------- document


def _read_document(reader: _Reader, manifest: dict[str, Any]) -> Document:
    path, limits = reader.path, reader.limits
    resolution = _field(path, MANIFEST, manifest, "resolution", (int,))
    if not 1 <= resolution <= limits.resolution:
        raise _broken(path, f"the resolution {resolution} is outside 1–{limits.resolution}.")
    generator = _field(path, MANIFEST, manifest, "generator", (dict,))
    entries = _chunk_entries(reader, manifest, resolution)
    photo_name, photo_bytes = _read_photo(reader, manifest)
    transform = _checked(reader, TRANSFORM, schema.check_transform)
    codes = _read_npz(reader, LATENTS)
    edits = _read_edits(reader, len(entries))
    chunks = [
        _read_chunk(reader, i, entry, resolution, codes, edits[i])
        for i, entry in enumerate(entries)
    ]
    inversion = _checked(reader, INVERSION, schema.check_inversion)
    pti = _field(path, MANIFEST, manifest, "pti", (str, type(None)), default=None)
    return Document(
        aligned=_read_aligned(reader, resolution),
        resolution=resolution,
        photo_bytes=photo_bytes,
        photo_name=photo_name,
        transform=transform,
        generator_id=_field(path, "the generator entry", generator, "id", (str, type(None))),
        generator_sha256=_field(path, "the generator entry", generator, "sha256",
                                (str, type(None))),
        # name and path: older projects have neither
        generator_name=_field(path, "the generator entry", generator, "name",
                              (str, type(None)), default=None),
        generator_path=_field(path, "the generator entry", generator, "path",
                              (str, type(None)), default=None),
        chunks=chunks,
        inversion=inversion,
        pti_weights=None if pti is None else _read_npz(reader, pti),
    )


def _chunk_entries(reader: _Reader, manifest: dict[str, Any], resolution: int) -> list[dict]:
    path, limits = reader.path, reader.limits
    entries = _field(path, MANIFEST, manifest, "chunks", (list,))
    if len(entries) > limits.chunks:
        raise _broken(path, f"it has {len(entries)} chunks; at most {limits.chunks} are allowed.")
    # Decoded masks are float32 R×R each; refuse before decoding what would not fit.
    if len(entries) * resolution * resolution * 4 > limits.total_bytes:
        raise _broken(path, "its masks would need more memory than allowed.")
    if not all(isinstance(e, dict) for e in entries):
        raise _broken(path, f"the chunk entries in {MANIFEST} must be objects.")
    masks = [e.get("mask") for e in entries]
    if len(set(map(str, masks))) != len(masks):
        raise _broken(path, "two chunks share one mask member.")
    spaces = _field(path, MANIFEST, manifest, "latent_spaces", (list,))
    if spaces != [e.get("space") for e in entries]:
        raise _broken(path, f"'latent_spaces' in {MANIFEST} does not match the chunks.")
    return entries


def _read_photo(reader: _Reader, manifest: dict[str, Any]) -> tuple[str, bytes | None]:
    photo = _field(reader.path, MANIFEST, manifest, "photo", (dict, type(None)))
    if photo is None:
        return "", None
    name = _field(reader.path, "the photo entry", photo, "name", (str,))
    member = _field(reader.path, "the photo entry", photo, "member", (str,))
    return name, reader.read(member)


def _read_chunk(reader: _Reader, index: int, entry: dict[str, Any], resolution: int,
                codes: dict[str, np.ndarray], edits: list[Edit]) -> Chunk:
    path = reader.path
    where = f"chunk {index} in {MANIFEST}"
    colour = _field(path, where, entry, "colour", (list,))
    if len(colour) != 3 or not all(isinstance(v, int) and not isinstance(v, bool)
                                   for v in colour):
        raise _broken(path, f"{where}: the colour must be three whole numbers.")
    code = None
    if _field(path, where, entry, "has_code", (bool,)):
        code = codes.get(_code_key(index))
        if code is None:
            raise _broken(path, f"{LATENTS} has no code for chunk {index}.")
        if code.dtype.kind != "f":
            raise _broken(path, f"{LATENTS}: the code of chunk {index} is not floating point.")
        code = code.astype(np.float32)
    return Chunk(
        name=_field(path, where, entry, "name", (str,)),
        colour=(colour[0], colour[1], colour[2]),
        mask=_read_mask(reader, _field(path, where, entry, "mask", (str,)), resolution),
        space=_field(path, where, entry, "space", (str,)),
        code=code,
        edits=edits,
        visible=_field(path, where, entry, "visible", (bool,)),
        locked=_field(path, where, entry, "locked", (bool,)),
    )


def _read_edits(reader: _Reader, count: int) -> list[list[Edit]]:
    data = _read_json(reader, EDITS)
    per_chunk = data.get("chunks") if isinstance(data, dict) else None
    if not isinstance(per_chunk, list) or len(per_chunk) != count:
        raise _broken(reader.path, f"{EDITS} must list the edits of each of the {count} chunks.")
    try:
        return [[Edit.from_json(e) for e in _as_list(edits)] for edits in per_chunk]
    except InvalidInputError as error:
        raise _broken(reader.path, f"{EDITS} holds a bad edit. {error}") from error


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInputError("The edits of a chunk must be a list.")
    return value


# --------------------------------------------------------------------- images


def _open_png(reader: _Reader, name: str, resolution: int | None = None) -> Image.Image:
    """Decode a PNG member; with `resolution`, refuse any other size before decoding."""
    data = reader.read(name)
    size = None if resolution is None else (resolution, resolution)
    try:
        return open_image(data, name, formats=("PNG",), size=size)
    except ImageError as error:
        raise _broken(reader.path, str(error)) from error


def _read_aligned(reader: _Reader, resolution: int) -> np.ndarray:
    image = _open_png(reader, ALIGNED, resolution)
    if image.mode != "RGB":
        raise _broken(reader.path, f"{ALIGNED} must be an 8-bit RGB image, not {image.mode}.")
    return np.array(image, dtype=np.uint8)


def _read_mask(reader: _Reader, name: str, resolution: int) -> np.ndarray:
    image = _open_png(reader, name, resolution)
    if image.mode == "L":  # an 8-bit mask from another tool: still a valid mask
        return np.asarray(image, dtype=np.float32) / np.float32(255.0)
    if image.mode not in ("I;16", "I;16B", "I;16L", "I"):
        raise _broken(reader.path, f"{name} must be a 16-bit greyscale PNG, not {image.mode}.")
    levels = np.asarray(image)
    if levels.size and (levels.min() < 0 or levels.max() > 65535):
        raise _broken(reader.path, f"{name} holds values outside 0–65535.")
    return levels.astype(np.float32) / np.float32(65535.0)


# --------------------------------------------------------------------- arrays


def _read_npz(reader: _Reader, name: str) -> dict[str, np.ndarray]:
    """Arrays of an .npz member, read without pickles and with every size checked."""
    data = reader.read(name)
    try:
        return read_npz_bytes(data, limit=reader.limits.for_member(name),
                              max_arrays=reader.limits.members)
    except ArrayFileError as error:
        raise _broken(reader.path, f"{name}: {error}.") from error
