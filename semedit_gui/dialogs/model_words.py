"""The words the model manager shows: what each kind is for, a model's state, an offer to
download, download progress. Plain functions of core's model status (no widgets)."""

from __future__ import annotations

from core.models import AssetStatus, DownloadProgress, format_bytes

PURPOSES = {
    "generator": "Inversion and editing",
    "sam": "Automatic chunks and click selection",
    "vgg": "Inversion quality (LPIPS)",
    "encoder": "Quick first guess of an inversion (e4e)",
}


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
    return f"{feature} needs {asset.id} ({size}, {asset.licence}). Download it now?"


def progress_text(progress: DownloadProgress) -> str:
    done = format_bytes(progress.done_bytes)
    amount = f"{done} of {format_bytes(progress.total_bytes)}" if progress.total_bytes else done
    if not progress.bytes_per_second:
        return amount
    return f"{amount} · {format_bytes(int(progress.bytes_per_second))}/s"
