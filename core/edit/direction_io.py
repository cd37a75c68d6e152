"""Reading edit directions that other tools published, without executing anything in them.

Accepted files (`IMPORT_SUFFIXES`):
- `.npy`: one array, without pickles (`core.checkpoint_files.read_array_file`);
- `.npz`: arrays read without pickles: one direction per array, or a GANSpace
  PCA file (`lat_comp` [k, 1, w_dim] + `lat_stdev` [k], optionally `lat_mean` and
  `var_ratio`), or StyleSpace channels (`layer` + `channel`);
- `.pt` / `.pth`: a tensor or a dict of tensors (`core.checkpoint_files.load_torch_file`), with the
  same meanings as the `.npz` keys (e4e's GANSpace file uses `comp` / `std` / `mean`);
- `.json`: StyleSpace channels, `{"layer": 9, "channel": 409}` or a list of such objects,
  each optionally with "name", "scale" and "description".

A W direction is [w_dim], [1, w_dim] (InterFaceGAN boundaries) or [num_ws, w_dim] (one row
per layer, e4e / Chunkmogrify style); leading singleton axes are dropped. With a CodeSpace
an [s_dim] vector is a StyleSpace direction. StyleSpace layers are given by name
("b32.conv1") or by index into the style layers in synthesis order, toRGB layers included
(the numbering of the StyleSpace paper's 26 style vectors at 1024²).

Slider scales, unless the caller gives one:
- GANSpace files: SLIDER_SIGMAS × `lat_stdev` (GANSpace's spread of W along each
  component), which is what `slider_scale` gives for built-in directions;
- vectors that are not unit length: 1.0, i.e. strength 1 adds the vector exactly as the
  file gives it (its author chose the length);
- unit vectors (InterFaceGAN boundaries): `sampled_scale` when mapped samples are given
  (the library passes them), else UNIT_VECTOR_SCALE (InterFaceGAN edits go to about ±3);
- StyleSpace channels: SLIDER_SIGMAS × the channel's spread over mapped samples.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.checkpoint_files import load_torch_file, read_array_file
from core.edit.directions import SLIDER_SIGMAS, Direction, slider_scale, stylespace_direction
from core.errors import CheckpointError, InvalidInputError
from core.fileio import FileReadError, read_regular_file
from core.latents.codes import CodeSpace

IMPORT_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".pt", ".pth", ".json")
UNIT_VECTOR_SCALE = 3.0
UNIT_TOLERANCE = 1e-3  # |‖v‖ − 1| below this counts as a unit vector
STYLE_SAMPLES = 1_000  # mapped samples behind a StyleSpace channel's default scale
_MAX_JSON_BYTES = 1 << 20
# Directions are small (a GANSpace file of 512 components at 1024² is 1 MB); anything far
# larger is refused before its arrays are read.
MAX_DIRECTION_FILE_BYTES = 256 << 20
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")


def import_direction_file(path: str | Path, *, w_dim: int, num_ws: int, name: str | None = None,
                          layers: tuple[int, int] | None = None, scale: float | None = None,
                          code_space: CodeSpace | None = None,
                          w_samples: np.ndarray | None = None) -> list[Direction]:
    """Every direction in a file, as `source="imported"` Directions.

    `name` names a single direction, or prefixes several (`<name>_pc0`, …; default: the
    file's stem). `layers` restricts every W direction to ws rows [start, end). `w_samples`
    (mapped w [N, w_dim]) lets unit vectors get a scale from the latents' spread.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise CheckpointError(path, f"unknown direction file type '{path.suffix}'; use "
                                    f"{', '.join(IMPORT_SUFFIXES)}")
    if not path.exists():
        raise CheckpointError(path, "the file does not exist")
    if layers is not None:
        start, end = (int(v) for v in layers)
        if not 0 <= start < end <= num_ws:
            raise InvalidInputError(f"Layer range {start}–{end} does not fit this generator's "
                                    f"{num_ws} layers.")
        layers = (start, end)
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise InvalidInputError(f"The slider scale must be a positive number, not {scale!r}.")
    base = _clean_name(name) if name else _clean_name(path.stem)
    reader = _Reader(path, w_dim=w_dim, num_ws=num_ws, base=base, layers=layers, scale=scale,
                     code_space=code_space, w_samples=w_samples, named=name is not None)
    if suffix == ".json":
        return reader.stylespace(_read_json(path))
    content = _read_arrays(path)
    directions = reader.interpret(content)
    if not directions:
        raise CheckpointError(path, "the file holds no directions")
    return directions


# --- scales -------------------------------------------------------------------------------


def is_unit(vector: np.ndarray) -> bool:
    return abs(float(np.linalg.norm(np.asarray(vector, np.float64))) - 1.0) < UNIT_TOLERANCE


def sampled_scale(direction: Direction, w_samples: np.ndarray, *, num_ws: int,
                  code_space: CodeSpace | None = None) -> float:
    """SLIDER_SIGMAS × the spread of mapped samples along what strength 1 adds to a code.

    W samples [N, w_dim] are broadcast to every layer the direction acts on; StyleSpace
    directions need `code_space` to turn the samples into styles.
    """
    w = np.asarray(w_samples, dtype=np.float32)
    if direction.space == "s":
        if code_space is None:
            raise InvalidInputError("A StyleSpace direction's scale needs the generator.")
        return slider_scale(_style_projections(code_space, w, direction.vector)[:, None],
                            np.ones(1, np.float32))
    if direction.vector.ndim == 1:
        return slider_scale(w, direction.vector)
    rows = direction.ws_delta(num_ws, 1.0)  # [num_ws, w_dim], zero outside its layers
    summed = rows.sum(axis=0)  # a sample w on every row projects onto the rows' sum
    if not np.any(summed):
        raise InvalidInputError(f"Direction {direction.name!r}: the latents do not vary along "
                                "it.")
    return slider_scale(w, summed) * float(np.linalg.norm(summed) / np.linalg.norm(rows))


@torch.no_grad()
def _style_projections(code_space: CodeSpace, w: np.ndarray, vector: np.ndarray,
                       batch: int = 500) -> np.ndarray:
    """(flattened styles of each sample) · unit(vector), [N], without holding all styles."""
    g = code_space.generator
    device = g.w_avg.device
    direction = torch.from_numpy(np.asarray(vector, np.float32) / np.linalg.norm(vector))
    out = []
    for start in range(0, len(w), batch):
        ws = torch.from_numpy(w[start:start + batch]).to(device)
        ws = ws.unsqueeze(1).repeat(1, g.num_ws, 1)
        styles = code_space.flatten_styles(g.synthesis.compute_styles(ws))
        out.append((styles.float().cpu() @ direction).numpy())
    return np.concatenate(out)


# --- reading ------------------------------------------------------------------------------


def _read_arrays(path: Path) -> np.ndarray | dict[str, Any]:
    """One array, or a dict of arrays / numbers / strings, loaded without unpickling code."""
    if path.suffix.lower() in (".npy", ".npz"):
        return read_array_file(path, limit=MAX_DIRECTION_FILE_BYTES)
    data = load_torch_file(path, limit=MAX_DIRECTION_FILE_BYTES)
    if isinstance(data, torch.Tensor):
        return _tensor_array(data)
    if isinstance(data, Mapping):
        out = {}
        for key, value in data.items():
            if isinstance(value, torch.Tensor):
                out[str(key)] = _tensor_array(value)
            elif isinstance(value, int | float | str) and not isinstance(value, bool):
                out[str(key)] = np.asarray(value)
            else:
                raise CheckpointError(path, f"entry {key!r} is a {type(value).__name__}, not a "
                                            "tensor")
        return out
    raise CheckpointError(path, f"expected a tensor or a dict of tensors, found a "
                                f"{type(data).__name__}")


def _tensor_array(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.is_complex() or tensor.dtype == torch.bool:
        return tensor.numpy()  # refused later with the dtype named
    return (tensor.float() if tensor.is_floating_point() else tensor).numpy()


def _read_json(path: Path) -> list[dict[str, Any]]:
    try:
        raw = read_regular_file(path, _MAX_JSON_BYTES, what="list of StyleSpace channels")
    except FileReadError as exc:
        raise CheckpointError(path, f"the path {exc.reason}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CheckpointError(path, f"the file is not readable JSON ({_first_line(exc)})"
                              ) from exc
    entries = data if isinstance(data, list) else [data]
    if not entries or not all(isinstance(e, dict) for e in entries):
        raise CheckpointError(path, 'expected {"layer": …, "channel": …} or a list of them')
    return entries


class _Reader:
    """Turns loaded arrays into Directions for one file and one generator."""

    def __init__(self, path: Path, *, w_dim: int, num_ws: int, base: str,
                 layers: tuple[int, int] | None, scale: float | None,
                 code_space: CodeSpace | None, w_samples: np.ndarray | None, named: bool):
        self.path, self.w_dim, self.num_ws, self.base = path, w_dim, num_ws, base
        self.layers, self.scale, self.code_space = layers, scale, code_space
        self.w_samples, self.named = w_samples, named

    def fail(self, reason: str) -> CheckpointError:
        return CheckpointError(self.path, reason)

    def interpret(self, content: np.ndarray | dict[str, Any]) -> list[Direction]:
        if isinstance(content, np.ndarray):
            return [self.vector_direction(self.base, content)]
        keys = set(content)
        if "lat_comp" in keys:
            return self.ganspace(content["lat_comp"], content.get("lat_stdev"),
                                 content.get("var_ratio"))
        if {"comp", "std"} <= keys:
            return self.ganspace(content["comp"], content["std"], None)
        if {"layer", "channel"} <= keys:
            return self.stylespace(self._channel_entries(content))
        if len(content) == 1:
            return [self.vector_direction(self.base, next(iter(content.values())))]
        return [self.vector_direction(f"{self.base}_{_clean_name(key)}", array, key=key)
                for key, array in content.items()]

    # -- plain vectors --------------------------------------------------------------------

    def vector_direction(self, name: str, array: Any, *, key: str | None = None) -> Direction:
        where = f"array {key!r}" if key is not None else "the direction"
        vector = self.numbers(array, where)
        while vector.ndim > 1 and vector.shape[0] == 1:
            vector = vector[0]
        code_space = self.code_space
        if vector.shape in ((self.w_dim,), (self.num_ws, self.w_dim)):
            space = "w"
        elif code_space is not None and vector.shape == (code_space.s_dim,):
            space = "s"
        else:
            also = f", or [{code_space.s_dim}] style channels" if code_space else ""
            raise self.fail(f"{where} has shape {list(np.shape(array))}; this generator needs "
                            f"[{self.w_dim}], [1, {self.w_dim}] or [{self.num_ws}, "
                            f"{self.w_dim}]{also}")
        self.check_values(vector, where)
        direction = Direction(name, space, vector, 1.0,
                              layers=self.layers if space == "w" else None, source="imported",
                              description=f"imported from {self.path.name}")
        if self.scale is not None:
            return replace(direction, scale=self.scale)
        if not is_unit(vector):
            return direction  # scale 1: the file's own length
        return replace(direction, scale=self.default_unit_scale(direction))

    def default_unit_scale(self, direction: Direction) -> float:
        if direction.space == "s":
            return sampled_scale(direction, self.samples(), num_ws=self.num_ws,
                                 code_space=self.code_space)
        if self.w_samples is None:
            return UNIT_VECTOR_SCALE
        return sampled_scale(direction, self.w_samples, num_ws=self.num_ws)

    def samples(self) -> np.ndarray:
        if self.w_samples is None:
            from core.edit.ganspace import mapped_samples

            assert self.code_space is not None
            self.w_samples = mapped_samples(self.code_space.generator, samples=STYLE_SAMPLES)
        return self.w_samples

    # -- GANSpace -------------------------------------------------------------------------

    def ganspace(self, components: Any, stdevs: Any, ratios: Any) -> list[Direction]:
        comps = self.numbers(components, "the GANSpace components")
        if comps.ndim == 3 and comps.shape[1] == 1:
            comps = comps[:, 0]
        if comps.ndim != 2 or comps.shape[1] != self.w_dim or len(comps) == 0:
            raise self.fail(f"the GANSpace components have shape {list(np.shape(components))}; "
                            f"expected [k, 1, {self.w_dim}] for this generator")
        self.check_values(comps, "the GANSpace components")
        k = len(comps)
        spread = None
        if stdevs is not None:
            spread = self.numbers(stdevs, "the GANSpace standard deviations").reshape(-1)
            if spread.shape != (k,) or not np.isfinite(spread).all() or (spread <= 0).any():
                raise self.fail(f"the GANSpace standard deviations must be {k} positive numbers")
        share = None
        if ratios is not None:
            share = self.numbers(ratios, "the GANSpace variance ratios").reshape(-1)
            share = share if share.shape == (k,) else None
        directions = []
        for i, row in enumerate(comps):
            norm = float(np.linalg.norm(row))
            if norm == 0:
                raise self.fail(f"GANSpace component {i} is zero")
            vector = (row / norm).astype(np.float32)
            about = f"GANSpace component {i} of {self.path.name}"
            if share is not None:
                about += f", {100 * float(share[i]):.1f}% of variance"
            direction = Direction(f"{self.base}_pc{i}", "w", vector, 1.0, layers=self.layers,
                                  source="imported", description=about)
            if self.scale is not None:
                scale = self.scale
            elif spread is not None:
                scale = SLIDER_SIGMAS * float(spread[i])
            else:
                scale = self.default_unit_scale(direction)
            directions.append(replace(direction, scale=scale))
        return directions

    # -- StyleSpace -----------------------------------------------------------------------

    def _channel_entries(self, content: dict[str, Any]) -> list[dict[str, Any]]:
        layer, channel = np.asarray(content["layer"]), np.asarray(content["channel"])
        if layer.dtype.kind not in "iuU" or channel.dtype.kind not in "iu":
            raise self.fail("StyleSpace 'layer' must be names or integers and 'channel' "
                            "integers")
        layer, channel = layer.reshape(-1), channel.reshape(-1)
        if layer.shape != channel.shape or layer.size == 0:
            raise self.fail("StyleSpace 'layer' and 'channel' must have the same length")
        return [{"layer": lay.item(), "channel": ch.item()}
                for lay, ch in zip(layer, channel, strict=True)]

    def stylespace(self, entries: list[dict[str, Any]]) -> list[Direction]:
        if self.code_space is None:
            raise InvalidInputError("StyleSpace channel edits need the generator's style "
                                    "layers; pass a CodeSpace.")
        names = list(self.code_space.layer_dims)
        directions = []
        for i, entry in enumerate(entries):
            layer, channel = entry.get("layer"), entry.get("channel")
            if isinstance(layer, int) and not isinstance(layer, bool):
                if not 0 <= layer < len(names):
                    raise self.fail(f"StyleSpace layer {layer} does not exist; this generator "
                                    f"has style layers 0–{len(names) - 1}")
                layer = names[layer]
            if not isinstance(layer, str) or not isinstance(channel, int) or isinstance(
                    channel, bool):
                raise self.fail(f"entry {i} needs a 'layer' (name or index) and an integer "
                                "'channel'")
            if len(entries) == 1 and self.named:
                name = self.base
            elif isinstance(entry.get("name"), str):
                name = _clean_name(entry["name"])
            elif len(entries) == 1:
                name = self.base
            else:
                name = f"{layer}.{channel}"
            try:
                direction = stylespace_direction(self.code_space, layer, channel, 1.0, name)
            except InvalidInputError as exc:
                raise self.fail(str(exc).rstrip(".")) from exc
            scale = self.scale if self.scale is not None else entry.get("scale")
            if scale is not None and not (isinstance(scale, int | float) and not isinstance(
                    scale, bool) and math.isfinite(scale) and scale > 0):
                raise self.fail(f"entry {i} has a scale that is not a positive number")
            if scale is None:
                scale = self.default_unit_scale(direction)
            description = entry.get("description")
            directions.append(replace(
                direction, scale=float(scale), source="imported",
                description=description if isinstance(description, str) else
                f"StyleSpace channel {channel} of {layer}, imported from {self.path.name}"))
        return directions

    # -- checks ---------------------------------------------------------------------------

    def numbers(self, array: Any, where: str) -> np.ndarray:
        values = np.asarray(array)
        if values.dtype.kind not in "iuf":
            raise self.fail(f"{where} holds {values.dtype} values, not numbers")
        if values.size == 0:
            raise self.fail(f"{where} is empty")
        wide = values.astype(np.float64)
        if not np.isfinite(wide).all() or np.abs(wide).max() > np.finfo(np.float32).max:
            raise self.fail(f"{where} contains NaN or infinite values")
        return wide.astype(np.float32)

    def check_values(self, values: np.ndarray, where: str) -> None:
        if not np.isfinite(values).all():
            raise self.fail(f"{where} contains NaN or infinite values")
        if not np.any(values):
            raise self.fail(f"{where} is all zeros")


def _clean_name(text: str) -> str:
    """A usable Direction name from a file stem or key: odd characters become '_'."""
    return _NOT_NAME.sub("_", str(text)).strip("_") or "direction"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__
