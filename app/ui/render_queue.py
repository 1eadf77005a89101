"""The render-queue panel: each render with its progress and time left; cancel, re-order and retry."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import edits
from app.render_service import Entry, RenderService

STATE_WORDS = {
    "waiting": "Waiting for its neighbour",
    "preparing": "Preparing",
    "queued": "Queued",
    "running": "Rendering",
    "failed": "Failed",
}


def eta_text(seconds: float) -> str:
    """'about 12 s left', 'about 3 min left', or '' when unknown."""
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"about {max(1, round(seconds))} s left"
    return f"about {round(seconds / 60)} min left"


class JobRow(QFrame):
    """One render: what it is, its state, a progress bar, and its buttons."""

    def __init__(self, panel: RenderQueuePanel, entry: Entry) -> None:
        super().__init__(panel)
        self.entry_id = entry.id
        self.setObjectName("jobRow")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setProperty("role", "heading")
        self.state = QLabel()
        self.state.setProperty("role", "hint")
        self.state.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.cancel_button = _tool("✕", "Cancel this render", lambda: panel.service.cancel(entry.id))
        self.up_button = _tool("▲", "Render earlier", lambda: panel.move(entry.id, -1))
        self.down_button = _tool("▼", "Render later", lambda: panel.move(entry.id, +1))
        self.retry_button = _tool("⟳", "Try this render again", lambda: panel.service.retry(entry.id))
        self.cancel_button.setObjectName("cancelJob")
        self.retry_button.setObjectName("retryJob")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.title, 1)
        for button in (self.up_button, self.down_button, self.retry_button, self.cancel_button):
            top.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.state)

    def show_entry(self, entry: Entry, title: str) -> None:
        self.title.setText(title)
        failed = entry.state == "failed"
        self.retry_button.setVisible(failed)
        self.bar.setVisible(not failed)
        self.cancel_button.setToolTip("Remove from the queue" if failed else "Cancel this render")
        if entry.total:
            self.bar.setRange(0, entry.total)
            self.bar.setValue(entry.step)
            self.bar.setFormat(f"step {entry.step} of {entry.total}")
        else:
            self.bar.setRange(0, 0 if entry.state in ("preparing", "running") else 1)
            self.bar.setFormat("")
        words = STATE_WORDS.get(entry.state, entry.state)
        if failed and entry.error is not None:
            words = f"Failed: {entry.error.message}"
            self.state.setToolTip(entry.error.detail)
            self.state.setProperty("role", "error")
        else:
            eta = eta_text(entry.eta) if entry.state == "running" else ""
            words = f"{words} · {eta}" if eta else words
            self.state.setProperty("role", "hint")
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)
        if entry.notes and not failed:
            words += "\n" + "\n".join(entry.notes)
        self.state.setText(words)


class RenderQueuePanel(QWidget):
    """Lists the render service's queue; rebuilt on `entriesChanged`, bars updated on `progress`."""

    def __init__(self, service: RenderService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("renderQueue")
        self.service = service
        self.rows: dict[str, JobRow] = {}
        self.empty = QLabel("Nothing is rendering. Select a shot and press Generate (G).")
        self.empty.setProperty("role", "hint")
        self.empty.setWordWrap(True)
        self._list = QWidget()
        self._list_layout = QVBoxLayout(self._list)
        self._list_layout.setContentsMargins(6, 6, 6, 6)
        self._list_layout.setSpacing(6)
        self._list_layout.addWidget(self.empty)
        self._list_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll)
        service.entriesChanged.connect(self.rebuild)
        service.progress.connect(self._on_progress)
        self.rebuild()

    def rebuild(self) -> None:
        entries = self.service.entries()
        live = {entry.id for entry in entries}
        for entry_id in [e for e in self.rows if e not in live]:
            row = self.rows.pop(entry_id)
            self._list_layout.removeWidget(row)
            row.deleteLater()
        for index, entry in enumerate(entries):
            row = self.rows.get(entry.id)
            if row is None:
                row = self.rows[entry.id] = JobRow(self, entry)
            self._list_layout.insertWidget(index, row)
            self._show(row, entry, index, len(entries))
        self.empty.setVisible(not entries)

    def move(self, entry_id: str, delta: int) -> None:
        order = [entry.id for entry in self.service.entries()]
        if entry_id in order:
            self.service.move(entry_id, max(0, order.index(entry_id) + delta))

    def _show(self, row: JobRow, entry: Entry, index: int, count: int) -> None:
        project = self.service.document.project
        found = project.find(entry.shot_id)
        title = edits.describe(found[1]) if found is not None else entry.shot_id
        row.show_entry(entry, title[0].upper() + title[1:])
        row.up_button.setEnabled(index > 0)
        row.down_button.setEnabled(index < count - 1)

    def _on_progress(self, entry_id: str) -> None:
        row = self.rows.get(entry_id)
        entries = self.service.entries()
        for index, entry in enumerate(entries):
            if entry.id == entry_id and row is not None:
                self._show(row, entry, index, len(entries))


def _tool(text: str, tip: str, action) -> QToolButton:  # type: ignore[no-untyped-def]
    button = QToolButton(text=text)
    button.setToolTip(tip)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.clicked.connect(action)
    return button
