"""Supervised directions: a linear model of a face measurement over W.

As in the hairstyle-transfer paper's attribute editing (and InterFaceGAN), random faces are
generated, measured, and a linear model is fitted in W: ridge regression of the
standardised measurement on w (logistic regression when the label has two values). The
model's weight vector is the direction in which the measurement grows fastest per unit of
latent change, so the direction is that vector normalised; positive strength always
increases the label.

    job = SupervisedDirectionJob(generator)
    for progress in job.run():        # yields after every batch of samples
        ...                           # control.stop() from any thread; run() resumes
    directions = job.result()         # fits on whatever has been labelled

The same fit works on a user's own labelled latents (`load_labelled_latents`).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.checkpoint_files import read_array_file
from core.edit.directions import Direction, slider_scale, unit
from core.edit.labels import LABELS, face_measurements
from core.errors import CheckpointError, InvalidInputError
from core.jobs import JobControl, control_or_new
from core.stylegan import Generator, images_to_uint8

DEFAULT_LABELS: tuple[str, ...] = ("yaw", "pitch", "mouth_open", "eyes_open", "face_width")
MIN_FACES = 20  # fewer labelled samples than this give directions that are mostly noise
SUPERVISED_TRUNCATION = 0.7  # typical faces: the face detector fails on the odd ones
DETECTION_SIDE = 512  # generated faces fill the image; detecting on a smaller copy is faster

Labeller = Callable[[np.ndarray], Mapping[str, float] | None]


def landmark_labeller(rgb: np.ndarray) -> dict[str, float] | None:
    """`face_measurements` of the largest face in a uint8 image, or None without a face."""
    from core.face.landmarks import detect_faces  # dlib loads only when labelling

    faces = detect_faces(rgb, max_side=DETECTION_SIDE)
    if not faces:
        return None
    try:
        return face_measurements(faces[0].landmarks)
    except InvalidInputError:  # degenerate landmarks: as good as no face
        return None


# --- fitting -----------------------------------------------------------------------------


def fit_direction(w: np.ndarray, labels: np.ndarray, name: str, *, ridge: float = 1e-2,
                  scale_latents: np.ndarray | None = None,
                  layers: tuple[int, int] | None = None, source: str = "supervised",
                  description: str | None = None) -> Direction:
    """The unit W direction along which `labels` grow, from samples w [N, w_dim], labels [N].

    Two distinct label values mean a binary attribute (logistic regression, the larger
    value is the positive class); otherwise ridge regression on the standardised label.
    `ridge` is relative to the mean variance of w, so it does not depend on W's scale.
    The slider scale comes from `scale_latents` (default: `w` itself).
    """
    x = np.asarray(w, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or y.shape != (len(x),):
        raise InvalidInputError(f"Fitting {name!r} needs latents [N, D] and labels [N], not "
                                f"{list(x.shape)} and {list(y.shape)}.")
    if len(x) < 3:
        raise InvalidInputError(f"Fitting {name!r} needs at least 3 labelled latents, "
                                f"not {len(x)}.")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidInputError(f"The latents or labels for {name!r} contain NaN or infinite "
                                "values.")
    if not ridge >= 0:
        raise InvalidInputError("The ridge penalty cannot be negative.")
    values = np.unique(y)
    if len(values) < 2:
        raise InvalidInputError(f"All labels of {name!r} are equal; there is nothing to fit.")
    xc = x - x.mean(axis=0)
    mean_variance = float(np.mean(xc * xc))
    if mean_variance <= 0:
        raise InvalidInputError(f"The latents for {name!r} are all the same.")
    penalty = ridge * mean_variance
    binary = len(values) == 2
    if binary:
        weights = _logistic_weights(xc, (y == values[1]).astype(np.float64), penalty)
    else:
        ys = (y - y.mean()) / y.std()
        gram = xc.T @ xc / len(xc) + penalty * np.eye(xc.shape[1])
        weights = np.linalg.solve(gram, xc.T @ ys / len(xc))
    vector = unit(weights)
    projection = xc @ vector.astype(np.float64)
    correlation = float(np.corrcoef(projection, y)[0, 1]) if projection.std() > 0 else 0.0
    if correlation < 0:  # cannot happen for an exact fit; guards against round-off
        vector, correlation = -vector, -correlation
    scale = slider_scale(x if scale_latents is None else scale_latents, vector)
    if description is None:
        method = "logistic regression" if binary else "ridge regression"
        meaning = LABELS.get(name, name)
        description = (f"Supervised ({method} on {len(x)} samples, correlation "
                       f"{correlation:.2f}): {meaning}")
    return Direction(name, "w", vector, scale, layers=layers, source=source,
                     description=description)


def _logistic_weights(x: np.ndarray, y: np.ndarray, penalty: float) -> np.ndarray:
    """L2-penalised logistic regression (with an unpenalised intercept) by Newton's method."""
    n, d = x.shape
    design = np.concatenate([x, np.ones((n, 1))], axis=1)
    reg = np.full(d + 1, max(penalty, 1e-12))
    reg[-1] = 1e-12
    theta = np.zeros(d + 1)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -30, 30)))
        gradient = design.T @ (p - y) / n + reg * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design / n + np.diag(reg)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-8 * max(1.0, np.abs(theta).max()):
            break
    return theta[:d]


# --- the user's own labelled latents ------------------------------------------------------


def load_labelled_latents(path: str | Path, *, w_dim: int | None = None
                          ) -> tuple[np.ndarray, np.ndarray]:
    """(w [N, w_dim] float32, labels [N] float64) from a user's file.

    Two formats, nothing in them is executed:
    - `.npz` with an array `w` (or `latents`) of shape [N, w_dim] or [N, 1, w_dim] and an
      array `labels` of shape [N];
    - `.csv` with a header row naming a `label` column and columns `w_0` … `w_{D-1}`, one
      latent per row (other columns, e.g. an image name, are ignored).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "the file does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        w, labels = _read_labelled_npz(path)
    elif suffix == ".csv":
        w, labels = _read_labelled_csv(path)
    else:
        raise CheckpointError(path, "labelled latents must be an .npz or a .csv file")
    if w.ndim == 3 and w.shape[1] == 1:
        w = w[:, 0]
    if w.ndim != 2 or len(w) == 0:
        raise CheckpointError(path, f"the latents must have shape [N, w_dim], not {list(w.shape)}")
    if labels.shape != (len(w),):
        raise CheckpointError(path, f"{len(w)} latents but labels of shape {list(labels.shape)}")
    if w_dim is not None and w.shape[1] != w_dim:
        raise CheckpointError(path, f"the latents are {w.shape[1]}-dimensional; this "
                                    f"generator's W is {w_dim}-dimensional")
    if not (np.isfinite(w).all() and np.isfinite(labels).all()):
        raise CheckpointError(path, "the latents or labels contain NaN or infinite values")
    return w.astype(np.float32), labels.astype(np.float64)


# Labelled latents for `directions fit`: 1 GiB holds half a million 512-float latents.
MAX_LATENTS_FILE_BYTES = 1 << 30


def _read_labelled_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = read_array_file(path, limit=MAX_LATENTS_FILE_BYTES)
    except CheckpointError as exc:
        raise CheckpointError(path, f"the file is not a readable .npz ({exc.reason})") from exc
    if not isinstance(data, dict):
        raise CheckpointError(path, "the file is a single .npy array; give an .npz with "
                                    "arrays 'w' (or 'latents') and 'labels'")
    keys = set(data)
    key = "w" if "w" in keys else "latents" if "latents" in keys else None
    if key is None or "labels" not in keys:
        raise CheckpointError(path, "the .npz needs arrays 'w' (or 'latents') and "
                                    f"'labels'; it has {sorted(keys)}")
    w, labels = data[key], data["labels"]
    for array in (w, labels):
        if array.dtype.kind not in "biuf":
            raise CheckpointError(path, f"the arrays must hold numbers, not {array.dtype}")
    return w.astype(np.float64), labels.astype(np.float64)


def _read_labelled_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CheckpointError(path, f"the file is not a readable CSV file ({exc})") from exc
    if not rows:
        raise CheckpointError(path, "the file is empty")
    header = [name.strip() for name in rows[0]]
    if "label" not in header:
        raise CheckpointError(path, "the header row has no 'label' column")
    columns = {name: i for i, name in enumerate(header)}
    dims = 0
    while f"w_{dims}" in columns:
        dims += 1
    if dims == 0:
        raise CheckpointError(path, "the header row has no latent columns w_0, w_1, …")
    stray = sorted(n for n in header if n.startswith("w_") and n[2:].isdigit()
                   and int(n[2:]) >= dims)
    if stray:
        raise CheckpointError(path, f"latent column w_{dims} is missing but {stray[0]} exists")
    wanted = [columns["label"]] + [columns[f"w_{i}"] for i in range(dims)]
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise CheckpointError(path, f"line {line} has {len(row)} cells; the header has "
                                        f"{len(header)}")
        try:
            values.append([float(row[i]) for i in wanted])
        except ValueError as exc:
            raise CheckpointError(path, f"line {line} holds a value that is not a number "
                                        f"({exc})") from exc
    if not values:
        raise CheckpointError(path, "the file has a header but no latents")
    table = np.array(values, dtype=np.float64)
    return table[:, 1:], table[:, 0]


# --- the job ------------------------------------------------------------------------------


@dataclass
class SupervisedProgress:
    done: int  # samples generated and labelled so far
    total: int
    faces: int  # samples the labeller could measure (the others are skipped)
    elapsed_seconds: float
    finished: bool = False
    stopped: bool = False

    @property
    def skipped(self) -> int:
        return self.done - self.faces


class SupervisedDirectionJob:
    """Generate, label and fit; stoppable between faces and resumable."""

    def __init__(self, generator: Generator, labels: Sequence[str] = DEFAULT_LABELS,
                 samples: int = 1000, seed: int = 0, batch: int = 8, *,
                 truncation_psi: float = SUPERVISED_TRUNCATION,
                 labeller: Labeller | None = None, ridge: float = 1e-2,
                 min_faces: int = MIN_FACES, control: JobControl | None = None):
        self.labels = tuple(labels)
        self.control = control_or_new(control)
        if not self.labels:
            raise InvalidInputError("Name at least one label to fit.")
        if len(set(self.labels)) != len(self.labels):
            raise InvalidInputError("A label is named twice.")
        if labeller is None:
            unknown = [name for name in self.labels if name not in LABELS]
            if unknown:
                raise InvalidInputError(f"Unknown face measurement {unknown[0]!r}; the "
                                        f"measurements are {', '.join(LABELS)}.")
        if samples < 1 or batch < 1:
            raise InvalidInputError("The number of samples and the batch size must be positive.")
        self.generator = generator
        self.total = int(samples)
        self.batch = int(batch)
        self.truncation_psi = float(truncation_psi)
        self.labeller: Labeller = labeller or landmark_labeller
        self.ridge = ridge
        self.min_faces = int(min_faces)
        rng = torch.Generator().manual_seed(int(seed))
        self._z = torch.randn(self.total, generator.z_dim, generator=rng)  # CPU: reproducible
        self._w = np.empty((self.total, generator.w_dim), dtype=np.float32)
        self._face_rows: list[int] = []
        self._values: list[list[float]] = []
        self.done = 0
        self.seconds = 0.0

    def stop(self) -> None:
        """Ask run() to return after the current face (the same as `control.stop()`)."""
        self.control.stop()

    @property
    def faces(self) -> int:
        return len(self._face_rows)

    def run(self) -> Iterator[SupervisedProgress]:
        """Label batches until all samples are done or stop() is called; resumable."""
        while True:
            if self.control.stop_requested:
                self.control.acknowledge()
                yield self._progress(stopped=True)
                return
            if self.done >= self.total:
                yield self._progress(finished=True)
                return
            started = time.perf_counter()
            self._label_batch()
            self.seconds += time.perf_counter() - started
            yield self._progress()

    def run_to_end(self) -> list[Direction]:
        for _ in self.run():
            pass
        return self.result()

    @torch.no_grad()
    def _label_batch(self) -> None:
        g = self.generator
        start, end = self.done, min(self.done + self.batch, self.total)
        z = self._z[start:end].to(g.w_avg.device)
        ws = g.mapping(z, truncation_psi=self.truncation_psi)
        images = images_to_uint8(g.synthesis(ws, noise_mode="const"))
        self._w[start:end] = ws[:, 0].float().cpu().numpy()
        for row, image in zip(range(start, end), images, strict=True):
            self._label(row, image)
            self.done = row + 1
            if self.control.stop_requested:  # labelling is the slow part: stop mid-batch
                return

    def _label(self, row: int, image: np.ndarray) -> None:
        measured = self.labeller(image)
        if measured is None:
            return
        missing = [name for name in self.labels if name not in measured]
        if missing:
            raise InvalidInputError(f"The labeller gave no value for {missing[0]!r}.")
        values = [float(measured[name]) for name in self.labels]
        if all(np.isfinite(values)):
            self._face_rows.append(row)
            self._values.append(values)

    def _progress(self, *, finished: bool = False, stopped: bool = False) -> SupervisedProgress:
        return SupervisedProgress(self.done, self.total, self.faces, self.seconds,
                                  finished=finished, stopped=stopped)

    def result(self) -> list[Direction]:
        """One direction per label, fitted on the samples labelled so far."""
        if self.faces < self.min_faces:
            raise InvalidInputError(
                f"Only {self.faces} of {self.done} samples could be labelled; at least "
                f"{self.min_faces} are needed to fit a direction.")
        w = self._w[self._face_rows]
        values = np.array(self._values, dtype=np.float64)
        every_w = self._w[:self.done]
        return [fit_direction(w, values[:, i], name, ridge=self.ridge, scale_latents=every_w)
                for i, name in enumerate(self.labels)]
