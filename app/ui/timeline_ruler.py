"""The timeline's fixed margins: the timecode ruler on top (click or drag to move the playhead) and the
track headers on the left (track names, the playhead's timecode in the corner).

Both are plain widgets placed in the `TimelineView`'s viewport margins, so they stay put while the
tracks scroll; they share the view's mapping of frames to pixels (`frame_to_x`, `x_to_frame`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from app.document.time import timecode_rate, to_timecode

if TYPE_CHECKING:
    from app.ui.timeline import TimelineView

RULER_HEIGHT = 28
HEADER_WIDTH = 84
LABEL_MIN_SPACING = 110  # pixels between two timecode labels, at least
TICK_MIN_SPACING = 7  # pixels between two minor ticks, at least

RULER_BACKGROUND = QColor("#1b1e24")
HEADER_BACKGROUND = QColor("#20242b")
TICK = QColor("#6b7280")
LABEL = QColor("#c9ced8")
PLAYHEAD = QColor("#ff5a4e")


def tick_steps(fps_base: int) -> list[int]:
    """Candidate label spacings in frames: a few frames, whole seconds, whole minutes."""
    frames = [n for n in (1, 2, 5, 10) if n < fps_base]
    seconds = [n * fps_base for n in (1, 2, 5, 10, 15, 30)]
    minutes = [n * 60 * fps_base for n in (1, 2, 5, 10, 15, 30, 60)]
    return frames + seconds + minutes


def choose_ticks(zoom: float, fps_base: int, label_px: float = LABEL_MIN_SPACING) -> tuple[int, int]:
    """(label step, minor tick step) in frames for `zoom` pixels per frame: labels at least `label_px`
    apart, minor ticks a whole division of the label step at least `TICK_MIN_SPACING` apart."""
    steps = tick_steps(fps_base)
    major = next((step for step in steps if step * zoom >= label_px), steps[-1])
    minor = major
    for parts in (10, 8, 6, 5, 4, 3, 2):
        if major % parts == 0 and (major // parts) * zoom >= TICK_MIN_SPACING:
            minor = major // parts
            break
    return major, minor


class Ruler(QWidget):
    """Timecode ruler above the tracks; press or drag to move the playhead."""

    def __init__(self, view: TimelineView) -> None:
        super().__init__(view)
        self._view = view
        self.setMouseTracking(False)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click or drag to move the playhead")

    def paintEvent(self, event: QPaintEvent) -> None:
        view = self._view
        painter = QPainter(self)
        painter.fillRect(self.rect(), RULER_BACKGROUND)
        font = QFont(self.font())
        font.setPixelSize(11)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        fps = view.fps()
        base = timecode_rate(fps)
        label_px = metrics.horizontalAdvance("00:00:00:00") + 24
        major, minor = choose_ticks(view.zoom(), base, label_px)
        first = max(0, view.x_to_frame(0) - major)
        last = view.x_to_frame(self.width()) + major
        height = self.height()
        painter.setPen(QPen(TICK, 1))
        frame = (first // minor) * minor
        while frame <= last:
            x = round(view.frame_to_x(frame)) + 0.5
            if frame % major == 0:
                painter.setPen(QPen(TICK, 1))
                painter.drawLine(QPointF(x, height - 12), QPointF(x, height))
                painter.setPen(LABEL)
                painter.drawText(QPointF(x + 4, height - 14), to_timecode(frame, fps))
                painter.setPen(QPen(TICK, 1))
            else:
                painter.drawLine(QPointF(x, height - 5), QPointF(x, height))
            frame += minor
        painter.setPen(QPen(QColor("#2c313a"), 1))
        painter.drawLine(0, height - 1, self.width(), height - 1)
        # the playhead's handle
        x = view.frame_to_x(view.playhead())
        if -8 <= x <= self.width() + 8:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(PLAYHEAD)
            painter.drawPolygon(
                QPolygonF([QPointF(x - 6, height - 12), QPointF(x + 6, height - 12), QPointF(x, height)])
            )
            painter.setPen(QPen(PLAYHEAD, 1.5))
            painter.drawLine(QPointF(x, height - 12), QPointF(x, height))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._seek(event.position().x())
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._seek(event.position().x())
            event.accept()

    def _seek(self, x: float) -> None:
        self._view.set_playhead(max(0, self._view.x_to_frame(x)))


class TrackHeaders(QWidget):
    """Track names beside their rows (V1 at the bottom), and the playhead's timecode above them."""

    def __init__(self, view: TimelineView) -> None:
        super().__init__(view)
        self._view = view

    def paintEvent(self, event: QPaintEvent) -> None:
        view = self._view
        painter = QPainter(self)
        painter.fillRect(self.rect(), HEADER_BACKGROUND)
        font = QFont(self.font())
        font.setPixelSize(12)
        corner = QRectF(0, 0, self.width(), RULER_HEIGHT)
        painter.fillRect(corner, RULER_BACKGROUND)
        timecode_font = QFont(font)
        timecode_font.setBold(True)
        painter.setFont(timecode_font)
        painter.setPen(PLAYHEAD.lighter(120))
        painter.drawText(corner, Qt.AlignmentFlag.AlignCenter, to_timecode(view.playhead(), view.fps()))
        painter.setClipRect(QRectF(0, RULER_HEIGHT, self.width(), self.height() - RULER_HEIGHT))
        painter.setFont(font)
        for track, top, height in view.track_rows():
            row = QRectF(0, RULER_HEIGHT + top, self.width(), height)
            if row.bottom() < RULER_HEIGHT or row.top() > self.height():
                continue
            painter.fillRect(row.adjusted(0, 0, 0, -1), HEADER_BACKGROUND.lighter(112))
            painter.setPen(QPen(QColor("#15171c"), 1))
            painter.drawLine(row.bottomLeft(), row.bottomRight())
            painter.setPen(LABEL if not track.hidden else TICK)
            name = QFontMetrics(font).elidedText(track.name, Qt.TextElideMode.ElideRight, self.width() - 16)
            painter.drawText(
                row.adjusted(10, 0, -6, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, name
            )
            if track.hidden or track.muted:
                small = QFont(font)
                small.setPixelSize(9)
                painter.setFont(small)
                painter.drawText(
                    row.adjusted(10, 0, -6, -6),
                    Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignLeft,
                    "hidden" if track.hidden else "muted",
                )
                painter.setFont(font)
        painter.end()
