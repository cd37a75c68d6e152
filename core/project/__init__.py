"""Projects: the document model, its undo history and `.semedit` files (no Qt, no torch)."""

from __future__ import annotations

from core.project.document import PALETTE, SPACES, Chunk, Document, Edit
from core.project.history import (
    DEFAULT_MAX_BYTES,
    BBox,
    CompoundItem,
    History,
    HistoryEvent,
    HistoryItem,
    MaskDiff,
    ValueChange,
    changed_bbox,
)
from core.project.project_file import (
    DEFAULT_LIMITS,
    FORMAT_NAME,
    FORMAT_VERSION,
    PROJECT_SUFFIX,
    ProjectLimits,
    load_project,
    read_project_thumbnail,
    save_project,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BYTES",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "PALETTE",
    "PROJECT_SUFFIX",
    "SPACES",
    "BBox",
    "Chunk",
    "CompoundItem",
    "Document",
    "Edit",
    "History",
    "HistoryEvent",
    "HistoryItem",
    "MaskDiff",
    "ProjectLimits",
    "ValueChange",
    "changed_bbox",
    "load_project",
    "read_project_thumbnail",
    "save_project",
]
