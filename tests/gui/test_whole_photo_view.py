"""Whole Photo shows the edit pasted back into the photo, as "Export full photo" writes it:
rendered on the GPU worker (tiny generator, real threads), again after each edit is made
(not on every drag tick), latest wins; the canvas stretches a smaller copy over the
photo's frame and says what it shows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core import workflows
from core.models.loaded import LoadedModels, ModelChoice
from core.project import Document
from semedit_gui.canvas import CanvasView
from semedit_gui.controllers.photo_view import (
    EXPORTED,
    LABELS,
    RENDERING,
    UNEDITED,
    PhotoViewController,
)
from semedit_gui.settings import AppSettings
from tests.core.test_full_photo_preview import PHOTO_H, PHOTO_W, inverted_document
from tests.gui.controller_fixtures import GEN, WAIT_MS, controller_stack
from tests.gui.test_editor_workflow import make_window

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FACE = slice(16, 80)  # the photo columns of the aligned square (rows: all of them)


def photo_of(doc: Document) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(doc.photo_bytes)).convert("RGB"))


def wait_shown(qtbot, controller: PhotoViewController, renders: int) -> None:
    """Until render number `renders` is shown (the controller's newest)."""
    qtbot.waitUntil(lambda: controller.renders == renders and not controller.rendering
                    and controller.view is not None and controller.view.state != RENDERING,
                    timeout=WAIT_MS)


@pytest.fixture
def rig(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as (registry, documents):
        controller = PhotoViewController(registry, documents, parent=registry.parent())
        views: list = []
        controller.view_changed.connect(views.append)
        messages: list = []
        controller.message.connect(lambda text, error: messages.append(text))
        yield controller, documents, views, messages
        controller.set_active(False)


def test_whole_photo_shows_the_edit_pasted_back_and_follows_later_edits(rig, qtbot, tmp_path):
    controller, documents, views, _messages = rig
    session = documents.adopt(inverted_document())
    stacks, chunk = session.edit_stacks, session.doc.chunks[0]
    stacks.add(chunk, "pc0", 3.0)
    photo = photo_of(session.doc)

    assert controller.set_active(True)
    first = views[0]  # at once, before the worker answers: the original, outlined
    assert first.state == RENDERING and first.label == LABELS[RENDERING]
    np.testing.assert_array_equal(first.image, photo)
    assert first.photo_size == (PHOTO_W, PHOTO_H) and first.quad.shape == (4, 2)
    wait_shown(qtbot, controller, 1)
    shown = controller.view
    assert shown.state == EXPORTED and shown.label == "Whole photo — as exported"
    assert shown.image.shape == photo.shape
    assert (shown.image[:, FACE] != photo[:, FACE]).any()  # the edit, inside the face
    np.testing.assert_array_equal(shown.image[:, :FACE.start], photo[:, :FACE.start])
    np.testing.assert_array_equal(shown.image[:, FACE.stop:], photo[:, FACE.stop:])
    # The very pixels a full-photo export writes.
    models = LoadedModels(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                      device="cpu"))
    exported = workflows.run(workflows.render_full_photo(models, session.doc.snapshot()))
    np.testing.assert_array_equal(shown.image, exported.image)

    # A slider drag renders nothing until its release; the release renders once.
    stacks.begin_drag()
    for value in (2.0, 0.5, -1.0, -3.0):
        stacks.set_strength(chunk, 0, value)
    qtbot.wait(200)
    assert controller.renders == 1 and controller.view is shown
    before_release = len(views)
    stacks.end_drag()
    wait_shown(qtbot, controller, 2)
    meanwhile, after_drag = views[before_release:]
    assert meanwhile.state == RENDERING and meanwhile.label == LABELS[RENDERING]
    np.testing.assert_array_equal(meanwhile.image, shown.image)  # the last render, meanwhile
    assert after_drag.state == EXPORTED
    assert (after_drag.image[:, FACE] != shown.image[:, FACE]).any()
    np.testing.assert_array_equal(after_drag.image[:, :FACE.start], photo[:, :FACE.start])

    # Undo brings back the first edit's pixels, rendered again.
    session.doc.history.undo()  # the edit, then the history: one render for both
    wait_shown(qtbot, controller, 3)
    qtbot.wait(50)
    assert controller.renders == 3
    np.testing.assert_array_equal(controller.view.image, shown.image)


def test_the_newest_edit_wins_and_leaving_drops_pending_results(rig, qtbot):
    controller, documents, views, _messages = rig
    session = documents.adopt(inverted_document())
    stacks, chunk = session.edit_stacks, session.doc.chunks[0]
    stacks.add(chunk, "pc0", 3.0)
    assert controller.set_active(True)
    stacks.set_strength(chunk, 0, -3.0)
    controller.refresh()  # at once, before the first render could come back
    assert controller.renders == 2
    wait_shown(qtbot, controller, 2)
    exported = [v for v in views if v.state == EXPORTED]
    assert len(exported) == 1  # the first state's render, stopped or finished, is dropped
    only = exported[0].image

    stacks.set_strength(chunk, 0, 3.0)
    controller.refresh()  # a render starts...
    assert controller.rendering
    controller.set_active(False)  # ...and the view is left before it returns
    assert views[-1] is None and controller.view is None
    count = len(views)
    qtbot.waitUntil(lambda: controller.registry.idle, timeout=WAIT_MS)
    qtbot.wait(50)
    assert len(views) == count  # nothing shown after leaving
    # An unchanged state again: the same pixels as before.
    stacks.set_strength(chunk, 0, -3.0)
    assert controller.set_active(True)  # back on: the original until the render is in
    assert controller.view.state == RENDERING
    np.testing.assert_array_equal(controller.view.image, photo_of(session.doc))
    wait_shown(qtbot, controller, 4)
    np.testing.assert_array_equal(controller.view.image, only)


def test_nothing_inverted_shows_the_original_and_no_photo_is_refused(rig, qtbot):
    controller, documents, views, messages = rig
    base = inverted_document()
    doc = Document(aligned=base.aligned, photo_bytes=base.photo_bytes, photo_name="photo.png",
                   transform=base.transform)
    doc.add_chunk(base.chunks[0].mask, name="face")  # painted, not inverted
    documents.adopt(doc)
    assert controller.set_active(True)
    assert controller.view.state == UNEDITED and controller.renders == 0
    assert controller.view.label == "Whole photo — nothing edited yet"
    np.testing.assert_array_equal(controller.view.image, photo_of(doc))

    documents.adopt(Document(aligned=base.aligned))  # a new document ends the view
    assert views[-1] is None and not controller.active
    assert not controller.set_active(True)
    assert messages == ["This project holds no original photo."]
    assert controller.view is None


def test_a_huge_photo_is_shown_smaller_over_the_photo_frame(rig, qtbot):
    controller, documents, _views, _messages = rig
    controller.max_side = 48
    session = documents.adopt(inverted_document())
    session.edit_stacks.add(session.doc.chunks[0], "pc0", 3.0)
    assert controller.set_active(True)
    wait_shown(qtbot, controller, 1)
    view = controller.view
    assert view.image.shape == (32, 48, 3) and view.photo_size == (96, 64)
    assert view.label == ("Whole photo — as exported (shown at 48×32 of 96×64; the export "
                          "is full size)")

    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show_photo_view(view)
    assert canvas.photo_view_active and canvas.photo_view_label == view.label
    rect = canvas.scene().sceneRect()
    assert (rect.width(), rect.height()) == (96, 64)  # scene units stay photo pixels
    np.testing.assert_array_equal(canvas.photo_view_image, view.image)
    mapped = canvas.layers.photo.mapRectToScene(canvas.layers.photo.boundingRect())
    assert (mapped.width(), mapped.height()) == (96, 64)
    assert canvas.layers.quad.isVisible()
    canvas.set_overlays_visible(False)  # the outline follows Chunk Overlays
    assert not canvas.layers.quad.isVisible()
    canvas.set_overlays_visible(True)
    assert canvas.layers.quad.isVisible()
    canvas.show_photo_view(None)
    assert not canvas.photo_view_active and canvas.photo_view_label == ""
    assert not canvas.layers.quad.isVisible()


def test_the_window_action_shows_the_pasted_back_photo_and_says_so(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    session = window.documents.adopt(inverted_document())
    session.edit_stacks.add(session.doc.chunks[0], "pc0", 3.0)
    photo = photo_of(session.doc)
    action, canvas = window.commands.photo_view, window.canvas
    action.trigger()
    assert canvas.photo_view_active and action.isChecked()
    assert canvas.photo_view_label == LABELS[RENDERING]
    qtbot.waitUntil(lambda: canvas.photo_view_label == LABELS[EXPORTED], timeout=WAIT_MS)
    shown = canvas.photo_view_image
    assert shown.shape == photo.shape and (shown[:, FACE] != photo[:, FACE]).any()
    np.testing.assert_array_equal(shown[:, :FACE.start], photo[:, :FACE.start])
    renders = window.commands.whole_photo.renders
    window.apply_settings(AppSettings(**{**window.settings.__dict__, "precision": "fp32"}))
    assert window.commands.whole_photo.renders == renders + 1  # another precision: again
    qtbot.waitUntil(lambda: canvas.photo_view_label == LABELS[EXPORTED], timeout=WAIT_MS)
    action.trigger()  # off: the aligned crop again, no words over it
    assert not canvas.photo_view_active and canvas.photo_view_label == ""

    window.documents.adopt(Document(aligned=session.doc.aligned))  # no photo inside
    action.trigger()
    assert not action.isChecked() and not canvas.photo_view_active
    assert window.statusBar().currentMessage() == "This project holds no original photo."
    window.close_discarding()
    qtbot.waitUntil(lambda: not window.jobs.threads_running, timeout=WAIT_MS)
