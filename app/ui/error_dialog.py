"""The error dialog: what went wrong in a filmmaker's words, the technical detail behind "Show details"."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

from engine.errors import ShotlineError

# Tests replace this to see the dialog's text without a modal loop: hook(title, message, detail).
show_hook: Callable[[str, str, str], None] | None = None


def error_box(
    parent: QWidget | None, title: str, error: ShotlineError | str, detail: str = ""
) -> QMessageBox:
    """A warning box with the message and (when there is one) the detail under "Show Details…"."""
    message = error.message if isinstance(error, ShotlineError) else str(error)
    detail = detail or (error.detail if isinstance(error, ShotlineError) else "")
    box = QMessageBox(QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    if detail:
        box.setDetailedText(detail)
    return box


def show_error(parent: QWidget | None, title: str, error: ShotlineError | str, detail: str = "") -> None:
    """Show an error and wait for OK (or hand it to `show_hook` in tests)."""
    box = error_box(parent, title, error, detail)
    if show_hook is not None:
        show_hook(title, box.text(), box.detailedText())
        box.deleteLater()
        return
    box.exec()
    box.deleteLater()
