"""The timeline's scene items: shot and clip blocks (thumbnail strip, prompt, badges) and selectable gaps.

Items only paint; the `TimelineView` places them (scene x = frame × zoom, one row per track) and
handles every mouse gesture, asking them for nothing but their geometry. What a block needs to know
about the world (selection, rendering, staleness, decoded frames) it asks its `BlockHost`, the view.

```
┌──────────────────────────────────────┐
│ a red ball rolls across…   [STALE]   │   label band: prompt's first words or the clip's file name
│ ▓▓▓▓▓ ▓▓▓▓▓ ▓▓▓▓▓ ▓▓▓▓▓ ▓▓▓▓▓ ▓▓▓▓▓  │   thumbnails at evenly spaced frames (or the live preview,
└──────────────────────────────────────┘   or hatching where no take covers the shot)
```
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import Protocol

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from app.document.schema import ImportedClip, Item, Shot

# --- layout (pixels) ----------------------------------------------------------------------------------------
TRACK_HEIGHT = 72  # one row of the timeline
BLOCK_MARGIN = 4  # space between a row's edge and its blocks
LABEL_HEIGHT = 18  # the band with the prompt or file name
EDGE_GRIP = 7  # how near a block's edge the pointer must be to trim it
CORNER = 5.0

# --- colours (dark NLE theme) -------------------------------------------------------------------------------
SHOT_COLOUR = QColor("#3d5f96")
CLIP_COLOUR = QColor("#2e7d62")
SELECTED_OUTLINE = QColor("#ffb547")
HOVER_OUTLINE = QColor("#d8dee9")
LABEL_BAND = QColor(12, 14, 18, 190)
TEXT = QColor("#eceff4")
DIM_TEXT = QColor("#aab2bf")
STALE_BADGE = QColor("#d08a2e")
RENDER_BADGE = QColor("#c0392b")
FAILED_BADGE = QColor("#8f2d2d")
GAP_HOVER = QColor(255, 255, 255, 26)
GAP_SELECTED = QColor(255, 181, 71, 46)


class BlockHost(Protocol):
    """What a block asks the view while painting."""

    def is_selected_item(self, item_id: str) -> bool: ...
    def is_selected_gap(self, track_id: str, start: int) -> bool: ...
    def is_hovered(self, key: object) -> bool: ...
    def is_rendering(self, shot_id: str) -> bool: ...
    def is_stale_shot(self, shot_id: str) -> bool: ...
    def frame_aspect(self) -> float: ...
    def item_media(self, item: Item) -> tuple[str | None, bool]: ...
    def thumbnail(self, path: str, index: int, height: int) -> QImage | None: ...
    def preview_thumbnail(self, shot_id: str, fraction: float, height: int) -> QImage | None: ...
    def trim_edge(self, item_id: str) -> str | None: ...


def shot_title(shot: Shot) -> str:
    """The words a block shows for a shot: its prompt on one line (elided later to fit)."""
    return " ".join(shot.prompt.split()) or "Untitled shot"


def clip_title(clip: ImportedClip) -> str:
    return PurePath(clip.media_path.replace("\\", "/")).name


class BlockItem(QGraphicsItem):
    """A shot or an imported clip on the timeline: a rounded block with thumbnails and a label."""

    def __init__(self, host: BlockHost, item: Item, track_id: str) -> None:
        super().__init__()
        self._host = host
        self.item = item
        self.track_id = track_id
        self._size = QRectF()
        self._drawn_thumbnails = 0
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.setZValue(1)

    @property
    def item_id(self) -> str:
        return self.item.id

    def place(self, item: Item, track_id: str, x: float, y: float, width: float, height: float) -> None:
        """Move/resize the block to show `item` (after an edit or a zoom)."""
        size = QRectF(0, 0, max(1.0, width), height)
        if size != self._size:
            self.prepareGeometryChange()
            self._size = size
        self.item = item
        self.track_id = track_id
        self.setPos(x, y)
        self.update()

    def boundingRect(self) -> QRectF:
        return self._size.adjusted(-1.5, -1.5, 1.5, 1.5)

    def thumbnails_drawn(self) -> int:
        """How many thumbnails the last paint drew from decoded frames or a live preview (tests)."""
        return self._drawn_thumbnails

    # --- painting ------------------------------------------------------------------------------------------
    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        host, item, rect = self._host, self.item, self._size
        is_shot = isinstance(item, Shot)
        selected = host.is_selected_item(item.id)
        hovered = host.is_hovered(("item", item.id))
        rendering = is_shot and host.is_rendering(item.id)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)

        body = QPainterPath()
        body.addRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), CORNER, CORNER)
        base = SHOT_COLOUR if is_shot else CLIP_COLOUR
        painter.fillPath(body, base.darker(135))

        painter.save()
        painter.setClipPath(body)
        strip = QRectF(rect.left(), rect.top() + LABEL_HEIGHT, rect.width(), rect.height() - LABEL_HEIGHT)
        exposed = option.exposedRect if option is not None and not option.exposedRect.isEmpty() else rect
        self._drawn_thumbnails = self._paint_strip(painter, strip, exposed, rendering)
        band = QRectF(rect.left(), rect.top(), rect.width(), LABEL_HEIGHT)
        painter.fillRect(band, LABEL_BAND)
        painter.fillRect(QRectF(band.left(), band.top(), band.width(), 2), base.lighter(130))
        self._paint_label(painter, band, rendering)
        painter.restore()

        edge = host.trim_edge(item.id)
        if edge is not None:
            grip = QRectF(rect.left() if edge == "left" else rect.right() - 4, rect.top(), 4, rect.height())
            painter.save()
            painter.setClipPath(body)
            painter.fillRect(grip, SELECTED_OUTLINE)
            painter.restore()
        if selected:
            painter.setPen(QPen(SELECTED_OUTLINE, 2))
        elif hovered:
            painter.setPen(QPen(HOVER_OUTLINE, 1))
        else:
            painter.setPen(QPen(base.lighter(125), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(body)

    def _paint_strip(self, painter: QPainter, strip: QRectF, exposed: QRectF, rendering: bool) -> int:
        """Thumbnails at evenly spaced frames across the block; returns how many were real pictures."""
        host, item = self._host, self.item
        if strip.height() < 4:
            return 0
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        thumb_h = strip.height()
        thumb_w = max(12.0, thumb_h * host.frame_aspect())
        pixel_h = max(1, round(thumb_h * ratio))
        path, failed = host.item_media(item)
        preview = rendering and host.preview_thumbnail(item.id, 0.0, pixel_h) is not None
        slots = max(1, math.ceil(strip.width() / thumb_w))
        first = max(0, int((exposed.left() - strip.left()) // thumb_w))
        last = min(slots - 1, int((exposed.right() - strip.left()) // thumb_w))
        drawn = 0
        hatch = QBrush((SHOT_COLOUR if isinstance(item, Shot) else CLIP_COLOUR).lighter(115))
        hatch.setStyle(Qt.BrushStyle.BDiagPattern)
        for slot in range(first, last + 1):
            cell = QRectF(strip.left() + slot * thumb_w, strip.top(), thumb_w, thumb_h)
            fraction = min(0.999999, (slot * thumb_w + thumb_w / 2) / max(1.0, strip.width()))
            offset = min(item.duration - 1, int(fraction * item.duration))  # frame of the item in this slot
            image: QImage | None = None
            if preview:
                image = host.preview_thumbnail(item.id, fraction, pixel_h)
            elif path is not None and not failed:
                index = self._media_index(offset)
                if index is not None:
                    image = host.thumbnail(path, index, pixel_h)
                else:
                    painter.fillRect(cell, hatch)  # not covered by the take: needs render
                    continue
            elif path is None and not rendering:
                painter.fillRect(cell, hatch)  # no take yet
                continue
            if image is None:
                painter.fillRect(cell.adjusted(0, 0, -1, 0), QColor(0, 0, 0, 60))
                continue
            source = QRectF(0, 0, image.width(), image.height())
            target = _fit(source, cell.adjusted(0, 0, -1, 0))
            painter.drawImage(target, image, source)
            drawn += 1
        if path is None and not rendering and isinstance(item, Shot):
            self._center_note(painter, strip, "no take yet")
        elif failed:
            self._center_note(
                painter, strip, "media missing" if isinstance(item, ImportedClip) else "take missing"
            )
        return drawn

    def _media_index(self, offset: int) -> int | None:
        """The media frame shown `offset` frames into the item; None where the take does not cover it."""
        item = self.item
        if isinstance(item, Shot):
            take = item.current
            if take is None:
                return None
            index = take.in_point + offset
            return index if 0 <= index < take.frames else None
        if item.is_still:
            return 0
        return item.in_point + offset

    def _center_note(self, painter: QPainter, strip: QRectF, text: str) -> None:
        font = QFont(painter.font())
        font.setItalic(True)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        if metrics.horizontalAdvance(text) + 8 > strip.width():
            return
        painter.setPen(DIM_TEXT)
        painter.drawText(strip, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_label(self, painter: QPainter, band: QRectF, rendering: bool) -> None:
        host, item = self._host, self.item
        font = QFont(painter.font())
        font.setPixelSize(12)
        painter.setFont(font)
        metrics = QFontMetrics(font)
        right = band.right() - 4
        badges: list[tuple[str, QColor]] = []
        if isinstance(item, Shot):
            if rendering:
                badges.append(("RENDERING", RENDER_BADGE))
            if host.is_stale_shot(item.id):
                badges.append(("STALE", STALE_BADGE))
        small = QFont(font)
        small.setPixelSize(10)
        small.setBold(True)
        small_metrics = QFontMetrics(small)
        for text, colour in badges:
            width = small_metrics.horizontalAdvance(text) + 8
            if right - width < band.left() + 24:
                # no room for words: a dot says it all
                dot = QRectF(right - 8, band.center().y() - 4, 8, 8)
                painter.setBrush(colour)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawEllipse(dot)
                right = dot.left() - 3
                continue
            pill = QRectF(right - width, band.top() + 3, width, band.height() - 5)
            painter.setBrush(colour)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawRoundedRect(pill, 3, 3)
            painter.setFont(small)
            painter.setPen(TEXT)
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
            painter.setFont(font)
            right = pill.left() - 3
        if isinstance(item, Shot):
            title = shot_title(item)
            painter.setPen(TEXT if item.prompt.strip() else DIM_TEXT)
        else:
            title = clip_title(item)
            painter.setPen(TEXT)
        text_rect = QRectF(band.left() + 6, band.top(), right - band.left() - 6, band.height())
        if text_rect.width() > 10:
            elided = metrics.elidedText(title, Qt.TextElideMode.ElideRight, int(text_rect.width()))
            painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided)


def _fit(source: QRectF, cell: QRectF) -> QRectF:
    """`source` scaled to cover `cell`'s height, centred horizontally (cropped by the cell's clip)."""
    if source.height() <= 0:
        return cell
    scale = cell.height() / source.height()
    width = source.width() * scale
    return QRectF(cell.center().x() - width / 2, cell.top(), width, cell.height())


class GapItem(QGraphicsItem):
    """An empty span of a track between items: invisible until hovered, highlighted when selected."""

    def __init__(self, host: BlockHost, track_id: str, start: int, end: int, bridgeable: bool) -> None:
        super().__init__()
        self._host = host
        self.track_id = track_id
        self.start = start
        self.end = end
        self.bridgeable = bridgeable
        self._size = QRectF()
        self.setZValue(0)

    @property
    def key(self) -> tuple[str, str, int]:
        return ("gap", self.track_id, self.start)

    def place(self, x: float, y: float, width: float, height: float) -> None:
        self.prepareGeometryChange()
        self._size = QRectF(0, 0, max(1.0, width), height)
        self.setPos(x, y)

    def boundingRect(self) -> QRectF:
        return self._size

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        selected = self._host.is_selected_gap(self.track_id, self.start)
        hovered = self._host.is_hovered(self.key)
        if not (selected or hovered):
            return
        rect = self._size
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setBrush(GAP_SELECTED if selected else GAP_HOVER)
        pen = QPen(SELECTED_OUTLINE if selected else HOVER_OUTLINE, 1, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), CORNER, CORNER)
        text = "Fill gap (F)" if self.bridgeable else "Gap"
        font = QFont(painter.font())
        font.setPixelSize(11)
        painter.setFont(font)
        if QFontMetrics(font).horizontalAdvance(text) + 10 < rect.width():
            painter.setPen(TEXT if selected else DIM_TEXT)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
