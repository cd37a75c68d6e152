"""Small pieces the dock panels share: safe calls into core and session wiring."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import SignalInstance

from core.errors import SemeditError


def run_reporting(report: Callable[[str], None], action: Callable[..., Any],
                  *args: Any, **kwargs: Any) -> Any:
    """`action(*args, **kwargs)`, or None after passing a user error's sentence to `report`.

    Only SemeditError is caught: anything else is a bug and should surface as one.
    """
    try:
        return action(*args, **kwargs)
    except SemeditError as error:
        report(str(error))
        return None


class SignalLinks:
    """The connections a panel made to one session, so `set_session` can undo them all."""

    def __init__(self) -> None:
        self._links: list[tuple[SignalInstance, Callable[..., Any]]] = []

    def connect(self, signal: SignalInstance, slot: Callable[..., Any]) -> None:
        signal.connect(slot)
        self._links.append((signal, slot))

    def disconnect_all(self) -> None:
        for signal, slot in self._links:
            # The session may already be gone (its C++ object deleted with its parent).
            with contextlib.suppress(RuntimeError):
                signal.disconnect(slot)
        self._links.clear()


class Reentry:
    """A flag for "this change comes from the panel itself", so views do not echo it."""

    def __init__(self) -> None:
        self.active = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        previous, self.active = self.active, True
        try:
            yield
        finally:
            self.active = previous
