"""The one exception hierarchy of SemEdit.

Every error a user can cause (a bad file, a missing model, a photo without a face)
is a `SemeditError`. Front ends show `str(error)` as one line and never a traceback;
anything that is not a `SemeditError` is a bug.
"""

from __future__ import annotations

from pathlib import Path


class SemeditError(Exception):
    """Base class: the message is a complete sentence meant for the user."""


class CheckpointError(SemeditError):
    """A model file that cannot be used: corrupt, truncated, hostile or of an unknown kind."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ImageError(SemeditError):
    """An image that cannot be read or written."""


class NoFaceError(SemeditError):
    """No face was found where one is needed."""


class ModelMissingError(SemeditError):
    """A model the feature needs is not installed; `asset_id` names it when it is a
    manifest model (so a front end can offer the download)."""

    def __init__(self, message: str, *, asset_id: str | None = None):
        super().__init__(message)
        self.asset_id = asset_id


class DownloadError(SemeditError):
    """A download failed: network, HTTP status, stall or checksum."""


class ChecksumError(DownloadError):
    """A file's sha256 differs from the one expected."""


class ProjectFileError(SemeditError):
    """A .semedit project that cannot be read or written."""


class InvalidInputError(SemeditError):
    """Arguments or data that do not fit together (sizes, shapes, values)."""


class JobCancelled(SemeditError):
    """A long job was stopped by the user before it finished."""
