"""ModelStore: status, download bookkeeping, trust-on-first-use, import, resolve; and paths.

The network side of downloads is tested in test_models_download.py; here `download` is
replaced by a stand-in that writes the file, so these tests are about the store's logic.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
import pytest

import core.models.store as store_module
from core.errors import ChecksumError, InvalidInputError, ModelMissingError
from core.models.download import DownloadProgress, part_path
from core.models.manifest import Manifest, UnknownAssetError, parse_manifest
from core.models.store import (
    HASH_RECORDS_FILE,
    TABLE_COLUMNS,
    HashRecordError,
    ModelStore,
    format_bytes,
)
from core.paths import models_dir, semedit_home

GENERATOR_BYTES = b"generator weights " * 2000
SAM_BYTES = b"segmenter weights " * 3000
VGG_BYTES = b"vgg16 weights " * 4000


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_manifest() -> Manifest:
    """Three assets, one per way of checking: none published, md5 prefix, official sha256."""
    common = {"licence": "test licence", "description": "A test asset."}
    return parse_manifest(
        {
            "format": 1,
            "assets": [
                {
                    **common,
                    "id": "net",
                    "kind": "generator",
                    "default": True,
                    "filename": "net.pkl",
                    "urls": ["https://example.invalid/net.pkl"],
                    "size": None,
                    "sha256": None,
                    "resolution": 1024,
                    "domain": "ffhq",
                    "format": "nvidia-pickle",
                },
                {
                    **common,
                    "id": "seg",
                    "kind": "sam",
                    "default": True,
                    "filename": "seg.pth",
                    "urls": ["https://example.invalid/seg.pth"],
                    "size": len(SAM_BYTES),
                    "sha256": None,
                    "md5_prefix": hashlib.md5(SAM_BYTES).hexdigest()[:6],
                    "variant": "vit_b",
                },
                {
                    **common,
                    "id": "vgg",
                    "kind": "vgg",
                    "default": True,
                    "filename": "vgg.pth",
                    "urls": ["https://example.invalid/vgg.pth"],
                    "size": len(VGG_BYTES),
                    "sha256": sha256_of(VGG_BYTES),
                },
            ],
        }
    )


CONTENT = {"net": GENERATOR_BYTES, "seg": SAM_BYTES, "vgg": VGG_BYTES}


class FakeDownload:
    """Stands in for core.models.download.download: writes `serves` and records its calls."""

    def __init__(self) -> None:
        self.serves: dict[str, bytes] = dict(CONTENT)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, urls: Any, dest: Path, **kwargs: Any) -> Iterator[DownloadProgress]:
        self.calls.append(kwargs)
        data = self.serves[Path(dest).stem]
        expected = kwargs.get("sha256")
        if expected and sha256_of(data) != expected:
            raise ChecksumError(f"sha256 is {sha256_of(data)}, expected {expected}.")
        yield DownloadProgress(0, len(data), 0.0)
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(data)
        yield DownloadProgress(len(data), len(data), 0.0)
        return sha256_of(data)


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(make_manifest(), tmp_path / "models")


@pytest.fixture
def fake_download(monkeypatch: pytest.MonkeyPatch) -> FakeDownload:
    fake = FakeDownload()
    monkeypatch.setattr(store_module, "download", fake)
    return fake


def drain(generator: Iterator[DownloadProgress]) -> Any:
    while True:
        try:
            next(generator)
        except StopIteration as finished:
            return finished.value


def install(store: ModelStore, asset_id: str, data: bytes | None = None) -> Path:
    path = store.path(asset_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(CONTENT[asset_id] if data is None else data)
    return path


def recorded_hashes(store: ModelStore) -> dict[str, Any]:
    return json.loads((store.root / HASH_RECORDS_FILE).read_text())["assets"]


# -- status and list ----------------------------------------------------------------------


def test_status_follows_the_files(store: ModelStore) -> None:
    assert store.path("vgg") == store.root / "vgg.pth"
    assert store.status("vgg").state == "missing"
    store.root.mkdir()
    part_path(store.path("vgg")).write_bytes(VGG_BYTES[:1000])
    assert store.status("vgg").state == "partial"
    install(store, "vgg", b"short")
    assert store.status("vgg").state == "wrong size"
    assert store.status("vgg").size_ok is False
    install(store, "vgg")
    assert store.status("vgg").installed
    assert store.is_installed("vgg")


def test_list_gives_one_row_per_asset_for_a_table(store: ModelStore) -> None:
    install(store, "net")
    rows = [status.as_row() for status in store.list()]
    assert [row["id"] for row in rows] == ["net", "seg", "vgg"]
    assert all(tuple(row) == TABLE_COLUMNS for row in rows)
    assert rows[0]["state"] == "installed"
    assert rows[0]["checks"] == "first use"
    assert rows[1]["state"] == "missing"
    assert rows[2]["checks"] == "sha256"


def test_format_bytes() -> None:
    assert format_bytes(None) == "?"
    assert format_bytes(512) == "512 B"
    assert format_bytes(375042383) == "357.7 MiB"
    assert format_bytes(2564550879) == "2.4 GiB"


# -- download -------------------------------------------------------------------------------


def test_download_records_first_use_hash_then_verify_catches_tampering(
    store: ModelStore, fake_download: FakeDownload
) -> None:
    path = drain(store.download("net"))

    assert path == store.path("net") and path.read_bytes() == GENERATOR_BYTES
    assert fake_download.calls[0]["sha256"] is None  # nothing to check against yet
    record = recorded_hashes(store)["net"]
    assert record["sha256"] == sha256_of(GENERATOR_BYTES)
    assert record["filename"] == "net.pkl"

    result = store.verify("net")
    assert result.ok and "trust on first use" in result.method

    tampered = bytearray(GENERATOR_BYTES)
    tampered[100] ^= 0xFF
    path.write_bytes(bytes(tampered))
    result = store.verify("net")
    assert not result.ok
    assert sha256_of(GENERATOR_BYTES) in result.message
    assert recorded_hashes(store)["net"]["sha256"] == sha256_of(GENERATOR_BYTES)


def test_later_downloads_must_match_the_recorded_hash(
    store: ModelStore, fake_download: FakeDownload
) -> None:
    drain(store.download("net"))
    fake_download.serves["net"] = b"a different file"

    with pytest.raises(ChecksumError, match="first installed"):
        drain(store.download("net", force=True))

    assert fake_download.calls[1]["sha256"] == sha256_of(GENERATOR_BYTES)
    assert store.path("net").read_bytes() == GENERATOR_BYTES


def test_download_passes_published_checks_and_skips_installed_assets(
    store: ModelStore, fake_download: FakeDownload
) -> None:
    drain(store.download("seg", stall_timeout=5.0, retries=1))
    call = fake_download.calls[0]
    assert call["md5_prefix"] == store.manifest.get("seg").md5_prefix
    assert call["size"] == len(SAM_BYTES)
    assert (call["stall_timeout"], call["retries"]) == (5.0, 1)

    drain(store.download("seg"))
    assert len(fake_download.calls) == 1

    drain(store.download("vgg"))
    assert fake_download.calls[1]["sha256"] == sha256_of(VGG_BYTES)
    assert "vgg" not in recorded_hashes(store)  # an official hash needs no record


# -- verify -----------------------------------------------------------------------------------


def test_verify_says_which_check_it_made(store: ModelStore) -> None:
    install(store, "vgg")
    install(store, "seg")
    assert store.verify("vgg").method == "official sha256"
    seg = store.verify("seg")
    assert seg.ok
    assert "published md5 prefix" in seg.method
    assert "recorded now" in seg.method
    assert "recorded" in store.verify("seg").method


def test_verify_reports_a_wrong_official_hash(store: ModelStore) -> None:
    install(store, "vgg", b"x" * len(VGG_BYTES))
    result = store.verify("vgg")
    assert not result
    assert sha256_of(VGG_BYTES) in result.message
    assert result.sha256 in result.message


def test_failed_prefix_check_records_nothing(store: ModelStore) -> None:
    install(store, "seg", b"y" * len(SAM_BYTES))
    assert not store.verify("seg").ok
    assert not (store.root / HASH_RECORDS_FILE).exists()


def test_verify_of_missing_asset(store: ModelStore) -> None:
    with pytest.raises(ModelMissingError):
        store.verify("vgg")


def test_damaged_hash_records_are_reported(store: ModelStore) -> None:
    install(store, "net")
    (store.root / HASH_RECORDS_FILE).write_text("{not json")
    with pytest.raises(HashRecordError, match="delete it"):
        store.verify("net")


def test_hash_records_are_replaced_atomically(store: ModelStore) -> None:
    install(store, "net")
    install(store, "seg")
    store.verify("net")
    store.verify("seg")
    assert set(recorded_hashes(store)) == {"net", "seg"}
    leftovers = [p.name for p in store.root.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# -- import ---------------------------------------------------------------------------------


def test_import_copies_checks_and_leaves_the_source_alone(
    store: ModelStore, tmp_path: Path
) -> None:
    source = tmp_path / "downloads" / "sam_vit_b_01ec64.pth"
    source.parent.mkdir()
    source.write_bytes(SAM_BYTES)
    before = source.stat()

    path = store.import_file("seg", source)

    assert path == store.path("seg") and path.read_bytes() == SAM_BYTES
    assert source.read_bytes() == SAM_BYTES
    after = source.stat()
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )
    assert recorded_hashes(store)["seg"]["sha256"] == sha256_of(SAM_BYTES)
    assert store.verify("seg").ok


def test_import_refuses_a_wrong_file(store: ModelStore, tmp_path: Path) -> None:
    impostor = tmp_path / "vgg16.pth"
    impostor.write_bytes(b"z" * len(VGG_BYTES))

    with pytest.raises(ChecksumError, match="Nothing was imported") as caught:
        store.import_file("vgg", impostor)

    assert sha256_of(VGG_BYTES) in str(caught.value)
    assert not store.path("vgg").exists()
    assert [p.name for p in store.root.iterdir()] == []
    assert impostor.read_bytes() == b"z" * len(VGG_BYTES)


def test_import_refuses_a_file_of_the_wrong_size(store: ModelStore, tmp_path: Path) -> None:
    small = tmp_path / "small.pth"
    small.write_bytes(b"tiny")
    with pytest.raises(ChecksumError, match="not the right file"):
        store.import_file("seg", small)
    assert not store.path("seg").exists()


def test_import_checks_against_the_recorded_hash(store: ModelStore, tmp_path: Path) -> None:
    first = tmp_path / "first.pkl"
    first.write_bytes(GENERATOR_BYTES)
    store.import_file("net", first)
    other = tmp_path / "other.pkl"
    other.write_bytes(b"another network")

    with pytest.raises(ChecksumError):
        store.import_file("net", other)

    assert store.path("net").read_bytes() == GENERATOR_BYTES


def test_import_of_a_missing_source(store: ModelStore, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError):
        store.import_file("net", tmp_path / "nowhere.pkl")


# -- resolve --------------------------------------------------------------------------------


def test_resolve_returns_an_existing_path_as_given(store: ModelStore, tmp_path: Path) -> None:
    own = tmp_path / "my-network.pkl"
    own.write_bytes(b"anything")
    assert store.resolve(own, "generator") == own
    assert store.resolve(str(own), "generator") == own


def test_resolve_an_installed_id_and_the_default(store: ModelStore) -> None:
    path = install(store, "net")
    assert store.resolve("net", "generator") == path
    assert store.resolve(None, "generator") == path


def test_resolve_a_missing_id_says_how_to_get_it(store: ModelStore) -> None:
    with pytest.raises(ModelMissingError) as caught:
        store.resolve("seg", "sam")
    assert "semedit models download seg" in str(caught.value)
    assert "semedit models import seg FILE" in str(caught.value)


def test_resolve_refuses_unknown_ids_wrong_kinds_and_absent_files(
    store: ModelStore, tmp_path: Path
) -> None:
    with pytest.raises(UnknownAssetError, match="known generator models: net"):
        store.resolve("stylegan9", "generator")
    install(store, "vgg")
    with pytest.raises(InvalidInputError, match="is a vgg model, not a generator"):
        store.resolve("vgg", "generator")
    with pytest.raises(ModelMissingError, match="no model file"):
        store.resolve(tmp_path / "gone" / "net.pkl", "generator")
    with pytest.raises(InvalidInputError, match="folder"):
        store.resolve(tmp_path, "generator")


# -- paths ----------------------------------------------------------------------------------


def test_models_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SEMEDIT_HOME", raising=False)
    default = Path(platformdirs.user_data_dir("SemEdit", appauthor=False))
    assert semedit_home() == default
    assert models_dir() == default / "models"

    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    assert models_dir() == tmp_path / "home" / "models"

    assert models_dir(tmp_path / "cli") == tmp_path / "cli"
    assert models_dir(os.fspath(tmp_path / "cli")) == tmp_path / "cli"
    assert not (tmp_path / "home").exists()  # looking a folder up creates nothing
