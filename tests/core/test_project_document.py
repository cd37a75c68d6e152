"""The document model: validation, chunk lookup, default names and colours."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import InvalidInputError
from core.project import PALETTE, Chunk, Document, Edit, History

R = 16


def _doc(**kwargs) -> Document:
    aligned = np.zeros((R, R, 3), dtype=np.uint8)
    return Document(aligned=aligned, **kwargs)


def _mask(value: float = 0.5) -> np.ndarray:
    return np.full((R, R), value, dtype=np.float32)


def test_new_document_takes_resolution_from_aligned_and_has_history():
    doc = _doc()
    assert doc.resolution == R
    assert isinstance(doc.history, History)
    assert doc.chunks == [] and doc.inversion == {} and doc.pti_weights is None
    doc.validate()


def test_add_chunk_picks_names_and_colours_and_converts_to_float32():
    doc = _doc()
    first = doc.add_chunk(np.ones((R, R)), code=np.zeros((4, 8)))
    second = doc.add_chunk(_mask(), space="w", code=np.zeros(8, dtype=np.float64))
    assert (first.name, second.name) == ("Chunk 1", "Chunk 2")
    assert (first.colour, second.colour) == (PALETTE[0], PALETTE[1])
    assert first.mask.dtype == np.float32 and second.code.dtype == np.float32
    doc.validate()


def test_default_name_skips_names_in_use():
    doc = _doc()
    doc.add_chunk(_mask(), name="Chunk 2")
    assert doc.add_chunk(_mask()).name == "Chunk 3"


def test_next_colour_avoids_used_colours_and_cycles_when_all_are_used():
    doc = _doc()
    doc.add_chunk(_mask(), colour=PALETTE[0])
    assert doc.next_colour() == PALETTE[1]
    for _ in range(len(PALETTE) - 1):
        doc.add_chunk(_mask())
    assert len({c.colour for c in doc.chunks}) == len(PALETTE)
    assert doc.next_colour() == PALETTE[len(PALETTE) % len(PALETTE)]
    assert doc.next_colour() in PALETTE


def test_chunk_index_accepts_names_ints_and_numeric_strings():
    doc = _doc()
    doc.add_chunk(_mask(), name="hair")
    doc.add_chunk(_mask(), name="face")
    doc.add_chunk(_mask(), name="0")  # a name that looks like an index: the name wins
    assert doc.chunk_index("face") == 1
    assert doc.chunk_index(1) == 1
    assert doc.chunk_index("1") == 1
    assert doc.chunk_index("0") == 2
    assert doc.chunk("hair").name == "hair"
    face = doc.chunk("face")
    assert doc.chunk_index(face) == 1 and doc.chunk(face) is face
    stranger = Chunk("face", (1, 2, 3), _mask())  # same name, not this document's chunk
    with pytest.raises(InvalidInputError, match="not in this document"):
        doc.chunk_index(stranger)


def test_chunk_index_errors_list_the_names():
    doc = _doc()
    doc.add_chunk(_mask(), name="hair")
    doc.add_chunk(_mask(), name="face")
    with pytest.raises(InvalidInputError, match=r"no chunk called 'eyes'.*'hair'.*'face'"):
        doc.chunk_index("eyes")
    with pytest.raises(InvalidInputError, match=r"no chunk number 5.*'hair'"):
        doc.chunk_index(5)
    with pytest.raises(InvalidInputError, match="no chunk number -1"):
        doc.chunk_index("-1")
    with pytest.raises(InvalidInputError):
        doc.chunk_index(True)
    with pytest.raises(InvalidInputError, match="no chunks yet"):
        _doc().chunk_index("x")


def test_remove_chunk():
    doc = _doc()
    doc.add_chunk(_mask(), name="a")
    doc.add_chunk(_mask(), name="b")
    assert doc.remove_chunk("a").name == "a"
    assert [c.name for c in doc.chunks] == ["b"]


def test_add_chunk_refuses_duplicate_names_and_leaves_document_unchanged():
    doc = _doc()
    doc.add_chunk(_mask(), name="hair")
    with pytest.raises(InvalidInputError, match="Two chunks are called 'hair'"):
        doc.add_chunk(_mask(), name="hair")
    assert len(doc.chunks) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mask": np.zeros((R, R + 1))}, "mask has shape"),
        ({"mask": np.full((R, R), 1.5)}, "between 0 and 1"),
        ({"mask": np.full((R, R), np.nan)}, "between 0 and 1"),
        ({"space": "z"}, "latent space 'z'"),
        ({"space": "w", "code": np.zeros((2, 8))}, r"'w' code has shape \[w_dim\]"),
        ({"space": "wplus", "code": np.zeros(8)}, r"\[num_ws, w_dim\]"),
        ({"code": np.full((4, 8), np.nan)}, "NaN or infinite"),
        ({"colour": (0, 0, 256)}, "colour"),
        ({"colour": (0, 0)}, "colour"),
        ({"name": "  "}, "non-empty name"),
    ],
)
def test_bad_chunks_are_refused(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        _doc().add_chunk(**{"mask": _mask(), **kwargs})


def test_code_shapes_must_agree_across_chunks():
    doc = _doc()
    doc.add_chunk(_mask(), space="wplus", code=np.zeros((4, 8)))
    doc.add_chunk(_mask(), space="w", code=np.zeros(8))
    with pytest.raises(InvalidInputError, match="w_dim"):
        doc.add_chunk(_mask(), space="w", code=np.zeros(9))
    with pytest.raises(InvalidInputError, match="num_ws"):
        doc.add_chunk(_mask(), space="wplus", code=np.zeros((5, 8)))
    doc.add_chunk(_mask(), space="s", code=np.zeros(30))
    with pytest.raises(InvalidInputError, match="style size"):
        doc.add_chunk(_mask(), space="s", code=np.zeros(31))
    doc.validate()


def test_validate_checks_the_aligned_image_and_fields():
    with pytest.raises(InvalidInputError, match="uint8"):
        Document(aligned=np.zeros((R, R, 3), dtype=np.float32)).validate()
    with pytest.raises(InvalidInputError, match=r"must be \(17, 17, 3\)"):
        Document(aligned=np.zeros((R, R, 3), dtype=np.uint8), resolution=R + 1).validate()
    with pytest.raises(InvalidInputError, match="checksum"):
        _doc(generator_sha256="abc").validate()
    with pytest.raises(InvalidInputError, match="JSON"):
        _doc(inversion={"loss": float("nan")}).validate()
    with pytest.raises(InvalidInputError, match="JSON"):
        _doc(transform={"m": np.eye(3)}).validate()
    with pytest.raises(InvalidInputError, match="numeric"):
        _doc(pti_weights={"w": np.array(["a"])}).validate()
    with pytest.raises(InvalidInputError, match="NaN"):
        _doc(pti_weights={"w": np.array([np.inf], dtype=np.float32)}).validate()


def test_validate_catches_chunks_changed_after_adding():
    doc = _doc()
    chunk = doc.add_chunk(_mask(), name="a")
    chunk.mask = chunk.mask.astype(np.float64)
    with pytest.raises(InvalidInputError, match="float32"):
        doc.validate()
    chunk.mask = _mask()
    doc.chunks.append(Chunk("a", (1, 2, 3), _mask()))
    with pytest.raises(InvalidInputError, match="Two chunks"):
        doc.validate()


def test_edit_json_round_trip_and_validation():
    edit = Edit("smile", 1.25, enabled=False)
    assert Edit.from_json(edit.to_json()) == edit
    assert Edit.from_json({"direction": "age", "strength": 2}) == Edit("age", 2.0, True)
    for bad in ({"direction": "a"}, {"direction": "", "strength": 1},
                {"direction": "a", "strength": "1"}, {"direction": "a", "strength": 1, "x": 1},
                {"direction": "a", "strength": True}, [1, 2]):
        with pytest.raises(InvalidInputError):
            Edit.from_json(bad)
    doc = _doc()
    with pytest.raises(InvalidInputError, match="finite"):
        doc.add_chunk(_mask(), edits=[Edit("smile", float("inf"))])
