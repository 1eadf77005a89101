"""File → Import OpenTimelineIO…: read and probe on a worker, lay the clips out in one undo step.

```
import_file("edit.otio")
  worker: read_otio (the file, the media it points at) → link_imported_takes (into NAME.media/)
  Qt thread: push_edit("Import OpenTimelineIO", apply_import, plan) → imported(count, problems)
```
A file Shotline cannot read raises `messageRaised(message, detail)` and changes nothing; what the file
holds that Shotline cannot keep comes back as `problems` (sentences) for the window to list.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop, QObject, Qt, Signal
from PySide6.QtGui import QUndoStack

from app.bridge import error_from
from app.commands import push_edit
from app.document.errors import EditError
from app.document.events import Document
from app.document.schema import Project
from app.export.otio_io import OtioImport, apply_import, link_imported_takes, read_otio
from engine.errors import ShotlineError

__all__ = ["OtioImporter"]


class OtioImporter(QObject):
    """Imports `.otio` files into one document through its undo stack (see the module docstring)."""

    imported = Signal(int, object)  # items placed, problems (tuple of sentences)
    messageRaised = Signal(str, str)  # message, detail: the file could not be imported
    _read = Signal(object, object)  # plan or None, error or None; emitted on the worker

    def __init__(self, document: Document, undo_stack: QUndoStack, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._document = document
        self._undo_stack = undo_stack
        self._worker: threading.Thread | None = None
        self._read.connect(self._on_read, Qt.ConnectionType.QueuedConnection)

    def import_file(self, path: str | Path) -> None:
        """Start importing `path` (returns at once)."""
        if self._worker is not None:
            return
        project, project_path = self._document.project, self._document.path
        self._worker = threading.Thread(
            target=self._work, args=(Path(path), project, project_path), name="shotline-otio", daemon=True
        )
        self._worker.start()

    def busy(self) -> bool:
        return self._worker is not None

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """For tests: run the event loop until the import finished. False on timeout."""
        deadline = QDeadlineTimer(timeout_ms)
        while self._worker is not None:
            if deadline.hasExpired():
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return True

    def _work(self, path: Path, project: Project, project_path: Path | None) -> None:
        try:
            plan = read_otio(path, project, project_path)
            link_imported_takes(plan, project_path)
            self._read.emit(plan, None)
        except Exception as error:  # reported on the Qt thread
            self._read.emit(None, error)

    def _on_read(self, plan: OtioImport | None, error: BaseException | None) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.join(timeout=5)
        if error is not None or plan is None:
            failure = error_from(error or ShotlineError("Nothing was read."))
            self.messageRaised.emit(failure.message, failure.detail)
            return
        try:
            push_edit(self._undo_stack, self._document, "Import OpenTimelineIO", apply_import, plan)
        except (EditError, ValueError) as failure:
            message = failure.message if isinstance(failure, EditError) else str(failure)
            self.messageRaised.emit(f"The timeline could not be laid out: {message}", repr(failure))
            return
        self.imported.emit(plan.item_count, plan.problems)
