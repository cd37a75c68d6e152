"""The bundle's runtime hook packaging/rthooks/torchvision_cpu_ops.py.

- Its pure-torch nms equals torchvision's C++ nms (fast; runs where torchvision's ops
  load, as in the dev environment).
- With the hook active, torchvision, Segment Anything and lpips import and batched_nms
  runs even where torchvision's ops cannot load (PyPI's CUDA torchvision beside a
  CPU-only torch, as in packaging/build.sh's venv). Slow (a fresh interpreter): only with
  `-m slow`, which packaging/build.sh runs.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

HOOK = Path(__file__).resolve().parents[2] / "packaging" / "rthooks" / "torchvision_cpu_ops.py"


@pytest.fixture(scope="module")
def hook():
    spec = importlib.util.spec_from_file_location("semedit_rthook_torchvision", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not frozen: defines functions, installs nothing
    return module


@pytest.fixture(scope="module")
def ops():
    try:
        from torchvision import ops
    except (ImportError, RuntimeError) as error:  # CPU torch beside PyPI's CUDA torchvision
        pytest.skip(f"torchvision's own nms is not available here: {error}")
    return ops


def random_boxes(generator, n: int, dtype=torch.float32):
    corner = torch.rand(n, 2, generator=generator) * 100
    size = torch.rand(n, 2, generator=generator) * 40 + 1
    return torch.cat([corner, corner + size], dim=1).to(dtype)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_matches_torchvision(hook, ops, threshold: float) -> None:
    generator = torch.Generator().manual_seed(7)
    for n in (1, 2, 17, 300):
        boxes = random_boxes(generator, n)
        scores = torch.rand(n, generator=generator)
        scores[::5] = 0.5  # ties keep their input order
        expected = ops.nms(boxes, scores, threshold)
        assert torch.equal(hook.nms_cpu(boxes, scores, threshold), expected)


def test_nms_of_nothing_and_of_identical_boxes(hook, ops) -> None:
    empty = torch.zeros((0, 4))
    assert hook.nms_cpu(empty, torch.zeros(0), 0.5).tolist() == []
    same = torch.tensor([[0.0, 0.0, 10.0, 10.0]] * 3)
    scores = torch.tensor([0.2, 0.9, 0.5])
    assert hook.nms_cpu(same, scores, 0.5).tolist() == ops.nms(same, scores, 0.5).tolist() == [1]


def test_batched_nms_is_nms_of_offset_boxes(hook, ops) -> None:
    """What Segment Anything calls, with the hook's kernel in place of torchvision's."""
    generator = torch.Generator().manual_seed(3)
    boxes = random_boxes(generator, 200, torch.float64)
    scores = torch.rand(200, generator=generator, dtype=torch.float64)
    classes = torch.randint(0, 4, (200,), generator=generator)
    expected = ops.batched_nms(boxes, scores, classes, 0.5)
    # batched_nms offsets each class's boxes and calls nms once (the coordinate trick).
    offsets = classes.to(boxes) * (boxes.max() + 1)
    assert torch.equal(hook.nms_cpu(boxes + offsets[:, None], scores, 0.5), expected)


@pytest.mark.slow
def test_hook_makes_torchvision_usable(request: pytest.FixtureRequest) -> None:
    if "slow" not in (request.config.getoption("-m") or ""):
        pytest.skip("runs with `pytest tests/packaging -m slow` (packaging/build.sh)")
    script = textwrap.dedent(f"""
        import sys
        sys.frozen = True  # as in the bundle, where PyInstaller runs the hook first
        exec(compile(open({str(HOOK)!r}).read(), "hook", "exec"))
        import torch, torchvision, lpips, segment_anything
        from segment_anything.automatic_mask_generator import SamAutomaticMaskGenerator
        from torchvision.ops import batched_nms
        boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [0, 0, 10, 10], [20, 20, 30, 30.]])
        scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
        print(batched_nms(boxes, scores, torch.tensor([0, 0, 1, 1]), 0.5).tolist())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[0, 2, 3]", result.stdout
