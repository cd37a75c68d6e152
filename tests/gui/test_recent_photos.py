"""Opened photos are recent files too (issue #19, screenshot 73): reopening one makes a new
document from it; one that is gone leaves the list with a message; the bundled sample
photo has its own button and stays off the list."""

from __future__ import annotations

from pathlib import Path

import pytest
import skimage.data
from PIL import Image

from semedit_gui.settings import AppSettings
from semedit_gui.welcome import sample_photo
from tests.gui.controller_fixtures import GEN, WAIT_MS, Answers, controller_stack

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def save_photo(path: Path) -> Path:
    Image.fromarray(skimage.data.astronaut()[::2, ::2]).save(path)  # a face: opens at once
    return path


def opened(qtbot, documents, open_call):
    with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
        task = open_call()
    assert task is not None
    return documents.session


def test_a_photo_is_a_recent_file_and_reopens_as_a_new_document(qtbot, tmp_path):
    settings = AppSettings(generator=GEN, device="cpu", autosave_seconds=0)
    first, second = save_photo(tmp_path / "first.png"), save_photo(tmp_path / "second.png")
    with controller_stack(qtbot, tmp_path, Answers(), settings) as (_registry, documents):
        messages = []
        documents.message.connect(lambda text, error: messages.append((text, error)))
        one = opened(qtbot, documents, lambda: documents.open_path(first))
        opened(qtbot, documents, lambda: documents.open_path(second))
        assert settings.recent_files == [str(second.resolve()), str(first.resolve())]

        again = opened(qtbot, documents, lambda: documents.open_recent(settings.recent_files[1]))
        assert again is not one and again.path is None  # a new, unsaved document
        assert again.photo_path == first and again.doc.photo_name == "first.png"
        assert settings.recent_files[0] == str(first.resolve())  # to the top

        first.unlink()
        assert documents.open_recent(str(first.resolve())) is None
        assert settings.recent_files == [str(second.resolve())]
        assert messages[-1] == (f"{first.resolve()} no longer exists; it was taken off the "
                                "recent files.", True)

        opened(qtbot, documents, lambda: documents.open_path(sample_photo()))
        assert settings.recent_files == [str(second.resolve())]
