"""Errors of the project model: a sentence a filmmaker understands, with the technical detail kept apart.

They mirror `engine.errors.ShotlineError` (message + detail) without importing the engine, so the
document stays plain Python.
"""

from __future__ import annotations


class DocumentModelError(Exception):
    """Base of the document's errors. `message` is for the user; `detail` is shown one click away."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class EditError(DocumentModelError, ValueError):
    """An edit cannot be made (an overlap, a trim past the media…); the project was not changed."""


class DocumentError(DocumentModelError):
    """A project file cannot be read or written (damaged, from a newer Shotline, disk trouble)."""
