"""`models_in_use`: one answer to "which generator / SAM / VGG is in use, and can it load?"
for a choice naming nothing, a manifest id, a file, or the user's own model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.models.in_use import (
    CHOSEN_FILE,
    CHOSEN_ID,
    DEFAULT,
    OWN_MODEL,
    UNKNOWN,
    model_in_use,
    models_in_use,
)
from core.models.loaded import LoadedModels, ModelChoice
from core.models.validation import open_model_store

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = DATA / "ada_tiny.pkl"


@pytest.fixture
def store(tmp_path):
    return open_model_store(tmp_path / "models")


def install_sized(store, asset_id: str) -> Path:
    """A file of the manifest's size at the asset's place (sparse: only the size is read)."""
    path = store.path(asset_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:
        stream.truncate(store.manifest.get(asset_id).size)
    return path


def test_defaults_nothing_installed(store):
    found = models_in_use(ModelChoice(), store)
    assert list(found) == ["generator", "sam", "vgg"]
    generator, sam, vgg = found.values()
    assert (generator.name, generator.origin, generator.usable) == \
        ("stylegan2-ffhq-1024", DEFAULT, False)
    assert generator.installable == "stylegan2-ffhq-1024"
    assert generator.path == store.path("stylegan2-ffhq-1024")
    assert generator.status == ("stylegan2-ffhq-1024, the default generator, is not installed: "
                                "photos cannot be inverted or edited.")
    assert (sam.name, sam.usable, sam.installable) == ("sam-vit-b", False, "sam-vit-b")
    assert "click selection" in sam.status
    assert vgg.name == "vgg16-imagenet" and not vgg.usable
    assert "the L2 loss works without it" in vgg.status


def test_default_installed_and_wrong_size(store):
    path = install_sized(store, "sam-vit-b")
    sam = model_in_use(ModelChoice(), store, "sam")
    assert sam.usable and sam.path == path and sam.origin == DEFAULT
    assert sam.status == "sam-vit-b, the default Segment Anything model, is installed."
    assert sam.installable is None
    with open(path, "r+b") as stream:
        stream.truncate(1000)
    sam = model_in_use(ModelChoice(), store, "sam")
    assert not sam.usable and sam.installable == "sam-vit-b"
    assert "has the wrong size" in sam.status


def test_sam_file_chosen_by_path_is_usable_without_sam_vit_b(store, tmp_path):
    mine = tmp_path / "elsewhere" / "my_sam.pth"
    mine.parent.mkdir()
    mine.write_bytes(b"a SAM checkpoint")
    assert not store.is_installed("sam-vit-b")
    sam = model_in_use(ModelChoice(sam=str(mine)), store, "sam")
    assert (sam.origin, sam.usable, sam.name, sam.path) == (CHOSEN_FILE, True, "my_sam.pth", mine)
    assert sam.asset_id is None and sam.installable is None
    assert sam.status == f"Your file {mine} is used."
    # the provider resolves the same file (it would load it, not sam-vit-b)
    assert LoadedModels(ModelChoice(sam=str(mine), models_dir=str(store.root),
                                    device="cpu")).store.resolve(str(mine), "sam") == mine


def test_missing_path_is_not_usable_and_named(store, tmp_path):
    gone = tmp_path / "gone" / "sam_vit_b.pth"
    sam = model_in_use(ModelChoice(sam=str(gone)), store, "sam")
    assert (sam.origin, sam.usable, sam.path) == (CHOSEN_FILE, False, gone)
    assert sam.installable is None  # downloading sam-vit-b would not change the choice
    assert sam.status == (f"The file chosen as the Segment Anything model, {gone}, is not "
                          "there: click selection and the automatic hair and background "
                          "chunks are off.")
    folder = model_in_use(ModelChoice(vgg=str(tmp_path)), store, "vgg")
    assert not folder.usable and "is a folder, not a model file" in folder.status


def test_path_to_an_installed_store_file_names_its_entry(store):
    path = install_sized(store, "vgg16-imagenet")
    vgg = model_in_use(ModelChoice(vgg=str(path)), store, "vgg")
    assert (vgg.origin, vgg.usable, vgg.asset_id, vgg.name) == \
        (CHOSEN_FILE, True, "vgg16-imagenet", "vgg16-imagenet")


def test_chosen_id_installed_missing_and_of_another_kind(store):
    missing = model_in_use(ModelChoice(sam="sam-vit-l"), store, "sam")
    assert (missing.origin, missing.usable, missing.installable) == \
        (CHOSEN_ID, False, "sam-vit-l")
    assert missing.status.startswith("sam-vit-l is chosen but is not installed: ")
    install_sized(store, "sam-vit-l")
    chosen = model_in_use(ModelChoice(sam="sam-vit-l"), store, "sam")
    assert chosen.usable and chosen.status == "sam-vit-l is chosen and installed."
    wrong = model_in_use(ModelChoice(sam="vgg16-imagenet"), store, "sam")
    assert not wrong.usable and wrong.installable is None
    assert wrong.status.startswith("vgg16-imagenet is a VGG16 network of the LPIPS loss, "
                                   "not a Segment Anything model: ")


def test_own_generator_by_name_then_moved_then_gone(store, tmp_path):
    mine = tmp_path / "mine.pkl"
    shutil.copyfile(GEN, mine)
    store.add_user_model("tiny", mine)
    generator = model_in_use(ModelChoice(generator="tiny"), store, "generator")
    assert (generator.origin, generator.usable, generator.own_model, generator.path) == \
        (OWN_MODEL, True, "tiny", mine.resolve())
    assert generator.status == f"Your model 'tiny' is used from {mine.resolve()}."
    moved = tmp_path / "moved.pkl"
    mine.rename(moved)
    store.remember(moved, store.user_models()["tiny"].sha256)  # found again by content
    generator = model_in_use(ModelChoice(generator="tiny"), store, "generator")
    assert generator.usable and generator.path == moved
    assert "found by its checksum" in generator.status
    moved.unlink()
    generator = model_in_use(ModelChoice(generator="tiny"), store, "generator")
    assert not generator.usable and generator.installable is None
    assert generator.status.startswith(f"Your model 'tiny' was {mine.resolve()}, which is not "
                                       "there any more: ")


def test_unknown_name(store):
    found = model_in_use(ModelChoice(generator="no-such-model"), store, "generator")
    assert (found.origin, found.usable) == (UNKNOWN, False)
    assert found.status == ("'no-such-model' is neither a file nor a known model id: photos "
                            "cannot be inverted or edited.")
