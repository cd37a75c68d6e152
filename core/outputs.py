"""The output guard: one object that knows a command's input files and refuses to write
over any of them.

Identity is by file (device + inode, so hard links and symlinks count), or by resolved
path for files that do not exist yet; never by content. Example:

    guard = OutputGuard(inputs=[photo, generator, mask])
    guard.check(out_png, option="-o")
    guard.check_folder(out_dir, ["00.png", "01.png"], option="-o")
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from core.errors import InvalidInputError


class OutputGuard:
    def __init__(self, inputs: Iterable[str | Path | None] = ()):
        self._inputs: list[tuple[Path, tuple[int, int] | None]] = []
        self._outputs: dict[Path, str] = {}  # resolved path -> the option that writes it
        for path in inputs:
            if path is not None:
                self.add_input(path)

    def add_input(self, path: str | Path) -> None:
        """Another file the command reads (a model resolved later, say)."""
        path = Path(path).expanduser()
        self._inputs.append((path, _identity(path)))

    def check(self, path: str | Path, *, option: str) -> Path:
        """`path` if writing it is safe; InvalidInputError naming `option` otherwise."""
        path = Path(path).expanduser()
        clash = self._clash(path)
        if clash is not None:
            raise InvalidInputError(
                f"{option} {path} is the input file {clash}; SemEdit never writes over its "
                "inputs. Choose another file name.")
        self._claim(path, option)
        if path.is_dir():
            raise InvalidInputError(f"{option} {path} is a folder; give a file name.")
        folder = path.parent if str(path.parent) else Path(".")
        self._check_writable_folder(folder, option, path)
        return path

    def check_folder(self, folder: str | Path, names: Iterable[str], *, option: str) -> Path:
        """An output folder and the files the command will write into it."""
        folder = Path(folder).expanduser()
        if folder.exists() and not folder.is_dir():
            raise InvalidInputError(f"{option} {folder} is a file, not a folder.")
        if folder.is_dir():
            self._check_writable_folder(folder, option, folder)
        else:
            self._check_writable_folder(folder.parent if str(folder.parent) else Path("."),
                                        option, folder)
        for name in names:
            target = folder / name
            clash = self._clash(target)
            if clash is not None:
                raise InvalidInputError(
                    f"{option} {folder} would write {name} over the input file {clash}; "
                    "SemEdit never writes over its inputs. Choose another folder.")
        return folder

    def _claim(self, path: Path, option: str) -> None:
        """Two options of one command must not write the same file."""
        resolved = _resolved(path)
        other = self._outputs.get(resolved)
        if other is not None and other != option:
            raise InvalidInputError(f"{option} and {other} name the same file {path}; give "
                                    "each its own name.")
        self._outputs[resolved] = option

    def _clash(self, path: Path) -> Path | None:
        identity = _identity(path)
        resolved = _resolved(path)
        for source, source_identity in self._inputs:
            if identity is not None and identity == source_identity:
                return source
            if resolved == _resolved(source):
                return source
        return None

    @staticmethod
    def _check_writable_folder(folder: Path, option: str, path: Path) -> None:
        if not folder.is_dir():
            raise InvalidInputError(f"{option} {path}: the folder {folder} does not exist.")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise InvalidInputError(f"{option} {path}: the folder {folder} is not writable.")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()
