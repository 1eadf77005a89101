"""User-facing errors: a sentence a filmmaker understands, with the technical detail kept apart."""

from __future__ import annotations


class ShotlineError(Exception):
    """An error whose message is written for the user.

    `message` says what went wrong and what to do, in plain words. `detail` holds the technical
    part (paths, shapes, the original exception) that the UI shows one click away and the CLI
    prints with `--verbose`.
    """

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class InvalidRequestError(ShotlineError, ValueError):
    """The request asks for something the model cannot do (size, frame count, steps…)."""


class MediaError(ShotlineError):
    """A video or image file could not be read or written."""


class ModelNotFoundError(ShotlineError):
    """No model is registered under that name and no folder exists at that path."""


class WeightsError(ShotlineError):
    """A weights file is missing, truncated, corrupt, of the wrong shape or not safetensors."""


class GenerationCancelled(Exception):
    """Raised between sampling steps when the user cancels. Not an error to report."""


class OutOfMemoryError(ShotlineError):
    """The device ran out of memory during generation."""
