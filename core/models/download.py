"""Resumable, checked HTTP downloads with the standard library only.

`download()` is a generator: iterate it to run the download and receive `DownloadProgress`
values; its return value (`StopIteration.value`, or the result of `yield from`) is the
sha256 of the finished file. Bytes go to `<dest>.part` first and are renamed into place
only once the size and hashes are right, so `dest` never holds half a file.
"""

from __future__ import annotations

import http.client
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.errors import ChecksumError, DownloadError
from core.hashing import FileDigests, StreamHasher, check_digests, hash_into
from core.jobs import JobControl, control_or_new

USER_AGENT = "SemEdit-model-downloader/1 (Python urllib)"
PART_SUFFIX = ".part"
_PROGRESS_INTERVAL_S = 0.25
_MAX_BACKOFF_S = 30.0
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"^bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)$")
_STATUS_HINTS = {
    401: "it needs a login",
    403: "access is forbidden",
    404: "there is no file at that address",
    410: "the file was removed",
}


@dataclass(frozen=True)
class DownloadProgress:
    done_bytes: int
    total_bytes: int | None
    bytes_per_second: float

    @property
    def fraction(self) -> float | None:
        """0..1 when the total is known, else None."""
        if not self.total_bytes:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART_SUFFIX)


def download(
    url_or_urls: str | Sequence[str],
    dest: str | os.PathLike[str],
    *,
    size: int | None = None,
    sha256: str | None = None,
    sha256_prefix: str | None = None,
    md5_prefix: str | None = None,
    control: JobControl | None = None,
    stall_timeout: float = 30.0,
    retries: int = 3,
    chunk_size: int = 1 << 20,
    backoff: float = 1.0,
) -> Generator[DownloadProgress, None, str]:
    """Download to `dest`, trying each URL in turn (they must be mirrors of one file).

    Resumes an existing `dest.part` with a Range request; gives up on a connection that
    sends nothing for `stall_timeout` seconds; retries network faults `retries` times per
    URL, waiting `backoff`, 2×`backoff`, … seconds (never after 403/404 and the like);
    checks `size`, `sha256`, `sha256_prefix` and `md5_prefix`; returns the file's sha256.
    Progress comes every `chunk_size` bytes or quarter second, whichever is first.

    Raises DownloadError, ChecksumError for the wrong content (the .part is deleted), or
    JobCancelled when `control` asks for a stop (the .part is kept for a later resume). The
    flag is checked between reads, so a stop during a stall is noticed within
    `stall_timeout`.
    """
    urls = [url_or_urls] if isinstance(url_or_urls, str) else list(url_or_urls)
    if not urls:
        raise DownloadError(f"There is no address to download {Path(dest).name} from.")
    job = _Job(
        dest=Path(dest),
        size=size,
        checks={"sha256": sha256, "sha256_prefix": sha256_prefix, "md5_prefix": md5_prefix},
        control=control_or_new(control),
        stall_timeout=stall_timeout,
        retries=max(0, retries),
        chunk_size=max(1, chunk_size),
        backoff=max(0.0, backoff),
    )
    return (yield from job.run(urls))


class _RateMeter:
    """Bytes per second over the last few seconds, so the figure follows the line's speed."""

    def __init__(self, window_s: float = 3.0):
        self._window_s = window_s
        self._samples: deque[tuple[float, int]] = deque([(time.monotonic(), 0)])
        self._received = 0

    def add(self, count: int) -> float:
        self._received += count
        now = time.monotonic()
        self._samples.append((now, self._received))
        while len(self._samples) > 2 and now - self._samples[0][0] > self._window_s:
            self._samples.popleft()
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0


class _TransientError(Exception):
    """A fault worth another try: a dropped connection, a stall, a 5xx answer."""


class _RangeNotSatisfiable(Exception):
    """HTTP 416: the .part is as long as the file, or longer."""

    def __init__(self, content_range: str | None):
        super().__init__(content_range)
        self.content_range = content_range


class _PartFile:
    """The `.part` file, open for appending, and the hashes of exactly the bytes in it."""

    def __init__(self, path: Path, with_md5: bool):
        self.path = path
        self._with_md5 = with_md5
        self.hashes = StreamHasher(with_md5)
        self._stream: BinaryIO | None = None

    @property
    def size(self) -> int:
        return self.hashes.size

    @property
    def is_open(self) -> bool:
        return self._stream is not None

    def open(self, control: JobControl) -> None:
        """Open for appending, first hashing whatever an earlier run left there."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hashes = StreamHasher(self._with_md5)
        if self.path.exists():
            hash_into(self.hashes, self.path, control)
        self._stream = open(self.path, "ab")  # noqa: SIM115 - stays open across retries

    def reset(self) -> None:
        assert self._stream is not None
        self._stream.truncate(0)
        self._stream.seek(0)
        self.hashes = StreamHasher(self._with_md5)

    def append(self, data: bytes) -> None:
        assert self._stream is not None
        try:
            self._stream.write(data)
        except OSError as error:
            raise DownloadError(f"Cannot write {self.path}: {error.strerror or error}.") from error
        self.hashes.update(data)

    def close(self) -> None:
        if self._stream is not None:
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            self._stream = None

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


@dataclass
class _Job:
    dest: Path
    size: int | None
    checks: dict[str, str | None]
    control: JobControl
    stall_timeout: float
    retries: int
    chunk_size: int
    backoff: float

    def run(self, urls: list[str]) -> Generator[DownloadProgress, None, str]:
        part = _PartFile(part_path(self.dest), with_md5=bool(self.checks["md5_prefix"]))
        failures: list[DownloadError] = []
        try:
            for url in urls:
                self._prepare(part)
                try:
                    yield from self._fetch_with_retries(url, part)
                    digests = part.hashes.digests()
                    part.close()
                    self._check(url, digests, part)
                except DownloadError as error:
                    failures.append(error)  # a wrong file was deleted: the next URL starts anew
                    continue
                self._move_into_place(part.path)
                yield DownloadProgress(digests.size, digests.size, 0.0)
                return digests.sha256
        finally:
            part.close()
        raise _combined_error(failures)

    def _prepare(self, part: _PartFile) -> None:
        if not part.is_open:
            try:
                part.open(self.control)
            except OSError as error:
                raise DownloadError(
                    f"Cannot write {part.path}: {error.strerror or error}."
                ) from error
        if self.size is not None and part.size > self.size:
            part.reset()  # longer than the real file: it cannot be a prefix of it

    def _move_into_place(self, finished: Path) -> None:
        try:
            os.replace(finished, self.dest)
        except OSError as error:
            raise DownloadError(
                f"The download is complete but cannot be moved to {self.dest} "
                f"({error.strerror or error}); it stays in {finished}."
            ) from error

    def _check(self, url: str, digests: FileDigests, part: _PartFile) -> None:
        problems = check_digests(digests, size=self.size, **self.checks)
        if problems:
            part.discard()
            raise ChecksumError(
                f"The file downloaded from {url} is not the expected one: "
                f"{'; '.join(problems)}. It was deleted."
            )

    def _fetch_with_retries(
        self, url: str, part: _PartFile
    ) -> Generator[DownloadProgress, None, None]:
        failed_attempts = 0
        best_size = part.size
        while True:
            self._raise_if_stopped()
            try:
                yield from self._fetch_once(url, part)
                return
            except _TransientError as error:
                made_progress = part.size > best_size
                if made_progress:  # the line works, it only dropped: resume at once
                    best_size, failed_attempts = part.size, 0
                failed_attempts += 1
                if failed_attempts > self.retries:
                    plural = "s" if failed_attempts > 1 else ""
                    raise DownloadError(
                        f"{error} (gave up after {failed_attempts} attempt{plural})."
                    ) from error
                if not made_progress:
                    self._sleep(self.backoff * 2 ** (failed_attempts - 1))

    def _fetch_once(self, url: str, part: _PartFile) -> Generator[DownloadProgress, None, None]:
        offset = part.size
        if self.size is not None and offset == self.size:
            return  # an earlier run fetched every byte; only the checks are left
        try:
            response = self._open(url, offset)
        except _RangeNotSatisfiable as error:
            if _total_from_content_range(error.content_range) != offset:
                part.reset()  # not a prefix of this file after all
                raise _TransientError(f"{url} cannot resume the partial download") from None
            return  # the .part already holds the whole file
        with response:
            if offset > 0 and response.status != 206:
                part.reset()  # the server ignored the Range header: start from byte 0
            total = self._total_size(url, response, part)
            yield from self._copy_body(url, response, part, total)

    def _open(self, url: str, offset: int) -> http.client.HTTPResponse:
        headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=self.stall_timeout)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset > 0:
                raise _RangeNotSatisfiable(error.headers.get("Content-Range")) from None
            if error.code in _RETRYABLE_STATUS:
                raise _TransientError(f"{url} answered HTTP {error.code} {error.reason}") from None
            hint = _STATUS_HINTS.get(error.code, "the server refused the request")
            raise DownloadError(
                f"Cannot download {url}: HTTP {error.code} {error.reason} ({hint})."
            ) from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, ssl.SSLCertVerificationError):
                raise DownloadError(
                    f"Refusing to download {url}: its certificate does not verify "
                    f"({error.reason.verify_message})."
                ) from error
            if isinstance(error.reason, TimeoutError):
                raise self._stalled(url, offset) from error
            raise _TransientError(f"Cannot reach {url}: {error.reason}") from error
        except TimeoutError as error:
            raise self._stalled(url, offset) from error
        except (OSError, http.client.HTTPException) as error:
            raise _TransientError(f"Cannot reach {url}: {error}") from error

    def _total_size(
        self, url: str, response: http.client.HTTPResponse, part: _PartFile
    ) -> int | None:
        """The whole file's length as the server announces it, checked against `size`."""
        if response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
            if not match or match.group(1) is None or int(match.group(1)) != part.size:
                part.reset()  # resuming does not work with this server: next try from byte 0
                raise _TransientError(f"{url} answered a resume request with the wrong range")
            total = None if match.group(3) == "*" else int(match.group(3))
        else:
            length = response.headers.get("Content-Length") or ""
            total = int(length) if length.isdigit() else None
        if total is not None and self.size is not None and total != self.size:
            raise DownloadError(
                f"{url} offers a file of {total} bytes, but {self.dest.name} has {self.size} "
                "bytes: it is not the right file."
            )
        return total

    def _copy_body(
        self, url: str, response: http.client.HTTPResponse, part: _PartFile, total: int | None
    ) -> Generator[DownloadProgress, None, None]:
        meter = _RateMeter()
        rate = 0.0
        last_yield_at, last_yield_size = time.monotonic(), part.size
        yield DownloadProgress(part.size, total, rate)
        while True:
            self._raise_if_stopped()
            data = self._read(url, response, part.size)
            if not data:
                break
            part.append(data)
            rate = meter.add(len(data))
            now = time.monotonic()
            if (
                part.size - last_yield_size >= self.chunk_size
                or now - last_yield_at >= _PROGRESS_INTERVAL_S
            ):
                last_yield_at, last_yield_size = now, part.size
                yield DownloadProgress(part.size, total, rate)
        if total is not None and part.size < total:
            raise _TransientError(
                f"The connection to {url} closed after {part.size} of {total} bytes"
            )

    def _read(self, url: str, response: http.client.HTTPResponse, done: int) -> bytes:
        try:
            return response.read1(self.chunk_size)
        except TimeoutError as error:
            raise self._stalled(url, done) from error
        except (OSError, http.client.HTTPException) as error:
            raise _TransientError(
                f"The connection to {url} broke after {done} bytes ({error})"
            ) from error

    def _stalled(self, url: str, done: int) -> _TransientError:
        return _TransientError(
            f"The download from {url} stalled: no data came for {self.stall_timeout:g} s "
            f"after byte {done}"
        )

    def _raise_if_stopped(self) -> None:
        self.control.check(f"Downloading {self.dest.name}")

    def _sleep(self, seconds: float) -> None:
        """Wait before a retry, waking early to honour the stop flag."""
        deadline = time.monotonic() + min(seconds, _MAX_BACKOFF_S)
        while (left := deadline - time.monotonic()) > 0:
            self._raise_if_stopped()
            self.control.wait(left)
        self._raise_if_stopped()


def _total_from_content_range(content_range: str | None) -> int | None:
    match = _CONTENT_RANGE.match(content_range or "")
    if not match or match.group(3) == "*":
        return None
    return int(match.group(3))


def _combined_error(failures: list[DownloadError]) -> DownloadError:
    if len(failures) == 1:
        return failures[0]
    joined = " ".join(str(failure) for failure in failures)
    if all(isinstance(failure, ChecksumError) for failure in failures):
        return ChecksumError(f"Every source failed. {joined}")
    return DownloadError(f"Every source failed. {joined}")
