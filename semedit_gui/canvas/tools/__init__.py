"""The canvas tools, one object per tool, each handling its own press, move and release."""

from semedit_gui.canvas.tools.base import (
    PHOTO_VIEW_REFUSAL,
    CanvasTool,
    Press,
    ToolEvent,
    ToolHost,
    scene_to_pixel,
)
from semedit_gui.canvas.tools.navigate import DividerTool, PanTool
from semedit_gui.canvas.tools.paint import FillTool, StrokeTool, paint_refusal, resized_brush
from semedit_gui.canvas.tools.sam import SamPrompt, SamPromptTool
from semedit_gui.canvas.tools.toolbox import TOOLS, ToolBox

__all__ = [
    "PHOTO_VIEW_REFUSAL",
    "TOOLS",
    "CanvasTool",
    "DividerTool",
    "FillTool",
    "PanTool",
    "Press",
    "SamPrompt",
    "SamPromptTool",
    "StrokeTool",
    "ToolBox",
    "ToolEvent",
    "ToolHost",
    "paint_refusal",
    "resized_brush",
    "scene_to_pixel",
]
