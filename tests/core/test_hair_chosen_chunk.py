"""The hair of the open photo comes from the chunk the user chose (any name), so a hair
transfer works without Segment Anything once each photo's hair is painted; without either,
the error names the model a front end can offer to download."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.errors import InvalidInputError, ModelMissingError
from core.face import prepare_photo
from core.hair import HairTransferSettings, transfer_chunks
from core.hair.chunks import SAM_ASSET
from core.imageio import load_photo
from core.models.loaded import LoadedModels, ModelChoice
from core.workflows import run
from core.workflows.hair import chosen_hair_mask, hair_transfer, prepared_in_frame
from core.workflows.photos import open_photo

pytestmark = pytest.mark.usefixtures("one_torch_thread")

GEN = str(Path(__file__).resolve().parents[1] / "data" / "ada_tiny.pkl")  # 32², w_dim 64


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hair_chunk")
    astronaut = skimage.data.astronaut()
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(np.ascontiguousarray(astronaut[:, ::-1])).save(folder / "b.png")
    return folder / "a.png", folder / "b.png"


@pytest.fixture
def models(tmp_path) -> LoadedModels:
    """The tiny generator and an empty model folder: no Segment Anything."""
    return LoadedModels(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                    device="cpu"))


def hair_band() -> np.ndarray:
    mask = np.zeros((32, 32), np.float32)
    mask[:9, 4:28] = 1  # above the forehead
    return mask


def test_the_chosen_chunk_is_the_hair_whatever_its_name(photos, models):
    doc = run(open_photo(models, photos[0])).document
    mine = hair_band()
    doc.add_chunk(mine, name="my curls")
    doc.add_chunk(1 - mine, name="hair")  # a chunk called hair that the user did not choose
    chosen = chosen_hair_mask(doc, "my curls")
    assert np.array_equal(chosen, mine) and chosen is not doc.chunk("my curls").mask
    assert chosen_hair_mask(doc, None) is None  # found automatically
    with pytest.raises(InvalidInputError, match=r"no chunk named 'fringe'.*'my curls', 'hair'"):
        chosen_hair_mask(doc, "fringe")

    assert models.sam_if_installed() is None
    settings = HairTransferSettings(loss="l2", inversion_steps=3, refine_steps=2,
                                    pose_match=False)
    outcome = run(hair_transfer(models, load_photo(photos[0]), load_photo(photos[1]),
                                settings, hair_mask_a=chosen, hair_mask_b=hair_band()))
    start = outcome.result.blend.mask_start  # A's own hair: the chosen chunk, not "hair"
    assert start[:9, 4:28].mean() > 0.9
    assert start[12:].max() == 0 and start[:, :3].max() == 0
    assert outcome.result.output.shape == (32, 32, 3) and not outcome.stopped


def test_no_hair_and_no_segment_anything_names_the_model_to_download(photos, models):
    prepared = prepare_photo(load_photo(photos[0]), 32)
    with pytest.raises(ModelMissingError) as raised:
        transfer_chunks(prepared, segmenter=None, photo_name="a.png", hair_required=False)
    assert raised.value.asset_id == SAM_ASSET == "sam-vit-b"
    assert "Segment Anything" in str(raised.value)
    # With the hair given, nothing is missing.
    chunks = transfer_chunks(prepared, segmenter=None, hair_mask=hair_band(),
                             photo_name="a.png", hair_required=False)
    assert chunks.has_hair and float(chunks.hair[:9, 4:28].mean()) > 0.9


def test_the_open_photo_is_cut_as_its_document_so_its_chunks_fit(tmp_path, models):
    """A project opened around another face than the largest (or a crop): the transfer
    works in that frame, where its chunks were painted."""
    astronaut = skimage.data.astronaut()
    small = np.asarray(Image.fromarray(astronaut).resize((320, 320)))
    group = np.zeros((512, 512 + 320, 3), np.uint8)
    group[:, :512] = astronaut
    group[96:416, 512:] = small
    path = tmp_path / "two.png"
    Image.fromarray(group).save(path)
    photo = load_photo(path)
    boxes = prepare_photo(photo, 32).face_boxes
    right = next(i for i, box in enumerate(boxes) if box[0] >= 512)
    doc = run(open_photo(models, path, face_index=right)).document
    assert right != 0 and np.array(doc.transform["quad"])[:, 0].mean() > 512

    again = prepared_in_frame(photo, doc.transform)
    assert np.array_equal(again.aligned, doc.aligned)
    assert again.face is not None and again.face.rect[0] >= 512  # its landmarks, too
    crop = run(open_photo(models, path, align=False)).document
    cropped = prepared_in_frame(photo, crop.transform)
    assert np.array_equal(cropped.aligned, crop.aligned) and cropped.face is None

    settings = HairTransferSettings(loss="l2", inversion_steps=2, refine_steps=1,
                                    pose_match=False)
    outcome = run(hair_transfer(models, photo, load_photo(path), settings,
                                hair_mask_a=hair_band(), hair_mask_b=hair_band(),
                                frame_a=doc.transform))
    assert outcome.result.transform.to_json()["quad"] == doc.transform["quad"]
