"""The thread that reads and writes project files, so saving never waits for the GPU.

It runs the same `Task`s as the GPU worker but owns no models (their `work` gets None).
At shutdown a save the user asked for (`must_finish`) still runs; an autosave or a read
still queued ends cancelled.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from semedit_gui.worker import TaskThread


class FileWorker(TaskThread):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("SemEditFileWorker")
