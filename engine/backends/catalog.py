"""The user's registered models: a name for each local Wan folder, kept in a small JSON file.

`models.json` lives in Shotline's config folder ($SHOTLINE_CONFIG, else $XDG_CONFIG_HOME/shotline, else
~/.config/shotline). A model is checked (files, shapes, variant) when it is registered, so the list
only holds models that loaded once; it is written atomically so a crash never empties it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from engine.errors import InvalidRequestError, ModelNotFoundError

__all__ = [
    "RegisteredModel",
    "config_dir",
    "register_model",
    "registered_models",
    "set_model_options",
    "unregister_model",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    path: str
    label: str  # "Wan2.1 T2V 1.3B"
    kind: str  # t2v / i2v / vace
    memory_gb: float  # estimated GPU memory at 832×480, 81 frames
    options: dict = field(default_factory=dict)  # WanOptions fields that differ from the defaults


def config_dir() -> Path:
    if os.environ.get("SHOTLINE_CONFIG"):
        return Path(os.environ["SHOTLINE_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "shotline"


def _catalog_path() -> Path:
    return config_dir() / "models.json"


def registered_models() -> dict[str, RegisteredModel]:
    path = _catalog_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {name: RegisteredModel(**entry) for name, entry in raw.get("models", {}).items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, TypeError) as error:  # a damaged list loses no model folder: re-register
        raise ModelNotFoundError(
            f"The list of registered models ({path}) is damaged; register your models again.", repr(error)
        ) from None


def _write(models: dict[str, RegisteredModel]) -> None:
    path = _catalog_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".tmp")
    temp.write_text(
        json.dumps({"models": {n: asdict(m) for n, m in models.items()}}, indent=2), encoding="utf-8"
    )
    os.replace(temp, path)


def register_model(name: str, folder: str | Path) -> RegisteredModel:
    """Check the Wan model at `folder` and register it as `name` (replacing an older entry)."""
    from engine.backends.wan.files import inspect_wan_model

    if name == "sketch" or not _NAME.match(name):
        raise InvalidRequestError(
            f"'{name}' cannot be a model name: use letters, digits, '.', '_' or '-' (and not 'sketch')."
        )
    files = inspect_wan_model(folder)
    previous = registered_models().get(name)
    entry = RegisteredModel(
        name=name,
        path=str(files.root.resolve()),
        label=files.label,
        kind=files.kind,
        memory_gb=round(files.memory_estimate_gb()["total"], 1),
        options=previous.options if previous is not None else {},
    )
    models = registered_models()
    models[name] = entry
    _write(models)
    return entry


def set_model_options(name: str, **changes: object) -> RegisteredModel:
    """Change how a registered model runs (offload, draft, attention…): the fields of `WanOptions`."""
    from engine.backends.wan.options import WanOptions

    models = registered_models()
    if name not in models:
        raise ModelNotFoundError(f"No model is registered as '{name}'.")
    known = {f.name for f in fields(WanOptions)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidRequestError(
            f"Unknown model setting {', '.join(unknown)}: use {', '.join(sorted(known))}."
        )
    merged = {**models[name].options, **changes}
    options = WanOptions(**merged)  # validates the values
    default = WanOptions()
    kept = {k: v for k, v in asdict(options).items() if getattr(default, k) != v}
    models[name] = replace(models[name], options=kept)
    _write(models)
    return models[name]


def unregister_model(name: str) -> None:
    models = registered_models()
    if name not in models:
        raise ModelNotFoundError(f"No model is registered as '{name}'.")
    del models[name]
    _write(models)
