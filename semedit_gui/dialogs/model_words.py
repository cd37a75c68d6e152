"""The words the model manager shows: what each kind is for, a model's state, which model
is in use, an offer to download, download progress. Plain functions of core's model status
(no widgets); the welcome page and About use the in-use words too."""

from __future__ import annotations

from html import escape

from core.models import AssetStatus, DownloadProgress, format_bytes
from core.models.in_use import CHOSEN_FILE, CHOSEN_ID, DEFAULT, OWN_MODEL, ModelInUse

PURPOSES = {
    "generator": "Inversion and editing",
    "sam": "Automatic chunks and click selection",
    "vgg": "Inversion quality (LPIPS)",
    "encoder": "Quick first guess of an inversion (e4e)",
}
KIND_TITLES = {"generator": "Generator", "sam": "Segment Anything", "vgg": "LPIPS (VGG16)",
               "encoder": "Encoder (e4e)"}
# Where the model in use came from, in the app's words (the choice is the Preferences').
ORIGINS = {DEFAULT: "default", CHOSEN_ID: "chosen in Preferences",
           CHOSEN_FILE: "file chosen in Preferences", OWN_MODEL: "your own, chosen in Preferences"}
L2_WITHOUT_VGG = "The L2 loss works without it: choose L2 as the Inversion panel's Loss."


def describe_state(status: AssetStatus, verified: bool | None = None) -> str:
    """The state column's words; `verified` is the last Verify result in this dialog."""
    row_state = status.as_row()["state"]
    if status.state == "wrong size":
        return "damaged (wrong size)"
    if status.state == "partial":
        return row_state.replace("partial", "partial download", 1)
    if status.installed and verified is False:
        return "damaged (failed verification)"
    if status.installed and verified:
        return "installed (verified)"
    return row_state


def offer_text(status: AssetStatus, feature: str) -> str:
    asset = status.asset
    size = format_bytes(asset.size) if asset.size else "size not published"
    text = f"{feature} needs {asset.id} ({size}, {asset.licence}). Download it now?"
    return f"{text} {L2_WITHOUT_VGG}" if asset.kind == "vgg" else text


def in_use_cell(model: ModelInUse) -> str:
    """The model manager's "In use" cell of the row of the model in use."""
    origin = ORIGINS.get(model.origin, "chosen in Preferences")
    return f"✔ {origin}" if model.usable else f"✘ {origin}, not usable"


def in_use_lines(models: dict[str, ModelInUse]) -> str:
    """One rich-text line per kind: its title and the sentence on the model in use."""
    return "<br>".join(f"{'✔' if m.usable else '✘'} <b>{KIND_TITLES.get(kind, kind)}</b>: "
                       f"{escape(m.status)}" for kind, m in models.items())


def progress_text(progress: DownloadProgress) -> str:
    done = format_bytes(progress.done_bytes)
    amount = f"{done} of {format_bytes(progress.total_bytes)}" if progress.total_bytes else done
    if not progress.bytes_per_second:
        return amount
    return f"{amount} · {format_bytes(int(progress.bytes_per_second))}/s"
