"""The Directions dialog and its controller on real worker threads and a tiny generator:
import by dialog and by drop, supervised fitting with an injected labeller (progress, time
left, stop, resume), rename, use from the Edits picker, delete, export."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QObject, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from core.project import Document
from semedit_gui.controllers import DirectionsController
from semedit_gui.dialogs.directions_dialog import DirectionsDialog
from semedit_gui.panels import EditsPanel
from semedit_gui.session import EditorSession
from tests.core.test_models_download import server  # noqa: F401 (fixture)
from tests.gui.controller_fixtures import WAIT_MS, make_registry, stop_threads, wait_ended

pytestmark = pytest.mark.usefixtures("one_torch_thread")
W_DIM, NUM_WS = 64, 8  # tests/data/ada_tiny.pkl
FACES = 40


def labeller(image: np.ndarray) -> dict[str, float]:
    """Stands in for the landmark measurements: colour statistics of the generated face."""
    time.sleep(0.03)  # slow enough to be stopped half-way
    means = image.reshape(-1, 3).mean(axis=0) / 255.0
    return {"yaw": float(means[0]), "pitch": float(means[1]), "mouth_open": float(means[2]),
            "eyes_open": float(image.std() / 255.0), "face_width": float(image[:, :16].mean())}


@pytest.fixture
def setup(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    owner = QObject()
    registry = make_registry(tmp_path, owner)
    controller = DirectionsController(registry, labeller=labeller, parent=owner)
    dialog = DirectionsDialog(controller, "ada_tiny")
    qtbot.addWidget(dialog)
    yield controller, dialog
    stop_threads(registry, qtbot)
    owner.deleteLater()


def ids(controller) -> list[str]:
    return [d.name for d in controller.library.directions]


def test_import_by_dialog_and_by_drop_with_the_cli_options(qtbot, setup, tmp_path):
    controller, dialog = setup
    wait_ended(qtbot, controller.refresh())
    assert ids(controller)[:3] == ["pc0", "pc1", "pc2"]
    smile = tmp_path / "smile.npy"
    np.save(smile, np.random.default_rng(0).normal(size=W_DIM).astype(np.float32))
    dialog.ask_import_path = lambda: str(smile)
    dialog.name_edit.setText("big_smile")
    dialog.layers_edit.setText("2-5")
    dialog.scale_spin.setValue(0.75)
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.import_button.click()
    imported = {d.name: d for d in controller.library.directions}["big_smile"]
    assert (imported.layers, imported.scale, imported.source) == ((2, 5), 0.75, "imported")

    dialog.layers_edit.setText("5-2")
    dialog.import_button.click()
    assert "not a layer range" in dialog.message_label.text()

    age = tmp_path / "age.npy"
    np.save(age, np.random.default_rng(1).normal(size=(NUM_WS, W_DIM)).astype(np.float32))
    dialog.name_edit.clear()
    dialog.layers_edit.clear()
    dialog.scale_spin.setValue(0.0)  # "from the generator"
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(age))])
    drop = QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.dropEvent(drop)
    assert drop.isAccepted() and "age" in ids(controller)
    headings = [dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())]
    assert headings == ["Imported", "GANSpace components (unnamed)"]

    # delete from the dialog
    dialog.select("big_smile")
    assert dialog.delete_button.isEnabled()
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.delete_button.click()
    assert "big_smile" not in ids(controller) and "age" in ids(controller)
    dialog.select("pc0")
    assert not dialog.delete_button.isEnabled()  # GANSpace components are renamed, not deleted

    # export, and the file imports again
    out = tmp_path / "exported"
    dialog.select("age")
    dialog.ask_export_path = lambda name: str(out)
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.export_button.click()
    assert (tmp_path / "exported.npz").is_file() and (tmp_path / "exported.json").is_file()


def test_fit_stop_resume_rename_use_in_the_picker(qtbot, setup):
    controller, dialog = setup
    wait_ended(qtbot, controller.refresh())
    texts = []
    controller.progress.connect(lambda fraction, text: texts.append((fraction, text)))
    dialog.samples_spin.setValue(FACES)
    dialog.compute_button.click()
    assert controller.running and dialog.stop_button.isEnabled()
    qtbot.waitUntil(lambda: bool(texts) and texts[-1][0] >= 0.3, timeout=WAIT_MS)
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: not controller.running, timeout=WAIT_MS)
    assert controller.can_resume and dialog.resume_button.isEnabled()
    stopped_at = controller.paused_fit.job.done
    assert 0 < stopped_at < FACES
    assert "yaw" not in ids(controller)  # nothing stored from a stopped fit
    assert any("left" in text for _, text in texts)

    texts.clear()
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.resume_button.click()
    qtbot.waitUntil(lambda: not controller.running, timeout=WAIT_MS)
    first_step = min(int(t.split(":")[1].split(" of ")[0]) for _, t in texts if "of" in t)
    assert first_step > stopped_at  # resumed where it stopped, not from the first face
    assert controller.paused_fit is None
    shown = {d.name: d.shown_name for d in controller.library.directions}
    assert shown["yaw"] == "Head turn (yaw)" and shown["mouth_open"] == "Mouth open"

    dialog.select("yaw")
    dialog.ask_text = lambda title, label, text: ("Look sideways", True)
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.rename_button.click()
    yaw = {d.name: d for d in controller.library.directions}["yaw"]
    assert yaw.shown_name == "Look sideways" and yaw.name == "yaw"
    dialog.ask_text = lambda title, label, text: ("Turns the head.", True)
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.describe_button.click()
    yaw = {d.name: d for d in controller.library.directions}["yaw"]
    assert yaw.description == "Turns the head." and yaw.shown_name == "Look sideways"

    # the Edits picker shows the name, and an edit made from it refers to the id
    doc = Document(aligned=np.zeros((32, 32, 3), np.uint8))
    doc.add_chunk(np.ones((32, 32), np.float32), name="face", space="w",
                  code=np.zeros(W_DIM, np.float32))
    session = EditorSession(doc, directions=ids(controller))
    panel = EditsPanel(session)
    qtbot.addWidget(panel)
    controller.directions_changed.connect(panel.set_directions)
    panel.set_directions(controller.library.directions)
    session.select(doc.chunks[0])
    model = panel.direction_combo.model()
    texts_shown = [model.item(r).text().strip() for r in range(model.rowCount())]
    assert texts_shown[0] == "Fitted to face measurements" and "Look sideways" in texts_shown
    assert texts_shown.index("Look sideways") < texts_shown.index("GANSpace components")
    assert not panel.directions_hint.isVisibleTo(panel)
    panel.search_edit.setText("sideways")
    assert [model.item(r).text().strip() for r in range(model.rowCount())] == [
        "Fitted to face measurements", "Look sideways"]
    panel.add_edit()
    assert [e.direction for e in doc.chunks[0].edits] == ["yaw"]
    assert panel.rows[0].name_label.text() == "Look sideways"
    session.close()


def test_the_picker_says_what_to_do_with_only_ganspace_components(qtbot, setup):
    controller, _dialog = setup
    wait_ended(qtbot, controller.refresh())
    panel = EditsPanel(None)
    qtbot.addWidget(panel)
    panel.set_directions(controller.library.directions)
    assert panel.directions_hint.isVisibleTo(panel)
    assert "Directions" in panel.directions_hint.text()


def test_a_pack_for_another_generator_cannot_be_downloaded(qtbot, setup):
    controller, dialog = setup
    wait_ended(qtbot, controller.refresh())
    assert len(controller.library.packs) == 4
    assert all(o.refusal for o in controller.library.packs)  # ada_tiny is no FFHQ network
    dialog.packs_tree.topLevelItem(0).setSelected(True)
    assert not dialog.download_button.isEnabled()
    assert "was made for the generator 'stylegan2-ffhq-1024'" in dialog.pack_note.text()


def test_the_window_opens_the_directions_dialog_from_the_edit_menu(qtbot, tmp_path,
                                                                    monkeypatch):
    from semedit_gui.main_window import MainWindow
    from semedit_gui.settings import AppSettings
    from tests.gui.controller_fixtures import GEN

    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    window = MainWindow(AppSettings(generator=GEN, device="cpu", autosave_seconds=0,
                                    models_dir=str(tmp_path / "models")),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    edit_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Edit")
    assert window.commands.directions in edit_menu.actions()
    models_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Models")
    assert window.commands.directions in models_menu.actions()
    with qtbot.waitSignal(window.directions.library_changed, timeout=WAIT_MS):
        window.commands.directions.trigger()
    assert window.directions_dialog.isVisible()
    assert window.directions_dialog.tree.topLevelItemCount() == 1  # GANSpace components
    window.close()
    qtbot.waitUntil(lambda: window.close_state == "closed", timeout=WAIT_MS)


def test_a_pack_is_downloaded_and_installed_from_the_dialog(qtbot, setup, tmp_path,
                                                             monkeypatch, server):  # noqa: F811
    import hashlib
    import json

    from core.resources import resource_path
    from tests.core.test_direction_packs import pack_entry
    from tests.gui.controller_fixtures import GEN

    controller, dialog = setup
    rng = np.random.default_rng(4)
    data = {"smile.npy": _npy(rng.normal(size=(NUM_WS, W_DIM))),
            "age.npy": _npy(rng.normal(size=W_DIM)),
            "s_presets.py": b"def known_presets():\n    return {'gaze': (1, 3), "
                            b"'gray_hair': (2, 1)}\n"}
    entry = pack_entry({n: server.add(f"/gui/{n}", b) for n, b in data.items()}, data,
                       generator="ada-tiny", pack_id="tiny-pack",
                       generator_sha256=hashlib.sha256(Path(GEN).read_bytes()).hexdigest())
    entry["directions"][1]["file"] = "age.npy"
    manifest = json.loads(resource_path("models.json").read_text(encoding="utf-8"))
    manifest["direction_packs"] = [entry]
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "models.json").write_text(json.dumps(manifest), "utf-8")
    monkeypatch.setenv("SEMEDIT_RESOURCES", str(tmp_path / "resources"))

    wait_ended(qtbot, controller.refresh())
    (offer,) = controller.library.packs
    assert offer.refusal is None and not offer.installed
    dialog.packs_tree.topLevelItem(0).setSelected(True)
    assert dialog.download_button.isEnabled() and "MIT" in dialog.pack_note.text()
    fractions = []
    controller.progress.connect(lambda fraction, _text: fractions.append(fraction))
    with qtbot.waitSignal(controller.library_changed, timeout=WAIT_MS):
        dialog.download_button.click()
    assert fractions and fractions[-1] == 1.0
    assert controller.library.packs[0].installed
    assert dialog.packs_tree.topLevelItem(0).text(3) == "installed"
    shown = {d.name: (d.shown_name, d.group) for d in controller.library.directions}
    assert shown["cm_smile"] == ("Smile", "Test pack")
    assert shown["ss_gray_hair"] == ("Grey hair", "Test pack")
    headings = [dialog.tree.topLevelItem(i).text(0) for i in range(dialog.tree.topLevelItemCount())]
    assert headings == ["Test pack", "GANSpace components (unnamed)"]


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32))
    return buffer.getvalue()
