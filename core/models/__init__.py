"""The model manager: the manifest of known model files, the models folder, downloads."""

from __future__ import annotations

from core.models.download import (
    DownloadProgress,
    FileDigests,
    StopFlag,
    check_digests,
    download,
    hash_file,
    is_stopped,
    part_path,
)
from core.models.manifest import (
    KINDS,
    Asset,
    Manifest,
    ManifestError,
    UnknownAssetError,
    load_manifest,
    parse_manifest,
)
from core.models.paths import models_dir, semedit_home
from core.models.store import (
    HASH_RECORDS_FILE,
    TABLE_COLUMNS,
    AssetStatus,
    HashRecordError,
    ModelStore,
    VerifyResult,
    format_bytes,
)

__all__ = [
    "HASH_RECORDS_FILE",
    "KINDS",
    "TABLE_COLUMNS",
    "Asset",
    "AssetStatus",
    "DownloadProgress",
    "FileDigests",
    "HashRecordError",
    "Manifest",
    "ManifestError",
    "ModelStore",
    "StopFlag",
    "UnknownAssetError",
    "VerifyResult",
    "check_digests",
    "download",
    "format_bytes",
    "hash_file",
    "is_stopped",
    "load_manifest",
    "models_dir",
    "parse_manifest",
    "part_path",
    "semedit_home",
]
