"""ChunkSet: every edit of the chunks is one exact, bounded undo step."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.project import Document
from core.segment.brush import Brush
from core.segment.chunk_set import ChunkSet, ChunkSetEvent


def _chunk_set(resolution: int = 128, chunks: int = 2) -> ChunkSet:
    doc = Document(aligned=np.zeros((resolution, resolution, 3), np.uint8))
    chunk_set = ChunkSet(doc)
    for _ in range(chunks):
        chunk_set.add()
    doc.history.clear()
    return chunk_set


def _disk(resolution: int, cx: float, cy: float, r: float) -> np.ndarray:
    yy, xx = np.mgrid[:resolution, :resolution]
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).astype(np.float32)


def test_a_stroke_is_one_step_and_undo_redo_are_exact():
    cs = _chunk_set()
    chunk = cs.chunks[0]
    chunk.mask[:] = np.random.default_rng(0).random(chunk.mask.shape, dtype=np.float32)
    before = chunk.mask.copy()
    cs.paint_line(0, Brush(size=20, hardness=0.5, opacity=0.7), [(10, 10), (60, 40), (90, 100)])
    after = chunk.mask.copy()
    assert not np.array_equal(before, after)
    assert cs.doc.history.labels == ["Brush stroke"]
    cs.doc.history.undo()
    np.testing.assert_array_equal(chunk.mask, before)
    cs.doc.history.redo()
    np.testing.assert_array_equal(chunk.mask, after)


def test_erasing_is_labelled_and_an_empty_erase_records_nothing():
    cs = _chunk_set()
    cs.paint_line(0, Brush(size=10, hardness=1, opacity=1, erase=True), [(5, 5), (50, 50)])
    assert len(cs.doc.history) == 0
    cs.set_mask(0, _disk(128, 64, 64, 30))
    cs.paint_line(0, Brush(size=10, hardness=1, opacity=1, erase=True), [(64, 64)])
    assert cs.doc.history.labels[-1] == "Erase"
    assert cs.chunks[0].mask[64, 64] == 0


def test_two_hundred_strokes_on_1024_masks_stay_under_100_mb_and_undo_exactly():
    cs = _chunk_set(resolution=1024, chunks=2)
    rng = np.random.default_rng(1)
    brush = Brush(size=40, hardness=0.8, opacity=1.0)
    for i in range(200):
        start = rng.uniform(0, 1024, 2)
        end = np.clip(start + rng.uniform(-150, 150, 2), 0, 1023)
        cs.paint_line(i % 2, brush, [tuple(start), tuple(end)])
    assert len(cs.doc.history) == 200
    assert cs.doc.history.nbytes < 100 * 1024 * 1024
    # Whole-mask copies would cost 200 × 2 × 4 MB = 1.6 GB.
    assert cs.doc.history.nbytes < 0.1 * 200 * 2 * 1024 * 1024 * 4
    cs.doc.history.go_to(0)
    for chunk in cs.chunks:
        assert not chunk.mask.any()


def test_locked_chunks_refuse_changes():
    cs = _chunk_set()
    cs.set_locked(0, True)
    for action in (
        lambda: cs.begin_stroke(0, Brush(size=5, hardness=1, opacity=1)),
        lambda: cs.fill(0, 3, 3),
        lambda: cs.invert(0),
        lambda: cs.rename(0, "new"),
        lambda: cs.set_mask(0, np.ones((128, 128), np.float32)),
    ):
        with pytest.raises(InvalidInputError, match="locked"):
            action()
    cs.set_visible(0, False)  # visibility is not a change of the mask
    assert cs.chunks[0].visible is False


@pytest.mark.parametrize(
    ("operation", "label"),
    [
        (lambda cs: cs.grow(0, 5), "Grow 5 px"),
        (lambda cs: cs.grow(0, -5), "Shrink 5 px"),
        (lambda cs: cs.feather(0, 4), "Feather 4 px"),
        (lambda cs: cs.invert(0), "Invert"),
        (lambda cs: cs.clear(0), "Clear"),
        (lambda cs: cs.fill(0, 2, 2), "Fill"),
        (lambda cs: cs.fill_holes(0), "Fill holes"),
        (lambda cs: cs.combine(0, 1, "union"), "Union with Chunk 2"),
        (lambda cs: cs.combine(0, 1, "subtract"), "Subtract with Chunk 2"),
        (lambda cs: cs.combine(0, 1, "intersect"), "Intersect with Chunk 2"),
    ],
)
def test_mask_operations_are_single_exact_undo_steps(operation, label):
    cs = _chunk_set()
    ring = _disk(128, 64, 64, 30) - _disk(128, 64, 64, 10)
    cs.chunks[0].mask[:] = ring
    cs.chunks[1].mask[:] = _disk(128, 90, 64, 25)
    before = cs.chunks[0].mask.copy()
    operation(cs)
    after = cs.chunks[0].mask.copy()
    assert not np.array_equal(before, after)
    assert cs.doc.history.labels == [label]
    cs.doc.history.undo()
    np.testing.assert_array_equal(cs.chunks[0].mask, before)
    cs.doc.history.redo()
    np.testing.assert_array_equal(cs.chunks[0].mask, after)


def test_combine_rules():
    cs = _chunk_set()
    with pytest.raises(InvalidInputError, match="union, subtract or intersect"):
        cs.combine(0, 1, "xor")
    with pytest.raises(InvalidInputError, match="another chunk"):
        cs.combine(0, 0, "union")


def test_the_chunk_on_top_wins_and_moving_changes_the_winner():
    cs = _chunk_set(chunks=0)
    bottom = cs.add(_disk(128, 50, 64, 30), name="bottom")
    top = cs.add(_disk(128, 80, 64, 30), name="top")
    resolved = cs.resolved_masks()
    overlap = (bottom.mask > 0) & (top.mask > 0)
    assert overlap.any()
    assert not resolved[0][overlap].any()
    np.testing.assert_array_equal(resolved[1], top.mask)
    assert cs.owner_map()[64, 65] == 1
    assert cs.chunk_at(65, 64) is top
    cs.move("bottom", 1)
    assert cs.owner_map()[64, 65] == 1 and cs.chunks[1] is bottom
    assert cs.chunk_at(65, 64) is bottom
    assert cs.chunk_at(5, 5) is None and cs.chunk_at(-1, 500) is None
    cs.doc.history.undo()
    assert cs.chunks == [bottom, top]


def test_list_changes_undo_and_count_removed_masks():
    cs = _chunk_set(chunks=0)
    first = cs.add(_disk(128, 40, 40, 10), name="first")
    second = cs.add(name="second")
    copy = cs.duplicate("first")
    assert [c.name for c in cs.chunks] == ["first", "first copy", "second"]
    np.testing.assert_array_equal(copy.mask, first.mask)
    assert copy.mask is not first.mask
    cs.remove("first")
    assert cs.doc.history.labels[-1] == "Delete first"
    assert cs.doc.history.nbytes >= first.mask.nbytes  # the deleted mask lives in the history
    cs.doc.history.undo()
    assert [c.name for c in cs.chunks] == ["first", "first copy", "second"]
    cs.doc.history.go_to(0)
    assert cs.chunks == []
    cs.doc.history.go_to(len(cs.doc.history))
    assert [c.name for c in cs.chunks] == ["first copy", "second"]
    assert cs.chunks[1] is second
    with pytest.raises(InvalidInputError, match="outside"):
        cs.move(0, 5)


def test_add_many_is_one_step_and_keeps_names_unique():
    cs = _chunk_set(chunks=0)
    cs.add(name="face")
    added = cs.add_many({"face": _disk(128, 60, 60, 20), "mouth": _disk(128, 60, 80, 5)},
                        "Automatic face chunks")
    assert [c.name for c in added] == ["face 2", "mouth"]
    assert cs.doc.history.labels[-1] == "Automatic face chunks"
    cs.doc.history.undo()
    assert [c.name for c in cs.chunks] == ["face"]


def test_a_failed_add_many_changes_nothing():
    cs = _chunk_set(chunks=1)
    with pytest.raises(InvalidInputError):
        cs.add_many({"good": np.zeros((128, 128)), "bad": np.zeros((64, 64))}, "Import")
    assert len(cs.chunks) == 1 and len(cs.doc.history) == 0


def test_property_changes_are_undoable():
    cs = _chunk_set()
    cs.rename(0, "  skin ")
    cs.set_colour(0, (1, 2, 3))
    cs.set_visible(0, False)
    chunk = cs.chunks[0]
    assert (chunk.name, chunk.colour, chunk.visible) == ("skin", (1, 2, 3), False)
    with pytest.raises(InvalidInputError, match="already a chunk"):
        cs.rename(1, "skin")
    with pytest.raises(InvalidInputError, match="colour"):
        cs.set_colour(0, (0, 0, 300))
    cs.doc.history.go_to(0)
    assert (chunk.name, chunk.visible) == ("Chunk 1", True)
    assert chunk.colour != (1, 2, 3)


def test_listeners_see_strokes_and_their_undo():
    cs = _chunk_set()
    events: list[ChunkSetEvent] = []
    cs.add_listener(events.append)
    stroke = cs.begin_stroke(0, Brush(size=8, hardness=1, opacity=1))
    bbox = stroke.add_point(30, 20)
    stroke.end()
    assert events == [ChunkSetEvent("mask", cs.chunks[0], bbox)]
    r0, c0, r1, c1 = bbox
    assert r0 <= 20 < r1 and c0 <= 30 < c1
    events.clear()
    cs.doc.history.undo()
    assert [e.kind for e in events] == ["mask"] and events[0].chunk is cs.chunks[0]
    cs.set_visible(1, False)
    cs.add()
    assert [e.kind for e in events[1:]] == ["props", "list"]
    cs.remove_listener(events.append)
    cs.add()
    assert len(events) == 3
    with pytest.raises(InvalidInputError, match="already ended"):
        stroke.add_point(1, 1)


def test_set_mask_checks_its_input():
    cs = _chunk_set()
    with pytest.raises(InvalidInputError, match="64×64"):
        cs.set_mask(0, np.zeros((64, 64)))
    with pytest.raises(InvalidInputError, match="NaN"):
        cs.set_mask(0, np.full((128, 128), np.nan))
    cs.set_mask(0, np.full((128, 128), 2.0))
    assert cs.chunks[0].mask.max() == 1.0


@pytest.mark.parametrize(("bits", "step"), [(8, 1 / 255), (16, 1 / 65535)])
def test_masks_export_and_import(tmp_path, bits, step):
    cs = _chunk_set()
    ramp = np.tile(np.linspace(0, 1, 128, dtype=np.float32), (128, 1))
    cs.set_mask(0, ramp)
    path = cs.export_mask(0, tmp_path / "ramp.png", bits=bits)
    with Image.open(path) as image:
        assert image.mode == ("L" if bits == 8 else "I;16")
    loaded = cs.import_mask(path)
    assert loaded.warning is None
    assert cs.chunks[-1].name == "ramp"
    assert np.abs(cs.chunks[-1].mask - ramp).max() <= step / 2 + 1e-7
    cs.import_mask(path, ref=1)
    assert cs.doc.history.labels[-1] == "Import ramp.png"


def test_importing_a_mask_of_another_size_warns(tmp_path):
    cs = _chunk_set()
    Image.fromarray(np.full((40, 60), 255, np.uint8)).save(tmp_path / "small.png")
    loaded = cs.import_mask(tmp_path / "small.png")
    assert "resized to 128x128" in loaded.warning
    assert cs.chunks[-1].mask.min() == 1.0


def test_exporting_the_resolved_share(tmp_path):
    cs = _chunk_set(chunks=0)
    cs.add(np.ones((128, 128), np.float32), name="under")
    cs.add(_disk(128, 64, 64, 20), name="over")
    path = cs.export_mask("under", tmp_path / "under.png", resolved=True)
    with Image.open(path) as image:
        exported = np.asarray(image)
    assert exported[64, 64] == 0 and exported[0, 0] == 255
    with pytest.raises(InvalidInputError, match="PNG"):
        cs.export_mask(0, tmp_path / "under.jpg")


def test_an_edited_chunk_set_round_trips_through_a_project(tmp_path):
    from core.project import load_project, save_project

    cs = _chunk_set(chunks=0)
    cs.add(_disk(128, 50, 60, 25), name="skin")
    cs.add(name="hair")
    cs.paint_line("hair", Brush(size=12, hardness=0.3, opacity=0.6), [(10, 10), (100, 20)])
    cs.feather("skin", 3)
    cs.set_locked("skin", True)
    cs.set_visible("hair", False)
    save_project(cs.doc, tmp_path / "p.semedit")
    loaded = load_project(tmp_path / "p.semedit")
    assert [(c.name, c.colour, c.visible, c.locked) for c in loaded.chunks] == \
        [(c.name, c.colour, c.visible, c.locked) for c in cs.chunks]
    for saved, original in zip(loaded.chunks, cs.chunks, strict=True):
        assert np.abs(saved.mask - original.mask).max() <= 0.5 / 65535 + 1e-7


def test_space_is_undoable_and_fixed_once_inverted():
    doc = Document(aligned=np.zeros((8, 8, 3), np.uint8))
    chunks = ChunkSet(doc)
    chunk = chunks.add(name="face")
    chunks.set_space(chunk, "s")
    assert chunk.space == "s" and doc.history.labels[-1] == "Space of face"
    doc.history.undo()
    assert chunk.space == "wplus"
    with pytest.raises(InvalidInputError, match="Unknown latent space"):
        chunks.set_space(chunk, "z")
    chunk.code = np.zeros((4, 8), np.float32)
    with pytest.raises(InvalidInputError, match="already inverted"):
        chunks.set_space(chunk, "w")
