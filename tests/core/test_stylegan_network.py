"""Behaviour of the generator beyond the golden numbers: noise, S space, shapes, ops."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.stylegan import GeneratorConfig, images_to_uint8
from core.stylegan.ops import fir_filter_2d, modulated_conv2d, upsample2d
from tests.checkpoint_writers import random_generator


@pytest.fixture(scope="module")
def gen():
    return random_generator(16)


def _ws(g, n=2, seed=0):
    z = torch.randn(n, g.z_dim, generator=torch.Generator().manual_seed(seed))
    return g.mapping(z)


@torch.no_grad()
def test_noise_modes(gen):
    ws = _ws(gen)
    const_a, const_b = gen.synthesis(ws, "const"), gen.synthesis(ws, "const")
    assert torch.equal(const_a, const_b)
    torch.manual_seed(1)
    rand_a = gen.synthesis(ws, "random")
    torch.manual_seed(2)
    rand_b = gen.synthesis(ws, "random")
    assert not torch.allclose(rand_a, rand_b)
    none = gen.synthesis(ws, "none")
    assert not torch.allclose(none, const_a)
    for block in gen.synthesis.blocks():  # zero noise strength: const == none
        for _, layer in block.conv_layers():
            layer.noise_strength.data.zero_()
    try:
        assert torch.allclose(gen.synthesis(ws, "const"), none, atol=1e-6)
    finally:
        torch.manual_seed(0)
    with pytest.raises(ValueError, match="noise_mode"):
        gen.synthesis(ws, "sometimes")


@torch.no_grad()
def test_batched_equals_one_by_one():
    g = random_generator(16, seed=3)
    ws = _ws(g, n=3) + torch.randn(3, g.num_ws, g.w_dim) * 0.2
    batched = g.synthesis(ws)
    single = torch.cat([g.synthesis(ws[i : i + 1]) for i in range(3)])
    assert torch.allclose(batched, single, atol=1e-5)


@torch.no_grad()
def test_rendering_from_s_equals_rendering_the_edited_w(gen):
    ws = _ws(gen, n=1)
    assert gen.synthesis.style_names[:3] == ["b4.conv1", "b4.torgb", "b8.conv0"]
    edited_ws = ws.clone()
    edited_ws[:, 2] += torch.randn(gen.w_dim)  # row 2 feeds only b8.conv1
    styles = gen.synthesis.compute_styles(ws)
    edited_styles = gen.synthesis.compute_styles(edited_ws)
    changed = [n for n in styles if not torch.equal(styles[n], edited_styles[n])]
    assert changed == ["b8.conv1"]
    # Swap in that one layer's style vector: the S render equals the W+ render.
    mixed = {**styles, "b8.conv1": edited_styles["b8.conv1"]}
    assert torch.allclose(gen.synthesis(styles=mixed), gen.synthesis(edited_ws), atol=1e-6)
    assert not torch.allclose(gen.synthesis(styles=mixed), gen.synthesis(ws), atol=1e-3)


def test_bad_inputs_are_explained(gen):
    with pytest.raises(ValueError, match=r"ws must have shape \[N, 6, 32\]"):
        gen.synthesis(torch.zeros(1, 5, 32))
    with pytest.raises(ValueError, match="exactly the layers"):
        gen.synthesis(styles={"b4.conv1": torch.zeros(1, 16)})
    with pytest.raises(ValueError, match="power of two"):
        GeneratorConfig(z_dim=8, w_dim=8, img_resolution=48, channels={})


def test_config_f_shapes():
    cfg = GeneratorConfig.config_f(1024)
    assert cfg.num_ws == 18
    assert [cfg.channels[r] for r in cfg.block_resolutions] == [512] * 5 + [256, 128, 64, 32]
    assert cfg.fp16_resolutions == {128, 256, 512, 1024}


def test_upsample2d_matches_zero_insertion_definition():
    x = torch.randn(2, 3, 5, 7)
    f = fir_filter_2d()
    zeros = torch.zeros(2, 3, 10, 14)
    zeros[:, :, ::2, ::2] = x
    padded = F.pad(zeros, [2, 1, 2, 1])
    ref = F.conv2d(padded, (f * 4)[None, None].repeat(3, 1, 1, 1), groups=3)
    assert torch.allclose(upsample2d(x, f), ref, atol=1e-6)
    # A constant image stays constant away from the border (gain 4 keeps the mean).
    flat = upsample2d(torch.ones(1, 1, 8, 8), f)
    assert torch.allclose(flat[..., 2:-2, 2:-2], torch.ones(1, 1, 12, 12))


def test_fused_and_unfused_modulated_conv_agree():
    x, w, s = torch.randn(3, 8, 6, 6), torch.randn(4, 8, 3, 3), torch.randn(3, 8)
    f = fir_filter_2d()
    for up in (False, True):
        fused = modulated_conv2d(x, w, s, up=up, resample_filter=f, fused=True)
        unfused = modulated_conv2d(x, w, s, up=up, resample_filter=f, fused=False)
        assert torch.allclose(fused, unfused, atol=1e-5)
    # Demodulation: unit-variance input gives roughly unit-variance output per channel.
    y = modulated_conv2d(torch.randn(1, 8, 32, 32), w, s[:1])
    assert 0.5 < y.std().item() < 2.0


def test_images_to_uint8():
    img = torch.tensor([-1.0, 0.0, 1.0, 3.0]).reshape(1, 1, 2, 2).repeat(1, 3, 1, 1)
    out = images_to_uint8(img)
    assert out.shape == (1, 2, 2, 3) and out.dtype.name == "uint8"
    assert out[0, :, :, 0].tolist() == [[0, 128], [255, 255]]


@torch.no_grad()
def test_max_resolution_returns_the_intermediate_skip_image_of_that_block():
    g = random_generator(32, seed=5)
    ws = _ws(g, n=2)
    styles = g.synthesis.compute_styles(ws)
    seen = {}

    def keep(block, _inputs, output):  # each block returns (x, accumulated skip image)
        seen[block.resolution] = output[1].clone()

    hooks = [block.register_forward_hook(keep) for block in g.synthesis.blocks()]
    try:
        full = g.synthesis(styles=styles)
    finally:
        for hook in hooks:
            hook.remove()
    assert torch.equal(seen[32], full)
    for res in (4, 8, 16):
        low = g.synthesis(styles=styles, max_resolution=res)
        assert low.shape == (2, 3, res, res)
        assert torch.equal(low, seen[res])
    assert torch.equal(g.synthesis(ws, max_resolution=32), full)
    with pytest.raises(ValueError, match="max_resolution"):
        g.synthesis(ws, max_resolution=12)
