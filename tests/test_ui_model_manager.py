"""The Models dialog registers a Wan folder off the UI thread, shows what it is, reports bad folders."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings
from wan_tiny import save_diffusers_folder, tiny_components

from app.ui import error_dialog
from app.ui.main_window import MainWindow
from app.ui.model_manager import ModelManagerDialog
from engine.backends.registry import available_models


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SHOTLINE_CONFIG", str(tmp_path / "config"))
    return tmp_path / "config"


def test_add_a_wan_folder_then_remove_it(qtbot, tmp_path, config_dir):
    folder = save_diffusers_folder(tmp_path / "wan-tiny", tiny_components())
    dialog = ModelManagerDialog()
    qtbot.addWidget(dialog)
    assert dialog.names() == []
    with qtbot.waitSignal(dialog.modelsChanged, timeout=60_000):
        dialog.add("tiny", folder)
    assert dialog.names() == ["tiny"]
    assert dialog.table.item(0, 1).text().startswith("Wan2.1 T2V")
    assert "GB" in dialog.table.item(0, 2).text()
    assert "tiny" in available_models()  # the inspector's model list sees it
    dialog.table.selectRow(0)
    with qtbot.waitSignal(dialog.modelsChanged):
        dialog.remove_button.click()
    assert dialog.names() == [] and available_models() == ["sketch"]
    assert (folder / "model_index.json").exists()  # removing forgets the name, never the files


def test_a_folder_that_is_not_a_model_is_reported_and_not_added(qtbot, tmp_path, config_dir, monkeypatch):
    shown: list[tuple[str, str, str]] = []
    monkeypatch.setattr(error_dialog, "show_hook", lambda *args: shown.append(args))
    empty = tmp_path / "photos"
    empty.mkdir()
    (empty / "weights.pth").write_bytes(b"\x80\x04not really")
    dialog = ModelManagerDialog()
    qtbot.addWidget(dialog)
    dialog.add("photos", empty)
    qtbot.waitUntil(lambda: bool(shown), timeout=30_000)
    title, message, _ = shown[0]
    assert title == "Add model" and "weights.pth" in message
    assert dialog.names() == [] and dialog.add_button.isEnabled()


def test_the_inspector_lists_a_model_added_from_the_main_window(qtbot, tmp_path, config_dir, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    main_window = MainWindow(
        autosave_ms=0, settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    )
    qtbot.addWidget(main_window)
    main_window.show()
    folder = save_diffusers_folder(tmp_path / "wan-tiny", tiny_components())
    dialog = main_window.manage_models()
    with qtbot.waitSignal(dialog.modelsChanged, timeout=60_000):
        dialog.add("tiny", folder)
    combo = main_window.inspector.model
    assert [combo.itemText(i) for i in range(combo.count())][:2] == ["sketch", "tiny"]
    dialog.close()
    main_window.shutdown()


def test_settings_of_the_selected_model_are_saved_for_the_next_render(qtbot, tmp_path, config_dir):
    from engine.backends.catalog import registered_models

    folder = save_diffusers_folder(tmp_path / "wan-tiny", tiny_components())
    dialog = ModelManagerDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.modelsChanged, timeout=60_000):
        dialog.add("tiny", folder)
    assert not dialog.offload.isEnabled()  # nothing selected yet
    dialog.table.selectRow(0)
    assert dialog.offload.isEnabled() and dialog.offload.currentText() == "none"
    with qtbot.waitSignal(dialog.modelsChanged):
        dialog.offload.setCurrentText("model")
    with qtbot.waitSignal(dialog.modelsChanged):
        dialog.draft.setChecked(True)
    assert registered_models()["tiny"].options == {"offload": "model", "draft": True}
    reopened = ModelManagerDialog()
    qtbot.addWidget(reopened)
    reopened.table.selectRow(0)
    assert reopened.offload.currentText() == "model" and reopened.draft.isChecked()
