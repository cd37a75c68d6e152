"""A one-line progress bar on stderr for long CLI jobs (silent when stderr is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from core.models import format_bytes


class ProgressBar:
    def __init__(self, label: str, *, stream: TextIO | None = None, width: int = 30,
                 min_interval_s: float = 0.1):
        self.label, self.width, self.min_interval_s = label, width, min_interval_s
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._last_draw = 0.0
        self._drawn = False

    def update_bytes(self, done: int, total: int | None, per_second: float) -> None:
        fraction = done / total if total else None
        detail = f"{format_bytes(done)}"
        if total:
            detail += f" / {format_bytes(total)}"
        if per_second > 0:
            detail += f"  {format_bytes(int(per_second))}/s"
        self.update(fraction, detail)

    def update(self, fraction: float | None, detail: str = "") -> None:
        now = time.monotonic()
        if not self.enabled or (now - self._last_draw < self.min_interval_s and fraction != 1):
            return
        self._last_draw = now
        if fraction is None:
            bar = "?" * self.width
            percent = "  ?%"
        else:
            filled = round(self.width * min(max(fraction, 0.0), 1.0))
            bar = "#" * filled + "-" * (self.width - filled)
            percent = f"{100 * fraction:3.0f}%"
        self.stream.write(f"\r{self.label} [{bar}] {percent} {detail}\x1b[K")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
