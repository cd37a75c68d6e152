"""Our generator against outputs stored by NVIDIA's and rosinality's own code (tests/data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from core.stylegan import load_generator

DATA = Path(__file__).resolve().parents[1] / "data"
WS_TOL, IMG_TOL = 1e-4, 1e-3  # from the fixtures' README


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def _maxdiff(a: torch.Tensor, b: np.ndarray) -> float:
    return (a - _t(b)).abs().max().item()


@pytest.fixture(scope="module", params=["ada_tiny", "ada_tiny64_w512"])
def nvidia(request):
    g = load_generator(DATA / f"{request.param}.pkl")
    return g, np.load(DATA / f"{request.param}_expected.npz")


def test_nvidia_attributes(nvidia):
    g, ref = nvidia
    assert g.num_ws == int(ref["num_ws"]) == 2 * int(np.log2(g.img_resolution)) - 2
    assert g.z_dim == ref["z"].shape[1]
    assert g.w_dim == ref["w_avg"].shape[0]
    assert g.img_resolution == ref["img_psi1_const"].shape[-1]
    assert g.config.conv_clamp == 256
    assert _maxdiff(g.w_avg, ref["w_avg"]) == 0


@torch.no_grad()
def test_nvidia_mapping_and_truncation(nvidia):
    g, ref = nvidia
    z = _t(ref["z"])
    assert _maxdiff(g.mapping(z), ref["ws_psi1"]) <= WS_TOL
    assert _maxdiff(g.mapping(z, truncation_psi=0.7), ref["ws_psi07"]) <= WS_TOL


@torch.no_grad()
@pytest.mark.parametrize(
    ("ws_key", "img_key", "noise_mode"),
    [("ws_psi1", "img_psi1_const", "const"), ("ws_psi07", "img_psi07_const", "const"),
     ("ws_psi1", "img_psi1_none", "none"), ("ws_wplus", "img_wplus_const", "const")],
)
def test_nvidia_synthesis(nvidia, ws_key, img_key, noise_mode):
    g, ref = nvidia
    img = g.synthesis(_t(ref[ws_key]), noise_mode=noise_mode)
    assert img.shape == ref[img_key].shape
    assert _maxdiff(img, ref[img_key]) <= IMG_TOL


@torch.no_grad()
def test_nvidia_full_generator(nvidia):
    g, ref = nvidia
    img = g(_t(ref["z"]), truncation_psi=0.7, noise_mode="const")
    assert _maxdiff(img, ref["img_G_psi07_const"]) <= IMG_TOL


@torch.no_grad()
@pytest.mark.parametrize(("ws_key", "prefix", "img_key"),
                         [("ws_psi1", "style_", "img_psi1_const"),
                          ("ws_wplus", "wplus_style_", "img_wplus_const")])
def test_nvidia_style_space(nvidia, ws_key, prefix, img_key):
    g, ref = nvidia
    names = [str(n) for n in ref["style_names"]]
    assert g.synthesis.style_names == names
    styles = g.synthesis.compute_styles(_t(ref[ws_key]))
    for i, name in enumerate(names):
        assert _maxdiff(styles[name], ref[f"{prefix}{i}"]) <= WS_TOL, name
    # Rendering from S gives the W+ render back.
    assert _maxdiff(g.synthesis(styles=styles), ref[img_key]) <= IMG_TOL
    img, returned = g.synthesis(_t(ref[ws_key]), return_styles=True)
    assert _maxdiff(img, ref[img_key]) <= IMG_TOL
    assert returned.keys() == styles.keys()


@pytest.fixture(scope="module")
def rosinality():
    reference = np.load(DATA / "rosinality_tiny_expected.npz")
    return load_generator(DATA / "rosinality_tiny.pt"), reference


@torch.no_grad()
def test_rosinality_matches_reference(rosinality):
    g, ref = rosinality
    assert g.num_ws == int(ref["n_latent"])
    assert _maxdiff(g.w_avg, ref["latent_avg"]) == 0
    assert _maxdiff(g.mapping(_t(ref["z"]))[:, 0], ref["w"]) <= WS_TOL
    assert _maxdiff(g.synthesis(_t(ref["ws"])), ref["img_ws"]) <= IMG_TOL
    w_plus = _t(ref["w"])[:, None].repeat(1, g.num_ws, 1)
    assert _maxdiff(g.synthesis(w_plus), ref["img_w"]) <= IMG_TOL
    assert _maxdiff(g.synthesis(g.w_avg.lerp(w_plus, 0.7)), ref["img_w_trunc07"]) <= IMG_TOL
    assert _maxdiff(g(_t(ref["z"])), ref["img_z"]) <= IMG_TOL


def test_sources_are_recorded(rosinality):
    g, _ = rosinality
    assert g.source_format == "rosinality"
    assert len(g.source_sha256) == 64
