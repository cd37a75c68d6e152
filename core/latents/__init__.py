"""Latent codes in W, W+ and S: below inversion, editing and hair transfer, which all use them.

`core.latents.spaces` (the space names) is torch-free; `core.latents.codes` holds
`ChunkCode` and `CodeSpace`, which need torch and a generator.
"""

from core.latents.spaces import SPACES, Space

__all__ = ["SPACES", "Space"]
