"""The timeline: tracks of shots and clips to select, move, trim, split and delete; a ruler and a playhead.

```
 00:00:01:00 │00:00:00:00        00:00:02:00        00:00:04:00     ← ruler (click/drag: playhead)
─────────────┼──────────────────────────▼──────────────────────
 V2          │          ┌──────────────┐│
             │          │ a storm roll…││                          ← upper tracks above
 V1          │┌────────┐└──────────────┘│  ┌──────────┐
             ││ a red… │   (gap: F)     │  │ beach.mp4│            ← V1 at the bottom, like an NLE
```

Scene x is `frame × zoom()` (pixels per frame) and each track is one row, so the view's transform
stays the identity and text never stretches. Every change goes through the undo stack
(`app.commands.push_edit`): a drag pushes one merged edit per mouse move (one undo step per drag),
and the view repaints from `document.changed`, rebuilding only the tracks that changed.

Keys (when the timeline has focus): S split at the playhead, Delete remove, Shift+Delete ripple
delete (on a gap: close it), Ctrl+D duplicate, G generate, E / Shift+E extend forward / backward,
F fill the selected gap. Ctrl+wheel zooms around the pointer, the wheel scrolls sideways, Shift+wheel
scrolls the tracks. Shift while dragging turns snapping off.

The view mixes in `TimelineActions` (commands and their keys, `timeline_actions`) and `TimelinePointer`
(mouse, wheel, file drops, `timeline_pointer`); its blocks and gaps are `timeline_items`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

from PySide6.QtCore import (
    QEvent,
    QPoint,
    QPointF,
    QRectF,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QImage,
    QPainter,
    QPen,
    QStatusTipEvent,
    QUndoStack,
)
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsScene, QGraphicsView, QWidget

from app.commands import push_edit
from app.document.errors import EditError
from app.document.events import Change, Document
from app.document.schema import Item, Project, Shot, Track, find_gaps, stale_shots
from app.frames import FrameSource, to_qimage
from app.media_paths import resolve_clip, resolve_take
from app.ui.selection import NOTHING, Selection
from app.ui.timeline_actions import TimelineActions
from app.ui.timeline_import import ClipImporter
from app.ui.timeline_items import BLOCK_MARGIN, EDGE_GRIP, TRACK_HEIGHT, BlockItem, GapItem
from app.ui.timeline_pointer import Drag, TimelinePointer
from app.ui.timeline_ruler import HEADER_WIDTH, PLAYHEAD, RULER_HEIGHT, Ruler, TrackHeaders

DEFAULT_ZOOM = 4.0  # pixels per frame: a 2 s shot at 24 fps is 192 px wide
MIN_ZOOM = 0.02
MAX_ZOOM = 60.0
STILL_SECONDS = 3  # how long a dropped still image lasts
TAIL_PIXELS = 600  # empty room after the last item, to drag things later

ROW_COLOURS = (QColor("#262a31"), QColor("#23272d"))
EMPTY_AREA = QColor("#181a1f")
SNAP_LINE = QColor("#ffe066")


@dataclass(frozen=True)
class Hit:
    """What is under a point of the viewport."""

    kind: str | None  # "item" | "gap" | "empty" (a track past its last item) | None (no track)
    track_id: str | None = None
    item_id: str | None = None
    edge: str | None = None  # "left" | "right" when near a block's edge (trim)
    start: int = 0
    end: int = 0


class TimelineView(TimelineActions, TimelinePointer, QGraphicsView):
    """The editor's timeline over a `Document`; edits go through `undo_stack`, thumbnails from `frames`."""

    selectionChanged = Signal(object)  # Selection
    playheadMoved = Signal(int)
    generateRequested = Signal(str)  # shot id
    extendRequested = Signal(str, str)  # item id, "forward" | "backward"
    fillGapRequested = Signal(str, int, int)  # track id, gap start, gap end
    messageRaised = Signal(str, str)  # message for the filmmaker, technical detail

    def __init__(
        self,
        document: Document,
        undo_stack: QUndoStack,
        frames: FrameSource,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._document = document
        self._undo_stack = undo_stack
        self._frames = frames
        self._zoom = DEFAULT_ZOOM
        self._playhead = 0
        self._selection: Selection = NOTHING
        self._hover: object = None
        self._trim_hover: tuple[str, str] | None = None  # (item id, "left" | "right")
        self._drag: Drag | None = None
        self._drag_serial = 0
        self._snap_frame: int | None = None
        self._status = ""
        self._rendering: set[str] = set()
        self._stale: set[str] = set()
        self._blocks: dict[str, BlockItem] = {}
        self._gaps: dict[str, list[GapItem]] = {}
        self._rows: list[str] = []  # track ids, top row first (the last track of the project on top)
        self._preview_images: dict[tuple[str, int, int], QImage] = {}
        self._importer = ClipImporter(document, undo_stack, self)
        self._importer.messageRaised.connect(self.messageRaised)
        self._importer.statusChanged.connect(self._show_status)

        self.setScene(QGraphicsScene(self))
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)
        self.viewport().setMouseTracking(True)
        self.setViewportMargins(HEADER_WIDTH, RULER_HEIGHT, 0, 0)
        self.setMinimumHeight(RULER_HEIGHT + 2 * TRACK_HEIGHT + 20)
        self.ruler = Ruler(self)
        self.headers = TrackHeaders(self)
        self.horizontalScrollBar().valueChanged.connect(self._on_scrolled)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self.setStatusTip(
            "Click a shot to select it; drag to move, drag its edges to trim; right-click for more"
        )

        document.changed.connect(self._on_project_changed)
        frames.ready.connect(self._on_media_ready)
        frames.failed.connect(self._on_media_ready)
        frames.previewChanged.connect(self._on_preview_changed)
        self._rebuild(set(t.id for t in document.project.tracks), full=True)

    # --- public API -----------------------------------------------------------------------------------------
    def set_playhead(self, frame: int) -> None:
        """Move the playhead to `frame` (scrolling it into view); emits `playheadMoved` when it moves."""
        frame = max(0, int(frame))
        if frame == self._playhead:
            return
        old = self._playhead
        self._playhead = frame
        self._repaint_columns(old, frame)
        if self._drag is None:
            self._scroll_to_frame(frame)
        self.ruler.update()
        self.headers.update()
        self.playheadMoved.emit(frame)

    def playhead(self) -> int:
        return self._playhead

    def selection(self) -> Selection:
        """The current selection (an item's `start`/`end`/`track_id` are where it is now)."""
        selection = self._selection
        if selection.is_item and selection.item_id is not None:
            found = self._document.project.find(selection.item_id)
            if found is not None:
                track, item = found
                return replace(selection, track_id=track.id, start=item.start, end=item.end)
        return selection

    def select_item(self, item_id: str | None) -> None:
        """Select a shot or clip by id (None or an unknown id: select nothing)."""
        found = None if item_id is None else self._document.project.find(item_id)
        if found is None:
            self._set_selection(NOTHING)
            return
        track, item = found
        self._set_selection(Selection("item", item.id, track.id, item.start, item.end))

    def select_gap(self, track_id: str, start: int) -> None:
        """Select the gap of `track_id` that contains frame `start` (nothing if there is none)."""
        try:
            track = self._document.project.track(track_id)
        except KeyError:
            self._set_selection(NOTHING)
            return
        for gap in find_gaps(track):
            if gap.range.contains(start):
                self._set_selection(Selection("gap", None, track_id, gap.range.start, gap.range.end))
                return
        self._set_selection(NOTHING)

    def clear_selection(self) -> None:
        self._set_selection(NOTHING)

    def zoom(self) -> float:
        """Pixels per frame."""
        return self._zoom

    def set_zoom(self, px_per_frame: float, anchor_x: float | None = None) -> None:
        """Zoom to `px_per_frame`, keeping the frame at viewport x `anchor_x` where it is (default: the
        playhead when visible, else the left edge)."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, float(px_per_frame)))
        if zoom == self._zoom:
            return
        if anchor_x is None:
            x = self.frame_to_x(self._playhead)
            anchor_x = x if 0 <= x <= self.viewport().width() else 0.0
        anchor_frame = self._scene_frame(anchor_x)
        self._zoom = zoom
        self._layout_all()
        self.horizontalScrollBar().setValue(round(anchor_frame * zoom - anchor_x))
        self._on_scrolled()

    def set_rendering(self, shot_id: str, on: bool) -> None:
        """Mark a shot's block as rendering (a badge, and the live preview instead of its take)."""
        if on:
            self._rendering.add(shot_id)
        else:
            self._rendering.discard(shot_id)
            self._drop_preview_images(shot_id)
        block = self._blocks.get(shot_id)
        if block is not None:
            block.update()

    def snap_indicator(self) -> int | None:
        """The frame of the snap line shown while dragging, or None."""
        return self._snap_frame

    def status_message(self) -> str:
        """The last message shown in the status bar (why a move was refused, …)."""
        return self._status

    # --- geometry helpers (viewport coordinates; tests use them too) ----------------------------------------
    def frame_to_x(self, frame: float) -> float:
        """The viewport x of the left edge of `frame`."""
        return frame * self._zoom - self._origin().x()

    def x_to_frame(self, x: float) -> int:
        """The frame boundary nearest to viewport x (where an edge or the playhead would land)."""
        return round(self._scene_frame(x))

    def frame_at_x(self, x: float) -> int:
        """The frame under viewport x."""
        return math.floor(self._scene_frame(x))

    def track_y(self, track_id: str) -> float:
        """The viewport y of the middle of a track's row."""
        return self._row_top(self._rows.index(track_id)) + TRACK_HEIGHT / 2 - self._origin().y()

    def item_rect(self, item_id: str) -> QRectF:
        """A block's rectangle in viewport coordinates."""
        block = self._blocks[item_id]
        rect = block.mapRectToScene(QRectF(0, 0, block.item.duration * self._zoom, self._block_height()))
        return rect.translated(-self._origin())

    def item_at(self, pos: QPointF | QPoint) -> Hit:
        """What is under a viewport position: an item (and whether near its edge), a gap, or nothing."""
        point = QPointF(pos)
        origin = self._origin()
        scene_y = point.y() + origin.y()
        row = math.floor(scene_y / TRACK_HEIGHT)
        if scene_y < 0 or row >= len(self._rows):
            return Hit(None)
        track = self._document.project.track(self._rows[row])
        at = (point.x() + origin.x()) / self._zoom  # frames, fractional
        for item in track.items:
            if item.start <= at < item.end:
                width = item.duration * self._zoom
                grip = min(EDGE_GRIP, width / 4)
                offset = (at - item.start) * self._zoom
                edge = "left" if offset < grip else "right" if width - offset <= grip else None
                return Hit("item", track.id, item.id, edge, item.start, item.end)
        for gap in find_gaps(track):
            if gap.range.start <= at < gap.range.end:
                return Hit("gap", track.id, None, None, gap.range.start, gap.range.end)
        return Hit("empty", track.id)

    def track_rows(self) -> list[tuple[Track, float, float]]:
        """(track, viewport top, height) of each row, top first (for the track headers)."""
        project = self._document.project
        top = -self._origin().y()
        return [
            (project.track(tid), top + self._row_top(row), TRACK_HEIGHT) for row, tid in enumerate(self._rows)
        ]

    def fps(self) -> Fraction:
        """The project's frame rate."""
        return self._document.project.fps

    # --- painting -------------------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, EMPTY_AREA)
        for row in range(len(self._rows)):
            top = self._row_top(row)
            band = QRectF(rect.left(), top, rect.width(), TRACK_HEIGHT - 1)
            if band.intersects(rect):
                painter.fillRect(band, ROW_COLOURS[row % 2])

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        bottom = max(rect.bottom(), self._row_top(len(self._rows)))
        if self._snap_frame is not None:
            x = self._snap_frame * self._zoom
            painter.setPen(QPen(SNAP_LINE, 1, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, bottom))
        x = self._playhead * self._zoom
        if rect.left() - 2 <= x <= rect.right() + 2:
            painter.setPen(QPen(PLAYHEAD, 1.5))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, bottom))

    # --- BlockHost: what the items ask while painting -------------------------------------------------------
    def is_selected_item(self, item_id: str) -> bool:
        return self._selection.is_item and self._selection.item_id == item_id

    def is_selected_gap(self, track_id: str, start: int) -> bool:
        selection = self._selection
        return selection.is_gap and selection.track_id == track_id and selection.start == start

    def is_hovered(self, key: object) -> bool:
        return self._hover == key

    def is_rendering(self, shot_id: str) -> bool:
        return shot_id in self._rendering

    def is_stale_shot(self, shot_id: str) -> bool:
        return shot_id in self._stale

    def trim_edge(self, item_id: str) -> str | None:
        if self._trim_hover is not None and self._trim_hover[0] == item_id:
            return self._trim_hover[1]
        return None

    def frame_aspect(self) -> float:
        project = self._document.project
        return project.width / project.height

    def item_media(self, item: Item) -> tuple[str | None, bool]:
        """(the file a block shows, whether it failed to decode); (None, False) for a shot with no take."""
        if isinstance(item, Shot):
            take = item.current
            if take is None:
                return None, False
            path = str(resolve_take(self._document.path, take.media_path))
        else:
            path = str(resolve_clip(self._document.path, item.media_path))
        return path, self._frames.error(path) is not None

    def thumbnail(self, path: str, index: int, height: int) -> QImage | None:
        return self._frames.image(path, index, max_height=height)

    def preview_thumbnail(self, shot_id: str, fraction: float, height: int) -> QImage | None:
        frames = self._frames.preview(shot_id)
        if frames is None or len(frames) == 0:
            return None
        index = min(len(frames) - 1, int(fraction * len(frames)))
        key = (shot_id, index, height)
        image = self._preview_images.get(key)
        if image is None:
            image = to_qimage(frames[index], height)
            self._preview_images[key] = image
        return image

    # --- inside: edits --------------------------------------------------------------------------------------
    def _edit(
        self, text: str, edit: Callable[..., Project], *args: object, quiet: bool = False, **kwargs: object
    ) -> bool:
        """Push one undoable edit; an `EditError` goes to the status bar (or is returned quietly)."""
        try:
            push_edit(self._undo_stack, self._document, text, edit, *args, **kwargs)
        except EditError as error:
            if not quiet:
                self._show_status(error.message)
            return False
        return True

    def _show_status(self, text: str) -> None:
        self._status = text
        QApplication.sendEvent(self, QStatusTipEvent(text))

    # --- inside: selection and hover ------------------------------------------------------------------------
    def _set_selection(self, selection: Selection) -> None:
        if _same(selection, self._selection):
            self._selection = selection
            return
        old, self._selection = self._selection, selection
        self._update_for(old)
        self._update_for(selection)
        self.selectionChanged.emit(self.selection())

    def _update_for(self, selection: Selection) -> None:
        if selection.is_item and selection.item_id in self._blocks:
            self._blocks[selection.item_id].update()
        elif selection.is_gap:
            for gap in self._gaps.get(selection.track_id or "", []):
                if gap.start == selection.start:
                    gap.update()

    def _set_hover(self, key: object) -> None:
        if key == self._hover:
            return
        for old in (self._hover, key):
            self._update_key(old)
        self._hover = key
        self._update_key(key)

    def _update_key(self, key: object) -> None:
        if not isinstance(key, tuple):
            return
        if key[0] == "item" and key[1] in self._blocks:
            self._blocks[key[1]].update()
        elif key[0] == "gap":
            for gap in self._gaps.get(key[1], []):
                if gap.start == key[2]:
                    gap.update()

    def _set_trim_hover(self, trim: tuple[str, str] | None) -> None:
        if trim == self._trim_hover:
            return
        for old in (self._trim_hover, trim):
            if old is not None and old[0] in self._blocks:
                self._blocks[old[0]].update()
        self._trim_hover = trim

    def _set_snap_frame(self, frame: int | None) -> None:
        if frame == self._snap_frame:
            return
        old, self._snap_frame = self._snap_frame, frame
        self._repaint_columns(old, frame)

    def _repaint_columns(self, *frames: int | None) -> None:
        height = max(self._row_top(len(self._rows)), self.viewport().height() + self._origin().y())
        for frame in frames:
            if frame is not None:
                x = frame * self._zoom
                self.scene().update(QRectF(x - 3, -1, 6, height + 2))  # only the playhead's columns

    # --- inside: building the scene from the project --------------------------------------------------------
    def _on_project_changed(self, change: Change) -> None:
        try:
            if self.scene() is None:
                return
        except RuntimeError:  # the widget was deleted while the document lives on
            self._document.changed.disconnect(self._on_project_changed)
            return
        full = change.project or [t.id for t in change.before.tracks] != [t.id for t in change.after.tracks]
        self._rebuild(set(change.tracks), full=full)

    def _rebuild(self, track_ids: set[str], full: bool) -> None:
        """Rebuild the blocks and gaps of `track_ids` (all of them when `full`) from the document."""
        project = self._document.project
        self._rows = [track.id for track in reversed(project.tracks)]
        self._stale = set(stale_shots(project))
        if full:
            track_ids = {track.id for track in project.tracks} | set(self._gaps)
        present: set[str] = set()
        for track in project.tracks:
            present.update(item.id for item in track.items)
        for item_id in [i for i in self._blocks if i not in present]:
            self.scene().removeItem(self._blocks.pop(item_id))
        for track_id in track_ids:
            for gap in self._gaps.pop(track_id, []):
                self.scene().removeItem(gap)
        for track in project.tracks:
            if track.id in track_ids:
                self._build_track(track)
        self._refresh_selection()
        self._layout_scene_rect()
        for block in self._blocks.values():
            block.update()
        self.viewport().update()
        self.headers.update()
        self.ruler.update()

    def _build_track(self, track: Track) -> None:
        row = self._rows.index(track.id)
        top = self._row_top(row)
        for item in track.items:
            block = self._blocks.get(item.id)
            if block is None:
                block = BlockItem(self, item, track.id)
                self._blocks[item.id] = block
                self.scene().addItem(block)
            block.place(
                item,
                track.id,
                item.start * self._zoom,
                top + BLOCK_MARGIN,
                item.duration * self._zoom,
                self._block_height(),
            )
        gaps: list[GapItem] = []
        for gap in find_gaps(track):
            gap_item = GapItem(self, track.id, gap.range.start, gap.range.end, gap.can_bridge)
            gap_item.place(
                gap.range.start * self._zoom,
                top + BLOCK_MARGIN,
                gap.range.duration * self._zoom,
                self._block_height(),
            )
            self.scene().addItem(gap_item)
            gaps.append(gap_item)
        self._gaps[track.id] = gaps

    def _layout_all(self) -> None:
        """Re-place every block and gap for a new zoom."""
        project = self._document.project
        for track in project.tracks:
            top = self._row_top(self._rows.index(track.id))
            for item in track.items:
                self._blocks[item.id].place(
                    item,
                    track.id,
                    item.start * self._zoom,
                    top + BLOCK_MARGIN,
                    item.duration * self._zoom,
                    self._block_height(),
                )
            for gap in self._gaps.get(track.id, []):
                gap.place(
                    gap.start * self._zoom,
                    top + BLOCK_MARGIN,
                    (gap.end - gap.start) * self._zoom,
                    self._block_height(),
                )
        self._layout_scene_rect()
        self.viewport().update()

    def _layout_scene_rect(self) -> None:
        width = self._document.project.duration * self._zoom + max(TAIL_PIXELS, self.viewport().width())
        height = max(1, len(self._rows)) * TRACK_HEIGHT
        self.setSceneRect(QRectF(0, 0, width, height))

    def _refresh_selection(self) -> None:
        """Keep the selection in step with the project: a removed item or a filled gap is deselected."""
        selection = self._selection
        if selection.is_item:
            self.select_item(selection.item_id)
        elif selection.is_gap and selection.track_id is not None:
            try:
                track = self._document.project.track(selection.track_id)
            except KeyError:
                self._set_selection(NOTHING)
                return
            if not any(
                g.range.start == selection.start and g.range.end == selection.end for g in find_gaps(track)
            ):
                self._set_selection(NOTHING)

    # --- inside: frames -------------------------------------------------------------------------------------
    def _on_media_ready(self, path: str) -> None:
        for block in self._blocks.values():
            shown, _ = self.item_media(block.item)
            if shown is not None and shown == path:
                block.update()

    def _on_preview_changed(self, shot_id: str) -> None:
        self._drop_preview_images(shot_id)
        block = self._blocks.get(shot_id)
        if block is not None:
            block.update()

    def _drop_preview_images(self, shot_id: str) -> None:
        for key in [k for k in self._preview_images if k[0] == shot_id]:
            del self._preview_images[key]

    # --- inside: coordinates --------------------------------------------------------------------------------
    def _origin(self) -> QPointF:
        """The scene point at the viewport's top-left corner."""
        return self.mapToScene(QPoint(0, 0))

    def _scene_frame(self, x: float) -> float:
        return (x + self._origin().x()) / self._zoom

    @staticmethod
    def _row_top(row: int) -> float:
        return row * TRACK_HEIGHT

    @staticmethod
    def _block_height() -> float:
        return TRACK_HEIGHT - 2 * BLOCK_MARGIN

    def _track_near(self, y: float) -> str | None:
        """The track of the row at viewport y, the top or bottom one when above or below them all."""
        if not self._rows:
            return None
        row = math.floor((y + self._origin().y()) / TRACK_HEIGHT)
        return self._rows[min(len(self._rows) - 1, max(0, row))]

    def _scroll_to_frame(self, frame: int) -> None:
        x = self.frame_to_x(frame)
        width = self.viewport().width()
        if width > 0 and not 0 <= x <= width:
            bar = self.horizontalScrollBar()
            bar.setValue(round(frame * self._zoom - width * 0.1))

    def _on_scrolled(self) -> None:
        self.ruler.update()
        self.headers.update()

    def _place_margins(self) -> None:
        if not hasattr(self, "headers"):
            return
        viewport = self.viewport().geometry()
        self.ruler.setGeometry(viewport.left(), viewport.top() - RULER_HEIGHT, viewport.width(), RULER_HEIGHT)
        self.headers.setGeometry(
            viewport.left() - HEADER_WIDTH,
            viewport.top() - RULER_HEIGHT,
            HEADER_WIDTH,
            viewport.height() + RULER_HEIGHT,
        )

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        self._place_margins()
        self._layout_scene_rect()

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._place_margins()
        return super().viewportEvent(event)


def _same(a: Selection, b: Selection) -> bool:
    """Whether two selections name the same thing (an item's position may differ)."""
    if a.kind != b.kind:
        return False
    if a.is_item:
        return a.item_id == b.item_id
    if a.is_gap:
        return (a.track_id, a.start, a.end) == (b.track_id, b.start, b.end)
    return True
