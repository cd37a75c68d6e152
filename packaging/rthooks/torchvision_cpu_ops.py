"""Runtime hook of the frozen SemEdit: torchvision's `nms` for a CPU-only torch.

PyPI's torchvision wheels for Linux are CUDA builds: their C++ extension (`_C.so`) needs
libtorch_cuda.so, so next to a CPU-only torch (the bundle's default) it cannot load.
torchvision then fails at import ("operator torchvision::nms does not exist", raised by
its fake-tensor registrations), and with it lpips, Segment Anything and `core.cli`.

When, and only when, that extension cannot load, this hook (run by PyInstaller before
the app) defines the operator torchvision::nms with a pure-torch CPU kernel, as
torchvision's own C++ CPU kernel computes it, before torchvision is first imported, and
lets `torchvision.ops.nms` / `batched_nms` (Segment Anything's proposals) call it.
`qnms` gets a schema only, so that torchvision imports. The other C++ ops (roi_align,
deform_conv2d, the image decoders...) stay unavailable: SemEdit does not use them. With
matching wheels (PyTorch's CPU index, or a CUDA torch) this hook changes nothing.

The hook waits for the first `import torchvision`, so commands that never use torch do
not pay for importing it here.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_library = None  # the torch.library.Library that holds the definitions (kept alive)


def nms_cpu(dets, scores, iou_threshold: float):
    """torchvision's CPU non-maximum suppression (nms_kernel.cpp), in torch operations.

    Boxes are (x1, y1, x2, y2); a box is dropped when its IoU with a kept box of higher
    score is above `iou_threshold`. Returns the kept indices, by decreasing score (ties
    keep their input order, as the C++ kernel's stable sort does).
    """
    import torch

    if dets.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=dets.device)
    order = torch.sort(scores, dim=0, descending=True, stable=True).indices
    boxes = dets[order]
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(len(order), dtype=torch.bool, device=dets.device)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        rest = slice(i + 1, None)
        width = (torch.minimum(x2[i], x2[rest]) - torch.maximum(x1[i], x1[rest])).clamp(min=0)
        height = (torch.minimum(y2[i], y2[rest]) - torch.maximum(y1[i], y1[rest])).clamp(min=0)
        inter = width * height
        iou = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest] |= iou > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long, device=dets.device)]


def _unsupported(name: str):
    def kernel(*args, **kwargs):
        raise RuntimeError(f"torchvision::{name} is not available in this build of SemEdit "
                           "(torchvision's C++ ops need a CUDA torch)")

    return kernel


def _extension_loads(package_dir: Path) -> bool:
    """Whether torchvision's own C++ ops load (then they are registered, as usual)."""
    import torch

    libraries = sorted(package_dir.glob("_C*.so"))
    if not libraries:
        return False
    try:
        for library in libraries:
            torch.ops.load_library(str(library))
    except OSError:
        return False
    return True


def define_fallback_ops() -> None:
    """Define torchvision::nms (pure torch) and qnms (a schema) unless already there."""
    global _library
    import torch

    if _library is not None:
        return
    _library = torch.library.Library("torchvision", "DEF")
    for name, schema in _SCHEMAS.items():
        _library.define(schema)
        kernel = nms_cpu if name == "nms" else _unsupported(name)
        _library.impl(name, kernel, "CPU")


class _PatchingLoader(importlib.abc.Loader):
    """torchvision's loader; after the package runs, its box ops may use our nms."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        import torchvision.ops.boxes as boxes

        boxes._assert_has_ops = lambda: None  # nms is defined (above) though _C is not

    def __getattr__(self, name):  # get_source, get_resource_reader, ... of the real one
        if name == "_loader":
            raise AttributeError(name)
        return getattr(self._loader, name)


class _TorchvisionFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torchvision":
            return None
        sys.meta_path.remove(self)  # once, and not for the look-up below
        spec = importlib.util.find_spec("torchvision")
        if spec is None or not spec.submodule_search_locations or spec.loader is None:
            return spec
        if _extension_loads(Path(next(iter(spec.submodule_search_locations)))):
            return spec
        define_fallback_ops()
        spec.loader = _PatchingLoader(spec.loader)
        return spec


if getattr(sys, "frozen", False) and "torchvision" not in sys.modules:
    sys.meta_path.insert(0, _TorchvisionFinder())
