"""The document being edited: a photo, its aligned crop, and the chunks painted over it.

This module holds data only (numpy, no torch, no Qt) so a project can be opened, checked and
saved without loading a generator. A chunk is a soft mask plus a latent code in one of three
spaces:

- "w":     code shape [w_dim]            one w for every layer,
- "wplus": code shape [num_ws, w_dim]    one w per layer,
- "s":     code shape [S]                StyleSpace, all style channels concatenated.

`Document.validate()` is the one place that decides whether a document is consistent; the
project loader runs it on everything it reads, and `save_project` before writing anything.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import InvalidInputError
from core.latents.spaces import SPACES
from core.project.history import History

_CODE_NDIM = {"w": 1, "wplus": 2, "s": 1}

# Distinct, fairly saturated colours that read well as translucent overlays on skin and hair.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75),  # red
    (60, 180, 75),  # green
    (0, 130, 200),  # blue
    (245, 130, 48),  # orange
    (145, 30, 180),  # purple
    (70, 240, 240),  # cyan
    (240, 50, 230),  # magenta
    (210, 245, 60),  # lime
    (250, 190, 212),  # pink
    (0, 128, 128),  # teal
    (170, 110, 40),  # brown
    (255, 225, 25),  # yellow
)

_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass
class Edit:
    """One semantic edit on a chunk: move along `direction` by `strength`."""

    direction: str
    strength: float
    enabled: bool = True

    def validate(self) -> None:
        if not isinstance(self.direction, str) or not self.direction.strip():
            raise InvalidInputError("An edit needs a direction name.")
        if not _is_real(self.strength) or not math.isfinite(self.strength):
            raise InvalidInputError(
                f"The strength of edit {self.direction!r} must be a finite number, "
                f"not {self.strength!r}."
            )
        if not isinstance(self.enabled, bool):
            raise InvalidInputError(f"Edit {self.direction!r}: 'enabled' must be true or false.")

    def to_json(self) -> dict[str, Any]:
        return {"direction": self.direction, "strength": float(self.strength),
                "enabled": self.enabled}

    @classmethod
    def from_json(cls, data: Any) -> Edit:
        """Build an edit from its JSON form; InvalidInputError when it does not fit."""
        if not isinstance(data, dict):
            raise InvalidInputError(f"An edit must be a JSON object, not {type(data).__name__}.")
        unknown = set(data) - {"direction", "strength", "enabled"}
        if unknown or "direction" not in data or "strength" not in data:
            raise InvalidInputError(
                "An edit must have 'direction', 'strength' and optionally 'enabled', "
                f"not {sorted(data)}."
            )
        edit = cls(data["direction"], data["strength"], data.get("enabled", True))
        edit.validate()
        edit.strength = float(edit.strength)
        return edit


@dataclass(eq=False)
class Chunk:
    """A painted region with its own latent code and edits.

    `mask` is float32 [R, R] in [0, 1]; `code` is float32 in the shape of `space` or None
    until the chunk has been inverted.
    """

    name: str
    colour: tuple[int, int, int]
    mask: np.ndarray
    space: str = "wplus"
    code: np.ndarray | None = None
    edits: list[Edit] = field(default_factory=list)
    visible: bool = True
    locked: bool = False

    def validate(self, resolution: int) -> None:
        """Check this chunk on its own (consistency across chunks is Document's job)."""
        label = f"Chunk {self.name!r}" if isinstance(self.name, str) else "A chunk"
        if not isinstance(self.name, str) or not self.name.strip():
            raise InvalidInputError("Every chunk needs a non-empty name.")
        _check_colour(label, self.colour)
        _check_mask(label, self.mask, resolution)
        if self.space not in SPACES:
            raise InvalidInputError(
                f"{label} has latent space {self.space!r}; use one of {', '.join(SPACES)}."
            )
        if self.code is not None:
            _check_code(label, self.code, self.space)
        if not isinstance(self.edits, list) or not all(isinstance(e, Edit) for e in self.edits):
            raise InvalidInputError(f"{label}: edits must be a list of Edit objects.")
        for edit in self.edits:
            edit.validate()
        if not isinstance(self.visible, bool) or not isinstance(self.locked, bool):
            raise InvalidInputError(f"{label}: 'visible' and 'locked' must be true or false.")


@dataclass(eq=False, kw_only=True)
class Document:
    """Everything a project holds. Construct with keywords; `resolution` defaults to the
    aligned image's size. `history` is the session's undo stack and is never saved."""

    aligned: np.ndarray
    resolution: int = 0
    photo_bytes: bytes | None = None
    photo_name: str = ""
    transform: dict | None = None
    generator_id: str | None = None
    generator_sha256: str | None = None
    generator_name: str | None = None  # shown when the generator must be found again
    generator_path: str | None = None  # where it was loaded from (one of the places looked)
    chunks: list[Chunk] = field(default_factory=list)
    inversion: dict = field(default_factory=dict)
    pti_weights: dict[str, np.ndarray] | None = None
    history: History = field(default_factory=History)

    def __post_init__(self) -> None:
        # 0 means "take it from the aligned image": the common case when starting a document.
        if self.resolution == 0 and isinstance(self.aligned, np.ndarray) and self.aligned.ndim:
            self.resolution = int(self.aligned.shape[0])

    # ----------------------------------------------------------------- validation

    def validate(self) -> None:
        """Raise InvalidInputError with a clear message if anything does not fit together."""
        self._check_resolution()
        _check_aligned(self.aligned, self.resolution)
        self._check_photo()
        self._check_generator()
        _check_json("The alignment transform", self.transform, allow_none=True)
        _check_json("The inversion settings", self.inversion, allow_none=False)
        if not isinstance(self.chunks, list) or not all(isinstance(c, Chunk) for c in self.chunks):
            raise InvalidInputError("The document's chunks must be a list of Chunk objects.")
        for chunk in self.chunks:
            chunk.validate(self.resolution)
        _check_unique_names(self.chunks)
        _check_code_shapes(self.chunks)
        _check_pti(self.pti_weights)

    def snapshot(self) -> Document:
        """A copy another thread can read while this one keeps changing (masks, codes and
        edits copied; photo bytes and PTI weights shared, they are only ever replaced);
        its history is empty."""
        chunks = [dataclasses.replace(
            c, mask=c.mask.copy(), code=None if c.code is None else c.code.copy(),
            edits=[dataclasses.replace(e) for e in c.edits]) for c in self.chunks]
        return dataclasses.replace(self, chunks=chunks, inversion=copy.deepcopy(self.inversion),
                                   transform=copy.deepcopy(self.transform), history=History())

    def _check_resolution(self) -> None:
        if not isinstance(self.resolution, int) or isinstance(self.resolution, bool) \
                or self.resolution < 1:
            raise InvalidInputError(
                f"The resolution must be a positive whole number, not {self.resolution!r}."
            )

    def _check_photo(self) -> None:
        if self.photo_bytes is not None and not isinstance(self.photo_bytes, bytes):
            raise InvalidInputError("The photo must be given as bytes (the file as read).")
        if not isinstance(self.photo_name, str):
            raise InvalidInputError("The photo name must be a string.")

    def _check_generator(self) -> None:
        if self.generator_id is not None and not isinstance(self.generator_id, str):
            raise InvalidInputError("The generator id must be a string or None.")
        for label, value in (("name", self.generator_name), ("path", self.generator_path)):
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(f"The generator {label} must be a string or None.")
        sha = self.generator_sha256
        if sha is not None and (not isinstance(sha, str) or not _SHA256.fullmatch(sha)):
            raise InvalidInputError(
                f"The generator checksum must be 64 hexadecimal digits, not {sha!r}."
            )

    # ----------------------------------------------------------------- chunks

    def add_chunk(
        self,
        mask: np.ndarray,
        *,
        name: str | None = None,
        colour: tuple[int, int, int] | None = None,
        space: str = "wplus",
        code: np.ndarray | None = None,
        edits: list[Edit] | None = None,
        visible: bool = True,
        locked: bool = False,
    ) -> Chunk:
        """Append a chunk (name and colour chosen if not given) and return it.

        The mask and code are converted to float32 copies; the new chunk is checked against
        the others before it is added, so a failed call leaves the document unchanged.
        """
        chunk = Chunk(
            name=self.default_chunk_name() if name is None else name,
            colour=self.next_colour() if colour is None else tuple(colour),
            mask=np.array(mask, dtype=np.float32),
            space=space,
            code=None if code is None else np.array(code, dtype=np.float32),
            edits=list(edits or []),
            visible=visible,
            locked=locked,
        )
        chunk.validate(self.resolution)
        _check_unique_names([*self.chunks, chunk])
        _check_code_shapes([*self.chunks, chunk])
        self.chunks.append(chunk)
        return chunk

    def remove_chunk(self, name_or_index: str | int) -> Chunk:
        """Remove a chunk by name or index and return it."""
        return self.chunks.pop(self.chunk_index(name_or_index))

    def chunk(self, name_or_index: Chunk | str | int) -> Chunk:
        """The chunk with this name or index, or the chunk itself (see `chunk_index`)."""
        return self.chunks[self.chunk_index(name_or_index)]

    def chunk_index(self, name_or_index: Chunk | str | int) -> int:
        """Index of a chunk given itself, its name, or its index as an int or a string like "2".

        A name wins over an index, so a chunk called "2" is found by its name.
        """
        if isinstance(name_or_index, Chunk):
            for i, chunk in enumerate(self.chunks):
                if chunk is name_or_index:
                    return i
            raise InvalidInputError(f"Chunk {name_or_index.name!r} is not in this document.")
        if isinstance(name_or_index, bool):
            raise InvalidInputError(f"{name_or_index!r} is not a chunk name or index.")
        if isinstance(name_or_index, str):
            for i, chunk in enumerate(self.chunks):
                if chunk.name == name_or_index:
                    return i
            if not re.fullmatch(r"\s*-?\d+\s*", name_or_index):
                raise InvalidInputError(
                    f"There is no chunk called {name_or_index!r}; {self._names_sentence()}"
                )
            name_or_index = int(name_or_index)
        if not isinstance(name_or_index, int):
            raise InvalidInputError(f"{name_or_index!r} is not a chunk name or index.")
        if not 0 <= name_or_index < len(self.chunks):
            raise InvalidInputError(
                f"There is no chunk number {name_or_index}; {self._names_sentence()}"
            )
        return name_or_index

    def _names_sentence(self) -> str:
        if not self.chunks:
            return "the document has no chunks yet."
        listed = ", ".join(f"{i}: {c.name!r}" for i, c in enumerate(self.chunks))
        return f"the chunks are {listed}."

    def default_chunk_name(self) -> str:
        """'Chunk N' with the smallest N (from the chunk count + 1) that is not taken."""
        taken = {c.name for c in self.chunks}
        n = len(self.chunks) + 1
        while f"Chunk {n}" in taken:
            n += 1
        return f"Chunk {n}"

    def next_colour(self) -> tuple[int, int, int]:
        """The first palette colour no chunk uses; the palette cycles once all are used."""
        used = {tuple(c.colour) for c in self.chunks}
        for colour in PALETTE:
            if colour not in used:
                return colour
        return PALETTE[len(self.chunks) % len(PALETTE)]


# --------------------------------------------------------------------- checks


def _is_real(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _check_colour(label: str, colour: Any) -> None:
    ok = (
        isinstance(colour, tuple)
        and len(colour) == 3
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in colour)
        and all(0 <= int(v) <= 255 for v in colour)
    )
    if not ok:
        raise InvalidInputError(
            f"{label} has colour {colour!r}; a colour is a tuple of three whole numbers 0–255."
        )


def _check_mask(label: str, mask: Any, resolution: int) -> None:
    if not isinstance(mask, np.ndarray) or mask.dtype != np.float32:
        raise InvalidInputError(f"{label}: the mask must be a float32 array.")
    if mask.shape != (resolution, resolution):
        raise InvalidInputError(
            f"{label}: the mask has shape {mask.shape}, but the document is "
            f"{resolution}×{resolution}."
        )
    # One pass: NaN fails both comparisons, so it is caught here too.
    if mask.size and not (mask.min() >= 0.0 and mask.max() <= 1.0):
        raise InvalidInputError(f"{label}: mask values must lie between 0 and 1.")


def _check_code(label: str, code: Any, space: str) -> None:
    if not isinstance(code, np.ndarray) or code.dtype != np.float32:
        raise InvalidInputError(f"{label}: the latent code must be a float32 array.")
    if code.ndim != _CODE_NDIM[space] or 0 in code.shape:
        expected = "[num_ws, w_dim]" if space == "wplus" else "[w_dim]" if space == "w" else "[S]"
        raise InvalidInputError(
            f"{label}: a {space!r} code has shape {expected}, not {list(code.shape)}."
        )
    if not np.isfinite(code).all():
        raise InvalidInputError(f"{label}: the latent code holds NaN or infinite values.")


def _check_aligned(aligned: Any, resolution: int) -> None:
    if not isinstance(aligned, np.ndarray) or aligned.dtype != np.uint8:
        raise InvalidInputError("The aligned image must be a uint8 array.")
    if aligned.shape != (resolution, resolution, 3):
        raise InvalidInputError(
            f"The aligned image has shape {aligned.shape}; it must be "
            f"({resolution}, {resolution}, 3) for a {resolution}×{resolution} document."
        )


def _check_json(what: str, value: Any, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, dict):
        raise InvalidInputError(f"{what} must be a dictionary, not {type(value).__name__}.")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"{what} cannot be saved as JSON ({error}); use plain numbers, strings, lists "
            "and dictionaries, and None instead of NaN."
        ) from error


def _check_unique_names(chunks: list[Chunk]) -> None:
    seen: set[str] = set()
    for chunk in chunks:
        if chunk.name in seen:
            raise InvalidInputError(f"Two chunks are called {chunk.name!r}; names must differ.")
        seen.add(chunk.name)


def _check_code_shapes(chunks: list[Chunk]) -> None:
    """All codes must come from one generator: same w_dim, num_ws and S everywhere."""
    w_dims: dict[int, str] = {}
    num_ws: dict[int, str] = {}
    s_dims: dict[int, str] = {}
    for chunk in chunks:
        code = chunk.code
        if code is None:
            continue
        if chunk.space == "s":
            s_dims.setdefault(code.shape[0], chunk.name)
        else:
            w_dims.setdefault(code.shape[-1], chunk.name)
            if chunk.space == "wplus":
                num_ws.setdefault(code.shape[0], chunk.name)
    for what, sizes in (("w_dim", w_dims), ("num_ws", num_ws), ("style size", s_dims)):
        if len(sizes) > 1:
            described = " and ".join(f"{size} in {name!r}" for size, name in sizes.items())
            raise InvalidInputError(
                f"The chunks' latent codes disagree on {what} ({described}); "
                "they must come from the same generator."
            )


def _check_pti(weights: Any) -> None:
    if weights is None:
        return
    if not isinstance(weights, dict):
        raise InvalidInputError("The fine-tuned generator weights must be a dictionary.")
    for name, array in weights.items():
        if not isinstance(name, str) or not name:
            raise InvalidInputError("Fine-tuned weight names must be non-empty strings.")
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "fiub":
            raise InvalidInputError(f"Fine-tuned weight {name!r} must be a numeric array.")
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise InvalidInputError(f"Fine-tuned weight {name!r} holds NaN or infinite values.")
