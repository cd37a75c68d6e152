"""Reconstruction losses: LPIPS (VGG16 backbone) and pixel L2, alone or summed.

LPIPS uses the `lpips` package: its learned linear layers ship inside the wheel, but
the VGG16 ImageNet backbone does not, and `lpips` would try to download it. We build
the network with a random backbone and load the torchvision VGG16 file from the model
store (or any path) ourselves, so nothing is fetched at run time.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from core.checkpoint_files import load_torch_file
from core.errors import CheckpointError, InvalidInputError, ModelMissingError

LossKind = Literal["lpips", "l2", "lpips+l2"]
LOSS_KINDS: tuple[str, ...] = ("lpips", "l2", "lpips+l2")
LPIPS_RESOLUTION = 256  # the projectors compare at most 256x256 (area down-sampling)
VGG_MISSING = (
    "LPIPS needs the VGG16 ImageNet weights, which are not installed: run "
    "`semedit models download vgg16-imagenet` (or pass --vgg FILE), or use --loss l2."
)


def to_loss_resolution(images: torch.Tensor) -> torch.Tensor:
    if images.shape[-1] > LPIPS_RESOLUTION:
        return F.interpolate(images, size=(LPIPS_RESOLUTION, LPIPS_RESOLUTION), mode="area")
    return images


def read_vgg16_features(path: str | Path) -> dict[str, torch.Tensor]:
    """The `features.N.weight/bias` tensors of a torchvision VGG16 file, read safely."""
    path = Path(path)
    if not path.exists():
        raise ModelMissingError(VGG_MISSING)
    try:
        state = load_torch_file(path, map_location="cpu")
    except CheckpointError as exc:  # its reason leaves out torch's advice
        raise CheckpointError(path, f"not a readable VGG16 weights file ({exc.reason})") from exc
    if not isinstance(state, dict):
        raise CheckpointError(path, "not a VGG16 state dict")
    features = {k: v for k, v in state.items()
                if isinstance(k, str) and k.startswith("features.") and torch.is_tensor(v)}
    if len(features) != 26:  # 13 conv layers, weight + bias each
        raise CheckpointError(path, f"expected VGG16's 13 conv layers, found {len(features) // 2}")
    return features


class Lpips(nn.Module):
    """LPIPS distance (v0.1, VGG) with the backbone loaded from `vgg_features`."""

    def __init__(self, vgg_features: dict[str, torch.Tensor]):
        super().__init__()
        import lpips  # heavy import, only when LPIPS is really used

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torchvision's 'pretrained' deprecation notices
            self.net = lpips.LPIPS(net="vgg", pretrained=True, pnet_rand=True, verbose=False)
        self._load_backbone(vgg_features)
        self.eval().requires_grad_(False)

    def _load_backbone(self, features: dict[str, torch.Tensor]) -> None:
        by_index = {}
        for slice_name, block in self.net.net.named_children():
            for index, _ in block.named_children():
                by_index[index] = f"{slice_name}.{index}"
        target = self.net.net.state_dict()
        for key, tensor in features.items():
            _, index, kind = key.split(".")
            name = f"{by_index[index]}.{kind}"
            if target[name].shape != tensor.shape:
                raise InvalidInputError(f"VGG16 tensor {key} has shape {list(tensor.shape)}, "
                                        f"expected {list(target[name].shape)}")
            target[name] = tensor
        self.net.net.load_state_dict(target)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Mean LPIPS over the batch; inputs in [-1, 1]."""
        return self.net(to_loss_resolution(a), to_loss_resolution(b)).mean()


def l2_loss(a: torch.Tensor, b: torch.Tensor, scales: int = 1) -> torch.Tensor:
    """Mean squared error, averaged over `scales` levels of a 2x area pyramid."""
    total = F.mse_loss(a, b)
    for _ in range(scales - 1):
        if a.shape[-1] < 8:
            break
        a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        total = total + F.mse_loss(a, b)
    return total / max(scales, 1)


class ReconstructionLoss(nn.Module):
    """LPIPS, L2 or their sum; returns (total, parts) so progress can show each term."""

    def __init__(self, kind: LossKind, *, lpips_model: Lpips | None = None,
                 l2_weight: float = 1.0, l2_scales: int = 1):
        super().__init__()
        if kind not in LOSS_KINDS:
            raise InvalidInputError(f"Unknown loss {kind!r}; choose one of {LOSS_KINDS}.")
        if "lpips" in kind and lpips_model is None:
            raise ModelMissingError(VGG_MISSING)
        self.kind, self.lpips, self.l2_weight, self.l2_scales = kind, lpips_model, l2_weight, \
            l2_scales

    def forward(self, output: torch.Tensor, target: torch.Tensor):
        parts: dict[str, torch.Tensor] = {}
        if self.lpips is not None and "lpips" in self.kind:
            parts["lpips"] = self.lpips(output, target)
        if "l2" in self.kind:
            parts["l2"] = self.l2_weight * l2_loss(output, target, self.l2_scales)
        return sum(parts.values()), parts


def load_lpips(vgg_path: str | Path | None, device: torch.device | str = "cpu") -> Lpips:
    if vgg_path is None:
        raise ModelMissingError(VGG_MISSING)
    return Lpips(read_vgg16_features(vgg_path)).to(device)
