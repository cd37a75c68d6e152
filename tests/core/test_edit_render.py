"""EditRenderer: bit-exact locality, the inversion reproduced, only changed chunks rendered."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.edit.composite import render_document
from core.edit.directions import AppliedEdit, Direction, edited_styles
from core.edit.render import DIFF_FLOOR, EditRenderer, StaleRequestError
from core.edit.scheduler import PreviewRequest
from core.errors import InvalidInputError
from core.invert.masks import ChunkMasks, composite
from core.latents.codes import CodeSpace
from core.project import Document, Edit
from core.segment.mask_ops import feather, resolve_overlaps
from core.stylegan import images_to_uint8, uint8_to_images
from core.workflows import chunk_codes
from tests.checkpoint_writers import random_generator

R = 32


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def generator():
    return random_generator(R, seed=3)


def _disc(cx: float, cy: float, radius: float) -> np.ndarray:
    yy, xx = np.mgrid[:R, :R]
    return ((xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2).astype(np.float32)


def _w_direction(g, name: str = "dir_w", seed: int = 0, layers=None) -> Direction:
    rng = np.random.default_rng(seed)
    return Direction(name, "w", rng.standard_normal(g.w_dim).astype(np.float32), scale=2.0,
                     layers=layers)


def _make_doc(g, *, spaces=("wplus", "wplus"), coverage="edit_regions") -> Document:
    rng = np.random.default_rng(7)
    aligned = rng.integers(0, 256, (R, R, 3), dtype=np.uint8)
    doc = Document(aligned=aligned, inversion={"settings": {"coverage": coverage}})
    space = CodeSpace(g)
    masks = resolve_overlaps([feather(_disc(10, 12, 7), 3), feather(_disc(21, 18, 7), 3)])
    for i, (name, chunk_space, mask) in enumerate(zip("AB", spaces, masks, strict=True)):
        with torch.no_grad():
            ws = g.mapping(torch.randn(1, g.z_dim, generator=torch.Generator().manual_seed(i)))
        code = space.from_w(ws[0], chunk_space)
        doc.add_chunk(mask, name=name, space=chunk_space, code=code.value.numpy())
    return doc


def _inversion_output(g, doc) -> tuple[np.ndarray, np.ndarray]:
    """The inversion's compositing, written out independently of the renderer."""
    coverage = doc.inversion["settings"]["coverage"]
    masks = torch.from_numpy(np.stack([c.mask for c in doc.chunks]))
    weights, photo_weight = ChunkMasks(masks, coverage, optimise=False)()
    with torch.no_grad():
        images = CodeSpace(g).render(chunk_codes(doc))
    out = composite(images, weights, photo_weight, uint8_to_images(doc.aligned))
    return images_to_uint8(out)[0], weights.sum(0)[0].clamp(max=1.0).numpy()


def _renderer(g, doc, *directions: Direction) -> EditRenderer:
    return EditRenderer(g, doc, {d.name: d for d in directions})


# --------------------------------------------------------------------- reproducing the inversion


@pytest.mark.parametrize("coverage", ["edit_regions", "whole_image"])
def test_reconstruction_and_render_document_equal_the_inversions_output(generator, coverage):
    doc = _make_doc(generator, coverage=coverage)
    expected, expected_changed = _inversion_output(generator, doc)
    result = _renderer(generator, doc).render(PreviewRequest.from_document(
        doc, mode="reconstruction"))
    assert result.image.dtype == np.uint8 and result.image.shape == (R, R, 3)
    np.testing.assert_array_equal(result.image, expected)
    np.testing.assert_array_equal(result.changed_mask, expected_changed)
    assert result.chunks_synthesised == 2
    image, changed = render_document(generator, doc)
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_array_equal(changed, expected_changed)


def test_zero_or_disabled_edits_reproduce_the_inversion_exactly(generator):
    doc = _make_doc(generator)
    direction = _w_direction(generator)
    expected, _ = _inversion_output(generator, doc)
    doc.chunk("A").edits = [Edit(direction.name, 0.0), Edit(direction.name, 2.5, enabled=False)]
    renderer = _renderer(generator, doc, direction)
    edited = renderer.render()
    np.testing.assert_array_equal(edited.image, doc.aligned)
    assert not edited.changed_mask.any() and edited.chunks_synthesised == 0
    np.testing.assert_array_equal(renderer.render(renderer.request("reconstruction")).image,
                                  expected)
    # Switched on and back off: the unedited image is still cached, nothing drifts.
    doc.chunk("A").edits[1].enabled = True
    assert not np.array_equal(renderer.render(renderer.request("reconstruction")).image,
                              expected)
    doc.chunk("A").edits[1].enabled = False
    again = renderer.render(renderer.request("reconstruction"))
    np.testing.assert_array_equal(again.image, expected)
    assert again.chunks_synthesised == 0


# --------------------------------------------------------------------- locality


def test_an_edit_changes_nothing_outside_its_chunk_bit_for_bit(generator):
    doc = _make_doc(generator)
    direction = _w_direction(generator)
    doc.chunk("A").edits = [Edit(direction.name, 3.0)]
    renderer = _renderer(generator, doc, direction)
    result = renderer.render()
    weight_a = ChunkMasks(torch.from_numpy(np.stack([c.mask for c in doc.chunks])),
                          "edit_regions", optimise=False)()[0][0, 0].numpy()
    outside = weight_a == 0
    assert outside.sum() > R * R // 4  # the test means something
    np.testing.assert_array_equal(result.image[outside], doc.aligned[outside])
    assert (result.image[~outside] != doc.aligned[~outside]).any()
    np.testing.assert_array_equal(result.changed_mask, np.minimum(weight_a, 1.0))
    assert result.chunks_synthesised == 1  # B is not edited, so it is not even rendered


def test_only_the_chunk_whose_slider_moved_is_synthesised_again(generator):
    doc = _make_doc(generator)
    direction = _w_direction(generator)
    doc.chunk("A").edits = [Edit(direction.name, 1.0)]
    doc.chunk("B").edits = [Edit(direction.name, -1.0)]
    renderer = _renderer(generator, doc, direction)
    first = renderer.render()
    assert (first.chunks_synthesised, renderer.synthesis_calls) == (2, 1)  # one batched call
    doc.chunk("A").edits[0].strength = 1.5
    moved = renderer.render()
    assert moved.chunks_synthesised == 1 and renderer.last_synthesised == (0,)
    assert renderer.chunks_synthesised == 3 and renderer.synthesis_calls == 2
    assert renderer.render().chunks_synthesised == 0  # nothing changed
    doc.chunk("A").edits[0].strength = 1.0  # back to a state still in the cache
    back = renderer.render()
    assert back.chunks_synthesised == 0
    np.testing.assert_array_equal(back.image, first.image)
    # The cache holds what a fresh renderer computes.
    fresh = _renderer(generator, doc, direction).render()
    np.testing.assert_array_equal(back.image, fresh.image)


def test_a_w_direction_on_an_s_chunk_matches_the_same_edit_on_a_wplus_chunk(generator):
    direction = _w_direction(generator, layers=(1, 4))
    images = {}
    for space in ("wplus", "s"):
        doc = _make_doc(generator, spaces=(space, "wplus"))
        doc.chunk("A").edits = [Edit(direction.name, 1.5)]
        renderer = _renderer(generator, doc, direction)
        images[space] = (renderer.chunk_image(0).cpu(), renderer.render().image)
    unedited = _renderer(generator, _make_doc(generator), direction).chunk_image(0)
    assert (images["wplus"][0] - unedited).abs().max() > 1e-2  # the edit does something
    torch.testing.assert_close(images["s"][0], images["wplus"][0], atol=1e-4, rtol=0)
    assert np.abs(images["s"][1].astype(int) - images["wplus"][1].astype(int)).max() <= 1


def test_the_order_of_linear_edits_does_not_matter(generator):
    first, second = _w_direction(generator, "one", 1), _w_direction(generator, "two", 2)
    doc = _make_doc(generator)
    doc.chunk("A").edits = [Edit("one", 0.7), Edit("two", -1.2)]
    renderer = _renderer(generator, doc, first, second)
    before = renderer.chunk_image(0).clone()
    doc.chunk("A").edits.reverse()
    torch.testing.assert_close(renderer.chunk_image(0), before, atol=1e-4, rtol=0)


# --------------------------------------------------------------------- modes


def test_original_difference_and_side_by_side_modes(generator):
    doc = _make_doc(generator)
    direction = _w_direction(generator)
    doc.chunk("A").edits = [Edit(direction.name, 3.0)]
    renderer = _renderer(generator, doc, direction)
    edited = renderer.render().image
    original = renderer.render(renderer.request("original"))
    np.testing.assert_array_equal(original.image, doc.aligned)
    assert not original.changed_mask.any() and original.chunks_synthesised == 0

    heat = renderer.render(renderer.request("difference")).image
    diff = np.abs(edited.astype(int) - doc.aligned.astype(int)).max(-1)
    assert heat.shape == (R, R, 3) and not heat[..., 2].any()
    assert not heat[diff == 0].any()  # no difference is black
    assert (heat[..., 0] >= heat[..., 1]).all()  # black -> red -> yellow
    assert diff.max() >= DIFF_FLOOR
    assert tuple(heat[np.unravel_index(diff.argmax(), diff.shape)]) == (255, 255, 0)

    both = renderer.render(renderer.request("side_by_side")).image
    assert both.shape == (R, 2 * R, 3)
    np.testing.assert_array_equal(both[:, :R], doc.aligned)
    np.testing.assert_array_equal(both[:, R:], edited)
    wipe = renderer.render(renderer.request("side_by_side", split=0.25)).image
    assert wipe.shape == (R, R, 3)
    np.testing.assert_array_equal(wipe[:, :8], doc.aligned[:, :8])
    np.testing.assert_array_equal(wipe[:, 8:], edited[:, 8:])


def test_masks_painted_in_place_and_new_pti_weights_are_picked_up(generator):
    doc = _make_doc(generator)
    renderer = _renderer(generator, doc)
    before = renderer.render(renderer.request("reconstruction"))
    doc.chunk("B").mask[:, :4] = 1.0
    painted = renderer.render(renderer.request("reconstruction"))
    assert painted.chunks_synthesised == 0  # same codes: only the weights changed
    assert painted.changed_mask[:, :4].min() > 0.9999 and before.changed_mask[:, :4].min() < 0.5
    np.testing.assert_array_equal(painted.image, _inversion_output(generator, doc)[0])

    weights = {k: v.numpy().copy() for k, v in generator.state_dict().items()
               if k.startswith("synthesis.") and k.endswith("torgb.bias")}
    for value in weights.values():
        value += 0.5
    doc.pti_weights = weights
    tuned = renderer.render(renderer.request("reconstruction"))
    assert tuned.chunks_synthesised == 2
    assert not np.array_equal(tuned.image, painted.image)
    doc.pti_weights = None
    np.testing.assert_array_equal(renderer.render(renderer.request("reconstruction")).image,
                                  painted.image)


# --------------------------------------------------------------------- errors


def test_clear_errors_for_missing_directions_codes_and_stale_requests(generator):
    doc = _make_doc(generator)
    doc.chunk("B").edits = [Edit("smile", 1.0)]
    with pytest.raises(InvalidInputError, match=r"Chunk 'B'.*'smile'"):
        _renderer(generator, doc).render()
    with pytest.raises(InvalidInputError, match=r"Chunk 'B'.*'smile'"):
        EditRenderer(generator, doc, lambda name: None).render()

    def library_get(name):
        raise InvalidInputError(f"There is no direction named {name!r}. Did you mean 'smile2'?")

    with pytest.raises(InvalidInputError, match=r"^Chunk 'B': There is no .*'smile2'"):
        EditRenderer(generator, doc, library_get).render()

    direction = _w_direction(generator, "smile")
    doc.chunk("B").code = None
    with pytest.raises(InvalidInputError, match=r"'B'.*not been inverted"):
        _renderer(generator, doc, direction).render()
    doc.chunk("B").edits = []
    assert _renderer(generator, doc, direction).render().chunks_synthesised == 0
    with pytest.raises(InvalidInputError, match=r"'B'.*not been inverted"):
        render_document(generator, doc)

    request = PreviewRequest.from_document(doc)
    doc.chunk("A").name = "renamed"
    with pytest.raises(StaleRequestError):
        _renderer(generator, doc).render(request)

    wrong = Direction("wide", "w", np.ones(generator.w_dim + 1, np.float32), 1.0)
    doc.chunk("renamed").edits = [Edit("wide", 1.0)]
    with pytest.raises(InvalidInputError, match=r"Chunk 'renamed'.*dimensional"):
        _renderer(generator, doc, wrong).render()


# --------------------------------------------------------------------- fast previews


def test_a_low_resolution_request_synthesises_up_to_that_block_and_scales_up(generator):
    doc = _make_doc(generator)
    direction = _w_direction(generator)
    doc.chunk("A").edits = [Edit(direction.name, 2.0)]
    renderer = _renderer(generator, doc, direction)
    low = renderer.render(PreviewRequest.from_document(doc, mode="reconstruction", size=8))
    assert low.size == 8 and low.image.shape == (R, R, 3) and low.chunks_synthesised == 2
    # Independently: the intermediate 8x8 skip images, scaled up, composited as usual.
    space = CodeSpace(generator)
    codes = chunk_codes(doc)
    with torch.no_grad():
        styles = [space.to_styles([codes[1]]),
                  edited_styles(space, codes[0], [AppliedEdit(direction, 2.0)])]
        small = torch.cat([generator.synthesis(styles=s, max_resolution=8) for s in styles])
        small = small[[1, 0]]  # back to chunk order A, B
        images = torch.nn.functional.interpolate(small, size=(R, R), mode="bilinear",
                                                 align_corners=False)
    weights, photo_weight = ChunkMasks(torch.from_numpy(np.stack([c.mask for c in doc.chunks])),
                                       "edit_regions", optimise=False)()
    expected = images_to_uint8(composite(images, weights, photo_weight,
                                         uint8_to_images(doc.aligned)))[0]
    assert np.abs(low.image.astype(int) - expected.astype(int)).max() <= 1
    # Outside the chunks the photo stays sharp; the full render differs from the preview.
    outside = weights.sum(0)[0].numpy() == 0
    np.testing.assert_array_equal(low.image[outside], doc.aligned[outside])
    full = renderer.render(PreviewRequest.from_document(doc, mode="reconstruction"))
    assert full.size is None and full.chunks_synthesised == 2  # its own cache entries
    assert not np.array_equal(full.image, low.image)
    assert renderer.render(PreviewRequest.from_document(doc, mode="reconstruction", size=8)) \
        .chunks_synthesised == 0  # both kept
    # At or above the generator's resolution a size is the full render.
    same = renderer.render(PreviewRequest.from_document(doc, mode="reconstruction", size=R))
    np.testing.assert_array_equal(same.image, full.image)
    assert same.size is None
    with pytest.raises(InvalidInputError, match="power of two"):
        PreviewRequest.from_document(doc, size=12)
