"""Hair sliders: measurements against the face, the supervised fit, the library."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from core.edit.directions import Direction
from core.edit.library import DirectionLibrary
from core.errors import InvalidInputError, JobCancelled
from core.face.landmarks import detect_faces
from core.hair.directions import (
    HAIR_DIRECTIONS,
    POSE_LABELS,
    hair_direction_job,
    hair_directions,
    hair_labeller,
    hair_measurements,
    pose_directions_for,
    store_hair_directions,
)
from core.hair.pose import Pose
from core.jobs import JobControl
from core.stylegan import images_to_uint8, load_generator

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def landmarks() -> np.ndarray:
    aligned = np.asarray(Image.open(DATA / "astronaut_ffhq256.png").convert("RGB"))
    return detect_faces(aligned)[0].landmarks  # [68, 2] on a 256² aligned face


def test_volume_counts_hair_above_the_forehead_and_length_below_the_eyes(landmarks):
    top = np.zeros((256, 256), np.float32)
    top[: int(landmarks[19:25, 1].min()) - 40] = 1  # well above the brows
    sides = np.zeros((256, 256), np.float32)
    sides[150:250, :40] = 1  # beside the jaw, down to the shoulders
    sides[150:250, -40:] = 1
    m_top, m_sides = hair_measurements(top, landmarks), hair_measurements(sides, landmarks)
    assert m_top["hair_volume"] > 0.5 and m_top["hair_length"] == 0
    assert m_sides["hair_volume"] == 0 and m_sides["hair_length"] > 0.3
    # Ratios to the face size: the same at twice the resolution.
    big = hair_measurements(np.kron(top, np.ones((2, 2), np.float32)), landmarks * 2 + 0.5)
    assert big["hair_volume"] == pytest.approx(m_top["hair_volume"], rel=0.02)
    with pytest.raises(InvalidInputError):
        hair_measurements(top, landmarks[:10])


def test_labeller_skips_faceless_samples_and_counts_no_hair_as_zero(landmarks):
    rgb = np.zeros((256, 256, 3), np.uint8)
    label = hair_labeller(lambda image, points: None, lambda image: landmarks)
    assert label(rgb) == {"hair_volume": 0.0, "hair_length": 0.0}
    assert hair_labeller(lambda image, points: None, lambda image: None)(rgb) is None


def test_fitted_direction_grows_the_hair_and_joins_the_library(tmp_path):
    g = load_generator(DATA / "ada_tiny.pkl")  # 32², w_dim 64
    # Stand-ins that a 32² random render has: a fixed face in the lower middle, and "hair"
    # wherever it is bright outside the face.
    face = np.zeros((68, 2))
    face[:, 0] = np.linspace(8, 24, 68)
    face[:, 1] = 24
    face[17:27, 1] = 18  # brows
    face[36:48, 1] = 20  # eyes
    face[8] = (16, 30)  # chin

    def segment(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
        grey = rgb.astype(np.float64).mean(2) / 255
        outside_face = np.ones((32, 32))
        outside_face[18:32, 8:25] = 0
        return np.clip((grey - 0.4) * 4, 0, 1) * outside_face

    library = DirectionLibrary(tmp_path, g, ganspace_samples=500)
    yaw = Direction("yaw", "w", np.ones(64, np.float32), 1.0, source="supervised")
    library.store_supervised([yaw])
    job = hair_direction_job(library, segment, samples=200, find_landmarks=lambda rgb: face,
                             batch=50)
    progress = list(job.run())
    assert progress[-1].finished and progress[-1].faces == 200
    fitted = job.result()
    assert [d.name for d in fitted] == list(HAIR_DIRECTIONS)

    def volume(ws: torch.Tensor) -> float:
        with torch.no_grad():
            images = images_to_uint8(g.synthesis(ws))
        return float(np.mean([hair_measurements(segment(i, face), face)["hair_volume"]
                              for i in images]))

    with torch.no_grad():
        ws = g.mapping(torch.randn(32, g.z_dim, generator=torch.Generator().manual_seed(5)),
                       truncation_psi=0.7)
    direction = fitted[0]
    step = torch.from_numpy(direction.ws_delta(g.num_ws, direction.scale))
    assert volume(ws + step) > volume(ws) > volume(ws - step)

    stored = store_hair_directions(library, fitted)
    assert "hair area above the forehead" in stored[0].description
    names = [d.name for d in library.supervised()]
    assert names == ["yaw", "hair_volume", "hair_length"]  # yaw is kept
    assert set(hair_directions(library)) == set(HAIR_DIRECTIONS)
    assert library.get("hair_volume").source == "supervised"
    # Fitting again replaces the hair directions, not adds to them.
    store_hair_directions(library, fitted)
    assert [d.name for d in library.supervised()] == names


def test_a_stop_ends_the_pose_fit_and_keeps_no_partial_directions(tmp_path, monkeypatch):
    import core.hair.pose as pose_module

    g = load_generator(DATA / "ada_tiny.pkl")
    control = JobControl()
    labelled = []

    def pose_labeller(rgb: np.ndarray) -> dict[str, float]:
        labelled.append(1)
        if len(labelled) == 3:
            control.stop()
        return {"yaw": float(rgb.mean()), "pitch": float(rgb[:16].mean())}

    turned = {0: Pose(0.0, 0.0), 1: Pose(40.0, 0.0)}  # A looks ahead, B to the side
    monkeypatch.setattr(pose_module, "landmark_pose", lambda rgb: turned[int(rgb[0, 0, 0])])
    a = SimpleNamespace(aligned=np.zeros((32, 32, 3), np.uint8))
    b = SimpleNamespace(aligned=np.ones((32, 32, 3), np.uint8))
    library = DirectionLibrary(tmp_path, g, ganspace_samples=500, supervised_settings={
        "labels": POSE_LABELS, "samples": 40, "batch": 8, "labeller": pose_labeller})

    done = []
    with pytest.raises(JobCancelled, match="head-pose directions was cancelled"):
        for progress in pose_directions_for(library, a, b, control=control):
            done.append(progress.done)
    assert done == [3, 3] and len(labelled) == 3 and library.supervised() == []
