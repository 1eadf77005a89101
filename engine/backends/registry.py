"""Which models exist and how to load one by name or folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.backends.base import Backend
from engine.device import DeviceChoice
from engine.errors import ModelNotFoundError


def _load_sketch(folder: Path | None, choice: DeviceChoice) -> Backend:
    from engine.backends.sketch import SketchBackend

    return SketchBackend.load(folder, choice)


# name → loader(folder or None for the bundled default, device)
MODELS: dict[str, Callable[[Path | None, DeviceChoice], Backend]] = {"sketch": _load_sketch}


def available_models() -> list[str]:
    return sorted(MODELS)


def load_backend(model: str, choice: DeviceChoice) -> Backend:
    """Load a registered model by name, or a sketch checkpoint folder by path."""
    if model in MODELS:
        return MODELS[model](None, choice)
    folder = Path(model).expanduser()
    if folder.is_dir() and (folder / "config.json").exists() and (folder / "sketch.safetensors").exists():
        return _load_sketch(folder, choice)
    if folder.is_dir():
        raise ModelNotFoundError(
            f"The folder {folder} is not a model Shotline can load yet: models available are "
            f"{', '.join(available_models())}.",
        )
    raise ModelNotFoundError(
        f"There is no model called '{model}': use one of {', '.join(available_models())} "
        "or the path of a model folder.",
    )
