"""The model manager: the manifest of known model files, the models folder, downloads."""

from __future__ import annotations

from core.models.download import DownloadProgress, download, part_path
from core.models.manifest import (
    KINDS,
    Asset,
    Manifest,
    ManifestError,
    UnknownAssetError,
    load_manifest,
    parse_manifest,
)
from core.models.store import (
    HASH_RECORDS_FILE,
    TABLE_COLUMNS,
    AssetStatus,
    HashRecordError,
    ModelStore,
    VerifyResult,
    format_bytes,
)
from core.paths import models_dir  # the CLI's --models-dir and the app's folder setting

__all__ = [
    "HASH_RECORDS_FILE",
    "KINDS",
    "TABLE_COLUMNS",
    "Asset",
    "AssetStatus",
    "DownloadProgress",
    "HashRecordError",
    "Manifest",
    "ManifestError",
    "ModelStore",
    "UnknownAssetError",
    "VerifyResult",
    "download",
    "format_bytes",
    "load_manifest",
    "models_dir",
    "parse_manifest",
    "part_path",
]
