"""Direction packs: published direction files, fetched from their authors' repositories.

A pack is described in the model manifest (`resources/models.json`, list
`direction_packs`): the files with their URLs, sizes and sha256, the licence, the
generator the directions were made for (manifest id, and its sha256 when known), and one
entry per direction with a human name, a description and, for W directions, the ws rows
its authors apply it to. Nothing of the pack itself ships with SemEdit.

Packs are downloaded like models (resumable, checked; `core.workflows.directions` does it)
into `<models dir>/direction-packs/<pack id>/` and installed into the direction library of
the generator they were made for; any other generator is refused with a sentence, because a
direction found in one network's latent space means nothing in another's.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.edit.directions import Direction
from core.errors import InvalidInputError, SemeditError
from core.fileio import read_regular_file
from core.resources import resource_path

PACKS_KEY = "direction_packs"
READERS = ("direction", "chunkmogrify-stylespace-presets")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d+)?/")  # a local mirror
_MAX_PRESETS_BYTES = 1 << 20


class PackError(SemeditError):
    """A direction pack entry in the manifest makes no sense."""


class PackMismatchError(InvalidInputError):
    """A pack was asked for a generator it was not made for."""


@dataclass(frozen=True)
class PackFile:
    filename: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class PackDirection:
    """One direction of a pack: `id` is its library name, `name` what the user sees."""

    id: str
    file: str
    name: str
    description: str
    layers: tuple[int, int] | None = None
    reader: str = "direction"
    # chunkmogrify-stylespace-presets: preset key -> (name shown, description)
    presets: Mapping[str, tuple[str, str]] | None = None


@dataclass(frozen=True)
class DirectionPack:
    id: str
    title: str
    licence: str
    source: str
    description: str
    generator: str  # manifest id of the generator the directions were made for
    generator_sha256: str | None
    files: tuple[PackFile, ...]
    directions: tuple[PackDirection, ...]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, filename: str) -> PackFile:
        for f in self.files:
            if f.filename == filename:
                return f
        raise PackError(f"Pack {self.id!r} has no file {filename!r}.")

    def refusal(self, generator_id: str | None, generator_sha256: str | None) -> str | None:
        """None when the pack was made for this generator, else the sentence saying why not."""
        if self.generator_sha256 is not None:
            if generator_sha256 == self.generator_sha256:
                return None
        elif generator_id == self.generator:
            return None
        current = f"'{generator_id}'" if generator_id else "a generator file of your own"
        return (f"The direction pack '{self.title}' was made for the generator '{self.generator}'; "
                f"the current generator is {current}, whose latent space the directions do "
                "not fit. Choose that generator first.")


def load_packs(path: str | Path | None = None) -> tuple[DirectionPack, ...]:
    """The packs the manifest lists (none when it lists none)."""
    manifest_path = Path(path) if path is not None else resource_path("models.json")
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackError(f"Cannot read the direction packs of {manifest_path}: {exc}") from exc
    return parse_packs(data.get(PACKS_KEY, []) if isinstance(data, dict) else None,
                       origin=str(manifest_path))


def find_pack(packs: Sequence[DirectionPack], pack_id: str) -> DirectionPack:
    for pack in packs:
        if pack.id == pack_id:
            return pack
    raise InvalidInputError(f"There is no direction pack called {pack_id!r}. Known packs: "
                            f"{', '.join(p.id for p in packs) or 'none'}.")


def parse_packs(entries: Any, *, origin: str = "<memory>") -> tuple[DirectionPack, ...]:
    if not isinstance(entries, list):
        raise PackError(f"{origin}: '{PACKS_KEY}' must be a list.")
    packs = tuple(_pack(entry, f"{origin}: direction pack #{i + 1}")
                  for i, entry in enumerate(entries))
    ids = [p.id for p in packs]
    if len(set(ids)) != len(ids):
        raise PackError(f"{origin}: two direction packs share an id.")
    return packs


def _pack(entry: Any, where: str) -> DirectionPack:
    if not isinstance(entry, dict):
        raise PackError(f"{where} must be a JSON object.")
    get = _Getter(entry, where)
    pack_id = get.text("id")
    if not _ID.fullmatch(pack_id):
        raise PackError(f"{where}: id {pack_id!r} must be lower-case letters, digits, - or _.")
    where = f"{where} ('{pack_id}')"
    get.where = where
    sha = entry.get("generator_sha256")
    if sha is not None and not (isinstance(sha, str) and _HEX64.fullmatch(sha)):
        raise PackError(f"{where}: generator_sha256 must be 64 hex digits or null.")
    files = tuple(_file(f, f"{where}: file #{i + 1}") for i, f in enumerate(get.list("files")))
    names = {f.filename for f in files}
    if len(names) != len(files):
        raise PackError(f"{where}: two files share a name.")
    directions = tuple(_direction(d, f"{where}: direction #{i + 1}", names)
                       for i, d in enumerate(get.list("directions")))
    return DirectionPack(pack_id, get.text("title"), get.text("licence"), get.text("source"),
                         get.text("description"), get.text("generator"), sha, files,
                         directions)


def _file(entry: Any, where: str) -> PackFile:
    if not isinstance(entry, dict):
        raise PackError(f"{where} must be a JSON object.")
    get = _Getter(entry, where)
    filename, url, sha = get.text("filename"), get.text("url"), get.text("sha256")
    if "/" in filename or "\\" in filename or filename.startswith("."):
        raise PackError(f"{where}: filename {filename!r} must be a plain file name.")
    if not (url.startswith("https://") or _LOOPBACK.match(url)):
        raise PackError(f"{where}: the url must be https (or http on this machine).")
    if not _HEX64.fullmatch(sha):
        raise PackError(f"{where}: sha256 must be 64 lower-case hex digits.")
    size = entry.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise PackError(f"{where}: size must be a positive integer.")
    return PackFile(filename, url, size, sha)


def _direction(entry: Any, where: str, files: set[str]) -> PackDirection:
    if not isinstance(entry, dict):
        raise PackError(f"{where} must be a JSON object.")
    get = _Getter(entry, where)
    reader = entry.get("reader", "direction")
    if reader not in READERS:
        raise PackError(f"{where}: reader must be one of {', '.join(READERS)}.")
    file = get.text("file")
    if file not in files:
        raise PackError(f"{where}: file {file!r} is not among the pack's files.")
    direction_id = get.text("id")
    if not _NAME.fullmatch(direction_id):
        raise PackError(f"{where}: id {direction_id!r} is not a usable direction name.")
    layers = entry.get("layers")
    if layers is not None:
        if (not isinstance(layers, list) or len(layers) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in layers)
                or not 0 <= layers[0] < layers[1]):
            raise PackError(f"{where}: layers must be [start, end) with 0 <= start < end.")
        layers = (layers[0], layers[1])
    presets = None
    if reader == "chunkmogrify-stylespace-presets":
        raw = get.value("presets", dict)
        presets = {}
        for key, value in raw.items():
            if (not isinstance(value, list) or len(value) != 2
                    or not all(isinstance(v, str) and v for v in value)):
                raise PackError(f"{where}: preset {key!r} needs [name, description].")
            presets[key] = (value[0], value[1])
    return PackDirection(direction_id, file, get.text("name"), get.text("description"),
                         layers, reader, presets)


class _Getter:
    def __init__(self, entry: dict, where: str):
        self.entry, self.where = entry, where

    def value(self, key: str, kind: type) -> Any:
        value = self.entry.get(key)
        if not isinstance(value, kind) or not value:
            raise PackError(f"{self.where}: '{key}' must be a non-empty {kind.__name__}.")
        return value

    def text(self, key: str) -> str:
        return self.value(key, str)

    def list(self, key: str) -> list:
        return self.value(key, list)


# --- install ------------------------------------------------------------------------------


def pack_directions(pack: DirectionPack, folder: Path, library) -> list[tuple[Direction, str]]:
    """(direction, name shown) for every direction of the pack, read from the downloaded
    files in `folder` for the library's generator. Files are checked against their sha256
    first: a file changed since it was downloaded is refused."""
    from core.edit.direction_io import import_direction_file
    from core.hashing import hash_file

    for f in pack.files:
        path = Path(folder) / f.filename
        if not path.is_file():
            raise InvalidInputError(f"{f.filename} of the direction pack '{pack.title}' is not "
                                    "downloaded; "
                                    f"run `semedit directions packs download {pack.id}`.")
        if hash_file(path).sha256 != f.sha256:
            raise InvalidInputError(f"{path} is not the file the direction pack "
                                    f"'{pack.title}' lists (its sha256 differs); delete it "
                                    "and download again.")
    g = library.generator
    out: list[tuple[Direction, str]] = []
    for entry in pack.directions:
        path = Path(folder) / entry.file
        if entry.reader == "chunkmogrify-stylespace-presets":
            out += _stylespace_presets(entry, path, library)
            continue
        directions = import_direction_file(
            path, w_dim=g.w_dim, num_ws=g.num_ws, name=entry.id, layers=entry.layers,
            code_space=library.code_space(), w_samples=library.w_samples())
        for i, d in enumerate(directions):
            # A file with many directions (GANSpace components): the entry's name numbered.
            shown = entry.name if len(directions) == 1 else f"{entry.name} {i}"
            out.append((replace(d, source="pack", description=entry.description), shown))
    return out


def _stylespace_presets(entry: PackDirection, path: Path, library) -> list[tuple[Direction, str]]:
    """Chunkmogrify keeps its StyleSpace presets as a Python dict literal returned by
    `known_presets()`; it is read with `ast` (nothing is executed) and turned into the
    documented JSON channel list, which the ordinary importer reads."""
    from core.edit.direction_io import import_direction_file

    presets = read_chunkmogrify_presets(path)
    wanted = entry.presets or {}
    missing = sorted(set(wanted) - set(presets))
    if missing:
        raise InvalidInputError(f"{path.name} has no preset {', '.join(missing)}.")
    channels = [{"name": f"{entry.id}_{key}", "layer": presets[key][0],
                 "channel": presets[key][1]} for key in wanted]
    listing = path.with_name(path.stem + ".channels.json")
    listing.write_text(json.dumps(channels), encoding="utf-8")
    g = library.generator
    directions = import_direction_file(listing, w_dim=g.w_dim, num_ws=g.num_ws,
                                       code_space=library.code_space(),
                                       w_samples=library.w_samples())
    out = []
    for key, d in zip(wanted, directions, strict=True):
        shown, description = wanted[key]
        out.append((replace(d, source="pack", description=description), shown))
    return out


def read_chunkmogrify_presets(path: Path) -> dict[str, tuple[int, int]]:
    """{preset: (style layer index, channel)} from Chunkmogrify's `s_presets.py`."""
    try:
        raw = read_regular_file(Path(path), _MAX_PRESETS_BYTES, what="preset list")
        tree = ast.parse(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not a readable preset list ({exc}).") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "known_presets":
            for statement in node.body:
                if isinstance(statement, ast.Return) and statement.value is not None:
                    try:
                        value = ast.literal_eval(statement.value)
                    except (ValueError, SyntaxError) as exc:
                        break  # not a literal: refused below
                        del exc
                    if isinstance(value, dict) and all(
                            isinstance(k, str) and isinstance(v, tuple) and len(v) == 2
                            and all(isinstance(n, int) for n in v) for k, v in value.items()):
                        return {k: (int(v[0]), int(v[1])) for k, v in value.items()}
    raise InvalidInputError(f"{path} has no known_presets() returning {{name: (layer, "
                            "channel)}}.")


def install_pack(pack: DirectionPack, folder: Path, library, *, generator_id: str | None
                 ) -> list[Direction]:
    """Put the pack's directions into the library with their names shown and descriptions;
    refused (PackMismatchError) unless the library's generator is the pack's."""
    from core.edit.library import generator_key

    reason = pack.refusal(generator_id, generator_key(library.generator))
    if reason:
        raise PackMismatchError(reason)
    named = pack_directions(pack, folder, library)
    directions = [d for d, _ in named]
    library.keep(directions, origin=f"pack:{pack.id}", replace=True)
    library.add_labels({d.name: {"title": shown, "description": d.description,
                                 "group": pack.title} for d, shown in named})
    return directions
