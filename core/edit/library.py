"""The directions available for one generator: built-in, supervised and imported ones.

Everything lives under `<root>/<generator sha256>/` (root: `default_library_root()`):

    builtin.npz + builtin.json        GANSpace directions, computed once
    supervised.npz + supervised.json  supervised directions, once they have been fitted
    imported/<name>.npz + .json       one pair per imported file (or pack), so imports persist
    labels.json                       names shown, descriptions and groups the user or a
                                      pack gave (the ids never change: edits refer to them)

Every pair is written by `save_directions` and read by `load_directions`: vectors in an
`.npz` (no pickle), names, spaces, scales, layers, sources and descriptions in the JSON
sidecar, which also holds the `.npz`'s sha256 so a half-written pair is recognised. A cache
that cannot be read is recomputed, never fatal. Names are unique in a library: built-ins
win over supervised directions, which win over imported ones.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint_files import read_npz_bytes
from core.edit.direction_io import (
    MAX_DIRECTION_FILE_BYTES,
    import_direction_file,
    is_unit,
    sampled_scale,
)
from core.edit.directions import SUPERVISED_TITLES, Direction
from core.edit.ganspace import (
    GANSPACE_COMPONENTS,
    GANSPACE_SAMPLES,
    ganspace_directions,
    mapped_samples,
)
from core.edit.supervised import DEFAULT_LABELS, SupervisedDirectionJob
from core.errors import CheckpointError, InvalidInputError, JobCancelled, SemeditError
from core.fileio import FileReadError, read_regular_file, write_atomically
from core.jobs import JobControl
from core.latents.codes import CodeSpace
from core.paths import semedit_home
from core.stylegan import Generator

FILE_FORMAT = "semedit-directions"
FILE_VERSION = 1
GANSPACE_VERSION = 1  # bump when ganspace_directions changes what it computes
SCALE_SAMPLES = 5_000  # mapped samples behind the scale of imported unit vectors
_SHA256 = re.compile(r"[0-9a-f]{64}")


def default_library_root() -> Path:
    """`<SemEdit data folder>/directions`; created when the library first writes."""
    return semedit_home() / "directions"


def generator_key(generator: Generator) -> str:
    """The generator's checkpoint sha256, or a hash of its weights when it has none."""
    sha = (generator.source_sha256 or "").lower()
    if _SHA256.fullmatch(sha):
        return sha
    digest = hashlib.sha256()
    for name, tensor in sorted(generator.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        raw = tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
        digest.update(raw.numpy().tobytes())
    return digest.hexdigest()


# --- one file pair ------------------------------------------------------------------------


def save_directions(path: Path, directions: Sequence[Direction], *,
                    meta: Mapping[str, Any] | None = None) -> None:
    """Write directions to `path` (.npz) and its `.json` sidecar, each atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        why = (f"{blocker} is a file, not a folder" if blocker is not None
               else error.strerror or str(error))
        raise SemeditError(f"Cannot create the folder {path.parent}: {why}. Choose another "
                           "folder (SEMEDIT_HOME).") from error
    buffer = io.BytesIO()
    np.savez(buffer, **{f"d{i}": d.vector for i, d in enumerate(directions)})
    data = buffer.getvalue()
    sidecar = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "npz_sha256": hashlib.sha256(data).hexdigest(),
        "meta": dict(meta or {}),
        "directions": [
            {"array": f"d{i}", "name": d.name, "space": d.space, "scale": d.scale,
             "layers": list(d.layers) if d.layers else None, "source": d.source,
             "description": d.description, "title": d.title}
            for i, d in enumerate(directions)
        ],
    }
    text = json.dumps(sidecar, indent=1, ensure_ascii=False).encode("utf-8")
    write_atomically(path, lambda stream: stream.write(data))
    write_atomically(_sidecar(path), lambda stream: stream.write(text))


def load_directions(path: Path) -> tuple[list[Direction], dict[str, Any]]:
    """(directions, meta) saved by `save_directions`; CheckpointError when anything is off."""
    path = Path(path)
    try:
        data = read_regular_file(path, MAX_DIRECTION_FILE_BYTES, what="direction file")
        sidecar = json.loads(read_regular_file(_sidecar(path), MAX_DIRECTION_FILE_BYTES,
                                               what="direction list").decode("utf-8"))
    except (OSError, FileReadError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(path, f"the direction file cannot be read ({exc})") from exc
    if (not isinstance(sidecar, dict) or sidecar.get("format") != FILE_FORMAT
            or sidecar.get("version") != FILE_VERSION):
        raise CheckpointError(path, "the sidecar is not a SemEdit direction list")
    if sidecar.get("npz_sha256") != hashlib.sha256(data).hexdigest():
        raise CheckpointError(path, "the vectors do not match their sidecar (an interrupted "
                                    "write?)")
    entries, meta = sidecar.get("directions"), sidecar.get("meta")
    if not isinstance(entries, list) or not isinstance(meta, dict):
        raise CheckpointError(path, "the sidecar has no direction list")
    try:
        arrays = read_npz_bytes(data, limit=MAX_DIRECTION_FILE_BYTES, kinds="f")
        directions = []
        for entry in entries:
            vector = arrays[entry["array"]]
            if vector.dtype != np.float32:
                raise ValueError(f"{entry['array']} is {vector.dtype}, not float32")
            layers = entry["layers"]
            directions.append(Direction(
                entry["name"], entry["space"], vector, entry["scale"],
                layers=tuple(layers) if layers is not None else None,
                source=entry["source"], description=entry["description"],
                title=entry.get("title", "")))
    except (SemeditError, OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise CheckpointError(path, f"the direction file is damaged ({exc})") from exc
    return directions, meta


# File names stay far below the 255 bytes most file systems allow, suffixes included.
_MAX_FILE_STEM = 80
_NOT_FILE_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")


def import_file_stem(name: str) -> str:
    """A bounded, safe file name stem for a direction named `name` (any text: the name
    itself is kept in the sidecar); long or odd names get a hash so they stay apart."""
    stem = _NOT_FILE_NAME.sub("_", name).strip("._") or "direction"
    if stem == name and len(stem) <= _MAX_FILE_STEM:
        return stem
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{stem[:_MAX_FILE_STEM - 11]}-{digest}"


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


# --- the library --------------------------------------------------------------------------


class DirectionLibrary:
    """Built-in, supervised and imported directions of one generator, kept on disk."""

    def __init__(self, root: Path, generator: Generator, *,
                 ganspace_samples: int = GANSPACE_SAMPLES,
                 ganspace_components: int = GANSPACE_COMPONENTS,
                 ganspace_layers: Mapping[int, tuple[int, int]] | None = None, seed: int = 0,
                 scale_samples: int = SCALE_SAMPLES,
                 supervised_settings: Mapping[str, Any] | None = None):
        self.generator = generator
        self.folder = Path(root) / generator_key(generator)
        self.ganspace_settings = {
            "samples": int(ganspace_samples), "components": int(ganspace_components),
            "seed": int(seed),
            "layers": {int(k): [int(a), int(b)] for k, (a, b) in (ganspace_layers or {}).items()},
        }
        self.scale_samples = int(scale_samples)
        self.seed = int(seed)
        self.supervised_settings = dict(supervised_settings or {})
        self.unreadable: list[Path] = []  # imported files skipped because they are damaged
        self._builtin: list[Direction] | None = None
        # list() is read on every preview render; files change only through this object.
        self._listing: list[Direction] | None = None
        self._label_cache: dict[str, dict[str, str]] = {}
        self._w_samples: np.ndarray | None = None
        self._code_space: CodeSpace | None = None

    # -- built-in -------------------------------------------------------------------------

    @property
    def builtin_path(self) -> Path:
        return self.folder / "builtin.npz"

    @property
    def supervised_path(self) -> Path:
        return self.folder / "supervised.npz"

    def builtin(self, *, supervised: bool = False,
                control: JobControl | None = None) -> list[Direction]:
        """GANSpace directions (computed once, then read from the cache), plus the supervised
        ones when asked (fitted now, which takes minutes, unless cached).

        Computing stops with `JobCancelled` when `control` asks; nothing partial is kept.
        """
        if self._builtin is None:
            self._builtin = self._cached_or(self.builtin_path, self._ganspace_meta(),
                                            lambda: self._compute_ganspace(control))
        directions = list(self._builtin)
        if supervised:
            cached = self.supervised()
            # Other supervised directions (hair) may be cached without the landmark ones.
            wanted = set(self.supervised_settings.get("labels", DEFAULT_LABELS))
            if not {d.name for d in cached} >= wanted:
                fitted = self._fit_supervised(control)
                cached = fitted + [d for d in cached if d.name not in {f.name for f in fitted}]
                self.store_supervised(cached)
            directions += cached
        return directions

    def _ganspace_meta(self) -> dict[str, Any]:
        return {"kind": "ganspace", "algorithm": GANSPACE_VERSION, **self.ganspace_settings}

    def _compute_ganspace(self, control: JobControl | None) -> list[Direction]:
        s = self.ganspace_settings
        layers = {k: (a, b) for k, (a, b) in s["layers"].items()}
        return ganspace_directions(self.generator, samples=s["samples"],
                                   components=s["components"], seed=s["seed"], layers=layers,
                                   control=control)

    def _fit_supervised(self, control: JobControl | None) -> list[Direction]:
        job = self.supervised_job(control=control)
        for _ in job.run():
            pass
        if job.done < job.total:  # stopped: a fit on part of the samples is not stored
            raise JobCancelled("Fitting the supervised directions was cancelled.")
        return job.result()

    def _cached_or(self, path: Path, meta: dict[str, Any],
                   compute: Callable[[], list[Direction]]) -> list[Direction]:
        expected = json.loads(json.dumps(meta))  # the form it takes after a JSON round trip
        try:
            directions, stored = load_directions(path)
            if stored == expected:
                return directions
        except CheckpointError:
            pass  # missing, damaged or stale: compute it again
        directions = compute()
        # A read-only data folder only costs the recomputation next time.
        with contextlib.suppress(OSError):
            save_directions(path, directions, meta=meta)
        return directions

    # -- supervised -----------------------------------------------------------------------

    def supervised_job(self, **settings: Any) -> SupervisedDirectionJob:
        """A job fitting the supervised directions; pass its result to store_supervised()."""
        return SupervisedDirectionJob(self.generator, **{**self.supervised_settings,
                                                         **settings})

    def store_supervised(self, directions: Sequence[Direction]) -> None:
        save_directions(self.supervised_path, directions, meta={"kind": "supervised"})
        self._listing = None

    def supervised(self) -> list[Direction]:
        """The cached supervised directions, or [] when none were fitted (or the cache broke)."""
        try:
            directions, _ = load_directions(self.supervised_path)
        except CheckpointError:
            return []
        return directions

    # -- imported -------------------------------------------------------------------------

    @property
    def imported_folder(self) -> Path:
        return self.folder / "imported"

    def import_file(self, path: str | Path, *, name: str | None = None,
                    layers: tuple[int, int] | None = None, scale: float | None = None,
                    replace: bool = False,
                    control: JobControl | None = None) -> list[Direction]:
        """Read a direction file (see direction_io) and keep a copy in the library.

        Unit vectors without a given scale get `sampled_scale` from this generator's mapped
        samples. An imported name that is taken is refused unless `replace` is set (only
        imported directions can be replaced).
        """
        g = self.generator
        directions = self._exported_pair(Path(path), name=name, layers=layers, scale=scale)
        if directions is None:
            directions = import_direction_file(
                path, w_dim=g.w_dim, num_ws=g.num_ws, name=name, layers=layers, scale=scale,
                code_space=self.code_space(), w_samples=self.w_samples(control))
        return self.keep(directions, origin=Path(path).name, replace=replace, control=control)

    def _exported_pair(self, path: Path, *, name: str | None, layers: tuple[int, int] | None,
                       scale: float | None) -> list[Direction] | None:
        """The directions of a SemEdit pair (`export`, `save_directions`: an .npz with its
        .json sidecar) with their names, layers, scales and names shown; None for any other
        file, which the general importer reads."""
        if path.suffix.lower() != ".npz" or not _sidecar(path).is_file():
            return None
        try:
            if path.stat().st_size > MAX_DIRECTION_FILE_BYTES or _sidecar(
                    path).stat().st_size > MAX_DIRECTION_FILE_BYTES:
                return None  # the general importer says what is too large
            directions, meta = load_directions(path)
        except (OSError, CheckpointError):
            return None  # not a SemEdit pair after all
        made_for = meta.get("generator")
        if isinstance(made_for, str) and made_for != generator_key(self.generator):
            raise InvalidInputError(
                f"{path.name} was exported from another generator (sha256 {made_for[:12]}…); "
                "its directions do not fit this one's latent space.")
        if name and len(directions) == 1:
            directions = [dataclasses.replace(directions[0], name=name)]
        out = []
        for d in directions:
            changes: dict[str, Any] = {"source": "imported"}
            if layers is not None and d.space == "w":
                changes["layers"] = layers
            if scale is not None:
                changes["scale"] = scale
            d = dataclasses.replace(d, **changes)
            d.check_fits(self.code_space())
            out.append(d)
        return out

    def keep(self, directions: Sequence[Direction], *, origin: str,
             replace: bool = False, control: JobControl | None = None,
             group: str | None = None) -> list[Direction]:
        """Store directions made elsewhere (an imported file, the user's own fit) with the
        imported ones; names must be new unless `replace` (built-in names never)."""
        directions = list(directions)
        names = [d.name for d in directions]
        if not directions or len(set(names)) != len(names):
            raise InvalidInputError(f"{origin} holds no directions or two with one name.")
        fixed = {d.name for d in self.builtin(control=control) + self.supervised()}
        imported = {d.name for d in self.imported()}
        for d in directions:
            if d.name in fixed:
                raise InvalidInputError(f"{d.name!r} is the name of a built-in direction; "
                                        "choose another name.")
            if d.name in imported and not replace:
                raise InvalidInputError(f"A direction named {d.name!r} is already in the "
                                        "library; choose another name or replace it.")
        for d in directions:
            if d.name in imported:
                self.remove(d.name)
        save_directions(self._new_import_path(directions[0].name), directions,
                        meta={"kind": "imported", "file": origin})
        self._listing = None
        if group:
            labels = self.labels()
            for d in directions:
                labels.setdefault(d.name, {})["group"] = group
            self._write_labels(labels)
        return directions

    def imported(self) -> list[Direction]:
        """All imported directions; damaged files are skipped and listed in `unreadable`."""
        self.unreadable = []
        out = []
        for path, directions in self._import_files():
            if directions is None:
                self.unreadable.append(path)
            else:
                out += directions
        return out

    def _import_files(self) -> list[tuple[Path, list[Direction] | None]]:
        if not self.imported_folder.is_dir():
            return []
        out: list[tuple[Path, list[Direction] | None]] = []
        for path in sorted(self.imported_folder.glob("*.npz")):
            try:
                out.append((path, load_directions(path)[0]))
            except CheckpointError:
                out.append((path, None))
        return out

    def origins(self) -> set[str]:
        """Where the imported files came from (`keep`'s `origin`: a file name, "pack:ID")."""
        out = set()
        for path, directions in self._import_files():
            if directions is not None:
                with contextlib.suppress(CheckpointError):
                    out.add(str(load_directions(path)[1].get("file", "")))
        return out

    def _new_import_path(self, name: str) -> Path:
        stem = import_file_stem(name)
        path, n = self.imported_folder / f"{stem}.npz", 2
        while path.exists() or _sidecar(path).exists():
            path, n = self.imported_folder / f"{stem}-{n}.npz", n + 1
        return path

    def remove(self, name: str) -> None:
        """Forget an imported or fitted direction (fitted ones can be fitted again); the
        GANSpace components stay, they are recomputed on demand anyway."""
        self._listing = None
        for path, directions in self._import_files():
            if directions is None or name not in {d.name for d in directions}:
                continue
            rest = [d for d in directions if d.name != name]
            if rest:
                _, meta = load_directions(path)
                save_directions(path, rest, meta=meta)
            else:
                path.unlink(missing_ok=True)
                _sidecar(path).unlink(missing_ok=True)
            self._forget_label(name)
            return
        supervised = self.supervised()
        if name in {d.name for d in supervised}:
            rest = [d for d in supervised if d.name != name]
            if rest:
                self.store_supervised(rest)
            else:
                self.supervised_path.unlink(missing_ok=True)
                _sidecar(self.supervised_path).unlink(missing_ok=True)
            self._forget_label(name)
            return
        if name in {d.name for d in self.builtin()}:
            raise InvalidInputError(f"{name!r} is a built-in GANSpace component; it cannot "
                                    "be removed (rename it instead).")
        raise self._unknown(name)

    # -- names shown ----------------------------------------------------------------------

    @property
    def labels_path(self) -> Path:
        return self.folder / "labels.json"

    def labels(self) -> dict[str, dict[str, str]]:
        """{direction id: {"title"?, "description"?, "group"?}}; {} when unreadable."""
        try:
            data = json.loads(self.labels_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: {f: v[f] for f in ("title", "description", "group")
                    if isinstance(v.get(f), str)}
                for k, v in data.items() if isinstance(k, str) and isinstance(v, dict)}

    def _write_labels(self, labels: Mapping[str, Mapping[str, str]]) -> None:
        text = json.dumps({k: dict(v) for k, v in labels.items() if v}, indent=1,
                          ensure_ascii=False).encode("utf-8")
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.labels_path, lambda stream: stream.write(text))
        self._listing = None

    def set_label(self, name: str, *, title: str | None = None,
                  description: str | None = None) -> Direction:
        """Give a direction the name shown (`title`) and/or a description; an empty title
        goes back to the default. The id (`name`) stays: edits refer to it."""
        self.get(name)  # unknown ids are refused with a suggestion
        labels = self.labels()
        entry = labels.setdefault(name, {})
        for field, value in (("title", title), ("description", description)):
            if value is None:
                continue
            value = " ".join(str(value).split())
            if len(value) > 200:
                raise InvalidInputError(f"The {field} of {name!r} is over 200 characters.")
            if value:
                entry[field] = value
            else:
                entry.pop(field, None)
        self._write_labels(labels)
        return self.get(name)

    def add_labels(self, entries: Mapping[str, Mapping[str, str]]) -> None:
        """Set the labels of many directions at once (a pack's names and descriptions)."""
        labels = self.labels()
        for name, entry in entries.items():
            labels.setdefault(name, {}).update(
                {k: v for k, v in entry.items() if k in ("title", "description", "group")})
        self._write_labels(labels)

    def rename(self, name: str, title: str) -> Direction:
        return self.set_label(name, title=title)

    def _forget_label(self, name: str) -> None:
        labels = self.labels()
        if labels.pop(name, None) is not None:
            self._write_labels(labels)

    def _labelled(self, d: Direction) -> Direction:
        label = self._label_cache.get(d.name, {})
        title = label.get("title") or d.title or (SUPERVISED_TITLES.get(d.name, "")
                                                  if d.source == "supervised" else "")
        return dataclasses.replace(d, title=title,
                                   description=label.get("description", d.description),
                                   group=label.get("group", d.group))

    def export(self, name: str, path: str | Path) -> Path:
        """Write one direction (with its name shown and description) as a SemEdit direction
        file pair (`.npz` + `.json`) that `import_file` reads back."""
        path = Path(path)
        if path.suffix.lower() != ".npz":
            path = path.with_name(path.name + ".npz")
        save_directions(path, [self.get(name)],
                        meta={"kind": "exported", "generator": generator_key(self.generator)})
        return path

    # -- all ------------------------------------------------------------------------------

    def list(self, control: JobControl | None = None) -> list[Direction]:
        """Built-in, then supervised (when fitted), then imported directions; names unique.

        The first call computes the GANSpace directions unless cached (`control` stops it).
        """
        if self._listing is None:
            seen: set[str] = set()
            out = []
            self._label_cache = self.labels()
            for d in self.builtin(control=control) + self.supervised() + self.imported():
                if d.name not in seen:
                    seen.add(d.name)
                    out.append(self._labelled(d))
            self._listing = out
        return list(self._listing)

    def get(self, name: str, control: JobControl | None = None) -> Direction:
        for d in self.list(control):
            if d.name == name:
                return d
        raise self._unknown(name)

    def _unknown(self, name: str) -> InvalidInputError:
        names = [d.name for d in self.list()]
        near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(n) for n in near)}?" if near else ""
        return InvalidInputError(f"There is no direction named {name!r}.{hint}")

    # -- samples --------------------------------------------------------------------------

    def w_samples(self, control: JobControl | None = None) -> np.ndarray:
        """Mapped samples (truncation 1) for the scale of imported unit vectors; kept in memory."""
        if self._w_samples is None:
            self._w_samples = mapped_samples(self.generator, samples=self.scale_samples,
                                             seed=self.seed, control=control)
        return self._w_samples

    def code_space(self) -> CodeSpace:
        if self._code_space is None:
            self._code_space = CodeSpace(self.generator)
        return self._code_space

    def rescaled(self, direction: Direction, control: JobControl | None = None) -> Direction:
        """`direction` with the scale `slider_scale` gives it on this generator's samples,
        for unit vectors imported elsewhere (non-unit vectors keep theirs)."""
        if not is_unit(direction.vector):
            return direction
        scale = sampled_scale(direction, self.w_samples(control), num_ws=self.generator.num_ws,
                              code_space=self.code_space())
        return dataclasses.replace(direction, scale=scale)
