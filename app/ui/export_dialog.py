"""File → Export…: choose a format and a place; shots without a take are rendered first; then the export runs.

```
Export pressed → settings checked (a sentence under the form when they are wrong)
  shots without a take? → RenderService.generate each (the render queue shows them too)
                          bar: shots rendered so far · time left     Cancel cancels those renders
  all have takes        → ExportRunner: export_project on a worker thread, a snapshot of the project
                          bar: frame n of N · time left              Cancel stops before the next frame
  finished              → "Exported 132 frames to edit.mp4" (and `exported(result)`)
```
The Qt thread never encodes or decodes: progress arrives as queued signals from the worker.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop, QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.bridge import error_from
from app.document.events import Document
from app.document.schema import Project
from app.export import (
    FORMAT_LABELS,
    FORMATS,
    ExportCancelled,
    ExportProgress,
    ExportResult,
    ExportSettings,
    c2pa_signing,
    export_project,
)
from app.export.missing_takes import shots_to_render
from app.export.settings import DEFAULT_CRF, SIGNABLE_FORMATS, SUFFIX_OF, export_settings
from app.render_service import RenderService
from app.ui.error_dialog import show_error
from app.ui.render_queue import eta_text
from engine.errors import ShotlineError

__all__ = ["ExportDialog", "ExportRunner", "choose_export_path"]


def choose_export_path(parent: QWidget | None, format: str, suggested: str) -> Path | None:
    """Ask where to export (tests replace this)."""
    if format == "png":
        folder = QFileDialog.getExistingDirectory(parent, "Export PNG frames into folder", suggested)
        return Path(folder) if folder else None
    suffix = SUFFIX_OF[format]
    path, _ = QFileDialog.getSaveFileName(parent, "Export", suggested, f"{FORMAT_LABELS[format]} (*{suffix})")
    if not path:
        return None
    return Path(path) if path.lower().endswith(suffix) else Path(path + suffix)


class ExportRunner(QObject):
    """Runs one export on a worker thread. Signals arrive on the Qt thread: `progress(ExportProgress)`, then
    `finished(result)`, `cancelled()` or `failed(ShotlineError)`."""

    progress = Signal(object)
    finished = Signal(object)
    cancelled = Signal()
    failed = Signal(object)
    _done = Signal(object, object)  # result or None, error or None; emitted on the worker

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done.connect(self._on_done, Qt.ConnectionType.QueuedConnection)

    def start(self, project: Project, project_path: Path | None, settings: ExportSettings) -> None:
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(project, project_path, settings), name="shotline-export", daemon=True
        )
        self._thread.start()

    def cancel(self) -> None:
        self._stop.set()

    def busy(self) -> bool:
        return self._thread is not None

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel and wait for the worker (closing the app): the partial file is removed before it ends."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, project: Project, project_path: Path | None, settings: ExportSettings) -> None:
        try:
            result = export_project(
                project, project_path, settings, progress=self.progress.emit, should_stop=self._stop.is_set
            )
            self._done.emit(result, None)
        except BaseException as error:  # reported on the Qt thread
            self._done.emit(None, error)

    def _on_done(self, result: object, error: object) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)
        if isinstance(error, ExportCancelled):
            self.cancelled.emit()
        elif error is not None:
            self.failed.emit(error_from(error))  # type: ignore[arg-type]  # any exception
        else:
            self.finished.emit(result)


class ExportDialog(QDialog):
    """Export the open document; see the module docstring. `exported(ExportResult)` when a file is written."""

    exported = Signal(object)

    def __init__(self, document: Document, service: RenderService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.document = document
        self.service = service
        self.runner = ExportRunner(self)
        self._waiting: set[str] = set()  # shots whose takes the export waits for
        self._queued: list[str] = []  # render entries this dialog started
        self._listening = False  # connected to the render service's signals
        self._render_total = 0
        self._started = 0.0
        self._settings: ExportSettings | None = None

        self.format_box = QComboBox()
        for name in FORMATS:
            self.format_box.addItem(FORMAT_LABELS[name], name)
        self.path_edit = QLineEdit()
        self.browse_button = QPushButton("Choose…")
        self.crf_box = QSpinBox()
        self.crf_box.setRange(0, 51)
        self.crf_box.setValue(DEFAULT_CRF)
        self.crf_box.setToolTip("H.264 quality: 0 is best, 51 smallest; 18 looks like the original")
        self.sign_box = QCheckBox("Sign with C2PA Content Credentials (a key made on this computer)")
        self.sign_box.setToolTip(
            "Embeds a signed manifest saying the video was made by a trained algorithm."
            if c2pa_signing.is_available()
            else c2pa_signing.INSTALL_HINT
        )
        self.status = QLabel("The sequence as the timeline shows it, with provenance metadata.")
        self.status.setWordWrap(True)
        self.status.setProperty("role", "hint")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.eta = QLabel()
        self.eta.setProperty("role", "hint")
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        self.close_button = QPushButton("Close")

        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Format", self.format_box)
        form.addRow("Save to", path_row)
        form.addRow("Quality (CRF)", self.crf_box)
        form.addRow("", self.sign_box)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.export_button, self.cancel_button, self.close_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.bar)
        layout.addWidget(self.eta)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.resize(560, self.sizeHint().height())

        self.format_box.currentIndexChanged.connect(self._on_format)
        self.browse_button.clicked.connect(self._browse)
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.runner.progress.connect(self._on_export_progress)
        self.runner.finished.connect(self._on_exported)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.failed.connect(self._on_failed)
        self.path_edit.setText(str(self._suggested_path("mp4")))
        self._on_format()
        self._set_busy(False)

    # --- the form ------------------------------------------------------------------------------------
    def format(self) -> str:
        return self.format_box.currentData()

    def set_format(self, name: str) -> None:
        self.format_box.setCurrentIndex(FORMATS.index(name))

    def set_path(self, path: str | Path) -> None:
        self.path_edit.setText(str(path))

    def _suggested_path(self, format: str) -> Path:
        path = self.document.path
        folder = path.parent if path is not None else Path.home()
        stem = path.stem if path is not None else self.document.project.name
        return folder / (f"{stem}-frames" if format == "png" else f"{stem}{SUFFIX_OF[format]}")

    def _on_format(self) -> None:
        format = self.format()
        text = self.path_edit.text().strip()
        if text:  # keep the name, change what it ends with
            path = Path(text)
            stem = path.stem if path.suffix.lower() in (".mp4", ".mov", ".otio") else path.name
            stem = stem.removesuffix("-frames")
            name = f"{stem}-frames" if format == "png" else f"{stem}{SUFFIX_OF[format]}"
            self.path_edit.setText(str(path.with_name(name)))
        self.crf_box.setEnabled(format == "mp4")
        self.sign_box.setEnabled(format in SIGNABLE_FORMATS and c2pa_signing.is_available())
        if not self.sign_box.isEnabled():
            self.sign_box.setChecked(False)

    def _browse(self) -> None:
        chosen = choose_export_path(self, self.format(), self.path_edit.text())
        if chosen is not None:
            self.path_edit.setText(str(chosen))

    def _set_busy(self, busy: bool) -> None:
        for widget in (self.format_box, self.path_edit, self.browse_button, self.export_button):
            widget.setEnabled(not busy)
        self.crf_box.setEnabled(not busy and self.format() == "mp4")
        self.sign_box.setEnabled(
            not busy and self.format() in SIGNABLE_FORMATS and c2pa_signing.is_available()
        )
        self.cancel_button.setEnabled(busy)

    def _say(self, text: str, role: str = "hint") -> None:
        self.status.setText(text)
        self.status.setProperty("role", role)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    # --- running -------------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return bool(self._waiting) or self.runner.busy()

    def start(self) -> None:
        """Check the form, render shots without a take, then export."""
        if self.is_busy():
            return
        text = self.path_edit.text().strip()
        try:
            self._settings = export_settings(
                text, self.format(), crf=self.crf_box.value(), sign_c2pa=self.sign_box.isChecked()
            )
        except ShotlineError as error:
            self._say(error.message, "error")
            return
        if self.document.project.duration == 0:
            self._say("The timeline is empty: there is nothing to export.", "error")
            return
        self._set_busy(True)
        self._started = time.monotonic()
        missing = shots_to_render(self.document.project)
        if not missing:
            self._export()
            return
        self._waiting = {shot.id for shot in missing}
        self._render_total = len(missing)
        self._queued = []
        self.service.takeAdded.connect(self._on_take)
        self.service.failed.connect(self._on_render_failed)
        self.service.progress.connect(self._on_render_progress)
        self._listening = True
        try:
            for shot in missing:
                if self.service.entry_for(shot.id) is None:
                    self._queued.append(self.service.generate(shot.id))
        except ShotlineError as error:
            self._stop_waiting(cancel_renders=True)
            self._fail(error)
            return
        self._say(f"Rendering {len(missing)} shot(s) without a take first…")
        self._on_render_progress("")

    def cancel(self) -> None:
        """Stop: cancel the renders this export started, or stop the export before its next frame."""
        if self._waiting:
            self._stop_waiting(cancel_renders=True)
            self._on_cancelled()
        elif self.runner.busy():
            self.runner.cancel()
            self._say("Cancelling…")

    def wait_idle(self, timeout_ms: int = 60_000) -> bool:
        """For tests: run the event loop until the export (and its renders) finished. False on timeout."""
        deadline = QDeadlineTimer(timeout_ms)
        while self.is_busy():
            if deadline.hasExpired():
                return False
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)
        return True

    def _stop_waiting(self, cancel_renders: bool) -> None:
        if self._listening:
            self._listening = False
            for signal, slot in (
                (self.service.takeAdded, self._on_take),
                (self.service.failed, self._on_render_failed),
                (self.service.progress, self._on_render_progress),
            ):
                signal.disconnect(slot)
        if cancel_renders:
            for entry_id in self._queued:
                self.service.cancel(entry_id)
        self._waiting, self._queued = set(), []

    def _on_take(self, shot_id: str, _take_id: str) -> None:
        self._waiting.discard(shot_id)
        self._on_render_progress("")
        if not self._waiting:
            self._stop_waiting(cancel_renders=False)
            self._export()

    def _on_render_failed(self, shot_id: str, error: ShotlineError) -> None:
        if shot_id not in self._waiting:
            return
        self._stop_waiting(cancel_renders=True)
        message = f"A shot could not be rendered, so nothing was exported: {error.message}"
        self._fail(ShotlineError(message, error.detail))

    def _on_render_progress(self, _entry_id: str) -> None:
        if not self._waiting:
            return
        running = 0.0
        for shot_id in self._waiting:
            entry = self.service.entry_for(shot_id)
            if entry is not None and entry.total:
                running += entry.step / entry.total
        done = self._render_total - len(self._waiting) + running
        fraction = done / self._render_total
        self.bar.setRange(0, 1000)
        self.bar.setValue(round(1000 * fraction))
        self.bar.setFormat(
            f"rendering: {self._render_total - len(self._waiting)} of {self._render_total} shots"
        )
        self._show_eta(fraction)

    def _export(self) -> None:
        assert self._settings is not None
        self._say(f"Exporting to {self._settings.out.name}…")
        self.bar.setRange(0, max(1, self.document.project.duration))
        self.bar.setValue(0)
        self.bar.setFormat("frame %v of %m")
        self.runner.start(self.document.project, self.document.path, self._settings)

    def _show_eta(self, fraction: float) -> None:
        elapsed = time.monotonic() - self._started
        self.eta.setText(eta_text(elapsed / fraction * (1 - fraction)) if fraction > 0.02 else "")

    def _on_export_progress(self, progress: ExportProgress) -> None:
        self.bar.setRange(0, max(1, progress.total))
        self.bar.setValue(progress.done)
        eta = progress.eta_seconds
        self.eta.setText("" if eta is None else eta_text(eta))

    def _on_exported(self, result: ExportResult) -> None:
        self._set_busy(False)
        self.eta.setText("")
        signed = ", signed (C2PA)" if result.signed else ""
        self._say(
            f"Exported {result.frames} frames to {result.path.name}{signed} in {result.seconds:.1f} s; "
            f"provenance in {result.sidecar.name}."
        )
        self.exported.emit(result)

    def _on_cancelled(self) -> None:
        self._set_busy(False)
        self.bar.setValue(0)
        self.eta.setText("")
        self._say("Export cancelled; no file was written.")

    def _on_failed(self, error: ShotlineError) -> None:
        self._fail(error)

    def _fail(self, error: ShotlineError) -> None:
        self._set_busy(False)
        self.eta.setText("")
        self._say(error.message, "error")
        show_error(self, "Export failed", error)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()
        super().closeEvent(event)
