"""The cached preview renderer: re-synthesises only the chunks whose code or edits changed.

Runs on the worker thread that owns the generator (torch, no Qt). Every chunk's image is
cached on the generator's device under a key made of its code's bytes, its enabled
non-zero edits (direction, strength) and the PTI weights in use, so moving one chunk's
slider synthesises that chunk alone; when several chunks changed they go through one
batched synthesis call.

Weights: the chunk masks become weights exactly as the inversion made them
(`core.invert.masks.ChunkMasks`, with the project's coverage mode). A project's masks are
the weights its inversion ended with, where overlaps were already settled top-wins
(`mask_ops.resolve_overlaps`) before inverting; settling them again here would change soft
borders and the render would no longer reproduce the inversion. Masks painted to overlap
afterwards share their overlap in proportion, as the inversion would.

Modes (`PreviewRequest.mode`):
- "edited": the aligned photo with only the edited chunks (an enabled edit with non-zero
  strength) replaced by their edited images, blended with their weights. Pixels where
  the edited chunks' weights are all exactly 0 are the photo's uint8 pixels, bit for bit.
- "reconstruction": every chunk, with its edits, composited as the inversion did; without
  edits this is the inversion's output (`render_document`).
- "original": the aligned photo.
- "difference": a heat map of max over RGB of |edited − photo|, black → red → yellow,
  scaled so the largest difference is full yellow (at least `DIFF_FLOOR` levels, so
  rounding noise stays dark).
- "side_by_side": photo | edited, [R, 2R, 3]; with `split` a wipe instead: one [R, R, 3]
  image, photo left of column round(split·R), edited from there on.

`changed_mask` [R, R] is where the image may differ from the photo (for paste-back): the
edited chunks' summed weights ("edited", "difference", "side_by_side"), every chunk's
("reconstruction"), zero ("original").

The renderer reads codes and edits from the request (an immutable snapshot) and masks,
photo, coverage and PTI weights from the document when it renders; mask contents are
compared with the last ones used, so in-place painting is picked up. PTI weights are
recognised by identity: assign a new dict to `doc.pti_weights` to change them.

Fast previews: a request with `size` (a block resolution below the generator's, e.g. 256)
synthesises the chunks only up to that block (the skip image accumulated there,
`max_resolution`) and scales them up bilinearly before compositing, so the photo, the
masks and the output stay at full resolution and only the chunks' own pixels are softer.
`RenderResult.size` says at which resolution the chunks were synthesised.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F

from core.edit.directions import AppliedEdit, Direction, edited_styles
from core.edit.scheduler import ChunkState, PreviewRequest
from core.errors import InvalidInputError
from core.invert.masks import ChunkMasks, composite
from core.invert.pti import with_tuned_weights
from core.latents.codes import ChunkCode, CodeSpace
from core.project.document import SPACES, Document
from core.stylegan import Generator, StyleVectors, quantised_images, uint8_to_images

DirectionSource = Mapping[str, Direction] | Callable[[str], Direction | None]
# "difference" maps this many uint8 levels (or the largest difference, if larger) to yellow.
DIFF_FLOOR = 16


@dataclass(frozen=True)
class RenderResult:
    """One rendered preview: `image` uint8 [H, W, 3] and `changed_mask` float32 [R, R] on
    the host; `chunks_synthesised` chunks went through the generator for it."""

    request_id: int
    image: np.ndarray
    changed_mask: np.ndarray
    seconds: float
    chunks_synthesised: int
    mode: str = "edited"
    size: int | None = None  # resolution the chunks were synthesised at (None: full)


class StaleRequestError(InvalidInputError):
    """The request's chunks no longer match the document (the result would be dropped)."""


class EditRenderer:
    """Renders previews of `doc` with `generator`, caching every chunk's image.

    `directions` maps a direction name to its `Direction`: a mapping, or a callable such
    as `DirectionLibrary.get` that returns None or raises KeyError or InvalidInputError
    for unknown names. `force_fp32=None` uses the
    inversion's setting, so on CUDA the preview has the inversion's precision.
    `cache_size` bounds the cached chunk images (default: two per chunk, so each chunk
    keeps its unedited and its edited image and toggling an edit is free).
    """

    def __init__(self, generator: Generator, doc: Document, directions: DirectionSource, *,
                 force_fp32: bool | None = None, cache_size: int | None = None):
        self.generator = generator
        self.doc = doc
        self.directions = directions
        self.device = generator.w_avg.device
        settings = (doc.inversion or {}).get("settings") or {}
        self.force_fp32 = bool(settings.get("force_fp32", False)) if force_fp32 is None \
            else bool(force_fp32)
        self.cache_size = cache_size
        # Counters, for tests and the status bar.
        self.renders = 0
        self.synthesis_calls = 0
        self.chunks_synthesised = 0
        self.last_synthesised: tuple[int, ...] = ()
        self._cache: OrderedDict[tuple, torch.Tensor] = OrderedDict()
        self._gen, self._space = generator, CodeSpace(generator)
        self._pti_source: dict | None = None
        self._pti_token = 0
        self._masks_used: list[np.ndarray] | None = None
        self._coverage: str | None = None
        self._weights: tuple[torch.Tensor, torch.Tensor] | None = None
        self._changed: dict[tuple[int, ...], np.ndarray] = {}
        self._photo_used: np.ndarray | None = None
        self._photo: tuple[torch.Tensor, torch.Tensor] | None = None
        self._fingerprints: dict[int, tuple[Direction, bytes]] = {}

    # ----------------------------------------------------------------- public

    def request(self, mode: str = "edited", *, split: float | None = None,
                revision: int = 0) -> PreviewRequest:
        """A request for the document as it is now."""
        return PreviewRequest.from_document(self.doc, mode=mode, split=split, revision=revision)

    def clear_cache(self) -> None:
        """Forget every cached image and weight (e.g. after the generator's weights changed)."""
        self._cache.clear()
        self._masks_used = self._weights = self._photo_used = self._photo = None
        self._changed.clear()

    @torch.no_grad()
    def render(self, request: PreviewRequest | None = None) -> RenderResult:
        """Render `request` (default: the document now) to a uint8 image on the host."""
        started = time.perf_counter()
        request = self.request() if request is None else request
        self.renders += 1
        self.last_synthesised = ()
        resolution = self.doc.resolution
        if self.generator.img_resolution != resolution:
            raise InvalidInputError(
                f"The project is {resolution}x{resolution} but the generator renders "
                f"{self.generator.img_resolution}x{self.generator.img_resolution}.")
        if request.mode == "original" or not self.doc.chunks:
            return self._result(request, self.doc.aligned.copy(),
                                np.zeros((resolution,) * 2, np.float32), 0, started)
        size = self._synthesis_size(request)
        states = self._checked_states(request)
        self._refresh_generator()
        applied = [self._applied(state) for state in states]
        reconstruction = request.mode == "reconstruction"
        needed = tuple(range(len(states))) if reconstruction else tuple(
            i for i, edits in enumerate(applied) if edits)
        photo, photo_u8 = self._photo_tensors()
        if not needed:
            size = None  # nothing synthesised: the photo, at full resolution
            edited_u8 = photo_u8
            changed = np.zeros((resolution,) * 2, np.float32)
            count = 0
        else:
            images, count = self._images(needed, states, applied, size)
            weights, photo_weight = self._weight_tensors()
            edited_u8, changed = self._blend(needed, images, weights,
                                             photo_weight if reconstruction else None,
                                             photo, photo_u8)
        image = self._present(request, edited_u8, photo_u8)
        if image is photo_u8:  # never hand out the cached photo itself (on CPU it is shared)
            image = image.clone()
        return self._result(request, image.contiguous().cpu().numpy(), changed, count, started,
                            size)

    @torch.no_grad()
    def chunk_image(self, index: int, request: PreviewRequest | None = None) -> torch.Tensor:
        """One chunk's whole generator image with its edits, float [1, 3, R, R] on the
        device (a copy of the cached one when it is there; thumbnails, tests)."""
        request = self.request() if request is None else request
        states = self._checked_states(request)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(states):
            raise InvalidInputError(f"There is no chunk number {index!r}.")
        self._refresh_generator()
        applied = [self._applied(s) if i == index else [] for i, s in enumerate(states)]
        return self._images((index,), states, applied)[0].clone()

    # ----------------------------------------------------------------- chunks

    def _checked_states(self, request: PreviewRequest) -> tuple[ChunkState, ...]:
        names = [c.name for c in self.doc.chunks]
        if [s.name for s in request.chunks] != names:
            raise StaleRequestError("The document's chunks changed after this preview was "
                                    "requested; request it again.")
        return request.chunks

    def _direction(self, chunk: str, name: str) -> Direction:
        source = self.directions
        try:
            direction = source.get(name) if isinstance(source, Mapping) else source(name)
        except KeyError:
            direction = None
        except InvalidInputError as error:  # e.g. DirectionLibrary.get, with its hints
            raise InvalidInputError(f"Chunk {chunk!r}: {error}") from error
        if direction is None:
            raise InvalidInputError(f"Chunk {chunk!r} uses the direction {name!r}, which is not "
                                    "in the direction library.")
        if not isinstance(direction, Direction):
            raise InvalidInputError(f"The direction library gave {type(direction).__name__} for "
                                    f"{name!r} (chunk {chunk!r}), not a Direction.")
        try:
            direction.check_fits(self._space)
        except InvalidInputError as error:
            raise InvalidInputError(f"Chunk {chunk!r}: {error}") from error
        return direction

    def _applied(self, state: ChunkState) -> list[AppliedEdit]:
        """The chunk's enabled edits that move its code (every name is checked)."""
        edits = [AppliedEdit(self._direction(state.name, name), strength)
                 for name, strength in state.edits]
        return [e for e in edits if e.strength != 0]

    def _fingerprint(self, direction: Direction) -> bytes:
        known = self._fingerprints.get(id(direction))
        if known is not None and known[0] is direction:
            return known[1]
        digest = hashlib.blake2b(digest_size=16)
        digest.update(repr((direction.space, direction.scale, direction.layers,
                            direction.vector.shape)).encode())
        digest.update(direction.vector.tobytes())
        if len(self._fingerprints) > 1024:
            self._fingerprints.clear()
        self._fingerprints[id(direction)] = (direction, digest.digest())
        return digest.digest()

    def _key(self, state: ChunkState, applied: Sequence[AppliedEdit]) -> tuple:
        code = hashlib.blake2b(state.code or b"", digest_size=16).digest()
        edits = tuple((self._fingerprint(e.direction), e.strength) for e in applied)
        return state.space, code, edits, self._pti_token

    def _code(self, state: ChunkState) -> ChunkCode:
        if state.code is None:
            raise InvalidInputError(f"Chunk {state.name!r} has not been inverted yet; invert it "
                                    "before editing or rendering it.")
        if state.space not in SPACES:
            raise InvalidInputError(f"Chunk {state.name!r} has an unknown latent space "
                                    f"{state.space!r}; use one of {', '.join(SPACES)}.")
        values = np.frombuffer(state.code, dtype=np.float32)
        expected = self._space.shape(state.space)  # type: ignore[arg-type]
        if values.size != int(np.prod(expected)):
            raise InvalidInputError(f"Chunk {state.name!r}: its {state.space} code does not fit "
                                    "this generator.")
        code = ChunkCode(state.space, torch.from_numpy(values.reshape(expected).copy())
                         .to(self.device))  # type: ignore[arg-type]
        self._space.check(code)
        return code

    def _synthesis_size(self, request: PreviewRequest) -> int | None:
        """The block resolution to stop the synthesis at (None: the full resolution)."""
        size = request.size
        if size is None or size >= self.generator.img_resolution:
            return None
        if size not in self._gen.synthesis.block_resolutions:
            raise InvalidInputError(f"A {size}x{size} preview is not possible with this "
                                    f"generator; use one of "
                                    f"{self._gen.synthesis.block_resolutions}.")
        return size

    def _images(self, needed: tuple[int, ...], states: Sequence[ChunkState],
                applied: Sequence[list[AppliedEdit]],
                size: int | None = None) -> tuple[torch.Tensor, int]:
        """[len(needed), 3, R, R] images of the needed chunks; synthesises only new keys."""
        missing_names = [states[i].name for i in needed if states[i].code is None]
        if missing_names:
            raise InvalidInputError(f"Chunks {missing_names} have not been inverted yet; invert "
                                    "them before editing or rendering.")
        keys = {i: (*self._key(states[i], applied[i]), size) for i in needed}
        missing: dict[tuple, int] = {}
        for i in needed:
            if keys[i] not in self._cache and keys[i] not in missing:
                missing[keys[i]] = i
        if missing:
            self._synthesise(missing, states, applied, size)
        images = []
        for i in needed:
            self._cache.move_to_end(keys[i])
            images.append(self._cache[keys[i]])
        capacity = max(self.cache_size or 2 * len(states), len(needed))
        while len(self._cache) > capacity:
            self._cache.popitem(last=False)
        self.last_synthesised = tuple(missing.values())
        return (torch.cat(images) if len(images) > 1 else images[0]), len(missing)

    def _synthesise(self, missing: dict[tuple, int], states: Sequence[ChunkState],
                    applied: Sequence[list[AppliedEdit]], size: int | None = None) -> None:
        """One synthesis call for every missing chunk image (up to block `size` only, then
        scaled up to the full resolution, when `size` is given)."""
        plain = [i for i in missing.values() if not applied[i]]
        edited = [i for i in missing.values() if applied[i]]
        pieces: list[StyleVectors] = []
        if plain:  # the inversion's own batched call, so unedited chunks render as it did
            pieces.append(self._space.to_styles([self._code(states[i]) for i in plain]))
        for i in edited:
            code = self._code(states[i])  # its messages name the chunk already
            try:
                pieces.append(edited_styles(self._space, code, applied[i]))
            except InvalidInputError as error:
                raise InvalidInputError(f"Chunk {states[i].name!r}: {error}") from error
        styles = pieces[0] if len(pieces) == 1 else {
            name: torch.cat([p[name] for p in pieces]) for name in self._space.layer_dims}
        images = self._gen.synthesis(styles=styles, noise_mode="const",
                                     force_fp32=self.force_fp32, max_resolution=size)
        if size is not None:
            full = self.generator.img_resolution
            images = F.interpolate(images, size=(full, full), mode="bilinear",
                                   align_corners=False)
        by_index = {i: row for row, i in enumerate(plain + edited)}
        for key, i in missing.items():
            self._cache[key] = images[by_index[i]:by_index[i] + 1]
        self.synthesis_calls += 1
        self.chunks_synthesised += len(missing)

    def _refresh_generator(self) -> None:
        pti = self.doc.pti_weights
        if pti is self._pti_source:
            return
        self._pti_source = pti
        self._gen = with_tuned_weights(self.generator, pti) if pti else self.generator
        self._space = CodeSpace(self._gen)
        self._pti_token += 1
        self._cache.clear()

    # ----------------------------------------------------------------- compositing

    def _weight_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(chunk weights [n, 1, R, R], photo weight [1, 1, R, R]) as the inversion made them."""
        settings = (self.doc.inversion or {}).get("settings") or {}
        coverage = settings.get("coverage", "edit_regions")
        masks = [c.mask for c in self.doc.chunks]
        used = self._masks_used
        if (self._weights is None or coverage != self._coverage or used is None
                or len(used) != len(masks)
                or not all(np.array_equal(a, b) for a, b in zip(used, masks, strict=True))):
            stacked = torch.from_numpy(np.stack(masks)).to(self.device)
            self._weights = ChunkMasks(stacked, coverage, optimise=False).to(self.device)()
            self._masks_used = [m.copy() for m in masks]
            self._coverage = coverage
            self._changed.clear()
        return self._weights

    def _photo_tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(photo [1, 3, R, R] in [-1, 1], photo uint8 [R, R, 3]) on the device."""
        aligned = self.doc.aligned
        if self._photo is None or self._photo_used is None \
                or not np.array_equal(self._photo_used, aligned):
            self._photo_used = np.ascontiguousarray(aligned).copy()
            self._photo = (uint8_to_images(self._photo_used, self.device),
                           torch.from_numpy(self._photo_used).to(self.device))
        return self._photo

    def _blend(self, needed: tuple[int, ...], images: torch.Tensor, weights: torch.Tensor,
               photo_weight: torch.Tensor | None, photo: torch.Tensor,
               photo_u8: torch.Tensor) -> tuple[torch.Tensor, np.ndarray]:
        """The needed chunks over the photo (uint8 [R, R, 3]) and where it may differ."""
        if len(needed) != weights.shape[0]:
            weights = weights[list(needed)]
        if photo_weight is None:
            photo_weight = (1.0 - weights.sum(0, keepdim=True)).clamp(min=0.0)
        out = composite(images, weights, photo_weight, photo)
        out_u8 = quantised_images(out)[0]
        # Locality: untouched pixels are the photo itself, not a float round trip of it.
        touched = (weights > 0).any(0)[0].unsqueeze(-1)
        out_u8 = torch.where(touched, out_u8, photo_u8)
        changed = self._changed.get(needed)
        if changed is None:
            changed = weights.sum(0)[0].clamp(max=1.0).float().cpu().numpy()
            self._changed[needed] = changed
        return out_u8, changed

    def _present(self, request: PreviewRequest, edited: torch.Tensor,
                 photo: torch.Tensor) -> torch.Tensor:
        if request.mode == "difference":
            return difference_heat_map(edited, photo)
        if request.mode == "side_by_side":
            if request.split is None:
                return torch.cat([photo, edited], dim=1)
            column = round(request.split * photo.shape[1])
            return torch.cat([photo[:, :column], edited[:, column:]], dim=1)
        return edited

    def _result(self, request: PreviewRequest, image: np.ndarray, changed: np.ndarray,
                count: int, started: float, size: int | None = None) -> RenderResult:
        return RenderResult(request.id, image, changed.copy(), time.perf_counter() - started,
                            count, request.mode, size)


def difference_heat_map(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """uint8 [H, W, 3] heat map of max over RGB of |a − b| (uint8 images [H, W, 3]).

    Black (no difference) → red (half the scale) → yellow (the largest difference, or
    `DIFF_FLOOR` levels when every difference is smaller).
    """
    diff = (a.to(torch.int16) - b.to(torch.int16)).abs().amax(dim=-1).float()
    t = diff / diff.max().clamp(min=DIFF_FLOOR)
    red = (2 * t).clamp(0, 1)
    green = (2 * t - 1).clamp(0, 1)
    heat = torch.stack([red, green, torch.zeros_like(red)], dim=-1)
    return (heat * 255).round().to(torch.uint8)


def without_edits(request: PreviewRequest) -> PreviewRequest:
    """The same request with every chunk's edits dropped (the inversion as it was)."""
    return replace(request, chunks=tuple(replace(c, edits=()) for c in request.chunks))
