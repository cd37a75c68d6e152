"""The 60-second tutorial (core/resources/help/tutorial.md, shown by Help ▸ Tutorial and
linked from the README), step by step, through the app's own actions and buttons (a tiny
64² generator on the CPU instead of the FFHQ model).

With SEMEDIT_TUTORIAL_SHOTS=FOLDER it also saves the window at the steps the tutorial
shows (first run, inversion in progress, an edit in the split view, the hair result);
FOLDER=core/resources/help replaces its pictures.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from core.project import load_project
from core.segment.brush import Brush
from semedit_gui.dialogs import ExportOptions
from semedit_gui.dialogs.help_dialogs import tutorial_path
from semedit_gui.main_window import MainWindow
from semedit_gui.settings import AppSettings
from tests.gui.test_editor_workflow import WAIT_MS, finish

DATA = Path(__file__).resolve().parents[1] / "data"
GEN64 = str(DATA / "ada_tiny64_w512.pkl")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def shot(window: MainWindow, name: str) -> None:
    folder = os.environ.get("SEMEDIT_TUTORIAL_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        window.grab().save(str(Path(folder) / f"{name}.png"))


def paint(qtbot, canvas, points) -> None:
    viewport = canvas.viewport()
    screen = [canvas.mapFromScene(QPointF(x + 0.5, y + 0.5)) for x, y in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=screen[0])
    for point in screen[1:]:
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=screen[-1])


def test_the_tutorial_holds(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_PICTURES_DIR", str(tmp_path))
    tutorial = tutorial_path().read_text(encoding="utf-8")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert "(core/resources/help/tutorial.md)" in readme  # the README links, not copies
    for words in ("Try the sample photo", "Auto Chunks", "Run", "Add edit", "Export",
                  "Save", "Transfer", "Paint its hair", "Open as new project"):
        assert words in tutorial, f"the tutorial no longer mentions {words!r}"

    # 1. Start SemEdit: the first run offers the generator's download.
    window = MainWindow(AppSettings(generator="", device="cpu", autosave_seconds=0,
                                    models_dir=str(tmp_path / "models")),
                        settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    window.ask_unsaved_changes = lambda: "discard"
    qtbot.waitExposed(window)
    assert window.welcome.isVisible()
    shot(window, "first-run")
    # (the user downloads or imports it; here the tiny generator is chosen instead)
    window.apply_settings(AppSettings(**{**window.settings.__dict__, "generator": GEN64,
                                         "default_steps": 30}))

    # 2. Try the sample photo.
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.welcome.sample_requested.emit()
    session = window.session
    assert session.doc.resolution == 64 and not window.welcome.isVisible()

    # 3. Auto Chunks, touched up with the brush.
    window.commands.auto_chunks.trigger()
    finish(qtbot, window.jobs.active("auto_chunks") or window.jobs.jobs()[-1])
    names = [c.name for c in session.doc.chunks]
    assert {"face", "eyes", "mouth"} <= set(names), window.message_bar.text()
    session.select("mouth")
    window.commands.tools["brush"].trigger()
    window.canvas.set_brush(Brush(size=3, hardness=1.0))
    before = session.doc.chunk("mouth").mask.copy()
    mouth_rows, mouth_cols = np.nonzero(before > 0.5)
    row, col = int(mouth_rows.mean()), int(mouth_cols.max()) + 2
    paint(qtbot, window.canvas, [(col - 1, row), (col + 1, row)])
    assert session.doc.chunk("mouth").mask.sum() > before.sum()
    if "hair" not in names:  # Segment Anything finds the hair; without it, paint it
        session.select(session.chunk_set.add(None, name="hair"))
        for y in (2, 5, 8):
            paint(qtbot, window.canvas, [(10, y), (32, y), (54, y)])
        assert session.doc.chunk("hair").mask[2:9, 12:52].mean() > 0.5

    # 4. Inversion: Run (Stop keeps what it has, Continue goes on).
    panel = window.inversion_panel
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))  # LPIPS needs the VGG weights
    seen = []
    window.inversion.progress.connect(lambda *args: seen.append(args))
    panel.run_button.click()
    task = window.inversion.task
    qtbot.waitUntil(lambda: len(seen) >= 8 or task.finished, timeout=WAIT_MS)
    shot(window, "inversion-running")
    finish(qtbot, task)
    assert session.inverted and "Done" in panel.metrics.text()

    # 6. Select a chunk, pick a direction, Add edit, move the slider; split view; undo.
    qtbot.waitUntil(lambda: window.edits_panel.direction_combo.count() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.preview.last_result is not None, timeout=WAIT_MS)
    session.select("mouth")
    window.edits_panel.add_edit("pc0")
    slider = window.edits_panel.rows[0].slider
    slider.sliderPressed.emit()
    slider.setValue(300)
    slider.sliderReleased.emit()
    qtbot.waitUntil(lambda: not np.array_equal(window.canvas.displayed_image,
                                               session.doc.aligned), timeout=WAIT_MS)
    window.preview.wait_idle()
    window.commands.split.trigger()
    assert window.canvas.split == 0.5
    qtbot.wait(200)
    shot(window, "edit-split-view")
    window.commands.split.trigger()
    strength = session.doc.chunk("mouth").edits[0].strength
    window.commands.undo.trigger()
    assert session.doc.chunk("mouth").edits[0].strength == 0
    window.commands.redo.trigger()
    assert session.doc.chunk("mouth").edits[0].strength == strength

    # 7. Export the full photo; Save keeps everything editable.
    exported = window.documents.default_export_path()
    assert exported.parent == tmp_path  # Pictures: never the program's sample folder
    finish(qtbot, window.documents.export_to(ExportOptions(exported, "PNG", True, 95, True)))
    with Image.open(exported) as image:
        assert image.size == (512, 512)
    project = tmp_path / "tutorial.semedit"
    window.ask_save_path = lambda suggested: project
    window.commands.save.trigger()
    qtbot.waitUntil(lambda: not session.dirty, timeout=WAIT_MS)
    assert load_project(project).chunk("mouth").edits[0].strength == strength

    # Hair: choose a hair photo, paint its hair, Transfer, blend, Open as new project.
    hair_photo = tmp_path / "hair.png"
    Image.fromarray(skimage.data.astronaut()[:, ::-1].copy()).save(hair_photo)
    window.docks["Hair"].raise_()  # its tab, where the docks share a column
    hair = window.hair_panel
    hair.set_hair_photo(hair_photo)
    hair.steps.setValue(4)
    hair.refine_steps.setValue(2)
    hair.loss.setCurrentIndex(hair.loss.findData("l2"))
    hair.pose_match.setChecked(False)
    hair.paint_button.click()
    qtbot.waitUntil(lambda: window.hair_mask_dialog is not None, timeout=WAIT_MS)
    dialog = window.hair_mask_dialog
    qtbot.waitExposed(dialog)
    dialog.size.setValue(6)
    for y in (3, 7, 11, 15):
        paint(qtbot, dialog.canvas, [(12, y), (32, y), (52, y)])
    dialog.use_button.click()
    qtbot.waitUntil(lambda: window.hair_mask_dialog is None, timeout=WAIT_MS)
    hair.run_button.click()
    finish(qtbot, window.hair.task)
    assert window.hair.outcome is not None, window.message_bar.text()
    shot(window, "hair-result")
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        hair.apply_button.click()
    result = window.session.doc
    assert result.chunk("mouth").edits[0].strength == strength  # the edit is kept
    assert window.documents.default_save_path().name == "astronaut-hair.semedit"
    window.close_discarding()
