"""Models dialog: register a local Wan 2.1 folder under a name, see what it is and what memory it needs.

Checking a model reads every weights file's header and compares shapes with the model its config
describes (engine.backends.wan.files), which takes a moment for a 14B model: it runs on a worker
thread and the dialog shows "Checking…" meanwhile. Nothing is loaded onto the GPU here.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.error_dialog import show_error
from engine.backends.catalog import (
    RegisteredModel,
    register_model,
    registered_models,
    set_model_options,
    unregister_model,
)
from engine.errors import ShotlineError

COLUMNS = ("Name", "Model", "GPU memory (est.)", "Folder")


class _Relay(QObject):
    finished = Signal(
        object, object
    )  # (RegisteredModel | None, ShotlineError | None), queued to the UI thread


class ModelManagerDialog(QDialog):
    """List, add and remove registered models. Emits `modelsChanged` after a change."""

    modelsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.setObjectName("modelManager")
        self.resize(760, 320)
        self.table = QTableWidget(0, len(COLUMNS), self, objectName="modelTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.status = QLabel(
            "Shotline runs the bundled sketch model on any computer. Add a Wan 2.1 folder you downloaded "
            "(diffusers layout, or the transformer, umT5 and VAE .safetensors files and a tokenizer/ "
            "folder).",
            objectName="modelStatus",
        )
        self.status.setWordWrap(True)
        self.add_button = QPushButton("Add folder…", objectName="addModel")
        self.remove_button = QPushButton("Remove", objectName="removeModel")
        self.add_button.clicked.connect(self._choose_folder)
        self.remove_button.clicked.connect(self._remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        # how the selected model runs (WanOptions): memory first, then speed
        self.offload = QComboBox(objectName="offloadCombo")
        self.offload.addItems(["none", "model", "group"])
        self.offload.setToolTip(
            "model: each part visits the GPU only while it works (fits ~8 GB cards for 1.3B); "
            "group: the transformer streams block by block (slowest, least memory)"
        )
        self.tiling = QComboBox(objectName="tilingCombo")
        self.tiling.addItems(["auto", "on", "off"])
        self.tiling.setToolTip("Decode the video in tiles: less memory for the final decode")
        self.draft = QCheckBox("Draft mode (step cache: faster, a little rougher)", objectName="draftCheck")
        settings_row = QHBoxLayout()
        for label, widget in (("Offload", self.offload), ("VAE tiling", self.tiling)):
            settings_row.addWidget(QLabel(label))
            settings_row.addWidget(widget)
        settings_row.addWidget(self.draft)
        settings_row.addStretch(1)
        self.offload.currentTextChanged.connect(lambda value: self._set_option("offload", value))
        self.tiling.currentTextChanged.connect(lambda value: self._set_option("vae_tiling", value))
        self.draft.toggled.connect(lambda value: self._set_option("draft", value))
        self.table.itemSelectionChanged.connect(self._show_options)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        layout.addLayout(settings_row)
        layout.addWidget(close)
        self._relay = _Relay(self)
        self._relay.finished.connect(self._registered, Qt.ConnectionType.QueuedConnection)
        self._worker: threading.Thread | None = None
        self._models: dict[str, RegisteredModel] = {}
        self._updating = False
        self.refresh()

    # --- list -----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        try:
            models = registered_models()
        except ShotlineError as error:
            show_error(self, "Models", error)
            models = {}
        self.table.setRowCount(0)
        for model in sorted(models.values(), key=lambda m: m.name):
            row = self.table.rowCount()
            self.table.insertRow(row)
            values = (model.name, model.label, f"~{model.memory_gb:.1f} GB at 832×480, 81 frames", model.path)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.table.setItem(row, column, item)
        self.remove_button.setEnabled(self.table.rowCount() > 0)
        self._models = models
        self._show_options()

    # --- how the selected model runs -------------------------------------------------------------------
    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def _show_options(self) -> None:
        from engine.backends.wan.options import WanOptions

        name = self.selected_name()
        model = self._models.get(name) if name else None
        for widget in (self.offload, self.tiling, self.draft):
            widget.setEnabled(model is not None)
        options = WanOptions(**(model.options if model else {}))
        self._updating = True
        self.offload.setCurrentText(options.offload)
        self.tiling.setCurrentText(options.vae_tiling)
        self.draft.setChecked(options.draft)
        self._updating = False

    def _set_option(self, key: str, value: object) -> None:
        name = self.selected_name()
        if self._updating or name is None:
            return
        try:
            self._models[name] = set_model_options(name, **{key: value})
        except ShotlineError as error:
            show_error(self, "Model settings", error)
            return
        self.status.setText(f"{name}: {key.replace('_', ' ')} set to {value}; used from the next render.")
        self.modelsChanged.emit()

    def names(self) -> list[str]:
        return [self.table.item(row, 0).text() for row in range(self.table.rowCount())]

    # --- add --------------------------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Choose a Wan 2.1 model folder")
        if not folder:
            return
        name, ok = QInputDialog.getText(self, "Model name", "Name in Shotline:", text=Path(folder).name)
        if ok and name.strip():
            self.add(name.strip(), Path(folder))

    def add(self, name: str, folder: Path) -> None:
        """Check and register `folder` as `name` on a worker thread."""
        if self._worker is not None and self._worker.is_alive():
            return
        self.add_button.setEnabled(False)
        self.status.setText(f"Checking {folder.name}…")

        def work() -> None:
            try:
                self._relay.finished.emit(register_model(name, folder), None)
            except ShotlineError as error:
                self._relay.finished.emit(None, error)
            except Exception as error:  # an unexpected failure still reaches the user
                self._relay.finished.emit(
                    None, ShotlineError(f"{folder.name} could not be checked.", repr(error))
                )

        self._worker = threading.Thread(target=work, name="shotline-model-check", daemon=True)
        self._worker.start()

    def _registered(self, model: RegisteredModel | None, error: ShotlineError | None) -> None:
        self.add_button.setEnabled(True)
        if error is not None:
            self.status.setText("The model was not added.")
            show_error(self, "Add model", error)
            return
        assert model is not None
        self.status.setText(
            f"Added {model.name}: {model.label}, about {model.memory_gb:.1f} GB of GPU memory."
        )
        self.refresh()
        self.modelsChanged.emit()

    def wait(self, timeout: float = 60.0) -> None:
        """Block until a running check ends (tests)."""
        if self._worker is not None:
            self._worker.join(timeout)

    # --- remove -----------------------------------------------------------------------------------------
    def _remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()})
        for row in rows:
            name = self.table.item(row, 0).text()
            try:
                unregister_model(name)
            except ShotlineError as error:
                show_error(self, "Remove model", error)
        if rows:
            self.status.setText("Removed. The model's files were not touched.")
            self.refresh()
            self.modelsChanged.emit()
