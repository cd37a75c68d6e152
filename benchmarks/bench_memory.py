"""Memory and time of ChunkyGAN inversion steps at real size (issue #21); prints JSON.

For each chunk count, gradient mode (batched / per_chunk) and precision (fp32 / bf16
autocast, fp16 on CUDA) one fresh subprocess builds a random-weight config-f generator
(1024² by default: the architecture of NVIDIA's FFHQ model), runs a few W+ steps and
reports the chunks per gradient pass, its peak RSS (ru_maxrss) or peak VRAM, seconds
per step (wall, previews included), the kernel's share of CPU time and page faults per step. Batched
configurations whose estimate does not fit in the available memory are skipped and
listed with the reason. `--churn` adds per-chunk runs without keeping freed memory,
and in a worker thread (as in the app): as it is, with THP_MEM_ALLOC_ENABLE=1, and with
one malloc arena set before the thread starts (the launcher's setting) or inside it.
`--thread` runs every configuration in a worker thread started after the launcher's
setting, as the app runs jobs.
`--passes 1 2 3` times single synthesis passes of those batch sizes (no-grad forward,
forward, backward), the pieces of a step. `--quality-steps N` compares the composite
after N steps in fp32 and mixed precision at `--quality-resolution`.

    python benchmarks/bench_memory.py                                   # the full run
    python benchmarks/bench_memory.py --resolution 128 --chunks 1 3 --quality-steps 20
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import core.invert.engine as engine
from benchmarks.bench_invert import strip_masks
from core.glibc_malloc import LIBC, M_ARENA_MAX, use_one_arena
from core.invert import InversionJob, InversionSettings, ReconstructionLoss
from core.invert.memory import activation_bytes_per_chunk, available_bytes, freed_memory_kept
from core.latents.codes import ChunkCode, CodeSpace
from core.stylegan import Generator, GeneratorConfig


def build(resolution: int, device: torch.device) -> tuple[Generator, torch.Tensor]:
    """A seeded random config-f generator with a real mean latent, and a target it made."""
    torch.manual_seed(0)
    g = Generator(GeneratorConfig.config_f(resolution)).eval().requires_grad_(False).to(device)
    g.mapping.w_avg.copy_(g.estimate_w_avg(num_samples=1000).to(device))
    with torch.no_grad():
        z = torch.randn(1, g.z_dim, generator=torch.Generator().manual_seed(1)).to(device)
        target = g.synthesis(g.mapping(z, truncation_psi=0.7))
    return g, target


def settings_for(steps: int, mode: str, precision: str) -> InversionSettings:
    return InversionSettings(space="wplus", steps=steps, coverage="whole_image",
                             gradient_mode=mode,
                             autocast="off" if precision == "fp32" else precision,
                             preview_every_steps=1)


def one_run(config: dict) -> dict:
    """Runs in the subprocess: one configuration, its figures."""
    device = torch.device(config["device"])
    if config.get("threads"):
        torch.set_num_threads(config["threads"])
    if not config.get("keep_freed", True):
        engine.freed_memory_kept = contextlib.nullcontext  # the behaviour before issue #21
    if config.get("available_gb"):  # "auto" sizes its groups as if this much were free
        engine.available_bytes = lambda device: int(config["available_gb"] * 2**30)
    g, target = build(config["resolution"], device)
    n = config["chunks"]
    settings = settings_for(10_000, config["mode"], config["precision"])
    job = InversionJob(g, target, strip_masks(n, g.img_resolution, device), settings,
                       ReconstructionLoss("l2"))
    rows: list[dict] = []

    def run_steps() -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)  # torch's threads included
        wall = time.perf_counter()
        for progress in job.run():
            now = resource.getrusage(resource.RUSAGE_SELF)
            rows.append({"seconds": time.perf_counter() - wall,
                         "cpu": now.ru_utime - usage.ru_utime + now.ru_stime - usage.ru_stime,
                         "system": now.ru_stime - usage.ru_stime,
                         "faults": now.ru_minflt - usage.ru_minflt})
            if progress.step >= config["steps"]:
                break  # leaves run(): no final render in the figures
            usage, wall = now, time.perf_counter()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if config.get("arena") == "before_thread":  # what the semedit launcher does at start
        use_one_arena()
    if config.get("thread"):  # the app runs jobs in a worker thread (its own malloc arena)
        steps = run_steps
        if config.get("arena") == "in_thread":  # at job start: the thread has its arena
            def steps() -> None:
                LIBC.mallopt(M_ARENA_MAX, 1)
                run_steps()
        worker = threading.Thread(target=steps)
        worker.start()
        worker.join()
    else:
        run_steps()
    last = rows[-1]  # the first step pays one-time costs; report the last
    out = {"seconds_per_step": round(last["seconds"], 2),
           "cpu_seconds_per_step": round(last["cpu"], 2),
           "first_step_seconds": round(rows[0]["seconds"], 2),
           "kernel_share": round(last["system"] / last["cpu"], 3) if last["cpu"] else None,
           "faults_per_step": last["faults"],
           "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
           "gradient_mode": job.gradient_mode, "chunks_per_pass": job.chunks_per_pass}
    if device.type == "cuda":
        out["peak_vram_gb"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return out


def pass_times(resolution: int, batches: list[int], repeats: int = 3) -> dict:
    """CPU seconds of one synthesis pass of b chunks: without gradients, with, backward
    (the pieces of a step; the minimum of `repeats`, freed memory kept as in a job)."""
    g, _ = build(resolution, torch.device("cpu"))
    space = CodeSpace(g)
    mean = space.mean_code("wplus").value

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    out = {}
    with freed_memory_kept():
        for b in batches:
            codes = [ChunkCode("wplus", (mean + 0.01 * i).requires_grad_(True))
                     for i in range(b)]
            best = {"no_grad_forward": [], "forward": [], "backward": []}
            for _ in range(repeats):
                start = cpu()
                with torch.no_grad():
                    space.render(codes)
                no_grad = cpu()
                images = space.render(codes)
                forward = cpu()
                images.backward(torch.ones_like(images))
                del images
                end = cpu()
                best["no_grad_forward"].append(no_grad - start)
                best["forward"].append(forward - no_grad)
                best["backward"].append(end - forward)
            out[f"batch_{b}"] = {k: round(min(v), 2) for k, v in best.items()}
    return out


def quality(args, device: torch.device, precision: str) -> dict:
    """Composite after N steps in `precision`, against the fp32 run (same process)."""
    g, target = build(args.quality_resolution, device)
    outputs = {}
    for p in ("fp32", precision):
        job = InversionJob(g, target, strip_masks(3, g.img_resolution, device),
                           settings_for(args.quality_steps, "batched", p),
                           ReconstructionLoss("l2"))
        outputs[p] = job.run_to_end().output
    target = target.cpu()
    l2 = {p: float((o - target).square().mean()) for p, o in outputs.items()}
    diff = (outputs["fp32"] - outputs[precision]).square().mean()
    return {"resolution": args.quality_resolution, "steps": args.quality_steps, "chunks": 3,
            "precision": precision, "l2_to_target_fp32": round(l2["fp32"], 6),
            f"l2_to_target_{precision}": round(l2[precision], 6),
            "l2_between_outputs": round(float(diff), 7)}


def spawn(config: dict) -> dict:
    env = dict(os.environ)
    if config.get("thp"):
        env["THP_MEM_ALLOC_ENABLE"] = "1"  # read by torch when it starts: a fresh process
    done = subprocess.run([sys.executable, __file__, "--one", json.dumps(config)],
                          capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        return {**config, "error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
    return {**config, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None)
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--chunks", type=int, nargs="*", default=[1, 3, 5])
    parser.add_argument("--modes", nargs="+", default=["batched", "per_chunk"],
                        help="batched, per_chunk, auto (groups sized from the memory)")
    parser.add_argument("--available-gb", type=float, default=None,
                        help="memory the auto mode assumes free (default: what is free)")
    parser.add_argument("--precisions", nargs="+", default=None,
                        help="fp32, bf16, fp16 (default: fp32 and bf16 on the CPU, fp16 on CUDA)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--churn", action="store_true")
    parser.add_argument("--churn-chunks", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's choice)")
    parser.add_argument("--thread", action="store_true",
                        help="run the steps in a worker thread, as the app does")
    parser.add_argument("--batched-min-available-gb", type=float, default=16.0,
                        help="run batched multi-chunk configurations only above this (CPU)")
    parser.add_argument("--quality-steps", type=int, default=0)
    parser.add_argument("--quality-resolution", type=int, default=128)
    parser.add_argument("--passes", type=int, nargs="*", default=None,
                        help="also time single synthesis passes of these batch sizes (CPU)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(json.loads(args.one))))
        return
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    precisions = args.precisions or (["fp32", "fp16"] if device.type == "cuda"
                                     else ["fp32", "bf16"])
    with torch.device("meta"):
        per_chunk = activation_bytes_per_chunk(
            Generator(GeneratorConfig.config_f(args.resolution)))
    base = {"device": str(device), "resolution": args.resolution, "steps": args.steps}
    if args.threads:
        base["threads"] = args.threads
    rows, skipped = [], []
    for n in args.chunks:
        for mode in args.modes:
            if mode == "per_chunk" and n == 1:
                continue  # one chunk: the same passes as batched
            for precision in precisions:
                config = {**base, "chunks": n, "mode": mode, "precision": precision}
                if args.thread:
                    config.update(thread=True, arena="before_thread")
                if mode == "auto" and args.available_gb:
                    config["available_gb"] = args.available_gb
                available = available_bytes(device)
                need = per_chunk * n
                floor = args.batched_min_available_gb * 2**30 if device.type == "cpu" else 0
                if mode == "batched" and n > 1 and available is not None \
                        and (need > 0.7 * available or available < floor):
                    skipped.append({**config, "reason": f"needs ~{need / 2**30:.1f} GB of "
                                    f"activations; {available / 2**30:.1f} GB available"})
                    continue
                rows.append(spawn(config))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if args.churn:
        n = args.churn_chunks
        for extra in ({"keep_freed": False}, {"thread": True}, {"thread": True, "thp": True},
                      {"thread": True, "arena": "before_thread"},
                      {"thread": True, "arena": "in_thread"}):
            mode = "batched" if n == 1 else "per_chunk"
            rows.append(spawn({**base, "chunks": n, "mode": mode, "precision": "fp32", **extra}))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    report = {"benchmark": "inversion_memory", "device": str(device), "torch": torch.__version__,
              "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "threads": args.threads or torch.get_num_threads(),
              "memory_available_gb": round((available_bytes(device) or 0) / 2**30, 1),
              "estimated_activation_gb_per_chunk": round(per_chunk / 2**30, 2),
              "results": rows, "skipped": skipped}
    if args.passes:
        if args.threads:
            torch.set_num_threads(args.threads)
        report["pass_cpu_seconds"] = pass_times(args.resolution, args.passes)
    if args.quality_steps:
        report["precision_effect"] = [quality(args, device, p) for p in precisions
                                      if p != "fp32"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
