"""The main window: viewer over timeline, the shot inspector, render queue and history docks, menus, files.

```
┌ File Edit Shot Help ─────────────────────────────────────┬──────────────┐
│                 Viewer (the sequence at the playhead)     │  Inspector   │
├───────────────────────────────────────────────────────────┤  (the shot)  │
│                 Timeline (tracks, shots, gaps)            ├──────────────┤
│                                                           │ Queue|History│
└───────────────────────────────────────────────────────────┴──────────────┘
```
One document at a time. Opening or creating a project builds fresh views over the new `Document`; the
engine bridge (and its loaded models) and the frame cache live as long as the window. Questions to the
filmmaker go through `ask` and file dialogs through `choose_open_path` / `choose_save_path` /
`choose_otio_path`, module functions tests replace. File → Export… opens `ExportDialog`; File → Import
OpenTimelineIO… runs an `OtioImporter` and lists what the file held that Shotline cannot keep.
The menus, their shortcuts and the docks' first layout are `WindowMenus` (`window_menus`), mixed in.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QUndoView,
    QWidget,
)

from app.bridge import EngineBridge, link_takes
from app.commands import push_edit
from app.document import Document, Project, edits, serialize
from app.document.errors import DocumentError
from app.document.schema import Shot, new_id
from app.document.time import TimeRange
from app.frames import FrameSource
from app.media_paths import media_folder
from app.render_service import RenderService, allowed_aspects, try_intent
from app.ui.error_dialog import show_error
from app.ui.inspector import Inspector
from app.ui.recent import RecentFiles
from app.ui.render_queue import RenderQueuePanel
from app.ui.selection import Selection
from app.ui.window_menus import WindowMenus
from engine.errors import ShotlineError

APP_NAME = "Shotline"
EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "storyboard.shotline"
FILE_FILTER = "Shotline projects (*.shotline)"
OTIO_FILTER = "OpenTimelineIO (*.otio)"


# --- questions (tests replace these) ------------------------------------------------------------------------
def ask(parent: QWidget | None, title: str, text: str, choices: Sequence[str]) -> str:
    """Ask the filmmaker; returns the chosen button's text (the last choice is Escape)."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    buttons = {box.addButton(choice, QMessageBox.ButtonRole.ActionRole): choice for choice in choices}
    first = next(iter(buttons))
    box.setDefaultButton(first)
    box.setEscapeButton(list(buttons)[-1])
    box.exec()
    return buttons.get(box.clickedButton(), choices[-1])


def choose_open_path(parent: QWidget | None) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open project", "", FILE_FILTER)
    return Path(path) if path else None


def choose_save_path(parent: QWidget | None, suggested: str) -> Path | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save project as", suggested, FILE_FILTER)
    if not path:
        return None
    path = Path(path)
    return path if path.suffix == serialize.SUFFIX else path.with_name(path.name + serialize.SUFFIX)


def choose_otio_path(parent: QWidget | None) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Import OpenTimelineIO", "", OTIO_FILTER)
    return Path(path) if path else None


def new_project() -> Project:
    """An empty project with two video tracks."""
    project = edits.add_track(Project(), "V1", track_id="v1")
    return edits.add_track(project, "V2", track_id="v2")


class _Relay(QObject):
    done = Signal(object, object)  # callback, error or None


class MainWindow(WindowMenus, QMainWindow):
    """Shotline's window over one document at a time."""

    documentChanged = Signal(object)  # Document
    saved = Signal(object)  # Path

    def __init__(
        self,
        *,
        bridge: EngineBridge | None = None,
        frames: FrameSource | None = None,
        autosave_ms: int | None = None,
        settings: QSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self._own_bridge = bridge is None
        self.bridge = bridge or EngineBridge(media_folder(None))
        self.frames = frames or FrameSource(self)
        self._own_frames = frames is None
        self.recent = RecentFiles(settings)
        self.undo_stack = QUndoStack(self)
        self._autosave_ms = autosave_ms
        self.autosave_timer = QTimer(self)
        self.autosave_timer.timeout.connect(self.autosave)
        self._relay = _Relay(self)
        self._relay.done.connect(lambda callback, error: callback(error), Qt.ConnectionType.QueuedConnection)
        self._busy_saving = False
        self._syncing = False
        self._closed = False
        self.document: Document | None = None
        self.service: RenderService | None = None
        self.timeline: Any = None
        self.viewer: Any = None
        self.inspector: Inspector | None = None
        self.queue_panel: RenderQueuePanel | None = None
        self.export_dialog: Any = None
        self.otio_importer: Any = None

        self.history = QUndoView(self.undo_stack)
        self.history.setEmptyLabel("Opened project")
        self.history.setObjectName("historyView")
        self.inspector_dock = self._dock("Inspector", "inspectorDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.queue_dock = self._dock("Render queue", "queueDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_dock = self._dock("History", "historyDock", Qt.DockWidgetArea.RightDockWidgetArea)
        self.history_dock.setWidget(self.history)
        self.tabifyDockWidget(self.queue_dock, self.history_dock)
        self.queue_dock.raise_()
        self._laid_out = False
        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status)
        self._build_menus()
        self.set_document(Document(new_project()))
        self.resize(1600, 900)

    # --- documents --------------------------------------------------------------------------------
    def set_document(self, document: Document) -> None:
        """Show `document`: new views, a fresh undo history, its render queue resumed."""
        dock_sizes = (self.inspector_dock.width(), self.inspector_dock.height(), self.queue_dock.height())
        self._teardown_document()
        self.document = document
        self.undo_stack.clear()
        self.bridge.set_media_folder(media_folder(document.path))
        from app.ui.timeline import TimelineView
        from app.ui.viewer import Viewer

        self.viewer = Viewer(document, self.frames)
        self.timeline = TimelineView(document, self.undo_stack, self.frames)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("editSplitter")
        splitter.addWidget(self.viewer)
        splitter.addWidget(self.timeline)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([520, 300])
        old = self.centralWidget()
        self.setCentralWidget(splitter)
        if old is not None:
            old.deleteLater()
        self.service = RenderService(document, self.undo_stack, self.bridge, self)
        self.inspector = Inspector(document, self.undo_stack, frames=self.frames)
        self.inspector_dock.setWidget(self.inspector)
        self.queue_panel = RenderQueuePanel(self.service)
        self.queue_dock.setWidget(self.queue_panel)

        timeline, inspector, service = self.timeline, self.inspector, self.service
        timeline.selectionChanged.connect(self._on_selection)
        timeline.playheadMoved.connect(self._sync_viewer)
        self.viewer.frameChanged.connect(self._sync_timeline)
        for source in (timeline, inspector):
            source.generateRequested.connect(self.generate)
            source.extendRequested.connect(self.extend)
            source.fillGapRequested.connect(self.fill_gap)
            source.messageRaised.connect(self._show_message)
        inspector.regenerateRequested.connect(self.regenerate)
        service.notice.connect(lambda text: self.statusBar().showMessage(text, 10_000))
        service.failed.connect(self._on_render_failed)
        service.renderingChanged.connect(self._on_rendering)
        service.preview.connect(self.frames.set_preview)
        service.entriesChanged.connect(self._update_status)
        document.dirty_changed.connect(lambda _dirty: self._update_title())
        document.path_changed.connect(self._on_path_changed)
        document.changed.connect(lambda _change: self._update_aspects())
        self._update_title()
        self._update_aspects()
        self._update_actions()
        self._restart_autosave()
        self.service.resume()
        if self._laid_out:  # new views: keep the docks as the filmmaker sized them
            QTimer.singleShot(0, lambda: self._restore_docks(*dock_sizes))
        self.documentChanged.emit(document)

    def _teardown_document(self) -> None:
        if self.service is not None:
            self.service.close()
            self.service.deleteLater()
        if self.inspector is not None:
            self.inspector.detach()
            self.inspector.deleteLater()
        if self.queue_panel is not None:
            self.queue_panel.deleteLater()
        if self.export_dialog is not None:  # it exports the document being closed
            self.export_dialog.close()
            self.export_dialog.deleteLater()
            self.export_dialog = None
        if self.document is not None:
            for shot in self.document.project.shots():
                self.frames.set_preview(shot.id, None)
        self.service = self.inspector = self.queue_panel = None

    def open_path(self, path: str | Path, *, offer_recovery: bool = True) -> bool:
        """Open a project file; a damaged or too-new file is explained and nothing changes, on disk too."""
        path = Path(path)
        try:
            document = Document.open(path)
        except DocumentError as error:
            show_error(self, "Cannot open project", error)
            return False
        if offer_recovery:
            document = self._offer_recovery(document)
        serialize.remove_leftover_temp_files(path, older_than=600)  # debris of a save a crash cut short
        self.set_document(document)
        self.recent.add(path)
        self._rebuild_recent_menu()
        return True

    def _offer_recovery(self, document: Document) -> Document:
        path = document.path
        assert path is not None
        recovery = serialize.find_recovery(path)
        if recovery is None:
            return document
        try:
            recovered = serialize.load(recovery)
        except DocumentError:
            return document  # a damaged autosave is not worth asking about
        if recovered == document.project:
            return document
        choice = ask(
            self,
            "Recover unsaved changes?",
            f"Shotline closed before your last changes to “{path.stem}” were saved. "
            "An autosave was found.\n\n"
            "Restore it? (Choosing “Open saved version” keeps the file as it was saved.)",
            ("Restore", "Open saved version"),
        )
        if choice != "Restore":
            with contextlib.suppress(DocumentError):
                serialize.discard_recovery(path)
            return document
        document.set_project(recovered)  # unsaved changes again: the title shows the mark
        return document

    def new(self) -> None:
        if self.confirm_discard():
            self.set_document(Document(new_project()))

    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = choose_open_path(self)
        if path is not None:
            self.open_path(path)

    def open_example(self) -> bool:
        """Open a copy of the bundled example, so the original is never overwritten."""
        if not self.confirm_discard():
            return False
        folder = Path(tempfile.mkdtemp(prefix="shotline-example-"))
        copy = folder / EXAMPLE.name
        try:
            shutil.copyfile(EXAMPLE, copy)
        except OSError as error:
            show_error(
                self, "Cannot open the example", ShotlineError("The example project is missing.", repr(error))
            )
            return False
        return self.open_path(copy, offer_recovery=False)

    def save(self) -> bool:
        """Save (Save As when the project has no file yet). Returns False when nothing was saved."""
        document = self.document
        assert document is not None
        if document.path is None:
            return self.save_as()
        try:
            document.save()
        except (DocumentError, ValueError) as error:
            show_error(self, "Cannot save project", error if isinstance(error, ShotlineError) else str(error))
            return False
        self.statusBar().showMessage(f"Saved {document.path.name}", 5000)
        self.recent.add(document.path)
        self.saved.emit(document.path)
        return True

    def save_as(self, path: str | Path | None = None) -> bool:
        """Save under a new name; the takes follow into `NAME.media/` beside it (linked on a worker)."""
        document = self.document
        assert document is not None
        if path is None:
            suggested = str(document.path or Path.home() / f"{document.project.name}{serialize.SUFFIX}")
            path = choose_save_path(self, suggested)
            if path is None:
                return False
        path = Path(path)
        old_folder, new_folder = media_folder(document.path), media_folder(path)
        self.bridge.set_media_folder(new_folder)  # a render finishing meanwhile lands in the new folder
        self._busy_saving = True

        def link() -> None:
            keys = (
                [p.name for p in old_folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
                if (old_folder.is_dir())
                else []
            )
            link_takes(old_folder, new_folder, keys)

        def finish(error: BaseException | None) -> None:
            self._busy_saving = False
            if self.document is not document:
                return
            try:
                if error is not None:
                    raise ShotlineError("Could not copy the rendered takes next to the project.", repr(error))
                document.save(path)
            except (ShotlineError, ValueError) as failure:
                self.bridge.set_media_folder(old_folder)
                show_error(self, "Cannot save project", failure)
                return
            self.recent.add(path)
            self._rebuild_recent_menu()
            self.statusBar().showMessage(f"Saved {path.name}", 5000)
            self.saved.emit(path)

        self._run_in_background(link, finish)
        return True

    def autosave(self) -> Path | None:
        """Write the recovery file when there are unsaved changes (the timer calls this)."""
        if self.document is None or self._busy_saving:
            return None
        try:
            return self.document.write_recovery()
        except DocumentError as error:
            self.statusBar().showMessage(f"Autosave failed: {error.message}", 10_000)
            return None

    def confirm_discard(self) -> bool:
        """Ask what to do with unsaved changes; False means "stay"."""
        document = self.document
        if document is None or not document.dirty:
            return True
        choice = ask(
            self,
            "Save changes?",
            f"“{self._name()}” has changes that are not saved.",
            ("Save", "Don't Save", "Cancel"),
        )
        if choice == "Save":
            return self.save() and not self._busy_saving
        if choice == "Don't Save" and document.path is not None:
            with contextlib.suppress(DocumentError):
                serialize.discard_recovery(document.path)
        return choice == "Don't Save"

    # --- intents ----------------------------------------------------------------------------------
    def generate(self, shot_id: str) -> None:
        self._intent(lambda: self.service.generate(shot_id))

    def extend(self, item_id: str, direction: str) -> None:
        new = self._intent(lambda: self.service.extend(item_id, direction))
        if new:
            self.timeline.select_item(new)

    def fill_gap(self, track_id: str, start: int, end: int) -> None:
        new = self._intent(lambda: self.service.fill_gap(track_id, start, end))
        if new:
            self.timeline.select_item(new)

    def regenerate(self, shot_id: str, new_seed: bool) -> None:
        self._intent(lambda: self.service.regenerate(shot_id, new_seed))

    def generate_all(self) -> None:
        self._intent(self.service.generate_all)

    def add_shot(self) -> str | None:
        """A new shot at the playhead on the selected shot's track (or V1), or after the track's last item."""
        document = self.document
        project = document.project
        if not project.tracks:
            project = document.apply(edits.add_track).after
        selection = self.timeline.selection()
        track = project.tracks[0]
        if selection.track_id is not None:
            track = project.track(selection.track_id)
        length = project.settings.default_shot_frames
        start = self.timeline.playhead()
        if any(item.range.overlaps(TimeRange(start, length)) for item in track.items):
            start = track.end
        shot_id = new_id("shot")
        ok = self._intent(lambda: push_edit(self.undo_stack, document, "Add shot", edits.add_shot, track.id,
                                            start, length, shot_id=shot_id))  # fmt: skip
        if ok is None:
            return None
        self.timeline.select_item(shot_id)
        self.inspector.prompt.setFocus()
        return shot_id

    def manage_models(self) -> Any:
        """Shot → Models…: register local Wan folders; the inspector's model list follows."""
        from app.ui.model_manager import ModelManagerDialog

        dialog = ModelManagerDialog(self)
        dialog.modelsChanged.connect(self._models_changed)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _models_changed(self) -> None:
        if self.inspector is not None:
            self.inspector.refresh_models()
        if self.service is not None:  # registered models reload with their new settings on the next render
            self.service.bridge.queue.forget_backends()

    def export(self) -> Any:
        """File → Export…: the export dialog for this document (shots without a take render first)."""
        from app.ui.export_dialog import ExportDialog

        if self.export_dialog is None:
            self.export_dialog = ExportDialog(self.document, self.service, self)
            self.export_dialog.exported.connect(
                lambda result: self.statusBar().showMessage(f"Exported {result.path.name}", 10_000)
            )
        self.export_dialog.show()
        self.export_dialog.raise_()
        return self.export_dialog

    def import_otio(self, path: str | Path | None = None) -> None:
        """File → Import OpenTimelineIO…: lay out an edit's clips (shots when they carry recipes)."""
        from app.ui.otio_import import OtioImporter

        if path is None:
            path = choose_otio_path(self)
            if path is None:
                return
        importer = OtioImporter(self.document, self.undo_stack, self)
        importer.imported.connect(self._on_otio_imported)
        importer.messageRaised.connect(
            lambda message, detail: show_error(self, "Cannot import OpenTimelineIO", message, detail)
        )
        self.otio_importer = importer
        self.statusBar().showMessage(f"Importing {Path(path).name}…")
        importer.import_file(path)

    def _on_otio_imported(self, count: int, problems: tuple[str, ...]) -> None:
        self.statusBar().showMessage(f"Imported {count} clip{'s' if count != 1 else ''}.", 10_000)
        self.fit_timeline()
        if problems:
            shown = "\n".join(f"• {problem}" for problem in problems[:12])
            more = f"\n…and {len(problems) - 12} more (see the details)." if len(problems) > 12 else ""
            show_error(
                self,
                "Imported with changes",
                f"{count} clip{'s' if count != 1 else ''} placed. Not everything in the file could be kept:"
                f"\n{shown}{more}",
                "\n".join(problems),
            )

    def _intent(self, action: Callable[[], Any]) -> Any:
        return try_intent(action, lambda error: show_error(self, "That did not work", error))

    # --- reacting ---------------------------------------------------------------------------------
    def _on_selection(self, selection: Selection) -> None:
        self.inspector.set_selection(selection)
        self._update_actions()

    def _sync_viewer(self, frame: int) -> None:
        if self.viewer.frame() != frame and not self._syncing:
            self._syncing = True  # the viewer may clamp to the sequence; the timeline's playhead stays put
            try:
                self.viewer.set_frame(frame)
            finally:
                self._syncing = False

    def _sync_timeline(self, frame: int) -> None:
        if self.timeline.playhead() != frame and not self._syncing:
            self._syncing = True
            try:
                self.timeline.set_playhead(frame)
            finally:
                self._syncing = False

    def _on_rendering(self, shot_id: str, on: bool) -> None:
        self.timeline.set_rendering(shot_id, on)
        if not on:
            self.frames.set_preview(shot_id, None)

    def _on_render_failed(self, shot_id: str, error: ShotlineError) -> None:
        self.statusBar().showMessage(f"Render failed: {error.message}", 15_000)
        self.queue_dock.raise_()

    def _show_message(self, message: str, detail: str = "") -> None:
        self.statusBar().showMessage(message, 10_000)

    def _on_path_changed(self, path: Path | None) -> None:
        self.bridge.set_media_folder(media_folder(path))
        self._update_title()

    def _update_title(self) -> None:
        dirty = self.document is not None and self.document.dirty
        self.setWindowTitle(f"{self._name()}{'*' if dirty else ''} — {APP_NAME}")

    def _name(self) -> str:
        document = self.document
        if document is None:
            return "Untitled"
        return document.path.stem if document.path is not None else document.project.name

    def _update_aspects(self) -> None:
        shot = self.inspector.shot() if self.inspector is not None else None
        model = shot.model if shot is not None else self.document.project.settings.default_model
        future = self.bridge.backend(model)
        project, inspector = self.document.project, self.inspector

        def apply(_error: BaseException | None) -> None:
            if inspector is self.inspector and future.exception() is None:
                inspector.set_allowed_aspects(allowed_aspects(project, future.result().capabilities))

        if future.done():
            apply(None)
        else:
            future.add_done_callback(lambda _f: self._relay.done.emit(apply, None))

    def _update_status(self) -> None:
        entries = self.service.entries() if self.service is not None else []
        rendering = [e for e in entries if e.state != "failed"]
        self.status.setText(f"Rendering {len(rendering)} shot(s)" if rendering else "")

    def _update_actions(self) -> None:
        if self.timeline is None:
            return
        selection = self.timeline.selection()
        item = None
        if selection.is_item and selection.item_id is not None:
            found = self.document.project.find(selection.item_id)
            item = None if found is None else found[1]
        self.actions["generate"].setEnabled(isinstance(item, Shot))
        self.actions["extend_forward"].setEnabled(item is not None)
        self.actions["extend_backward"].setEnabled(item is not None)
        self.actions["fill_gap"].setEnabled(selection.is_gap)

    def _restart_autosave(self) -> None:
        seconds = self.document.project.settings.autosave_seconds
        interval = self._autosave_ms if self._autosave_ms is not None else seconds * 1000
        self.autosave_timer.stop()
        if interval > 0:
            self.autosave_timer.start(interval)

    def _run_in_background(
        self, work: Callable[[], None], then: Callable[[BaseException | None], None]
    ) -> None:
        def run() -> None:
            error: BaseException | None = None
            try:
                work()
            except BaseException as failure:  # reported on the main thread
                error = failure
            self._relay.done.emit(then, error)

        threading.Thread(target=run, name="shotline-save", daemon=True).start()

    # --- closing ----------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed and not self.confirm_discard():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop timers, renders and workers (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.autosave_timer.stop()
        if self.export_dialog is not None:
            self.export_dialog.runner.stop()
        if self.inspector is not None:
            self.inspector.detach()
        if self.service is not None:
            self.service.close()
        if self.viewer is not None:
            self.viewer.pause()
        if self._own_bridge:
            self.bridge.shutdown()
        if self._own_frames:
            self.frames.shutdown()
