"""Atomic writes, same-file checks, bounded reads of regular files and stale-part cleanup.

Every reader of a user's file starts with `open_regular_file` / `read_regular_file`: a FIFO
would block forever and `/dev/zero` never ends, so anything that is not a regular file is
refused before a byte is read, and a read never takes more than its limit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# `.NAME.<pid>-<hex>.part`: the pid says whether the writer may still be running.
_TEMPORARY = re.compile(r"^\..+\.(?:(?P<pid>\d+)-)?[0-9a-f]{8}\.part$")
# A temporary file whose writer cannot be told (an old name, or a pid that was reused) is
# stale after this long; no save takes a day.
STALE_TEMPORARY_SECONDS = 24 * 3600
# An empty download `.part` holds nothing to resume; after a minute nobody is writing it.
STALE_EMPTY_PART_SECONDS = 60.0


class FileReadError(OSError):
    """A file that cannot be read; `reason` completes "<path> ..." as a sentence fragment.

    Readers turn it into their own SemeditError (ImageError, CheckpointError, ...)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(reason)
        self.path = path
        self.reason = reason


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Call `write(stream)` on a temporary file beside `path`, fsync it, rename it over `path`.

    A crash or an error leaves `path` as it was and no temporary file behind (a killed
    process leaves one, which the next write into the folder deletes); errors (OSError,
    or whatever `write` raises) reach the caller, who words them for the user.
    """
    remove_stale_parts(path.parent)
    # open(..., "xb") rather than mkstemp so the file gets the usual umask permissions.
    temporary = path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part"
    try:
        with open(temporary, "xb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def same_file(a: Path, b: Path) -> bool:
    """True when both paths name one file (symlinks and other spellings included)."""
    with contextlib.suppress(OSError):
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def open_regular_file(path: Path) -> BinaryIO:
    """`path` opened for binary reading, or FileReadError if it is not a regular file.

    O_NONBLOCK keeps open() from waiting for a writer on a FIFO; the type is checked on the
    open descriptor, so the file cannot be swapped between the check and the read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as error:
        raise FileReadError(path, "does not exist") from error
    except IsADirectoryError as error:
        raise FileReadError(path, "is a folder, not a file") from error
    except OSError as error:
        raise FileReadError(path, f"cannot be opened: {error.strerror or error}") from error
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise FileReadError(path, "is a folder, not a file")
        if not stat.S_ISREG(mode):
            raise FileReadError(path, f"is a {_kind(mode)}, not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular_file(path: Path, limit: int, *, what: str = "file") -> bytes:
    """All bytes of a regular file of at most `limit` bytes; FileReadError otherwise."""
    with open_regular_file(path) as stream:
        size = os.fstat(stream.fileno()).st_size
        if size > limit:
            raise FileReadError(path, f"is {_size(size)}, larger than any {what} SemEdit reads "
                                      f"({_size(limit)})")
        try:
            data = stream.read(min(size, limit) + 1)  # not limit: read() allocates that much
        except OSError as error:
            raise FileReadError(path, f"cannot be read: {error.strerror or error}") from error
    if len(data) > limit:
        raise FileReadError(path, f"is larger than any {what} SemEdit reads ({_size(limit)})")
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def remove_stale_parts(folder: Path, *, downloads: bool = False,
                       now: float | None = None) -> list[Path]:
    """Delete what interrupted writes left in `folder`; returns the files removed.

    - `.NAME.<pid>-<hex>.part` of `write_atomically` whose process is gone (SIGKILL, power
      loss), or older than STALE_TEMPORARY_SECONDS;
    - with `downloads` (for the models folder only: elsewhere a `.part` may be the user's),
      empty download `NAME.part` files older than STALE_EMPTY_PART_SECONDS (a non-empty
      one is kept: a download resumes from it).
    Files it cannot remove are left alone; this never raises.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.endswith(".part"):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode):
            continue
        age = now - info.st_mtime
        match = _TEMPORARY.match(entry.name)
        if match:
            pid = match.group("pid")
            stale = age > STALE_TEMPORARY_SECONDS or (pid is not None and not _alive(int(pid)))
        else:
            stale = downloads and info.st_size == 0 and age > STALE_EMPTY_PART_SECONDS
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # Windows' os.kill(pid, 0) would end it
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError as error:
        return error.errno != errno.ESRCH
    return True
