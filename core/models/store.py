"""The models folder: what is installed, downloading, importing, checking, resolving.

Files whose upstream publishes no full sha256 are checked "trust on first use": the sha256
of the first copy that passed every published check (size, hash prefix) and was read as
the model its entry declares (`validate`, see `core.models.validation`) is recorded in
`<root>/verified_hashes.json`, and every later download, import or verify must match it.
A record that turns out wrong is replaced by an import or download with `replace=True`.

Besides the manifest's models, the store keeps the user's own generators (`add_user_model`,
`<root>/user_models.json`: a name, the file's path and sha256) and the model index
(`<root>/model_index.json`, `core.models.index`) of every model file by content.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import (
    ChecksumError,
    DownloadError,
    InvalidInputError,
    ModelMissingError,
    SemeditError,
)
from core.fileio import remove_stale_parts, write_atomically
from core.hashing import HASH_BLOCK_SIZE, FileDigests, StreamHasher, check_digests, hash_file
from core.jobs import JobControl
from core.models.download import DownloadProgress, download, part_path
from core.models.index import INDEX_FILE, IndexEntry, ModelFacts, ModelIndex
from core.models.manifest import _ID_PATTERN, Asset, Manifest, UnknownAssetError

HASH_RECORDS_FILE = "verified_hashes.json"
USER_MODELS_FILE = "user_models.json"
# validate(asset, path, shown_as=...) -> ModelFacts, raising SemeditError for a file that
# is not the asset (core.models.validation.validate_model_file).
Validator = Callable[..., ModelFacts]
_HASH_RECORDS_FORMAT = 1
_IMPORT_SUFFIX = ".importing"

# Column titles for `ModelStore.list()` rows, in display order.
TABLE_COLUMNS = ("id", "kind", "default", "state", "size", "checks", "licence")


@dataclass(frozen=True)
class AssetStatus:
    asset: Asset
    path: Path
    size_on_disk: int | None  # None: no file
    partial_bytes: int  # bytes in a `.part` left by an unfinished download

    @property
    def exists(self) -> bool:
        return self.size_on_disk is not None

    @property
    def size_ok(self) -> bool | None:
        """None when there is no file or the manifest does not know the size."""
        if self.size_on_disk is None or self.asset.size is None:
            return None
        return self.size_on_disk == self.asset.size

    @property
    def installed(self) -> bool:
        return self.exists and self.size_ok is not False

    @property
    def state(self) -> str:
        if self.installed:
            return "installed"
        if self.exists:
            return "wrong size"
        return "partial" if self.partial_bytes else "missing"

    def as_row(self) -> dict[str, str]:
        """Strings for a table, keyed by `TABLE_COLUMNS`."""
        size = self.size_on_disk if self.exists else self.asset.size
        state = self.state
        if state == "partial" and self.asset.size:
            state = f"partial ({100 * self.partial_bytes // self.asset.size}%)"
        return {
            "id": self.asset.id,
            "kind": self.asset.kind,
            "default": "yes" if self.asset.default else "",
            "state": state,
            "size": format_bytes(size),
            "checks": ", ".join(self.asset.published_checks) or "first use",
            "licence": self.asset.licence,
        }


@dataclass(frozen=True)
class VerifyResult:
    asset_id: str
    path: Path
    ok: bool
    sha256: str
    method: str  # which checks were made, e.g. "sha256 prefix + recorded sha256"
    message: str  # one sentence for the user

    def __bool__(self) -> bool:
        return self.ok


class HashRecordError(SemeditError):
    """`verified_hashes.json` exists but cannot be read."""


class RecordedHashMismatch(ChecksumError):
    """The file passes every published check but differs from the sha256 recorded on first
    use: the record may be the wrong one (a junk file trusted by an older SemEdit), so the
    user may replace it (`replace=True`)."""


@dataclass(frozen=True)
class UserModel:
    """A generator of the user's own, used by name like a manifest model."""

    name: str
    kind: str
    path: Path
    sha256: str
    summary: str

    def as_row(self) -> dict[str, str]:
        state = "installed" if self.path.is_file() else "missing"
        return {"id": self.name, "kind": self.kind, "default": "", "state": state,
                "size": format_bytes(_file_size(self.path)), "checks": "sha256 (yours)",
                "licence": "yours"}


@dataclass(frozen=True)
class GeneratorNeeded:
    """What a project says about the generator it was made with."""

    id: str | None
    sha256: str | None
    name: str | None = None
    path: str | None = None


def user_model_probe(name: str, kind: str, path: Path) -> Asset:
    """The asset a user's own model file (`models add`) is checked against: what its kind
    must be, with no size or sha256 to expect."""
    return Asset(id=name, kind=kind, filename=path.name, urls=(), size=None, sha256=None,
                 licence="yours", description="your own model")


class ModelStore:
    """The files of one manifest in one folder (`root`), one file per asset."""

    def __init__(self, manifest: Manifest, root: str | os.PathLike[str], *,
                 validate: Validator | None = None):
        """`validate` None: hash checks only (tests of the download machinery); the app,
        the CLI and the provider pass `core.models.validation.validate_model_file`."""
        self.manifest = manifest
        self.root = Path(root)
        self.validate = validate
        self.index = ModelIndex(self.root / INDEX_FILE)

    # -- where and what ------------------------------------------------------------------

    def path(self, asset_id: str) -> Path:
        return self.root / self.manifest.get(asset_id).filename

    def status(self, asset_id: str) -> AssetStatus:
        asset = self.manifest.get(asset_id)
        path = self.root / asset.filename
        return AssetStatus(
            asset=asset,
            path=path,
            size_on_disk=_file_size(path),
            partial_bytes=_file_size(part_path(path)) or 0,
        )

    def list(self) -> builtins.list[AssetStatus]:
        """Every asset of the manifest, in manifest order (`.as_row()` gives table cells)."""
        return [self.status(asset.id) for asset in self.manifest]

    def is_installed(self, asset_id: str) -> bool:
        return self.status(asset_id).installed

    def resolve(self, spec: str | os.PathLike[str] | None, kind: str) -> Path:
        """The model file to use for `spec`: an existing file path, a manifest id, or None.

        A path to an existing file is returned as given (no check: it is the user's file).
        An id, or None for the kind's default, must be installed.
        """
        if spec is None:
            return self._installed_path(self.manifest.default_for(kind), kind)
        candidate = Path(spec).expanduser()
        if candidate.is_file():
            return candidate
        if candidate.is_dir():
            raise InvalidInputError(f"{candidate} is a folder, not a model file.")
        text = os.fspath(spec)
        if text in self.manifest.ids:
            return self._installed_path(self.manifest.get(text), kind)
        user = self.user_models().get(text)
        if user is not None:
            return self._user_model_path(user, kind)
        if _looks_like_path(text):
            raise ModelMissingError(f"There is no model file at {candidate}.")
        known = ", ".join([*(a.id for a in self.manifest.of_kind(kind)),
                           *(u.name for u in self.user_models().values() if u.kind == kind)])
        known = known or "none"
        raise UnknownAssetError(
            f"'{text}' is neither a file nor a known model id; known {kind} models: {known}."
        )

    # -- getting files -------------------------------------------------------------------

    def download(
        self,
        asset_id: str,
        control: JobControl | None = None,
        *,
        force: bool = False,
        replace: bool = False,
        stall_timeout: float = 30.0,
        retries: int = 3,
    ) -> Generator[DownloadProgress, None, Path]:
        """Download an asset into the store, yielding progress; returns its path.

        An installed asset is not fetched again unless `force` is true. A stop through
        `control` raises `JobCancelled` and keeps the `.part` file for a later resume.
        The finished file must be the model the entry declares, or it is deleted and
        nothing is recorded; `replace` trusts a new copy over a recorded sha256.
        """
        status = self.status(asset_id)
        asset = status.asset
        if status.installed and not force:
            yield DownloadProgress(status.size_on_disk or 0, status.size_on_disk, 0.0)
            return status.path
        if not asset.downloadable:  # its address is a page for a person, not a file
            raise DownloadError(
                f"{asset.id} cannot be downloaded by SemEdit: open {asset.urls[0]} in a web "
                f"browser, save {asset.filename}, then import it (semedit models import "
                f"{asset.id} FILE, or Import in the Models dialog)."
            )
        recorded = None if replace else self._recorded_sha256(asset)
        # Empty .part files of failed downloads and temporaries of killed saves go; a
        # non-empty .part stays for the download to resume from.
        remove_stale_parts(status.path.parent, downloads=True)
        try:
            sha256 = yield from download(
                asset.urls,
                status.path,
                size=asset.size,
                sha256=asset.sha256 or recorded,
                sha256_prefix=asset.sha256_prefix,
                md5_prefix=asset.md5_prefix,
                control=control,
                stall_timeout=stall_timeout,
                retries=retries,
            )
        except ChecksumError as error:
            if asset.sha256 or not recorded:
                raise
            raise RecordedHashMismatch(
                f"{error} The sha256 it was checked against was recorded when {asset.id} was "
                f"first installed; if that record is wrong, download again with --replace "
                "(the Models dialog asks)."
            ) from error
        try:
            facts = self._validated(asset, status.path)
        except SemeditError:
            status.path.unlink(missing_ok=True)  # not the model: it must not look installed
            raise
        if not asset.sha256 and not recorded:
            self._record_sha256(asset, sha256, origin="download")
        self.remember(status.path, sha256, facts)
        return status.path

    def import_file(
        self, asset_id: str, src_path: str | os.PathLike[str], *,
        control: JobControl | None = None, replace: bool = False,
    ) -> Path:
        """Copy a file the user already has into the store after checking it is this asset.

        The source is only read, never moved or changed. The copy goes to a temporary name
        and is renamed into place only when its size and hashes are right and it reads as
        the model the entry declares. `replace`: a sha256 recorded earlier is replaced by
        this file's (RecordedHashMismatch says when that is needed).
        """
        asset = self.manifest.get(asset_id)
        src = Path(src_path).expanduser()
        dest = self.root / asset.filename
        if not src.is_file():
            raise InvalidInputError(f"{src} is not a file.")
        if dest.exists() and dest.samefile(src):
            if replace:
                self._forget_sha256(asset)
            result = self.verify(asset_id, control=control)
            if not result.ok:
                raise ChecksumError(result.message)
            return dest
        src_size = src.stat().st_size
        if asset.size is not None and src_size != asset.size:
            raise ChecksumError(
                f"{src} is {src_size} bytes, but {asset.id} is {asset.size} bytes: "
                "it is not the right file."
            )
        recorded = self._recorded_sha256(asset)
        make_folder(self.root, "the models folder")
        temp = dest.with_name(dest.name + _IMPORT_SUFFIX)
        with _os_errors_as_sentences(f"copy {src} to {dest}"):
            try:
                digests = _copy_and_hash(
                    src, temp, with_md5=bool(asset.md5_prefix), control=control
                )
                problems = _problems(asset, digests, None if replace else recorded)
                if problems and recorded and not asset.sha256 \
                        and not _problems(asset, digests, None):
                    raise RecordedHashMismatch(
                        f"{src} has sha256 {digests.sha256[:12]}…, but {asset.id} was recorded "
                        f"as {recorded[:12]}… ({self._record_origin(asset)}). If that record "
                        "is wrong, import again with --replace (the Models dialog asks). "
                        "Nothing was imported.")
                if problems:
                    raise ChecksumError(
                        f"{src} is not {asset.id}: {'; '.join(problems)}. Nothing was imported."
                    )
                try:
                    facts = self._validated(asset, temp, shown_as=src)
                except SemeditError as error:
                    raise type(error)(f"{error} Nothing was imported.") from error
                os.replace(temp, dest)
            finally:
                temp.unlink(missing_ok=True)
        if not asset.sha256 and (not recorded or replace):
            self._record_sha256(asset, digests.sha256, origin=f"import of {src}")
        self.remember(dest, digests.sha256, facts)
        return dest

    # -- checking files ------------------------------------------------------------------

    def verify(self, asset_id: str, *, control: JobControl | None = None) -> VerifyResult:
        """Hash the installed file and check it, saying which checks were made.

        Checks, in order of trust: the official sha256; else the published hash prefixes
        and the sha256 recorded on first use (recorded now when there is none yet).
        """
        asset = self.manifest.get(asset_id)
        path = self.root / asset.filename
        if not path.is_file():
            raise ModelMissingError(
                f"Model '{asset.id}' is not installed, so there is nothing to verify."
            )
        with _os_errors_as_sentences(f"read {path}"):
            digests = hash_file(path, with_md5=bool(asset.md5_prefix), control=control)
        recorded_entry = self._hash_records().get(asset.id)
        recorded = self._recorded_sha256(asset)
        problems = _problems(asset, digests, recorded)
        methods = _methods(asset, recorded, recorded_entry)
        facts = None
        if not problems and self.validate is not None:
            try:
                facts = self._validated(asset, path)
                methods.append("read as the declared model")
            except SemeditError as error:
                problems.append(str(error))
        if facts is not None:
            self.remember(path, digests.sha256, facts)
        if not problems and not asset.sha256 and not recorded:
            self._record_sha256(asset, digests.sha256, origin="verify")
            methods.append("sha256 recorded now (trust on first use)")
        method = " + ".join(methods)
        if problems:
            message = f"{path} fails its check ({method}): {'; '.join(problems)}."
        else:
            message = f"{path} is intact ({method})."
        return VerifyResult(asset.id, path, not problems, digests.sha256, method, message)

    # -- trust-on-first-use records ------------------------------------------------------

    @property
    def hash_records_path(self) -> Path:
        return self.root / HASH_RECORDS_FILE

    def _hash_records(self) -> dict[str, dict[str, Any]]:
        path = self.hash_records_path
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return {}  # nothing recorded yet (a file where a folder should be: said on write)
        except (OSError, ValueError) as error:
            raise HashRecordError(
                f"{path} cannot be read ({error}); delete it to record the hashes again."
            ) from error
        records = data.get("assets") if isinstance(data, dict) else None
        if not isinstance(records, dict):
            raise HashRecordError(f"{path} is damaged; delete it to record the hashes again.")
        return records

    def _recorded_sha256(self, asset: Asset) -> str | None:
        entry = self._hash_records().get(asset.id)
        # A record for another file name belongs to an older manifest entry: ignore it.
        if not isinstance(entry, dict) or entry.get("filename") != asset.filename:
            return None
        sha256 = entry.get("sha256")
        return sha256 if isinstance(sha256, str) else None

    def _record_sha256(self, asset: Asset, sha256: str, *, origin: str) -> None:
        records = self._hash_records()
        records[asset.id] = {
            "filename": asset.filename,
            "sha256": sha256,
            "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
            "origin": origin,
        }
        document = {"format": _HASH_RECORDS_FORMAT, "assets": records}
        with _os_errors_as_sentences(f"write {self.hash_records_path}"):
            _write_atomically(self.hash_records_path, json.dumps(document, indent=2) + "\n")

    def _forget_sha256(self, asset: Asset) -> None:
        records = self._hash_records()
        if records.pop(asset.id, None) is not None:
            document = {"format": _HASH_RECORDS_FORMAT, "assets": records}
            with _os_errors_as_sentences(f"write {self.hash_records_path}"):
                _write_atomically(self.hash_records_path, json.dumps(document, indent=2) + "\n")

    def _record_origin(self, asset: Asset) -> str:
        entry = self._hash_records().get(asset.id)
        if not isinstance(entry, dict):
            return "origin unknown"
        return f"recorded {entry.get('recorded', '?')} from {entry.get('origin', '?')}"

    def _validated(self, asset: Asset, path: Path, *,
                   shown_as: Path | None = None) -> ModelFacts | None:
        if self.validate is None:
            return None
        return self.validate(asset, path, shown_as=shown_as)

    def remember(self, path: Path, sha256: str, facts: ModelFacts | None = None) -> None:
        """Record a model file in the index (a cache: failures to write it are ignored)."""
        # The index is a cache: one that cannot be written costs a hash later, nothing more.
        with suppress(SemeditError):
            self.index.record(path, sha256, facts)

    # -- the user's own models -----------------------------------------------------------

    @property
    def user_models_path(self) -> Path:
        return self.root / USER_MODELS_FILE

    def user_models(self) -> dict[str, UserModel]:
        return read_user_models(self.root)

    def add_user_model(self, name: str, src_path: str | os.PathLike[str], *,
                       kind: str = "generator", replace: bool = False,
                       control: JobControl | None = None) -> UserModel:
        """Add the user's own model file under `name` (the file stays where it is)."""
        if not _ID_PATTERN.match(name):
            raise InvalidInputError(f"A model name must be lower-case letters, digits, '.', "
                                    f"'_' or '-', not {name!r}.")
        if name in self.manifest.ids:
            raise InvalidInputError(f"'{name}' is the name of a model SemEdit lists; choose "
                                    "another name for yours.")
        existing = self.user_models()
        if name in existing and not replace:
            raise InvalidInputError(f"You already have a model called '{name}' "
                                    f"({existing[name].path}); use --replace to point it at "
                                    "another file.")
        src = Path(src_path).expanduser().resolve()
        if not src.is_file():
            raise InvalidInputError(f"{src} is not a file.")
        if self.validate is None:
            raise SemeditError("This model store cannot read model files (no validator).")
        # says what the file is when it is no model
        facts = self.validate(user_model_probe(name, kind, src), src)
        with _os_errors_as_sentences(f"read {src}"):
            sha256 = self.index.sha256_of(src, control=control)
        self.remember(src, sha256, facts)
        model = UserModel(name, kind, src, sha256, facts.summary)
        entries = {n: {"kind": m.kind, "path": str(m.path), "sha256": m.sha256,
                       "summary": m.summary} for n, m in existing.items()}
        entries[name] = {"kind": kind, "path": str(src), "sha256": sha256,
                         "summary": facts.summary}
        document = {"format": 1, "models": entries}
        with _os_errors_as_sentences(f"write {self.user_models_path}"):
            _write_atomically(self.user_models_path, json.dumps(document, indent=2) + "\n")
        return model

    def _user_model_path(self, user: UserModel, kind: str) -> Path:
        if user.kind != kind:
            raise InvalidInputError(f"'{user.name}' is a {user.kind} model, not a {kind} model.")
        if user.path.is_file():
            return user.path
        moved = self.index.find(user.sha256)
        if moved:
            return Path(moved[-1].path)
        raise ModelMissingError(
            f"Your model '{user.name}' was {user.path}, which is not there any more; add it "
            f"again with `semedit models add {user.name} FILE --replace`.")

    # -- projects' generators ------------------------------------------------------------

    def find_generator(self, needed: GeneratorNeeded, *,
                       how: str = "point at it with --generator PATH (it is then "
                                  "remembered)") -> Path:
        """The file of the generator a project was made with, found by content: the
        manifest id (if its sha256 matches), the index by sha256, the recorded path (if
        its sha256 matches). ModelMissingError names the file and `how` to point at it."""
        if needed.sha256 is None:  # an old project without a checksum: trust the id
            return self.resolve(needed.id, "generator")
        if needed.id and (needed.id in self.manifest.ids or needed.id in self.user_models()):
            try:
                path = self.resolve(needed.id, "generator")
            except SemeditError:
                path = None
            if path is not None and self._sha256_of(path) == needed.sha256:
                return path
        indexed = self.index.find(needed.sha256)
        if indexed:
            return Path(indexed[-1].path)  # the most recently recorded copy
        if needed.path:
            candidate = Path(needed.path)
            if candidate.is_file() and self._sha256_of(candidate) == needed.sha256:
                return candidate
        shown = needed.name or (Path(needed.path).name if needed.path else None) \
            or needed.id or "its generator"
        where = f" (last seen at {needed.path})" if needed.path else ""
        raise ModelMissingError(
            f"This project needs the generator {shown}{where}, sha256 {needed.sha256[:12]}…, "
            f"and no such file is known here; {how}.",
            asset_id=needed.id if needed.id in self.manifest.ids else None)

    def sha256_of(self, path: str | os.PathLike[str], *,
                  control: JobControl | None = None) -> str:
        """A model file's sha256, hashed once per (path, size, mtime) (the index)."""
        return self._sha256_of(Path(path), control=control)

    def _sha256_of(self, path: Path, *, control: JobControl | None = None) -> str:
        try:
            return self.index.sha256_of(path, control=control)
        except SemeditError:  # an index that cannot be written: hash without it
            with _os_errors_as_sentences(f"read {path}"):
                return hash_file(path, control=control).sha256

    def _installed_path(self, asset: Asset, kind: str) -> Path:
        if asset.kind != kind:
            raise InvalidInputError(f"'{asset.id}' is a {asset.kind} model, not a {kind} model.")
        status = self.status(asset.id)
        if status.installed:
            return status.path
        problem = "has the wrong size" if status.exists else "is not installed"
        raise ModelMissingError(
            f"Model '{asset.id}' {problem}. Download it with `semedit models download "
            f"{asset.id}`, or if you already have the file, `semedit models import {asset.id} "
            "FILE`.", asset_id=asset.id
        )


def read_user_models(root: str | os.PathLike[str]) -> dict[str, UserModel]:
    """The user's own models recorded in the models folder `root` (by name)."""
    path = Path(root) / USER_MODELS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise HashRecordError(f"{path} cannot be read ({error}); delete it and add your "
                              "models again.") from error
    models = {}
    for name, entry in (data.get("models") or {}).items() if isinstance(data, dict) else ():
        try:
            models[name] = UserModel(name, str(entry["kind"]), Path(entry["path"]),
                                     str(entry["sha256"]), str(entry.get("summary", "")))
        except (KeyError, TypeError):
            continue
    return models


def format_bytes(count: int | None) -> str:
    if count is None:
        return "?"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _problems(asset: Asset, digests: FileDigests, recorded: str | None) -> list[str]:
    return check_digests(
        digests,
        size=asset.size,
        sha256=asset.sha256 or recorded,
        sha256_prefix=asset.sha256_prefix,
        md5_prefix=asset.md5_prefix,
    )


def _methods(asset: Asset, recorded: str | None, entry: Any) -> list[str]:
    if asset.sha256:
        return ["official sha256"]
    methods = []
    if asset.size is not None:
        methods.append("size")
    if asset.sha256_prefix:
        methods.append("published sha256 prefix")
    if asset.md5_prefix:
        methods.append("published md5 prefix")
    if recorded:
        when = entry.get("recorded", "?") if isinstance(entry, dict) else "?"
        methods.append(f"sha256 recorded {when} (trust on first use)")
    return methods


def _copy_and_hash(
    src: Path, dest: Path, *, with_md5: bool, control: JobControl | None
) -> FileDigests:
    """Copy block by block, hashing the bytes as they are written."""
    hashes = StreamHasher(with_md5)
    with open(src, "rb") as source, open(dest, "wb") as target:
        while block := source.read(HASH_BLOCK_SIZE):
            if control is not None:
                control.check(f"Importing {src.name}")
            target.write(block)
            hashes.update(block)
        target.flush()
        os.fsync(target.fileno())
    return hashes.digests()


@contextmanager
def _os_errors_as_sentences(action: str) -> Iterator[None]:
    """Disk errors (full, read-only, permissions) are the user's to fix: say so in one line."""
    try:
        yield
    except OSError as error:
        raise SemeditError(f"Cannot {action}: {error.strerror or error}.") from error


def make_folder(folder: Path, what: str) -> None:
    """`mkdir -p`, with what stops it (a file on the way, read-only) said in one line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        blocker = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()),
                       None)
        why = (f"{blocker} is a file, not a folder" if blocker is not None
               else error.strerror or str(error))
        raise SemeditError(f"Cannot create {what} {folder}: {why}. Choose another folder "
                           "(--models-dir or SEMEDIT_HOME).") from error


def _write_atomically(path: Path, text: str) -> None:
    make_folder(path.parent, "the models folder")
    write_atomically(path, lambda stream: stream.write(text.encode("utf-8")))


def _file_size(path: Path) -> int | None:
    try:
        return path.stat().st_size if path.is_file() else None
    except OSError:
        return None


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or Path(text).suffix.lower() in {".pkl", ".pth", ".pt"}


__all__ = [
    "HASH_RECORDS_FILE",
    "TABLE_COLUMNS",
    "USER_MODELS_FILE",
    "AssetStatus",
    "GeneratorNeeded",
    "HashRecordError",
    "IndexEntry",
    "ModelStore",
    "RecordedHashMismatch",
    "UserModel",
    "VerifyResult",
    "format_bytes",
    "read_user_models",
]
