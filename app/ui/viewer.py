"""The viewer: the sequence's picture at the playhead, a transport bar, and playback at the project's rate.

```
┌──────────────────────────────────────────┐
│            (picture, letterboxed)        │   black for gaps and frames still decoding;
│ rendering…                               │   the live preview of a shot being rendered
├──────────────────────────────────────────┤
│ a red ball rolls over grass · Take 2 of 3 · seed 1234 │   caption
│ ⏮ ◀ ▶ ▶▶ ━━━━━━━●━━━━━━━━━  00:00:01:12   36 │   transport
└──────────────────────────────────────────┘
```

It never waits: the picture comes from `FrameSource` (None until decoded, then `ready` repaints).
Playback computes the frame from the time elapsed since play started (`QElapsedTimer`), so it does
not drift and drops frames rather than slowing down. Keys when focused: Space play/pause, J/K/L
(repeat J or L for 2× and 4×), ←/→ one frame, Home/End.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QElapsedTimer, QPoint, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QHideEvent,
    QImage,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document.events import Change, Document
from app.document.schema import ImportedClip, Item, Shot
from app.document.time import to_timecode
from app.frames import FrameSource, to_qimage
from app.sequence import FrameRef, item_at, ref_for, sequence_length

__all__ = ["MAX_SPEED", "Viewer"]

MAX_SPEED = 4  # J/L pressed repeatedly: 1×, 2×, 4×
_SURROUND = QColor(18, 18, 20)  # around the frame
_BADGE = QColor(230, 160, 40)


class _Screen(QWidget):
    """Paints the viewer's current picture letterboxed in the project's frame."""

    def __init__(self, viewer: Viewer) -> None:
        super().__init__(viewer)
        self._viewer = viewer
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(640, 360)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), _SURROUND)
        project = self._viewer.document.project
        frame_rect = fit_rect(QSize(project.width, project.height), self.rect())
        painter.fillRect(frame_rect, Qt.GlobalColor.black)
        image = self._viewer.displayed_image()
        if image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(fit_rect(image.size(), frame_rect)), image)
        note, badge = self._viewer.notes()
        font = painter.font()
        font.setPointSizeF(max(9.0, font.pointSizeF()))
        painter.setFont(font)
        margin = 8
        if badge:
            metrics = painter.fontMetrics()
            box = QRect(0, 0, metrics.horizontalAdvance(badge) + 12, metrics.height() + 6)
            box.moveTopLeft(frame_rect.topLeft() + QPoint(margin, margin))
            painter.fillRect(box, QColor(0, 0, 0, 170))
            painter.setPen(_BADGE)
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, badge)
        if note:
            painter.setPen(QColor(200, 200, 200))
            area = frame_rect.adjusted(margin, margin, -margin, -margin)
            flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap
            painter.drawText(area, int(flags), note)
        painter.end()


def fit_rect(size: QSize, area: QRect) -> QRect:
    """The largest rect of `size`'s aspect centred in `area`."""
    if size.width() <= 0 or size.height() <= 0 or area.isEmpty():
        return QRect(area)
    scale = min(area.width() / size.width(), area.height() / size.height())
    width, height = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
    return QRect(
        area.x() + (area.width() - width) // 2, area.y() + (area.height() - height) // 2, width, height
    )


class Viewer(QWidget):
    """Shows and plays the sequence of `document` with pictures from `frames`.

    `frameChanged(frame)` follows the playhead (playback, scrubbing, keys, `set_frame`).
    """

    frameChanged = Signal(int)

    def __init__(self, document: Document, frames: FrameSource, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.frames = frames
        self._frame = 0
        self._speed = 0  # frames of sequence per frame of time; 0 = paused, negative = backwards
        self._anchor = 0  # the frame shown when the clock started
        self._clock = QElapsedTimer()
        self._play_timer = QTimer(self)
        self._play_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._play_timer.timeout.connect(self._on_play_tick)
        self._preview_clock = QElapsedTimer()
        self._preview_timer = QTimer(self)
        self._preview_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._preview_timer.timeout.connect(self._screen_update)
        self._image_key: tuple[str, int] | None = None
        self._image: QImage | None = None

        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setObjectName("viewer")
        self._screen = _Screen(self)
        self._caption = QLabel(self)
        self._caption.setObjectName("viewerCaption")
        self._caption.setTextFormat(Qt.TextFormat.PlainText)
        self._caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        style = self.style()
        self._to_start = self._button(QStyle.StandardPixmap.SP_MediaSkipBackward, "Go to start (Home)")
        self._back = self._button(QStyle.StandardPixmap.SP_MediaSeekBackward, "Previous frame (←)")
        self._play_button = self._button(QStyle.StandardPixmap.SP_MediaPlay, "Play (Space, L)")
        self._forward = self._button(QStyle.StandardPixmap.SP_MediaSeekForward, "Next frame (→)")
        self._to_end = self._button(QStyle.StandardPixmap.SP_MediaSkipForward, "Go to end (End)")
        self._play_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._pause_icon = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self._to_start.clicked.connect(self._go_start)
        self._back.clicked.connect(lambda: self.step(-1))
        self._play_button.clicked.connect(self.toggle_play)
        self._forward.clicked.connect(lambda: self.step(1))
        self._to_end.clicked.connect(self._go_end)

        self._slider = QSlider(Qt.Orientation.Horizontal, self)
        self._slider.setObjectName("viewerScrub")
        self._slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._slider.setToolTip("Drag to scrub through the sequence")
        self._slider.valueChanged.connect(self._on_slider)
        self._slider.sliderPressed.connect(self.pause)

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self._timecode = QLabel(self)
        self._timecode.setObjectName("viewerTimecode")
        self._timecode.setFont(mono)
        self._timecode.setToolTip("Timecode of the playhead (hours:minutes:seconds:frames)")
        self._frame_label = QLabel(self)
        self._frame_label.setObjectName("viewerFrame")
        self._frame_label.setFont(mono)
        self._frame_label.setToolTip("Frame number of the playhead")
        self._frame_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

        transport = QHBoxLayout()
        transport.setContentsMargins(6, 2, 6, 4)
        transport.setSpacing(4)
        for button in (self._to_start, self._back, self._play_button, self._forward, self._to_end):
            transport.addWidget(button)
        transport.addWidget(self._slider, 1)
        transport.addWidget(self._timecode)
        transport.addWidget(self._frame_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self._screen, 1)
        caption_row = QHBoxLayout()
        caption_row.setContentsMargins(8, 2, 8, 0)
        caption_row.addWidget(self._caption)
        layout.addLayout(caption_row)
        layout.addLayout(transport)

        frames.ready.connect(self._on_frames_ready)
        frames.failed.connect(self._on_frames_ready)
        frames.previewChanged.connect(self._on_preview_changed)
        document.changed.connect(self._on_document_changed)
        self.destroyed.connect(_disconnector(document, self._on_document_changed))
        self._refresh()

    # --- the playhead ------------------------------------------------------------------------------------
    def frame(self) -> int:
        """The frame under the playhead."""
        return self._frame

    def length(self) -> int:
        """Frames in the sequence."""
        return sequence_length(self.document.project)

    def set_frame(self, frame: int) -> None:
        """Move the playhead (clamped to the sequence); playback goes on from there."""
        self._show(int(frame))
        if self._speed:
            self._restart_clock()

    def step(self, frames: int) -> None:
        """Pause and move the playhead by `frames` (negative: backwards)."""
        self.pause()
        self.set_frame(self._frame + frames)

    # --- playback ----------------------------------------------------------------------------------------
    def is_playing(self) -> bool:
        return self._speed != 0

    def speed(self) -> int:
        """Playback speed: 0 paused, 1/2/4 forward, -1/-2/-4 backward."""
        return self._speed

    def play(self, speed: int = 1) -> None:
        """Play at `speed` times the project's rate (negative: backwards). At the end, forward play
        starts again from the beginning."""
        speed = max(-MAX_SPEED, min(MAX_SPEED, int(speed)))
        last = self._last_frame()
        if speed == 0 or last <= 0:
            self.pause()
            return
        if speed > 0 and self._frame >= last:
            self._show(0)
        elif speed < 0 and self._frame <= 0:
            self._show(last)
        self._speed = speed
        self._restart_clock()
        interval = 500 / (float(self.document.project.fps) * abs(speed))  # twice a frame: on time
        self._play_timer.start(max(4, math.floor(interval)))
        self._update_play_button()

    def pause(self) -> None:
        if not self._speed:
            return
        self._speed = 0
        self._play_timer.stop()
        self._update_play_button()

    def toggle_play(self) -> None:
        if self._speed:
            self.pause()
        else:
            self.play(1)

    def shuttle(self, direction: int) -> None:
        """J (-1) / L (+1): play that way; again doubles the speed up to 4×; the other way starts at 1×."""
        if self._speed * direction > 0:
            self.play(direction * min(MAX_SPEED, abs(self._speed) * 2))
        else:
            self.play(direction)

    def _restart_clock(self) -> None:
        self._anchor = self._frame
        self._clock.start()

    def _on_play_tick(self) -> None:
        if not self._speed:
            return
        elapsed_ns = self._clock.nsecsElapsed()
        fps = self.document.project.fps
        advanced = math.floor(elapsed_ns * fps.numerator * abs(self._speed) / (fps.denominator * 10**9))
        target = self._anchor + advanced * (1 if self._speed > 0 else -1)
        last = self._last_frame()
        if (self._speed > 0 and target >= last) or (self._speed < 0 and target <= 0):
            self._show(max(0, min(last, target)))
            self.pause()
            return
        if target != self._frame:
            self._show(target)
            self._prefetch(target + self._speed * math.ceil(fps))

    def _last_frame(self) -> int:
        return max(0, self.length() - 1)

    # --- keys --------------------------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            super().keyPressEvent(event)
            return
        if key == Qt.Key.Key_Space:
            self.toggle_play()
        elif key == Qt.Key.Key_K:
            self.pause()
        elif key == Qt.Key.Key_L:
            self.shuttle(1)
        elif key == Qt.Key.Key_J:
            self.shuttle(-1)
        elif key == Qt.Key.Key_Left:
            self.step(-1)
        elif key == Qt.Key.Key_Right:
            self.step(1)
        elif key == Qt.Key.Key_Home:
            self._go_start()
        elif key == Qt.Key.Key_End:
            self._go_end()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def _go_start(self) -> None:
        self.pause()
        self.set_frame(0)

    def _go_end(self) -> None:
        self.pause()
        self.set_frame(self._last_frame())

    # --- what is shown -----------------------------------------------------------------------------------
    def current_item(self) -> Item | None:
        """The shot or clip seen at the playhead (None in a gap)."""
        found = item_at(self.document.project, self._frame)
        return None if found is None else found[1]

    def displayed_image(self) -> QImage | None:
        """The picture shown now (before letterboxing), or None for black."""
        item = self.current_item()
        if isinstance(item, Shot):
            preview = self.frames.preview(item.id)
            if preview is not None:
                return to_qimage(preview[self._preview_index(len(preview))])
        ref = None if item is None else ref_for(item, self._frame)
        if ref is None:
            return None
        path = self._path(ref)
        key = (str(path), ref.index)
        if key != self._image_key or self._image is None:
            image = self.frames.image(path, ref.index)
            if image is None:
                return None
            self._image_key, self._image = key, image
        return self._image

    def grab_picture(self) -> QImage:
        """The picture area exactly as painted (letterboxed, with its notes), e.g. for tests."""
        return self._screen.grab().toImage()

    def notes(self) -> tuple[str, str]:
        """(text at the bottom of the picture, badge at its top left) for the frame shown."""
        item = self.current_item()
        if isinstance(item, Shot) and self.frames.preview(item.id) is not None:
            return "", "rendering…"
        if item is None:
            return "", ""
        ref = ref_for(item, self._frame)
        if ref is None:
            return ("Not rendered yet — generate this shot to see it." if isinstance(item, Shot) else ""), ""
        error = self.frames.error(self._path(ref))
        if error is not None and self.frames.frame(self._path(ref), ref.index) is None:
            return f"Can't show this {'take' if ref.kind == 'take' else 'clip'}: {error.message}", ""
        return "", ""

    def caption(self) -> str:
        """What the caption line says about the shot or clip at the playhead."""
        item = self.current_item()
        if item is None:
            return "Gap" if self._frame < self.length() else ""
        if isinstance(item, ImportedClip):
            return Path(item.media_path).name
        prompt = " ".join(item.prompt.split()) or "Shot without a prompt"
        take = item.current
        parts = [prompt]
        if take is None:
            parts.append("not rendered yet")
        else:
            number = [t.id for t in item.takes].index(take.id) + 1
            parts.append(f"Take {number} of {len(item.takes)}")
            seed = take.recipe.get("seed")
            if isinstance(seed, int):
                parts.append(f"seed {seed}")
        if self.frames.preview(item.id) is not None:
            parts.append("rendering…")
        return " · ".join(parts)

    def _preview_index(self, count: int) -> int:
        if not self._preview_clock.isValid():
            self._preview_clock.start()
        fps = self.document.project.fps
        shown = self._preview_clock.nsecsElapsed() * fps.numerator // (fps.denominator * 10**9)
        return int(shown % count)

    def _path(self, ref: FrameRef) -> Path:
        return ref.resolve(self.document.path)

    def _prefetch(self, frame: int) -> None:
        """Start decoding what will be shown at `frame`, so playback does not hit black at a cut."""
        found = item_at(self.document.project, frame)
        ref = None if found is None else ref_for(found[1], frame)
        if ref is not None:
            self.frames.frame_count(self._path(ref))

    # --- updates -----------------------------------------------------------------------------------------
    def _show(self, frame: int) -> None:
        frame = max(0, min(self._last_frame(), frame))
        changed = frame != self._frame
        self._frame = frame
        self._refresh()
        if changed:
            self.frameChanged.emit(frame)

    def _refresh(self) -> None:
        """Bring the slider, labels, caption, preview timer and picture up to date."""
        project = self.document.project
        last = self._last_frame()
        self._slider.blockSignals(True)
        self._slider.setRange(0, last)
        self._slider.setValue(self._frame)
        self._slider.blockSignals(False)
        self._slider.setEnabled(last > 0)
        self._timecode.setText(to_timecode(self._frame, project.fps))
        self._frame_label.setText(str(self._frame))
        text = self.caption()
        self._caption.setToolTip(text)
        metrics = self._caption.fontMetrics()
        width = max(50, self._caption.width() or self.width() - 16)
        self._caption.setText(metrics.elidedText(text, Qt.TextElideMode.ElideRight, width))
        self._prefetch(self._frame)  # start decoding now, not at the next paint
        item = self.current_item()
        previewing = isinstance(item, Shot) and self.frames.preview(item.id) is not None and self.isVisible()
        if previewing and not self._preview_timer.isActive():
            self._preview_clock.start()
            self._preview_timer.start(max(10, math.floor(1000 / float(project.fps))))
        elif not previewing and self._preview_timer.isActive():
            self._preview_timer.stop()
        self._screen_update()

    def _screen_update(self) -> None:
        self._screen.update()

    def _update_play_button(self) -> None:
        playing = bool(self._speed)
        self._play_button.setIcon(self._pause_icon if playing else self._play_icon)
        self._play_button.setToolTip("Pause (Space, K)" if playing else "Play (Space, L)")

    def _button(self, icon: QStyle.StandardPixmap, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setIcon(self.style().standardIcon(icon))
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def _on_slider(self, value: int) -> None:
        self.set_frame(value)

    def _on_frames_ready(self, path: str) -> None:
        if self._image_key is not None and self._image_key[0] == path:
            self._image_key, self._image = None, None
        item = self.current_item()
        ref = None if item is None else ref_for(item, self._frame)
        if ref is not None and str(self._path(ref)) == path:
            self._refresh()

    def _on_preview_changed(self, shot_id: str) -> None:
        self._refresh()

    def _on_document_changed(self, change: Change) -> None:
        if not shiboken6.isValid(self):
            return
        self._image_key, self._image = None, None
        frame = max(0, min(self._last_frame(), self._frame))
        if frame != self._frame:
            self._show(frame)
        else:
            self._refresh()
        if self._speed:
            self._restart_clock()

    # --- life ----------------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        self.pause()
        self._preview_timer.stop()
        super().hideEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refresh()


def _disconnector(document: Document, callback: Callable[[Change], None]) -> Callable[..., None]:
    """A slot that unsubscribes `callback` from the document when the viewer is destroyed."""

    def disconnect(*_: object) -> None:
        document.changed.disconnect(callback)

    return disconnect
