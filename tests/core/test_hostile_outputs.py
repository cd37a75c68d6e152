"""OutputGuard: outputs never land on inputs (by file identity), folders must be usable."""

from __future__ import annotations

import os

import pytest

from core.errors import InvalidInputError
from core.outputs import OutputGuard


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(b"original")
    return path


def test_the_input_itself_is_refused_naming_the_option(photo):
    guard = OutputGuard(inputs=[photo, None])
    with pytest.raises(InvalidInputError, match=r"^--save .*photo\.png is the input file"):
        guard.check(photo, option="--save")
    assert photo.read_bytes() == b"original"


def test_other_spellings_links_and_hard_links_are_the_same_file(photo, tmp_path, monkeypatch):
    guard = OutputGuard(inputs=[photo])
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.png"
    link.symlink_to(photo)
    hard = tmp_path / "hard.png"
    os.link(photo, hard)
    monkeypatch.chdir(tmp_path / "sub")
    for spelling in ("../photo.png", link, hard, tmp_path / "sub" / ".." / "photo.png"):
        with pytest.raises(InvalidInputError, match="-o"):
            guard.check(spelling, option="-o")


def test_same_content_elsewhere_is_fine(photo, tmp_path):
    copy = tmp_path / "copy.png"
    copy.write_bytes(photo.read_bytes())
    assert OutputGuard(inputs=[photo]).check(copy, option="-o") == copy


def test_inputs_that_do_not_exist_yet_match_by_path(tmp_path):
    guard = OutputGuard(inputs=[tmp_path / "later.json"])
    with pytest.raises(InvalidInputError, match="--metrics"):
        guard.check(tmp_path / "." / "later.json", option="--metrics")


def test_folders(photo, tmp_path):
    guard = OutputGuard(inputs=[photo])
    with pytest.raises(InvalidInputError, match=r"would write photo\.png over the input"):
        guard.check_folder(tmp_path, ["00.png", "photo.png"], option="-o")
    assert guard.check_folder(tmp_path / "new", ["00.png"], option="-o") == tmp_path / "new"
    with pytest.raises(InvalidInputError, match="does not exist"):
        guard.check_folder(tmp_path / "a" / "b", ["00.png"], option="-o")
    with pytest.raises(InvalidInputError, match="is a file, not a folder"):
        guard.check_folder(photo, ["00.png"], option="-o")
    with pytest.raises(InvalidInputError, match="does not exist"):
        guard.check(tmp_path / "missing" / "out.png", option="--transform")
    with pytest.raises(InvalidInputError, match="is a folder"):
        guard.check(tmp_path, option="-o")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InvalidInputError, match="not writable"):
            OutputGuard().check(folder / "out.png", option="-o")
    finally:
        folder.chmod(0o700)


def test_inputs_added_later(photo, tmp_path):
    guard = OutputGuard()
    guard.check(photo, option="-o")
    guard.add_input(photo)
    with pytest.raises(InvalidInputError):
        guard.check(photo, option="-o")
