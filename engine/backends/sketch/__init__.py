"""The bundled sketch model (CPU-capable): backend, configuration and model parts."""

from engine.backends.sketch.backend import SketchBackend
from engine.backends.sketch.config import SketchConfig

__all__ = ["SketchBackend", "SketchConfig"]
