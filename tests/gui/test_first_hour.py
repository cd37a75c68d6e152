"""The dead ends a new user met in the first hour, each walked through in the real window
(offscreen, a tiny generator on the CPU): a photo without a face, a photo with several."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QPointF, Qt

from semedit_gui.dialogs.face_dialog import face_at, square_from_drag
from tests.gui.test_editor_workflow import WAIT_MS, finish, make_window

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def lanczos_crop(path: Path, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    with Image.open(path) as image:
        crop = image.convert("RGB").crop(box)
    return np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS))


def wait_face_dialog(qtbot, window, path: Path):
    finish(qtbot, window.open_path(path))
    qtbot.waitUntil(lambda: window.face_dialog is not None, timeout=WAIT_MS)
    dialog = window.face_dialog
    qtbot.waitExposed(dialog)
    return dialog


def drag_in(qtbot, view, start: tuple[float, float], end: tuple[float, float]) -> None:
    viewport = view.viewport()
    a, b = view.mapFromScene(QPointF(*start)), view.mapFromScene(QPointF(*end))
    middle = (a + b) / 2
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(viewport, middle)
    qtbot.mouseMove(viewport, b)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=b)


def test_square_from_a_drag_stays_in_the_photo():
    assert square_from_drag((10, 20), (110, 60), (400, 300)) == (10, 20, 100)
    assert square_from_drag((300, 200), (250, 50), (400, 300)) == (150, 50, 150)
    # Dragged past the edge: the largest square that fits from the start point.
    assert square_from_drag((350, 100), (500, 200), (400, 300)) == (350, 100, 50)
    assert square_from_drag((10, 10), (14, 12), (400, 300)) is None  # a click
    assert face_at((50, 50), [(0, 0, 100, 100), (40, 40, 60, 60)]) == 1
    assert face_at((150, 50), [(0, 0, 100, 100)]) is None


def test_no_face_whole_image(qtbot, tmp_path, coffee):
    window = make_window(qtbot, tmp_path)
    dialog = wait_face_dialog(qtbot, window, coffee)
    assert window.session is None and "No face was found" in dialog.intro.text()
    assert not dialog.use_button.isEnabled()  # nothing placed yet
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        dialog.whole_button.click()
    doc = window.session.doc
    width, height = 600, 400  # coffee: the centred 400² square
    box = ((width - height) // 2, 0, (width + height) // 2, height)
    assert doc.transform["crop_box"] == list(box) or tuple(doc.transform["crop_box"]) == box
    assert np.array_equal(doc.aligned, lanczos_crop(coffee, box, doc.resolution))
    assert window.face_dialog is None
    window.close_discarding()


def test_no_face_place_a_square_by_hand(qtbot, tmp_path, coffee):
    window = make_window(qtbot, tmp_path)
    dialog = wait_face_dialog(qtbot, window, coffee)
    drag_in(qtbot, dialog.view, (150, 60), (330, 200))
    assert dialog.square is not None and dialog.use_button.isEnabled()
    x0, y0, side = dialog.square
    # The view is scaled to fit: a screen pixel is ~1.5 photo pixels here.
    assert abs(x0 - 150) <= 3 and abs(y0 - 60) <= 3 and abs(side - 180) <= 4
    assert f"{side}×{side}" in dialog.status.text()
    shots = os.environ.get("SEMEDIT_TUTORIAL_SHOTS")  # the README's picture of it
    if shots:
        dialog.grab().save(str(Path(shots) / "no-face-square.png"))
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        dialog.use_button.click()
    doc = window.session.doc
    assert tuple(doc.transform["crop_box"]) == (x0, y0, x0 + side, y0 + side)
    assert np.array_equal(doc.aligned, lanczos_crop(coffee, (x0, y0, x0 + side, y0 + side),
                                                    doc.resolution))
    assert "square you placed" in window.statusBar().currentMessage()
    window.close_discarding()


def test_choose_another_face_of_a_group_photo(qtbot, tmp_path):
    astronaut = skimage.data.astronaut()
    small = np.asarray(Image.fromarray(astronaut).resize((320, 320)))
    group = np.zeros((512, 512 + 320, 3), np.uint8)
    group[:, :512] = astronaut
    group[96:416, 512:] = small
    path = tmp_path / "two.png"
    Image.fromarray(group).save(path)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(path)
    session = window.session
    count = len(session.face_boxes)  # the two astronauts, not the badge (a weak detection)
    right_face = [i for i, box in enumerate(session.face_boxes) if box[0] >= 512]
    assert count == 2 and len(right_face) == 1
    assert f"{count} faces" in window.statusBar().currentMessage()
    first = session.doc.aligned.copy()
    window.commands.choose_face.trigger()
    dialog = window.face_dialog
    qtbot.waitExposed(dialog)
    left, top, right, bottom = session.face_boxes[right_face[0]]
    centre = ((left + right) / 2, (top + bottom) / 2)
    drag_in(qtbot, dialog.view, centre, centre)  # a click on the face
    assert dialog.selected_face == right_face[0]
    assert dialog.use_button.text() == f"Use Face {right_face[0] + 1}"
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        dialog.use_button.click()
    doc = window.session.doc
    assert doc.transform["method"] == "ffhq"
    quad = np.array(doc.transform["quad"])
    assert quad[:, 0].mean() > 512  # aligned around the right-hand face
    assert not np.array_equal(doc.aligned, first)
    window.close_discarding()


def paint(qtbot, canvas, points: list[tuple[float, float]]) -> None:
    viewport = canvas.viewport()
    screen = [canvas.mapFromScene(QPointF(x + 0.5, y + 0.5)) for x, y in points]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=screen[0])
    for point in screen[1:]:
        qtbot.mouseMove(viewport, point)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=screen[-1])


def test_paint_the_hair_photos_mask_in_the_app(qtbot, tmp_path, monkeypatch):
    from semedit_gui.dialogs import ModelManagerDialog

    offers = []
    monkeypatch.setattr(ModelManagerDialog, "offer", staticmethod(
        lambda parent, store, asset, reason, **_options: offers.append(asset)))
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    flipped = tmp_path / "hair_photo.png"
    Image.fromarray(skimage.data.astronaut()[:, ::-1].copy()).save(flipped)
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"  # a failing test must not hang on close
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(photo)
    hair_a = np.zeros((32, 32), np.float32)
    hair_a[:9, 4:28] = 1
    window.session.chunk_set.add(hair_a, name="hair")
    panel = window.hair_panel
    panel.set_hair_photo(flipped)
    panel.steps.setValue(4)
    panel.refine_steps.setValue(2)
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.pose_match.setChecked(False)

    # Without its hair (no Segment Anything here) the transfer cannot start, and says why.
    assert not panel.run_button.isEnabled()
    assert "Paint its hair" in panel.blocker_label.text()  # the app's way, not a CLI flag

    assert panel.paint_button.isEnabled()
    panel.paint_button.click()
    qtbot.waitUntil(lambda: window.hair_mask_dialog is not None, timeout=WAIT_MS)
    dialog = window.hair_mask_dialog
    qtbot.waitExposed(dialog)
    assert dialog.session.doc.aligned.shape == (32, 32, 3)
    assert float(dialog.mask().max()) == 0  # nothing found: the user paints
    assert window.session.doc.photo_name == "astronaut.png"  # the project is untouched
    dialog.use_button.click()  # an empty mask is refused with a sentence
    assert dialog.isVisible() and "empty" in dialog.status.text()
    for row in (2, 4, 6):
        paint(qtbot, dialog.canvas, [(4, row), (16, row), (28, row)])
    painted = dialog.mask()
    assert painted[2:7, 6:26].mean() > 0.5 and painted[16:].max() == 0
    dialog.use_button.click()
    qtbot.waitUntil(lambda: window.hair_mask_dialog is None, timeout=WAIT_MS)
    assert np.array_equal(panel.hair_mask_b, painted)
    assert "painted here" in panel.mask_label.text()

    panel.run_button.click()
    finish(qtbot, window.hair.task)
    assert window.hair.outcome is not None, window.message_bar.text()
    assert "canvas shows the hair transfer" in window.statusBar().currentMessage()
    panel.set_hair_photo(photo)  # another hair photo: the painted mask was for the old one
    assert panel.hair_mask_b is None
    window.close_discarding()


def test_the_hair_result_keeps_the_edits(qtbot, tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    flipped = tmp_path / "hair_photo.png"
    Image.fromarray(skimage.data.astronaut()[:, ::-1].copy()).save(flipped)
    hair = np.zeros((32, 32), np.float32)
    hair[:9, 4:28] = 1
    mask_b = tmp_path / "hair_b.png"
    Image.fromarray((hair * 255).astype(np.uint8)).save(mask_b)
    mouth = np.zeros((32, 32), np.float32)
    mouth[20:25, 11:21] = 1
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(photo)
    session = window.session
    session.chunk_set.add(hair, name="hair")
    session.chunk_set.add(mouth, name="mouth")
    session.edit_stacks.add("mouth", "pc0", 2.5)  # the mouth edit the issue saw vanish
    session.edit_stacks.add("hair", "pc1", 1.0)  # the new hair replaces this one
    panel = window.hair_panel
    panel.set_hair_photo(flipped)
    panel.set_hair_mask(mask_b)
    panel.steps.setValue(4)
    panel.refine_steps.setValue(2)
    panel.loss.setCurrentIndex(panel.loss.findData("l2"))
    panel.pose_match.setChecked(False)
    panel.run_button.click()
    # What the canvas shows is said, and the project's chunk outlines are not on it.
    from semedit_gui.window.actions import HAIR_ON_CANVAS

    assert window.statusBar().currentMessage() == HAIR_ON_CANVAS
    assert not window.canvas.layers.chunks_visible
    finish(qtbot, window.hair.task)
    assert window.hair.outcome is not None, window.message_bar.text()
    assert not window.canvas.layers.chunks_visible
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        panel.apply_button.click()
    assert window.canvas.layers.chunks_visible
    result = window.session.doc
    assert [(e.direction, e.strength) for e in result.chunk("mouth").edits] == [("pc0", 2.5)]
    assert result.chunk("hair").edits == []
    assert "edits of 'mouth' are kept" in window.statusBar().currentMessage()
    assert "edits of 'hair' were not carried" in window.message_bar.text()
    window.close_discarding()


def test_default_save_and_export_folders(qtbot, tmp_path, monkeypatch):
    from core.project import Document
    from semedit_gui.welcome import sample_photo

    documents, pictures = tmp_path / "Documents", tmp_path / "Pictures"
    documents.mkdir()
    pictures.mkdir()
    monkeypatch.setenv("XDG_DOCUMENTS_DIR", str(documents))
    monkeypatch.setenv("XDG_PICTURES_DIR", str(pictures))
    window = make_window(qtbot, tmp_path)
    asked = []
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    window.ask_save_path = lambda suggested: asked.append(suggested) or elsewhere / "mine.semedit"
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(sample_photo())  # it lives in the program's own folder
    docs = window.documents
    assert docs.default_export_path() == pictures / "astronaut-edited.png"
    window.session.chunk_set.add(None, name="face")
    assert docs.save_as(blocking=True)
    assert asked == [documents / "astronaut.semedit"]
    assert (elsewhere / "mine.semedit").is_file()
    # After "Save as" elsewhere, Export and Save As start where the project now is.
    assert docs.default_export_path() == elsewhere / "mine-edited.png"
    assert docs.default_save_path() == elsewhere / "mine.semedit"

    # A new unsaved project (a hair result) proposes its own name, in the folder last
    # saved in.
    doc = Document(aligned=np.zeros((32, 32, 3), np.uint8), photo_name="astronaut-hair.png")
    docs.adopt(doc, unsaved_copy=True)
    assert docs.default_save_path() == elsewhere / "astronaut-hair.semedit"

    # A photo of the user's own opens next to itself.
    own = tmp_path / "mine" / "portrait.png"
    own.parent.mkdir()
    Image.fromarray(skimage.data.astronaut()).save(own)
    window.ask_unsaved_changes = lambda: "discard"
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(own)
    assert docs.default_save_path() == own.parent / "portrait.semedit"
    assert docs.default_export_path() == own.parent / "portrait-edited.png"
    window.close_discarding()


def test_hair_figures_are_sentences_with_units():
    from semedit_gui.controllers.hair import describe_hair_metrics

    text = describe_hair_metrics({
        "identity_to_a": 0.0812, "identity_to_b": 0.4, "hair_lpips": 0.2113,
        "outside_lpips": 0.02, "outside_l2": 0.00123, "hair_area": 0.184,
        "steps": {"inversion": 30, "refine": 10}, "seconds": 29.71})
    assert text.startswith("Done in 29.7 s (30 inversion steps per photo, 10 refinement")
    assert "Identity distance to your photo: 0.08" in text and "0.21 LPIPS" in text
    assert "covers 18% of the face crop" in text
    assert "{" not in text and "_" not in text  # no raw dicts or metric keys
    # Without a face model the identity figure is left out, not shown as None.
    assert "Identity" not in describe_hair_metrics({"identity_to_a": None, "seconds": 1.0})


def test_an_empty_selection_offers_no_chunk_and_job_messages_clear(qtbot, tmp_path):
    from types import SimpleNamespace

    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    window = make_window(qtbot, tmp_path)
    window.ask_unsaved_changes = lambda: "discard"
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(photo)
    session, selection = window.session, window.selection
    selection._predicted(session, SimpleNamespace(mask=np.zeros((32, 32), bool)))
    assert selection.candidate is None
    assert not window.sam_tool.new_chunk_action.isEnabled()
    assert "selected nothing" in window.statusBar().currentMessage()
    selection.candidate = np.zeros((32, 32), np.float32)  # even if one slipped through
    selection.new_chunk()
    assert session.doc.chunks == []
    found = np.zeros((32, 32), bool)
    found[10:20, 10:20] = True
    selection._predicted(session, SimpleNamespace(mask=found))
    assert window.sam_tool.new_chunk_action.isEnabled()

    # "Saving x…" does not outlive the save.
    session.chunk_set.add(found.astype(np.float32), name="face")
    target = tmp_path / "saved.semedit"
    task = window.documents.save_to(target)
    assert window.statusBar().currentMessage() == "Saving saved.semedit…"
    finish(qtbot, task)
    assert window.statusBar().currentMessage() == "Saved saved.semedit."
    task = window.jobs.submit("probe", "Thinking", lambda models, task: None, files=True)
    finish(qtbot, task)
    assert window.statusBar().currentMessage() == ""
    window.close_discarding()


def test_docks_take_no_space_before_a_photo_is_open(qtbot, tmp_path, coffee):
    window = make_window(qtbot, tmp_path)
    assert all(dock.isHidden() for dock in window.docks.values())
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.documents.open_photo(coffee, align=False)
    assert all(dock.isVisible() for dock in window.docks.values())
    window.docks["Hair"].close()  # the user closes one: it stays closed
    assert window.documents.close_document()
    assert all(dock.isHidden() for dock in window.docks.values())
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.documents.open_photo(coffee, align=False)
    assert window.docks["Hair"].isHidden() and window.docks["Chunks"].isVisible()
    window.close_discarding()


def test_view_modes_are_exclusive(qtbot, tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.open_path(photo)
    c, canvas = window.commands, window.canvas
    c.before_after.trigger()
    assert canvas.show_before
    c.split.trigger()
    assert canvas.split == 0.5 and not canvas.show_before and not c.before_after.isChecked()
    # The halves are labelled, left and right of the divider, at any zoom.
    before, after = canvas.layers.split_labels
    assert (before.text(), after.text()) == ("Before", "After") and before.isVisible()
    divider_x = canvas.mapFromScene(canvas.layers.divider.line().p1()).x()
    for zoom in (canvas.zoom_actual, canvas.zoom_in):
        zoom()
        places = [label.deviceTransform(canvas.viewportTransform()).map(QPointF(0, 0)).x()
                  for label in (before, after)]
        divider_x = canvas.mapFromScene(canvas.layers.divider.line().p1()).x()
        assert places[0] + before.boundingRect().width() < divider_x < places[1]
    c.difference.trigger()
    assert canvas.split is None and window.preview.mode == "difference"
    c.photo_view.trigger()
    assert canvas.photo_view_active and window.preview.mode == "edited"
    c.photo_view.trigger()  # and none at all
    assert not canvas.photo_view_active and c.view_modes.checkedAction() is None
    window.close_discarding()


def test_the_brush_scales_with_the_image_and_shows_its_screen_size(qtbot, tmp_path, coffee):
    from semedit_gui.brush_bar import BrushBar

    window = make_window(qtbot, tmp_path)
    canvas = window.canvas
    assert canvas.brush.size == 32  # meant for a 1024² image
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.documents.open_photo(coffee, align=False)
    assert window.session.doc.resolution == 32 and canvas.brush.size == 1  # 32 × 32/1024
    bar = window.findChild(BrushBar)
    assert bar.size.value() == 1
    canvas.zoom_actual()
    canvas.set_brush(replace(canvas.brush, size=4.0))
    assert bar.on_screen.text() == "= 4 px on screen"
    canvas.zoom_in()
    zoom = canvas.zoom_factor
    assert zoom > 1 and bar.on_screen.text() == f"= {4 * zoom:.0f} px on screen"
    window.close_discarding()


def test_help_lists_the_shortcuts_and_the_models_with_their_licences(qtbot, tmp_path):
    from semedit_gui.dialogs.help_dialogs import ShortcutsDialog, about_text, shortcut_rows

    window = make_window(qtbot, tmp_path, sam="sam-vit-b")
    rows = dict(shortcut_rows(window))
    assert rows["Auto Chunks"] == "Ctrl+Shift+A" and rows["Brush"] == "P"
    assert rows["Keyboard Shortcuts"] == "Ctrl+/"
    dialog = ShortcutsDialog(window)
    assert dialog.table.rowCount() == len(rows)
    dialog.deleteLater()
    text = about_text(window.settings)
    assert "sam-vit-b (licence: Apache-2.0)" in text
    assert "vgg16-imagenet (licence: BSD-3-Clause)" in text
    assert f"your file {window.settings.generator}" in text  # a file chosen in Preferences
    window.close_discarding()


def test_window_size_and_docks_come_back_after_a_restart(qtbot, tmp_path, coffee):
    from semedit_gui.main_window import MainWindow
    from semedit_gui.settings import AppSettings

    window = make_window(qtbot, tmp_path)
    window.resize(700, 560)  # inside the offscreen screen, which clamps restored sizes
    with qtbot.waitSignal(window.document_opened, timeout=WAIT_MS):
        window.documents.open_photo(coffee, align=False)
    window.docks["History"].close()
    window.removeDockWidget(window.docks["Hair"])
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.docks["Hair"])
    window.docks["Hair"].show()
    size = (window.width(), window.height())
    window.close_discarding()

    settings, problems = AppSettings.load(tmp_path / "settings.json")
    assert not problems and settings.window_state and settings.window_geometry
    second = MainWindow(settings, settings_path=tmp_path / "settings.json")
    qtbot.addWidget(second)
    second.show()
    # The width comes back (the default is 1400); the offscreen screen clamps the height.
    assert second.width() == size[0] == 700
    assert all(dock.isHidden() for dock in second.docks.values())  # no photo yet
    with qtbot.waitSignal(second.document_opened, timeout=WAIT_MS):
        second.documents.open_photo(coffee, align=False)
    assert second.docks["History"].isHidden() and second.docks["Chunks"].isVisible()
    assert second.dockWidgetArea(second.docks["Hair"]) == Qt.DockWidgetArea.LeftDockWidgetArea
    second.close_discarding()
