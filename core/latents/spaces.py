"""The latent spaces a chunk's code can live in (names only: no torch, so documents can
be read and checked without loading a generator)."""

from __future__ import annotations

from typing import Literal, get_args

Space = Literal["w", "wplus", "s"]
SPACES: tuple[Space, ...] = get_args(Space)
