"""Per-chunk latent codes in W, W+ or S, and rendering all chunks in one batched call.

A code's tensor shape depends on its space:
- "w":     [w_dim]            one w broadcast to every layer,
- "wplus": [num_ws, w_dim]    one w per layer,
- "s":     [sum of style dims] every layer's style vector, concatenated in synthesis order.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from core.errors import InvalidInputError
from core.latents.spaces import SPACES, Space
from core.stylegan import Generator, StyleVectors


@dataclass
class ChunkCode:
    space: Space
    value: torch.Tensor

    def detached(self) -> ChunkCode:
        return ChunkCode(self.space, self.value.detach().clone())


class CodeSpace:
    """Everything about latent codes that depends on one generator."""

    def __init__(self, generator: Generator):
        self.generator = generator
        self.layer_dims = generator.synthesis.style_dims()
        with torch.no_grad():
            avg_ws = generator.w_avg.reshape(1, 1, -1).repeat(1, generator.num_ws, 1)
            self.s_avg = self.flatten_styles(generator.synthesis.compute_styles(avg_ws))[0]

    @property
    def s_dim(self) -> int:
        return sum(self.layer_dims.values())

    def shape(self, space: Space) -> tuple[int, ...]:
        g = self.generator
        return {"w": (g.w_dim,), "wplus": (g.num_ws, g.w_dim), "s": (self.s_dim,)}[space]

    def check(self, code: ChunkCode) -> None:
        if code.space not in SPACES:
            raise InvalidInputError(f"Unknown latent space {code.space!r}; use one of {SPACES}.")
        if tuple(code.value.shape) != self.shape(code.space):
            expected, got = list(self.shape(code.space)), list(code.value.shape)
            raise InvalidInputError(f"A {code.space} code must have shape {expected}, not {got}.")
        if not torch.isfinite(code.value).all():
            raise InvalidInputError("The latent code contains NaN or infinite values.")

    def mean_code(self, space: Space) -> ChunkCode:
        """The code of the average face: the usual starting point of an inversion."""
        return self.from_w(self.generator.w_avg, space)

    def from_w(self, w: torch.Tensor, space: Space) -> ChunkCode:
        """Convert a w ([w_dim]) or W+ ([num_ws, w_dim]) code into `space`."""
        g = self.generator
        ws = w.reshape(-1, g.w_dim)
        ws = ws.expand(g.num_ws, -1) if ws.shape[0] == 1 else ws
        if space == "w":
            if not torch.equal(ws, ws[:1].expand_as(ws)):
                raise InvalidInputError("A W+ code with different rows cannot become a W code.")
            return ChunkCode("w", ws[0].detach().clone())
        if space == "wplus":
            return ChunkCode("wplus", ws.detach().clone())
        with torch.no_grad():
            styles = g.synthesis.compute_styles(ws.unsqueeze(0))
        return ChunkCode("s", self.flatten_styles(styles)[0])

    def mean_of(self, space: Space) -> torch.Tensor:
        return self.s_avg if space == "s" else self.mean_code(space).value

    def regulariser(self, code: ChunkCode) -> torch.Tensor:
        """Mean squared distance to the average code (per element, so λ≈1 suits LPIPS)."""
        return (code.value - self.mean_of(code.space).to(code.value.device)).square().mean()

    def to_styles(self, codes: list[ChunkCode]) -> StyleVectors:
        """Style vectors of all chunks, batched in chunk order (one affine call per layer)."""
        g = self.generator
        ws_rows = [i for i, c in enumerate(codes) if c.space != "s"]
        s_rows = [i for i, c in enumerate(codes) if c.space == "s"]
        parts: dict[int, int] = {}  # chunk index -> row in the concatenated batch
        pieces: list[StyleVectors] = []
        if ws_rows:
            ws = torch.stack([codes[i].value.reshape(-1, g.w_dim).expand(g.num_ws, -1)
                              for i in ws_rows])
            pieces.append(g.synthesis.compute_styles(ws))
        if s_rows:
            pieces.append(self.unflatten_styles(torch.stack([codes[i].value for i in s_rows])))
        order = ws_rows + s_rows
        for row, chunk in enumerate(order):
            parts[chunk] = row
        batched = {name: torch.cat([p[name] for p in pieces]) for name in self.layer_dims}
        if order == list(range(len(codes))):
            return batched
        index = torch.tensor([parts[i] for i in range(len(codes))], device=batched[
            next(iter(batched))].device)
        return {name: v.index_select(0, index) for name, v in batched.items()}

    def flatten_styles(self, styles: StyleVectors) -> torch.Tensor:
        return torch.cat([styles[name] for name in self.layer_dims], dim=1)

    def unflatten_styles(self, flat: torch.Tensor) -> StyleVectors:
        out, start = {}, 0
        for name, dim in self.layer_dims.items():
            out[name] = flat[:, start : start + dim]
            start += dim
        return out

    def render(self, codes: list[ChunkCode], *, noise_mode="const",
               force_fp32: bool = False) -> torch.Tensor:
        """Every chunk's full image, [n, C, R, R], from ONE synthesis call."""
        return self.generator.synthesis(styles=self.to_styles(codes), noise_mode=noise_mode,
                                        force_fp32=force_fp32)
