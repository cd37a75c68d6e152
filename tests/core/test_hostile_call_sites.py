"""Every decoder of user files is one of the bounded readers.

An AST scan of core/ and semedit_gui/ lists each call of Image.open, torch.load, np.load,
np.lib.format.read_array, pickle.load(s) and each unpickler class used; all must sit in the
reader modules. PENDING lists call sites known to go around them, each waiting for its
owner to route it through a reader (delete its entry then); nothing may be added to it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READERS = {
    "core/imageio.py",  # open_image: photos, masks, project PNGs
    "core/checkpoint_files.py",  # load_torch_file, scan_*, read_npy/npz_bytes
    "core/stylegan/safe_pickle.py",  # NVIDIA network pickles (bounded, allow-listed)
}

# (file, decoder): call sites whose owners still have to route them through a reader
PENDING: set[tuple[str, str]] = set()

_DECODERS = {
    ("Image", "open"): "Image.open",
    ("torch", "load"): "torch.load",
    ("np", "load"): "np.load",
    ("numpy", "load"): "np.load",
    ("format", "read_array"): "np.load",
    ("pickle", "load"): "pickle",
    ("pickle", "loads"): "pickle",
    ("pickle", "Unpickler"): "pickle",
    ("pickle", "_Unpickler"): "pickle",
}


def _decoder(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        return _DECODERS.get((name, node.attr))
    return None


def call_sites() -> set[tuple[str, str]]:
    found = set()
    for folder in ("core", "semedit_gui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                decoder = _decoder(node)
                if decoder:
                    found.add((path.relative_to(ROOT).as_posix(), decoder))
                if isinstance(node, ast.ImportFrom) and node.module in ("pickle", "numpy"):
                    for alias in node.names:
                        if alias.name in ("load", "loads", "Unpickler", "_Unpickler"):
                            found.add((path.relative_to(ROOT).as_posix(), node.module))
    return found


def test_user_files_are_decoded_only_by_the_readers():
    outside = {site for site in call_sites() if site[0] not in READERS}
    unexpected = sorted(outside - PENDING)
    assert not unexpected, (
        f"decoding outside the bounded readers: {unexpected}; use core.imageio.open_image, "
        "core.checkpoint_files.load_torch_file / read_array_file / read_npz_bytes")


def test_the_scan_sees_what_it_looks_for():
    sites = call_sites()
    assert ("core/imageio.py", "Image.open") in sites
    assert ("core/checkpoint_files.py", "torch.load") in sites
    assert ("core/checkpoint_files.py", "pickle") in sites
