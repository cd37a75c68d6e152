"""Light, dark or the platform's own look, switchable while the app runs."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory

# The style the platform gave the app, remembered before the first change so "system"
# can go back to it.
_SYSTEM_STYLE_PROPERTY = "semedit_system_style"


def apply_theme(app: QApplication, theme: str) -> None:
    """"dark" or "light": the Fusion style with a dark or light palette; "system": undo."""
    if theme not in ("system", "light", "dark"):
        raise ValueError(f"Unknown theme {theme!r}; use system, light or dark.")
    system_style = app.property(_SYSTEM_STYLE_PROPERTY)
    if system_style is None:
        system_style = app.style().name()
        app.setProperty(_SYSTEM_STYLE_PROPERTY, system_style)
    if theme == "system":
        app.setStyle(system_style)
        app.setPalette(QPalette())  # no role set: every role falls back to the platform's
        return
    fusion = QStyleFactory.create("Fusion")
    palette = dark_palette() if theme == "dark" else fusion.standardPalette()
    app.setStyle(OutlinedIndicators(fusion) if theme == "dark" else fusion)
    app.setPalette(palette)


# Fusion outlines check boxes and radio buttons with the window colour darkened, which on a
# dark palette is as dark as the box itself: an unticked box cannot be seen.
_INDICATORS = {QStyle.PrimitiveElement.PE_IndicatorCheckBox: "box",
               QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck: "box",
               QStyle.PrimitiveElement.PE_IndicatorRadioButton: "circle"}


class OutlinedIndicators(QProxyStyle):
    """Fusion, with check boxes and radio buttons outlined in the text colour (dimmed), so an
    unticked one shows on a dark palette."""

    def name(self) -> str:
        return self.baseStyle().name()  # Fusion, with outlines

    def drawPrimitive(self, element, option, painter: QPainter, widget=None) -> None:
        super().drawPrimitive(element, option, painter, widget)
        shape = _INDICATORS.get(element)
        if shape is None:
            return
        enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
        group = QPalette.ColorGroup.Active if enabled else QPalette.ColorGroup.Disabled
        colour = QColor(option.palette.color(group, QPalette.ColorRole.WindowText))
        colour.setAlpha(170 if enabled else 110)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        area = QRectF(option.rect)
        side = min(area.width(), area.height()) - 1.0  # the pen's centre, inside the rect
        box = QRectF(0.0, 0.0, side, side)
        box.moveCenter(area.center())
        if shape == "circle":
            painter.drawEllipse(box)
        else:
            painter.drawRoundedRect(box, 1.5, 1.5)
        painter.restore()


def dark_palette() -> QPalette:
    palette = QPalette()
    text = QColor(230, 230, 230)
    dimmed = QColor(125, 125, 125)
    roles = {
        QPalette.ColorRole.Window: QColor(45, 45, 48),
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: QColor(30, 30, 32),
        QPalette.ColorRole.AlternateBase: QColor(52, 52, 56),
        QPalette.ColorRole.ToolTipBase: QColor(60, 60, 64),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor(140, 140, 140),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(55, 55, 58),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor(255, 90, 90),
        QPalette.ColorRole.Light: QColor(75, 75, 80),
        QPalette.ColorRole.Midlight: QColor(62, 62, 66),
        QPalette.ColorRole.Mid: QColor(40, 40, 42),
        QPalette.ColorRole.Dark: QColor(25, 25, 27),
        QPalette.ColorRole.Shadow: QColor(10, 10, 10),
        QPalette.ColorRole.Link: QColor(100, 160, 255),
        QPalette.ColorRole.LinkVisited: QColor(170, 130, 255),
        QPalette.ColorRole.Highlight: QColor(60, 120, 210),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
    }
    for role, colour in roles.items():
        palette.setColor(role, colour)
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text,
                 QPalette.ColorRole.ButtonText, QPalette.ColorRole.HighlightedText):
        palette.setColor(disabled, role, dimmed)
    palette.setColor(disabled, QPalette.ColorRole.Highlight, QColor(70, 70, 75))
    return palette
