"""One implementation, two front ends: the same photo and masks through the `semedit` CLI
and through the app's controllers (on their real worker threads) give the same bits.

tests/core/test_workflows.py compares the CLI with the app's job functions; this goes one
level up, through `DocumentController` and `InversionController` as the window uses them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image

from core.invert import InversionSettings
from core.project import load_project
from core.segment.mask_io import load_mask
from semedit_gui.controllers import InversionController
from semedit_gui.dialogs import ExportOptions
from semedit_gui.launcher import main as semedit
from tests.gui.controller_fixtures import (
    GEN,
    WAIT_MS,
    controller_stack,
    wait_ended,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 8


@pytest.fixture
def inputs(tmp_path):
    photo = tmp_path / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(photo)
    masks = {}
    face = np.zeros((32, 32), np.uint8)
    face[10:24, 8:24] = 255
    hair = np.zeros((32, 32), np.uint8)
    hair[:9] = 255
    for name, mask in (("face", face), ("hair", hair)):
        masks[name] = tmp_path / f"{name}.png"
        Image.fromarray(mask).save(masks[name])
    return photo, masks


@pytest.fixture
def controllers(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as (registry, documents):
        yield registry, documents, InversionController(registry, documents)


def run_cli(capsys, *argv) -> dict:
    code = semedit([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


def test_cli_and_controllers_make_the_same_codes_and_pixels(qtbot, controllers, inputs,
                                                            tmp_path, capsys):
    photo, masks = inputs
    _registry, documents, inversion = controllers

    # The command line: invert, then edit the face and write the crop and the full photo.
    project = tmp_path / "cli.semedit"
    run_cli(capsys, "invert", photo, "--generator", GEN, "--mask", masks["face"], "--mask",
            masks["hair"], "--loss", "l2", "--steps", STEPS, "-o", project)
    saved = load_project(project)
    cli_crop, cli_full = tmp_path / "cli-crop.png", tmp_path / "cli-full.png"
    for path, full in ((cli_crop, []), (cli_full, ["--full-photo"])):
        run_cli(capsys, "edit", project, "--generator", GEN, "--chunk", "face", "--direction",
                "pc0=2", *full, "-o", path)

    # The app: open the photo, add the same chunks, Run, the same edit, export both ways.
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        documents.open_path(photo)
    session = documents.session
    for name in ("face", "hair"):
        session.chunk_set.add(load_mask(masks[name], session.doc.resolution).mask, name=name)
    task = inversion.run(InversionSettings(steps=STEPS), "l2", 0)
    wait_ended(qtbot, task)
    assert task.state == "done", task.error
    documents.load_directions()  # (the window asks for them when an inversion is applied)
    qtbot.waitUntil(lambda: "pc0" in (session.edit_stacks.directions or ()), timeout=WAIT_MS)
    session.edit_stacks.add("face", "pc0", 2.0)
    app_crop, app_full = tmp_path / "app-crop.png", tmp_path / "app-full.png"
    for path, full in ((app_crop, False), (app_full, True)):
        exported = documents.export_to(ExportOptions(path, "PNG", full, 95, True))
        wait_ended(qtbot, exported)
        assert exported.state == "done", exported.error

    doc = session.doc
    assert [c.name for c in doc.chunks] == [c.name for c in saved.chunks] == ["face", "hair"]
    for mine, theirs in zip(doc.chunks, saved.chunks, strict=True):
        assert mine.space == theirs.space
        assert np.array_equal(mine.code, theirs.code)
        assert np.array_equal(mine.mask, theirs.mask)
    for cli_png, app_png in ((cli_crop, app_crop), (cli_full, app_full)):
        cli_pixels = np.asarray(Image.open(cli_png))
        assert np.array_equal(cli_pixels, np.asarray(Image.open(app_png)))
    full = np.asarray(Image.open(cli_full))
    assert full.shape == (512, 512, 3)  # the photo's own size
    assert (full != np.asarray(Image.open(photo))).any()  # and the edit is in it
