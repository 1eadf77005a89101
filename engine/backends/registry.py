"""Which models exist and how to load one by name or folder.

A model is named by: "sketch" (the bundled model), a name registered with `shotline models add`
(a local Wan 2.1 folder), or a path — a sketch checkpoint folder, or a Wan 2.1 folder or file.
"""

from __future__ import annotations

from pathlib import Path

from engine.backends.base import Backend
from engine.device import DeviceChoice
from engine.errors import ModelNotFoundError


def _load_sketch(folder: Path | None, choice: DeviceChoice) -> Backend:
    from engine.backends.sketch import SketchBackend

    return SketchBackend.load(folder, choice)


def _load_wan(path: Path, choice: DeviceChoice, options: dict | None = None) -> Backend:
    from engine.backends.wan import WanBackend, WanOptions

    return WanBackend.load(path, choice, WanOptions(**(options or {})))


def available_models() -> list[str]:
    """ "sketch" and the registered model names (an unreadable list of registrations shows none)."""
    from engine.backends.catalog import registered_models

    try:
        return ["sketch", *sorted(registered_models())]
    except ModelNotFoundError:
        return ["sketch"]


def _is_sketch_folder(folder: Path) -> bool:
    return folder.is_dir() and (folder / "config.json").exists() and (folder / "sketch.safetensors").exists()


def load_backend(model: str, choice: DeviceChoice) -> Backend:
    """Load the bundled sketch model, a registered model by name, or a model folder by path."""
    from engine.backends.catalog import registered_models
    from engine.backends.wan.files import looks_like_wan

    if model == "sketch":
        return _load_sketch(None, choice)
    registered = registered_models()
    if model in registered:
        return _load_wan(Path(registered[model].path), choice, registered[model].options)
    path = Path(model).expanduser()
    if _is_sketch_folder(path):
        return _load_sketch(path, choice)
    if path.exists() and looks_like_wan(path):
        return _load_wan(path, choice)
    if path.is_dir():
        raise ModelNotFoundError(
            f"The folder {path} holds no model Shotline can load: expected a Wan 2.1 model (a diffusers "
            "folder with model_index.json, or transformer, umT5 and VAE .safetensors files) or a sketch "
            "checkpoint.",
        )
    raise ModelNotFoundError(
        f"There is no model called '{model}': use one of {', '.join(available_models())} "
        "or the path of a model folder.",
    )
