"""LatestWins: identical requests skipped, pending ones collapse, stale results detected."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from core.edit.scheduler import ChunkState, LatestWins, PreviewRequest
from core.errors import InvalidInputError
from core.project import Document, Edit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _request(strength: float, mode: str = "edited") -> PreviewRequest:
    return PreviewRequest((ChunkState("A", "w", b"\0" * 16, (("smile", strength),)),), mode)


def test_requests_are_values_compared_without_their_ids():
    doc = Document(aligned=np.zeros((4, 4, 3), np.uint8))
    doc.add_chunk(np.ones((4, 4), np.float32), name="A", space="w",
                  code=np.arange(3, dtype=np.float32),
                  edits=[Edit("smile", 1.0), Edit("age", 2.0, enabled=False)])
    a, b = PreviewRequest.from_document(doc), PreviewRequest.from_document(doc)
    assert a == b and hash(a) == hash(b) and a.id != b.id
    assert a.chunks[0].edits == (("smile", 1.0),)  # disabled edits do not count
    assert a.chunks[0].edited
    doc.chunk("A").edits[0].strength = 1.5
    assert PreviewRequest.from_document(doc) != a
    doc.chunk("A").edits[0].strength = 1.0
    doc.chunk("A").code[0] = 9.0
    assert PreviewRequest.from_document(doc) != a
    assert PreviewRequest.from_document(doc, revision=1) != PreviewRequest.from_document(doc)
    assert PreviewRequest.from_document(doc, mode="original") != PreviewRequest.from_document(doc)
    with pytest.raises(InvalidInputError, match="preview mode"):
        PreviewRequest(mode="sepia")
    with pytest.raises(InvalidInputError, match="between 0 and 1"):
        PreviewRequest(mode="side_by_side", split=1.5)


def test_identical_requests_are_skipped_and_pending_ones_replaced():
    queue = LatestWins()
    first = _request(1.0)
    assert queue.submit(first)
    assert not queue.submit(_request(1.0))  # same as the pending one
    second = _request(2.0)
    assert queue.submit(second)  # replaces the pending one
    assert queue.take(timeout=0) is second
    assert not queue.submit(_request(2.0))  # the one being rendered
    queue.done(second)
    assert not queue.submit(_request(2.0))  # the one last rendered
    assert not queue.is_stale(second.id)
    third = _request(3.0)
    assert queue.submit(third)
    assert queue.is_stale(second.id) and not queue.is_stale(third.id)
    # Back to what is shown before the worker took the new request: nothing more to render.
    assert not queue.submit(_request(2.0))
    assert queue.pending is None and not queue.is_stale(second.id)
    assert queue.take(timeout=0.01) is None


def test_a_failed_render_is_not_taken_for_the_shown_state():
    queue = LatestWins()
    request = _request(1.0)
    queue.submit(request)
    queue.done(queue.take(), rendered=False)
    assert queue.submit(_request(1.0))


def test_rapid_submits_with_a_slow_worker_render_few_and_end_with_the_newest():
    queue = LatestWins()
    rendered: list[PreviewRequest] = []
    stale_results: list[int] = []
    shown: list[int] = []

    def worker():
        while (request := queue.take()) is not None:
            time.sleep(0.02)  # a slow render
            rendered.append(request)
            queue.done(request)
            (stale_results if queue.is_stale(request.id) else shown).append(request.id)

    thread = threading.Thread(target=worker, name="preview-worker")
    thread.start()
    try:
        requests = [_request(float(i)) for i in range(100)]
        for request in requests:
            assert queue.submit(request)
            time.sleep(0.0005)
        assert queue.wait_idle(timeout=10)
    finally:
        queue.close()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert 1 <= len(rendered) < 40
    assert rendered[-1] is requests[-1]
    assert shown[-1] == requests[-1].id
    assert stale_results  # intermediate results came back after newer requests
    ids = [r.id for r in rendered]
    assert ids == sorted(ids)  # never an older state after a newer one
    assert queue.submitted == 100


def test_close_wakes_a_waiting_worker():
    queue = LatestWins()
    got: list[object] = ["not yet"]
    thread = threading.Thread(target=lambda: got.__setitem__(0, queue.take()), name="waiter")
    thread.start()
    time.sleep(0.05)
    assert thread.is_alive()  # blocked in take()
    queue.close()
    thread.join(timeout=2)
    assert not thread.is_alive() and got[0] is None
    assert queue.closed and not queue.submit(_request(1.0))
    assert queue.take(timeout=0) is None
