"""What the JSON members of a `.semedit` project may hold, checked when it is loaded.

The loader refuses NaN and Infinity tokens; numbers too large for a float (1e400) still
parse as infinity, so `check_plain_json` (run on every member) checks every number again.
Each function raises ValueError with a sentence fragment; the loader names the project and
the member.
"""

from __future__ import annotations

import math
from typing import Any

from core.errors import InvalidInputError
from core.face.align import AlignTransform

MAX_JSON_DEPTH = 32
# A photo is at most a few hundred megapixels: an alignment quad lies within a few photo
# widths of it, or the "alignment" is garbage (a quad of 1e300 renders nothing at all).
MAX_QUAD_REACH = 4.0

# Inversion settings read back by rendering and editing: key -> accepted types.
_SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "force_fp32": (bool,),
    "coverage": (str,),
    "space": (str,),
    "optimise_masks": (bool,),
    "steps": (int,),
    "seed": (int,),
    "loss": (str,),  # the loss kind, stored since issue #19 (older projects lack it)
    "pti_steps": (int,),
}
_COVERAGES = ("edit_regions", "whole_image")  # core.invert's COVERAGES and LOSS_KINDS,
_LOSS_KINDS = ("lpips", "l2", "lpips+l2")  # without importing torch to read a project


def check_plain_json(value: Any, where: str, depth: int = 0) -> None:
    """Finite numbers, strings, booleans, null, lists and objects, at most 32 deep."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"{where} is nested more than {MAX_JSON_DEPTH} deep")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} holds a number that is not finite")
    if isinstance(value, list):
        for i, item in enumerate(value):
            check_plain_json(item, f"{where}[{i}]", depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_plain_json(item, f"{where}.{key}", depth + 1)


def check_inversion(value: Any) -> dict[str, Any]:
    """inversion.json: an object; `settings` (how the codes were made) and `metrics`
    objects of the expected types; `next_run`, when present, an object (the Inversion
    panel's settings for the next run, read forgivingly by the app)."""
    if not isinstance(value, dict):
        raise ValueError("must hold an object")
    settings = value.get("settings", {})
    if settings is not None and not isinstance(settings, dict):
        raise ValueError(f"'settings' must be an object, not {_kind(settings)}")
    for key, types in _SETTING_TYPES.items():
        if settings and key in settings:
            item = settings[key]
            if not isinstance(item, types) or (bool not in types and isinstance(item, bool)):
                raise ValueError(f"settings.{key} must be {_names(types)}, not {_kind(item)}")
    if settings and settings.get("coverage", _COVERAGES[0]) not in _COVERAGES:
        raise ValueError(f"settings.coverage must be one of {', '.join(_COVERAGES)}")
    if settings and settings.get("loss", _LOSS_KINDS[0]) not in _LOSS_KINDS:
        raise ValueError(f"settings.loss must be one of {', '.join(_LOSS_KINDS)}")
    if settings and settings.get("pti_steps", 0) < 0:
        raise ValueError("settings.pti_steps must not be negative")
    next_run = value.get("next_run", {})
    if not isinstance(next_run, dict):
        raise ValueError(f"'next_run' must be an object, not {_kind(next_run)}")
    metrics = value.get("metrics", {})
    if metrics is not None and not isinstance(metrics, dict):
        raise ValueError(f"'metrics' must be an object, not {_kind(metrics)}")
    return value


def check_transform(value: Any) -> dict[str, Any] | None:
    """transform.json: null or an object; an alignment record (one with a `quad`) must be a
    valid AlignTransform whose quad lies near the photo."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("must hold an object or null")
    if "quad" not in value:
        return value
    try:
        transform = AlignTransform.from_json(value)
    except InvalidInputError as error:
        raise ValueError(str(error).rstrip(".")) from error
    width, height = transform.photo_size
    reach = MAX_QUAD_REACH * max(width, height)
    corners = [c for corner in transform.quad for c in corner]
    if any(not -reach <= c <= reach + max(width, height) for c in corners) \
            or not 0 < transform.qsize <= 2 * reach:
        raise ValueError(f"the alignment quad lies far outside the {width}×{height} photo")
    return value


def _kind(value: Any) -> str:
    return {list: "a list", dict: "an object", str: "a string", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _names(types: tuple[type, ...]) -> str:
    return " or ".join({bool: "true/false", int: "a whole number", str: "a string",
                        float: "a number"}[t] for t in types)
