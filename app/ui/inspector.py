"""The shot inspector: the selected shot's prompt and settings, its actions, and its takes.

Every change is one undo step through `push_edit` ("Edit prompt", "Change seed"…). The prompt is
committed when the field loses focus or after a short pause in typing, so one burst of typing is one
undo step. Actions (Generate, Extend, Fill gap, regenerate) are emitted as signals the main window
routes to the render service, the same way as the timeline's. "Compare…" opens two takes of the shot
side by side (`app/ui/compare.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QStandardItemModel, QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.commands import push_edit
from app.document import edits
from app.document.errors import EditError
from app.document.events import Change, Document
from app.document.schema import ASPECT_PRESETS, MAX_SHOT_FRAMES, Shot, stale_neighbours
from app.document.time import to_timecode
from app.frames import FrameSource
from app.render_service import draw_seed
from app.ui.compare import CompareTakesDialog
from app.ui.selection import NOTHING, Selection
from engine.backends.registry import available_models

PROMPT_PAUSE_MS = 1200
MAX_SPIN_SEED = 2**31 - 1


class Inspector(QWidget):
    """Edits the selected shot. Signals ask the main window to render."""

    generateRequested = Signal(str)
    extendRequested = Signal(str, str)
    fillGapRequested = Signal(str, int, int)
    regenerateRequested = Signal(str, bool)  # shot id, new seed
    messageRaised = Signal(str, str)  # message, detail

    def __init__(
        self,
        document: Document,
        undo_stack: QUndoStack,
        parent: QWidget | None = None,
        *,
        frames: FrameSource | None = None,
    ) -> None:
        super().__init__(parent)
        self.document = document
        self.undo_stack = undo_stack
        self.frames = frames  # for comparing takes; without it the compare window decodes on its own
        self._compare: CompareTakesDialog | None = None
        self._selection: Selection = NOTHING
        self._updating = False
        self._allowed_aspects: tuple[str, ...] = ASPECT_PRESETS
        self._prompt_timer = QTimer(self)
        self._prompt_timer.setSingleShot(True)
        self._prompt_timer.setInterval(PROMPT_PAUSE_MS)
        self._prompt_timer.timeout.connect(self.commit_prompt)
        self._build()
        document.changed.connect(self._on_document_changed)
        self.refresh()

    # --- layout -----------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.setObjectName("inspector")
        self.setMinimumWidth(300)
        self.heading = QLabel("No shot selected", objectName="inspectorHeading")
        self.heading.setProperty("role", "heading")
        self.heading.setWordWrap(True)
        self.hint = QLabel("Select a shot on the timeline to edit its prompt and settings.")
        self.hint.setProperty("role", "hint")
        self.hint.setWordWrap(True)

        self.stale_banner = QFrame(objectName="staleBanner")
        self.stale_banner.setProperty("role", "banner")
        self.stale_label = QLabel()
        self.stale_label.setWordWrap(True)
        self.stale_label.setProperty("role", "warning")
        self.rerender_button = QPushButton("Re-render", objectName="rerenderButton")
        self.rerender_button.setToolTip(
            "Render this shot again from its neighbours' current takes (same seed)"
        )
        self.rerender_button.clicked.connect(lambda: self._emit_regenerate(False))
        banner = QHBoxLayout(self.stale_banner)
        banner.setContentsMargins(8, 6, 8, 6)
        banner.addWidget(self.stale_label, 1)
        banner.addWidget(self.rerender_button)

        self.prompt = QPlainTextEdit(objectName="promptEdit")
        self.prompt.setPlaceholderText("What the shot shows, e.g. “a red ball rolls right over green grass”")
        self.prompt.setTabChangesFocus(True)
        self.prompt.setFixedHeight(96)
        self.prompt.textChanged.connect(self._on_prompt_typed)
        self.prompt.installEventFilter(self)
        self.negative = QLineEdit(objectName="negativeEdit")
        self.negative.setPlaceholderText("What to keep out of the shot")
        self.negative.editingFinished.connect(lambda: self._set("negative_prompt", self.negative.text()))

        self.duration = QSpinBox(objectName="durationSpin")
        self.duration.setRange(1, MAX_SHOT_FRAMES)
        self.duration.setSuffix(" frames")
        self.duration.setKeyboardTracking(False)
        self.duration.valueChanged.connect(lambda v: self._set("duration", int(v), "Change shot length"))
        self.duration_time = QLabel()
        self.duration_time.setProperty("role", "hint")
        duration_row = _row(self.duration, self.duration_time)

        self.seed = QSpinBox(objectName="seedSpin")
        self.seed.setRange(-1, MAX_SPIN_SEED)
        self.seed.setSpecialValueText("New each render")
        self.seed.setKeyboardTracking(False)
        self.seed.valueChanged.connect(self._on_seed_changed)
        self.seed_lock = QToolButton(objectName="seedLock", text="Lock")
        self.seed_lock.setCheckable(True)
        self.seed_lock.setToolTip(
            "Locked: every render of this shot uses this seed. Unlocked: a new seed each time"
        )
        self.seed_lock.toggled.connect(self._on_lock_toggled)
        self.dice = QToolButton(objectName="seedDice", text="Random")
        self.dice.setToolTip("Pick a new random seed")
        self.dice.clicked.connect(self._roll_seed)
        seed_row = _row(self.seed, self.seed_lock, self.dice)

        self.steps = QSpinBox(objectName="stepsSpin")
        self.steps.setRange(0, 200)
        self.steps.setSpecialValueText("Model default")
        self.steps.setKeyboardTracking(False)
        self.steps.valueChanged.connect(lambda v: self._set("steps", int(v) or None, "Change steps"))
        self.guidance = QDoubleSpinBox(objectName="guidanceSpin")
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setDecimals(1)
        self.guidance.setSpecialValueText("Model default")
        self.guidance.setKeyboardTracking(False)
        self.guidance.valueChanged.connect(
            lambda v: self._set("guidance", float(v) or None, "Change guidance")
        )
        self.model = QComboBox(objectName="modelCombo")
        self.model.addItems(available_models())
        self.model.currentTextChanged.connect(lambda text: self._set("model", text, "Change model"))
        self.aspect = QComboBox(objectName="aspectCombo")
        self.aspect.addItems(list(ASPECT_PRESETS))
        self.aspect.currentTextChanged.connect(lambda text: self._set("aspect", text, "Change aspect"))

        self.start_image = QLineEdit(objectName="startImageEdit")
        self.start_image.setReadOnly(True)
        self.start_image.setPlaceholderText("None (from the prompt)")
        self.pick_image = QToolButton(text="…", objectName="startImagePick")
        self.pick_image.setToolTip("Choose a still (or the first frame of a video) the shot starts on")
        self.pick_image.clicked.connect(self._choose_start_image)
        self.clear_image = QToolButton(text="✕", objectName="startImageClear")
        self.clear_image.setToolTip("Start from the prompt alone")
        self.clear_image.clicked.connect(lambda: self._set("start_image", None, "Clear start image"))
        image_row = _row(self.start_image, self.pick_image, self.clear_image)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.addRow("Avoid", self.negative)
        form.addRow("Length", duration_row)
        form.addRow("Seed", seed_row)
        form.addRow("Steps", self.steps)
        form.addRow("Guidance", self.guidance)
        form.addRow("Model", self.model)
        form.addRow("Aspect", self.aspect)
        form.addRow("Start image", image_row)

        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setProperty("accent", True)
        self.generate_button.setToolTip("Render a new take of this shot (G)")
        self.generate_button.clicked.connect(self._emit_generate)
        self.extend_back_button = QPushButton("← Extend", objectName="extendBackButton")
        self.extend_back_button.setToolTip("A new shot before this one that leads into it (Shift+E)")
        self.extend_back_button.clicked.connect(lambda: self._emit_extend("backward"))
        self.extend_button = QPushButton("Extend →", objectName="extendButton")
        self.extend_button.setToolTip("A new shot after this one: what happens next (E)")
        self.extend_button.clicked.connect(lambda: self._emit_extend("forward"))
        self.fill_button = QPushButton("Fill gap", objectName="fillGapButton")
        self.fill_button.setProperty("accent", True)
        self.fill_button.setToolTip("Render a bridge from the clip before the gap to the clip after it (F)")
        self.fill_button.clicked.connect(self._emit_fill)
        actions = QHBoxLayout()
        actions.addWidget(self.extend_back_button)
        actions.addWidget(self.generate_button, 1)
        actions.addWidget(self.extend_button)

        self.takes = QListWidget(objectName="takesList")
        self.takes.setMinimumHeight(90)
        self.takes.itemDoubleClicked.connect(lambda *_: self._show_selected_take())
        self.show_take_button = QPushButton("Show", objectName="showTakeButton")
        self.show_take_button.setToolTip("Show the selected take on the timeline (double-click works too)")
        self.show_take_button.clicked.connect(self._show_selected_take)
        self.delete_take_button = QPushButton("Delete", objectName="deleteTakeButton")
        self.delete_take_button.setToolTip("Remove the selected take from the shot (undoable)")
        self.delete_take_button.clicked.connect(self._delete_selected_take)
        self.compare_button = QPushButton("Compare…", objectName="compareTakesButton")
        self.compare_button.setToolTip("Play two takes of this shot side by side and pick one")
        self.compare_button.clicked.connect(self.compare_takes)
        self.same_seed_button = QPushButton("Again, same seed", objectName="sameSeedButton")
        self.same_seed_button.clicked.connect(lambda: self._emit_regenerate(False))
        self.new_seed_button = QPushButton("Again, new seed", objectName="newSeedButton")
        self.new_seed_button.clicked.connect(lambda: self._emit_regenerate(True))
        take_buttons = QHBoxLayout()
        for button in (self.show_take_button, self.delete_take_button, self.compare_button):
            take_buttons.addWidget(button)
        again = QHBoxLayout()
        again.addWidget(self.same_seed_button)
        again.addWidget(self.new_seed_button)

        self.shot_panel = QWidget(objectName="shotPanel")
        shot_layout = QVBoxLayout(self.shot_panel)
        shot_layout.setContentsMargins(0, 0, 0, 0)
        shot_layout.addWidget(self.stale_banner)
        prompt_label = QLabel("Prompt")
        prompt_label.setProperty("role", "heading")
        shot_layout.addWidget(prompt_label)
        shot_layout.addWidget(self.prompt)
        shot_layout.addLayout(form)
        shot_layout.addLayout(actions)
        takes_label = QLabel("Takes")
        takes_label.setProperty("role", "heading")
        shot_layout.addWidget(takes_label)
        shot_layout.addWidget(self.takes)
        shot_layout.addLayout(take_buttons)
        shot_layout.addLayout(again)

        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.setSpacing(8)
        layout.addWidget(self.heading)
        layout.addWidget(self.hint)
        layout.addWidget(self.fill_button)
        layout.addWidget(self.shot_panel)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # --- public -------------------------------------------------------------------------------------------
    def set_selection(self, selection: Selection) -> None:
        """Show the selected shot (or gap, or nothing)."""
        if selection == self._selection:
            return
        self.commit_prompt()
        self._selection = selection
        self.refresh()

    def selection(self) -> Selection:
        return self._selection

    def detach(self) -> None:
        """Stop following the document (it is being closed)."""
        self._prompt_timer.stop()
        self.document.changed.disconnect(self._on_document_changed)
        dialog = self.compare_dialog()
        if dialog is not None:
            dialog.close()

    def shot(self) -> Shot | None:
        """The shot being inspected, if the selection is a shot that still exists."""
        if not self._selection.is_item or self._selection.item_id is None:
            return None
        found = self.document.project.find(self._selection.item_id)
        return found[1] if found is not None and isinstance(found[1], Shot) else None

    def set_allowed_aspects(self, aspects: tuple[str, ...]) -> None:
        """Grey out the aspect presets the shot's model cannot make at this project's size."""
        self._allowed_aspects = aspects
        model = self.aspect.model()
        if isinstance(model, QStandardItemModel):
            for row, aspect in enumerate(ASPECT_PRESETS):
                item = model.item(row)
                item.setEnabled(aspect in aspects)
                item.setToolTip("" if aspect in aspects else "The model cannot make this aspect at this size")

    def commit_prompt(self) -> None:
        """Write the typed prompt to the shot (one undo step), if it changed."""
        self._prompt_timer.stop()
        shot = self.shot()
        if shot is None or self._updating:
            return
        text = self.prompt.toPlainText()
        if text != shot.prompt:
            self._edit("Edit prompt", edits.set_shot, shot.id, prompt=text)

    def refresh(self) -> None:
        """Show the document's current state of the selection."""
        self._updating = True
        try:
            self._refresh()
        finally:
            self._updating = False

    # --- showing ---------------------------------------------------------------------------------------
    def _refresh(self) -> None:
        selection = self._selection
        shot = self.shot()
        gap = selection.is_gap
        self.fill_button.setVisible(gap)
        self.shot_panel.setVisible(shot is not None)
        if gap:
            fps = self.document.project.fps
            self.heading.setText(f"Gap of {selection.duration} frames")
            self.hint.setText(
                f"From {to_timecode(selection.start, fps)} to {to_timecode(selection.end, fps)}. "
                "Fill it with a bridge that starts where the left clip ends and arrives where the right "
                "clip begins."
            )
            self.hint.setVisible(True)
            return
        if shot is None:
            found = None if selection.item_id is None else self.document.project.find(selection.item_id)
            self.heading.setText("Your own footage" if found is not None else "No shot selected")
            self.hint.setText(
                "Imported clips are shown as they are; extend them with the timeline's context menu."
                if found is not None
                else "Select a shot on the timeline to edit its prompt and settings."
            )
            self.hint.setVisible(True)
            return
        self.hint.setVisible(False)
        fps = self.document.project.fps
        kind = {"bridge": "Bridge", "extend_forward": "Extension", "extend_backward": "Lead-in"}
        self.heading.setText(f"{kind.get(shot.source.kind, 'Shot')} at {to_timecode(shot.start, fps)}")
        typing = self.prompt.hasFocus() and self._prompt_timer.isActive()
        if not typing and self.prompt.toPlainText() != shot.prompt:
            self.prompt.setPlainText(shot.prompt)
        if not self.negative.hasFocus():
            self.negative.setText(shot.negative_prompt)
        self.duration.setValue(shot.duration)
        self.duration_time.setText(f"{float(shot.duration / fps):.2f} s")
        self.seed.setValue(-1 if shot.seed is None else min(shot.seed, MAX_SPIN_SEED))
        self.seed_lock.setChecked(shot.seed_locked)
        self.seed_lock.setText("Locked" if shot.seed_locked else "Lock")
        self.steps.setValue(shot.steps or 0)
        self.guidance.setValue(shot.guidance or 0.0)
        if self.model.findText(shot.model) < 0:
            self.model.addItem(shot.model)
        self.model.setCurrentText(shot.model)
        self.aspect.setCurrentText(shot.aspect)
        self.start_image.setText(shot.start_image or "")
        self.clear_image.setEnabled(shot.start_image is not None)
        self._refresh_takes(shot)
        stale = stale_neighbours(self.document.project, shot.id)
        self.stale_banner.setVisible(bool(stale))
        if stale:
            names = ", ".join(edits.describe(self.document.project.item(n)) for n in stale)
            self.stale_label.setText(f"Out of date: {names} now shows another take.")

    def refresh_models(self) -> None:
        """Re-read the model list (after the Models dialog changed it), keeping the shot's choice."""
        current = self.model.currentText()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(available_models())
        if current and self.model.findText(current) < 0:
            self.model.addItem(current)
        self.model.setCurrentText(current)
        self.model.blockSignals(False)

    def _refresh_takes(self, shot: Shot) -> None:
        selected = self._selected_take_id()
        self.takes.clear()
        bold = QFont(self.takes.font())
        bold.setBold(True)
        for number, take in enumerate(shot.takes, start=1):
            request = take.recipe.get("request", {}) if "request" in take.recipe else {}
            seed = request.get("seed", "?")
            when = take.created[11:16] if len(take.created) >= 16 else ""
            shown = take.id == shot.current_take
            text = f"{'▶ ' if shown else '   '}Take {number} · seed {seed} · {take.frames} frames {when}"
            item = QListWidgetItem(text.rstrip())
            item.setData(Qt.ItemDataRole.UserRole, take.id)
            item.setToolTip(f"{take.id}\n{take.media_path}")
            if shown:
                item.setFont(bold)
            self.takes.addItem(item)
            if take.id == (selected or shot.current_take):
                self.takes.setCurrentItem(item)
        has_takes = bool(shot.takes)
        for button in (self.show_take_button, self.delete_take_button, self.same_seed_button):
            button.setEnabled(has_takes)
        self.compare_button.setEnabled(len(shot.takes) >= 2)
        if not has_takes:
            placeholder = QListWidgetItem("No takes yet: press Generate")
            placeholder.setFlags(Qt.ItemFlag.NoItemFlags)
            self.takes.addItem(placeholder)

    # --- editing ---------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.prompt and event.type() == QEvent.Type.FocusOut:
            self.commit_prompt()
        return super().eventFilter(watched, event)

    def _on_prompt_typed(self) -> None:
        if not self._updating and self.shot() is not None:
            self._prompt_timer.start()

    def _on_seed_changed(self, value: int) -> None:
        self._set("seed", None if value < 0 else int(value), "Change seed")

    def _on_lock_toggled(self, locked: bool) -> None:
        shot = self.shot()
        if self._updating or shot is None:
            return
        changes: dict[str, Any] = {"seed_locked": locked}
        if locked and shot.seed is None:
            changes["seed"] = draw_seed()
        self._edit("Lock seed" if locked else "Unlock seed", edits.set_shot, shot.id, **changes)

    def _roll_seed(self) -> None:
        self._set("seed", draw_seed(), "New seed")

    def _choose_start_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Start image", "", "Images and video (*.png *.jpg *.jpeg *.webp *.bmp *.mp4 *.mov *.mkv)"
        )
        if path:
            self._set("start_image", str(Path(path)), "Set start image")

    def _set(self, field: str, value: Any, text: str | None = None) -> None:
        shot = self.shot()
        if self._updating or shot is None or getattr(shot, field) == value:
            return
        self._edit(text or f"Change {field.replace('_', ' ')}", edits.set_shot, shot.id, **{field: value})

    def _edit(self, text: str, edit: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            push_edit(self.undo_stack, self.document, text, edit, *args, **kwargs)
        except EditError as error:
            self.messageRaised.emit(error.message, error.detail)
            self.refresh()

    # --- takes and actions -------------------------------------------------------------------------------
    def _selected_take_id(self) -> str | None:
        item = self.takes.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _show_selected_take(self) -> None:
        shot, take_id = self.shot(), self._selected_take_id()
        if shot is not None and take_id is not None:
            self._edit("Show take", edits.set_current_take, shot.id, take_id)

    def _delete_selected_take(self) -> None:
        shot, take_id = self.shot(), self._selected_take_id()
        if shot is not None and take_id is not None:
            self._edit("Delete take", edits.delete_take, shot.id, take_id)

    def compare_dialog(self) -> CompareTakesDialog | None:
        """The compare-takes window, while it is open."""
        dialog = self._compare
        valid = dialog is not None and shiboken6.isValid(dialog) and dialog.isVisible()
        return dialog if valid else None

    def compare_takes(self) -> None:
        """Open the shot's current take (A) beside the take before it (B) in a compare window."""
        shot = self.shot()
        if shot is None or len(shot.takes) < 2:
            return
        ids = [take.id for take in shot.takes]
        take_a = shot.current_take if shot.current_take in ids else ids[-1]
        position = ids.index(take_a)
        take_b = ids[position - 1] if position > 0 else ids[1]
        old = self.compare_dialog()
        if old is not None:
            old.close()
        dialog = CompareTakesDialog(
            self.document, self.undo_stack, self.frames, shot.id, take_a, take_b, self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._compare = dialog
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _emit_generate(self) -> None:
        self.commit_prompt()
        shot = self.shot()
        if shot is not None:
            self.generateRequested.emit(shot.id)

    def _emit_extend(self, direction: str) -> None:
        self.commit_prompt()
        shot = self.shot()
        if shot is not None:
            self.extendRequested.emit(shot.id, direction)

    def _emit_regenerate(self, new_seed: bool) -> None:
        self.commit_prompt()
        shot = self.shot()
        if shot is not None:
            self.regenerateRequested.emit(shot.id, new_seed)

    def _emit_fill(self) -> None:
        selection = self._selection
        if selection.is_gap and selection.track_id is not None:
            self.fillGapRequested.emit(selection.track_id, selection.start, selection.end)

    def _on_document_changed(self, change: Change) -> None:
        if self._selection.item_id is None or self._selection.item_id in change.items or change.tracks:
            self.refresh()


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(4)
    for index, widget in enumerate(widgets):
        layout.addWidget(widget, 1 if index == 0 else 0)
    return row
