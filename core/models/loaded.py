"""The models one process has loaded, kept by what they were loaded from.

The desktop app's GPU worker owns one `LoadedModels`: loading a 1024² generator or SAM
takes seconds, so each is loaded once per (file, device) and reused by every job. Asking
for another file (the user picked another generator in Preferences) replaces the old
model, so two large generators never sit in GPU memory together.

Not thread-safe on purpose: exactly one thread (the worker) may use it.
"""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.device import pick_device
from core.errors import ModelMissingError
from core.models.manifest import load_manifest
from core.models.store import ModelStore
from core.paths import models_dir


@dataclass(frozen=True)
class ModelChoice:
    """Which files to use: a manifest id or a path per kind (None: the kind's default)."""

    generator: str | None = None
    sam: str | None = None
    vgg: str | None = None
    models_dir: str | None = None
    device: str = "auto"


class LoadedModels:
    def __init__(self, choice: ModelChoice = ModelChoice()):
        self.choice = choice
        self.device = pick_device(choice.device)
        self.store = ModelStore(load_manifest(), models_dir(choice.models_dir))
        self._loaded: dict[str, tuple[Path, Any]] = {}
        self._generator_id: str | None = None

    def use(self, choice: ModelChoice) -> None:
        """Switch to other files or another device; models no longer wanted are released."""
        if choice == self.choice:
            return
        device = pick_device(choice.device)
        if device != self.device or choice.models_dir != self.choice.models_dir:
            self.release()
        self.choice, self.device = choice, device
        self.store = ModelStore(load_manifest(), models_dir(choice.models_dir))

    # ----------------------------------------------------------------- models

    def generator(self):
        """The generator (`core.stylegan.Generator`) on the chosen device."""
        from core.stylegan import load_generator

        spec = self.choice.generator
        path = self.store.resolve(spec, "generator")
        known = spec if spec in self.store.manifest.ids else (
            self.store.manifest.default_for("generator").id if spec is None else None)
        self._generator_id = known
        return self._get("generator", path, lambda: load_generator(path, device=self.device))

    @property
    def generator_id(self) -> str | None:
        """The manifest id of the generator last returned (None for a file of the user's)."""
        return self._generator_id

    def lpips(self):
        """The LPIPS loss model; ModelMissingError names the download when VGG is missing."""
        from core.invert.losses import VGG_MISSING, load_lpips

        try:
            path = self.store.resolve(self.choice.vgg or "vgg16-imagenet", "vgg")
        except ModelMissingError as error:
            raise ModelMissingError(VGG_MISSING, asset_id=error.asset_id) from error
        return self._get("vgg", path, lambda: load_lpips(path, self.device))

    def lpips_if_installed(self):
        """LPIPS for metrics: None when the VGG weights are not installed."""
        try:
            return self.lpips()
        except ModelMissingError:
            return None

    def sam(self):
        """A `SamSegmenter` (its embedding cache is kept with it)."""
        from core.segment.sam import SamSegmenter, load_sam

        path = self.store.resolve(self.choice.sam, "sam")
        return self._get("sam", path, lambda: SamSegmenter(load_sam(path, self.device)))

    def sam_if_installed(self):
        """The segmenter, or None when no SAM file is chosen and the default is missing."""
        try:
            return self.sam()
        except ModelMissingError:
            if self.choice.sam is not None:
                raise
            return None

    def directions(self, root: str | os.PathLike[str] | None = None):
        """The direction library of the current generator."""
        from core.edit.library import DirectionLibrary, default_library_root

        generator = self.generator()
        cached = self._loaded.get("directions")
        if cached is not None and cached[1].generator is generator:
            return cached[1]
        library = DirectionLibrary(Path(root) if root else default_library_root(), generator)
        self._loaded["directions"] = (Path(library.folder), library)
        return library

    # ----------------------------------------------------------------- memory

    def release(self) -> None:
        """Drop every model (and the GPU memory they hold)."""
        self._loaded.clear()
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _get(self, kind: str, path: Path, load) -> Any:
        cached = self._loaded.get(kind)
        if cached is not None and cached[0] == path:
            return cached[1]
        if cached is not None:  # another file: free the old one before loading the new
            del self._loaded[kind]
            if kind == "generator":
                self._loaded.pop("directions", None)
            cached = None
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        model = load()
        self._loaded[kind] = (path, model)
        return model
