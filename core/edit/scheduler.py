"""Latest-wins scheduling of preview renders between the UI thread and the GPU worker.

A preview request is an immutable value holding everything about the chunks that decides
the image (their codes and enabled edits), so two requests for the same state compare
equal whatever their ids (stylegan3 visualizer's AsyncRenderer, krita-ai-diffusion's
LiveScheduler):

- a request identical to the one pending, being rendered or last rendered is skipped;
- a pending request not yet taken by the worker is replaced by a newer one, so a fast
  slider drag renders a few intermediate states and always the last one;
- a result whose request is no longer the newest wanted state is stale and is dropped.

Masks, the photo and PTI weights are not part of the snapshot (they are large and change
rarely): bump `revision` when one of them changes so the next request differs.

Pure Python and threading: no torch, no Qt. One `LatestWins` per preview view; the UI
thread calls `submit` and `is_stale`, the worker `take` and `done`.
"""

from __future__ import annotations

import itertools
import math
import threading
from dataclasses import dataclass, field

import numpy as np

from core.errors import InvalidInputError
from core.project.document import Chunk, Document

# "edited": the photo with only the edited chunks replaced; "reconstruction": every chunk
# composited as the inversion did; "original": the aligned photo; "difference": a heat map
# of |edited - photo|; "side_by_side": photo | edited (or a wipe at `split`).
MODES: tuple[str, ...] = ("edited", "reconstruction", "original", "difference",
                          "side_by_side")

_ids = itertools.count(1)
_ids_lock = threading.Lock()


def _next_id() -> int:
    with _ids_lock:
        return next(_ids)


@dataclass(frozen=True)
class ChunkState:
    """What of one chunk decides its rendered image.

    `code` is the float32 code's bytes (None before inversion); `edits` are the enabled
    edits as (direction name, strength), in stack order.
    """

    name: str
    space: str
    code: bytes | None
    edits: tuple[tuple[str, float], ...] = ()

    @classmethod
    def of(cls, chunk: Chunk) -> ChunkState:
        code = None if chunk.code is None else np.ascontiguousarray(
            chunk.code, dtype=np.float32).tobytes()
        edits = tuple((e.direction, float(e.strength)) for e in chunk.edits if e.enabled)
        return cls(chunk.name, chunk.space, code, edits)

    @property
    def edited(self) -> bool:
        """True when an enabled edit has a non-zero strength (the chunk looks different)."""
        return any(strength != 0 for _, strength in self.edits)


@dataclass(frozen=True)
class PreviewRequest:
    """One preview to render; equality ignores `id` (a fresh number per request).

    `split`: None shows "side_by_side" as photo | edited next to each other; a fraction in
    [0, 1] shows one image, the photo left of that column fraction and the edit right of it.
    `revision`: a number the caller bumps when something outside the snapshot (masks,
    photo, PTI weights) changed.
    `size`: None renders the chunks at the generator's resolution; a smaller block
    resolution (256, 512) renders them there and scales them up: the fast preview shown
    while a slider is dragged.
    """

    chunks: tuple[ChunkState, ...] = ()
    mode: str = "edited"
    split: float | None = None
    revision: int = 0
    size: int | None = None
    id: int = field(default_factory=_next_id, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInputError(f"Unknown preview mode {self.mode!r}; use one of "
                                    f"{', '.join(MODES)}.")
        if self.split is not None:
            if isinstance(self.split, bool) or not isinstance(self.split, int | float) \
                    or not math.isfinite(self.split) or not 0 <= self.split <= 1:
                raise InvalidInputError(f"The split must be a fraction between 0 and 1, not "
                                        f"{self.split!r}.")
            object.__setattr__(self, "split", float(self.split))
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(
                self.size, int) or self.size < 4 or self.size & (self.size - 1)):
            raise InvalidInputError(f"The preview size must be a power of two of at least 4, "
                                    f"not {self.size!r}.")

    @classmethod
    def from_document(cls, doc: Document, *, mode: str = "edited", split: float | None = None,
                      revision: int = 0, size: int | None = None) -> PreviewRequest:
        """A snapshot of the document's chunks as they are now."""
        return cls(tuple(ChunkState.of(c) for c in doc.chunks), mode, split, revision, size)


class LatestWins:
    """A one-slot, thread-safe queue where the newest request replaces the pending one."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: PreviewRequest | None = None
        self._in_flight: PreviewRequest | None = None
        self._last_done: PreviewRequest | None = None
        self._wanted: PreviewRequest | None = None  # the state the view should end up showing
        self._closed = False
        self.submitted = 0  # requests accepted (not skipped)
        self.skipped = 0

    # ----------------------------------------------------------------- UI side

    def submit(self, request: PreviewRequest) -> bool:
        """Queue `request`, replacing any pending one; False when it is skipped.

        Skipped: it equals the pending request, or (nothing else pending) the one being
        rendered or last rendered. Asking for the state already on its way drops a pending
        request for another state, so a slider moved away and back renders nothing more.
        """
        with self._cond:
            if self._closed:
                return False
            base = self._in_flight if self._in_flight is not None else self._last_done
            if self._pending is not None and request == self._pending:
                self.skipped += 1
                return False
            if base is not None and request == base:
                self._pending = None
                self._wanted = base
                self.skipped += 1
                return False
            self._pending = self._wanted = request
            self.submitted += 1
            self._cond.notify_all()
            return True

    def is_stale(self, result_id: int) -> bool:
        """True when the result of request `result_id` is no longer what the view wants."""
        with self._cond:
            return self._wanted is not None and result_id != self._wanted.id

    @property
    def pending(self) -> PreviewRequest | None:
        with self._cond:
            return self._pending

    # ----------------------------------------------------------------- worker side

    def take(self, timeout: float | None = None) -> PreviewRequest | None:
        """The newest request, waiting for one; None on timeout or once closed."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._closed or self._pending is not None,
                                       timeout):
                return None
            if self._closed:
                return None
            request, self._pending = self._pending, None
            self._in_flight = request
            return request

    def done(self, request: PreviewRequest, *, rendered: bool = True) -> None:
        """The worker finished `request`; `rendered=False` when it failed (not shown)."""
        with self._cond:
            if rendered:
                self._last_done = request
            if self._in_flight is request:
                self._in_flight = None
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is pending or being rendered (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or (self._pending is None and self._in_flight is None),
                timeout)

    def close(self) -> None:
        """Wake the worker: `take` returns None from now on and `submit` is refused."""
        with self._cond:
            self._closed = True
            self._pending = None
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed
