"""The compare-takes window: two takes of one shot side by side (or as a wipe), playing in sync.

```
┌ A [▶ Take 3 · seed 77 · 12 steps ▾]  B [Take 2 · seed 1234 · 12 steps ▾]        [Wipe] ┐
│  A  Take 3 · seed 77 · 12 steps         │  B  Take 2 · seed 1234 · 12 steps          │
│  ┌──────────────────────┐               │  ┌──────────────────────┐                  │
│  │   (take A, letterbox) │               │  │   (take B, letterbox) │                  │
│  └──────────────────────┘               │  └──────────────────────┘                  │
│ ◀ ▶ ▶▶ ━━━━━━━●━━━━━━━━━━━  00:00:00:12   12 / 48          [Use take A] [Use take B] │
└──────────────────────────────────────────────────────────────────────────────────────┘
```

Both pictures show the same frame of the shot (take frame = the take's in-point + shot frame), so
they play, step and scrub together. In wipe mode one picture shows A left of a vertical line and B
right of it; drag the line to reveal more of either. Keys: Space play/pause, ←/→ one frame, W wipe.

It never waits: frames come from `FrameSource` (black with "loading…" until `ready`). Playback
computes the frame from the time elapsed since play started, like the viewer, and loops. "Use take
A/B" makes that take the shot's current take as one undo step. The window follows the document:
when a compared take is deleted another one takes its place; when the shot is gone or has fewer
than two takes, the window closes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QElapsedTimer, QPoint, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QHideEvent,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShowEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import edits
from app.document.errors import EditError
from app.document.events import Change, Document
from app.document.schema import Shot, Take
from app.document.time import to_timecode
from app.frames import FrameSource
from app.media_paths import resolve_take
from app.ui.viewer import fit_rect

__all__ = ["CompareTakesDialog", "take_label"]

_SURROUND = QColor(18, 18, 20)
_TEXT = QColor(215, 215, 215)
_ACCENT = QColor(230, 160, 40)
_GAP = 8  # between the two pictures
_SIDES = ("a", "b")


def take_label(shot: Shot, take: Take) -> str:
    """How a take is named: "Take 2 · seed 1234 · 12 steps" (what its recipe records)."""
    number = [t.id for t in shot.takes].index(take.id) + 1
    request = take.recipe.get("request")
    request = request if isinstance(request, dict) else {}
    parts = [f"Take {number}"]
    seed = request.get("seed", take.recipe.get("seed"))
    if isinstance(seed, int) and not isinstance(seed, bool):
        parts.append(f"seed {seed}")
    steps = request.get("steps", take.recipe.get("steps"))
    if isinstance(steps, int) and not isinstance(steps, bool):
        parts.append(f"{steps} step{'' if steps == 1 else 's'}")
    return " · ".join(parts)


class _Screen(QWidget):
    """Paints the two takes: side by side, or one picture split by a draggable wipe line."""

    def __init__(self, dialog: CompareTakesDialog) -> None:
        super().__init__(dialog)
        self._dialog = dialog
        self.split = 0.5  # where the wipe line is, as a fraction of the picture's width
        self._dragging = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 140)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(960, 380)

    # --- geometry --------------------------------------------------------------------------------------
    def _band(self) -> int:
        return self.fontMetrics().height() + 8  # the label strip above the pictures

    def areas(self) -> tuple[QRect, QRect]:
        """Where each picture may go (below its label strip); in wipe mode both are the same area."""
        rect = self.rect().adjusted(0, self._band(), 0, 0)
        if self._dialog.is_wipe():
            return rect, rect
        half = max(1, (rect.width() - _GAP) // 2)
        left = QRect(rect.x(), rect.y(), half, rect.height())
        right = QRect(rect.right() + 1 - half, rect.y(), half, rect.height())
        return left, right

    def picture_rects(self) -> tuple[QRect, QRect]:
        """The letterboxed frame of take A and of take B (the same rect in wipe mode)."""
        project = self._dialog.document.project
        size = QSize(project.width, project.height)
        area_a, area_b = self.areas()
        return fit_rect(size, area_a), fit_rect(size, area_b)

    def split_x(self) -> int:
        """The x of the wipe line: A is shown left of it, B from it on."""
        frame = self.picture_rects()[0]
        return frame.x() + round(frame.width() * self.split)

    # --- painting --------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _SURROUND)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect_a, rect_b = self.picture_rects()
        band = self._band()
        if self._dialog.is_wipe():
            painter.fillRect(rect_a, Qt.GlobalColor.black)
            split = self.split_x()
            left = QRect(rect_a.x(), rect_a.y(), split - rect_a.x(), rect_a.height())
            right = QRect(split, rect_a.y(), rect_a.right() + 1 - split, rect_a.height())
            for side, clip in (("a", left), ("b", right)):
                painter.save()
                painter.setClipRect(clip)
                self._draw_picture(painter, side, rect_a)
                painter.restore()
                self._draw_note(painter, side, clip)
            painter.setPen(QPen(QColor(255, 255, 255), 2))
            painter.drawLine(split, rect_a.top(), split, rect_a.bottom())
            handle = QRect(0, 0, 10, 28)
            handle.moveCenter(QPoint(split, rect_a.center().y()))
            painter.fillRect(handle, QColor(255, 255, 255))
            strip = QRect(rect_a.x(), rect_a.top() - band, rect_a.width(), band)
            self._draw_label(painter, "a", strip, Qt.AlignmentFlag.AlignLeft)
            self._draw_label(painter, "b", strip, Qt.AlignmentFlag.AlignRight)
        else:
            for side, frame in (("a", rect_a), ("b", rect_b)):
                painter.fillRect(frame, Qt.GlobalColor.black)
                self._draw_picture(painter, side, frame)
                self._draw_note(painter, side, frame)
                strip = QRect(frame.x(), frame.top() - band, frame.width(), band)  # just above it
                self._draw_label(painter, side, strip, Qt.AlignmentFlag.AlignLeft)
        painter.end()

    def _draw_picture(self, painter: QPainter, side: str, frame: QRect) -> None:
        image = self._dialog.displayed_image(side)
        if image is not None:
            painter.drawImage(QRectF(fit_rect(image.size(), frame)), image)

    def _draw_note(self, painter: QPainter, side: str, area: QRect) -> None:
        note = self._dialog.note(side)
        if note and area.width() > 20:
            painter.setPen(_TEXT)
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            painter.drawText(area.adjusted(6, 6, -6, -6), int(flags), note)

    def _draw_label(self, painter: QPainter, side: str, strip: QRect, align: Qt.AlignmentFlag) -> None:
        text = self._dialog.label(side)
        letter = side.upper()
        metrics = painter.fontMetrics()
        area = strip.adjusted(2, 0, -2, 0)
        text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, max(10, area.width() - 30))
        letter_width = metrics.horizontalAdvance(letter + "  ")
        flags = align | Qt.AlignmentFlag.AlignVCenter
        if align == Qt.AlignmentFlag.AlignRight:
            painter.setPen(_TEXT)
            painter.drawText(area.adjusted(0, 0, -letter_width, 0), int(flags), text)
            painter.setPen(_ACCENT)
            painter.drawText(area, int(flags), letter)
        else:
            painter.setPen(_ACCENT)
            painter.drawText(area, int(flags), letter)
            painter.setPen(_TEXT)
            painter.drawText(area.adjusted(letter_width, 0, 0, 0), int(flags), text)

    # --- dragging the wipe line ------------------------------------------------------------------------
    def _near_line(self, x: float) -> bool:
        return abs(x - self.split_x()) <= 12

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        if self._dialog.is_wipe() and event.button() == Qt.MouseButton.LeftButton:
            self._dragging = True
            self._drag_to(event.position().x())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._dragging:
            self._drag_to(event.position().x())
        elif self._dialog.is_wipe() and self._near_line(event.position().x()):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.unsetCursor()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = False
        super().mouseReleaseEvent(event)

    def _drag_to(self, x: float) -> None:
        frame = self.picture_rects()[0]
        if frame.width() > 0:
            self._dialog.set_split((x - frame.x()) / frame.width())


class CompareTakesDialog(QDialog):
    """Two takes of one shot, side by side or as a wipe, playing in sync; pick which one the shot shows.

    `frames` is the app's shared FrameSource; without one the window decodes with its own (shut down
    when the window goes away).
    """

    def __init__(
        self,
        document: Document,
        undo_stack: QUndoStack,
        frames: FrameSource | None,
        shot_id: str,
        take_a: str,
        take_b: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self._own_frames = frames is None
        self.frames = FrameSource() if frames is None else frames
        self.shot_id = shot_id
        self._takes = {"a": take_a, "b": take_b}
        self._frame = 0
        self._wipe = False
        self._playing = False
        self._anchor = 0
        self._clock = QElapsedTimer()
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_play_tick)
        self._images: dict[str, tuple[tuple[str, int], QImage]] = {}
        self._following = False
        self._build()
        self.frames.ready.connect(self._on_frames_ready)
        self.frames.failed.connect(self._on_frames_ready)
        self.destroyed.connect(_cleanup(document, self._on_document_changed, self.frames, self._own_frames))
        self._follow(True)
        self._refresh()

    # --- layout -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.setObjectName("compareTakes")
        self.setModal(False)
        self.setWindowTitle("Compare takes")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.resize(1000, 520)

        self.take_a_combo = QComboBox(objectName="compareTakeA")
        self.take_a_combo.setToolTip("The take shown as A (on the left)")
        self.take_b_combo = QComboBox(objectName="compareTakeB")
        self.take_b_combo.setToolTip("The take shown as B (on the right)")
        for side, combo in (("a", self.take_a_combo), ("b", self.take_b_combo)):
            combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.activated.connect(lambda _row, side=side: self._on_combo(side))
        self.wipe_button = QToolButton(objectName="compareWipe", text="Wipe")
        self.wipe_button.setCheckable(True)
        self.wipe_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.wipe_button.setToolTip("Wipe: one picture, drag the line to reveal A or B (W)")
        self.wipe_button.toggled.connect(self.set_wipe)
        top = QHBoxLayout()
        for text, combo in (("A", self.take_a_combo), ("B", self.take_b_combo)):
            label = QLabel(text)
            label.setProperty("role", "heading")
            top.addWidget(label)
            top.addWidget(combo)
            top.addSpacing(12)
        top.addStretch(1)
        top.addWidget(self.wipe_button)

        self.screen = _Screen(self)

        self._back = self._tool(QStyle.StandardPixmap.SP_MediaSeekBackward, "Previous frame (←)")
        self.play_button = self._tool(QStyle.StandardPixmap.SP_MediaPlay, "Play (Space)")
        self.play_button.setObjectName("comparePlay")
        self._forward = self._tool(QStyle.StandardPixmap.SP_MediaSeekForward, "Next frame (→)")
        self._play_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self._back.clicked.connect(lambda: self.step(-1))
        self.play_button.clicked.connect(self.toggle_play)
        self._forward.clicked.connect(lambda: self.step(1))
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.slider.setObjectName("compareScrub")
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("Drag to scrub through both takes")
        self.slider.valueChanged.connect(self.set_frame)
        self.slider.sliderPressed.connect(self.pause)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.timecode = QLabel(self)
        self.timecode.setFont(mono)
        self.timecode.setToolTip("Timecode within the shot (hours:minutes:seconds:frames)")
        self.frame_label = QLabel(self)
        self.frame_label.setFont(mono)
        self.frame_label.setToolTip("Frame of the shot / frames in the shot")

        self.use_a_button = QPushButton("Use take A", objectName="useTakeA")
        self.use_b_button = QPushButton("Use take B", objectName="useTakeB")
        for side, button in (("a", self.use_a_button), ("b", self.use_b_button)):
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _checked=False, side=side: self.use_take(side))
        self.message = QLabel(objectName="compareMessage")
        self.message.setProperty("role", "warning")
        self.message.setWordWrap(True)
        self.message.hide()

        transport = QHBoxLayout()
        transport.setSpacing(4)
        for button in (self._back, self.play_button, self._forward):
            transport.addWidget(button)
        transport.addWidget(self.slider, 1)
        transport.addWidget(self.timecode)
        transport.addWidget(self.frame_label)
        transport.addSpacing(12)
        transport.addWidget(self.use_a_button)
        transport.addWidget(self.use_b_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.screen, 1)
        layout.addLayout(transport)
        layout.addWidget(self.message)
        self.screen.setFocus()

    def _tool(self, icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    # --- what is compared --------------------------------------------------------------------------------
    def shot(self) -> Shot | None:
        """The shot whose takes are compared, if it still exists."""
        found = self.document.project.find(self.shot_id)
        return found[1] if found is not None and isinstance(found[1], Shot) else None

    def takes(self) -> tuple[str, str]:
        """The ids of take A and take B."""
        return self._takes["a"], self._takes["b"]

    def set_takes(self, take_a: str, take_b: str) -> None:
        """Compare these two takes of the shot (ids)."""
        shot = self.shot()
        ids = [] if shot is None else [take.id for take in shot.takes]
        if take_a not in ids or take_b not in ids:
            raise KeyError(f"The shot has no take {take_a if take_a not in ids else take_b}")
        self._takes = {"a": take_a, "b": take_b}
        self._images.clear()
        self._refresh()

    def take(self, side: str) -> Take | None:
        shot = self.shot()
        if shot is None:
            return None
        try:
            return shot.take(self._takes[side])
        except KeyError:
            return None

    def label(self, side: str) -> str:
        """The label of take A or B ("Take 2 · seed 1234 · 12 steps")."""
        shot, take = self.shot(), self.take(side)
        return "" if shot is None or take is None else take_label(shot, take)

    def length(self) -> int:
        """Frames compared: the shot's length."""
        shot = self.shot()
        return 0 if shot is None else shot.duration

    # --- frames -----------------------------------------------------------------------------------------
    def _path(self, take: Take) -> Path:
        return resolve_take(self.document.path, take.media_path)

    def _index(self, take: Take) -> int:
        return take.in_point + self._frame

    def displayed_image(self, side: str) -> QImage | None:
        """Take A's or B's picture at the current frame, or None (black) while it decodes."""
        take = self.take(side)
        if take is None:
            return None
        path, index = self._path(take), self._index(take)
        key = (str(path), index)
        cached = self._images.get(side)
        if cached is not None and cached[0] == key:
            return cached[1]
        count = self.frames.frame_count(path)
        if count is None or not 0 <= index < count:
            return None
        image = self.frames.image(path, index)
        if image is None:
            return None
        self._images[side] = (key, image)
        return image

    def note(self, side: str) -> str:
        """What is written over take A's or B's picture: "loading…", why it cannot be shown, or nothing."""
        take = self.take(side)
        if take is None:
            return ""
        path = self._path(take)
        error = self.frames.error(path)
        count = self.frames.frame_count(path)
        if count is None:
            return f"Can't show this take: {error.message}" if error is not None else "loading…"
        if not 0 <= self._index(take) < count:
            return "This take has no frame here."
        return ""

    def grab_picture(self) -> QImage:
        """The pictures exactly as painted, e.g. for tests."""
        return self.screen.grab().toImage()

    def picture_rects(self) -> tuple[QRect, QRect]:
        """Where take A and take B are painted in `grab_picture()` (the same rect in wipe mode)."""
        return self.screen.picture_rects()

    # --- wipe ----------------------------------------------------------------------------------------------
    def is_wipe(self) -> bool:
        return self._wipe

    def set_wipe(self, on: bool) -> None:
        """Wipe mode (one picture, A left of the line, B right of it) or side by side."""
        self._wipe = bool(on)
        if self.wipe_button.isChecked() != self._wipe:
            self.wipe_button.setChecked(self._wipe)
        self.screen.update()

    def split(self) -> float:
        """Where the wipe line is, as a fraction of the picture's width (0: all B, 1: all A)."""
        return self.screen.split

    def set_split(self, fraction: float) -> None:
        self.screen.split = max(0.0, min(1.0, float(fraction)))
        self.screen.update()

    def split_x(self) -> int:
        """The wipe line's x in `grab_picture()`."""
        return self.screen.split_x()

    # --- the playhead and playback --------------------------------------------------------------------
    def frame(self) -> int:
        """The frame of the shot shown (0 = its first frame)."""
        return self._frame

    def set_frame(self, frame: int) -> None:
        """Show this frame of the shot in both takes (clamped); playback goes on from there."""
        self._frame = max(0, min(self.length() - 1, int(frame)))
        if self._playing:
            self._restart_clock()
        self._refresh()

    def step(self, frames: int) -> None:
        """Pause and move both takes by `frames` (negative: backwards)."""
        self.pause()
        self.set_frame(self._frame + frames)

    def is_playing(self) -> bool:
        return self._playing

    def play(self) -> None:
        """Play both takes at the project's rate, looping at the end of the shot."""
        if self.length() <= 1:
            return
        self._playing = True
        self._restart_clock()
        interval = 500 / float(self.document.project.fps)  # twice a frame: on time
        self._play_timer.start(max(4, math.floor(interval)))
        self._update_play_button()

    def pause(self) -> None:
        if not self._playing and not self._play_timer.isActive():
            return
        self._playing = False
        self._play_timer.stop()
        self._update_play_button()

    def toggle_play(self) -> None:
        if self._playing:
            self.pause()
        else:
            self.play()

    def _restart_clock(self) -> None:
        self._anchor = self._frame
        self._clock.start()

    def _on_play_tick(self) -> None:
        length = self.length()
        if not self._playing or length <= 1:
            self.pause()
            return
        fps = self.document.project.fps
        elapsed_ns = self._clock.nsecsElapsed()
        advanced = math.floor(elapsed_ns * fps.numerator / (fps.denominator * 10**9))
        target = (self._anchor + advanced) % length
        if target != self._frame:
            self._frame = target
            self._refresh()

    def _update_play_button(self) -> None:
        self.play_button.setIcon(self._pause_icon if self._playing else self._play_icon)
        self.play_button.setToolTip("Pause (Space)" if self._playing else "Play (Space)")

    # --- keys ----------------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
            return
        if key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key == Qt.Key.Key_Left:
            self.step(-1)
        elif key == Qt.Key.Key_Right:
            self.step(1)
        elif key == Qt.Key.Key_W:
            self.set_wipe(not self._wipe)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    # --- choosing ----------------------------------------------------------------------------------------
    def use_take(self, side: str) -> None:
        """Make take A or B the shot's current take (one undo step, "Choose take")."""
        take_id = self._takes[side]
        try:
            push_edit(
                self.undo_stack, self.document, "Choose take", edits.set_current_take, self.shot_id, take_id
            )
        except EditError as error:
            self.message.setText(error.message)
            self.message.setToolTip(error.detail)
            self.message.show()
            return
        self.message.hide()

    def _on_combo(self, side: str) -> None:
        combo = self.take_a_combo if side == "a" else self.take_b_combo
        take_id = combo.currentData()
        if isinstance(take_id, str) and take_id != self._takes[side]:
            self._takes[side] = take_id
            self._images.pop(side, None)
            self._refresh()
        self.screen.setFocus()

    # --- updates -----------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        """Bring the combos, buttons, transport and pictures up to date."""
        shot = self.shot()
        if shot is None:
            return
        prompt = " ".join(shot.prompt.split()) or "Shot without a prompt"
        self.setWindowTitle(f"Compare takes — {prompt}")
        for side, combo in (("a", self.take_a_combo), ("b", self.take_b_combo)):
            combo.blockSignals(True)
            combo.clear()
            for take in shot.takes:
                marker = "▶ " if take.id == shot.current_take else ""
                combo.addItem(marker + take_label(shot, take), take.id)
            combo.setCurrentIndex(max(0, combo.findData(self._takes[side])))
            combo.blockSignals(False)
            button = self.use_a_button if side == "a" else self.use_b_button
            shown = self._takes[side] == shot.current_take
            button.setEnabled(not shown)
            button.setToolTip(
                f"Take {side.upper()} is the one the timeline shows"
                if shown
                else f"Show take {side.upper()} on the timeline (undoable)"
            )
            take = self.take(side)
            if take is not None:
                self.frames.frame_count(self._path(take))  # start decoding now, not at the next paint
        last = max(0, self.length() - 1)
        self._frame = min(self._frame, last)
        self.slider.blockSignals(True)
        self.slider.setRange(0, last)
        self.slider.setValue(self._frame)
        self.slider.blockSignals(False)
        self.slider.setEnabled(last > 0)
        self.timecode.setText(to_timecode(self._frame, self.document.project.fps))
        self.frame_label.setText(f"{self._frame + 1} / {self.length()}")
        self.screen.update()

    def _on_frames_ready(self, path: str) -> None:
        for side in _SIDES:
            take = self.take(side)
            if take is not None and str(self._path(take)) == path:
                self._images.pop(side, None)
                self.screen.update()

    def _on_document_changed(self, change: Change) -> None:
        if not shiboken6.isValid(self):
            return
        if not self._resync():
            self.close()  # the shot, or all but one of its takes, went away: nothing to compare
            return
        self._refresh()
        if self._playing:
            self._restart_clock()

    def _resync(self) -> bool:
        """Replace a compared take that is gone by another one; False when there is nothing to compare."""
        shot = self.shot()
        if shot is None or len(shot.takes) < 2:
            return False
        ids = [take.id for take in shot.takes]
        for side, other in (("a", "b"), ("b", "a")):
            if self._takes[side] not in ids:
                current = shot.current_take
                spare = [i for i in ids if i != self._takes[other]]
                self._takes[side] = current if current in spare else spare[-1]
        self._images.clear()
        return True

    def _follow(self, on: bool) -> None:
        if on and not self._following:
            self.document.changed.connect(self._on_document_changed)
        elif not on and self._following:
            self.document.changed.disconnect(self._on_document_changed)
        self._following = on

    # --- life ----------------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._follow(True)
        self._resync()  # the document may have changed while the window was hidden
        self._refresh()
        self.screen.setFocus()

    def hideEvent(self, event: QHideEvent) -> None:
        self.pause()
        self._follow(False)
        super().hideEvent(event)


def _cleanup(
    document: Document, callback: Callable[[Change], None], frames: FrameSource, own_frames: bool
) -> Callable[..., None]:
    """A slot run when the window is destroyed: stop following the document, stop its own decoder."""

    def cleanup(*_: object) -> None:
        document.changed.disconnect(callback)
        if own_frames:
            frames.shutdown()

    return cleanup
