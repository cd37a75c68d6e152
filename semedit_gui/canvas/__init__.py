"""The image canvas of the main window: photo, chunk overlays, zoom and the paint tools."""

from semedit_gui.canvas.tools import TOOLS
from semedit_gui.canvas.view import CanvasView

__all__ = ["TOOLS", "CanvasView"]
