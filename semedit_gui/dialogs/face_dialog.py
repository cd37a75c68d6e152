"""Where the face is, when the app cannot tell by itself: the app's form of the command
line's `--no-align` (the whole image) and `--face K` (another detected face), plus a
square the user drags on the photo (a face the detector misses).

The dialog shows the photo with every detected face outlined and numbered. Clicking a
face picks it; dragging elsewhere draws a square, which becomes the crop as it is.
`choice` is then `FaceChoice`, and `ask_face` hands it to a callback.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGraphicsScene,
    QGraphicsView,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from core.errors import SemeditError
from semedit_gui.canvas.overlay import rgba_qimage, rgbx_from_rgb

MIN_SQUARE = 16  # photo pixels: a smaller drag is taken as a click


@dataclass(frozen=True)
class FaceChoice:
    """What to crop: `whole` image (centre square), detected face `face_index`, or the
    `square` (x0, y0, side) in photo pixels."""

    whole: bool = False
    face_index: int | None = None
    square: tuple[int, int, int] | None = None

    def open_options(self) -> dict:
        """Keyword arguments of `DocumentController.open_photo` / `choose_face`."""
        return {"align": not self.whole, "face_index": self.face_index,
                "square": self.square}


def square_from_drag(start: tuple[float, float], end: tuple[float, float],
                     photo_size: tuple[int, int]) -> tuple[int, int, int] | None:
    """The square dragged from `start` towards `end` (its side is the longer extent of the
    drag), kept inside the photo; None for a drag under MIN_SQUARE pixels."""
    width, height = photo_size
    sx, sy = min(max(start[0], 0.0), width), min(max(start[1], 0.0), height)
    dx, dy = end[0] - sx, end[1] - sy
    room_x = width - sx if dx >= 0 else sx
    room_y = height - sy if dy >= 0 else sy
    side = int(min(max(abs(dx), abs(dy)), room_x, room_y))
    if side < MIN_SQUARE:
        return None
    x0 = round(sx) if dx >= 0 else round(sx) - side
    y0 = round(sy) if dy >= 0 else round(sy) - side
    x0, y0 = min(max(x0, 0), width - side), min(max(y0, 0), height - side)
    return x0, y0, side


def face_at(point: tuple[float, float], boxes) -> int | None:
    """The index of the smallest detected face box (left, top, right, bottom) holding
    `point`, or None."""
    x, y = point
    inside = [(abs((b[2] - b[0]) * (b[3] - b[1])), i) for i, b in enumerate(boxes)
              if b[0] <= x <= b[2] and b[1] <= y <= b[3]]
    return min(inside)[1] if inside else None


class _PhotoView(QGraphicsView):
    """The photo; a press-drag-release in it reports photo coordinates."""

    dragged = Signal(QPointF, QPointF, bool)  # start, end, released

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._start: QPointF | None = None

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._start = self.mapToScene(event.position().toPoint())
            self.dragged.emit(self._start, self._start, False)

    def mouseMoveEvent(self, event) -> None:
        if self._start is not None:
            self.dragged.emit(self._start, self.mapToScene(event.position().toPoint()), False)

    def mouseReleaseEvent(self, event) -> None:
        if self._start is not None and event.button() == Qt.MouseButton.LeftButton:
            start, self._start = self._start, None
            self.dragged.emit(start, self.mapToScene(event.position().toPoint()), True)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.fitInView(self.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)


class FaceCropDialog(QDialog):
    def __init__(self, photo_rgb: np.ndarray, face_boxes=(), *, title: str = "the photo",
                 no_face: bool = False, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Choose the face")
        self.resize(900, 700)
        self.photo_size = (photo_rgb.shape[1], photo_rgb.shape[0])
        self.face_boxes = [tuple(b) for b in face_boxes]
        self.choice: FaceChoice | None = None
        self.selected_face: int | None = None
        self.square: tuple[int, int, int] | None = None

        if no_face:
            intro = (f"No face was found in {title}. Drag a square around the head (hair "
                     "and chin inside, as in a passport photo), or use the whole image.")
        else:
            intro = (f"{title}: click a numbered face to edit it, or drag a square around "
                     "another head. The square is used as it is, without alignment.")
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.scene = QGraphicsScene(self)
        image = rgba_qimage(rgbx_from_rgb(photo_rgb), QImage.Format.Format_RGBX8888).copy()
        self.scene.addPixmap(QPixmap.fromImage(image))
        self.scene.setSceneRect(QRectF(0, 0, *self.photo_size))
        pen_width = max(2.0, max(self.photo_size) / 300)
        self._face_items = []
        for number, (left, top, right, bottom) in enumerate(self.face_boxes, start=1):
            item = self.scene.addRect(QRectF(left, top, right - left, bottom - top),
                                      QPen(QColor(80, 200, 255), pen_width))
            label = self.scene.addSimpleText(str(number))
            label.setBrush(QBrush(QColor(80, 200, 255)))
            label.setScale(pen_width * 6 / 12)
            label.setPos(left, top - pen_width * 8)
            self._face_items.append(item)
        self._square_item = self.scene.addRect(QRectF(), QPen(QColor(255, 190, 0), pen_width),
                                               QBrush(QColor(255, 190, 0, 40)))
        self._square_item.setVisible(False)
        self.view = _PhotoView(self)
        self.view.setScene(self.scene)
        self.view.dragged.connect(self._on_drag)
        self.status = QLabel("")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.whole_button = QPushButton("Use the Whole Image")
        self.whole_button.setToolTip("Edit the largest centred square of the photo "
                                     "(for photos that are already a face crop, or no face)")
        self.use_button = QPushButton("Use the Square")
        self.use_button.setEnabled(False)
        # Enter takes the square or face once one is chosen and never cancels: no button
        # becomes the default by having the focus (keyPressEvent decides).
        for button in (*self.buttons.buttons(), self.whole_button, self.use_button):
            button.setAutoDefault(False)
        self.use_button.setDefault(True)  # drawn as the default; the box makes no other
        role = QDialogButtonBox.ButtonRole.AcceptRole
        self.buttons.addButton(self.whole_button, role)
        self.buttons.addButton(self.use_button, role)
        self.whole_button.clicked.connect(lambda: self._finish(FaceChoice(whole=True)))
        self.use_button.clicked.connect(self._use_selection)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (self.intro, self.view, self.status, self.buttons):
            layout.addWidget(widget)

    def _on_drag(self, start: QPointF, end: QPointF, released: bool) -> None:
        square = square_from_drag((start.x(), start.y()), (end.x(), end.y()), self.photo_size)
        if square is not None:
            self.set_square(square)
        elif released:
            face = face_at((end.x(), end.y()), self.face_boxes)
            if face is not None:
                self.select_face(face)

    def set_square(self, square: tuple[int, int, int]) -> None:
        x0, y0, side = square
        self.square, self.selected_face = square, None
        self._square_item.setRect(QRectF(x0, y0, side, side))
        self._square_item.setVisible(True)
        self._highlight()
        self.use_button.setText("Use the Square")
        self.use_button.setEnabled(True)
        self.status.setText(f"Square: {side}×{side} photo pixels at ({x0}, {y0}).")

    def select_face(self, index: int) -> None:
        self.selected_face, self.square = index, None
        self._square_item.setVisible(False)
        self._highlight()
        self.use_button.setText(f"Use Face {index + 1}")
        self.use_button.setEnabled(True)
        self.status.setText(f"Face {index + 1} of {len(self.face_boxes)} is selected; it "
                            "will be aligned like the faces the generator learnt from.")

    def _highlight(self) -> None:
        for index, item in enumerate(self._face_items):
            pen = item.pen()
            pen.setColor(QColor(255, 190, 0) if index == self.selected_face
                         else QColor(80, 200, 255))
            item.setPen(pen)

    def _use_selection(self) -> None:
        if self.selected_face is not None:
            self._finish(FaceChoice(face_index=self.selected_face))
        elif self.square is not None:
            self._finish(FaceChoice(square=self.square))

    def keyPressEvent(self, event) -> None:
        """Enter: the button that has the focus when it is one of the choices, else the
        chosen square or face; nothing before one is chosen. Escape still cancels."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = self.focusWidget()
            if focused in (self.whole_button, self.use_button) and focused.isEnabled():
                focused.click()
            elif self.use_button.isEnabled():
                self.use_button.click()
            return
        super().keyPressEvent(event)

    def _finish(self, choice: FaceChoice) -> None:
        self.choice = choice
        self.accept()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.view.fitInView(self.scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)


def ask_face(window, photo_path: Path, face_boxes, apply: Callable[[FaceChoice], object], *,
             no_face: bool) -> FaceCropDialog | None:
    """Show the face dialog for `photo_path` (window-modal, returns at once); `apply`
    gets the choice when the user accepts. The dialog is `window.face_dialog` meanwhile."""
    from core.imageio import load_photo

    try:
        photo = load_photo(photo_path)
    except SemeditError as error:
        window.show_message(str(error), error=True)
        return None
    dialog = FaceCropDialog(photo.rgb, face_boxes, title=Path(photo_path).name,
                            no_face=no_face, parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.face_dialog = dialog

    def finished(result: int) -> None:
        window.face_dialog = None
        if result == QDialog.DialogCode.Accepted and dialog.choice is not None:
            apply(dialog.choice)

    dialog.finished.connect(finished)
    dialog.open()
    return dialog
