"""The model provider: the one place that turns model choices into loaded models.

`--generator/--sam/--vgg/--encoder` (a manifest id or a file) and the app's Preferences both end
up here. Loading a 1024² generator or SAM takes seconds, so each model is loaded once per
(file identity, device) and reused by every job; the identity includes the file's size
and modification time, so a model re-imported at the same path is loaded again. Asking
for another generator releases the old one and everything made from it (its direction
library, blenders and renderers kept with `derived`), so two large generators never sit
in GPU memory together.

Not thread-safe on purpose: exactly one thread (the CLI's, or the app's GPU worker) uses it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from core.device import pick_device
from core.errors import ModelMissingError, SemeditError
from core.models.validation import open_model_store

DEFAULT_VGG = "vgg16-imagenet"


@dataclass(frozen=True)
class ModelChoice:
    """Which files to use: a manifest id or a path per kind (None: the kind's default)."""

    generator: str | None = None
    sam: str | None = None
    vgg: str | None = None
    encoder: str | None = None
    models_dir: str | None = None
    device: str = "auto"


@dataclass(frozen=True)
class _FileIdentity:
    """What a loaded model was made from: same path but new content is another file."""

    path: Path
    size: int
    mtime_ns: int
    device: str

    @classmethod
    def of(cls, path: Path, device: torch.device) -> _FileIdentity:
        try:
            stat = path.stat()
            size, mtime = stat.st_size, stat.st_mtime_ns
        except OSError:  # the loader reports a missing file in its own words
            size, mtime = -1, -1
        return cls(path.resolve(), size, mtime, str(device))


class LoadedModels:
    def __init__(self, choice: ModelChoice = ModelChoice()):
        self.choice = choice
        self.device = pick_device(choice.device)
        self.store = open_model_store(choice.models_dir)
        self._loaded: dict[str, tuple[_FileIdentity, Any]] = {}
        self._derived: dict[object, Any] = {}  # made from the current generator

    def use(self, choice: ModelChoice) -> None:
        """Switch to other files or another device; models no longer wanted are released."""
        if choice == self.choice:
            return
        device = pick_device(choice.device)
        if device != self.device or choice.models_dir != self.choice.models_dir:
            self.release()
        else:  # free what is no longer chosen now, not at the next load
            changed = [kind for kind in ("generator", "sam", "vgg", "encoder")
                       if getattr(choice, kind) != getattr(self.choice, kind)]
            for kind in changed:
                self._loaded.pop(kind, None)
            if "generator" in changed:
                self._derived.clear()
            if changed:
                _free_memory()
        self.choice, self.device = choice, device
        self.store = open_model_store(choice.models_dir)

    # ----------------------------------------------------------------- generator

    def generator_file(self) -> Path:
        """The generator file the choice names (ModelMissingError names the download)."""
        return self.store.resolve(self.choice.generator, "generator")

    def generator(self):
        """The generator (`core.stylegan.Generator`) on the chosen device."""
        from core.stylegan import load_generator

        path = self.generator_file()
        return self._get("generator", path, lambda: self._indexed(path, load_generator(
            path, device=self.device, sha256=self.store.sha256_of(path))))

    def _indexed(self, path: Path, generator):
        """Record a generator file the app was given in the model index (by sha256), so a
        project made with it finds it again by content."""
        from core.models.index import ModelFacts
        from core.models.validation import generator_architecture, generator_summary

        if generator.source_sha256:
            architecture = generator_architecture(generator.config)
            self.store.remember(path, generator.source_sha256,
                              ModelFacts("generator", generator_summary(architecture),
                                         architecture))
        return generator

    @property
    def generator_id(self) -> str | None:
        """The manifest id of the chosen generator; None for a file that is no manifest
        model (a path to an installed manifest model reports that model's id)."""
        spec = self.choice.generator
        manifest = self.store.manifest
        if spec is None:
            return manifest.default_for("generator").id
        if spec in manifest.ids or spec in self.store.user_models():
            return spec  # a manifest id, or the name of the user's own model
        try:
            chosen = Path(spec).resolve()
        except (OSError, ValueError):
            return None
        for asset in manifest.of_kind("generator"):
            if self.store.path(asset.id).resolve() == chosen:
                return asset.id
        return None

    def derived(self, key: object, make: Callable[[], Any]) -> Any:
        """Something made from the current generator (a direction library, a hair blender),
        kept until the generator changes and released with it."""
        generator = self.generator()
        entry = self._derived.get(key)
        if entry is not None and entry[0] is generator:
            return entry[1]
        value = make()
        self._derived[key] = (generator, value)
        return value

    def directions(self, root: str | os.PathLike[str] | None = None):
        """The direction library of the current generator."""
        from core.edit.library import DirectionLibrary, default_library_root

        folder = Path(root) if root else default_library_root()
        return self.derived(("directions", folder),
                            lambda: DirectionLibrary(folder, self.generator()))

    # ----------------------------------------------------------------- optional models

    def lpips(self):
        """The LPIPS loss model; ModelMissingError names the download when VGG is missing."""
        from core.invert.losses import VGG_MISSING, load_lpips

        try:
            path = self.store.resolve(self.choice.vgg or DEFAULT_VGG, "vgg")
        except ModelMissingError as error:
            raise ModelMissingError(VGG_MISSING, asset_id=error.asset_id) from error
        return self._get("vgg", path, lambda: load_lpips(path, self.device))

    def lpips_if_installed(self):
        """LPIPS for metrics: None when the VGG weights are not installed."""
        try:
            return self.lpips()
        except ModelMissingError:
            return None

    def lpips_for(self, loss_kind: str):
        """LPIPS for a loss `lpips|l2|lpips+l2`: required when the loss uses it, otherwise
        only for the metric, when installed (None when not)."""
        return self.lpips() if "lpips" in loss_kind else self.lpips_if_installed()

    def sam(self):
        """A `SamSegmenter` (its embedding cache is kept with it)."""
        from core.segment.sam import SamSegmenter, load_sam

        path = self.store.resolve(self.choice.sam, "sam")
        return self._get("sam", path, lambda: SamSegmenter(load_sam(path, self.device)))

    def sam_if_installed(self):
        """The segmenter, or None when no SAM file is chosen and the default is missing
        (a SAM file or id the user named must be there)."""
        try:
            return self.sam()
        except ModelMissingError:
            if self.choice.sam is not None:
                raise
            return None

    def encoder(self):
        """The image-to-W+ encoder (`core.encoders.E4EEncoder`) on the chosen device;
        ModelMissingError names how to get it."""
        from core.encoders import load_encoder

        path = self.store.resolve(self.choice.encoder, "encoder")
        return self._get("encoder", path, lambda: load_encoder(path, self.device))

    def encoder_if_installed(self):
        """The encoder, or None when none is chosen and the default is not installed
        (an encoder file or id the user named must be there)."""
        try:
            return self.encoder()
        except ModelMissingError:
            if self.choice.encoder is not None:
                raise
            return None

    # ----------------------------------------------------------------- memory

    def release(self) -> None:
        """Drop every model (and the GPU memory they hold)."""
        self._loaded.clear()
        self._derived.clear()
        _free_memory()

    def _get(self, kind: str, path: Path, load: Callable[[], Any]) -> Any:
        identity = _FileIdentity.of(path, self.device)
        cached = self._loaded.get(kind)
        if cached is not None and cached[0] == identity:
            return cached[1]
        if cached is not None:  # another file: free the old one before loading the new
            del self._loaded[kind]
            if kind == "generator":
                self._derived.clear()
            cached = None
            _free_memory()
        model = load()
        self._loaded[kind] = (identity, model)
        return model


def encoder_installed(choice: ModelChoice) -> bool:
    """Whether `choice` has an encoder file to load, without loading it (for the app's
    UI thread: what Quick can do)."""
    store = open_model_store(choice.models_dir)
    try:
        store.resolve(choice.encoder, "encoder")
    except SemeditError:
        return False
    return True


def _free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
