"""Remake tests/data/e4e_*_expected.npz with encoder4editing's own code (not run by tests).

    python tests/data/e4e_make_reference.py /path/to/encoder4editing [--real]

The e4e checkout (github.com/omertov/encoder4editing @ 99ea505) is imported, never copied.
Its `models.stylegan2.op` compiles CUDA kernels at import; the encoder uses none of them
(its EqualLinear without activation is F.linear), so stand-ins that fail if called are
registered first. The tiny encoder is e4e's `Encoder4Editing` with its submodules rebuilt
from e4e's own classes at narrow widths; its forward() is e4e's, unchanged.
"""

from __future__ import annotations

import argparse
import io
import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]


def _import_e4e(checkout: Path):
    def never(*args, **kwargs):
        raise AssertionError("a CUDA op of e4e's generator was called")

    op = types.ModuleType("models.stylegan2.op")
    op.FusedLeakyReLU = op.fused_leaky_relu = op.upfirdn2d = never
    sys.modules["models.stylegan2.op"] = op
    sys.path.insert(0, str(checkout))
    from models.encoders import helpers, psp_encoders

    return helpers, psp_encoders


def _e4e_encoder(widths, helpers, psp_encoders, writers):
    size = 2 ** ((widths.num_ws + 2) // 2)  # style_count = 2 log2(size) - 2
    encoder = psp_encoders.Encoder4Editing(50, "ir_se", argparse.Namespace(stylegan_size=size))
    assert encoder.style_count == widths.num_ws
    if widths == writers.REAL_WIDTHS:
        return encoder
    stem, w = widths.stem, widths.stages[-1]
    encoder.input_layer = nn.Sequential(nn.Conv2d(3, stem, (3, 3), 1, 1, bias=False),
                                        nn.BatchNorm2d(stem), nn.PReLU(stem))
    inputs = (stem, *widths.stages[:-1])
    blocks = [helpers.get_block(i, d, n)
              for i, d, n in zip(inputs, widths.stages, writers.UNITS_PER_STAGE, strict=True)]
    encoder.body = nn.Sequential(*[helpers.bottleneck_IR_SE(b.in_channel, b.depth, b.stride)
                                   for block in blocks for b in block])
    encoder.styles = nn.ModuleList(
        psp_encoders.GradualStyleBlock(w, w, 16 if i < 3 else 32 if i < 7 else 64)
        for i in range(widths.num_ws))
    encoder.latlayer1 = nn.Conv2d(widths.stages[2], w, kernel_size=1, stride=1, padding=0)
    encoder.latlayer2 = nn.Conv2d(widths.stages[1], w, kernel_size=1, stride=1, padding=0)
    return encoder


def make_reference(widths, seed: int, batch: int, out: Path, e4e, writers) -> None:
    checkpoint = writers.e4e_checkpoint(writers.random_encoder_state(widths, seed),
                                        writers.random_latent_avg(widths))
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, map_location="cpu")  # as load_e4e_standalone reads it
    encoder = _e4e_encoder(widths, *e4e, writers)
    encoder.load_state_dict({k[len("encoder."):]: v for k, v in checkpoint["state_dict"].items()
                             if k.startswith("encoder.")}, strict=True)
    encoder.eval()
    with torch.no_grad():
        raw = encoder(writers.reference_input(batch))
        # scripts/inference.py get_latents: codes + latent_avg.repeat(N, 1, 1)
        codes = raw + checkpoint["latent_avg"].repeat(raw.shape[0], 1, 1)
    np.savez_compressed(out, codes=codes.numpy().astype(np.float32), seed=seed, batch=batch,
                        stem=widths.stem, stages=np.array(widths.stages), num_ws=widths.num_ws)
    print(out, tuple(codes.shape))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("e4e_checkout", type=Path)
    parser.add_argument("--real", action="store_true", help="also the real IR-SE-50 (~4 GB RAM)")
    args = parser.parse_args()
    e4e = _import_e4e(args.e4e_checkout)
    sys.path.insert(1, str(ROOT))
    from tests import encoder_writers as writers

    data = ROOT / "tests" / "data"
    make_reference(writers.TINY_WIDTHS, 0, 3, data / "e4e_tiny_expected.npz", e4e, writers)
    if args.real:
        make_reference(writers.REAL_WIDTHS, 0, 1, data / "e4e_real_structure_expected.npz",
                       e4e, writers)


if __name__ == "__main__":
    main()
