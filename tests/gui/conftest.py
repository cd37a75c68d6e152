"""GUI tests fail when a top-level widget or a worker thread outlives its test (napari's
rule). tests/conftest.py already sets QT_QPA_PLATFORM=offscreen."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_leaked_widgets(qapp):
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    before = set(QApplication.topLevelWidgets())
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before]
    names = [f"{type(w).__name__}({w.objectName()})" for w in leaked]
    for w in leaked:
        w.close()
        w.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not leaked, f"test leaked top-level widgets: {names}"


@pytest.fixture(autouse=True)
def _no_leaked_workers():
    from semedit_gui.worker import GpuWorker

    yield
    running = GpuWorker.running_workers()
    for worker in running:
        worker.shutdown(5000)
    assert not running, "test left a GPU worker thread running"


@pytest.fixture
def view(qtbot):
    """A shown 400×300 canvas (the canvas tests)."""
    from semedit_gui.canvas import CanvasView

    canvas = CanvasView()
    qtbot.addWidget(canvas)
    canvas.resize(400, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    return canvas


@pytest.fixture
def messages(view):
    """What the `view` canvas said to the user."""
    said: list[str] = []
    view.message.connect(said.append)
    return said


@pytest.fixture(scope="module")
def coffee(tmp_path_factory):
    """A photo with no face in it (skimage's coffee cup)."""
    import skimage.data
    from PIL import Image

    path = tmp_path_factory.mktemp("photos") / "coffee.png"
    Image.fromarray(skimage.data.coffee()).save(path)
    return path
