"""The image canvas: painting through the real mouse path, overlays, SAM prompts, compare
views, zoom and the whole-photo view (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication

from core.errors import InvalidInputError
from core.project import Document
from core.segment.brush import Brush
from core.segment.chunk_set import ChunkSetEvent
from semedit_gui.canvas import CanvasView
from semedit_gui.canvas.overlay import OUTLINE_ALPHA
from semedit_gui.session import EditorSession

R = 64
GREY = 100
RED = (255, 0, 0)
LEFT = Qt.MouseButton.LeftButton


def make_session(mask: np.ndarray | None = None, **chunk_options) -> EditorSession:
    doc = Document(aligned=np.full((R, R, 3), GREY, np.uint8))
    if mask is not None or chunk_options:
        doc.add_chunk(np.zeros((R, R), np.float32) if mask is None else mask, name="hair",
                      colour=RED, **chunk_options)
    return EditorSession(doc)


def at(view: CanvasView, x: float, y: float) -> QPoint:
    """The viewport position of scene point (x, y)."""
    return view.mapFromScene(QPointF(x, y))


def drag(qtbot, view, points, button=LEFT):
    viewport = view.viewport()
    qtbot.mousePress(viewport, button, pos=at(view, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(viewport, at(view, *point))
    qtbot.mouseRelease(viewport, button, pos=at(view, *points[-1]))


def click(qtbot, view, x, y, button=LEFT):
    qtbot.mouseClick(view.viewport(), button, pos=at(view, x, y))


def pixel(view, x, y) -> QColor:
    """The colour shown at the centre of image pixel (x, y)."""
    return view.viewport().grab().toImage().pixelColor(at(view, x + 0.5, y + 0.5))


def close(colour: QColor, rgb, tolerance=3) -> bool:
    return all(abs(a - b) <= tolerance
               for a, b in zip((colour.red(), colour.green(), colour.blue()), rgb, strict=True))


HORIZONTAL = [(x + 0.5, 32.5) for x in range(10, 51, 5)]


# ---------------------------------------------------------------------- painting


def test_brush_drag_paints_the_selected_chunk_as_one_undo_step(qtbot, view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_brush(Brush(size=6, hardness=1.0))
    drag(qtbot, view, HORIZONTAL)
    mask = session.doc.chunks[0].mask
    assert (mask[32, 11:50] > 0.99).all()  # the whole path, between the mouse points too
    assert mask[32, 3] == 0 and mask[10, 30] == 0 and mask[32, 58] == 0
    assert session.doc.history.labels == ["Brush stroke"]
    session.doc.history.undo()
    assert not mask.any()


def test_eraser_removes_paint(qtbot, view):
    session = make_session(np.ones((R, R), np.float32))
    view.set_session(session)
    view.set_tool("eraser")
    view.set_brush(Brush(size=6, hardness=1.0))
    drag(qtbot, view, HORIZONTAL)
    mask = session.doc.chunks[0].mask
    assert (mask[32, 11:50] < 0.01).all()
    assert mask[10, 30] == 1.0
    assert session.doc.history.labels == ["Erase"]


@pytest.mark.parametrize(("options", "expected"), [
    ({"locked": True}, "Chunk 'hair' is locked"),
    ({"visible": False}, "Chunk 'hair' is hidden"),
])  # with no chunk at all the stroke makes one: tests/gui/test_canvas_first_stroke.py
def test_painting_is_refused_with_a_message(qtbot, view, messages, options, expected):
    session = make_session(**options) if options else make_session()
    view.set_session(session)
    drag(qtbot, view, HORIZONTAL)
    assert any(m.startswith(expected) for m in messages), messages
    assert all(not c.mask.any() for c in session.doc.chunks)
    assert session.doc.history.labels == []


def test_core_errors_become_messages(qtbot, view, messages, monkeypatch):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_tool("fill")

    def refuse(*_args, **_kwargs):
        raise InvalidInputError("The fill point is somewhere odd.")

    monkeypatch.setattr(session.chunk_set, "fill", refuse)
    click(qtbot, view, 20.5, 20.5)
    assert messages == ["The fill point is somewhere odd."]


def test_fill_fills_the_enclosed_area(qtbot, view):
    ring = np.zeros((R, R), np.float32)
    ring[10:40, 10:40] = 1.0
    ring[12:38, 12:38] = 0.0
    session = make_session(ring)
    view.set_session(session)
    view.set_tool("fill")
    click(qtbot, view, 25.5, 25.5)
    mask = session.doc.chunks[0].mask
    assert (mask[10:40, 10:40] == 1.0).all() and mask[50, 50] == 0.0
    assert session.doc.history.labels == ["Fill"]


def test_brackets_change_the_brush_size(qtbot, view):
    sizes: list[float] = []
    view.brush_changed.connect(lambda brush: sizes.append(brush.size))
    view.set_brush(Brush(size=30))
    qtbot.keyClick(view, Qt.Key.Key_BracketRight)
    qtbot.keyClick(view, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(view, Qt.Key.Key_BracketLeft)
    assert sizes == [30, 33, 30, 27]
    view.set_brush(Brush(size=2))
    qtbot.keyClick(view, Qt.Key.Key_BracketRight)
    assert view.brush.size == 3  # at least one pixel per step
    view.set_brush(Brush(size=1))
    qtbot.keyClick(view, Qt.Key.Key_BracketLeft)
    assert view.brush.size == 1


def test_brush_cursor_follows_the_mouse_at_the_brush_size(qtbot, view):
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    view.set_brush(Brush(size=10))
    qtbot.mouseMove(view.viewport(), at(view, 20, 20))
    cursor = view.layers.brush_cursor
    assert cursor.isVisible()
    assert cursor.screen_diameter == pytest.approx(10 * view.zoom_factor)
    assert abs(cursor.pos().x() - 20) < 0.5 and abs(cursor.pos().y() - 20) < 0.5
    view.set_tool("pan")
    assert not cursor.isVisible()


# ---------------------------------------------------------------------- overlays


def square_mask() -> np.ndarray:
    mask = np.zeros((R, R), np.float32)
    mask[16:48, 16:48] = 1.0
    return mask


def test_overlay_tints_chunks_at_the_overlay_opacity(view):
    view.set_session(make_session(square_mask()))
    blend = [round(GREY * 0.55 + c * 0.45) for c in RED]
    assert close(pixel(view, 32, 32), blend)
    assert close(pixel(view, 5, 5), (GREY,) * 3)
    view.set_overlay_opacity(1.0)
    assert close(pixel(view, 32, 32), RED)
    view.set_overlays_visible(False)
    assert close(pixel(view, 32, 32), (GREY,) * 3)


def test_outlines_mark_the_mask_edge_and_the_selected_one_is_stronger(view):
    session = make_session(square_mask())
    other = np.zeros((R, R), np.float32)
    other[2:10, 2:10] = 1.0
    session.chunk_set.add(other, name="eyes", colour=(0, 0, 255))
    session.select("hair")
    view.set_session(session)
    alpha = view.overlay.outline[..., 3]
    assert alpha[16, 30] == 255 and alpha[17, 30] == 255 and alpha[18, 30] == 0  # 2 px
    assert alpha[30, 30] == 0 and alpha[15, 30] == 0
    assert alpha[2, 5] == round(OUTLINE_ALPHA * 255) and alpha[3, 5] == 0  # 1 px
    session.select("eyes")
    alpha = view.overlay.outline[..., 3]
    assert alpha[17, 30] == 0 and alpha[3, 5] == 255


def test_a_mask_event_rebuilds_only_its_bbox(view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    chunk = session.doc.chunks[0]
    chunk.mask[5:10, 5:10] = 1.0  # changed behind the canvas's back: not redrawn
    chunk.mask[40:50, 40:50] = 1.0
    session.chunks_changed.emit(ChunkSetEvent("mask", chunk, (38, 38, 52, 52)))
    alpha = view.overlay.fill[..., 3]
    assert (alpha[40:50, 40:50] == 255).all()
    assert (alpha[5:10, 5:10] == 0).all()


def test_overlay_after_a_stroke_equals_a_full_rebuild(qtbot, view):
    session = make_session(square_mask())
    view.set_session(session)
    view.set_brush(Brush(size=5, hardness=0.3, opacity=0.7))
    drag(qtbot, view, [(5.5, 5.5), (30.5, 20.5), (60.5, 60.5)])
    fill, outline = view.overlay.fill.copy(), view.overlay.outline.copy()
    view.overlay.rebuild(R, session.doc.chunks, session.selected)
    np.testing.assert_array_equal(view.overlay.fill, fill)
    np.testing.assert_array_equal(view.overlay.outline, outline)


def test_hiding_a_chunk_removes_its_overlay(view):
    session = make_session(square_mask())
    view.set_session(session)
    session.chunk_set.set_visible("hair", False)
    assert not view.overlay.fill.any() and not view.overlay.outline.any()


# ---------------------------------------------------------------------- Segment Anything


def test_sam_clicks_emit_include_and_exclude_points(qtbot, view):
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    view.set_tool("sam")
    prompts: list[tuple] = []
    view.sam_prompt_changed.connect(lambda *prompt: prompts.append(prompt))
    click(qtbot, view, 10.5, 20.5)
    click(qtbot, view, 30.5, 40.5, Qt.MouseButton.RightButton)
    assert len(prompts) == 2
    points, labels, box = prompts[-1]
    assert labels == [1, 0] and box is None
    np.testing.assert_allclose(points, [(10, 20), (30, 40)], atol=0.3)
    markers = view.tools["sam"].markers
    assert len(markers) == 2 and all(m.isVisible() for m in markers)
    view.clear_sam_prompt()
    assert prompts[-1] == ([], [], None) and not view.tools["sam"].markers


def test_sam_drag_emits_a_box(qtbot, view):
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    view.set_tool("sam")
    prompts: list[tuple] = []
    view.sam_prompt_changed.connect(lambda *prompt: prompts.append(prompt))
    drag(qtbot, view, [(8.5, 8.5), (20.5, 15.5), (40.5, 30.5)])
    points, labels, box = prompts[-1]
    assert points == [] and labels == []
    np.testing.assert_allclose(box, (8, 8, 40, 30), atol=0.3)


def test_sam_preview_is_tinted_on_top(view):
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    view.set_tool("sam")
    view.set_sam_preview(square_mask() > 0.5)
    shown = pixel(view, 32, 32)
    assert shown.blue() > GREY + 40 and shown.red() < GREY - 20  # cyan over grey
    assert close(pixel(view, 5, 5), (GREY,) * 3)
    view.set_sam_preview(None)
    assert close(pixel(view, 32, 32), (GREY,) * 3)


# ---------------------------------------------------------------------- compare views


def two_images(view):
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    view.set_image(np.full((R, R, 3), (200, 30, 30), np.uint8))
    view.set_compare_image(np.full((R, R, 3), (30, 30, 200), np.uint8))


def test_split_shows_before_left_of_the_divider_and_can_be_dragged(qtbot, view):
    two_images(view)
    view.set_split(0.5)
    assert close(pixel(view, 10, 32), (30, 30, 200))
    assert close(pixel(view, 54, 32), (200, 30, 30))
    fractions: list[float] = []
    view.split_changed.connect(fractions.append)
    drag(qtbot, view, [(32.0, 32.5), (24.0, 32.5), (16.0, 32.5)])
    assert fractions and fractions[-1] == pytest.approx(0.25, abs=0.02)
    assert close(pixel(view, 24, 32), (200, 30, 30))
    assert not view.session.doc.history.labels  # dragging the divider does not paint


def test_before_toggle_and_backslash_peek(qtbot, view):
    two_images(view)
    assert close(pixel(view, 32, 32), (200, 30, 30))
    view.set_show_before(True)
    assert close(pixel(view, 32, 32), (30, 30, 200))
    view.set_show_before(False)
    qtbot.keyPress(view, Qt.Key.Key_Backslash)
    assert close(pixel(view, 32, 32), (30, 30, 200))
    qtbot.keyRelease(view, Qt.Key.Key_Backslash)
    assert close(pixel(view, 32, 32), (200, 30, 30))


# ---------------------------------------------------------------------- zoom and pan


def test_zoom_fit_actual_steps_and_images_of_the_same_size(view):
    view.set_session(make_session())
    viewport = view.viewport()
    fit = min(viewport.width() - 24, viewport.height() - 24) / R
    assert view.zoom_factor == pytest.approx(fit)
    zooms: list[float] = []
    view.zoom_changed.connect(zooms.append)
    view.zoom_actual()
    assert view.zoom_factor == 1.0 and zooms == [1.0]
    view.zoom_in()
    assert view.zoom_factor == 1.5
    view.zoom_out()
    view.zoom_out()
    assert view.zoom_factor == pytest.approx(2 / 3)
    view.set_zoom(4.0)
    assert not view.renderHints() & QPainter.RenderHint.SmoothPixmapTransform  # crisp pixels
    centre = view.mapToScene(view.viewport().rect().center())
    view.set_image(np.zeros((R, R, 3), np.uint8))  # a new preview keeps zoom and pan
    assert view.zoom_factor == 4.0
    assert view.mapToScene(view.viewport().rect().center()) == centre
    view.zoom_to_fit()
    assert view.zoom_factor == pytest.approx(fit)


def test_wheel_zooms_around_the_cursor(view):
    view.set_session(make_session())
    view.set_zoom(8.0)  # larger than the viewport: it can move under the cursor
    anchor = at(view, 20, 24)
    event = QWheelEvent(QPointF(anchor), QPointF(view.viewport().mapToGlobal(anchor)),
                        QPoint(), QPoint(0, 240), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.viewport(), event)
    assert view.zoom_factor == pytest.approx(8.0 * 2 ** 0.5)
    after = view.mapToScene(anchor)
    assert abs(after.x() - 20) < 0.5 and abs(after.y() - 24) < 0.5


@pytest.mark.parametrize("how", ["middle", "space", "pan tool"])
def test_panning_moves_the_view_and_never_paints(qtbot, view, how):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_zoom(8.0)
    centre = QPoint(view.viewport().width() // 2, view.viewport().height() // 2)
    before = view.mapToScene(centre)
    button = Qt.MouseButton.MiddleButton if how == "middle" else LEFT
    if how == "space":
        qtbot.keyPress(view, Qt.Key.Key_Space)
    if how == "pan tool":
        view.set_tool("pan")
    viewport = view.viewport()
    qtbot.mousePress(viewport, button, pos=centre)
    qtbot.mouseMove(viewport, centre + QPoint(40, 0))
    qtbot.mouseMove(viewport, centre + QPoint(80, 16))
    qtbot.mouseRelease(viewport, button, pos=centre + QPoint(80, 16))
    if how == "space":
        qtbot.keyRelease(view, Qt.Key.Key_Space)
    after = view.mapToScene(centre)
    assert after.x() == pytest.approx(before.x() - 10, abs=0.2)
    assert after.y() == pytest.approx(before.y() - 2, abs=0.2)
    assert not session.doc.chunks[0].mask.any()


def test_cursor_reports_the_pixel_and_the_chunk_under_it(qtbot, view):
    view.set_session(make_session(square_mask()))
    reports: list[tuple] = []
    view.cursor_moved.connect(lambda *report: reports.append(report))
    qtbot.mouseMove(view.viewport(), at(view, 20.5, 30.5))
    qtbot.mouseMove(view.viewport(), at(view, 3.5, 7.5))
    assert reports[-2:] == [(20, 30, "hair"), (3, 7, "")]


# ---------------------------------------------------------------------- whole-photo view


def test_whole_photo_view_shows_the_photo_and_refuses_painting(qtbot, view, messages):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.zoom_actual()
    photo = np.full((120, 160, 3), (20, 160, 20), np.uint8)
    quad = np.array([[40, 20], [100, 20], [100, 80], [40, 80]], np.float64)
    view.set_photo_view(photo, quad)
    assert view.photo_view_active
    assert view.scene().sceneRect().width() == 160
    assert view.scene().sceneRect().height() == 120
    assert close(pixel(view, 10, 100), (20, 160, 20))
    drag(qtbot, view, [(50.5, 50.5), (60.5, 50.5)])
    assert messages and "whole-photo view" in messages[-1]
    assert not session.doc.chunks[0].mask.any()
    view.set_photo_view(None, None)
    assert not view.photo_view_active
    assert view.zoom_factor == 1.0  # the aligned view comes back as it was
    assert view.scene().sceneRect().width() == R
