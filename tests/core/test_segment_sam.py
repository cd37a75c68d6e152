"""Segment Anything: loading from shapes, hostile files, the embedding cache and prompts,
on a tiny SAM in the real format."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from segment_anything import (
    SamPredictor,
    build_sam_vit_b,
    build_sam_vit_h,
    build_sam_vit_l,
)

from core.errors import CheckpointError, InvalidInputError, ModelMissingError
from core.models.loaded import LoadedModels, ModelChoice
from core.segment.sam import (
    SamConfig,
    SamSegmenter,
    as_chunk_mask,
    build_sam_model,
    infer_sam_config,
    load_sam,
    official_config,
)
from tests import sam_writers
from tests.sam_writers import TINY_LOW_RES, build_tiny_sam, write_tiny_sam

H, W = 96, 128


def _scene(variant: int = 0) -> np.ndarray:
    """Flat background with two coloured rectangles (distinct regions for SAM)."""
    rgb = np.empty((H, W, 3), np.uint8)
    rgb[:] = (30, 60, 90)
    rgb[10:50, 20:70] = (250, 200, 10)
    rgb[55:90, 70:120] = (10, 220, 240)
    if variant:
        rgb = np.ascontiguousarray(np.flip(rgb, axis=1))
        rgb[5:30, 5:40] = (200, 30, 30)
    return rgb


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory) -> Path:
    return write_tiny_sam(tmp_path_factory.mktemp("sam") / "tiny_sam.pth", seed=0)


@pytest.fixture(scope="module")
def sam(tiny_path):
    return load_sam(tiny_path, "cpu")


@pytest.fixture(scope="module")
def reference():
    """The in-memory model the file was written from, driven by the official predictor."""
    predictor = SamPredictor(build_tiny_sam(seed=0))
    return predictor


@pytest.fixture
def encoder_calls(sam, monkeypatch):
    """Counts image-encoder forward passes of the shared tiny model."""
    calls = []
    original = sam.image_encoder.forward

    def counting(x):
        calls.append(tuple(x.shape))
        return original(x)

    monkeypatch.setattr(sam.image_encoder, "forward", counting)
    return calls


# --- loading ---------------------------------------------------------------------------


def test_tiny_checkpoint_config_is_inferred_from_shapes(sam, tiny_path):
    cfg = sam.config
    assert cfg == SamConfig(
        img_size=256, patch_size=16, encoder_embed_dim=32, encoder_depth=2,
        encoder_num_heads=2, encoder_mlp_ratio=4.0, qkv_bias=True, window_size=4,
        global_attn_indexes=(1,), prompt_embed_dim=32, mask_in_chans=8, decoder_depth=2,
        decoder_mlp_dim=64, decoder_num_heads=8, attention_downsample_rate=2,
        iou_head_depth=3, iou_head_hidden_dim=32, num_multimask_outputs=3)
    assert sam.variant == "custom (embed 32, depth 2)"
    assert sam.source_path == str(tiny_path)
    assert not sam.training
    assert all(not p.requires_grad for p in sam.parameters())
    assert sam.pixel_mean.flatten().tolist() == pytest.approx([123.675, 116.28, 103.53])
    assert sam.pixel_std.flatten().tolist() == pytest.approx([58.395, 57.12, 57.375])
    assert not any(t.is_meta for t in [*sam.parameters(), *sam.buffers()])


def test_loaded_model_reproduces_the_written_model_exactly(sam, reference):
    built = reference.model
    loaded_state, built_state = sam.state_dict(), built.state_dict()
    assert loaded_state.keys() == built_state.keys()
    assert all(torch.equal(loaded_state[k], built_state[k]) for k in built_state)

    segmenter = SamSegmenter(sam)
    rgb = _scene()
    segmenter.set_image(rgb)
    reference.set_image(rgb)
    assert torch.equal(segmenter.predictor.features, reference.features)

    ours = segmenter.predict(points=[(30, 20), (100, 70)], labels=[1, 0])
    masks, scores, low_res = reference.predict(point_coords=np.array([[30, 20], [100, 70]]),
                                               point_labels=np.array([1, 0]))
    np.testing.assert_array_equal(ours.candidate_masks, masks)
    np.testing.assert_array_equal(ours.candidate_scores, scores)
    np.testing.assert_array_equal(ours.logits, low_res[ours.index:ours.index + 1])


@pytest.mark.parametrize(("variant", "builder"), [("vit_b", build_sam_vit_b),
                                                  ("vit_l", build_sam_vit_l),
                                                  ("vit_h", build_sam_vit_h)])
def test_official_architectures_are_inferred_from_shapes(variant, builder):
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        official = builder()
    shapes = {k: tuple(v.shape) for k, v in official.state_dict().items()}
    cfg = infer_sam_config(shapes)
    assert cfg == official_config(variant)
    assert cfg.variant == variant
    assert cfg.low_res_size == 256
    with torch.device("meta"):
        rebuilt = build_sam_model(cfg)
    assert {k: tuple(v.shape) for k, v in rebuilt.state_dict().items()} == shapes
    assert rebuilt.image_encoder.blocks[0].window_size == 14
    assert rebuilt.image_encoder.blocks[cfg.global_attn_indexes[0]].window_size == 0


def test_wrapped_state_dict_loads(tiny_path, tmp_path, sam):
    state = torch.load(tiny_path, weights_only=True)
    wrapped = tmp_path / "wrapped.pth"
    torch.save({"model": state, "epoch": 3}, wrapped)
    loaded = load_sam(wrapped)
    assert loaded.config == sam.config
    assert torch.equal(loaded.mask_decoder.iou_token.weight, sam.mask_decoder.iou_token.weight)


def test_model_provider_takes_a_sam_path_or_reports_a_missing_default(tiny_path, tmp_path):
    # `--sam PATH|ID` is resolved by the model provider (segment knows no model store).
    chosen = ModelChoice(sam=str(tiny_path), models_dir=str(tmp_path / "models"), device="cpu")
    assert LoadedModels(chosen).sam().sam.source_path == str(tiny_path)
    default = ModelChoice(models_dir=str(tmp_path / "models"), device="cpu")
    with pytest.raises(ModelMissingError, match="sam-vit-b"):
        LoadedModels(default).sam()


def _edited(tiny_path: Path, tmp_path: Path, edit) -> Path:
    state = torch.load(tiny_path, weights_only=True)
    edit(state)
    path = tmp_path / "edited.pth"
    torch.save(state, path)
    return path


def _truncated(tiny_path, tmp_path):
    data = tiny_path.read_bytes()
    path = tmp_path / "truncated.pth"
    path.write_bytes(data[: len(data) // 2])
    return path


def _zip_of_text(tiny_path, tmp_path):
    path = tmp_path / "notes.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    return path


def _write(name: str, data: bytes):
    def make(tiny_path, tmp_path):
        path = tmp_path / name
        path.write_bytes(data)
        return path
    return make


def _torch_list(tiny_path, tmp_path):
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    return path


def _edit(fn):
    return lambda tiny_path, tmp_path: _edited(tiny_path, tmp_path, fn)


@pytest.mark.parametrize(("make", "message"), [
    (_write("empty.pth", b""), "the file is empty"),
    (_write("text.pth", b"hello, this is a text file\n"), "not a PyTorch file"),
    (_truncated, "truncated or corrupt"),
    (_zip_of_text, "truncated or corrupt"),
    (_edit(lambda s: s.pop("mask_decoder.iou_token.weight")),
     "not a Segment Anything checkpoint: missing mask_decoder.iou_token.weight"),
    (_edit(lambda s: s.update({"extra.weight": torch.zeros(2)})),
     "not a Segment Anything checkpoint: unexpected extra.weight"),
    (_edit(lambda s: s.pop("image_encoder.pos_embed")),
     "not a Segment Anything checkpoint: it has no image_encoder.pos_embed"),
    (_edit(lambda s: s.update({"mask_decoder.iou_token.weight": torch.zeros(1, 16)})),
     r"wrong shapes: mask_decoder.iou_token.weight \[1, 16\] \(expected \[1, 32\]\)"),
    (_edit(lambda s: s.update({"image_encoder.blocks.5.norm1.weight": torch.zeros(32)})),
     "image_encoder.blocks.2 is missing"),
    (_edit(lambda s: s.update({"note": "hello"})), "entries that are not tensors: note"),
    (_torch_list, "holds a list, not a state dict"),
])
def test_bad_files_raise_checkpoint_error(make, message, tiny_path, tmp_path):
    path = make(tiny_path, tmp_path)
    with pytest.raises(CheckpointError, match=message) as caught:
        load_sam(path)
    text = str(caught.value)
    assert text.startswith(str(path)) and "\n" not in text and "Traceback" not in text


def test_missing_file_is_a_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_sam(tmp_path / "nothing.pth")


class _Hostile:
    """Unpickling this runs code that creates a marker file."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


@pytest.mark.parametrize(("fmt", "message"), [
    ("zip", "refused: the file holds objects other than tensors; it was not executed"),
    ("legacy", "refused: the file holds objects other than tensors; it was not executed"),
    ("raw-pickle", "not a PyTorch file"),  # never unpickled at all
])
def test_hostile_pickle_is_refused_without_running(fmt, message, tmp_path, tiny_path):
    marker = tmp_path / "marker"
    state = dict(torch.load(tiny_path, weights_only=True))
    state["evil"] = _Hostile(marker)
    path = tmp_path / f"hostile-{fmt}.pth"
    if fmt == "raw-pickle":
        path.write_bytes(pickle.dumps(state))
    else:
        torch.save(state, path, _use_new_zipfile_serialization=fmt == "zip")

    with pytest.raises(CheckpointError, match=message):
        load_sam(path)
    assert not marker.exists()

    # The payload is live: an unrestricted load does run it.
    if fmt == "raw-pickle":
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.read_text() == "pwned"


# --- embedding cache -------------------------------------------------------------------


def test_same_image_does_not_run_the_encoder_again(sam, encoder_calls):
    segmenter = SamSegmenter(sam)
    rgb = _scene()
    assert not segmenter.embedding_cached(rgb)
    assert segmenter.set_image(rgb) is False
    assert len(encoder_calls) == 1
    first = segmenter.predict(points=[(30, 20)])
    assert segmenter.set_image(rgb.copy()) is True  # same pixels, another array
    assert segmenter.embedding_cached(rgb)
    assert len(encoder_calls) == 1
    again = segmenter.predict(points=[(30, 20)])
    np.testing.assert_array_equal(first.logits, again.logits)
    changed = rgb.copy()
    changed[0, 0, 0] ^= 1
    assert not segmenter.embedding_cached(changed)
    assert segmenter.encoder_runs == 1


def test_lru_evicts_the_least_recently_used_embedding(sam, encoder_calls):
    segmenter = SamSegmenter(sam, cache_size=2)
    a, b, c, d = (np.full((40, 50, 3), v, np.uint8) for v in (10, 80, 150, 220))
    segmenter.set_image(a)
    segmenter.set_image(b)
    segmenter.set_image(c)
    assert [segmenter.embedding_cached(x) for x in (a, b, c)] == [False, True, True]
    assert segmenter.set_image(b) is True  # b is now the most recent
    segmenter.set_image(d)
    assert [segmenter.embedding_cached(x) for x in (b, c, d)] == [True, False, True]
    assert len(encoder_calls) == 4
    segmenter.clear_cache()
    assert not segmenter.embedding_cached(d) and segmenter.image_size is None


def test_switching_images_gives_each_image_its_own_predictions(sam, encoder_calls):
    one, two = _scene(0), _scene(1)
    expected = {}
    for name, rgb in (("one", one), ("two", two)):
        fresh = SamSegmenter(sam)
        fresh.set_image(rgb)
        expected[name] = fresh.predict(points=[(60, 30)], box=(10, 5, 90, 60))
    shared = SamSegmenter(sam)
    encoder_calls.clear()
    for name, rgb in (("one", one), ("two", two), ("one", one), ("two", two)):
        shared.set_image(rgb)
        got = shared.predict(points=[(60, 30)], box=(10, 5, 90, 60))
        np.testing.assert_array_equal(got.logits, expected[name].logits)
        np.testing.assert_array_equal(got.mask, expected[name].mask)
    assert len(encoder_calls) == 2
    assert not np.array_equal(expected["one"].logits, expected["two"].logits)


# --- prompts ---------------------------------------------------------------------------


@pytest.fixture
def segmenter(sam):
    segmenter = SamSegmenter(sam)
    segmenter.set_image(_scene())
    return segmenter


def test_point_prediction_chooses_the_best_candidate(segmenter):
    prediction = segmenter.predict(points=[(30, 20)], labels=[1])
    assert prediction.mask.shape == (H, W) and prediction.mask.dtype == bool
    assert prediction.candidate_masks.shape == (3, H, W)
    assert prediction.index == int(np.argmax(prediction.candidate_scores))
    assert prediction.score == pytest.approx(float(prediction.candidate_scores.max()))
    np.testing.assert_array_equal(prediction.mask, prediction.candidate_masks[prediction.index])
    assert prediction.logits.shape == (1, TINY_LOW_RES, TINY_LOW_RES)
    assert prediction.logits.dtype == np.float32
    assert prediction.soft_mask.dtype == np.float32
    assert prediction.soft_mask.min() >= 0.0 and prediction.soft_mask.max() <= 1.0
    np.testing.assert_array_equal(prediction.soft_mask > 0.5, prediction.mask)
    assert 0 < prediction.mask.sum() < H * W

    single = segmenter.predict(points=[(30, 20)], multimask=False)
    assert single.candidate_masks.shape == (1, H, W) and single.index == 0


def test_negative_points_and_boxes_change_the_prediction(segmenter, reference):
    positive = segmenter.predict(points=[(30, 20), (100, 70)], labels=[1, 1])
    negative = segmenter.predict(points=[(30, 20), (100, 70)], labels=[1, 0])
    assert not np.array_equal(positive.logits, negative.logits)
    boxed = segmenter.predict(box=(15, 5, 75, 55))
    reference.set_image(_scene())
    masks, scores, _ = reference.predict(box=np.array([15, 5, 75, 55]))
    np.testing.assert_array_equal(boxed.candidate_masks, masks)
    np.testing.assert_array_equal(boxed.candidate_scores, scores)
    default_labels = segmenter.predict(points=[(30, 20), (100, 70)])
    np.testing.assert_array_equal(default_labels.logits, positive.logits)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "at least one point or a box"),
    ({"points": [(W, 10)]}, r"\(128, 10\) is outside the 128x96 image"),
    ({"points": [(-1, 10)]}, "outside"),
    ({"points": [(10, H + 0.5)]}, "outside"),
    ({"points": [(10, float("nan"))]}, "finite"),
    ({"points": [(1, 2, 3)]}, r"\(x, y\) pairs"),
    ({"points": [(1, 2)], "labels": [2]}, "1 \\(object\\) or 0 \\(background\\)"),
    ({"points": [(1, 2)], "labels": [1, 0]}, "1 points need 1 labels"),
    ({"labels": [1]}, "labels were given without points"),
    ({"box": (50, 10, 20, 40)}, "x0 < x1 and y0 < y1"),
    ({"box": (10, 10, 200, 40)}, "does not fit"),
    ({"box": (1, 2, 3)}, "four numbers"),
    ({"points": [(1, 2)], "mask_input": np.zeros((1, 256, 256))}, r"\[1, 64, 64\]"),
])
def test_invalid_prompts_are_rejected(segmenter, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        segmenter.predict(**kwargs)


def test_predict_needs_an_image_and_set_image_needs_rgb_uint8(sam):
    segmenter = SamSegmenter(sam)
    with pytest.raises(InvalidInputError, match="Set an image"):
        segmenter.predict(points=[(1, 1)])
    for bad in (np.zeros((10, 10), np.uint8), np.zeros((10, 10, 4), np.uint8),
                np.zeros((10, 10, 3), np.float32), [[1, 2, 3]]):
        with pytest.raises(InvalidInputError, match="RGB uint8"):
            segmenter.set_image(bad)
    with pytest.raises(InvalidInputError, match="at least one image"):
        SamSegmenter(sam, cache_size=0)


def test_chunk_masks_are_square_float_masks(segmenter):
    square = np.zeros((96, 96), bool)
    square[:48] = True
    chunk = as_chunk_mask(square, 32)
    assert chunk.shape == (32, 32) and chunk.dtype == np.float32
    np.testing.assert_array_equal(chunk[:16], 1.0)
    np.testing.assert_array_equal(chunk[16:], 0.0)
    up = as_chunk_mask(square.astype(np.float32) * 0.5, 192)
    assert up.shape == (192, 192) and up.max() == pytest.approx(0.5)
    with pytest.raises(InvalidInputError, match="square"):
        as_chunk_mask(np.zeros((96, 128)), 64)
    prediction = segmenter.predict(points=[(30, 20)])
    with pytest.raises(InvalidInputError, match="128x96"):
        prediction.chunk_mask(64)


def test_writer_matches_official_file_layout(tiny_path):
    state = torch.load(tiny_path, weights_only=True)
    assert isinstance(state, dict)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    assert "pixel_mean" not in state  # like the official files: a non-persistent buffer
    assert state["image_encoder.pos_embed"].shape == (1, sam_writers.TINY_GRID,
                                                      sam_writers.TINY_GRID,
                                                      sam_writers.TINY_EMBED)
