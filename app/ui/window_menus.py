"""The main window's menus and docks: File, Edit, Shot, View and Help with their shortcuts, the recent-files
menu, and the first layout of the docks (inspector beside the viewer, render queue and history below).

`WindowMenus` is mixed into `MainWindow`; its actions call the window's intents and the timeline's
commands, and are kept in `actions` by key (tests and `_update_actions` use them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox

if TYPE_CHECKING:
    from app.ui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class WindowMenus(_Base):
    """Menus, actions and dock layout of the main window."""

    # --- menus ------------------------------------------------------------------------------------
    def _dock(self, title: str, name: str, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self,
        menu,
        key: str,
        text: str,
        slot: Callable[[], Any],
        shortcut: str | QKeySequence | None = None,
        tip: str = "",
    ) -> QAction:  # type: ignore[no-untyped-def]
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        self.actions[key] = action
        return action

    def _build_menus(self) -> None:
        self.actions: dict[str, QAction] = {}
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "new", "&New", self.new, QKeySequence.StandardKey.New)
        self._action(file, "open", "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = file.addMenu("Open &Recent")
        self._rebuild_recent_menu()
        file.addSeparator()
        self._action(file, "save", "&Save", self.save, QKeySequence.StandardKey.Save)
        self._action(file, "save_as", "Save &As…", self.save_as, "Ctrl+Shift+S")
        file.addSeparator()
        self._action(file, "import_otio", "&Import OpenTimelineIO…", self.import_otio, tip="Lay out an "
                     "edit from your NLE: its clips (and Shotline shots with their takes)")  # fmt: skip
        self._action(file, "export", "&Export…", self.export, "Ctrl+E",
                     "MP4, ProRes, PNG frames or OpenTimelineIO, with provenance")  # fmt: skip
        file.addSeparator()
        self._action(file, "quit", "&Quit", self.close, QKeySequence.StandardKey.Quit)

        edit = bar.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(undo)
        edit.addAction(redo)
        self.actions["undo"], self.actions["redo"] = undo, redo
        edit.addSeparator()
        self._action(edit, "split", "Split at playhead", lambda: self.timeline.split_selected(), "S")
        self._action(edit, "duplicate", "Duplicate", lambda: self.timeline.duplicate_selected(), "Ctrl+D")
        self._action(edit, "delete", "Delete", lambda: self.timeline.delete_selected(), "Delete")
        self._action(
            edit,
            "ripple",
            "Ripple delete",
            lambda: self.timeline.delete_selected(ripple=True),
            "Shift+Delete",
        )
        self._action(edit, "close_gap", "Close gap", lambda: self.timeline.close_selected_gap())

        shot = bar.addMenu("&Shot")
        self._action(shot, "add_shot", "Add shot", self.add_shot, "Ctrl+T", "A new shot at the playhead")
        shot.addSeparator()
        self._action(shot, "generate", "Generate", lambda: self.timeline.generate_selected(), "G")
        self._action(
            shot, "extend_forward", "Extend →", lambda: self.timeline.extend_selected("forward"), "E"
        )
        self._action(
            shot, "extend_backward", "← Extend", lambda: self.timeline.extend_selected("backward"), "Shift+E"
        )
        self._action(shot, "fill_gap", "Fill gap", lambda: self.timeline.fill_selected_gap(), "F")
        shot.addSeparator()
        self._action(shot, "generate_all", "Generate all", self.generate_all, "Ctrl+Shift+G",
                     "Render every shot that has no take yet")  # fmt: skip
        shot.addSeparator()
        self._action(shot, "models", "Models…", self.manage_models,
                     tip="Add your own Wan 2.1 weights; see the memory they need")  # fmt: skip

        view = bar.addMenu("&View")
        for dock in (self.inspector_dock, self.queue_dock, self.history_dock):
            view.addAction(dock.toggleViewAction())

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "example", "Example project", self.open_example)
        self._action(help_menu, "about", "About Shotline", self._about)

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for path in paths:
            action = self.recent_menu.addAction(path.name)
            action.setStatusTip(str(path))
            action.triggered.connect(
                lambda _checked=False, p=path: self.confirm_discard() and self.open_path(p)
            )
        self.recent_menu.setEnabled(bool(paths))

    def _about(self) -> None:
        from app.cli import VERSION

        QMessageBox.about(
            self,
            "About Shotline",
            f"<b>Shotline {VERSION}</b><p>A timeline editor for filmmakers: write a prompt per shot and a "
            "local video model renders it. Extend shots, bridge gaps, keep every take.</p>"
            "<p>Open source under the Apache 2.0 licence.</p>",
        )

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        if not self._laid_out:  # dock sizes only take once the window is shown at its size
            self._laid_out = True
            QTimer.singleShot(0, self._initial_layout)

    def _initial_layout(self) -> None:
        width = max(380, min(480, self.width() * 3 // 10))
        self.resizeDocks([self.inspector_dock], [width], Qt.Orientation.Horizontal)
        height = self.height()
        self.resizeDocks(
            [self.inspector_dock, self.queue_dock], [height * 2 // 3, height // 3], Qt.Orientation.Vertical
        )
        QTimer.singleShot(0, self.fit_timeline)

    def _restore_docks(self, width: int, inspector_height: int, queue_height: int) -> None:
        self.resizeDocks([self.inspector_dock], [width], Qt.Orientation.Horizontal)
        self.resizeDocks([self.inspector_dock, self.queue_dock], [inspector_height, queue_height],
                         Qt.Orientation.Vertical)  # fmt: skip
        QTimer.singleShot(0, self.fit_timeline)

    def fit_timeline(self) -> None:
        """Zoom the timeline so the whole sequence fits its width."""
        if self.timeline is None or self.document is None:
            return
        length = max(self.document.project.duration * 11 // 10, 1)
        available = self.timeline.viewport().width() - 40
        if available > 100:
            self.timeline.set_zoom(max(0.05, min(12.0, available / length)))
            self.timeline.horizontalScrollBar().setValue(0)
