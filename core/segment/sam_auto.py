""""Segment everything": SAM mask proposals from a grid of clicks, as a stoppable job.

    job = ProposalJob(segmenter, rgb, ProposalSettings(points_per_side=16))
    for progress in job.run():     # yields after every batch of grid points
        ...                        # job.stop() from any thread ends run() early
    proposals = job.result()       # largest first

The image embedding comes from the segmenter's cache, so proposals for the image the
user is already clicking on cost only the mask decoder.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from segment_anything import SamAutomaticMaskGenerator
from segment_anything.utils.amg import MaskData, batch_iterator, rle_to_mask
from torchvision.ops.boxes import batched_nms

from core.errors import InvalidInputError
from core.segment.sam import SamSegmenter, check_rgb, image_key


@dataclass(frozen=True)
class ProposalSettings:
    points_per_side: int = 32  # the click grid is points_per_side²
    points_per_batch: int = 64  # clicks decoded together; also how often progress comes
    pred_iou_thresh: float = 0.88  # drop masks SAM itself rates below this
    stability_score_thresh: float = 0.95  # drop masks that change with the logit cutoff
    stability_score_offset: float = 1.0
    box_nms_thresh: float = 0.7  # of two masks whose boxes overlap more, keep the better
    min_mask_region_area: int = 0  # fill holes and drop islands smaller than this (pixels)

    def __post_init__(self) -> None:
        if self.points_per_side < 1 or self.points_per_batch < 1:
            raise InvalidInputError("The point grid and its batches need at least one point.")
        for name in ("pred_iou_thresh", "stability_score_thresh", "box_nms_thresh"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidInputError(f"{name} must be between 0 and 1.")
        if self.stability_score_offset <= 0:
            raise InvalidInputError("stability_score_offset must be positive.")
        if self.min_mask_region_area < 0:
            raise InvalidInputError("min_mask_region_area cannot be negative.")


@dataclass
class MaskProposal:
    mask: np.ndarray  # bool [H, W]
    predicted_iou: float
    stability_score: float
    area: int  # pixels in the mask
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 with x1, y1 exclusive: mask[y0:y1, x0:x1]
    point: tuple[float, float]  # the grid click (x, y) that produced it


@dataclass
class ProposalProgress:
    batches_done: int
    total_batches: int
    candidates: int  # masks that passed the quality filters so far (before de-duplication)
    elapsed_seconds: float
    finished: bool = False
    stopped: bool = False


class ProposalJob:
    """Automatic mask proposals for one image; resumable, stoppable between batches.

    Built on segment-anything 1.0's SamAutomaticMaskGenerator (pinned by the project and
    covered by tests/core/test_segment_sam.py): its per-batch step `_process_batch` does
    the filtering, so that this job can yield and stop between batches, which
    `generate()` cannot. Only the single full-image crop is used.
    """

    def __init__(self, segmenter: SamSegmenter, rgb: np.ndarray,
                 settings: ProposalSettings | None = None):
        self.segmenter = segmenter
        self.rgb = check_rgb(rgb)
        self.settings = s = settings or ProposalSettings()
        self._key = image_key(rgb)
        self.generator = SamAutomaticMaskGenerator(
            segmenter.sam, points_per_side=s.points_per_side,
            points_per_batch=s.points_per_batch, pred_iou_thresh=s.pred_iou_thresh,
            stability_score_thresh=s.stability_score_thresh,
            stability_score_offset=s.stability_score_offset, box_nms_thresh=s.box_nms_thresh,
            crop_n_layers=0, min_mask_region_area=s.min_mask_region_area,
            output_mode="binary_mask",
        )
        # Share the segmenter's predictor, so the cached embedding is used.
        self.generator.predictor = segmenter.predictor
        height, width = rgb.shape[:2]
        self.image_size = (height, width)
        grid = self.generator.point_grids[0] * np.array([[width, height]], dtype=np.float64)
        self._batches = [b for (b,) in batch_iterator(s.points_per_batch, grid)]
        self._data = MaskData()
        self.batches_done = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._result: tuple[int, list[MaskProposal]] | None = None

    @property
    def total_batches(self) -> int:
        return len(self._batches)

    @property
    def finished(self) -> bool:
        return self.batches_done >= self.total_batches

    def stop(self) -> None:
        """Ask run() to return before the next batch (thread-safe)."""
        self._stop.set()

    def run(self) -> Iterator[ProposalProgress]:
        """Decode the grid batch by batch until done or stop() is called; resumable."""
        while True:
            if self._stop.is_set():
                self._stop.clear()
                yield self._progress(stopped=True)
                return
            if self.finished:
                yield self._progress(finished=True)
                return
            started = time.perf_counter()
            self._ensure_image()
            points = self._batches[self.batches_done]
            # Grad mode is thread-local: enter inference mode per batch, never across a yield.
            with torch.inference_mode():
                batch = self.generator._process_batch(
                    points, self.image_size, [0, 0, self.image_size[1], self.image_size[0]],
                    self.image_size)
            self._data.cat(batch)
            self.batches_done += 1
            self.seconds += time.perf_counter() - started
            yield self._progress()

    def run_to_end(self) -> list[MaskProposal]:
        for _ in self.run():
            pass
        return self.result()

    def result(self) -> list[MaskProposal]:
        """The proposals from the batches done so far, de-duplicated, largest first."""
        if self._result is None or self._result[0] != self.batches_done:
            self._result = (self.batches_done, self._finalise())
        return list(self._result[1])

    # -- internals ------------------------------------------------------------------------

    def _ensure_image(self) -> None:
        if self.segmenter.image_key != self._key:  # another image was segmented meanwhile
            self.segmenter.set_image(self.rgb)

    def _candidates(self) -> int:
        return len(dict(self._data.items()).get("rles", ()))

    def _progress(self, *, finished: bool = False, stopped: bool = False) -> ProposalProgress:
        return ProposalProgress(batches_done=self.batches_done,
                                total_batches=self.total_batches,
                                candidates=self._candidates(),
                                elapsed_seconds=self.seconds, finished=finished,
                                stopped=stopped)

    def _finalise(self) -> list[MaskProposal]:
        if self._candidates() == 0:
            return []
        # A copy: the steps below filter and edit in place, and run() may resume later.
        data = MaskData(**{k: (v.clone() if isinstance(v, torch.Tensor) else list(v))
                           for k, v in self._data.items()})
        keep = batched_nms(data["boxes"].float(), data["iou_preds"],
                           torch.zeros(len(data["boxes"])),
                           iou_threshold=self.settings.box_nms_thresh)
        data.filter(keep)
        if self.settings.min_mask_region_area > 0:
            data = SamAutomaticMaskGenerator.postprocess_small_regions(
                data, self.settings.min_mask_region_area, self.settings.box_nms_thresh)
        data.to_numpy()
        proposals = []
        for i, rle in enumerate(data["rles"]):
            mask = rle_to_mask(rle)
            area = int(mask.sum())
            if area == 0:
                continue
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            proposals.append(MaskProposal(
                mask=mask, predicted_iou=float(data["iou_preds"][i]),
                stability_score=float(data["stability_score"][i]), area=area,
                bbox=(int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1),
                point=(float(data["points"][i][0]), float(data["points"][i][1])),
            ))
        proposals.sort(key=lambda p: (-p.area, -p.predicted_iou))
        return proposals
