"""GANSpace directions: the principal components of W (Härkönen et al., 2020).

Only the mapping network runs, so 10 000 samples take about a second even on a CPU. The
components are unit vectors ordered by explained variance; each one's slider scale is
`slider_scale` of the same samples, so strength ±1 moves a code by SLIDER_SIGMAS standard
deviations along the component. GANSpace found that many components only do one thing
when applied to some layers (e.g. pc1 on layers 0–2 turns the head); `layers` gives such
per-component ranges, and everything else acts on all layers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from core.edit.directions import Direction, slider_scale
from core.errors import InvalidInputError
from core.jobs import JobControl
from core.stylegan import Generator

GANSPACE_SAMPLES = 10_000
GANSPACE_COMPONENTS = 20


@torch.no_grad()
def mapped_samples(generator: Generator, *, samples: int, seed: int = 0,
                   truncation_psi: float = 1.0, batch: int = 2_000,
                   control: JobControl | None = None) -> np.ndarray:
    """Mapped w [samples, w_dim] (float32) of seeded random z: a seed gives the same w.

    A stop through `control` raises `JobCancelled` between batches.
    """
    if samples < 1:
        raise InvalidInputError("At least one sample is needed.")
    rng = torch.Generator().manual_seed(int(seed))
    device = generator.w_avg.device
    out = np.empty((samples, generator.w_dim), dtype=np.float32)
    for start in range(0, samples, batch):
        if control is not None:
            control.check("Sampling the mapping network")
        n = min(batch, samples - start)
        # z is drawn on the CPU so a seed gives the same samples on every device.
        z = torch.randn(n, generator.z_dim, generator=rng).to(device)
        ws = generator.mapping(z, truncation_psi=truncation_psi)
        out[start:start + n] = ws[:, 0].float().cpu().numpy()
    return out


def principal_components(w: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit components [k, D] by decreasing variance, explained-variance ratios [k]) of `w`.

    Eigen-decomposition of the covariance in float64; each component's sign is chosen so
    its largest coordinate is positive, so the same samples always give the same vectors.
    """
    x = np.asarray(w, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise InvalidInputError("PCA needs at least two samples of shape [N, D].")
    if not np.isfinite(x).all():
        raise InvalidInputError("The samples contain NaN or infinite values.")
    k = min(int(components), x.shape[1], len(x) - 1)
    if k < 1:
        raise InvalidInputError("Ask for at least one principal component.")
    x = x - x.mean(axis=0)
    covariance = x.T @ x / (len(x) - 1)
    variances, vectors = np.linalg.eigh(covariance)  # ascending
    order = np.argsort(variances)[::-1][:k]
    total = float(variances.clip(min=0).sum())
    if total <= 0:
        raise InvalidInputError("The samples do not vary; there are no principal components.")
    top = vectors[:, order].T  # [k, D]
    signs = np.sign(top[np.arange(k), np.abs(top).argmax(axis=1)])
    top *= signs[:, None]
    return top.astype(np.float32), (variances[order].clip(min=0) / total)


def ganspace_directions(generator: Generator, *, samples: int = GANSPACE_SAMPLES,
                        components: int = GANSPACE_COMPONENTS, seed: int = 0,
                        layers: Mapping[int, tuple[int, int]] | None = None,
                        control: JobControl | None = None) -> list[Direction]:
    """The top `components` principal directions of W, named pc0, pc1, … (truncation 1).

    `layers` maps a component index to the ws rows [start, end) it acts on. A stop through
    `control` raises `JobCancelled` between sampling batches.
    """
    ranges = dict(layers or {})
    expected = min(int(components), generator.w_dim, samples - 1)
    for index, (start, end) in ranges.items():
        if not 0 <= index < expected:
            raise InvalidInputError(f"There is no component pc{index}: only pc0–pc{expected - 1} "
                                    "are computed.")
        if not 0 <= start < end <= generator.num_ws:
            raise InvalidInputError(f"Layer range {start}–{end} of pc{index} does not fit this "
                                    f"generator's {generator.num_ws} layers.")
    w = mapped_samples(generator, samples=samples, seed=seed, control=control)
    vectors, ratios = principal_components(w, components)
    directions = []
    for i, (vector, ratio) in enumerate(zip(vectors, ratios, strict=True)):
        span = ranges.get(i)
        where = f", layers {span[0]}–{span[1] - 1}" if span else ""
        directions.append(Direction(
            f"pc{i}", "w", vector, slider_scale(w, vector), layers=span, source="ganspace",
            description=f"PCA of W, {100 * ratio:.1f}% of variance{where}"))
    return directions
