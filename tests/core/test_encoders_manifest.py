"""The e4e encoder in the model manifest, the store and `semedit models`: it is obtained by
import (its only official copy is a Google Drive page), never by fetching that page."""

from __future__ import annotations

import json

import pytest

from core.encoders import load_encoder
from core.errors import DownloadError
from core.models import ManifestError, ModelStore, load_manifest, parse_manifest
from semedit_gui.launcher import main as semedit
from tests.encoder_writers import TINY_WIDTHS, write_e4e

E4E_ID = "e4e-ffhq-encode"


def test_shipped_manifest_lists_e4e_as_an_import():
    manifest = load_manifest()
    asset = manifest.get(E4E_ID)
    assert asset.kind == "encoder" and manifest.default_for("encoder") is asset
    assert asset.filename == "e4e_ffhq_encode.pt"
    assert asset.licence == "MIT"
    assert asset.obtain == "import" and not asset.downloadable
    assert asset.urls[0].startswith(
        "https://drive.google.com/file/d/1cUv_reLE6k3604or78EranS7XzuVMWeO/")
    assert asset.source == "https://github.com/omertov/encoder4editing"
    assert (asset.resolution, asset.domain, asset.format, asset.codebase) == (
        1024, "ffhq", "e4e", "encoder4editing")
    # No checksum is published: the description says so, and import records one.
    assert asset.sha256 is None and asset.published_checks == ()
    assert "no checksum" in asset.description and "import" in asset.description
    assert all(other.downloadable for other in manifest if other.id != E4E_ID)


def test_download_refuses_and_says_how_to_get_it(tmp_path):
    store = ModelStore(load_manifest(), tmp_path)
    with pytest.raises(DownloadError, match=r"open https://drive\.google\.com/") as info:
        list(store.download(E4E_ID))
    assert f"semedit models import {E4E_ID} FILE" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing fetched, no .part file


def test_import_then_load(tmp_path):
    store = ModelStore(load_manifest(), tmp_path / "models")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    source = write_e4e(downloads / "e4e_ffhq_encode.pt", TINY_WIDTHS)
    installed = store.import_file(E4E_ID, source)
    assert installed == tmp_path / "models" / "e4e_ffhq_encode.pt"
    assert store.status(E4E_ID).installed
    assert store.resolve(None, "encoder") == installed
    encoder = load_encoder(store.resolve(E4E_ID, "encoder"))
    assert encoder.num_ws == TINY_WIDTHS.num_ws
    records = json.loads(store.hash_records_path.read_text())
    assert records["assets"][E4E_ID]["sha256"] == encoder.source_sha256  # trust on first use
    assert store.verify(E4E_ID).ok


def test_semedit_models_list_shows_it(capsys):
    assert semedit(["models", "list", "--json"]) == 0
    rows = {row["id"]: row for row in json.loads(capsys.readouterr().out)["models"]}
    assert rows[E4E_ID]["kind"] == "encoder" and rows[E4E_ID]["state"] == "missing"
    assert rows[E4E_ID]["licence"] == "MIT"
    assert semedit(["models", "list"]) == 0
    assert any(line.split()[:2] == [E4E_ID, "encoder"]
               for line in capsys.readouterr().out.splitlines())


def _entry(**changes) -> dict:
    entry = {"id": "e4e", "kind": "encoder", "default": True, "obtain": "import",
             "filename": "e4e.pt", "urls": ["https://example.org/e4e"], "size": None,
             "sha256": None, "licence": "MIT", "description": "An encoder.",
             "resolution": 1024, "domain": "ffhq", "format": "e4e",
             "codebase": "encoder4editing"}
    entry.update(changes)
    return {"format": 1, "assets": [entry]}


def test_manifest_schema_for_encoders():
    assert parse_manifest(_entry()).get("e4e").obtain == "import"
    assert parse_manifest(_entry(obtain="download")).get("e4e").downloadable
    with pytest.raises(ManifestError, match="'obtain' must be one of download, import"):
        parse_manifest(_entry(obtain="browser"))
    with pytest.raises(ManifestError, match="'format' must be one of e4e"):
        parse_manifest(_entry(format="psp"))
    with pytest.raises(ManifestError, match="power-of-two 'resolution'"):
        parse_manifest(_entry(resolution=1000))
    with pytest.raises(ManifestError, match="unknown field"):
        parse_manifest(_entry(variant="vit_b"))
