"""The manifest of every model file SemEdit can use (`core/resources/models.json`).

The JSON is checked field by field when it is loaded, so a broken or hand-edited manifest
fails at start-up with one sentence naming the asset and the field, not later with a
`KeyError` in the middle of a download.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import InvalidInputError, SemeditError
from core.resources import resource_path

MANIFEST_FORMAT = 1
KINDS = ("generator", "sam", "vgg", "encoder")
GENERATOR_FORMATS = ("nvidia-pickle",)
ENCODER_FORMATS = ("e4e",)
# "download": SemEdit fetches `urls`. "import": `urls` are pages a person opens in a browser
# (a Google Drive share, say, that serves an HTML page to programs); the file is then
# imported, and `download` refuses with that sentence instead of fetching a web page.
OBTAIN_WAYS = ("download", "import")
SAM_VARIANTS = ("vit_b", "vit_l", "vit_h")

_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_HEX_PATTERN = re.compile(r"^[0-9a-f]+$")

_COMMON_REQUIRED = ("id", "kind", "filename", "urls", "size", "sha256", "licence", "description")
_COMMON_OPTIONAL = ("sha256_prefix", "md5_prefix", "default", "source", "obtain")
_KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "generator": ("resolution", "domain", "format", "codebase", "architecture"),
    "sam": ("variant",),
    "vgg": (),
    "encoder": ("resolution", "domain", "format", "codebase", "architecture"),
}
# `architecture` of a generator (or encoder) entry: what differs from config-f at its
# resolution.
_ARCHITECTURE_KEYS = ("z_dim", "w_dim", "mapping_layers", "channels")


def config_f_architecture(resolution: int) -> dict[str, Any]:
    """NVIDIA's StyleGAN2 config-f at `resolution` (FFHQ, MetFaces, AFHQ releases): z and w
    512, 8 mapping layers, min(32768 / r, 512) feature maps at block resolution r."""
    blocks = [2**i for i in range(2, resolution.bit_length())]
    return {"z_dim": 512, "w_dim": 512, "num_ws": 2 * (resolution.bit_length() - 1) - 2,
            "mapping_layers": 8, "channels": {str(r): min(32768 // r, 512) for r in blocks}}


class ManifestError(SemeditError):
    """The model manifest is missing, is not valid JSON, or has a field that makes no sense."""


class UnknownAssetError(InvalidInputError):
    """An asset id that the manifest does not list."""


@dataclass(frozen=True)
class Asset:
    """One downloadable file: where to get it, how to check it, and what it is for."""

    id: str
    kind: str
    filename: str
    urls: tuple[str, ...]
    size: int | None
    sha256: str | None
    licence: str
    description: str
    sha256_prefix: str | None = None
    # SAM's file names carry the first hex digits of the file's *md5*, not its sha256.
    md5_prefix: str | None = None
    default: bool = False
    source: str | None = None
    obtain: str = "download"
    # generators and encoders (the generator an encoder was trained for)
    resolution: int | None = None
    domain: str | None = None
    format: str | None = None
    codebase: str | None = None
    # sam
    variant: str | None = None
    # generators whose layout is not NVIDIA's config-f: the keys that differ
    architecture: Mapping[str, Any] | None = field(default=None, hash=False)

    @property
    def downloadable(self) -> bool:
        """False when the file must be fetched by a person and imported (`obtain: import`)."""
        return self.obtain == "download"

    def declared_architecture(self) -> dict[str, Any]:
        """What a file must be to be this asset, in the terms `ModelFacts.architecture`
        uses. Every generator the manifest lists is NVIDIA's config-f layout at its
        resolution (and e4e encodes into it)."""
        if self.kind in ("generator", "encoder") and self.resolution:
            return {"resolution": self.resolution, **config_f_architecture(self.resolution),
                    **(self.architecture or {})}
        if self.kind == "sam":
            return {"variant": self.variant}
        if self.kind == "vgg":
            return {"layout": "torchvision vgg16"}
        return {}

    def what_it_is(self) -> str:
        """The asset in a few words, for "X is …, not <what_it_is>"."""
        if self.kind == "generator" and not self.resolution:
            return "a StyleGAN2 generator"
        if self.kind == "generator":
            return (f"the {self.resolution}×{self.resolution} {self.domain or ''} StyleGAN2 "
                    f"model {self.id}").replace("  ", " ")
        if self.kind == "encoder":
            return f"an encoder for the {self.resolution}×{self.resolution} generator ({self.id})"
        if self.kind == "sam":
            return f"the Segment Anything {self.variant} model ({self.id})"
        return f"the torchvision VGG16 weights ({self.id})"

    @property
    def has_official_hash(self) -> bool:
        return self.sha256 is not None

    @property
    def published_checks(self) -> tuple[str, ...]:
        """The checks upstream publishes for this file, in words (empty: trust on first use)."""
        checks = []
        if self.sha256:
            checks.append("sha256")
        if self.sha256_prefix:
            checks.append("sha256 prefix")
        if self.md5_prefix:
            checks.append("md5 prefix")
        return tuple(checks)


@dataclass(frozen=True)
class Manifest:
    assets: tuple[Asset, ...]
    format: int = MANIFEST_FORMAT
    origin: str = "<memory>"

    def __iter__(self) -> Iterator[Asset]:
        return iter(self.assets)

    def __len__(self) -> int:
        return len(self.assets)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(asset.id for asset in self.assets)

    def get(self, asset_id: str) -> Asset:
        for asset in self.assets:
            if asset.id == asset_id:
                return asset
        raise UnknownAssetError(
            f"There is no model called '{asset_id}'. Known models: {', '.join(self.ids)}."
        )

    def of_kind(self, kind: str) -> tuple[Asset, ...]:
        return tuple(asset for asset in self.assets if asset.kind == kind)

    def default_for(self, kind: str) -> Asset:
        for asset in self.of_kind(kind):
            if asset.default:
                return asset
        raise UnknownAssetError(
            f"The model manifest has no default model of kind '{kind}'; "
            f"kinds with a default: {', '.join(sorted({a.kind for a in self if a.default}))}."
        )


def load_manifest(path: str | Path | None = None, *, require_https: bool = True) -> Manifest:
    """Read and check a manifest file, by default the `models.json` SemEdit ships."""
    manifest_path = Path(path) if path is not None else resource_path("models.json")
    try:
        text = manifest_path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(
            f"Cannot read the model manifest {manifest_path}: {error.strerror or error}."
        ) from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"The model manifest {manifest_path} is not valid JSON "
            f"(line {error.lineno}, column {error.colno}: {error.msg})."
        ) from error
    return parse_manifest(data, origin=str(manifest_path), require_https=require_https)


def parse_manifest(data: Any, *, origin: str = "<memory>", require_https: bool = True) -> Manifest:
    """Build a `Manifest` from decoded JSON, raising `ManifestError` on the first problem."""
    if not isinstance(data, Mapping):
        raise ManifestError(f"The model manifest {origin} must be a JSON object.")
    version = data.get("format")
    if version != MANIFEST_FORMAT or isinstance(version, bool):
        raise ManifestError(
            f"The model manifest {origin} has format {version!r}; this SemEdit reads format "
            f"{MANIFEST_FORMAT}."
        )
    entries = data.get("assets")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"The model manifest {origin} needs a non-empty 'assets' list.")
    assets = tuple(
        _parse_asset(entry, f"{origin}: asset #{index + 1}", require_https)
        for index, entry in enumerate(entries)
    )
    _check_unique(assets, "id", origin)
    _check_unique(assets, "filename", origin)
    _check_defaults(assets, origin)
    return Manifest(assets=assets, format=MANIFEST_FORMAT, origin=origin)


def _parse_asset(entry: Any, where: str, require_https: bool) -> Asset:
    if not isinstance(entry, Mapping):
        raise ManifestError(f"{where} must be a JSON object.")
    if isinstance(entry.get("id"), str):
        where = f"{where} ('{entry['id']}')"
    for key in _COMMON_REQUIRED:
        if key not in entry:
            raise ManifestError(f"{where} has no '{key}' field.")
    kind = entry["kind"]
    if kind not in KINDS:
        raise ManifestError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, not {kind!r}.")
    allowed = set(_COMMON_REQUIRED) | set(_COMMON_OPTIONAL) | set(_KIND_FIELDS[kind])
    unknown = sorted(k for k in entry if k not in allowed and not str(k).startswith("_"))
    if unknown:
        raise ManifestError(f"{where} has unknown field(s) for a {kind}: {', '.join(unknown)}.")

    asset = Asset(
        id=_id(entry, where),
        kind=kind,
        filename=_filename(entry, where),
        urls=_urls(entry, where, require_https),
        size=_optional_int(entry, "size", where, minimum=1),
        sha256=_hex(entry, "sha256", where, exact_length=64),
        licence=_text(entry, "licence", where),
        description=_text(entry, "description", where),
        sha256_prefix=_hex(entry, "sha256_prefix", where, max_length=63),
        md5_prefix=_hex(entry, "md5_prefix", where, max_length=31),
        default=_bool(entry, "default", where),
        source=_optional_text(entry, "source", where),
        obtain=_obtain(entry, where),
        resolution=_optional_int(entry, "resolution", where, minimum=4),
        domain=_optional_text(entry, "domain", where),
        format=_optional_text(entry, "format", where),
        codebase=_optional_text(entry, "codebase", where),
        variant=_optional_text(entry, "variant", where),
        architecture=_architecture(entry, where),
    )
    _check_kind_fields(asset, where)
    if asset.sha256 and asset.sha256_prefix and not asset.sha256.startswith(asset.sha256_prefix):
        raise ManifestError(f"{where}: 'sha256_prefix' does not match 'sha256'.")
    return asset


def _check_kind_fields(asset: Asset, where: str) -> None:
    if asset.kind == "generator":
        if asset.resolution is None or asset.resolution & (asset.resolution - 1):
            raise ManifestError(f"{where}: a generator needs a power-of-two 'resolution'.")
        if not asset.domain:
            raise ManifestError(f"{where}: a generator needs a 'domain'.")
        if asset.format not in GENERATOR_FORMATS:
            raise ManifestError(
                f"{where}: 'format' must be one of {', '.join(GENERATOR_FORMATS)}, "
                f"not {asset.format!r}."
            )
    elif asset.kind == "encoder":
        if asset.resolution is None or asset.resolution & (asset.resolution - 1):
            raise ManifestError(f"{where}: an encoder needs the power-of-two 'resolution' of "
                                "its generator.")
        if asset.format not in ENCODER_FORMATS:
            raise ManifestError(
                f"{where}: 'format' must be one of {', '.join(ENCODER_FORMATS)}, "
                f"not {asset.format!r}."
            )
    elif asset.kind == "sam" and asset.variant not in SAM_VARIANTS:
        raise ManifestError(
            f"{where}: 'variant' must be one of {', '.join(SAM_VARIANTS)}, not {asset.variant!r}."
        )


def _check_unique(assets: tuple[Asset, ...], field: str, origin: str) -> None:
    seen: set[str] = set()
    for asset in assets:
        value = getattr(asset, field)
        if value in seen:
            raise ManifestError(f"The model manifest {origin} lists the {field} '{value}' twice.")
        seen.add(value)


def _check_defaults(assets: tuple[Asset, ...], origin: str) -> None:
    for kind in sorted({asset.kind for asset in assets}):
        defaults = [asset.id for asset in assets if asset.kind == kind and asset.default]
        if len(defaults) != 1:
            raise ManifestError(
                f"The model manifest {origin} must mark exactly one {kind} as default, "
                f"not {len(defaults)} ({', '.join(defaults) or 'none'})."
            )


def _id(entry: Mapping[str, Any], where: str) -> str:
    value = entry["id"]
    if not isinstance(value, str) or not _ID_PATTERN.match(value):
        raise ManifestError(
            f"{where}: 'id' must be lower-case letters, digits, '.', '_' or '-', not {value!r}."
        )
    return value


def _filename(entry: Mapping[str, Any], where: str) -> str:
    value = entry["filename"]
    # The file name is joined to the models folder: it must not climb out of it.
    if (
        not isinstance(value, str)
        or value in ("", ".", "..")
        or "/" in value
        or "\\" in value
        or value != value.strip()
        or value.endswith((".part", ".importing"))
    ):
        raise ManifestError(f"{where}: 'filename' must be a plain file name, not {value!r}.")
    return value


def _urls(entry: Mapping[str, Any], where: str, require_https: bool) -> tuple[str, ...]:
    value = entry["urls"]
    if not isinstance(value, list) or not value:
        raise ManifestError(f"{where}: 'urls' must be a non-empty list.")
    schemes = ("https",) if require_https else ("https", "http")
    for url in value:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in schemes or not parts.netloc:
            raise ManifestError(f"{where}: {url!r} is not an {' or '.join(schemes)} URL.")
    return tuple(value)


def _optional_int(entry: Mapping[str, Any], key: str, where: str, *, minimum: int) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ManifestError(f"{where}: '{key}' must be an integer >= {minimum} or null.")
    return value


def _hex(
    entry: Mapping[str, Any],
    key: str,
    where: str,
    *,
    exact_length: int | None = None,
    max_length: int | None = None,
) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    length_ok = isinstance(value, str) and (
        len(value) == exact_length if exact_length else 4 <= len(value) <= (max_length or 64)
    )
    if not length_ok or not _HEX_PATTERN.match(value):
        wanted = f"{exact_length}" if exact_length else f"4 to {max_length}"
        raise ManifestError(f"{where}: '{key}' must be {wanted} lower-case hex digits or null.")
    return value


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip() or "\n" in value:
        raise ManifestError(f"{where}: '{key}' must be a non-empty one-line string.")
    return value


def _optional_text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    if entry.get(key) is None:
        return None
    return _text(entry, key, where)


def _obtain(entry: Mapping[str, Any], where: str) -> str:
    value = entry.get("obtain", "download")
    if value not in OBTAIN_WAYS:
        raise ManifestError(f"{where}: 'obtain' must be one of {', '.join(OBTAIN_WAYS)}, "
                            f"not {value!r}.")
    return value


def _architecture(entry: Mapping[str, Any], where: str) -> dict[str, Any] | None:
    value = entry.get("architecture")
    if value is None:
        return None
    if not isinstance(value, Mapping) or any(k not in _ARCHITECTURE_KEYS for k in value):
        raise ManifestError(f"{where}: 'architecture' must be an object with some of "
                            f"{', '.join(_ARCHITECTURE_KEYS)}.")
    for key in ("z_dim", "w_dim", "mapping_layers"):
        if key in value and (not isinstance(value[key], int) or isinstance(value[key], bool)
                             or value[key] < 1):
            raise ManifestError(f"{where}: architecture '{key}' must be a positive integer.")
    channels = value.get("channels", {})
    if not isinstance(channels, Mapping) or not all(
            isinstance(k, str) and k.isdigit() and isinstance(c, int) and not isinstance(c, bool)
            and c > 0 for k, c in channels.items()):
        raise ManifestError(f"{where}: architecture 'channels' must map block resolutions "
                            "(\"4\", \"8\", …) to positive integers.")
    return dict(value)


def _bool(entry: Mapping[str, Any], key: str, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise ManifestError(f"{where}: '{key}' must be true or false.")
    return value
