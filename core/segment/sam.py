"""Segment Anything: safe checkpoint loading and prompted masks.

    sam = load_sam("sam_vit_b_01ec64.pth", device)
    segmenter = SamSegmenter(sam)           # caches the last few image embeddings
    segmenter.set_image(rgb)
    prediction = segmenter.predict(points=[(120, 80)])
    chunk = prediction.chunk_mask(1024)

A model chosen by manifest id or file is found and loaded by the model provider
(`core.models.loaded.LoadedModels.sam()`), not here.

The architecture is read from the checkpoint's tensor shapes, so the official
vit_b/l/h files and small test models go through the same code; nothing in the file
is executed (`torch.load(weights_only=True)`).
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from segment_anything import SamPredictor
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

from core.checkpoint_files import checkpoint_format, load_torch_file
from core.errors import CheckpointError, InvalidInputError

# Not stored in the checkpoints (non-persistent buffers): the values SAM was trained with.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
# The mask decoder's head count does not show in any tensor shape; every release uses 8.
DECODER_HEADS = 8
# Also invisible in shapes: the image encoder's LayerNorm epsilon.
ENCODER_NORM_EPS = 1e-6

_NOT_SAM = "not a Segment Anything checkpoint"


# --- architecture --------------------------------------------------------------------


@dataclass(frozen=True)
class SamConfig:
    """Everything needed to rebuild a SAM network; read from tensor shapes."""

    img_size: int
    patch_size: int
    encoder_embed_dim: int
    encoder_depth: int
    encoder_num_heads: int
    encoder_mlp_ratio: float
    qkv_bias: bool
    window_size: int  # 0 when every block attends globally
    global_attn_indexes: tuple[int, ...]
    prompt_embed_dim: int  # also the image embedding's channels (the encoder's neck)
    mask_in_chans: int
    decoder_depth: int
    decoder_mlp_dim: int
    decoder_num_heads: int
    attention_downsample_rate: int
    iou_head_depth: int
    iou_head_hidden_dim: int
    num_multimask_outputs: int

    @property
    def grid(self) -> int:
        """Side of the image embedding in tokens."""
        return self.img_size // self.patch_size

    @property
    def low_res_size(self) -> int:
        """Side of the low-resolution mask logits (the decoder upsamples the grid 4x)."""
        return 4 * self.grid

    @property
    def variant(self) -> str:
        for name in OFFICIAL_VARIANTS:
            if self == official_config(name):
                return name
        return f"custom (embed {self.encoder_embed_dim}, depth {self.encoder_depth})"


# (embed dim, depth, heads, global attention blocks) of the released image encoders.
OFFICIAL_VARIANTS: dict[str, tuple[int, int, int, tuple[int, ...]]] = {
    "vit_b": (768, 12, 12, (2, 5, 8, 11)),
    "vit_l": (1024, 24, 16, (5, 11, 17, 23)),
    "vit_h": (1280, 32, 16, (7, 15, 23, 31)),
}


def official_config(variant: str) -> SamConfig:
    """The architecture of a released checkpoint ("vit_b", "vit_l" or "vit_h")."""
    if variant not in OFFICIAL_VARIANTS:
        raise InvalidInputError(f"Unknown SAM variant {variant!r}; use one of "
                                f"{', '.join(OFFICIAL_VARIANTS)}.")
    embed, depth, heads, global_blocks = OFFICIAL_VARIANTS[variant]
    return SamConfig(img_size=1024, patch_size=16, encoder_embed_dim=embed,
                     encoder_depth=depth, encoder_num_heads=heads, encoder_mlp_ratio=4.0,
                     qkv_bias=True, window_size=14, global_attn_indexes=global_blocks,
                     prompt_embed_dim=256, mask_in_chans=16, decoder_depth=2,
                     decoder_mlp_dim=2048, decoder_num_heads=DECODER_HEADS,
                     attention_downsample_rate=2, iou_head_depth=3, iou_head_hidden_dim=256,
                     num_multimask_outputs=3)


def infer_sam_config(shapes: Mapping[str, Any]) -> SamConfig:
    """Read the architecture from a state dict (or a dict of shapes).

    Raises ValueError saying what does not fit a SAM network.
    """
    shape = _ShapeReader(shapes)
    embed, in_chans, patch, patch_w = shape("image_encoder.patch_embed.proj.weight", 4)
    if in_chans != 3 or patch != patch_w:
        raise ValueError("the patch embedding is not a square RGB convolution")
    _, grid, grid_w, pos_dim = shape("image_encoder.pos_embed", 4)
    if grid != grid_w or pos_dim != embed:
        raise ValueError("the position embedding does not match the patch embedding")

    depth = shape.count("image_encoder.blocks.")
    if depth == 0:
        raise ValueError("the image encoder has no transformer blocks")
    head_dim = None
    global_blocks: list[int] = []
    windows: set[int] = set()
    for i in range(depth):
        span, block_head_dim = shape(f"image_encoder.blocks.{i}.attn.rel_pos_h", 2)
        if span % 2 == 0:
            raise ValueError(f"block {i}'s relative position table has an even length")
        if head_dim not in (None, block_head_dim):
            raise ValueError("the encoder blocks disagree on the attention head size")
        head_dim = block_head_dim
        size = (span + 1) // 2
        if size == grid:
            global_blocks.append(i)
        elif size < grid:
            windows.add(size)
        else:
            raise ValueError(f"block {i} attends over {size} tokens, more than the "
                             f"{grid}-token grid")
    if len(windows) > 1:
        raise ValueError(f"the windowed blocks use different window sizes {sorted(windows)}")
    if head_dim is None or head_dim <= 0 or embed % head_dim:
        raise ValueError(f"the head size {head_dim} does not divide the embedding {embed}")
    mlp_dim, _ = shape("image_encoder.blocks.0.mlp.lin1.weight", 2)

    neck_out, _, _, _ = shape("image_encoder.neck.0.weight", 4)
    _, prompt_dim = shape("prompt_encoder.point_embeddings.0.weight", 2)
    if neck_out != prompt_dim:
        raise ValueError(f"the image embedding has {neck_out} channels but the prompts "
                         f"{prompt_dim}")
    mask_in_chans, _, _, _ = shape("prompt_encoder.mask_downscaling.3.weight", 4)

    decoder_depth = shape.count("mask_decoder.transformer.layers.")
    if decoder_depth == 0:
        raise ValueError("the mask decoder has no transformer layers")
    decoder_mlp_dim, _ = shape("mask_decoder.transformer.layers.0.mlp.lin1.weight", 2)
    internal, _ = shape("mask_decoder.transformer.final_attn_token_to_image.q_proj.weight", 2)
    if internal <= 0 or prompt_dim % internal:
        raise ValueError("the decoder's cross-attention width does not divide its width")
    downsample = prompt_dim // internal
    if prompt_dim % DECODER_HEADS or internal % DECODER_HEADS:
        raise ValueError(f"the decoder width {prompt_dim} cannot be split into "
                         f"{DECODER_HEADS} attention heads")
    iou_depth = shape.count("mask_decoder.iou_prediction_head.layers.")
    iou_hidden, _ = shape("mask_decoder.iou_prediction_head.layers.0.weight", 2)
    mask_tokens, _ = shape("mask_decoder.mask_tokens.weight", 2)
    if mask_tokens < 2:
        raise ValueError("the mask decoder has no multimask outputs")

    return SamConfig(
        img_size=grid * patch, patch_size=patch, encoder_embed_dim=embed, encoder_depth=depth,
        encoder_num_heads=embed // head_dim, encoder_mlp_ratio=mlp_dim / embed,
        qkv_bias=shape.has("image_encoder.blocks.0.attn.qkv.bias"),
        window_size=windows.pop() if windows else 0, global_attn_indexes=tuple(global_blocks),
        prompt_embed_dim=prompt_dim, mask_in_chans=mask_in_chans,
        decoder_depth=decoder_depth, decoder_mlp_dim=decoder_mlp_dim,
        decoder_num_heads=DECODER_HEADS, attention_downsample_rate=downsample,
        iou_head_depth=iou_depth, iou_head_hidden_dim=iou_hidden,
        num_multimask_outputs=mask_tokens - 1,
    )


class _ShapeReader:
    """Shapes by key, with errors that name the missing or odd tensor."""

    def __init__(self, shapes: Mapping[str, Any]):
        self.shapes = {key: tuple(getattr(value, "shape", value)) for key, value in
                       shapes.items()}

    def __call__(self, key: str, ndim: int) -> tuple[int, ...]:
        if key not in self.shapes:
            raise ValueError(f"it has no {key}")
        found = self.shapes[key]
        if len(found) != ndim:
            raise ValueError(f"{key} has shape {list(found)}, expected {ndim} dimensions")
        return tuple(int(n) for n in found)

    def has(self, key: str) -> bool:
        return key in self.shapes

    def count(self, prefix: str) -> int:
        """How many numbered children `prefix` has (0..n-1 must all be present)."""
        pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
        indexes = {int(m.group(1)) for key in self.shapes if (m := pattern.match(key))}
        if indexes and indexes != set(range(len(indexes))):
            missing = sorted(set(range(max(indexes) + 1)) - indexes)
            raise ValueError(f"{prefix}{missing[0]} is missing")
        return len(indexes)


def build_sam_model(cfg: SamConfig) -> Sam:
    """An untrained `segment_anything` Sam with this architecture (build on "meta" to
    skip the random initialisation)."""
    grid = cfg.grid
    mlp_dim = round(cfg.encoder_embed_dim * cfg.encoder_mlp_ratio)
    return Sam(
        image_encoder=ImageEncoderViT(
            img_size=cfg.img_size, patch_size=cfg.patch_size, embed_dim=cfg.encoder_embed_dim,
            depth=cfg.encoder_depth, num_heads=cfg.encoder_num_heads,
            mlp_ratio=mlp_dim / cfg.encoder_embed_dim,
            norm_layer=partial(torch.nn.LayerNorm, eps=ENCODER_NORM_EPS),
            qkv_bias=cfg.qkv_bias, use_rel_pos=True,
            global_attn_indexes=cfg.global_attn_indexes, window_size=cfg.window_size,
            out_chans=cfg.prompt_embed_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=cfg.prompt_embed_dim, image_embedding_size=(grid, grid),
            input_image_size=(cfg.img_size, cfg.img_size), mask_in_chans=cfg.mask_in_chans,
        ),
        mask_decoder=MaskDecoder(
            transformer_dim=cfg.prompt_embed_dim,
            transformer=TwoWayTransformer(
                depth=cfg.decoder_depth, embedding_dim=cfg.prompt_embed_dim,
                num_heads=cfg.decoder_num_heads, mlp_dim=cfg.decoder_mlp_dim,
                attention_downsample_rate=cfg.attention_downsample_rate,
            ),
            num_multimask_outputs=cfg.num_multimask_outputs,
            iou_head_depth=cfg.iou_head_depth, iou_head_hidden_dim=cfg.iou_head_hidden_dim,
        ),
        pixel_mean=list(PIXEL_MEAN),
        pixel_std=list(PIXEL_STD),
    )


# --- loading -------------------------------------------------------------------------


def load_sam(path: str | Path, device: str | torch.device = "cpu") -> Sam:
    """Load an official SAM .pth (vit_b/l/h) or any SAM state dict, in eval mode.

    Raises CheckpointError naming the file and why it cannot be used.
    """
    path = Path(path).expanduser()
    device = torch.device(device)
    state = read_sam_state(path, device)
    try:
        cfg = infer_sam_config(state)
    except ValueError as exc:
        raise CheckpointError(path, f"{_NOT_SAM}: {exc}") from exc
    sam = _assemble(path, cfg, state, device)
    sam.source_path = str(path)
    sam.config = cfg
    sam.variant = cfg.variant
    return sam


def read_sam_state(path: Path, device: torch.device) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors, loaded straight onto `device`; never runs pickled code."""
    if checkpoint_format(path) != "torch":
        raise CheckpointError(path, f"{_NOT_SAM}: it is not a PyTorch file (.pth)")
    try:
        data = load_torch_file(path, map_location=device)
    except CheckpointError as exc:
        if not exc.reason.startswith("refused: "):
            raise
        detail = exc.reason.removeprefix("refused: ")
        if "torch.save archive" in detail:  # a zip of something else: damaged, not hostile
            raise CheckpointError(path, f"the file is truncated or corrupt ({detail})") from exc
        raise CheckpointError(
            path, "refused: the file holds objects other than tensors; it was not executed "
            f"({detail})"
        ) from exc
    if isinstance(data, Mapping) and not any(str(k).startswith("image_encoder.") for k in data):
        for wrapper in ("model", "state_dict"):
            if isinstance(data.get(wrapper), Mapping):
                data = data[wrapper]
                break
    if not isinstance(data, Mapping):
        raise CheckpointError(path, f"{_NOT_SAM}: it holds a {type(data).__name__}, "
                              "not a state dict")
    odd = [str(k) for k, v in data.items() if not isinstance(k, str)
           or not isinstance(v, torch.Tensor)]
    if odd:
        raise CheckpointError(path, f"{_NOT_SAM}: entries that are not tensors: "
                              f"{_some(odd)}")
    return dict(data)


def _assemble(path: Path, cfg: SamConfig, state: dict[str, torch.Tensor],
              device: torch.device) -> Sam:
    with torch.device("meta"):
        sam = build_sam_model(cfg)
    expected = sam.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        raise CheckpointError(path, f"{_NOT_SAM}: missing {_some(missing)}")
    if unexpected:
        raise CheckpointError(path, f"{_NOT_SAM}: unexpected {_some(unexpected)}")
    wrong = [f"{k} {list(state[k].shape)} (expected {list(v.shape)})"
             for k, v in expected.items() if state[k].shape != v.shape]
    if wrong:
        raise CheckpointError(path, f"{_NOT_SAM}: wrong shapes: {_some(wrong)}")
    not_float = [k for k, v in state.items() if not v.is_floating_point()]
    if not_float:
        raise CheckpointError(path, f"{_NOT_SAM}: non-float tensors: {_some(not_float)}")
    state = {k: v.to(device=device, dtype=torch.float32) for k, v in state.items()}
    # assign=True adopts the loaded tensors instead of copying into meta placeholders.
    sam.load_state_dict(state, strict=True, assign=True)
    sam.pixel_mean = sam.pixel_mean.to(device)
    sam.pixel_std = sam.pixel_std.to(device)
    return sam.eval().requires_grad_(False)


def _some(items: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


# --- prompted segmentation ------------------------------------------------------------


@dataclass
class SamPrediction:
    """One object's mask, chosen among SAM's candidates by predicted IoU."""

    mask: np.ndarray  # bool [H, W] at the image's size
    soft_mask: np.ndarray  # float32 [H, W]: sigmoid of the upsampled logits; > 0.5 == mask
    score: float  # predicted IoU of the chosen mask
    logits: np.ndarray  # float32 [1, L, L] low-resolution logits, the next mask_input
    index: int  # which candidate was chosen
    candidate_masks: np.ndarray  # bool [C, H, W]
    candidate_scores: np.ndarray  # float32 [C]

    def chunk_mask(self, resolution: int, soft: bool = True) -> np.ndarray:
        """The mask as a float32 chunk mask [resolution, resolution] in [0, 1]."""
        return as_chunk_mask(self.soft_mask if soft else self.mask, resolution)


@dataclass
class _Embedding:
    features: torch.Tensor
    original_size: tuple[int, int]
    input_size: tuple[int, int]


def image_key(rgb: np.ndarray) -> str:
    """A digest of the pixels and shape: equal keys mean the same embedding."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(repr((rgb.shape, rgb.dtype.str)).encode())
    digest.update(np.ascontiguousarray(rgb).data)
    return digest.hexdigest()


def check_rgb(rgb: Any) -> np.ndarray:
    """SAM's predictor asserts instead of explaining; say what is wrong with the image."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 \
            or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        dtype = getattr(rgb, "dtype", type(rgb).__name__)
        raise InvalidInputError(f"Segment Anything needs an RGB uint8 image [H, W, 3] (got "
                                f"{dtype} {list(shape) if shape is not None else ''}).")
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise InvalidInputError("The image to segment is empty.")
    return rgb


class SamSegmenter:
    """SAM for one image at a time, keeping the last `cache_size` image embeddings.

    The image encoder is the slow part (seconds for vit_h on a CPU); prompts are cheap.
    Caching embeddings by pixel digest makes switching back to an image instant.
    Not thread-safe: use it from one thread (or guard it).
    """

    def __init__(self, sam: Sam, cache_size: int = 4):
        if cache_size < 1:
            raise InvalidInputError("The embedding cache must hold at least one image.")
        self.sam = sam
        self.predictor = SamPredictor(sam)
        self.cache_size = cache_size
        self.encoder_runs = 0  # embeddings computed (not served from the cache)
        self._cache: OrderedDict[str, _Embedding] = OrderedDict()
        self._key: str | None = None

    @property
    def image_key(self) -> str | None:
        """The key of the image set now (None before the first set_image)."""
        return self._key

    @property
    def image_size(self) -> tuple[int, int] | None:
        """(height, width) of the image set now."""
        return tuple(self.predictor.original_size) if self._key is not None else None

    @property
    def low_res_size(self) -> int:
        return 4 * self.sam.prompt_encoder.image_embedding_size[0]

    def embedding_cached(self, rgb: np.ndarray) -> bool:
        return image_key(check_rgb(rgb)) in self._cache

    def set_image(self, rgb: np.ndarray) -> bool:
        """Make `rgb` the image to segment; True when its embedding came from the cache."""
        key = image_key(check_rgb(rgb))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            p = self.predictor
            p.features = cached.features
            p.original_size = cached.original_size
            p.input_size = cached.input_size
            p.is_image_set = True
            self._key = key
            return True
        self._key = None  # the predictor holds no image until the encoder succeeds
        with torch.inference_mode():
            self.predictor.set_image(rgb, image_format="RGB")
        self.encoder_runs += 1
        self._cache[key] = _Embedding(self.predictor.features,
                                      tuple(self.predictor.original_size),
                                      tuple(self.predictor.input_size))
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        self._key = key
        return False

    def clear_cache(self) -> None:
        """Forget every embedding, including the current image's."""
        self._cache.clear()
        self.predictor.reset_image()
        self._key = None

    def predict(self, points: Sequence[Sequence[float]] | np.ndarray | None = None,
                labels: Sequence[int] | np.ndarray | None = None,
                box: Sequence[float] | None = None, mask_input: np.ndarray | None = None,
                multimask: bool = True) -> SamPrediction:
        """Mask for clicks (x, y) in image pixels, labels 1 = object, 0 = background
        (all 1 when omitted), and/or a box (x0, y0, x1, y1); `mask_input` is a previous
        prediction's `logits`."""
        if self._key is None:
            raise InvalidInputError("Set an image before asking Segment Anything for a mask.")
        height, width = self.image_size
        coords, point_labels = _check_points(points, labels, width, height)
        box_array = _check_box(box, width, height)
        if coords is None and box_array is None:
            raise InvalidInputError("Give at least one point or a box to segment.")
        mask_array = _check_mask_input(mask_input, self.low_res_size)
        with torch.inference_mode():
            logits, scores, low_res = self.predictor.predict(
                point_coords=coords, point_labels=point_labels, box=box_array,
                mask_input=mask_array, multimask_output=multimask, return_logits=True)
        best = int(np.argmax(scores))
        threshold = self.sam.mask_threshold
        chosen = torch.from_numpy(logits[best] - threshold)
        return SamPrediction(
            mask=logits[best] > threshold,
            soft_mask=torch.sigmoid(chosen).numpy().astype(np.float32),
            score=float(scores[best]),
            logits=low_res[best:best + 1].astype(np.float32),
            index=best,
            candidate_masks=logits > threshold,
            candidate_scores=scores.astype(np.float32),
        )


def _check_points(points, labels, width: int, height: int
                  ) -> tuple[np.ndarray | None, np.ndarray | None]:
    if points is None or len(points) == 0:
        if labels is not None and len(labels) > 0:
            raise InvalidInputError("Point labels were given without points.")
        return None, None
    coords = np.asarray(points, dtype=np.float64)
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise InvalidInputError("Points must be (x, y) pairs.")
    if not np.isfinite(coords).all():
        raise InvalidInputError("Points must have finite coordinates.")
    outside = ~((coords[:, 0] >= 0) & (coords[:, 0] < width)
                & (coords[:, 1] >= 0) & (coords[:, 1] < height))
    if outside.any():
        x, y = coords[int(np.argmax(outside))]
        raise InvalidInputError(f"The point ({x:g}, {y:g}) is outside the {width}x{height} "
                                "image.")
    if labels is None:
        labels = np.ones(len(coords), dtype=np.int64)
    values = np.asarray(labels)
    if values.shape != (len(coords),):
        raise InvalidInputError(f"{len(coords)} points need {len(coords)} labels "
                                f"(got {values.size}).")
    if not np.isin(values, (0, 1)).all():
        raise InvalidInputError("Point labels must be 1 (object) or 0 (background).")
    return coords, values.astype(np.int64)


def _check_box(box, width: int, height: int) -> np.ndarray | None:
    if box is None:
        return None
    values = np.asarray(box, dtype=np.float64)
    if values.shape != (4,) or not np.isfinite(values).all():
        raise InvalidInputError("A box must be four numbers (x0, y0, x1, y1).")
    x0, y0, x1, y1 = values
    if not (x0 < x1 and y0 < y1):
        raise InvalidInputError("A box needs x0 < x1 and y0 < y1.")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise InvalidInputError(f"The box ({x0:g}, {y0:g}, {x1:g}, {y1:g}) does not fit in "
                                f"the {width}x{height} image.")
    return values


def _check_mask_input(mask_input, size: int) -> np.ndarray | None:
    if mask_input is None:
        return None
    values = np.asarray(mask_input, dtype=np.float32)
    if values.shape == (size, size):
        values = values[None]
    if values.shape != (1, size, size):
        raise InvalidInputError(f"A mask input must be the logits of a previous prediction "
                                f"[1, {size}, {size}] (got {list(values.shape)}).")
    if not np.isfinite(values).all():
        raise InvalidInputError("The mask input contains NaN or infinite values.")
    return values


def as_chunk_mask(mask: np.ndarray, resolution: int) -> np.ndarray:
    """A boolean or soft mask of a square image as a float32 [R, R] chunk mask in [0, 1]."""
    values = np.asarray(mask)
    if values.ndim != 2:
        raise InvalidInputError(f"A mask must be 2-D (got shape {list(values.shape)}).")
    if values.shape[0] != values.shape[1]:
        raise InvalidInputError(f"The mask is {values.shape[1]}x{values.shape[0]}; chunk masks "
                                "are square, so segment the aligned (square) image.")
    if resolution < 1:
        raise InvalidInputError("The chunk mask resolution must be positive.")
    values = np.clip(values.astype(np.float32), 0.0, 1.0)
    if values.shape[0] != resolution:
        shrink = values.shape[0] > resolution
        values = cv2.resize(values, (resolution, resolution),
                            interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return np.clip(values, 0.0, 1.0).astype(np.float32)
