"""The Hair panel as an artist meets it (issue #19, screenshots 80-102): which chunk is
your hair, what is missing before Transfer (with Segment Anything's download), a fresh
panel for each document, the hair photo's face, a dock that keeps its width, and file
dialogs that start where the window's Open does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QObject, Signal

from semedit_gui.controllers.hair import transfer_blocker
from tests.gui.test_editor_workflow import WAIT_MS, finish, make_window
from tests.gui.test_first_hour import drag_in

pytestmark = pytest.mark.usefixtures("one_torch_thread")

CLI_WORDS = ("--", "semedit ", "pass it")


@pytest.fixture
def photos(tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "astronaut.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(folder / "hair_photo.png")
    return folder / "astronaut.png", folder / "hair_photo.png"


def hair_band() -> np.ndarray:
    mask = np.zeros((32, 32), np.float32)
    mask[:9, 4:28] = 1  # above the forehead
    return mask


def open_in(qtbot, window, photo: Path) -> None:
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(photo)


def quick_settings(panel) -> None:
    panel.steps.setValue(3)
    panel.refine_steps.setValue(2)
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.pose_match.setChecked(False)


def test_what_blocks_a_transfer_is_said_in_the_apps_words():
    both = transfer_blocker(has_hair_photo=True, hair_chunk=None, has_hair_mask=False,
                            sam_installed=False)
    assert "No hair chunk and no painted hair" in both
    assert "“This photo's hair”" in both and "Paint its hair…" in both
    assert "download Segment Anything" in both
    assert not any(word in both for word in CLI_WORDS)
    unchosen = transfer_blocker(has_hair_photo=False, hair_chunk=None, has_hair_mask=False,
                                sam_installed=False, has_chunks=True)
    assert unchosen.startswith("No chunk chosen as this photo's hair")
    assert "choose the chunk that is your hair" in unchosen
    mine = transfer_blocker(has_hair_photo=True, hair_chunk="my curls", has_hair_mask=False,
                            sam_installed=False)
    assert mine.startswith("No painted hair for the hair photo")
    assert "Paint its hair…" in mine and "This photo's hair" not in mine
    # Before a hair photo is chosen only your own hair is judged.
    assert "Paint its hair" not in transfer_blocker(
        has_hair_photo=False, hair_chunk=None, has_hair_mask=False, sam_installed=False)
    assert transfer_blocker(has_hair_photo=False, hair_chunk="x", has_hair_mask=False,
                            sam_installed=False) is None
    assert transfer_blocker(has_hair_photo=True, hair_chunk="x", has_hair_mask=True,
                            sam_installed=False) is None
    assert transfer_blocker(has_hair_photo=True, hair_chunk=None, has_hair_mask=False,
                            sam_installed=True) is None


def test_a_painted_chunk_of_any_name_is_your_hair_without_segment_anything(
        qtbot, tmp_path, photos, monkeypatch):
    photo, hair_photo = photos
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    panel = window.hair_panel
    open_in(qtbot, window, photo)
    quick_settings(panel)
    # No chunk, no Segment Anything: Transfer is off and the panel says why and offers it.
    assert panel.hair_chunk.count() == 1 and panel.hair_chunk_name is None
    assert not panel.run_button.isEnabled()
    assert panel.blocker_label.isVisible() and "No hair chunk" in panel.blocker_label.text()
    assert panel.download_button.isVisible()
    assert not any(word in panel.blocker_label.text() for word in CLI_WORDS)

    mine = hair_band()
    window.session.chunk_set.add(mine, name="my curls")
    assert [panel.hair_chunk.itemText(i) for i in range(panel.hair_chunk.count())] == [
        "found automatically", "chunk: my curls"]
    assert panel.hair_chunk_name is None  # not called hair: the user says which it is
    assert "No chunk chosen as this photo's hair" in panel.blocker_label.text()
    panel.hair_chunk.setCurrentIndex(panel.hair_chunk.findData("my curls"))
    assert not panel.blocker_label.isVisible() and not panel.download_button.isVisible()
    panel.set_hair_photo(hair_photo)
    assert not panel.run_button.isEnabled()  # the hair photo's hair is still missing
    assert "Paint its hair…" in panel.blocker_label.text()
    assert "This photo's hair" not in panel.blocker_label.text()
    panel.set_hair_mask(hair_band())  # as "Paint its hair…" gives it
    assert panel.run_button.isEnabled() and not panel.blocker_label.isVisible()
    window.session.chunk_set.add(1 - mine, name="hair")  # a new chunk keeps the choice
    assert panel.hair_chunk_name == "my curls"

    panel.run_button.click()
    finish(qtbot, window.hair.task)
    outcome = window.hair.outcome
    assert outcome is not None, window.message_bar.text()
    start = outcome.result.blend.mask_start  # your own hair: "my curls", not "hair"
    assert start[:9, 4:28].mean() > 0.9 and start[12:].max() == 0
    window.close_discarding()


def test_download_offer_then_found_automatically(qtbot, tmp_path, photos):
    from tests.sam_writers import write_tiny_sam

    window = make_window(qtbot, tmp_path)
    panel = window.hair_panel
    open_in(qtbot, window, photos[0])
    panel.set_hair_photo(photos[1])
    assert not panel.run_button.isEnabled()

    class Dialog(QObject):
        models_changed = Signal()

    asked, dialog = [], Dialog()
    window.models.download = lambda asset: asked.append(asset) or dialog
    panel.download_button.click()
    assert asked == ["sam-vit-b"]  # the app's download offer, as for other models
    window.settings.sam = str(write_tiny_sam(tmp_path / "sam_tiny.pth"))  # "downloaded"
    dialog.models_changed.emit()
    assert panel.run_button.isEnabled() and not panel.blocker_label.isVisible()
    assert panel.hair_chunk_name is None  # both photos' hair found automatically now
    window.close_discarding()


def test_a_model_installed_elsewhere_is_seen_when_the_window_is_back(qtbot, tmp_path, photos):
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from tests.sam_writers import write_tiny_sam

    window = make_window(qtbot, tmp_path)
    panel = window.hair_panel
    open_in(qtbot, window, photos[0])
    panel.set_hair_photo(photos[1])
    assert not panel.run_button.isEnabled()
    # e.g. chosen in Preferences or downloaded in the Model Manager, which then closes
    window.settings.sam = str(write_tiny_sam(tmp_path / "sam_tiny.pth"))
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))
    assert panel.run_button.isEnabled() and not panel.download_button.isVisible()
    window.close_discarding()


def test_the_panel_starts_afresh_for_each_document(qtbot, tmp_path, photos):
    photo, hair_photo = photos
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    panel = window.hair_panel
    open_in(qtbot, window, photo)
    window.session.chunk_set.add(hair_band(), name="hair")
    assert panel.hair_chunk_name == "hair"  # a chunk named hair is proposed
    panel.set_hair_photo(hair_photo)
    panel.set_hair_mask(hair_band())
    window.hair.progress.emit(0.0, "Aligning the photos 0/1")  # as a transfer begins
    assert panel.status.text() == "Aligning the photos 0/1"

    open_in(qtbot, window, hair_photo)  # another photo
    assert panel.hair_photo is None and panel.hair_mask_b is None
    assert panel.photo_label.text() == "No hair photo chosen."
    assert panel.mask_label.text() == "found automatically"
    assert panel.status.text() == "" and panel.progress.value() == 0
    assert panel.hair_chunk.count() == 1 and panel.hair_chunk_name is None  # its chunks
    assert not panel.run_button.isEnabled() and window.hair.outcome is None
    window.documents.close_document()
    assert panel.hair_photo is None and panel.hair_chunk.count() == 1
    window.close_discarding()


def test_the_hair_photos_face_can_be_chosen(qtbot, tmp_path, photos, monkeypatch):
    astronaut = skimage.data.astronaut()
    small = np.asarray(Image.fromarray(astronaut).resize((320, 320)))
    group = np.zeros((512, 512 + 320, 3), np.uint8)
    group[:, :512] = astronaut
    group[96:416, 512:] = small
    group_path = tmp_path / "two.png"
    Image.fromarray(group).save(group_path)
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    panel = window.hair_panel
    open_in(qtbot, window, photos[0])
    assert not panel.face_button.isVisible()
    panel.set_hair_photo(group_path)
    qtbot.waitUntil(lambda: len(panel.face_boxes_b) >= 2, timeout=WAIT_MS)
    boxes = panel.face_boxes_b
    assert panel.face_button.isVisible()
    assert panel.face_label.text() == f"face 1 of {len(boxes)} (the largest)"
    assert f"{len(boxes)} faces" in window.statusBar().currentMessage()
    right = [i for i, box in enumerate(boxes) if box[0] >= 512]
    assert len(right) == 1

    panel.face_button.click()  # the main photo's face picker
    dialog = window.face_dialog
    qtbot.waitExposed(dialog)
    left, top, right_edge, bottom = boxes[right[0]]
    centre = ((left + right_edge) / 2, (top + bottom) / 2)
    drag_in(qtbot, dialog.view, centre, centre)
    assert dialog.selected_face == right[0]
    dialog.use_button.click()
    assert panel.face_b == right[0]
    assert panel.face_label.text() == f"face {right[0] + 1} of {len(boxes)}"

    # "Paint its hair…" aligns that face, as the transfer will.
    panel.paint_button.click()
    qtbot.waitUntil(lambda: window.hair_mask_dialog is not None, timeout=WAIT_MS)
    painting = window.hair_mask_dialog
    quad = np.array(painting.session.doc.transform["quad"])
    assert quad[:, 0].mean() > 512
    painting.reject()
    qtbot.waitUntil(lambda: window.hair_mask_dialog is None, timeout=WAIT_MS)

    # The transfer takes that face's hair too.
    from semedit_gui.controllers import hair as hair_module

    faces_asked, real = [], hair_module.jobs.hair_transfer
    monkeypatch.setattr(hair_module.jobs, "hair_transfer", lambda *args, **kwargs: (
        faces_asked.append(kwargs["face_b"]) or real(*args, **kwargs)))
    window.session.chunk_set.add(hair_band(), name="hair")
    panel.set_hair_mask(hair_band())
    quick_settings(panel)
    panel.run_button.click()
    finish(qtbot, window.hair.task)
    assert faces_asked == [right[0]]
    assert window.hair.outcome is not None, window.message_bar.text()
    window.close_discarding()


def test_long_texts_wrap_and_dialogs_start_in_the_photos_folder(
        qtbot, tmp_path, photos, monkeypatch):
    from semedit_gui.panels import hair_panel

    window = make_window(qtbot, tmp_path)
    panel = window.hair_panel
    open_in(qtbot, window, photos[0])
    width = panel.minimumSizeHint().width()
    long_name = tmp_path / ("a-hair-mask-with-a-very-long-file-name-" * 4 + ".png")
    panel.set_hair_mask(long_name)
    panel.show_progress(1.0, "Done in 12.3 s (100 inversion steps per photo, 40 refinement "
                        "steps). Identity distance to your photo: 0.31 (under 0.6: the same "
                        "person). New hair vs. the hair photo's: 0.22 LPIPS.")
    assert panel.minimumSizeHint().width() <= width  # the dock keeps its width

    starts, answers = [], ["", ""]
    monkeypatch.setattr(hair_panel.QFileDialog, "getOpenFileName",
                        staticmethod(lambda _parent, _title, folder, _filter: (
                            starts.append(folder) or (answers.pop(0), ""))))
    panel.choose_button.click()
    panel.mask_button.click()
    from semedit_gui.window.folders import start_folder

    assert starts == [str(start_folder(window, "open"))] * 2
    assert starts[0] == str(photos[0].parent)  # the user's photo's own folder, not ""
    # A hair photo chosen elsewhere is where File ▸ Open starts next, as its own choices.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = elsewhere / "other.png"
    Image.fromarray(skimage.data.astronaut()).save(other)
    answers.append(str(other))
    panel.choose_button.click()
    assert panel.hair_photo == other and start_folder(window, "open") == elsewhere
    window.close_discarding()
