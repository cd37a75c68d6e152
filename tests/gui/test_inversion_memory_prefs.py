"""Preferences ▸ Inversion memory and Mixed precision: saved, shown, and passed by the
inversion controller into the engine's settings (issue #21)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from PIL import Image
from PySide6.QtCore import QObject

import core.invert.engine as engine
from core.invert import InversionSettings
from semedit_gui.controllers import InversionController
from semedit_gui.dialogs import PreferencesDialog
from semedit_gui.settings import AppSettings
from tests.gui.controller_fixtures import (
    WAIT_MS,
    Answers,
    make_documents,
    make_registry,
    stop_threads,
    wait_ended,
)

DEVICES = {"auto": True, "cuda": True, "mps": True, "cpu": True}


def test_preferences_round_trip_of_the_inversion_memory_and_precision(qtbot, tmp_path):
    settings = AppSettings(inversion_memory="per_chunk", mixed_precision="bf16")
    dialog = PreferencesDialog(settings, available_devices=DEVICES)
    qtbot.addWidget(dialog)
    assert dialog.inversion_memory_combo.currentText() == "one chunk at a time (least memory)"
    assert dialog.mixed_precision_combo.currentText() == "bf16"
    assert dialog.result_settings() == settings
    assert "memory" in dialog.inversion_memory_combo.toolTip()
    assert "result" in dialog.mixed_precision_combo.toolTip()
    assert [dialog.inversion_memory_combo.itemText(i) for i in range(3)] == [
        "automatic", "all chunks at once (fastest, most memory)",
        "one chunk at a time (least memory)"]

    dialog.inversion_memory_combo.setCurrentIndex(
        dialog.inversion_memory_combo.findData("batched"))
    dialog.mixed_precision_combo.setCurrentIndex(dialog.mixed_precision_combo.findData("off"))
    chosen = dialog.result_settings()
    assert (chosen.inversion_memory, chosen.mixed_precision) == ("batched", "off")
    assert chosen.inversion_engine_settings() == {"gradient_mode": "batched",
                                                  "autocast": "off"}

    path = tmp_path / "settings.json"
    chosen.save(path)
    loaded, warnings = AppSettings.load(path)
    assert warnings == [] and loaded == chosen


def test_a_bad_saved_value_falls_back_with_a_warning(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"inversion_memory": "sometimes", "mixed_precision": "fp8"}))
    loaded, warnings = AppSettings.load(path)
    assert (loaded.inversion_memory, loaded.mixed_precision) == ("auto", "off")
    assert len(warnings) == 2 and "inversion_memory" in warnings[0]


@pytest.mark.usefixtures("one_torch_thread")
def test_the_controller_passes_the_preferences_to_the_engine(qtbot, tmp_path, monkeypatch):
    registry = make_registry(tmp_path, owner := QObject())
    documents = make_documents(registry, tmp_path, Answers())
    try:
        prefs = AppSettings(inversion_memory="per_chunk", mixed_precision="bf16")
        inversion = InversionController(registry, documents,
                                        engine_settings=prefs.inversion_engine_settings)
        seen = []
        real_run = engine.InversionJob.run

        def recording_run(job):
            seen.append((job.settings.gradient_mode, job.settings.autocast,
                         job.chunks_per_pass))
            return real_run(job)

        monkeypatch.setattr(engine.InversionJob, "run", recording_run)
        photo = tmp_path / "astronaut.png"
        Image.fromarray(skimage.data.astronaut()).save(photo)
        with qtbot.waitSignal(documents.document_opened, timeout=WAIT_MS):
            documents.open_path(photo)
        chunks = documents.session.chunk_set
        left = np.zeros((32, 32), np.float32)
        left[:, :16] = 1
        chunks.add(left, name="left")
        chunks.add(1 - left, name="right")
        wait_ended(qtbot, inversion.run(InversionSettings(steps=2), "l2", 0))
        assert seen == [("per_chunk", "bf16", 1)]
        assert documents.session.doc.inversion["metrics"]["steps"] == 2
    finally:
        stop_threads(registry, qtbot)
        del owner
