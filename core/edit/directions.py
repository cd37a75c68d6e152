"""Edit directions and how a chunk's code moves along them.

A direction lives in one of two spaces:

- "w": a vector over W, either one row [w_dim] applied to the ws rows in `layers`, or one
  row per layer [num_ws, w_dim] (its rows outside `layers` are ignored);
- "s": a vector over StyleSpace, all style channels concatenated in synthesis order
  [s_dim] (a single-channel StyleSpace edit is a one-hot vector).

`scale` turns a slider value into latent units: strength 1 moves the code by
`scale × vector`. Built-in directions have unit-norm vectors and set the scale from the
spread of the latents along them (`slider_scale`, `SLIDER_SIGMAS`), so ±1 is a visible
but natural change; imported vectors keep their own length unless the library rescales
them the same way.

Edits are linear, so a chunk's edits add up and their order does not matter. Where the
code and the direction live in different spaces the edit is carried over exactly: a W
direction acts on an S code through the affine layers' linear part (S = A·w + b), and an
S direction acts on a W or W+ code after it is turned into styles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from core.errors import InvalidInputError
from core.latents.codes import ChunkCode, CodeSpace
from core.stylegan import StyleVectors

DIRECTION_SPACES: tuple[str, ...] = ("w", "s")
SOURCES: tuple[str, ...] = ("ganspace", "supervised", "imported", "user", "pack")
# The names supervised directions are shown by: what each was fitted to (core.edit.labels,
# core.hair.directions), in words; the id stays the measurement's name.
SUPERVISED_TITLES: dict[str, str] = {
    "yaw": "Head turn (yaw)", "pitch": "Head tilt (pitch)", "mouth_open": "Mouth open",
    "eyes_open": "Eyes open", "face_width": "Face width", "hair_volume": "Hair volume",
    "hair_length": "Hair length"}
# A slider at ±1 moves the code by this many standard deviations of the latents along
# the direction: enough to see, not enough to leave the space of plausible faces.
SLIDER_SIGMAS = 2.0
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


@dataclass(frozen=True, eq=False)
class Direction:
    """A named edit direction; `vector` is float32 and read-only."""

    name: str
    space: str
    vector: np.ndarray
    scale: float
    layers: tuple[int, int] | None = None  # ws rows [start, end) a W direction acts on
    source: str = "user"
    description: str = ""
    title: str = ""  # the name shown; the `name` (id) is what edits and the CLI use
    group: str = ""  # where the picker lists it (a pack's title); empty: by source

    @property
    def shown_name(self) -> str:
        return self.title or self.name

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise InvalidInputError(
                f"{self.name!r} is not a usable direction name: use letters, digits, '_', "
                "'-' and '.' only.")
        if self.space not in DIRECTION_SPACES:
            raise InvalidInputError(f"Direction {self.name!r}: space must be 'w' or 's', "
                                    f"not {self.space!r}.")
        if self.source not in SOURCES:
            raise InvalidInputError(f"Direction {self.name!r}: unknown source {self.source!r}.")
        vector = np.asarray(self.vector, dtype=np.float32)
        allowed_ndim = (1, 2) if self.space == "w" else (1,)
        if vector.ndim not in allowed_ndim or vector.size == 0:
            raise InvalidInputError(
                f"Direction {self.name!r}: a {self.space} direction has shape "
                f"{'[w_dim] or [num_ws, w_dim]' if self.space == 'w' else '[s_dim]'}, "
                f"not {list(vector.shape)}.")
        if not np.isfinite(vector).all() or not np.any(vector):
            raise InvalidInputError(f"Direction {self.name!r} is zero or not finite.")
        if not (isinstance(self.scale, int | float) and math.isfinite(self.scale)
                and self.scale > 0):
            raise InvalidInputError(f"Direction {self.name!r}: the slider scale must be a "
                                    f"positive number, not {self.scale!r}.")
        if self.layers is not None:
            start, end = (int(v) for v in self.layers)
            if not 0 <= start < end:
                raise InvalidInputError(f"Direction {self.name!r}: layer range "
                                        f"{self.layers!r} is empty.")
            object.__setattr__(self, "layers", (start, end))
        vector = vector.copy()
        vector.flags.writeable = False
        object.__setattr__(self, "vector", vector)
        object.__setattr__(self, "scale", float(self.scale))

    # ------------------------------------------------------------------ shape checks

    def check_fits(self, code_space: CodeSpace) -> None:
        """InvalidInputError when this direction cannot act on the generator's latents."""
        g = code_space.generator
        if self.space == "s":
            if self.vector.shape != (code_space.s_dim,):
                raise InvalidInputError(
                    f"Direction {self.name!r} has {self.vector.shape[0]} style channels; this "
                    f"generator has {code_space.s_dim}.")
            return
        if self.vector.shape[-1] != g.w_dim:
            raise InvalidInputError(f"Direction {self.name!r} is {self.vector.shape[-1]}-"
                                    f"dimensional; this generator's W is {g.w_dim}-dimensional.")
        if self.vector.ndim == 2 and self.vector.shape[0] != g.num_ws:
            raise InvalidInputError(f"Direction {self.name!r} has {self.vector.shape[0]} layers; "
                                    f"this generator has {g.num_ws}.")
        if self.layers is not None and self.layers[1] > g.num_ws:
            raise InvalidInputError(f"Direction {self.name!r} acts on layers up to "
                                    f"{self.layers[1]}; this generator has {g.num_ws}.")

    def ws_delta(self, num_ws: int, amount: float) -> np.ndarray:
        """The change of a W+ code [num_ws, w_dim] for `amount` latent units (W only)."""
        if self.space != "w":
            raise InvalidInputError(f"Direction {self.name!r} is a StyleSpace direction.")
        rows = np.broadcast_to(self.vector, (num_ws, self.vector.shape[-1])).copy()
        start, end = self.layers or (0, num_ws)
        rows[:start] = 0
        rows[end:] = 0
        return rows * np.float32(amount)


@dataclass(frozen=True)
class AppliedEdit:
    """A direction with the slider value to apply (from a chunk's enabled edits)."""

    direction: Direction
    strength: float

    @property
    def amount(self) -> float:
        return self.strength * self.direction.scale


def edited_styles(code_space: CodeSpace, code: ChunkCode,
                  edits: Sequence[AppliedEdit]) -> StyleVectors:
    """Style vectors [1, C] per layer of one chunk's code moved along its edits.

    Without edits this equals `code_space.to_styles([code])` exactly, so strength 0
    renders the inversion as it was.
    """
    g = code_space.generator
    device = code.value.device
    for edit in edits:
        edit.direction.check_fits(code_space)
    active = [e for e in edits if e.strength != 0]
    w_edits = [e for e in active if e.direction.space == "w"]
    s_edits = [e for e in active if e.direction.space == "s"]
    if not active:
        return code_space.to_styles([code])
    ws_delta = None
    if w_edits:
        ws_delta = torch.from_numpy(sum(e.direction.ws_delta(g.num_ws, e.amount)
                                        for e in w_edits)).to(device)
    if code.space == "s":
        flat = code.value.reshape(1, -1)
        if ws_delta is not None:
            flat = flat + _linear_style_change(code_space, ws_delta)
    else:
        ws = code.value.reshape(-1, g.w_dim).expand(g.num_ws, -1)
        if ws_delta is not None:
            ws = ws + ws_delta
        flat = code_space.flatten_styles(g.synthesis.compute_styles(ws.unsqueeze(0)))
    if s_edits:
        s_delta = sum(e.direction.vector * np.float32(e.amount) for e in s_edits)
        flat = flat + torch.from_numpy(np.asarray(s_delta, dtype=np.float32)).to(device)
    return code_space.unflatten_styles(flat)


def _linear_style_change(code_space: CodeSpace, ws_delta: torch.Tensor) -> torch.Tensor:
    """A·Δw for every layer (the affine layers without their bias), flattened: [1, s_dim]."""
    g = code_space.generator
    with_delta = g.synthesis.compute_styles(ws_delta.unsqueeze(0))
    at_zero = g.synthesis.compute_styles(torch.zeros_like(ws_delta).unsqueeze(0))
    return code_space.flatten_styles(with_delta) - code_space.flatten_styles(at_zero)


def unit(vector: np.ndarray) -> np.ndarray:
    """`vector` scaled to unit norm (float32); zero or non-finite vectors are refused."""
    values = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(values))
    if not math.isfinite(norm) or norm == 0:
        raise InvalidInputError("A direction cannot be zero or contain NaN/infinite values.")
    return (values / norm).astype(np.float32)


def slider_scale(latents: np.ndarray, vector: np.ndarray) -> float:
    """Latent units per slider unit: SLIDER_SIGMAS × the spread of `latents` along `vector`.

    `latents` [N, D] are samples in the direction's space (mapped w, or flattened styles).
    """
    direction = unit(vector.reshape(-1))
    spread = float(np.std(np.asarray(latents, dtype=np.float64).reshape(len(latents), -1)
                          @ direction.astype(np.float64)))
    if not math.isfinite(spread) or spread <= 0:
        raise InvalidInputError("The latents do not vary along this direction.")
    return SLIDER_SIGMAS * spread


def stylespace_direction(code_space: CodeSpace, layer: str, channel: int, scale: float,
                         name: str | None = None) -> Direction:
    """A single StyleSpace channel (StyleSpace paper's (layer, channel) edits)."""
    dims = code_space.layer_dims
    if layer not in dims:
        raise InvalidInputError(f"There is no style layer {layer!r}; layers are "
                                f"{', '.join(dims)}.")
    if not 0 <= channel < dims[layer]:
        raise InvalidInputError(f"Layer {layer} has channels 0–{dims[layer] - 1}, not {channel}.")
    offset = sum(d for n, d in list(dims.items())[:list(dims).index(layer)])
    vector = np.zeros(code_space.s_dim, np.float32)
    vector[offset + channel] = 1.0
    return Direction(name or f"{layer}.{channel}", "s", vector, scale, source="user",
                     description=f"StyleSpace channel {channel} of {layer}")
