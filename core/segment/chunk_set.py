"""The chunk set of a document, as an artist edits it: every change is one undo step.

`ChunkSet` wraps a `Document`'s chunk list and its `History`. Views observe it through
listeners (`ChunkSetEvent`) and redraw only what changed; undo and redo emit the same
events as the original change, so a view never needs to know where a change came from.

Stacking order: `chunks[0]` is at the bottom, the last chunk on top. Where chunks
overlap the chunk on top wins (`resolved_masks`, see `core.segment.mask_ops`); moving a
chunk up or down therefore changes who owns the shared pixels. Visibility only hides a
chunk's overlay; a hidden chunk still owns its pixels. A locked chunk refuses every
change to its mask and to its name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InvalidInputError
from core.observable import Observable
from core.project.document import SPACES, Chunk, Document
from core.project.history import BBox, MaskDiff, ValueChange
from core.segment import mask_ops
from core.segment.brush import Brush, BrushStroke
from core.segment.bucket import DEFAULT_TOLERANCE, BucketFill, bucket_fill, fill_point
from core.segment.mask_io import LoadedMask, load_mask, save_mask

ChunkRef = Chunk | str | int


@dataclass(frozen=True)
class ChunkSetEvent:
    """What changed.

    kind: "mask" (pixels of `chunk` inside `bbox`), "props" (name, colour, visibility or
    lock of `chunk`), "list" (chunks added, removed or reordered).
    """

    kind: str
    chunk: Chunk | None = None
    bbox: BBox | None = None


class ChunkListChange:
    """Undo item for a change of the chunk list itself (add, remove, reorder)."""

    def __init__(self, chunk_set: ChunkSet, old: list[Chunk], new: list[Chunk], label: str):
        self._chunk_set = chunk_set
        self.old = list(old)
        self.new = list(new)
        self.label = label

    @property
    def nbytes(self) -> int:
        # A removed (or not yet re-added) chunk lives only in this item: count its mask.
        in_both = {id(c) for c in self.old} & {id(c) for c in self.new}
        only_here = [c for c in (*self.old, *self.new) if id(c) not in in_both]
        return 64 + sum(int(c.mask.nbytes) for c in only_here)

    def undo(self) -> None:
        self._chunk_set._replace_list(self.old)

    def redo(self) -> None:
        self._chunk_set._replace_list(self.new)


class PaintStroke:
    """One brush stroke on one chunk; `end()` records it as a single undo step."""

    def __init__(self, chunk_set: ChunkSet, chunk: Chunk, brush: Brush, *,
                 closes_group: bool = False):
        self._chunk_set = chunk_set
        self.chunk = chunk
        self.brush = brush
        self._stroke = BrushStroke(chunk.mask, brush)
        self._ended = False
        self._closes_group = closes_group  # the stroke's chunk was made for it (one step)

    def add_point(self, x: float, y: float) -> BBox | None:
        """Paint up to (x, y) in mask pixels; returns the box that changed (or None)."""
        if self._ended:
            raise InvalidInputError("This brush stroke has already ended.")
        bbox = self._stroke.add_point(x, y)
        if bbox is not None:
            self._chunk_set._emit(ChunkSetEvent("mask", self.chunk, bbox))
        return bbox

    def end(self) -> None:
        """Finish the stroke; nothing is recorded when it changed no pixel."""
        if self._ended:
            return
        self._ended = True
        try:
            result = self._stroke.finish()
            if result is not None:
                label = "Erase" if self.brush.erase else "Brush stroke"
                self._chunk_set._push_mask_diff(self.chunk, MaskDiff(
                    self.chunk.mask, result.bbox, result.old_patch, result.new_patch, label))
        finally:
            if self._closes_group:
                self._chunk_set.doc.history.end_group()


class ChunkSet(Observable[ChunkSetEvent]):
    """Editing operations on a document's chunks, each undoable through `doc.history`."""

    def __init__(self, doc: Document):
        self.doc = doc

    # ----------------------------------------------------------------- reading

    @property
    def chunks(self) -> list[Chunk]:
        return self.doc.chunks

    @property
    def resolution(self) -> int:
        return self.doc.resolution

    def __len__(self) -> int:
        return len(self.doc.chunks)

    def __iter__(self) -> Iterator[Chunk]:
        return iter(list(self.doc.chunks))

    def get(self, ref: ChunkRef) -> Chunk:
        """A chunk given itself, its name or its index."""
        return self.doc.chunk(ref)

    def index_of(self, ref: ChunkRef) -> int:
        return self.doc.chunk_index(ref)

    def resolved_masks(self) -> list[np.ndarray]:
        """Each chunk's share of the pixels once overlaps are settled (the top chunk wins)."""
        return mask_ops.resolve_overlaps([c.mask for c in self.doc.chunks])

    def owner_map(self, threshold: float = 0.5) -> np.ndarray:
        """int16 [R, R]: index of the chunk owning each pixel, -1 where none does."""
        owner = np.full((self.resolution, self.resolution), -1, dtype=np.int16)
        for i, mask in enumerate(self.resolved_masks()):
            owner[mask >= threshold] = i
        return owner

    def chunk_at(self, x: float, y: float) -> Chunk | None:
        """The chunk on top at mask pixel (x, y), if any (a click that picks a chunk)."""
        col, row = int(np.floor(x)), int(np.floor(y))
        if not (0 <= row < self.resolution and 0 <= col < self.resolution):
            return None
        for chunk in reversed(self.doc.chunks):
            if chunk.mask[row, col] > 0:
                return chunk
        return None

    # ----------------------------------------------------------------- the list

    def add(self, mask: np.ndarray | None = None, *, name: str | None = None,
            colour: tuple[int, int, int] | None = None, label: str = "New chunk") -> Chunk:
        """Add a chunk on top (empty when `mask` is None)."""
        if mask is None:
            mask = np.zeros((self.resolution, self.resolution), dtype=np.float32)
        before = list(self.doc.chunks)
        chunk = self.doc.add_chunk(mask, name=name, colour=colour)
        self._record_list_change(before, label)
        return chunk

    def add_many(self, masks: dict[str, np.ndarray], label: str) -> list[Chunk]:
        """Add several named chunks, bottom first, as one undo step (automatic chunks)."""
        before = list(self.doc.chunks)
        added: list[Chunk] = []
        try:
            for name, mask in masks.items():
                added.append(self.doc.add_chunk(mask, name=self.unused_name(name)))
        except Exception:
            self.doc.chunks[:] = before
            raise
        self._record_list_change(before, label)
        return added

    def remove(self, ref: ChunkRef) -> Chunk:
        chunk = self.get(ref)
        before = list(self.doc.chunks)
        self.doc.chunks.remove(chunk)
        self._record_list_change(before, f"Delete {chunk.name}")
        return chunk

    def duplicate(self, ref: ChunkRef) -> Chunk:
        """A copy of a chunk's mask as a new chunk right above it."""
        source = self.get(ref)
        before = list(self.doc.chunks)
        copy = self.doc.add_chunk(source.mask, name=self.unused_name(f"{source.name} copy"))
        self.doc.chunks.remove(copy)
        self.doc.chunks.insert(self.index_of(source) + 1, copy)
        self._record_list_change(before, f"Duplicate {source.name}")
        return copy

    def move(self, ref: ChunkRef, new_index: int) -> None:
        """Move a chunk in the stack (0 = bottom); this changes who wins overlaps."""
        chunk = self.get(ref)
        if not 0 <= new_index < len(self.doc.chunks):
            raise InvalidInputError(
                f"Position {new_index} is outside 0–{len(self.doc.chunks) - 1}.")
        before = list(self.doc.chunks)
        if before.index(chunk) == new_index:
            return
        self.doc.chunks.remove(chunk)
        self.doc.chunks.insert(new_index, chunk)
        self._record_list_change(before, f"Move {chunk.name}")

    def unused_name(self, wanted: str) -> str:
        """`wanted`, or `wanted 2`, `wanted 3`... whichever no chunk has yet."""
        taken = {c.name for c in self.doc.chunks}
        candidate, n = wanted, 2
        while candidate in taken:
            candidate, n = f"{wanted} {n}", n + 1
        return candidate

    def _record_list_change(self, before: list[Chunk], label: str) -> None:
        self.doc.history.push(ChunkListChange(self, before, self.doc.chunks, label))
        self._emit(ChunkSetEvent("list"))

    def _replace_list(self, chunks: list[Chunk]) -> None:
        self.doc.chunks[:] = chunks
        self._emit(ChunkSetEvent("list"))

    # ----------------------------------------------------------------- properties

    def rename(self, ref: ChunkRef, name: str) -> None:
        chunk = self._unlocked(ref, "renamed")
        name = name.strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not name:
            raise InvalidInputError("A chunk needs a non-empty name.")
        if name == chunk.name:
            return
        if any(c.name == name for c in self.doc.chunks):
            raise InvalidInputError(f"There is already a chunk called {name!r}.")
        self._set_property(chunk, "name", name, f"Rename {chunk.name} to {name}")

    def set_colour(self, ref: ChunkRef, colour: tuple[int, int, int]) -> None:
        chunk = self.get(ref)
        colour = tuple(int(v) for v in colour)
        if len(colour) != 3 or not all(0 <= v <= 255 for v in colour):
            raise InvalidInputError(f"{colour!r} is not a colour (three values 0–255).")
        self._set_property(chunk, "colour", colour, f"Colour of {chunk.name}")

    def set_space(self, ref: ChunkRef, space: str) -> None:
        """The latent space the chunk will be inverted in; fixed once it has a code."""
        chunk = self.get(ref)
        if space not in SPACES:
            raise InvalidInputError(f"Unknown latent space {space!r}; use one of "
                                    f"{', '.join(SPACES)}.")
        if chunk.code is not None and space != chunk.space:
            raise InvalidInputError(f"Chunk {chunk.name!r} is already inverted in "
                                    f"{chunk.space}; run the inversion again to change it.")
        self._set_property(chunk, "space", space, f"Space of {chunk.name}")

    def set_visible(self, ref: ChunkRef, visible: bool) -> None:
        chunk = self.get(ref)
        self._set_property(chunk, "visible", bool(visible),
                           f"{'Show' if visible else 'Hide'} {chunk.name}")

    def set_locked(self, ref: ChunkRef, locked: bool) -> None:
        chunk = self.get(ref)
        self._set_property(chunk, "locked", bool(locked),
                           f"{'Lock' if locked else 'Unlock'} {chunk.name}")

    def _set_property(self, chunk: Chunk, attribute: str, value: object, label: str) -> None:
        old = getattr(chunk, attribute)
        if old == value:
            return

        def setter(new_value: object) -> None:
            setattr(chunk, attribute, new_value)
            self._emit(ChunkSetEvent("props", chunk))

        setter(value)
        self.doc.history.push(ValueChange(setter, old, value, label))

    # ----------------------------------------------------------------- painting

    def begin_stroke(self, ref: ChunkRef, brush: Brush) -> PaintStroke:
        """Start painting (or erasing, per the brush) on a chunk; call `end()` when done."""
        return PaintStroke(self, self._unlocked(ref, "painted"), brush)

    def begin_stroke_in_new_chunk(self, brush: Brush) -> PaintStroke:
        """The first stroke where there is no chunk to paint on: a new chunk ('Chunk N', on
        top) takes it, and adding it and the stroke are one undo step once `end()` is called."""
        if brush.erase:
            raise InvalidInputError("There is nothing to erase: no chunk has been painted yet.")
        name = self.doc.default_chunk_name()
        history = self.doc.history
        history.begin_group(f"Brush stroke on new {name}")
        try:
            chunk = self.add(name=name)
            return PaintStroke(self, chunk, brush, closes_group=True)
        except BaseException:
            history.end_group()
            raise

    def paint_line(self, ref: ChunkRef, brush: Brush,
                   points: list[tuple[float, float]]) -> None:
        """A whole stroke at once (scripts and tests): one undo step."""
        stroke = self.begin_stroke(ref, brush)
        try:
            for x, y in points:
                stroke.add_point(x, y)
        finally:
            stroke.end()

    # ----------------------------------------------------------------- whole-mask operations

    def set_mask(self, ref: ChunkRef, mask: np.ndarray, label: str = "Set mask") -> None:
        """Replace a chunk's mask (a Segment Anything result, an imported file)."""
        chunk = self._unlocked(ref, "changed")
        mask = np.asarray(mask, dtype=np.float32)
        if mask.shape != chunk.mask.shape:
            raise InvalidInputError(
                f"The new mask is {mask.shape[1]}×{mask.shape[0]} but chunks are "
                f"{self.resolution}×{self.resolution}.")
        if not np.isfinite(mask).all():
            raise InvalidInputError("The new mask contains NaN or infinite values.")
        self._replace_mask(chunk, np.clip(mask, 0.0, 1.0), label)

    def fill(self, ref: ChunkRef, x: float, y: float, *,
             tolerance: float = DEFAULT_TOLERANCE) -> BucketFill:
        """Paint bucket at mask pixel (x, y): inside the chunk's own outline the enclosed
        area, elsewhere the photo's similar-colour region (`core.segment.bucket`); the
        other chunks' locked pixels are never taken."""
        chunk = self._unlocked(ref, "filled")
        blocked = self.locked_pixels(except_chunk=chunk)
        row, col = fill_point(x, y, self.resolution, self.resolution)
        if blocked[row, col]:
            owner = next(c for c in reversed(self.doc.chunks)
                         if c.locked and c is not chunk and c.mask[row, col] >= 0.5)
            raise InvalidInputError(f"That pixel belongs to the locked chunk {owner.name!r}; "
                                    "unlock it to fill there.")
        result = bucket_fill(chunk.mask, self.doc.aligned, x, y, tolerance=tolerance,
                             blocked=blocked)
        self._replace_mask(chunk, result.mask, "Fill")
        return result

    def fill_new_chunk(self, x: float, y: float, *,
                       tolerance: float = DEFAULT_TOLERANCE) -> tuple[Chunk, BucketFill]:
        """Fill where there is no chunk to fill: a new chunk ('Chunk N', on top) takes the
        fill; adding it and filling it are one undo step."""
        fill_point(x, y, self.resolution, self.resolution)  # a bad point adds no chunk
        name = self.doc.default_chunk_name()
        with self.doc.history.group(f"Fill new {name}"):
            chunk = self.add(name=name)
            result = self.fill(chunk, x, y, tolerance=tolerance)
        return chunk, result

    def locked_pixels(self, except_chunk: Chunk | None = None) -> np.ndarray:
        """bool [R, R]: where a locked chunk (other than `except_chunk`) covers at least half."""
        blocked = np.zeros((self.resolution, self.resolution), bool)
        for chunk in self.doc.chunks:
            if chunk.locked and chunk is not except_chunk:
                blocked |= chunk.mask >= 0.5
        return blocked

    def grow(self, ref: ChunkRef, radius_px: float) -> None:
        """Grow (positive radius) or shrink (negative) the chunk's outline."""
        chunk = self._unlocked(ref, "grown or shrunk")
        label = f"{'Grow' if radius_px >= 0 else 'Shrink'} {abs(radius_px):g} px"
        self._replace_mask(chunk, mask_ops.grow(chunk.mask, radius_px), label)

    def feather(self, ref: ChunkRef, radius_px: float) -> None:
        chunk = self._unlocked(ref, "feathered")
        self._replace_mask(chunk, mask_ops.feather(chunk.mask, radius_px),
                           f"Feather {radius_px:g} px")

    def fill_holes(self, ref: ChunkRef, max_hole_area: int | None = None) -> None:
        chunk = self._unlocked(ref, "changed")
        self._replace_mask(chunk, mask_ops.fill_holes(chunk.mask, max_hole_area=max_hole_area),
                           "Fill holes")

    def invert(self, ref: ChunkRef) -> None:
        chunk = self._unlocked(ref, "inverted")
        self._replace_mask(chunk, mask_ops.invert(chunk.mask), "Invert")

    def clear(self, ref: ChunkRef) -> None:
        chunk = self._unlocked(ref, "cleared")
        self._replace_mask(chunk, mask_ops.cleared(chunk.mask), "Clear")

    def combine(self, ref: ChunkRef, other: ChunkRef, operation: str) -> None:
        """`operation` is "union", "subtract" or "intersect" with the other chunk's mask."""
        operations = {"union": mask_ops.union, "subtract": mask_ops.subtract,
                      "intersect": mask_ops.intersect}
        if operation not in operations:
            raise InvalidInputError(
                f"Unknown operation {operation!r}; use union, subtract or intersect.")
        chunk = self._unlocked(ref, "changed")
        source = self.get(other)
        if source is chunk:
            raise InvalidInputError("Choose another chunk to combine with.")
        self._replace_mask(chunk, operations[operation](chunk.mask, source.mask),
                           f"{operation.capitalize()} with {source.name}")

    # ----------------------------------------------------------------- files

    def import_mask(self, path: str | Path, ref: ChunkRef | None = None) -> LoadedMask:
        """Read a mask file into a chunk (a new one named after the file when `ref` is None).

        The returned value carries a warning when the file had to be resized.
        """
        loaded = load_mask(path, self.resolution)
        if ref is None:
            self.add(loaded.mask, name=self.unused_name(Path(path).stem),
                     label=f"Import {Path(path).name}")
        else:
            self.set_mask(ref, loaded.mask, f"Import {Path(path).name}")
        return loaded

    def export_mask(self, ref: ChunkRef, path: str | Path, *, bits: int = 8,
                    resolved: bool = False) -> Path:
        """Write a chunk's mask (or its share after overlaps, `resolved`) as a PNG."""
        chunk = self.get(ref)
        mask = self.resolved_masks()[self.index_of(chunk)] if resolved else chunk.mask
        return save_mask(path, mask, bits=bits)

    # ----------------------------------------------------------------- internals

    def _unlocked(self, ref: ChunkRef, action: str) -> Chunk:
        chunk = self.get(ref)
        if chunk.locked:
            raise InvalidInputError(f"Chunk {chunk.name!r} is locked and cannot be {action}; "
                                    "unlock it first.")
        return chunk

    def _replace_mask(self, chunk: Chunk, new_mask: np.ndarray, label: str) -> None:
        diff = MaskDiff.from_change(chunk.mask, new_mask, chunk.mask, label)
        if diff is None:
            return
        chunk.mask[...] = new_mask
        self._push_mask_diff(chunk, diff)
        self._emit(ChunkSetEvent("mask", chunk, diff.bbox))

    def _push_mask_diff(self, chunk: Chunk, diff: MaskDiff) -> None:
        diff.notify = lambda: self._emit(ChunkSetEvent("mask", chunk, diff.bbox))
        self.doc.history.push(diff)
