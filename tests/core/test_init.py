"""Instant start: chunk codes from the encoder's guess (W+, W, S), `--init e4e|mean`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from core.encoders import encoder_input, load_encoder
from core.errors import InvalidInputError, ModelMissingError
from core.latents.codes import CodeSpace
from core.models.loaded import LoadedModels, ModelChoice, encoder_installed
from core.project import load_project
from core.stylegan import load_generator
from core.workflows.encoder_init import choose_init, code_from_wplus, encoder_codes
from semedit_gui.launcher import main as semedit
from tests.encoder_writers import TINY_WIDTHS, EncoderWidths, write_e4e

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², num_ws 8, w_dim 64: TINY_WIDTHS fits it
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("init")
    Image.fromarray(skimage.data.astronaut()).save(folder / "astronaut.png")
    write_e4e(folder / "tiny_e4e.pt", TINY_WIDTHS, seed=3)
    write_e4e(folder / "wrong_e4e.pt", EncoderWidths(16, (16, 32, 48, 64), num_ws=10))
    return folder


@pytest.fixture(scope="module")
def generator():
    return load_generator(GEN)


@pytest.fixture(scope="module")
def encoder(files):
    return load_encoder(files / "tiny_e4e.pt")


def face() -> np.ndarray:
    return np.asarray(Image.fromarray(skimage.data.astronaut()).resize((32, 32)))


def test_codes_in_each_space_are_the_encoder_output_transformed(encoder, generator):
    wplus = encoder(encoder_input(face()))[0]
    assert wplus.shape == (8, 64)
    assert not torch.allclose(wplus, wplus[:1].expand_as(wplus))  # rows differ: W is a mean
    space = CodeSpace(generator)
    [plus] = encoder_codes(encoder, generator, face(), "wplus", 1)
    assert plus.space == "wplus" and torch.equal(plus.value, wplus)
    w1, w2 = encoder_codes(encoder, generator, face(), "w", 2)
    assert w1.value.shape == (64,) and torch.allclose(w1.value, wplus.mean(0))
    assert torch.equal(w1.value, w2.value) and w1.value is not w2.value
    [s] = encoder_codes(encoder, generator, face(), "s", 1)
    styles = generator.synthesis.compute_styles(wplus[None])
    assert s.value.shape == (space.s_dim,)
    assert torch.allclose(s.value, space.flatten_styles(styles)[0])
    # rendering the S code is rendering the W+ code it was made from
    assert torch.allclose(space.render([s]), space.render([plus]), atol=1e-5)
    assert code_from_wplus(space, wplus, "wplus").value.shape == (8, 64)


def test_a_mismatched_encoder_is_refused_with_a_sentence(files, generator):
    wrong = load_encoder(files / "wrong_e4e.pt")
    with pytest.raises(InvalidInputError, match=r"10×64 .* takes 8×64"):
        encoder_codes(wrong, generator, face(), "wplus", 1)


def test_choose_init_without_an_encoder_installed(generator):
    models = LoadedModels(ModelChoice(generator=GEN, device="cpu"))
    assert not encoder_installed(models.choice)
    assert choose_init(models, None, generator).name == "mean"
    assert choose_init(models, "mean", generator).name == "mean"
    with pytest.raises(ModelMissingError):
        choose_init(models, "e4e", generator)
    with pytest.raises(InvalidInputError, match="Unknown init"):
        choose_init(models, "random", generator)


def test_an_installed_default_encoder_of_another_generator_is_passed_over(files, generator,
                                                                          tmp_path):
    (tmp_path / "e4e_ffhq_encode.pt").write_bytes((files / "wrong_e4e.pt").read_bytes())
    models = LoadedModels(ModelChoice(generator=GEN, device="cpu", models_dir=str(tmp_path)))
    assert encoder_installed(models.choice)
    chosen = choose_init(models, None, generator)
    assert chosen.name == "mean" and "not used" in chosen.note
    with pytest.raises(InvalidInputError, match="num_ws"):
        choose_init(models, "e4e", generator)
    named = LoadedModels(ModelChoice(generator=GEN, device="cpu",
                                     encoder=str(files / "wrong_e4e.pt")))
    with pytest.raises(InvalidInputError, match="num_ws"):  # the user's own choice must fit
        choose_init(named, None, generator)


def test_encoder_is_cached_by_the_provider(files):
    models = LoadedModels(ModelChoice(generator=GEN, device="cpu",
                                      encoder=str(files / "tiny_e4e.pt")))
    assert encoder_installed(models.choice)
    assert models.encoder() is models.encoder() is models.encoder_if_installed()
    assert models.encoder().num_ws == 8


def invert_cli(files, tmp_path, *extra: str) -> tuple[int, dict, Path]:
    project, metrics = tmp_path / "p.semedit", tmp_path / "m.json"
    code = semedit(["invert", str(files / "astronaut.png"), "--generator", GEN, "--loss", "l2",
                    "--no-align", "-o", str(project), "--metrics", str(metrics), *extra])
    return code, (json.loads(metrics.read_text()) if code == 0 else {}), project


def test_cli_invert_init_e4e_starts_from_the_encoder(files, encoder, tmp_path, capsys):
    code, metrics, project = invert_cli(files, tmp_path, "--init", "e4e", "--encoder",
                                        str(files / "tiny_e4e.pt"), "--steps", "0")
    assert code == 0, capsys.readouterr().err
    assert metrics["init"] == "e4e" and metrics["steps"] == 0
    doc = load_project(project)
    assert doc.inversion["metrics"]["init"] == "e4e"  # the project records it too
    expected = encoder(encoder_input(doc.aligned))[0].numpy()
    np.testing.assert_allclose(doc.chunks[0].code, expected, atol=1e-6)
    # a few steps from there go on from the encoder's code
    code, more, _ = invert_cli(files, tmp_path, "--encoder", str(files / "tiny_e4e.pt"),
                               "--steps", "3", "--space", "w")
    assert code == 0 and more["init"] == "e4e" and more["steps"] == 3
    assert np.isfinite(more["l2"])


def test_cli_invert_without_an_encoder_is_as_before(files, generator, tmp_path, capsys):
    code, metrics, project = invert_cli(files, tmp_path, "--steps", "0")
    assert code == 0 and metrics["init"] == "mean"
    doc = load_project(project)
    np.testing.assert_allclose(doc.chunks[0].code,
                               generator.w_avg.expand(8, -1).numpy(), atol=0)
    code, _, _ = invert_cli(files, tmp_path, "--init", "e4e", "--steps", "0")
    err = capsys.readouterr().err
    assert code != 0 and "e4e" in err and "Traceback" not in err


def test_cli_invert_refuses_a_mismatched_encoder(files, tmp_path, capsys):
    code, _, _ = invert_cli(files, tmp_path, "--encoder", str(files / "wrong_e4e.pt"),
                            "--steps", "0")
    err = capsys.readouterr().err
    assert code != 0 and "10×64" in err and "Traceback" not in err


def test_hair_transfer_starts_both_inversions_from_the_encoder(files, encoder, tmp_path,
                                                               capsys, monkeypatch):
    import core.hair
    from core.stylegan import images_to_uint8

    g = load_generator(GEN)
    with torch.no_grad():
        ws = g.mapping(torch.randn(2, g.z_dim, generator=torch.Generator().manual_seed(3)))
        a, b = images_to_uint8(g.synthesis(ws))
    Image.fromarray(a).save(tmp_path / "a.png")
    Image.fromarray(b).save(tmp_path / "b.png")
    hair = np.zeros((32, 32), np.uint8)
    hair[:11] = 255
    Image.fromarray(hair).save(tmp_path / "hair.png")
    starts = {}

    class Recording(core.hair.HairTransferJob):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            starts["a"] = [c.value.detach().clone() for c in self._job_a.codes]
            starts["b"] = [c.value.detach().clone() for c in self._job_b.codes]

    monkeypatch.setattr(core.hair, "HairTransferJob", Recording)
    metrics = tmp_path / "m.json"
    code = semedit(["hair", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "--generator",
                    GEN, "--steps", "1", "--refine-steps", "1", "--loss", "l2", "--no-align",
                    "--hair-mask-a", str(tmp_path / "hair.png"), "--hair-mask-b",
                    str(tmp_path / "hair.png"), "--init", "e4e", "--encoder",
                    str(files / "tiny_e4e.pt"), "-o", str(tmp_path / "out.png"),
                    "--metrics", str(metrics)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(metrics.read_text())["init"] == "e4e"
    code_a, code_b = encoder(encoder_input(a))[0], encoder(encoder_input(b))[0]
    assert len(starts["a"]) >= 2 and all(torch.allclose(s, code_a, atol=1e-5)
                                         for s in starts["a"])
    assert len(starts["b"]) == 1 and torch.allclose(starts["b"][0], code_b, atol=1e-5)
