"""The model manager with validation before trust: a junk file is refused with what it
is, a recorded bad sha256 is replaced after a confirmation, and "Add my own generator…"
lists the user's generator by name."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.models.manifest import parse_manifest
from core.models.store import HASH_RECORDS_FILE, ModelStore
from core.models.validation import validate_model_file
from semedit_gui.dialogs.model_manager import ModelManagerDialog
from tests.model_fixtures import TINY_ARCHITECTURE, TINY_GENERATOR

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_store(root: Path) -> ModelStore:
    manifest = parse_manifest({"format": 1, "assets": [{
        "id": "tiny", "kind": "generator", "default": True, "filename": "tiny.pkl",
        "urls": ["https://example.invalid/tiny.pkl"], "size": None, "sha256": None,
        "licence": "test", "description": "A test generator.", "resolution": 32,
        "domain": "test", "format": "nvidia-pickle", "architecture": TINY_ARCHITECTURE}]})
    return ModelStore(manifest, root, validate=validate_model_file)


@pytest.fixture
def manager(qtbot, tmp_path):
    dialog = ModelManagerDialog(lambda: make_store(tmp_path / "models"))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def recorded(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "models" / HASH_RECORDS_FILE).read_text())["assets"]


def test_a_junk_file_is_refused_with_what_it_is(qtbot, manager, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a model\n")
    manager.select_asset("tiny")
    with qtbot.waitSignal(manager.operation_ended, timeout=30_000) as ended:
        manager.import_file(junk)
    assert ended.args == ["failed"]
    assert "notes.txt is not the 32×32 test StyleGAN2 model tiny" in \
        manager.error_label.text()
    assert manager.row_texts("tiny")["State"] == "missing"
    assert not (tmp_path / "models" / HASH_RECORDS_FILE).exists()


@pytest.mark.parametrize("confirmed", [True, False])
def test_a_recorded_bad_hash_is_replaced_after_confirmation(qtbot, manager, tmp_path,
                                                            confirmed):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / HASH_RECORDS_FILE).write_text(json.dumps({"format": 1, "assets": {"tiny": {
        "filename": "tiny.pkl", "sha256": "ab" * 32, "recorded": "x", "origin": "junk"}}}))
    questions: list[str] = []
    manager.confirm_replace = lambda text: questions.append(text) or confirmed
    manager.select_asset("tiny")
    with qtbot.waitSignal(manager.operation_ended, timeout=30_000) as ended:
        manager.import_file(TINY_GENERATOR)
    assert len(questions) == 1 and "--replace" in questions[0]
    if confirmed:
        assert ended.args == ["succeeded"]
        assert recorded(tmp_path)["tiny"]["sha256"] != "ab" * 32
        assert manager.row_texts("tiny")["State"] == "installed"
    else:
        assert ended.args == ["failed"] and manager.error_label.isVisible()
        assert recorded(tmp_path)["tiny"]["sha256"] == "ab" * 32
        assert manager.row_texts("tiny")["State"] == "missing"


def test_add_my_own_generator(qtbot, manager, tmp_path):
    mine = tmp_path / "mine.pkl"
    shutil.copyfile(TINY_GENERATOR, mine)
    assert manager.add_own_button.isEnabled()
    with qtbot.waitSignal(manager.models_changed, timeout=30_000):
        manager.add_own_generator(mine, "my-portraits")
    qtbot.waitUntil(lambda: not manager.busy, timeout=10_000)
    assert "my-portraits is a 32×32 StyleGAN2 generator" in manager.status_label.text()
    row = manager.row_texts("my-portraits")
    assert row["Kind"] == "generator" and row["State"] == "installed"
    assert row["Licence"] == "your own"
    assert make_store(tmp_path / "models").resolve("my-portraits", "generator") == \
        mine.resolve()
