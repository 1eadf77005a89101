"""The timeline's pointer: clicks that select, drags that move and trim (with snapping), the wheel that
scrolls and zooms, the right-click menu, and files dropped from the desktop.

`TimelinePointer` is mixed into `TimelineView` (it uses the view's hit tests, selection, document and undo
stack). A drag pushes one merged edit per mouse move, so a whole drag is one undo step; Shift while
dragging turns snapping off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import (
    QContextMenuEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QMouseEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QApplication

from app.document import edits
from app.document.schema import item_kind

if TYPE_CHECKING:
    from app.ui.timeline import TimelineView

    _Base = TimelineView
else:
    _Base = object

SNAP_PIXELS = 8  # how near (on screen) an edge must come to snap


@dataclass
class Drag:
    """A press on a block that may become a move or a trim."""

    mode: str  # "move" | "trim_start" | "trim_end"
    item_id: str
    press: QPointF
    grab: float  # frames between the item's start and the pointer
    serial: int
    moved: bool = False


class TimelinePointer(_Base):
    """Mouse, wheel, context-menu and file-drop handling of the timeline."""

    # --- drag and drop of files -----------------------------------------------------------------------------
    def drop_mime(self, mime: QMimeData, pos: QPointF | QPoint) -> bool:
        """Import the local files in `mime` onto the track under viewport `pos`, at its frame. The files are
        probed on a worker thread; the clips land in one undo step. Returns False if nothing to import."""
        paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        if not paths:
            return False
        project = self._document.project
        hit = self.item_at(pos)
        track_id = hit.track_id
        if track_id is None:
            if not self._rows:
                self.messageRaised.emit("Add a track before importing clips.", "the project has no tracks")
                return False
            y = QPointF(pos).y() + self._origin().y()
            track_id = self._rows[0] if y < 0 else self._rows[-1]
        frame = max(0, self.x_to_frame(QPointF(pos).x()))
        if self._document.project.settings.snapping:
            frame = edits.snap(project, frame, self._snap_threshold(), playhead=self._playhead)
        self._importer.import_files(paths, track_id, frame)
        return True

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        """For tests: wait until every dropped file was probed and imported (runs the event loop)."""
        return self._importer.wait_idle(timeout_ms)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            hit = self.item_at(event.position())
            self._set_hover(None if hit.kind != "gap" else ("gap", hit.track_id, hit.start))
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.drop_mime(event.mimeData(), event.position()):
            event.acceptProposedAction()
        else:
            event.ignore()

    # --- mouse, keys, wheel ---------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        if event.button() != Qt.MouseButton.LeftButton:
            event.accept()
            return
        self._show_status("")
        pos = event.position()
        hit = self.item_at(pos)
        if hit.kind == "item" and hit.item_id is not None:
            self.select_item(hit.item_id)
            mode = {"left": "trim_start", "right": "trim_end"}.get(hit.edge or "", "move")
            self._drag_serial += 1
            grab = self._scene_frame(pos.x()) - hit.start
            self._drag = Drag(mode, hit.item_id, QPointF(pos), grab, self._drag_serial)
        elif hit.kind == "gap" and hit.track_id is not None:
            self.select_gap(hit.track_id, hit.start)
        else:
            self.clear_selection()
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._drag is not None:
            self._drag_to(pos, event.modifiers())
            event.accept()
            return
        hit = self.item_at(pos)
        if hit.kind == "item":
            self._set_hover(("item", hit.item_id))
            trim = (hit.item_id, hit.edge) if hit.edge is not None else None
        else:
            self._set_hover(("gap", hit.track_id, hit.start) if hit.kind == "gap" else None)
            trim = None
        self._set_trim_hover(trim)
        if trim is not None:
            self.viewport().setCursor(Qt.CursorShape.SizeHorCursor)
        elif hit.kind in ("item", "gap"):
            self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        else:
            self.viewport().unsetCursor()
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag = None
            self._set_snap_frame(None)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.mousePressEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._drag is None:
            self._set_hover(None)
            self._set_trim_hover(None)
        super().leaveEvent(event)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        hit = self.item_at(event.pos())
        if hit.kind == "item":
            self.select_item(hit.item_id)
        elif hit.kind == "gap" and hit.track_id is not None:
            self.select_gap(hit.track_id, hit.start)
        menu = self.context_menu()
        if menu is not None:
            menu.exec(event.globalPos())
            menu.deleteLater()
        event.accept()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            if delta:
                self.set_zoom(self._zoom * 1.25 ** (delta / 120), anchor_x=event.position().x())
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - delta // 2)
        else:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - delta)
        event.accept()

    # --- inside: dragging blocks ----------------------------------------------------------------------------
    def _drag_to(self, pos: QPointF, modifiers: Qt.KeyboardModifier) -> None:
        drag = self._drag
        assert drag is not None
        if not drag.moved:
            if (pos - drag.press).manhattanLength() < QApplication.startDragDistance():
                return
            drag.moved = True
        found = self._document.project.find(drag.item_id)
        if found is None:  # deleted under the pointer (an undo from the menu…)
            self._drag = None
            return
        track, item = found
        project = self._document.project
        snapping = project.settings.snapping and not (modifiers & Qt.KeyboardModifier.ShiftModifier)
        threshold = self._snap_threshold()
        points = (
            set(edits.snap_points(project, playhead=self._playhead, exclude=(item.id,)))
            if snapping
            else set()
        )
        if drag.mode == "move":
            start = max(0, round(self._scene_frame(pos.x()) - drag.grab))
            if snapping:
                start = edits.snap_move(project, item.id, start, threshold, playhead=self._playhead)
            edge = (
                start
                if start in points
                else start + item.duration
                if start + item.duration in points
                else None
            )
            self._set_snap_frame(edge)
            target = self._track_near(pos.y()) or track.id
            if start == item.start and target == track.id:
                return
            self._edit(
                f"Move {item_kind(item)}",
                edits.move_item,
                item.id,
                start=start,
                track_id=None if target == track.id else target,
                merge_key=("move", item.id, drag.serial),
            )
            return
        frame = max(0, self.x_to_frame(pos.x()))
        if snapping:
            frame = edits.snap(project, frame, threshold, playhead=self._playhead, exclude=(item.id,))
        self._set_snap_frame(frame if frame in points else None)
        if drag.mode == "trim_start" and frame != item.start:
            self._edit(
                f"Trim {item_kind(item)}",
                edits.trim_start,
                item.id,
                frame,
                merge_key=("trim", item.id, drag.serial),
            )
        elif drag.mode == "trim_end" and frame != item.end:
            self._edit(
                f"Trim {item_kind(item)}",
                edits.trim_end,
                item.id,
                frame,
                merge_key=("trim", item.id, drag.serial),
            )

    def _snap_threshold(self) -> int:
        return max(1, round(SNAP_PIXELS / self._zoom))
