"""Scripted sessions in the real main window (offscreen): a tiny generator on the CPU, the
astronaut photo, mouse painting, inversion on the worker thread, live edits, undo,
projects, export, autosave, and the messages a user sees when something is wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer

from core.project import load_project
from semedit_gui.dialogs import ExportOptions, ModelManagerDialog
from semedit_gui.main_window import MainWindow
from semedit_gui.settings import AppSettings

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², 8 ws rows
WAIT_MS = 60_000

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path)
    return path


def make_window(qtbot, tmp_path, **settings) -> MainWindow:
    values = dict(generator=GEN, device="cpu", autosave_seconds=0, default_steps=20,
                  models_dir=str(tmp_path / "models"))
    values.update(settings)
    window = MainWindow(AppSettings(**values), settings_path=tmp_path / "settings.json")
    qtbot.addWidget(window)
    window.show()
    return window


def finish(qtbot, task, timeout: int = WAIT_MS) -> None:
    """Wait until `task` has ended and its results were applied on the UI thread."""
    ended = []
    task.ended.connect(lambda: ended.append(1))
    qtbot.waitUntil(lambda: bool(ended), timeout=timeout)


def open_photo(qtbot, window: MainWindow, photo: Path) -> None:
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(photo)


def drag(qtbot, window: MainWindow, points: list[tuple[float, float]]) -> None:
    view = window.canvas
    viewport = view.viewport()
    screen = [view.mapFromScene(QPointF(x + 0.5, y + 0.5)) for x, y in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=screen[0])
    for point in screen[1:]:
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=screen[-1])


def canvas_image(window: MainWindow) -> np.ndarray:
    return window.canvas.displayed_image


def test_whole_session_paint_invert_edit_undo_save_reopen_export(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    session = window.session
    doc = session.doc
    assert doc.resolution == 32 and doc.photo_name == "astronaut.png"
    assert not session.dirty

    # Paint the lower face into a new chunk with the mouse: one stroke = one step.
    window.chunks_panel.add_chunk()
    window.canvas.zoom_to_fit()
    window.set_tool("brush")
    from core.segment.brush import Brush

    window.canvas.set_brush(Brush(size=6, hardness=1.0))
    drag(qtbot, window, [(8, 22), (14, 22), (20, 22), (24, 22)])
    chunk = doc.chunks[0]
    assert chunk.mask[22, 14] == pytest.approx(1.0) and chunk.mask[4, 4] == 0
    assert doc.history.labels[-1].lower().startswith(("paint", "brush"))
    assert session.dirty and window.isWindowModified()

    # Inversion on the worker while the event loop keeps running.
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    panel = window.inversion_panel
    panel.steps.setValue(40)
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    task = window.inversion.task
    assert task is not None and not panel.run_button.isEnabled()
    finish(qtbot, task)
    timer.stop()
    assert len(ticks) >= 5, "the UI thread was blocked during the inversion"
    assert chunk.code is not None and session.inverted
    assert doc.history.labels[-1] == "Inversion"
    assert "Done" in panel.metrics.text() and panel.curve.points
    assert panel.run_button.isEnabled()

    # Directions arrive; an edit moved with the slider changes only the chunk.
    qtbot.waitUntil(lambda: window.edits_panel.direction_combo.count() > 0, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: window.preview.last_result is not None, timeout=WAIT_MS)
    before = canvas_image(window)
    assert np.array_equal(before, doc.aligned)  # no edits: the photo, bit for bit
    session.select(chunk)
    window.edits_panel.add_edit("pc0")
    row = window.edits_panel.rows[0]
    steps_before = len(doc.history)
    row.slider.sliderPressed.emit()
    for value in (50, 120, 250):
        row.slider.setValue(value)
    row.slider.sliderReleased.emit()
    assert chunk.edits[0].strength == pytest.approx(2.5)
    assert len(doc.history) == steps_before + 1
    qtbot.waitUntil(lambda: not np.array_equal(canvas_image(window), before), timeout=WAIT_MS)
    window.preview.wait_idle()
    qtbot.wait(100)
    edited = canvas_image(window)
    outside = chunk.mask == 0
    assert np.array_equal(edited[outside], doc.aligned[outside])
    assert np.abs(edited.astype(int) - doc.aligned.astype(int))[chunk.mask > 0.5].max() > 0

    # Undo returns to the photo; redo brings the edit back.
    window.undo()
    assert chunk.edits[0].strength == 0
    qtbot.waitUntil(lambda: np.array_equal(canvas_image(window), doc.aligned),
                    timeout=WAIT_MS)
    window.redo()
    qtbot.waitUntil(lambda: np.array_equal(canvas_image(window), edited), timeout=WAIT_MS)

    # Save, reopen in a fresh window, compare.
    project = tmp_path / "session.semedit"
    window.ask_save_path = lambda suggested: project
    window.documents.save()
    qtbot.waitUntil(lambda: not session.dirty, timeout=WAIT_MS)
    assert project.is_file() and not window.isWindowModified()
    saved = load_project(project)
    assert np.array_equal(saved.chunks[0].code, chunk.code)
    assert np.allclose(saved.chunks[0].mask, chunk.mask, atol=1 / 65535)  # 16-bit PNG
    assert saved.chunks[0].edits[0].strength == pytest.approx(2.5)

    # Export the aligned crop and the full photo; pixels match the preview.
    crop = tmp_path / "crop.png"
    export = window.documents.export_to(ExportOptions(crop, "PNG", False, 95, True))
    finish(qtbot, export)
    assert np.array_equal(np.asarray(Image.open(crop).convert("RGB")), edited)
    full = tmp_path / "full.jpg"
    finish(qtbot, window.documents.export_to(ExportOptions(full, "JPEG", True, 95, True)))
    with Image.open(full) as img:
        assert img.size == (512, 512)  # the astronaut photo's own size
    window.close()
    assert not window.isVisible()

    second = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(second.document_opened, timeout=WAIT_MS):
        second.open_path(project)
    assert second.session.path == project and not second.session.dirty
    assert second.session.doc.chunks[0].edits[0].strength == pytest.approx(2.5)
    qtbot.waitUntil(lambda: second.preview.last_result is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: np.array_equal(canvas_image(second), edited), timeout=WAIT_MS)
    assert str(project.resolve()) in second.settings.recent_files
    second.close()


def test_unsaved_changes_prompt_and_autosave_recovery(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    window.session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    task = window.documents.autosave_now()
    finish(qtbot, task)
    assert window.documents.autosave_slot.project.is_file()

    asked = []
    window.ask_unsaved_changes = lambda: asked.append(1) or "cancel"
    window.close()
    assert asked and window.isVisible()  # cancelled: still open, nothing lost

    # A second window (as after a crash) finds the autosave and recovers it.
    window.documents.autosave_slot.release_lock()  # as a crash would
    other = make_window(qtbot, tmp_path)
    found = other.documents.pending_recoveries()
    assert [r.project for r in found] == [window.documents.autosave_slot.project]
    with qtbot.waitSignal(other.document_opened, timeout=WAIT_MS):
        other.documents.recover(found[0])
    assert [c.name for c in other.session.doc.chunks] == ["all"]
    assert other.session.dirty and other.session.path is None
    other.ask_unsaved_changes = lambda: "discard"
    other.close()

    window.ask_unsaved_changes = lambda: "discard"
    window.close()
    assert not window.isVisible()
    assert not window.documents.autosave_slot.project.exists()  # a clean close removes the autosave


def test_problems_become_messages_and_the_app_keeps_running(qtbot, tmp_path, photo,
                                                             monkeypatch):
    offers = []
    monkeypatch.setattr(ModelManagerDialog, "offer",
                        staticmethod(lambda parent, store, asset, reason, **_options:
                                     offers.append((asset, reason))))
    broken = tmp_path / "broken.pkl"
    broken.write_bytes(b"\x80\x04not really a pickle")
    window = make_window(qtbot, tmp_path, generator=str(broken))
    task = window.open_path(photo)
    finish(qtbot, task)
    assert str(broken) in window.message_bar.text() and window.session is None

    # A missing generator offers the download.
    window.apply_settings(AppSettings(**{**window.settings.__dict__, "generator": ""}))
    finish(qtbot, window.open_path(photo))
    assert offers == [("stylegan2-ffhq-1024", "Opening a photo")]

    # A photo without a face.
    window.apply_settings(AppSettings(**{**window.settings.__dict__, "generator": GEN}))
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 200, 3), 128, np.uint8)).save(blank)
    finish(qtbot, window.open_path(blank))
    qtbot.waitUntil(lambda: window.face_dialog is not None, timeout=WAIT_MS)
    # In the message history: the status line may already show a later job's line.
    assert any("No face" in m.text for m in window.messages.log.entries)
    assert window.session is None
    window.face_dialog.reject()  # the user's way on: tests/gui/test_first_hour.py

    # Auto chunks without SAM fall back to the landmarks (a note says so).
    open_photo(qtbot, window, photo)
    finish(qtbot, window.selection.auto_chunks())
    names = [c.name for c in window.session.doc.chunks]
    assert "face" in names and "mouth" in names
    assert any("Segment Anything" in m.text for m in window.messages.log.newest_first[:3])
    window.ask_unsaved_changes = lambda: "discard"
    window.close()


def test_drop_a_photo_opens_it(qtbot, tmp_path, photo):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window(qtbot, tmp_path)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(photo))])
    event = QDropEvent(QPoint(10, 10).toPointF(), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.dropEvent(event)
    assert window.session.doc.photo_name == "astronaut.png"
    window.close()


def test_segment_anything_clicks_make_a_chunk(qtbot, tmp_path, photo):
    from core.segment.sam import SamSegmenter, load_sam
    from tests.sam_writers import write_tiny_sam

    sam_path = write_tiny_sam(tmp_path / "tiny_sam.pth")
    window = make_window(qtbot, tmp_path, sam=str(sam_path))
    open_photo(qtbot, window, photo)
    window.set_tool("sam")
    view = window.canvas
    with qtbot.waitSignal(window.sam_tool.candidate_changed, timeout=WAIT_MS,
                          check_params_cb=lambda mask: mask is not None):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=view.mapFromScene(QPointF(16.5, 16.5)))
    candidate = window.sam_tool.candidate
    expected = SamSegmenter(load_sam(sam_path, "cpu"))
    expected.set_image(window.session.doc.aligned)
    assert np.array_equal(candidate > 0.5, expected.predict([(16.0, 16.0)], [1]).mask)
    window.sam_tool.new_chunk_action.trigger()
    chunk = window.session.doc.chunks[-1]
    assert np.array_equal(chunk.mask, candidate) and window.session.selected is chunk
    assert window.sam_tool.candidate is None  # the clicks were used up
    window.ask_unsaved_changes = lambda: "discard"
    window.close()


def test_stop_keeps_a_partial_result_and_continue_resumes(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    window.session.chunk_set.add(np.ones((32, 32), np.float32), name="all")
    panel = window.inversion_panel
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.steps.setValue(100_000)
    progressed = []
    task = window.inversion.run(panel.settings(), "l2", 0)
    task.progress.connect(lambda update: progressed.append(update.progress.step))
    qtbot.waitUntil(lambda: len(progressed) >= 3, timeout=WAIT_MS)
    assert panel.stop_button.isEnabled()
    qtbot.mouseClick(panel.stop_button, Qt.MouseButton.LeftButton)
    finish(qtbot, task)
    chunk = window.session.doc.chunks[0]
    steps = window.session.doc.inversion["metrics"]["steps"]
    assert chunk.code is not None and 3 <= steps < 100_000
    assert window.session.doc.history.labels[-1] == "Inversion (stopped)"
    assert "Stopped" in panel.metrics.text() and panel.continue_button.isEnabled()

    first_code = chunk.code.copy()
    panel.steps.setValue(5)
    qtbot.mouseClick(panel.continue_button, Qt.MouseButton.LeftButton)
    finish(qtbot, window.inversion.task)
    assert window.session.doc.inversion["metrics"]["steps"] == 5
    assert not np.array_equal(chunk.code, first_code)
    window.undo()
    assert np.array_equal(chunk.code, first_code)  # one undo step per run
    window.ask_unsaved_changes = lambda: "discard"
    window.close()


def test_hair_transfer_blend_and_open_as_project(qtbot, tmp_path, photo):
    window = make_window(qtbot, tmp_path)
    open_photo(qtbot, window, photo)
    doc = window.session.doc
    hair = np.zeros((32, 32), np.float32)
    hair[:9, 4:28] = 1  # above the forehead
    window.session.chunk_set.add(hair, name="hair")
    flipped = tmp_path / "hair_photo.png"  # the same person, mirrored: a different photo
    Image.fromarray(skimage.data.astronaut()[:, ::-1].copy()).save(flipped)
    mask_b = tmp_path / "hair_b.png"
    Image.fromarray((hair * 255).astype(np.uint8)).save(mask_b)
    panel = window.hair_panel
    panel.set_hair_photo(flipped)
    panel.set_hair_mask(mask_b)
    panel.steps.setValue(4)
    panel.refine_steps.setValue(2)
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.pose_match.setChecked(False)
    assert panel.run_button.isEnabled()
    qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    task = window.hair.task
    assert task is not None and panel.stop_button.isEnabled()
    finish(qtbot, task)
    outcome = window.hair.outcome
    assert outcome is not None, window.message_bar.text()
    assert np.array_equal(canvas_image(window), outcome.result.output)
    assert panel.blend.isEnabled() and panel.apply_button.isEnabled()
    assert outcome.full_photo.shape == (512, 512, 3)

    # The blend slider renders A's own hair at 0.
    panel.blend.setValue(0)
    from core.models.loaded import LoadedModels
    from core.workflows import hair_blend  # results hold no generator: render with a copy

    start = hair_blend(LoadedModels(window.settings.model_choice()), outcome.result, 0.0)
    qtbot.waitUntil(lambda: np.array_equal(canvas_image(window), start), timeout=WAIT_MS)
    assert len(doc.history) == 1  # only the painted chunk: the project was not changed

    window.ask_unsaved_changes = lambda: "discard"
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        panel.apply_button.click()
    new = window.session
    assert new.dirty and new.path is None and "hair" in [c.name for c in new.doc.chunks]
    assert all(c.code is not None for c in new.doc.chunks)
    qtbot.waitUntil(lambda: window.preview.last_result is not None, timeout=WAIT_MS)
    window.close()
