"""Instant start, measured without trained weights; prints JSON.

1. Cost: an e4e encoder of the released shape (IR-SE-50, 18 style blocks, 512 wide) and a
   1024² config-f generator, both with random weights, on one image: the encoder's
   forward pass against one synthesis (no gradients) and one W+ inversion step
   (synthesis forward + backward, L2 loss).
2. Steps to a fixed loss, on planted targets: a random generator renders the target
   G(w*) from a W+ code w* (a different mapped z per layer, so the rows differ); an
   encoder of random weights is made to return w* + noise for that image by setting its
   latent_avg (its output is network(x) + latent_avg). W+ inversion (L2, no regulariser,
   so both starts aim at the same optimum) then counts the steps until the L2 loss is
   below a fixed fraction of the mean face's loss, from the mean face and from the
   encoder's code at several noise levels (noise std relative to the spread of w). This
   part runs at a small resolution so it fits a few minutes on two CPU cores.

    python benchmarks/bench_init.py                  # both parts, CPU
    python benchmarks/bench_init.py --skip-cost      # only the steps-to-loss part
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import device_info, pick_device, time_ms
from core.encoders import INPUT_SIZE, E4EEncoder
from core.encoders.loading import encoder_from_state
from core.invert import InversionJob, InversionSettings, ReconstructionLoss
from core.latents.codes import ChunkCode
from core.stylegan import Generator, GeneratorConfig, images_to_uint8
from core.workflows.encoder_init import encode_face
from tests.encoder_writers import REAL_WIDTHS, EncoderWidths, random_encoder_state


def random_encoder(widths: EncoderWidths, latent_avg: torch.Tensor, seed: int = 0
                   ) -> E4EEncoder:
    """e4e with seeded random weights in the official layout (the tests' writer), loaded
    as a checkpoint would be: the same cost as the release."""
    return encoder_from_state(Path("random-e4e"), random_encoder_state(widths, seed),
                              latent_avg)


def random_generator(resolution: int, *, w_dim: int, channel_max: int, seed: int = 0
                     ) -> Generator:
    torch.manual_seed(seed)
    g = Generator(GeneratorConfig.config_f(resolution, z_dim=w_dim, w_dim=w_dim,
                                           channel_max=channel_max))
    with torch.no_grad():  # the mean face of this generator, as training tracks it
        g.w_avg.copy_(g.mapping(torch.randn(2000, w_dim))[:, 0].mean(0))
    return g.eval().requires_grad_(False)


def cost(device: torch.device, repeats: int) -> dict:
    g = random_generator(1024, w_dim=512, channel_max=512).to(device)
    encoder = random_encoder(REAL_WIDTHS, torch.zeros(g.num_ws, g.w_dim)).to(device)
    image = torch.rand(1, 3, INPUT_SIZE, INPUT_SIZE, device=device) * 2 - 1
    ws = g.w_avg.reshape(1, 1, -1).repeat(1, g.num_ws, 1)
    with torch.no_grad():
        encode = time_ms(lambda: encoder(image), device, warmup=1, repeats=repeats)
        synth = time_ms(lambda: g.synthesis(ws), device, warmup=1, repeats=repeats)
    codes = ws.clone().requires_grad_(True)
    target = torch.zeros(1, 3, 1024, 1024, device=device)

    def step():
        loss = (g.synthesis(codes) - target).square().mean()
        loss.backward()
        codes.grad = None

    g.requires_grad_(False)
    inversion_step = time_ms(step, device, warmup=1, repeats=repeats)
    params = sum(p.numel() for p in encoder.parameters())
    return {"resolution": 1024, "encoder_params_m": round(params / 1e6, 1),
            "encoder_ms": encode, "synthesis_ms": synth, "inversion_step_ms": inversion_step,
            "encoder_over_synthesis": round(encode["median_ms"] / synth["median_ms"], 3),
            "encoder_over_step": round(encode["median_ms"] / inversion_step["median_ms"], 3)}


def planted_target(g: Generator, seed: int) -> torch.Tensor:
    """w*: one mapped z per layer (a W+ code whose rows differ, as real faces' do)."""
    gen = torch.Generator().manual_seed(1000 + seed)
    with torch.no_grad():
        return g.mapping(torch.randn(g.num_ws, g.z_dim, generator=gen))[:, 0]


def steps_to_loss(g: Generator, target: torch.Tensor, start: torch.Tensor,
                  thresholds: list[float], max_steps: int, learning_rate: float
                  ) -> tuple[list[int | None], float]:
    """(per threshold, the first step whose L2 is <= it, or None; the loss at the start)."""
    settings = InversionSettings(space="wplus", steps=max_steps, lambda_reg=0.0,
                                 learning_rate=learning_rate, coverage="whole_image",
                                 preview_every_steps=10**9, preview_every_seconds=1e9,
                                 gradient_mode="batched")
    job = InversionJob(g, target, torch.ones(1, g.img_resolution, g.img_resolution), settings,
                       ReconstructionLoss("l2"), initial_codes=[ChunkCode("wplus", start)])
    first = None
    reached: list[int | None] = [None] * len(thresholds)
    for progress in job.run():
        loss = progress.losses.get("l2")
        if loss is None:
            continue
        first = loss if first is None else first
        for i, threshold in enumerate(thresholds):
            if reached[i] is None and loss <= threshold:
                reached[i] = progress.step - 1  # step k's loss is of the codes it started from
        if all(r is not None for r in reached):
            job.stop()
    return reached, first


def convergence(args) -> dict:
    g = random_generator(args.resolution, w_dim=args.w_dim, channel_max=args.channel_max)
    widths = EncoderWidths(16, (16, 32, 64, args.w_dim), g.num_ws)
    spread = float(g.mapping(torch.randn(2000, g.z_dim))[:, 0].std(0).mean())
    rows = []
    started = time.perf_counter()
    for seed in range(args.seeds):
        w_star = planted_target(g, seed)
        with torch.no_grad():
            target = g.synthesis(w_star[None])  # exactly reachable: not clamped
        face = images_to_uint8(target)[0]
        encoder = random_encoder(widths, torch.zeros(g.num_ws, g.w_dim), seed)
        network_output = encode_face(encoder, face) - encoder.latent_avg
        mean_start = g.w_avg.expand(g.num_ws, -1).clone()
        with torch.no_grad():
            mean_loss = float((g.synthesis(mean_start[None]) - target).square().mean())
        thresholds = [f * mean_loss for f in args.fractions]
        entry = {"seed": seed, "mean_face_l2": round(mean_loss, 5)}
        entry["mean"], _ = steps_to_loss(g, target, mean_start, thresholds, args.max_steps,
                                         args.learning_rate)
        for sigma in args.noise:
            gen = torch.Generator().manual_seed(seed * 100 + int(sigma * 1000))
            guess = w_star + sigma * spread * torch.randn(w_star.shape, generator=gen)
            # planted: encoder(face) = network(face) + latent_avg = w* + noise
            encoder.latent_avg.copy_(guess - network_output)
            start = encode_face(encoder, face)
            assert torch.allclose(start, guess, atol=1e-3 * float(guess.abs().max()))
            steps, first = steps_to_loss(g, target, start, thresholds, args.max_steps,
                                         args.learning_rate)
            entry[f"e4e_noise_{sigma:g}"] = steps
            entry[f"e4e_noise_{sigma:g}_start_loss_over_mean"] = round(first / mean_loss, 4)
        rows.append(entry)
    methods = ["mean"] + [f"e4e_noise_{s:g}" for s in args.noise]
    summary = {}
    for method in methods:
        summary[method] = {}
        for i, fraction in enumerate(args.fractions):
            reached = sorted(r[method][i] for r in rows if r[method][i] is not None)
            summary[method][f"{fraction:g}"] = {
                "reached": f"{len(reached)}/{len(rows)}",
                "median_steps": reached[len(reached) // 2] if reached else None}
    return {"resolution": args.resolution, "num_ws": g.num_ws, "w_dim": g.w_dim,
            "loss": "l2, no regulariser", "thresholds": "fractions of the mean face's L2 "
            f"{args.fractions}", "max_steps": args.max_steps, "learning_rate": args.learning_rate,
            "noise_relative_to_w_spread": args.noise, "w_spread": round(spread, 4),
            "rows": rows, "summary": summary,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-steps", action="store_true")
    parser.add_argument("--resolution", type=int, default=32, help="steps-to-loss part")
    parser.add_argument("--w-dim", type=int, default=64)
    parser.add_argument("--channel-max", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--noise", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.01])
    parser.add_argument("--max-steps", type=int, default=300)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    args = parser.parse_args()
    device = pick_device(args.device)
    report = {"info": device_info(device)}
    if not args.skip_cost:
        report["cost_1024"] = cost(device, args.repeats)
    if not args.skip_steps:
        report["steps_to_loss"] = convergence(args)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
