"""Listeners for the headless models that views observe (napari-style, no Qt)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

EventT = TypeVar("EventT")


class Observable(Generic[EventT]):
    """add_listener / remove_listener / _emit, for a model whose views redraw on events.

    Callbacks run synchronously on the thread that made the change; a GUI forwards them
    to its own thread.
    """

    _listeners: list[Callable[[EventT], None]]

    def add_listener(self, callback: Callable[[EventT], None]) -> None:
        """Call `callback(event)` after every change."""
        self.__dict__.setdefault("_listeners", []).append(callback)

    def remove_listener(self, callback: Callable[[EventT], None]) -> None:
        listeners = self.__dict__.get("_listeners", [])
        if callback in listeners:
            listeners.remove(callback)

    def _emit(self, event: EventT) -> None:
        for callback in list(self.__dict__.get("_listeners", ())):
            callback(event)
