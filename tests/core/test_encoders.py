"""The e4e encoder against W+ codes computed by encoder4editing's own code (tests/data),
its input transform, the official file layout, and files it must refuse."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.encoders import INPUT_SIZE, encoder_input, load_encoder
from core.encoders.loading import encoder_from_state
from core.errors import CheckpointError, InvalidInputError
from core.stylegan import load_generator
from tests.encoder_writers import (
    REAL_WIDTHS,
    TINY_WIDTHS,
    e4e_checkpoint,
    random_encoder_state,
    random_latent_avg,
    reference_input,
    write_e4e,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

DATA = Path(__file__).resolve().parents[1] / "data"
CODE_TOL = 1e-4


def _maxdiff(a: torch.Tensor, b: np.ndarray) -> float:
    return float((a.detach().cpu().double() - torch.from_numpy(np.asarray(b)).double())
                 .abs().max())


@pytest.fixture(scope="module")
def tiny_reference():
    return np.load(DATA / "e4e_tiny_expected.npz")


@pytest.fixture
def tiny_file(tmp_path):
    return write_e4e(tmp_path / "e4e_tiny.pt", TINY_WIDTHS, seed=0)


def test_tiny_encoder_matches_e4e(tiny_file, tiny_reference):
    encoder = load_encoder(tiny_file)
    assert encoder.input_size == INPUT_SIZE == 256
    assert (encoder.num_ws, encoder.w_dim) == (TINY_WIDTHS.num_ws, TINY_WIDTHS.stages[-1])
    codes = encoder(reference_input(int(tiny_reference["batch"])))
    assert codes.shape == tiny_reference["codes"].shape == (3, 8, 64)
    assert _maxdiff(codes, tiny_reference["codes"]) <= CODE_TOL
    # Every entry carries its own delta, and the codes depend on the image.
    assert float((codes[:, 1:] - codes[:, :1]).abs().min(dim=2).values.min()) > 0
    assert float((codes[0] - codes[1]).abs().mean()) > 0.1
    assert encoder.source_path == str(tiny_file) and len(encoder.source_sha256) == 64


def test_one_image_at_a_time_gives_the_same_codes(tiny_file, tiny_reference):
    encoder = load_encoder(tiny_file)
    images = reference_input(int(tiny_reference["batch"]))
    for k in range(images.shape[0]):
        assert _maxdiff(encoder(images[k:k + 1]), tiny_reference["codes"][k:k + 1]) <= CODE_TOL


def test_latent_avg_stored_as_one_vector(tmp_path, tiny_reference):
    # Some exports keep latent_avg as [512]; training writes the same row 18 times.
    vector = random_latent_avg(TINY_WIDTHS)[0]
    path = write_e4e(tmp_path / "e4e.pt", TINY_WIDTHS, seed=0, latent_avg=vector)
    codes = load_encoder(path)(reference_input(3))
    assert _maxdiff(codes, tiny_reference["codes"]) <= CODE_TOL


def test_file_saved_from_cuda_loads_on_a_cpu_machine(tmp_path, tiny_reference, monkeypatch):
    # The released file's storages are tagged "cuda:0"; torch.save writes the tag it is given.
    path = tmp_path / "from_cuda.pt"
    with monkeypatch.context() as patch:
        patch.setattr(torch.serialization, "location_tag", lambda storage: "cuda:0")
        write_e4e(path, TINY_WIDTHS, seed=0)
    assert b"cuda:0" in path.read_bytes()
    encoder = load_encoder(path, device="cpu")
    assert encoder.latent_avg.device.type == "cpu"
    assert _maxdiff(encoder(reference_input(3)), tiny_reference["codes"]) <= CODE_TOL


@pytest.mark.slow
def test_real_layer_structure_matches_e4e():
    """IR-SE-50 at its real widths with 18 style blocks (~270M random weights, not saved)."""
    reference = np.load(DATA / "e4e_real_structure_expected.npz")
    state = random_encoder_state(REAL_WIDTHS, seed=int(reference["seed"]))
    assert sum(t.numel() for t in state.values()) > 250_000_000
    encoder = encoder_from_state(Path("real.pt"), state, random_latent_avg(REAL_WIDTHS))
    del state
    assert (encoder.num_ws, encoder.w_dim) == (18, 512)
    codes = encoder(reference_input(int(reference["batch"])))
    assert codes.shape == (1, 18, 512)
    assert _maxdiff(codes, reference["codes"]) <= CODE_TOL


def test_wrong_input_shape_is_refused(tiny_file):
    encoder = load_encoder(tiny_file)
    with pytest.raises(InvalidInputError, match=r"\[N, 3, 256, 256\]"):
        encoder(torch.zeros(1, 3, 128, 128))
    with pytest.raises(InvalidInputError):
        encoder(torch.zeros(3, 256, 256))


# --- input transform ----------------------------------------------------------


def test_encoder_input_is_e4es_inference_transform():
    torchvision_transforms = pytest.importorskip("torchvision.transforms")
    e4e_transform = torchvision_transforms.Compose([  # configs/transforms_config.py
        torchvision_transforms.Resize((256, 256)),
        torchvision_transforms.ToTensor(),
        torchvision_transforms.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5])])
    face = Image.open(DATA / "astronaut_ffhq1024.png").convert("RGB")
    expected = e4e_transform(face)[None]
    ours = encoder_input(face)
    assert ours.shape == (1, 3, 256, 256) and ours.dtype == torch.float32
    assert float((ours - expected).abs().max()) <= 1e-6
    assert float((encoder_input(np.asarray(face)) - expected).abs().max()) <= 1e-6
    # Already 256: no resampling at all.
    small = face.resize((256, 256), Image.Resampling.BILINEAR)
    assert float((encoder_input(small) - e4e_transform(small)[None]).abs().max()) <= 1e-6


def test_encoder_input_refuses_non_rgb_arrays():
    with pytest.raises(InvalidInputError, match="uint8"):
        encoder_input(np.zeros((256, 256, 3), np.float32))
    with pytest.raises(InvalidInputError):
        encoder_input(np.zeros((256, 256), np.uint8))


# --- the decoder in the same file ---------------------------------------------


def test_load_generator_reads_the_decoder_of_an_e4e_file(tmp_path):
    rosinality = torch.load(DATA / "rosinality_tiny.pt", weights_only=True)
    reference = np.load(DATA / "rosinality_tiny_expected.npz")
    num_ws = int(reference["n_latent"])
    latent_avg = rosinality["latent_avg"].repeat(num_ws, 1)  # as e4e's training stores it
    widths = TINY_WIDTHS
    assert widths.num_ws == num_ws and widths.stages[-1] == latent_avg.shape[1]
    path = tmp_path / "e4e_with_decoder.pt"
    write_e4e(path, widths, latent_avg=latent_avg, decoder_state=rosinality["g_ema"])

    g = load_generator(path)
    assert g.source_format == "e4e"
    assert g.num_ws == num_ws
    assert _maxdiff(g.w_avg, reference["latent_avg"]) == 0
    with torch.no_grad():
        assert _maxdiff(g.mapping(torch.from_numpy(reference["z"]))[:, 0], reference["w"]) <= 1e-4
        assert _maxdiff(g.synthesis(torch.from_numpy(reference["ws"])),
                        reference["img_ws"]) <= 1e-3
    # The encoder in the same file still loads, and its codes fit this generator.
    encoder = load_encoder(path)
    assert encoder.num_ws == g.num_ws and encoder.w_dim == g.w_dim


def test_e4e_latent_avg_with_unequal_rows_is_not_taken_as_w_avg(tmp_path):
    # Training repeats one mean W; rows that differ are no mean W, so it is estimated.
    rosinality = torch.load(DATA / "rosinality_tiny.pt", weights_only=True)
    latent_avg = rosinality["latent_avg"].repeat(TINY_WIDTHS.num_ws, 1)
    latent_avg[5] += 1.0
    path = write_e4e(tmp_path / "e4e.pt", TINY_WIDTHS, latent_avg=latent_avg,
                     decoder_state=rosinality["g_ema"])
    g = load_generator(path)
    assert float((g.w_avg - latent_avg[0]).abs().max()) > 1e-3
    assert torch.isfinite(g.w_avg).all()


def test_load_generator_refuses_an_e4e_file_without_a_decoder(tiny_file):
    with pytest.raises(CheckpointError, match="decoder") as info:
        load_generator(tiny_file)
    assert str(tiny_file) in str(info.value)


# --- refusals -----------------------------------------------------------------


def _save(tmp_path: Path, data: object, name: str = "bad.pt") -> Path:
    path = tmp_path / name
    torch.save(data, path)
    return path


def _refused(path: Path, match: str) -> CheckpointError:
    with pytest.raises(CheckpointError, match=match) as info:
        load_encoder(path)
    assert str(path) in str(info.value)
    return info.value


def _tiny_checkpoint(**changes) -> dict:
    data = e4e_checkpoint(random_encoder_state(TINY_WIDTHS), random_latent_avg(TINY_WIDTHS))
    data.update(changes)
    return data


class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_hostile_file_is_refused_without_running_code(tmp_path, capsys):
    data = _tiny_checkpoint()
    data["opts"]["payload"] = _RunsCode()
    path = _save(tmp_path, data)
    _refused(path, "refused")
    assert "must never run" not in capsys.readouterr().out


def test_truncated_file_is_refused(tmp_path, tiny_file):
    path = tmp_path / "truncated.pt"
    path.write_bytes(tiny_file.read_bytes()[: tiny_file.stat().st_size // 2])
    _refused(path, "truncated or corrupt")


def test_files_that_are_not_torch_checkpoints(tmp_path):
    png = tmp_path / "face.png"
    Image.new("RGB", (8, 8)).save(png)
    _refused(png, "not an encoder4editing checkpoint")
    plain_pickle = tmp_path / "plain.pkl"
    plain_pickle.write_bytes(pickle.dumps({"state_dict": {}}))
    _refused(plain_pickle, "not an encoder4editing checkpoint")
    _refused(tmp_path / "missing.pt", "no such file")


def test_generator_checkpoint_is_not_an_encoder():
    _refused(DATA / "rosinality_tiny.pt", "no e4e state_dict")


def test_state_dict_without_encoder(tmp_path):
    data = _tiny_checkpoint(state_dict={"decoder.style.1.weight": torch.zeros(2, 2)})
    _refused(_save(tmp_path, data), r"no encoder\.\* tensors")


def test_missing_latent_avg(tmp_path):
    data = _tiny_checkpoint()
    del data["latent_avg"]
    _refused(_save(tmp_path, data), "no latent_avg")


@pytest.mark.parametrize("shape", [(7, 64), (8, 63), (8, 64, 1)])
def test_latent_avg_of_the_wrong_shape(tmp_path, shape):
    _refused(_save(tmp_path, _tiny_checkpoint(latent_avg=torch.zeros(shape))),
             "latent_avg has shape")


def test_latent_avg_not_finite(tmp_path):
    avg = random_latent_avg(TINY_WIDTHS)
    avg[3, 5] = float("nan")
    _refused(_save(tmp_path, _tiny_checkpoint(latent_avg=avg)), "not finite")


def test_missing_encoder_tensor(tmp_path):
    data = _tiny_checkpoint()
    del data["state_dict"]["encoder.body.9.res_layer.5.fc2.weight"]
    _refused(_save(tmp_path, data), r"missing encoder\.body\.9\.res_layer\.5\.fc2\.weight")


def test_extra_encoder_tensor(tmp_path):
    data = _tiny_checkpoint()
    data["state_dict"]["encoder.styles.8.linear.bias"] = torch.zeros(64)
    _refused(_save(tmp_path, data), r"unexpected encoder\.styles\.8\.linear\.bias")
    data = _tiny_checkpoint()
    data["state_dict"]["encoder.styles.9.linear.weight"] = torch.zeros(64, 64)
    _refused(_save(tmp_path, data), "style blocks missing or not numbered")
    data = _tiny_checkpoint()
    data["state_dict"]["encoder.output_pool.weight"] = torch.zeros(64)
    _refused(_save(tmp_path, data), r"unexpected encoder\.output_pool\.weight")


def test_misshapen_tensor(tmp_path):
    data = _tiny_checkpoint()
    data["state_dict"]["encoder.latlayer1.weight"] = torch.zeros(64, 47, 1, 1)
    _refused(_save(tmp_path, data), r"encoder\.latlayer1\.weight has shape \[64, 47, 1, 1\]")


def test_lying_widths_are_refused_before_building(tmp_path):
    # A stem "100000 channels wide" would make a multi-GB network; the shapes disagree first.
    data = _tiny_checkpoint()
    data["state_dict"]["encoder.input_layer.0.weight"] = torch.zeros(100_000, 3, 3, 3)
    _refused(_save(tmp_path, data), r"missing encoder\.body\.0\.shortcut_layer\.0\.weight")


@pytest.mark.parametrize(("key", "shape"), [("encoder.input_layer.0.weight", (0, 3, 3, 3)),
                                            ("encoder.body.3.res_layer.1.weight", (8, 16, 3, 3))])
def test_widths_without_channels_are_refused(tmp_path, key, shape):
    # A stem of 0 channels, or a stage too narrow for its squeeze-excitation (width // 16).
    data = _tiny_checkpoint()
    data["state_dict"][key] = torch.zeros(shape)
    _refused(_save(tmp_path, data), "too narrow")


def test_missing_backbone_unit(tmp_path):
    data = _tiny_checkpoint()
    data["state_dict"] = OrderedDict((k, v) for k, v in data["state_dict"].items()
                                     if not k.startswith("encoder.body.21."))
    _refused(_save(tmp_path, data), r"missing encoder\.body\.21")


def test_entries_that_are_not_tensors(tmp_path):
    data = _tiny_checkpoint()
    data["state_dict"]["encoder.latlayer2.bias"] = [0.0] * 64
    _refused(_save(tmp_path, data), "is a list, not a tensor")
    _refused(_save(tmp_path, _tiny_checkpoint(state_dict=[1, 2])), "no e4e state_dict")
