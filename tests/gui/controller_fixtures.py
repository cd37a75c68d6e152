"""Controllers without a window: a job registry on real worker threads, documents."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from PySide6.QtCore import QObject

from core.models.loaded import ModelChoice
from semedit_gui.controllers import DocumentController, JobRegistry
from semedit_gui.file_worker import FileWorker
from semedit_gui.settings import AppSettings
from semedit_gui.worker import GpuWorker

DATA = Path(__file__).resolve().parents[1] / "data"
GEN = str(DATA / "ada_tiny.pkl")  # 32², 8 ws rows
WAIT_MS = 60_000


class Answers:
    """What the "user" answers to the controllers' questions."""

    def __init__(self):
        self.unsaved = "discard"
        self.save_path: Path | None = None
        self.asked: list[str] = []

    def ask_unsaved_changes(self) -> str:
        self.asked.append("unsaved")
        return self.unsaved

    def ask_save_path(self, suggested: Path) -> Path | None:
        self.asked.append(f"save:{suggested.name}")
        return self.save_path


def make_registry(tmp_path: Path, owner: QObject) -> JobRegistry:
    gpu = GpuWorker(ModelChoice(generator=GEN, models_dir=str(tmp_path / "models"),
                                device="cpu"), owner)
    return JobRegistry(gpu, FileWorker(owner), owner)


def make_documents(registry: JobRegistry, tmp_path: Path, answers: Answers,
                   settings: AppSettings | None = None) -> DocumentController:
    settings = settings or AppSettings(generator=GEN, device="cpu", autosave_seconds=0)
    from semedit_gui.autosave import AutosaveSlot

    return DocumentController(registry, lambda: settings, lambda: None,
                              ask_unsaved_changes=answers.ask_unsaved_changes,
                              ask_save_path=answers.ask_save_path,
                              autosave_slot=AutosaveSlot(tmp_path / "autosave"),
                              parent=registry.parent())


def stop_threads(registry: JobRegistry, qtbot) -> None:
    registry.begin_shutdown()
    qtbot.waitUntil(lambda: not registry.threads_running, timeout=WAIT_MS)
    for thread in registry.threads:
        thread.wait()


def wait_ended(qtbot, task, timeout: int = WAIT_MS) -> None:
    qtbot.waitUntil(lambda: task.finished, timeout=timeout)


@contextmanager
def controller_stack(qtbot, tmp_path: Path, answers: Answers | None = None,
                     settings: AppSettings | None = None):
    """(registry, documents) on real worker threads owned by a plain QObject (the
    registry's parent); the threads are stopped on the way out."""
    owner = QObject()  # held here: the registry and its threads are its children
    registry = make_registry(tmp_path, owner)
    try:
        yield registry, make_documents(registry, tmp_path, answers or Answers(), settings)
    finally:
        stop_threads(registry, qtbot)
