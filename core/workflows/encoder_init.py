"""Instant start: an encoder's first guess as the starting code of every chunk.

The encoder (e4e) maps the aligned face to a W+ code in one pass. A chunk in W+ starts
from that code as it is; in W from its mean over the layers (one w for every layer); in
S from the style vectors the generator's affine layers make of it. Without an encoder
the inversion starts from the mean face, as before.

`init`: "e4e" (the encoder is required), "mean", or None for "e4e when an encoder is
installed, else mean". With None, an installed default encoder made for another
generator (other num_ws or w_dim) is passed over with a note; an encoder the user named
must fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.errors import InvalidInputError
from core.latents.codes import ChunkCode, CodeSpace, Space
from core.models.loaded import LoadedModels

INITS = ("e4e", "mean")
ENCODER_BENEFIT = ("Install the e4e encoder (Models…) for an instant first reconstruction: "
                   "every chunk starts from the encoder's guess, editable at once, and "
                   "Refine needs far fewer steps.")


@dataclass(frozen=True)
class InitChoice:
    """Where an inversion starts: "e4e" (with the loaded encoder) or "mean"."""

    name: str
    encoder: object | None = None
    note: str | None = None  # why an installed encoder was not used


def encoder_mismatch(encoder, generator) -> str | None:
    """Why the encoder's codes cannot drive the generator (None when they can)."""
    if (encoder.num_ws, encoder.w_dim) == (generator.num_ws, generator.w_dim):
        return None
    return (f"The encoder makes codes of {encoder.num_ws}×{encoder.w_dim} (num_ws × w_dim) "
            f"but the generator takes {generator.num_ws}×{generator.w_dim}; use an encoder "
            "trained for this generator, or --init mean.")


def choose_init(models: LoadedModels, init: str | None, generator) -> InitChoice:
    """The start `init` asks for (see the module notes); ModelMissingError when "e4e" is
    asked for and no encoder is installed, InvalidInputError when it does not fit."""
    if init not in (None, *INITS):
        raise InvalidInputError(f"Unknown init {init!r}; use one of {INITS}.")
    if init == "mean":
        return InitChoice("mean")
    encoder = models.encoder() if init == "e4e" else models.encoder_if_installed()
    if encoder is None:
        return InitChoice("mean")
    problem = encoder_mismatch(encoder, generator)
    if problem is None:
        return InitChoice("e4e", encoder)
    if init == "e4e" or models.choice.encoder is not None:
        raise InvalidInputError(problem)
    return InitChoice("mean", note=f"The installed encoder was not used. {problem}")


@torch.no_grad()
def encode_face(encoder, aligned: np.ndarray) -> torch.Tensor:
    """The encoder's W+ code [num_ws, w_dim] of an aligned face (uint8 [R, R, 3])."""
    from core.encoders import encoder_input

    return encoder(encoder_input(aligned, encoder.input_size))[0]


@torch.no_grad()
def code_from_wplus(codes: CodeSpace, wplus: torch.Tensor, space: Space) -> ChunkCode:
    """A W+ code as a code in `space`: W+ as is, W its mean over the layers, S through the
    affine layers."""
    device = codes.generator.w_avg.device
    wplus = wplus.to(device, torch.float32)
    if space == "w":
        return codes.from_w(wplus.mean(dim=0), "w")
    return codes.from_w(wplus, space)


def encoder_codes(encoder, generator, aligned: np.ndarray, space: Space,
                  count: int) -> list[ChunkCode]:
    """`count` starting codes in `space`, all the encoder's guess for the whole face."""
    problem = encoder_mismatch(encoder, generator)
    if problem is not None:
        raise InvalidInputError(problem)
    code = code_from_wplus(CodeSpace(generator), encode_face(encoder, aligned), space)
    return [code.detached() for _ in range(count)]
