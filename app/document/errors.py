"""Errors of the project model: a sentence a filmmaker understands, with the technical detail kept apart."""

from __future__ import annotations

from engine.errors import ShotlineError  # plain Python: no torch, no Qt


class DocumentModelError(ShotlineError):
    """Base of the document's errors. `message` is for the user; `detail` is shown one click away."""


class EditError(DocumentModelError, ValueError):
    """An edit cannot be made (an overlap, a trim past the media…); the project was not changed."""


class DocumentError(DocumentModelError):
    """A project file cannot be read or written (damaged, from a newer Shotline, disk trouble)."""
