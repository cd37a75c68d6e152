"""The shipped model manifest, and how broken manifests are reported."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from core.errors import SemeditError
from core.models.manifest import (
    KINDS,
    SAM_VARIANTS,
    Manifest,
    ManifestError,
    UnknownAssetError,
    load_manifest,
    parse_manifest,
)
from core.resources import resource_path

REQUIRED_FIELDS = ("id", "kind", "filename", "urls", "size", "sha256", "licence", "description")


@pytest.fixture(scope="module")
def shipped() -> Manifest:
    return load_manifest()


@pytest.fixture
def raw() -> dict[str, Any]:
    return json.loads(resource_path("models.json").read_text(encoding="utf-8"))


def test_shipped_manifest_loads_with_every_required_field(shipped: Manifest) -> None:
    raw_assets = json.loads(resource_path("models.json").read_text(encoding="utf-8"))["assets"]
    assert len(shipped) == len(raw_assets) >= 10
    for entry in raw_assets:
        missing = [field for field in REQUIRED_FIELDS if field not in entry]
        assert not missing, f"{entry.get('id')} lacks {missing}"


def test_ids_and_filenames_are_unique(shipped: Manifest) -> None:
    assert len(set(shipped.ids)) == len(shipped.ids)
    assert len({asset.filename for asset in shipped}) == len(shipped.ids)


def test_every_url_is_https(shipped: Manifest) -> None:
    for asset in shipped:
        for url in asset.urls:
            assert urlsplit(url).scheme == "https", url


def test_required_assets_and_defaults(shipped: Manifest) -> None:
    for asset_id in (
        "stylegan2-ffhq-1024",
        "stylegan2-metfaces-1024",
        "stylegan2-afhqcat-512",
        "stylegan2-afhqdog-512",
        "stylegan2-afhqwild-512",
        "sam-vit-b",
        "sam-vit-l",
        "sam-vit-h",
        "vgg16-imagenet",
    ):
        shipped.get(asset_id)
    assert shipped.default_for("generator").id == "stylegan2-ffhq-1024"
    assert shipped.default_for("sam").id == "sam-vit-b"
    assert shipped.default_for("vgg").id == "vgg16-imagenet"
    assert {asset.kind for asset in shipped} == set(KINDS)


def test_kind_specific_fields(shipped: Manifest) -> None:
    for generator in shipped.of_kind("generator"):
        assert generator.format == "nvidia-pickle"
        assert generator.resolution in (512, 1024)
        assert generator.domain
        assert generator.licence == "NVIDIA Source Code License-NC"
    assert sorted(sam.variant for sam in shipped.of_kind("sam")) == sorted(SAM_VARIANTS)
    assert {sam.licence for sam in shipped.of_kind("sam")} == {"Apache-2.0"}
    assert shipped.get("vgg16-imagenet").licence == "BSD-3-Clause"


def test_hash_prefixes_match_the_upstream_file_names(shipped: Manifest) -> None:
    vgg = shipped.get("vgg16-imagenet")
    # torch.hub convention: "<name>-<first sha256 hex digits>.<ext>"
    assert vgg.sha256_prefix and f"-{vgg.sha256_prefix}." in vgg.urls[0]
    for sam in shipped.of_kind("sam"):
        # segment-anything's suffix is the start of the file's md5, not its sha256
        assert sam.md5_prefix and sam.urls[0].endswith(f"_{sam.md5_prefix}.pth")
        assert sam.sha256_prefix is None


def test_sizes_and_hashes_are_well_formed(shipped: Manifest) -> None:
    for asset in shipped:
        assert asset.size is None or asset.size > 1_000_000
        assert asset.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", asset.sha256)
        assert "\n" not in asset.description


def test_unknown_id_lists_the_known_ones(shipped: Manifest) -> None:
    with pytest.raises(UnknownAssetError) as caught:
        shipped.get("stylegan9")
    assert isinstance(caught.value, SemeditError)
    assert "stylegan9" in str(caught.value)
    assert "sam-vit-b" in str(caught.value) and "vgg16-imagenet" in str(caught.value)


def test_default_for_a_kind_without_assets_is_an_error(shipped: Manifest) -> None:
    with pytest.raises(UnknownAssetError, match="no default"):
        shipped.default_for("diffusion")


def _first(raw: dict[str, Any], kind: str = "generator") -> dict[str, Any]:
    return next(entry for entry in raw["assets"] if entry["kind"] == kind)


def _second_generator(raw: dict[str, Any]) -> dict[str, Any]:
    return [entry for entry in raw["assets"] if entry["kind"] == "generator"][1]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda raw: raw.update(format=2), "format 2"),
        (lambda raw: raw.update(assets=[]), "non-empty 'assets'"),
        (lambda raw: _first(raw).pop("licence"), "no 'licence' field"),
        (lambda raw: _first(raw).update(kind="vae"), "'kind' must be one of"),
        (lambda raw: _first(raw).update(size="big"), "'size' must be an integer"),
        (lambda raw: _first(raw).update(sha256="abc"), "'sha256' must be 64"),
        (lambda raw: _first(raw).update(urls=[]), "'urls' must be a non-empty list"),
        (lambda raw: _first(raw).update(urls=["http://x.org/a.pkl"]), "not an https URL"),
        (lambda raw: _first(raw).update(filename="../evil.pkl"), "plain file name"),
        (lambda raw: _first(raw).update(sha265="typo"), "unknown field"),
        (lambda raw: _first(raw).update(resolution=1000), "power-of-two"),
        (lambda raw: _first(raw).update(format="onnx"), "'format' must be one of"),
        (lambda raw: _first(raw, "sam").update(variant="vit_x"), "'variant' must be one of"),
        (lambda raw: _second_generator(raw).update(id=_first(raw)["id"]), "twice"),
        (lambda raw: _second_generator(raw).update(default=True), "exactly one generator"),
        (lambda raw: _first(raw).update(description="two\nlines"), "one-line"),
    ],
)
def test_broken_manifest_is_reported_clearly(
    raw: dict[str, Any], breakage: Any, message: str
) -> None:
    broken = copy.deepcopy(raw)
    breakage(broken)
    with pytest.raises(ManifestError, match=re.escape(message)):
        parse_manifest(broken, origin="test.json")


def test_invalid_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    path.write_text('{"format": 1,\n "assets": [\n}', encoding="utf-8")
    with pytest.raises(ManifestError, match=r"not valid JSON \(line 3"):
        load_manifest(path)


def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="Cannot read"):
        load_manifest(tmp_path / "absent.json")


def test_plain_http_allowed_only_on_request(raw: dict[str, Any]) -> None:
    _first(raw)["urls"] = ["http://127.0.0.1:8000/ffhq.pkl"]
    with pytest.raises(ManifestError):
        parse_manifest(raw)
    assert parse_manifest(raw, require_https=False).get(_first(raw)["id"]).urls == (
        "http://127.0.0.1:8000/ffhq.pkl",
    )
