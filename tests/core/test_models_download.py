"""core.models.download against a real HTTP server on 127.0.0.1 that misbehaves on demand."""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.errors import ChecksumError, DownloadError, JobCancelled
from core.hashing import HASH_BLOCK_SIZE, hash_file
from core.jobs import JobControl
from core.models.download import DownloadProgress, download, part_path

PAYLOAD = bytes(range(256)) * 1024  # 256 KiB, every byte position distinguishable
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
FAST = {"backoff": 0.01, "stall_timeout": 2.0}


@dataclass
class Route:
    """How the server answers one path."""

    data: bytes
    status: int = 200
    cut_after: int | None = None  # drop the connection once the file is sent up to this offset
    cuts_left: int = 1_000_000  # how many answers are cut before the file is sent whole
    stall_after: int | None = None  # stop sending at this offset and hang until shutdown
    ignore_range: bool = False


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.release = threading.Event()  # set at shutdown: wakes stalled handlers
        self._http = _QuietServer(("127.0.0.1", 0), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def add(self, path: str, data: bytes = PAYLOAD, **behaviour: object) -> str:
        self.routes[path] = Route(data=data, **behaviour)  # type: ignore[arg-type]
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}{path}"

    def ranges(self, path: str) -> list[str | None]:
        return [range_ for logged, range_ in self.requests if logged == path]

    def close(self) -> None:
        self.release.set()
        self._http.shutdown()
        self._http.server_close()  # joins the handler threads
        self._thread.join(timeout=5)


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for every handler: no leaked threads
    owner: LocalServer

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hanging up on a stalled or cut answer is the point of these tests


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _QuietServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        range_header = self.headers.get("Range")
        owner.requests.append((self.path, range_header))
        route = owner.routes.get(self.path)
        if route is None or route.status != 200:
            self.send_error(404 if route is None else route.status)
            return
        start = _range_start(range_header) if not route.ignore_range else None
        if start is not None and start >= len(route.data):
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(route.data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send_headers(route, start)
        self._send_body(route, start or 0)

    def _send_headers(self, route: Route, start: int | None) -> None:
        size = len(route.data)
        if start is None:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
        else:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.send_header("Content-Length", str(size - start))
        self.end_headers()

    def _send_body(self, route: Route, start: int) -> None:
        end = len(route.data)
        if route.cut_after is not None and route.cuts_left > 0 and route.cut_after > start:
            route.cuts_left -= 1
            end = route.cut_after
        elif route.stall_after is not None:
            self.wfile.write(route.data[start : max(start, route.stall_after)])
            self.wfile.flush()
            self.server.owner.release.wait(timeout=10)
            return
        self.wfile.write(route.data[start:end])
        self.wfile.flush()
        if end < len(route.data):
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True


def _range_start(header: str | None) -> int | None:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match.group(1)) if match else None


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "*")  # never route 127.0.0.1 through a proxy from the env
    threads_before = set(threading.enumerate())
    local = LocalServer()
    yield local
    local.close()
    leaked = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
    assert not leaked, f"server threads still running: {leaked}"


def run(generator: Iterator[DownloadProgress]) -> tuple[list[DownloadProgress], str]:
    """Drain a download generator: its progress values and its return value."""
    progress = []
    while True:
        try:
            progress.append(next(generator))
        except StopIteration as finished:
            return progress, finished.value


def test_full_download_reports_monotonic_progress(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/model.bin")
    dest = tmp_path / "models" / "model.bin"

    progress, sha256 = run(
        download(url, dest, size=len(PAYLOAD), sha256=PAYLOAD_SHA256, chunk_size=16384, **FAST)
    )

    assert dest.read_bytes() == PAYLOAD
    assert sha256 == PAYLOAD_SHA256
    assert not part_path(dest).exists()
    done = [p.done_bytes for p in progress]
    assert done == sorted(done)
    assert len(progress) >= 3
    assert progress[-1] == DownloadProgress(len(PAYLOAD), len(PAYLOAD), 0.0)
    assert all(p.total_bytes == len(PAYLOAD) for p in progress)
    assert all(p.bytes_per_second >= 0 for p in progress)
    assert progress[-1].fraction == 1.0


def test_dropped_connection_is_resumed_with_a_range_request(
    server: LocalServer, tmp_path: Path
) -> None:
    url = server.add("/model.bin", cut_after=100_000, cuts_left=1)
    dest = tmp_path / "model.bin"

    _, sha256 = run(download(url, dest, sha256=PAYLOAD_SHA256, retries=2, **FAST))

    assert server.ranges("/model.bin") == [None, "bytes=100000-"]
    assert sha256 == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD


def test_part_left_by_an_earlier_run_is_resumed(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/model.bin", cut_after=70_000, cuts_left=1)
    dest = tmp_path / "model.bin"
    with pytest.raises(DownloadError, match="closed after 70000"):
        run(download(url, dest, retries=0, **FAST))
    assert part_path(dest).stat().st_size == 70_000
    assert not dest.exists()

    _, sha256 = run(download(url, dest, sha256=PAYLOAD_SHA256, **FAST))

    assert server.ranges("/model.bin") == [None, "bytes=70000-"]
    assert sha256 == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD


def test_server_that_ignores_range_restarts_from_zero(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/model.bin", ignore_range=True)
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(b"stale bytes from another file")

    _, sha256 = run(download(url, dest, sha256=PAYLOAD_SHA256, **FAST))

    assert server.ranges("/model.bin") == ["bytes=29-"]
    assert sha256 == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_needs_no_transfer(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/model.bin")
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(PAYLOAD)

    _, sha256 = run(download(url, dest, size=len(PAYLOAD), sha256=PAYLOAD_SHA256, **FAST))

    assert server.requests == []
    assert sha256 == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_of_unknown_size_is_finished_after_http_416(
    server: LocalServer, tmp_path: Path
) -> None:
    url = server.add("/model.bin")
    dest = tmp_path / "model.bin"
    part_path(dest).write_bytes(PAYLOAD)

    _, sha256 = run(download(url, dest, **FAST))

    assert server.ranges("/model.bin") == [f"bytes={len(PAYLOAD)}-"]
    assert sha256 == PAYLOAD_SHA256
    assert dest.read_bytes() == PAYLOAD


def test_wrong_checksum_leaves_no_file(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/model.bin", data=b"not the model" * 1000)
    dest = tmp_path / "model.bin"
    wrong_sha256 = hashlib.sha256(b"not the model" * 1000).hexdigest()

    with pytest.raises(ChecksumError) as caught:
        run(download(url, dest, sha256=PAYLOAD_SHA256, **FAST))

    assert PAYLOAD_SHA256 in str(caught.value)
    assert wrong_sha256 in str(caught.value)
    assert url in str(caught.value)
    assert not dest.exists()
    assert not part_path(dest).exists()


@pytest.mark.parametrize(
    ("checks", "ok"),
    [
        ({"sha256_prefix": PAYLOAD_SHA256[:8]}, True),
        ({"sha256_prefix": "00000000"}, False),
        ({"md5_prefix": hashlib.md5(PAYLOAD).hexdigest()[:6]}, True),
        ({"md5_prefix": "ffffff"}, False),
    ],
)
def test_hash_prefixes_are_checked(
    server: LocalServer, tmp_path: Path, checks: dict[str, str], ok: bool
) -> None:
    url = server.add("/model.bin")
    dest = tmp_path / "model.bin"
    if ok:
        run(download(url, dest, **checks, **FAST))
        assert dest.read_bytes() == PAYLOAD
    else:
        with pytest.raises(ChecksumError):
            run(download(url, dest, **checks, **FAST))
        assert not dest.exists()
        assert not part_path(dest).exists()


def test_server_offering_another_size_is_refused(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/model.bin")
    dest = tmp_path / "model.bin"

    with pytest.raises(DownloadError, match="not the right file"):
        run(download(url, dest, size=len(PAYLOAD) + 1, **FAST))

    assert not dest.exists()
    assert len(server.requests) == 1


def test_http_404_fails_at_once_without_retries(server: LocalServer, tmp_path: Path) -> None:
    url = server.url("/missing.bin")
    started = time.monotonic()

    with pytest.raises(DownloadError, match="404") as caught:
        run(download(url, tmp_path / "missing.bin", retries=3, backoff=1.0))

    assert time.monotonic() - started < 0.9
    assert url in str(caught.value)
    assert len(server.requests) == 1
    assert not isinstance(caught.value, ChecksumError)


def test_server_errors_are_retried_then_reported(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/busy.bin", status=503)

    with pytest.raises(DownloadError, match=r"503.*gave up after 3 attempts"):
        run(download(url, tmp_path / "busy.bin", retries=2, **FAST))

    assert len(server.requests) == 3


def test_a_stop_wakes_the_wait_before_a_retry(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/busy.bin", status=503)
    control = JobControl()

    def stop_after_the_first_answer() -> None:
        while not server.requests:
            time.sleep(0.01)
        control.stop()  # the downloader is now waiting 30 s before its second try

    stopper = threading.Thread(target=stop_after_the_first_answer)
    stopper.start()
    started = time.monotonic()
    with pytest.raises(JobCancelled):
        run(download(url, tmp_path / "busy.bin", control=control, retries=3, backoff=30.0))
    stopper.join()

    assert len(server.requests) == 1
    assert time.monotonic() - started < 10.0  # woken by the stop, not by the 30 s timer


def test_stalled_server_raises_instead_of_hanging(server: LocalServer, tmp_path: Path) -> None:
    url = server.add("/slow.bin", stall_after=50_000)
    dest = tmp_path / "slow.bin"
    started = time.monotonic()

    with pytest.raises(DownloadError, match="stalled"):
        run(download(url, dest, stall_timeout=0.3, retries=1, backoff=0.01))

    assert time.monotonic() - started < 2.5
    assert server.ranges("/slow.bin") == [None, "bytes=50000-"]
    assert part_path(dest).stat().st_size == 50_000  # kept for a later resume


def test_stop_through_job_control_cancels_and_keeps_the_part(
    server: LocalServer, tmp_path: Path
) -> None:
    url = server.add("/model.bin")
    dest = tmp_path / "model.bin"
    control = JobControl()
    seen = []

    with pytest.raises(JobCancelled, match=r"Downloading model\.bin was cancelled"):
        for progress in download(url, dest, control=control, chunk_size=4096, **FAST):
            seen.append(progress)
            if progress.done_bytes > 0:
                control.stop()

    # The stop is noticed before the next read: no progress comes after the one that
    # asked for it, and the .part holds exactly the bytes reported so far.
    assert seen[-1].done_bytes > 0
    assert sum(1 for p in seen if p.done_bytes > 0) == 1
    assert not dest.exists()
    assert part_path(dest).stat().st_size == seen[-1].done_bytes < len(PAYLOAD)
    assert part_path(dest).read_bytes() == PAYLOAD[: seen[-1].done_bytes]


def test_hashing_stops_between_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 * HASH_BLOCK_SIZE))
    control = JobControl()
    control.stop()

    with pytest.raises(JobCancelled, match=r"Checking big\.bin was cancelled"):
        hash_file(path, control=control)
    assert hash_file(path).sha256 == hashlib.sha256(b"x" * (3 * HASH_BLOCK_SIZE)).hexdigest()


def test_next_mirror_is_tried_when_one_fails(server: LocalServer, tmp_path: Path) -> None:
    good = server.add("/mirror/model.bin")
    dest = tmp_path / "model.bin"

    _, sha256 = run(download([server.url("/gone.bin"), good], dest, **FAST))

    assert sha256 == PAYLOAD_SHA256
    assert [path for path, _ in server.requests] == ["/gone.bin", "/mirror/model.bin"]


def test_every_mirror_failing_names_each(server: LocalServer, tmp_path: Path) -> None:
    urls = [server.url("/a.bin"), server.url("/b.bin")]

    with pytest.raises(DownloadError) as caught:
        run(download(urls, tmp_path / "model.bin", **FAST))

    assert all(url in str(caught.value) for url in urls)


def test_no_url_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError):
        run(download([], tmp_path / "model.bin"))


def test_store_downloads_through_the_real_downloader(server: LocalServer, tmp_path: Path) -> None:
    from core.models.manifest import parse_manifest
    from core.models.store import ModelStore

    url = server.add("/net.pkl", cut_after=123_456, cuts_left=1)
    entry = {
        "id": "net",
        "kind": "generator",
        "default": True,
        "filename": "net.pkl",
        "urls": [url],
        "size": None,
        "sha256": None,
        "licence": "test",
        "description": "A test network.",
        "resolution": 256,
        "domain": "test",
        "format": "nvidia-pickle",
    }
    manifest = parse_manifest({"format": 1, "assets": [entry]}, require_https=False)
    store = ModelStore(manifest, tmp_path / "models")

    progress = list(store.download("net", retries=1))

    assert progress[-1].done_bytes == len(PAYLOAD)
    assert store.resolve("net", "generator").read_bytes() == PAYLOAD
    assert server.ranges("/net.pkl") == [None, "bytes=123456-"]
    assert store.verify("net").ok
