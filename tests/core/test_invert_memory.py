"""The inversion step's memory: chunk-sequential gradients, stop within a chunk pass,
previews without extra renders, the automatic choice of gradient mode."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
import torch
import torchvision

import core.invert.engine as engine
from core.errors import InvalidInputError
from core.invert import InversionJob, InversionSettings, Lpips, ReconstructionLoss
from core.invert.memory import (
    activation_bytes_per_chunk,
    available_bytes,
    chunks_per_pass,
    freed_memory_kept,
)
from core.jobs import JobControl
from core.latents.codes import ChunkCode, CodeSpace
from core.stylegan import images_to_uint8, load_generator

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def gen():
    return load_generator(DATA / "ada_tiny.pkl")


@pytest.fixture(scope="module")
def lpips_random():
    torch.manual_seed(0)
    features = torchvision.models.vgg16().features.state_dict()
    return Lpips({f"features.{k}": v for k, v in features.items()})


def _target(gen, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        return gen.synthesis(gen.mapping(torch.randn(1, gen.z_dim, generator=g)))


def _three_masks(r=32):
    masks = torch.zeros(3, r, r)
    masks[0, :, : r // 2] = 1
    masks[1, :, r // 3 :] = 0.7  # soft, overlapping the first
    masks[2, r // 2 :, r // 4 : 3 * r // 4] = 1
    return masks


def _distinct_codes(gen, space, n=3):
    """Different starting codes per chunk, so every chunk's gradient differs."""
    codes = CodeSpace(gen)
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        ws = gen.mapping(torch.randn(n, gen.z_dim, generator=g), truncation_psi=0.5)
    if space == "w":
        return [codes.from_w(ws[i, 0], "w") for i in range(n)]
    return [codes.from_w(ws[i] + 0.1 * torch.randn(ws[i].shape, generator=g), space)
            for i in range(n)]


def _job(gen, loss, *, mode, space="wplus", optimise_masks=False, steps=3, control=None,
         **extra):
    settings = InversionSettings(space=space, steps=steps, optimise_masks=optimise_masks,
                                 gradient_mode=mode, lambda_reg=0.5, lambda_mask=0.3,
                                 preview_every_steps=1, **extra)
    return InversionJob(gen, _target(gen), _three_masks(), settings, loss,
                        initial_codes=_distinct_codes(gen, space), control=control)


def _count_synthesis(gen, monkeypatch, on_call=None):
    calls = []
    original = gen.synthesis.forward

    def counted(*args, **kwargs):
        calls.append(1)
        if on_call is not None:
            on_call(len(calls))
        return original(*args, **kwargs)

    monkeypatch.setattr(gen.synthesis, "forward", counted)
    return calls


def _close(a: torch.Tensor, b: torch.Tensor, rel=1e-4) -> bool:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max()) <= rel * float(a.abs().max()) + 1e-12


def _memory_for_groups_of(gen, k: int) -> int:
    """Available bytes for which "auto" runs 3 chunks in groups of k."""
    per_chunk = activation_bytes_per_chunk(gen)
    low, high = 1, 10**6 * per_chunk
    while low < high:  # the least memory that gives groups of k
        middle = (low + high) // 2
        if chunks_per_pass("auto", 3, per_chunk, middle) >= k:
            high = middle
        else:
            low = middle + 1
    return low


@pytest.mark.parametrize("space", ["w", "wplus", "s"])
@pytest.mark.parametrize("optimise_masks", [False, True])
@pytest.mark.parametrize("mode", ["per_chunk", "grouped"])
def test_chunk_sequential_gradients_equal_the_batched_ones(gen, lpips_random, monkeypatch,
                                                           space, optimise_masks, mode):
    """per_chunk: 3 passes of one chunk; grouped ("auto" with memory for 2 chunks): 2 + 1."""
    loss = ReconstructionLoss("lpips+l2", lpips_model=lpips_random)
    monkeypatch.setattr(engine, "available_bytes", lambda device: _memory_for_groups_of(gen, 2))
    jobs = {m: _job(gen, loss, mode=m, space=space, optimise_masks=optimise_masks)
            for m in ("batched", "per_chunk" if mode == "per_chunk" else "auto")}
    jobs = dict(zip(("batched", mode), jobs.values(), strict=True))
    first = {m: next(job.run()) for m, job in jobs.items()}  # one step each
    batched, per_chunk = jobs["batched"], jobs[mode]
    assert per_chunk.gradient_mode == mode and batched.gradient_mode == "batched"
    assert per_chunk.chunks_per_pass == (1 if mode == "per_chunk" else 2)
    for a, b in zip(batched.codes, per_chunk.codes, strict=True):
        assert a.value.grad is not None and float(a.value.grad.abs().max()) > 0
        assert _close(a.value.grad, b.value.grad)
    if optimise_masks:
        assert _close(batched.masks.logits.grad, per_chunk.masks.logits.grad)
    losses_a, losses_b = first["batched"].losses, first[mode].losses
    assert losses_a.keys() == losses_b.keys() and "reg" in losses_a
    for key in losses_a:
        assert losses_b[key] == pytest.approx(losses_a[key], rel=1e-5, abs=1e-7)
    # Equal gradients make equal optimisers: a few more steps stay together.
    for job in jobs.values():
        list(job.run())
    for a, b in zip(batched.codes, per_chunk.codes, strict=True):
        assert _close(a.value, b.value, rel=1e-3)


@pytest.mark.parametrize("stop_at", [1, 2, 3, 4, 5])
def test_stop_takes_at_most_one_chunk_pass_and_drops_the_step(gen, monkeypatch, stop_at):
    """3 chunks per chunk: 5 synthesis passes a step (chunk 0 with gradients, chunks 1
    and 2 without, then chunk 1 and chunk 2 again with gradients)."""
    loss = ReconstructionLoss("l2")
    straight = _job(gen, loss, mode="per_chunk", optimise_masks=True)
    straight.run_to_end()

    control = JobControl()
    job = _job(gen, loss, mode="per_chunk", optimise_masks=True, control=control)
    stop_call = 5 + stop_at  # during the second step
    calls = _count_synthesis(gen, monkeypatch,
                             lambda n: control.stop() if n == stop_call else None)
    progress, states = [], {}
    for p in job.run():
        progress.append(p)
        states.setdefault(p.step, ([c.value.detach().clone() for c in job.codes],
                                   job.masks.logits.detach().clone()))
    # A stop seen during the last pass lets that step finish; any earlier one drops it.
    done = 2 if stop_at == 5 else 1
    assert len(calls) == stop_call  # no synthesis pass after the one that saw the stop
    assert progress[-1].stopped and job.step == done
    assert not control.stop_requested  # acknowledged
    codes, logits = states[done]
    for before, now in zip(codes, job.codes, strict=True):
        assert torch.equal(before, now.value)
    assert torch.equal(logits, job.masks.logits)
    assert progress[-1].preview is not None  # the last full step's composite

    monkeypatch.undo()
    last = list(job.run())[-1]  # resumes as if never stopped
    assert last.finished and job.step == 3
    for a, b in zip(straight.codes, job.codes, strict=True):
        assert torch.equal(a.value, b.value)
    assert torch.equal(straight.masks.logits, job.masks.logits)


def test_batched_stop_between_forward_and_backward(gen, monkeypatch):
    control = JobControl()
    job = _job(gen, ReconstructionLoss("l2"), mode="batched", control=control)
    calls = _count_synthesis(gen, monkeypatch, lambda n: control.stop() if n == 2 else None)
    progress = list(job.run())
    assert len(calls) == 2 and progress[-1].stopped and job.step == 1


@pytest.mark.parametrize("mode, per_step, final",
                         [("batched", 1, 1), ("per_chunk", 5, 1), ("grouped", 3, 1)])
def test_preview_is_the_steps_composite_not_another_render(gen, monkeypatch, mode, per_step,
                                                           final):
    """Passes a step: grouped in twos, chunks 0-1 with gradients, chunk 2 without, then
    chunk 2 again with gradients."""
    monkeypatch.setattr(engine, "available_bytes", lambda device: _memory_for_groups_of(gen, 2))
    job = _job(gen, ReconstructionLoss("l2"), mode="auto" if mode == "grouped" else mode,
               steps=4)
    assert job.gradient_mode == mode
    calls = _count_synthesis(gen, monkeypatch)
    progress = list(job.run())
    result = job.result()
    assert [p.step for p in progress] == [1, 2, 3, 4, 4]
    assert all(p.preview is not None for p in progress)
    assert len(calls) == 4 * per_step + final  # result() reuses the final render
    assert (progress[-1].preview == images_to_uint8(result.output)[0]).all()


def test_seconds_include_the_preview(gen, monkeypatch):
    job = _job(gen, ReconstructionLoss("l2"), mode="batched", steps=4)
    real = engine.images_to_uint8

    def slow(images):
        time.sleep(0.1)
        return real(images)

    monkeypatch.setattr(engine, "images_to_uint8", slow)
    result = job.run_to_end()
    assert result.seconds >= 5 * 0.1  # four step previews and the final one


def test_auto_mode_follows_the_available_memory(gen, monkeypatch):
    per_chunk = activation_bytes_per_chunk(gen)
    # a pass of k chunks needs k·per_chunk·1.5 (heap growth) within 70 % of what is free
    assert chunks_per_pass("auto", 3, per_chunk, 2 * per_chunk) == 1
    assert chunks_per_pass("auto", 3, per_chunk, 5 * per_chunk) == 2
    assert chunks_per_pass("auto", 5, per_chunk, 9 * per_chunk) == 4
    assert chunks_per_pass("auto", 3, per_chunk, 10 * per_chunk) == 3
    assert chunks_per_pass("auto", 3, per_chunk, None) == 1
    assert chunks_per_pass("auto", 1, per_chunk, 0) == 1
    assert chunks_per_pass("batched", 3, per_chunk, 0) == 3
    assert chunks_per_pass("per_chunk", 3, per_chunk, 10**15) == 1
    loss = ReconstructionLoss("l2")
    for available, mode in [(2, "per_chunk"), (5, "grouped"), (100, "batched")]:
        monkeypatch.setattr(engine, "available_bytes", lambda device, a=available: a * per_chunk)
        assert _job(gen, loss, mode="auto").gradient_mode == mode


@pytest.mark.parametrize("name", ["ada_tiny.pkl", "ada_tiny64_w512.pkl"])
def test_activation_estimate_matches_what_backward_keeps(name):
    g = load_generator(DATA / name)
    shared = {t.untyped_storage().data_ptr() for t in [*g.parameters(), *g.buffers()]}
    kept: dict[int, int] = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in shared:
            kept[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    ws = g.w_avg.reshape(1, 1, -1).repeat(1, g.num_ws, 1).requires_grad_(True)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        g.synthesis(ws)
    assert 0.8 <= activation_bytes_per_chunk(g) / sum(kept.values()) <= 1.4


def test_available_memory_is_read():
    assert available_bytes("cpu") > 0


@pytest.mark.usefixtures("one_torch_thread")
def test_freed_memory_is_reused_while_kept():
    """A step of 64 MB tensors (above glibc's mmap threshold): outside the block every
    step faults all its pages in afresh; inside, later steps reuse the first one's."""
    x = torch.rand(1, 4, 2048, 2048)
    w = torch.ones(1, 4, 1, 1, requires_grad=True)
    kernel = torch.ones(4, 4, 3, 3)

    def faults_of_a_step() -> int:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        y = torch.nn.functional.conv2d(x * w, kernel, padding=1).relu()
        (y * y).mean().backward()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    outside = [faults_of_a_step() for _ in range(3)]
    with freed_memory_kept() as applies:
        if not applies:
            pytest.skip("keeping freed memory is a glibc setting")
        inside = [faults_of_a_step() for _ in range(4)]
    assert min(outside) > 5 * 16 * 2**20 * 4 // 4096 // 2  # several 64 MB tensors, afresh
    assert sum(inside[1:]) < 0.3 * sum(outside)


def test_mixed_precision_settings(gen):
    loss = ReconstructionLoss("l2")
    with pytest.raises(InvalidInputError, match="CUDA"):
        _job(gen, loss, mode="batched", autocast="fp16")
    with pytest.raises(InvalidInputError, match="gradient mode"):
        InversionSettings(gradient_mode="sometimes")
    with pytest.raises(InvalidInputError, match="autocast"):
        InversionSettings(autocast="fp8")
    exact = _job(gen, loss, mode="batched")
    mixed = _job(gen, loss, mode="batched", autocast="bf16")
    exact_result, mixed_result = exact.run_to_end(), mixed.run_to_end()
    assert not torch.equal(exact_result.output, mixed_result.output)  # bf16 did run
    assert float((exact_result.output - mixed_result.output).abs().mean()) < 0.05
    assert isinstance(mixed_result.codes[0], ChunkCode)
    assert mixed_result.codes[0].value.dtype == torch.float32


@pytest.mark.parametrize("mode, autocast, per_pass", [("per_chunk", "bf16", 1),
                                                      ("batched", "off", 2)])
def test_cli_options_reach_the_engine(tmp_path, monkeypatch, capsys, mode, autocast, per_pass):
    from PIL import Image

    from semedit_gui.launcher import main as semedit

    seen = []
    real_run = InversionJob.run

    def recording_run(job):
        seen.append((job.settings.gradient_mode, job.settings.autocast, job.chunks_per_pass))
        return real_run(job)

    monkeypatch.setattr(InversionJob, "run", recording_run)
    photo = tmp_path / "photo.png"
    Image.fromarray((torch.rand(48, 48, 3) * 255).byte().numpy()).save(photo)
    masks = []
    for name, cols in (("left.png", slice(0, 16)), ("right.png", slice(16, 32))):
        mask = torch.zeros(32, 32, dtype=torch.uint8)
        mask[:, cols] = 255
        Image.fromarray(mask.numpy()).save(tmp_path / name)
        masks += ["--mask", str(tmp_path / name)]
    code = semedit(["invert", str(photo), "--generator", str(DATA / "ada_tiny.pkl"), *masks,
                    "--no-align", "--loss", "l2", "--steps", "2", "--gradient-mode", mode,
                    "--autocast", autocast, "-o", str(tmp_path / "p.semedit")])
    assert code == 0, capsys.readouterr().err
    assert seen and seen[0] == (mode, autocast, per_pass)
    with pytest.raises(SystemExit):
        semedit(["invert", str(photo), "--generator", str(DATA / "ada_tiny.pkl"), *masks,
                 "--gradient-mode", "sometimes", "-o", str(tmp_path / "q.semedit")])
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err


_LAUNCHED = """
import os, resource, sys
from semedit_gui import launcher
assert "torch" not in sys.modules  # the launcher imports torch only after its setup
try:
    launcher.main(["--version"])
except SystemExit:
    pass
import torch
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
torch.empty(16 * 2**20).fill_(1)  # 64 MB: 16384 pages of 4 kB
print(os.environ.get("THP_MEM_ALLOC_ENABLE"),
      resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.parametrize("user_value", [None, "0"])
def test_the_launcher_asks_torch_for_large_pages_unless_the_user_said_otherwise(user_value):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    if user_value is not None:
        env["THP_MEM_ALLOC_ENABLE"] = user_value
    done = subprocess.run([sys.executable, "-c", _LAUNCHED], capture_output=True, text=True,
                          env=env, cwd=Path(__file__).resolve().parents[2], check=True)
    assert done.stdout.startswith("semedit ")  # --version ran
    value, faults = done.stdout.splitlines()[-1].split()
    assert value == (user_value or "1")
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if thp.exists() and "[never]" not in thp.read_text():
        # torch read it: 2 MB pages fault in 512 times fewer (measured 680 vs 65576 for 256 MB)
        assert (int(faults) < 2000) == (value == "1")


_WORKER_THREAD = """
import resource, sys, threading
if sys.argv[1] == "launcher":
    from semedit_gui import launcher
    launcher.prepare_environment()
import torch
from core.invert.memory import freed_memory_kept
torch.set_num_threads(1)
x = torch.rand(1, 4, 2048, 2048)  # 64 MB tensors, as in test_freed_memory_is_reused_while_kept
w = torch.ones(1, 4, 1, 1, requires_grad=True)
kernel = torch.ones(4, 4, 3, 3)
faults = []

def steps():  # as the app's worker thread runs an inversion
    with freed_memory_kept():
        for _ in range(4):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            y = torch.nn.functional.conv2d(x * w, kernel, padding=1).relu()
            (y * y).mean().backward()
            del y
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)

worker = threading.Thread(target=steps)
worker.start()
worker.join()
print(*faults)
"""


@pytest.mark.parametrize("start, arena_max", [("launcher", None), ("plain", None),
                                              ("launcher", "8")])
def test_a_worker_thread_reuses_freed_memory_after_the_launchers_setup(start, arena_max):
    """glibc gives a new thread an arena that mmaps every block above 64 MB afresh;
    after the launcher's one-arena setting the worker's later steps reuse the main
    heap's blocks (measured: 360 k faults every step, against 33 k then 0).
    A MALLOC_ARENA_MAX the user set is left as it is."""
    import os
    import subprocess
    import sys

    from core.glibc_malloc import LIBC

    if LIBC is None:
        pytest.skip("malloc arenas are a glibc matter")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["THP_MEM_ALLOC_ENABLE"] = "0"  # 4 kB pages, whatever the launcher's default
    if arena_max is not None:
        env["MALLOC_ARENA_MAX"] = arena_max
    done = subprocess.run([sys.executable, "-c", _WORKER_THREAD, start], capture_output=True,
                          text=True, env=env, cwd=Path(__file__).resolve().parents[2],
                          check=True)
    first, *later = (int(f) for f in done.stdout.split())
    assert first > 100_000  # the first step maps its memory in any case
    one_arena = start == "launcher" and arena_max is None
    assert (sum(later) < 0.5 * first) == one_arena, (first, later)
