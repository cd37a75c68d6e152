"""Notes on chunks whose masks changed since their inversion.

Strokes painted while an inversion runs are kept when its codes are applied (core keeps
the newer masks and reports the chunks concerned); those chunks' codes were fitted to the
old masks until the user runs Continue to refine. The window names them with
`CanvasView.set_masks_changed_since_inversion`; the canvas pins an amber badge to each
chunk's painted region and offers `refine_note`, one sentence for the status bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtWidgets import QGraphicsItem

from core.project.document import Chunk
from core.segment.chunk_set import ChunkSetEvent
from semedit_gui.canvas.items import NoteBadgeItem

__all__ = ["RefineNotes", "badge_anchor", "refine_sentence"]


def refine_sentence(names: Sequence[str]) -> str:
    """The status-bar sentence for chunks whose masks changed ('' for none)."""
    if not names:
        return ""
    quoted = [f"'{name}'" for name in names]
    if len(quoted) == 1:
        return (f"The mask of chunk {quoted[0]} changed since the inversion; run Continue "
                "to refine its code to it.")
    listed = ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return (f"The masks of chunks {listed} changed since the inversion; run Continue to "
            "refine their codes to them.")


def badge_anchor(mask: np.ndarray) -> tuple[float, float]:
    """Where a chunk's badge goes: the top-left corner (scene x, y) of the pixels the mask
    covers at least half, else of any it touches; the frame's corner for an empty mask."""
    for inside in (mask >= 0.5, mask > 0):
        rows = np.flatnonzero(inside.any(axis=1))
        if rows.size:
            cols = np.flatnonzero(inside.any(axis=0))
            return float(cols[0]), float(rows[0])
    return 0.0, 0.0


class RefineNotes:
    """The chunks marked as changed since their inversion, and their badges (children of
    `parent`, the aligned frame's layer, at z value `z`)."""

    def __init__(self, parent: QGraphicsItem, z: float):
        self._parent = parent
        self._z = z
        self._badges: dict[int, tuple[Chunk, NoteBadgeItem]] = {}  # by id(chunk)
        # What the canvas last announced: a rename is seen only after it happened.
        self._announced = ""

    @property
    def chunks(self) -> list[Chunk]:
        return [chunk for chunk, _badge in self._badges.values()]

    @property
    def badges(self) -> list[NoteBadgeItem]:
        return [badge for _chunk, badge in self._badges.values()]

    @property
    def sentence(self) -> str:
        """The status-bar sentence naming the marked chunks ('' for none)."""
        return refine_sentence([chunk.name for chunk in self.chunks])

    def __contains__(self, chunk: object) -> bool:
        return id(chunk) in self._badges

    def set_chunks(self, chunks: Sequence[Chunk]) -> bool:
        """Mark exactly these chunks (an empty list removes every badge); True when the
        sentence changed."""
        self.clear()
        for chunk in chunks:
            if chunk not in self:
                badge = NoteBadgeItem("", self._parent)
                badge.setZValue(self._z)
                self._badges[id(chunk)] = (chunk, badge)
                self.place(chunk)
        return self._sentence_changed()

    def on_chunks_changed(self, event: ChunkSetEvent, chunks: Sequence[Chunk]) -> bool:
        """Follow a change of the document's chunks (`chunks`, the list after it): a
        marked chunk's badge follows its mask and name, a removed chunk loses its mark.
        True when the sentence changed."""
        if not self._badges:
            return False
        if event.kind == "mask" and event.chunk is not None:
            self.place(event.chunk)  # only a marked chunk's badge moves
            return False
        self.sync(chunks)
        return self._sentence_changed()

    def place(self, chunk: Chunk) -> None:
        """Put the chunk's badge on its mask again and refresh its text."""
        if chunk in self:
            badge = self._badges[id(chunk)][1]
            badge.setPos(*badge_anchor(chunk.mask))
            badge.set_text(f"{chunk.name}: mask changed since the inversion; "
                           "Continue to refine")

    def sync(self, chunks: Sequence[Chunk]) -> None:
        """Forget chunks no longer in `chunks` (the document's list) and re-place the rest."""
        # Ids are safe keys: the notes hold each marked chunk, so its id is not reused.
        present = {id(chunk) for chunk in chunks}
        gone = [key for key in self._badges if key not in present]
        for key in gone:
            self._remove(key)
        for chunk in self.chunks:
            self.place(chunk)

    def _sentence_changed(self) -> bool:
        sentence = self.sentence
        changed, self._announced = sentence != self._announced, sentence
        return changed

    def clear(self) -> None:
        for key in list(self._badges):
            self._remove(key)

    def _remove(self, key: int) -> None:
        _chunk, badge = self._badges.pop(key)
        scene = badge.scene()
        badge.setParentItem(None)
        if scene is not None:
            scene.removeItem(badge)
