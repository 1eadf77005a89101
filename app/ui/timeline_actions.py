"""The timeline's commands on the selection: split, delete, ripple delete, duplicate, generate, extend,
fill and close gaps, from keys or the right-click menu.

`TimelineActions` is mixed into `TimelineView` (it uses the view's selection, document and undo stack).

| key            | on a shot or clip                   | on a gap                  |
|----------------|-------------------------------------|---------------------------|
| S              | split at the playhead               |                           |
| Delete         | delete (leaves a gap)               | close the gap             |
| Shift+Delete   | ripple delete (later items move in) | close the gap             |
| Ctrl+D         | duplicate, select the copy          |                           |
| G              | generate (shots only)               |                           |
| E / Shift+E    | extend forward / backward           |                           |
| F              |                                     | fill with a bridge        |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QMenu

from app.document import edits
from app.document.schema import Item, Shot, find_gaps, item_kind, new_id
from app.ui.selection import Selection

if TYPE_CHECKING:
    from app.ui.timeline import TimelineView

    _Base = TimelineView
else:
    _Base = object


class TimelineActions(_Base):
    """Commands on the timeline's selection, their keys and their context menus."""

    def split_selected(self) -> None:
        """Cut the selected shot or clip at the playhead (S)."""
        item = self._selected_item()
        if item is not None:
            self._edit(f"Split {item_kind(item)}", edits.split_item, item.id, self._playhead)

    def delete_selected(self, ripple: bool = False) -> None:
        """Remove the selected item (Delete), or with `ripple` close up the track (Shift+Delete); on a
        selected gap, both close the gap."""
        if self._selection.is_gap:
            self.close_selected_gap()
            return
        item = self._selected_item()
        if item is not None:
            text = f"Ripple delete {item_kind(item)}" if ripple else f"Delete {item_kind(item)}"
            self._edit(text, edits.remove_item, item.id, ripple=ripple)

    def duplicate_selected(self) -> None:
        """Copy the selected item to the first free place after it, and select the copy (Ctrl+D)."""
        item = self._selected_item()
        if item is None:
            return
        copy_id = new_id("shot" if isinstance(item, Shot) else "clip")
        if self._edit(f"Duplicate {item_kind(item)}", edits.duplicate_item, item.id, new_item_id=copy_id):
            self.select_item(copy_id)

    def generate_selected(self) -> None:
        """Ask for a render of the selected shot (G)."""
        item = self._selected_item()
        if isinstance(item, Shot):
            self.generateRequested.emit(item.id)
        elif item is not None:
            self._show_status("This is your own footage: select a shot to generate it.")

    def extend_selected(self, direction: str) -> None:
        """Ask for a new shot continuing the selected item, "forward" (E) or "backward" (Shift+E)."""
        item = self._selected_item()
        if item is not None:
            self.extendRequested.emit(item.id, direction)

    def fill_selected_gap(self) -> None:
        """Ask for a bridge filling the selected gap (F)."""
        selection = self._selection
        if not selection.is_gap or selection.track_id is None:
            return
        if self._gap_bridgeable(selection.track_id, selection.start):
            self.fillGapRequested.emit(selection.track_id, selection.start, selection.end)
        else:
            self._show_status("A bridge needs a shot or clip on both sides of the gap.")

    def close_selected_gap(self) -> None:
        """Close the selected gap: everything after it on that track moves left."""
        selection = self._selection
        if selection.is_gap and selection.track_id is not None:
            self._edit("Close gap", edits.close_gap, selection.track_id, selection.start)

    def context_menu(self, selection: Selection | None = None) -> QMenu | None:
        """The right-click menu for `selection` (default: the current one), or None for nothing."""
        selection = self._selection if selection is None else selection
        menu = QMenu(self)
        if selection.is_gap and selection.track_id is not None:
            fill = self._action(menu, "Fill gap", "F", self.fill_selected_gap)
            fill.setEnabled(self._gap_bridgeable(selection.track_id, selection.start))
            self._action(menu, "Close gap", "Shift+Delete", self.close_selected_gap)
            return menu
        item = self._selected_item() if selection is self._selection else None
        if item is None and selection.is_item and selection.item_id is not None:
            found = self._document.project.find(selection.item_id)
            item = None if found is None else found[1]
        if item is None:
            return None
        if isinstance(item, Shot):
            self._action(menu, "Generate", "G", self.generate_selected)
        self._action(menu, "Extend →", "E", lambda: self.extend_selected("forward"))
        self._action(menu, "← Extend", "Shift+E", lambda: self.extend_selected("backward"))
        menu.addSeparator()
        split = self._action(menu, "Split at playhead", "S", self.split_selected)
        split.setEnabled(item.start < self._playhead < item.end)
        self._action(menu, "Duplicate", "Ctrl+D", self.duplicate_selected)
        menu.addSeparator()
        self._action(menu, "Delete", "Delete", self.delete_selected)
        self._action(menu, "Ripple delete", "Shift+Delete", lambda: self.delete_selected(ripple=True))
        return menu

    def _action(self, menu: QMenu, text: str, shortcut: str, slot: Callable[[], None]) -> QAction:
        action = menu.addAction(text)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutVisibleInContextMenu(True)
        action.triggered.connect(lambda _checked=False: slot())
        return action

    # --- keys ----------------------------------------------------------------------------------------------
    _KEYS: ClassVar[dict[tuple[int, bool, bool], str]] = {
        (Qt.Key.Key_S, False, False): "split",
        (Qt.Key.Key_Delete, False, False): "delete",
        (Qt.Key.Key_Backspace, False, False): "delete",
        (Qt.Key.Key_Delete, True, False): "ripple",
        (Qt.Key.Key_Backspace, True, False): "ripple",
        (Qt.Key.Key_D, False, True): "duplicate",
        (Qt.Key.Key_G, False, False): "generate",
        (Qt.Key.Key_E, False, False): "extend_forward",
        (Qt.Key.Key_E, True, False): "extend_backward",
        (Qt.Key.Key_F, False, False): "fill",
    }

    def _key_action(self, event: QKeyEvent) -> str | None:
        modifiers = event.modifiers()
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        if modifiers & (Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier):
            return None
        return self._KEYS.get((event.key(), shift, ctrl))

    def event(self, event: QEvent) -> bool:
        # Our keys win over the main window's shortcuts while the timeline has focus.
        if event.type() == QEvent.Type.ShortcutOverride and self._key_action(event) is not None:  # type: ignore[arg-type]
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        action = self._key_action(event)
        if action is None:
            super().keyPressEvent(event)
            return
        if action == "split":
            self.split_selected()
        elif action == "delete":
            self.delete_selected()
        elif action == "ripple":
            self.delete_selected(ripple=True)
        elif action == "duplicate":
            self.duplicate_selected()
        elif action == "generate":
            self.generate_selected()
        elif action == "extend_forward":
            self.extend_selected("forward")
        elif action == "extend_backward":
            self.extend_selected("backward")
        elif action == "fill":
            self.fill_selected_gap()
        event.accept()

    def _selected_item(self) -> Item | None:
        selection = self._selection
        if not selection.is_item or selection.item_id is None:
            return None
        found = self._document.project.find(selection.item_id)
        return None if found is None else found[1]

    def _gap_bridgeable(self, track_id: str, start: int) -> bool:
        try:
            track = self._document.project.track(track_id)
        except KeyError:
            return False
        return any(gap.range.start == start and gap.can_bridge for gap in find_gaps(track))
