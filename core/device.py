"""Which torch device SemEdit computes on: CUDA, then Apple MPS, then CPU, unless told."""

from __future__ import annotations

import torch

from core.errors import InvalidInputError

DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")


def pick_device(preference: str | torch.device | None = "auto") -> torch.device:
    if isinstance(preference, torch.device):
        return preference
    choice = (preference or "auto").lower()
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InvalidInputError("CUDA was requested but no CUDA device is available; "
                                    "use --device cpu or auto.")
        return torch.device(choice)
    if choice == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise InvalidInputError("MPS was requested but is not available on this machine.")
        return torch.device("mps")
    if choice == "cpu":
        return torch.device("cpu")
    raise InvalidInputError(f"Unknown device {preference!r}; choose one of {DEVICE_CHOICES}.")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
