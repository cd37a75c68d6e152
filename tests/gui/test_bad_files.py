"""The app says the same one line as the CLI for the same bad file (through the
document controller, as File ▸ Open does)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject

from semedit_gui.launcher import main as semedit
from tests.gui.controller_fixtures import (
    WAIT_MS,
    Answers,
    controller_stack,
    make_documents,
    make_registry,
    stop_threads,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n{1 pop} loop\n"


@pytest.fixture
def documents(qtbot, tmp_path):
    with controller_stack(qtbot, tmp_path) as (_registry, documents):
        yield documents


def app_message(qtbot, documents, path: Path) -> str:
    task = documents.open_path(path)
    with qtbot.waitSignal(task.failed, timeout=WAIT_MS) as failed:
        pass
    return failed.args[0]


def cli_message(capsys, *argv) -> str:
    assert semedit([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err.removeprefix("semedit: error: ").strip()


@pytest.mark.parametrize("kind", ["photo", "project"])
def test_same_message_as_the_cli(qtbot, capsys, documents, tmp_path, kind):
    if kind == "photo":
        path = tmp_path / "photo.png"
        path.write_bytes(POSTSCRIPT)
        cli = cli_message(capsys, "align", path, "-o", tmp_path / "o.png", "--transform",
                          tmp_path / "t.json", "--no-align")
    else:
        path = tmp_path / "p.semedit"
        path.write_bytes(b"PK\x03\x04 not really a zip")
        cli = cli_message(capsys, "render", path, "-o", tmp_path / "o.png")
    assert str(path) in cli
    assert app_message(qtbot, documents, path) == cli


def test_same_message_as_the_cli_for_a_direction_file(qtbot, capsys, tmp_path, monkeypatch):
    import io

    import numpy as np

    from semedit_gui.controllers.directions import DirectionsController
    from tests.gui.controller_fixtures import GEN

    monkeypatch.setenv("SEMEDIT_HOME", str(tmp_path / "home"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (1 << 20, 512)})
    path = tmp_path / "smile.npy"
    path.write_bytes(header.getvalue() + bytes(64))  # the header lies about the size
    cli = cli_message(capsys, "directions", "import", path, "--generator", GEN)
    assert str(path) in cli
    owner = QObject()
    registry = make_registry(tmp_path, owner)
    try:
        task = DirectionsController(registry, parent=owner).import_file(path)
        with qtbot.waitSignal(task.failed, timeout=WAIT_MS) as failed:
            pass
        assert failed.args[0] == cli
    finally:
        stop_threads(registry, qtbot)


def test_same_message_as_the_cli_for_a_generator(qtbot, capsys, tmp_path):
    import skimage.data
    from PIL import Image

    from core.models.loaded import ModelChoice
    from semedit_gui.controllers import JobRegistry
    from semedit_gui.file_worker import FileWorker
    from semedit_gui.worker import GpuWorker

    photo = tmp_path / "photo.png"
    Image.fromarray(skimage.data.astronaut()[::8, ::8]).save(photo)
    generator = tmp_path / "gen.pkl"
    generator.write_bytes(b"\x80\x04K\x01" * 10)  # a pickle of nothing a network is made of
    cli = cli_message(capsys, "invert", photo, "--generator", generator, "--no-align",
                      "--loss", "l2", "--steps", "1", "-o", tmp_path / "p.semedit")
    assert str(generator) in cli
    owner = QObject()
    registry = JobRegistry(GpuWorker(ModelChoice(generator=str(generator), models_dir=str(
        tmp_path / "models"), device="cpu"), owner), FileWorker(owner), owner)
    try:
        documents = make_documents(registry, tmp_path, Answers())
        task = documents.open_photo(photo, align=False)
        with qtbot.waitSignal(task.failed, timeout=WAIT_MS) as failed:
            pass
        assert failed.args[0] == cli
    finally:
        stop_threads(registry, qtbot)


@pytest.mark.parametrize("kind", ["postscript", "bomb"])
def test_same_message_as_the_cli_for_a_mask_file(qtbot, capsys, tmp_path, kind):
    """Chunks ▸ Mask ▸ Import (the chunks panel) says what `invert --mask` says."""
    import numpy as np
    import skimage.data
    from PIL import Image

    from core.project import Document
    from semedit_gui.panels import ChunksPanel
    from semedit_gui.session import EditorSession
    from tests.gui.controller_fixtures import GEN

    mask = tmp_path / "mask.png"
    if kind == "postscript":
        mask.write_bytes(POSTSCRIPT)  # Pillow's EPS plugin would start Ghostscript
    else:  # 30000² pixels of one colour: a few kB of PNG, gigabytes decoded
        Image.new("1", (30000, 30000)).save(mask)
    photo = tmp_path / "photo.png"
    Image.fromarray(skimage.data.astronaut()[::16, ::16]).save(photo)
    cli = cli_message(capsys, "invert", photo, "--generator", GEN, "--no-align", "--mask",
                      mask, "--loss", "l2", "--steps", "1", "-o", tmp_path / "p.semedit")
    assert str(mask) in cli

    session = EditorSession(Document(aligned=np.zeros((32, 32, 3), np.uint8)))
    panel = ChunksPanel(session)
    qtbot.addWidget(panel)
    shown: list[str] = []
    panel.message.connect(lambda text, *_: shown.append(text))
    panel.import_mask(mask)
    session.close()
    assert shown == [cli]
    assert session.doc.chunks == []  # nothing was added
