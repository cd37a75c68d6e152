"""GANSpace: principal components of mapped W samples."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

from core.edit.directions import slider_scale
from core.edit.ganspace import ganspace_directions, mapped_samples, principal_components
from core.errors import InvalidInputError
from tests.checkpoint_writers import random_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def generator():
    return random_generator(16, w_dim=32)


class PlantedGenerator:
    """Only a mapping: w = z·A + mean, so W's covariance is exactly AᵀA = Q·diag(λ)·Qᵀ."""

    def __init__(self, variances: np.ndarray, seed: int = 1):
        dim = len(variances)
        rng = np.random.default_rng(seed)
        self.q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
        self.variances = np.asarray(variances, dtype=np.float64)
        self.a = torch.from_numpy(np.sqrt(self.variances)[:, None] * self.q.T).float()
        self.mean = torch.from_numpy(rng.normal(size=dim)).float()
        self.z_dim = self.w_dim = dim
        self.num_ws = 4
        self.w_avg = torch.zeros(dim)
        self.calls = 0

    def mapping(self, z: torch.Tensor, truncation_psi: float = 1.0) -> torch.Tensor:
        assert truncation_psi == 1.0
        self.calls += 1
        w = z @ self.a + self.mean
        return w.unsqueeze(1).repeat(1, self.num_ws, 1)


def ratios_of(directions) -> list[float]:
    return [float(re.search(r"([\d.]+)% of variance", d.description).group(1)) / 100
            for d in directions]


def test_directions_are_orthonormal_unit_and_ordered_by_variance(generator):
    directions = ganspace_directions(generator, samples=2000, components=8)
    assert [d.name for d in directions] == [f"pc{i}" for i in range(8)]
    vectors = np.stack([d.vector for d in directions]).astype(np.float64)
    np.testing.assert_allclose(vectors @ vectors.T, np.eye(8), atol=1e-5)
    w = mapped_samples(generator, samples=2000)
    variances = (w @ vectors.T).var(axis=0)
    assert np.all(np.diff(variances) < 0)
    ratios = ratios_of(directions)
    assert all(a >= b for a, b in itertools.pairwise(ratios))
    assert 0 < sum(ratios) <= 1.0 + 1e-3
    for d in directions:
        assert d.space == "w" and d.source == "ganspace" and d.layers is None
        assert d.vector.shape == (32,) and d.vector.dtype == np.float32
        assert d.scale == pytest.approx(slider_scale(w, d.vector), rel=1e-5)


def test_recovers_a_planted_covariance():
    variances = np.array([9.0, 5.0, 3.0, 2.0] + [0.5] * 12)
    g = PlantedGenerator(variances)
    directions = ganspace_directions(g, samples=20_000, components=4, seed=3)
    for i, d in enumerate(directions):
        assert abs(float(d.vector @ g.q[:, i])) > 0.99, i
        # strength 1 = SLIDER_SIGMAS standard deviations along the component
        assert d.scale == pytest.approx(2.0 * np.sqrt(variances[i]), rel=0.05)
    np.testing.assert_allclose(ratios_of(directions), variances[:4] / variances.sum(),
                               atol=0.01)


def test_matches_numpy_eigh_on_the_same_samples(generator):
    w = mapped_samples(generator, samples=1500, seed=7)
    vectors, ratios = principal_components(w, 5)
    values, reference = np.linalg.eigh(np.cov(w.astype(np.float64), rowvar=False))
    for i in range(5):
        expected = reference[:, -1 - i]
        assert abs(float(vectors[i] @ expected)) == pytest.approx(1.0, abs=1e-5)
        assert ratios[i] == pytest.approx(values[-1 - i] / values.sum(), rel=1e-6)
    directions = ganspace_directions(generator, samples=1500, components=5, seed=7)
    np.testing.assert_allclose(np.stack([d.vector for d in directions]), vectors, atol=1e-6)


def test_seeded_deterministic_and_batch_independent(generator):
    a = ganspace_directions(generator, samples=1000, components=3, seed=1)
    b = ganspace_directions(generator, samples=1000, components=3, seed=1)
    c = ganspace_directions(generator, samples=1000, components=3, seed=2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.vector, y.vector)
        assert x.scale == y.scale
    assert not np.array_equal(a[0].vector, c[0].vector)
    assert abs(float(a[0].vector @ c[0].vector)) > 0.9  # same distribution, same top component
    np.testing.assert_array_equal(mapped_samples(generator, samples=700, seed=4, batch=64),
                                  mapped_samples(generator, samples=700, seed=4))


def test_mapped_samples_apply_truncation(generator):
    full = mapped_samples(generator, samples=50, seed=5)
    half = mapped_samples(generator, samples=50, seed=5, truncation_psi=0.5)
    avg = generator.w_avg.numpy()
    np.testing.assert_allclose(half, avg + 0.5 * (full - avg), atol=1e-6)


def test_per_component_layer_ranges(generator):
    directions = ganspace_directions(generator, samples=500, components=4,
                                     layers={1: (0, 3), 3: (2, 6)})
    assert [d.layers for d in directions] == [None, (0, 3), None, (2, 6)]
    assert "layers 0–2" in directions[1].description
    delta = directions[1].ws_delta(generator.num_ws, 1.0)
    assert np.any(delta[:3]) and not np.any(delta[3:])
    with pytest.raises(InvalidInputError, match="does not fit"):
        ganspace_directions(generator, samples=500, components=4, layers={0: (0, 7)})
    with pytest.raises(InvalidInputError, match="no component pc4"):
        ganspace_directions(generator, samples=500, components=4, layers={4: (0, 2)})


def test_components_are_capped_by_the_dimension_and_refuse_constant_samples():
    g = PlantedGenerator(np.array([4.0, 2.0, 1.0]))
    assert len(ganspace_directions(g, samples=300, components=20)) == 3
    with pytest.raises(InvalidInputError, match="do not vary"):
        principal_components(np.ones((10, 4)), 2)
    with pytest.raises(InvalidInputError, match="NaN"):
        principal_components(np.full((10, 4), np.nan), 2)
