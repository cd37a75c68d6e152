"""The canvas tool objects driven directly with press/move/release events (and, where the
routing matters, through the real mouse path), and the "changed since the inversion"
badges (offscreen)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from core.errors import InvalidInputError
from core.segment.brush import Brush, BrushStroke
from semedit_gui.canvas import CanvasView
from semedit_gui.canvas.items import NoteBadgeItem
from semedit_gui.canvas.refine_notes import badge_anchor, refine_sentence
from semedit_gui.canvas.tools import (
    TOOLS,
    DividerTool,
    FillTool,
    PanTool,
    Press,
    SamPromptTool,
    StrokeTool,
    ToolEvent,
    scene_to_pixel,
)
from tests.gui.test_canvas import HORIZONTAL, LEFT, R, at, close, drag, make_session, pixel

RIGHT = Qt.MouseButton.RightButton
MIDDLE = Qt.MouseButton.MiddleButton


def event(view: CanvasView, x: float, y: float, button=LEFT) -> ToolEvent:
    """The ToolEvent the view makes for a pointer over scene point (x, y)."""
    pos = view.scene_to_view(QPointF(x, y))
    return ToolEvent(button, pos, view.view_to_scene(pos))


def stroke(tool, view, points, button=LEFT) -> Press:
    answer = tool.press(event(view, *points[0], button))
    for point in points[1:]:
        tool.move(event(view, *point, button))
    tool.release(event(view, *points[-1], button))
    return answer


def painted_by_core(mask: np.ndarray, brush: Brush, points) -> np.ndarray:
    """What core's brush makes of these scene points: what the canvas always painted."""
    expected = mask.copy()
    dabs = BrushStroke(expected, brush)
    for x, y in points:
        dabs.add_point(*scene_to_pixel(x, y))
    dabs.finish()
    return expected


# ---------------------------------------------------------------------- brush and eraser


def test_brush_tool_paints_what_core_paints_as_one_undo_step(view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_brush(Brush(size=5, hardness=0.4, opacity=0.8))
    brush = view.tools["brush"]
    assert isinstance(brush, StrokeTool) and not brush.erase
    points = [(5.5, 5.5), (30.25, 20.75), (60.5, 58.5)]
    expected = painted_by_core(session.doc.chunks[0].mask, view.brush, points)

    assert brush.press(event(view, *points[0])) is Press.GRAB
    assert view.painting and session.doc.history.labels == []  # no step until release
    for point in points[1:]:
        brush.move(event(view, *point))
    brush.release(event(view, *points[-1]))

    np.testing.assert_allclose(session.doc.chunks[0].mask, expected, atol=1e-6)
    assert not view.painting
    assert session.doc.history.labels == ["Brush stroke"]
    session.doc.history.undo()
    assert not session.doc.chunks[0].mask.any()


def test_eraser_tool_erases_what_core_erases(view):
    session = make_session(np.ones((R, R), np.float32))
    view.set_session(session)
    view.set_brush(Brush(size=6, hardness=1.0))
    points = [(10.5, 32.5), (50.5, 32.5)]
    expected = painted_by_core(session.doc.chunks[0].mask,
                               dataclasses.replace(view.brush, erase=True), points)
    assert stroke(view.tools["eraser"], view, points) is Press.GRAB
    np.testing.assert_array_equal(session.doc.chunks[0].mask, expected)
    assert expected[32, 30] == 0.0 and expected[10, 30] == 1.0
    assert session.doc.history.labels == ["Erase"]


def test_a_stroke_cut_short_keeps_its_paint_as_one_step(qtbot, view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_brush(Brush(size=4, hardness=1.0))
    viewport = view.viewport()
    qtbot.mousePress(viewport, LEFT, pos=at(view, 10.5, 20.5))
    qtbot.mouseMove(viewport, at(view, 40.5, 20.5))
    assert view.painting
    view.set_tool("fill")  # changing the tool ends the drag
    assert not view.painting
    qtbot.mouseRelease(viewport, LEFT, pos=at(view, 40.5, 20.5))
    mask = session.doc.chunks[0].mask
    assert (mask[20, 11:40] == 1.0).all() and mask[30, 20] == 0.0
    assert session.doc.history.labels == ["Brush stroke"]


@pytest.mark.parametrize(("options", "name", "expected"), [
    ({"locked": True}, "brush", "Chunk 'hair' is locked; unlock it to paint on it."),
    ({"visible": False}, "eraser", "Chunk 'hair' is hidden; show it to erase it."),
    ({"locked": True}, "fill", "Chunk 'hair' is locked; unlock it to fill it."),
])
def test_paint_tools_refuse_locked_and_hidden_chunks(view, messages, options, name, expected):
    session = make_session(np.zeros((R, R), np.float32), **options)
    view.set_session(session)
    tool = view.tools[name]
    assert tool.press(event(view, 20.5, 20.5)) is Press.HANDLED  # no drag starts
    assert messages == [expected]
    assert not session.doc.chunks[0].mask.any() and session.doc.history.labels == []


def test_paint_tools_refuse_the_whole_photo_view(view, messages):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_photo_view(np.zeros((80, 100, 3), np.uint8), None)
    for name in ("brush", "eraser", "fill", "sam"):
        assert view.tools[name].press(event(view, 20.5, 20.5)) is Press.HANDLED
    assert len(messages) == 4 and all("whole-photo view" in m for m in messages)
    assert session.doc.history.labels == []


def test_paint_tools_leave_other_buttons_alone(view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    for name in ("brush", "eraser", "fill"):
        assert view.tools[name].press(event(view, 20.5, 20.5, RIGHT)) is Press.IGNORED
    assert not session.doc.chunks[0].mask.any()


# ---------------------------------------------------------------------- fill


def test_fill_tool_fills_once_per_click_inside_the_image_only(view):
    ring = np.zeros((R, R), np.float32)
    ring[10:40, 10:40] = 1.0
    ring[12:38, 12:38] = 0.0
    session = make_session(ring)
    view.set_session(session)
    fill = view.tools["fill"]
    assert isinstance(fill, FillTool)
    assert fill.press(event(view, -3.0, 20.5)) is Press.HANDLED  # off the image: nothing
    assert session.doc.history.labels == []
    assert fill.press(event(view, 25.5, 25.5)) is Press.HANDLED
    mask = session.doc.chunks[0].mask
    assert (mask[10:40, 10:40] == 1.0).all() and mask[50, 50] == 0.0
    assert session.doc.history.labels == ["Fill"]


# ---------------------------------------------------------------------- Segment Anything


@pytest.fixture
def sam(view):
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    view.set_tool("sam")
    tool = view.tools["sam"]
    assert isinstance(tool, SamPromptTool)
    prompts: list[tuple] = []
    view.sam_prompt_changed.connect(lambda *prompt: prompts.append(prompt))
    return tool, prompts


def test_sam_click_adds_an_include_point_and_right_click_an_exclude_point(view, sam):
    tool, prompts = sam
    assert stroke(tool, view, [(10.5, 20.5), (10.9, 20.9)]) is Press.GRAB  # < 4 px: a click
    assert tool.press(event(view, 30.5, 40.5, RIGHT)) is Press.HANDLED
    assert tool.press(event(view, 30.5, 40.5, MIDDLE)) is Press.IGNORED
    points, labels, box = prompts[-1]
    assert labels == [1, 0] and box is None
    np.testing.assert_allclose(points, [(10.4, 20.4), (30, 40)], atol=0.01)
    assert [m.include for m in tool.markers] == [True, False]


def test_sam_drag_past_the_threshold_makes_a_box_clipped_to_the_image(view, sam):
    tool, prompts = sam
    stroke(tool, view, [(8.5, 8.5), (20.5, 15.5), (90.0, 30.5)])
    points, labels, box = prompts[-1]
    assert points == [] and labels == []
    np.testing.assert_allclose(box, (8, 8, R - 1, 30), atol=0.01)
    assert not tool.box_item.path().isEmpty()


def test_sam_box_cancelled_midway_leaves_no_box(view, sam):
    tool, prompts = sam
    tool.press(event(view, 8.5, 8.5))
    tool.move(event(view, 40.5, 30.5))
    assert not tool.box_item.path().isEmpty()  # the outline follows the drag
    tool.cancel()
    assert prompts == [] and tool.prompt.empty
    assert tool.box_item.path().isEmpty()


def test_sam_keys_remove_the_last_point_and_clear(view, sam):
    tool, prompts = sam
    for x in (10.5, 20.5, 30.5):
        stroke(tool, view, [(x, 10.5)])
    assert tool.key_press(Qt.Key.Key_Backspace)
    assert len(prompts[-1][0]) == 2 and len(tool.markers) == 2
    tool.set_preview(np.ones((R, R), bool))
    assert tool.key_press(Qt.Key.Key_Escape)
    assert prompts[-1] == ([], [], None) and not tool.markers
    assert tool.preview_item.image_size is None
    assert not tool.key_press(Qt.Key.Key_A)


def test_sam_points_off_the_image_are_ignored(view, sam):
    tool, prompts = sam
    stroke(tool, view, [(-5.0, 10.5)])
    tool.press(event(view, R + 3.0, 10.5, RIGHT))
    assert prompts == []


def test_sam_items_show_only_while_the_tool_is_active(view, sam):
    tool, _prompts = sam
    stroke(tool, view, [(10.5, 10.5)])
    assert tool.markers[0].isVisible()
    view.set_tool("brush")
    assert not tool.markers[0].isVisible() and not tool.preview_item.isVisible()
    view.set_tool("sam")
    assert tool.markers[0].isVisible()


# ---------------------------------------------------------------------- pan and divider


def test_pan_tool_moves_the_view_by_the_pointer_delta(view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_zoom(8.0)
    pan = view.tools["pan"]
    assert isinstance(pan, PanTool)
    centre = QPointF(view.viewport().width() / 2, view.viewport().height() / 2)
    before = view.view_to_scene(centre)
    press = ToolEvent(MIDDLE, centre, before)
    assert pan.press(press) is Press.GRAB
    pan.move(dataclasses.replace(press, pos=centre + QPointF(-48, 24)))
    pan.release(dataclasses.replace(press, pos=centre + QPointF(-48, 24)))
    after = view.view_to_scene(centre)
    assert after.x() == pytest.approx(before.x() + 6, abs=0.15)  # 48 px at 8×
    assert after.y() == pytest.approx(before.y() - 3, abs=0.15)
    assert pan.press(dataclasses.replace(press, button=RIGHT)) is Press.IGNORED
    assert session.doc.history.labels == []


def test_divider_tool_is_hit_only_on_the_visible_divider_and_drags_the_split(view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    divider = view.toolbox.divider
    assert isinstance(divider, DividerTool)
    on_line = view.scene_to_view(QPointF(32.0, 32.0))
    assert not divider.hit(on_line)  # no split view: no divider
    view.set_compare_image(np.zeros((R, R, 3), np.uint8))
    view.set_split(0.5)
    assert divider.hit(on_line)
    assert not divider.hit(view.scene_to_view(QPointF(40.0, 32.0)))
    fractions: list[float] = []
    view.split_changed.connect(fractions.append)
    stroke(divider, view, [(32.0, 32.0), (24.0, 40.0), (16.0, 40.0)])
    assert fractions == [pytest.approx(24 / R), pytest.approx(16 / R)]
    assert session.doc.history.labels == []


def test_with_the_pan_tool_a_press_on_the_divider_pans(qtbot, view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_compare_image(np.zeros((R, R, 3), np.uint8))
    view.set_zoom(8.0)
    view.set_split(0.5)
    view.set_tool("pan")
    start = view.scene_to_view(QPointF(32.0, 32.0)).toPoint()
    before = view.view_to_scene(QPointF(start))
    drag_points = [start, start + QPoint(-40, 0)]
    qtbot.mousePress(view.viewport(), LEFT, pos=drag_points[0])
    qtbot.mouseMove(view.viewport(), drag_points[1])
    qtbot.mouseRelease(view.viewport(), LEFT, pos=drag_points[1])
    assert view.split == 0.5
    assert view.view_to_scene(QPointF(start)).x() == pytest.approx(before.x() + 5, abs=0.2)


# ---------------------------------------------------------------------- routing


def test_other_buttons_during_a_stroke_are_swallowed(qtbot, view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_brush(Brush(size=4, hardness=1.0))
    viewport = view.viewport()
    qtbot.mousePress(viewport, LEFT, pos=at(view, 10.5, 20.5))
    qtbot.mousePress(viewport, MIDDLE, pos=at(view, 20.5, 20.5))  # no pan starts
    qtbot.mouseMove(viewport, at(view, 30.5, 20.5))
    qtbot.mouseRelease(viewport, MIDDLE, pos=at(view, 30.5, 20.5))  # not the stroke's
    assert view.painting
    qtbot.mouseMove(viewport, at(view, 50.5, 20.5))
    qtbot.mouseRelease(viewport, LEFT, pos=at(view, 50.5, 20.5))
    mask = session.doc.chunks[0].mask
    assert (mask[20, 11:50] == 1.0).all()
    assert session.doc.history.labels == ["Brush stroke"]


def test_tool_names_and_cursors(qtbot, view):
    assert set(view.tools) == set(TOOLS)
    with pytest.raises(ValueError, match="Unknown canvas tool 'lasso'"):
        view.set_tool("lasso")
    changed: list[str] = []
    view.tool_changed.connect(changed.append)
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    assert view.viewport().cursor().shape() == Qt.CursorShape.CrossCursor
    view.set_tool("pan")
    view.set_tool("pan")  # the same tool again: no signal
    assert changed == ["pan"] and view.tool == "pan"
    assert view.viewport().cursor().shape() == Qt.CursorShape.OpenHandCursor
    qtbot.mousePress(view.viewport(), LEFT, pos=at(view, 20, 20))
    assert view.viewport().cursor().shape() == Qt.CursorShape.ClosedHandCursor
    qtbot.mouseRelease(view.viewport(), LEFT, pos=at(view, 20, 20))
    assert view.viewport().cursor().shape() == Qt.CursorShape.OpenHandCursor


def test_the_mouse_path_paints_exactly_what_core_paints(qtbot, view):
    session = make_session(np.zeros((R, R), np.float32))
    view.set_session(session)
    view.set_brush(Brush(size=6, hardness=0.5, opacity=0.9))
    # The mouse lands on whole screen pixels: the scene points under those pixels.
    landed = [view.view_to_scene(QPointF(at(view, x, y))) for x, y in HORIZONTAL]
    expected = painted_by_core(session.doc.chunks[0].mask, view.brush,
                               [(p.x(), p.y()) for p in landed])
    drag(qtbot, view, HORIZONTAL)
    np.testing.assert_array_equal(session.doc.chunks[0].mask, expected)
    assert session.doc.history.labels == ["Brush stroke"]


# ---------------------------------------------------------------------- changed since inversion


def test_refine_sentence_names_the_chunks():
    assert refine_sentence([]) == ""
    assert refine_sentence(["hair"]) == (
        "The mask of chunk 'hair' changed since the inversion; run Continue to refine its "
        "code to it.")
    assert "chunks 'hair', 'eyes' and 'skin' changed" in refine_sentence(["hair", "eyes",
                                                                          "skin"])


def test_badge_anchor_is_the_top_left_of_the_painted_region():
    mask = np.zeros((R, R), np.float32)
    assert badge_anchor(mask) == (0.0, 0.0)
    mask[30:40, 12:20] = 0.2  # only faintly painted
    assert badge_anchor(mask) == (12.0, 30.0)
    mask[35:45, 25:28] = 1.0
    assert badge_anchor(mask) == (25.0, 35.0)


def test_chunks_marked_as_changed_get_a_badge_and_a_sentence(qtbot, view):
    mask = np.zeros((R, R), np.float32)
    mask[20:50, 16:40] = 1.0
    session = make_session(mask)
    view.set_session(session)
    view.set_zoom(4.0)
    notes: list[str] = []
    view.refine_note_changed.connect(notes.append)
    view.set_masks_changed_since_inversion(["hair"])
    assert view.masks_changed_since_inversion == ["hair"]
    assert notes == [view.refine_note] and "'hair'" in view.refine_note
    (badge,) = view.refine_notes.badges
    assert isinstance(badge, NoteBadgeItem) and badge.isVisible()
    assert badge.text.startswith("hair: mask changed since the inversion")
    assert (badge.pos().x(), badge.pos().y()) == (16.0, 20.0)
    # Drawn on screen: amber just inside the badge's top-left corner.
    shown = pixel(view, 16.2, 20.2)  # about 3 screen pixels inside its corner
    assert close(shown, (NoteBadgeItem.FILL.red(), NoteBadgeItem.FILL.green(),
                         NoteBadgeItem.FILL.blue()), tolerance=12)
    view.set_masks_changed_since_inversion([])
    assert notes[-1] == "" and not view.refine_notes.badges


def test_badges_follow_the_document(qtbot, view):
    session = make_session(np.zeros((R, R), np.float32))
    other = np.zeros((R, R), np.float32)
    other[5:9, 5:9] = 1.0
    session.chunk_set.add(other, name="eyes", colour=(0, 0, 255))
    view.set_session(session)
    view.set_masks_changed_since_inversion([0, "eyes"])
    notes: list[str] = []
    view.refine_note_changed.connect(notes.append)
    hair = session.doc.chunks[0]
    assert {b.pos().x() for b in view.refine_notes.badges} == {0.0, 5.0}

    session.select(hair)
    view.set_brush(Brush(size=4, hardness=1.0))
    drag(qtbot, view, [(40.5, 30.5), (50.5, 30.5)])  # painting moves hair's badge
    badge = next(b for b in view.refine_notes.badges if b.text.startswith("hair"))
    assert (badge.pos().x(), badge.pos().y()) == badge_anchor(hair.mask) != (0.0, 0.0)

    session.chunk_set.rename("eyes", "left eye")
    assert "'left eye'" in notes[-1]
    session.chunk_set.remove("left eye")
    assert view.masks_changed_since_inversion == ["hair"] and "'left eye'" not in notes[-1]

    view.set_photo_view(np.zeros((80, 100, 3), np.uint8), None)
    assert not badge.isVisible()  # the aligned frame's notes hide with it
    view.set_photo_view(None, None)
    assert badge.isVisible()
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    assert view.masks_changed_since_inversion == [] and notes[-1] == ""


def test_marking_an_unknown_chunk_is_refused(view):
    with pytest.raises(InvalidInputError, match="No document is open"):
        view.set_masks_changed_since_inversion(["hair"])
    view.set_session(make_session(np.zeros((R, R), np.float32)))
    with pytest.raises(InvalidInputError):
        view.set_masks_changed_since_inversion(["nose"])
    view.set_masks_changed_since_inversion([])  # nothing to mark is always fine
