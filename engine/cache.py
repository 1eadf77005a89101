"""The media cache: one folder per take, keyed by the request's hash, written atomically.

    <root>/<key>/frames.mkv           lossless FFV1 RGB frames of the take
    <root>/<key>/latents.safetensors  normalised latents [C, T, h, w] (reused to extend and bridge)
    <root>/<key>/recipe.json          the full request, seed and model: enough to render it again

A take is written into a temporary folder and renamed into place only when complete, so a cancel,
a crash or a full disk never leaves a half-written take under its key.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from engine.errors import MediaError
from engine.generate import GenerationResult
from engine.media import Video, read_video, write_video

FRAMES_NAME = "frames.mkv"
LATENTS_NAME = "latents.safetensors"
RECIPE_NAME = "recipe.json"


@dataclass(frozen=True)
class Take:
    """A finished render in the media cache."""

    key: str
    folder: Path
    recipe: dict

    @property
    def frames_path(self) -> Path:
        return self.folder / FRAMES_NAME

    @property
    def latents_path(self) -> Path:
        return self.folder / LATENTS_NAME

    def load_video(self) -> Video:
        return read_video(self.frames_path)

    def load_latents(self) -> tuple[np.ndarray, str] | None:
        """`(latents [C, T, h, w], latent_space)`, or None when the take has none or they are unreadable."""
        if not self.latents_path.exists():
            return None
        try:
            latents = load_file(str(self.latents_path)).get("latents")
        except (SafetensorError, OSError):
            return None
        if latents is None or latents.ndim != 4 or not latents.is_floating_point():
            return None  # not what this cache writes: decode the frames instead
        return latents.float().numpy(), str(self.recipe.get("latent_space", ""))


def _frames_intact(take: Take) -> bool:
    """Whether the take's frames decode to the count and size its recipe records."""
    try:
        video = take.load_video()
    except (MediaError, OSError):
        return False
    recipe = take.recipe
    expected = (recipe.get("frames"), recipe.get("height"), recipe.get("width"))
    return (video.frame_count, video.height, video.width) == expected or None in expected


def find_take(path: Path) -> Take | None:
    """The take a path belongs to (its folder or its frames file), if it is one."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    recipe_path = folder / RECIPE_NAME
    if not (folder / FRAMES_NAME).exists() or not recipe_path.exists():
        return None
    if path.is_file() and path.name != FRAMES_NAME:
        return None
    try:
        recipe = json.loads(recipe_path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(recipe, dict):
        return None
    return Take(key=folder.name, folder=folder, recipe=recipe)


class MediaCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def lookup(self, key: str) -> Take | None:
        """The cached take for `key`, if it is there and its frames still decode as recorded.

        A take whose frames were damaged after it was written (a bad disk, a half-copied cache) is
        moved aside as `.KEY.damaged-N`, so the job renders it afresh instead of failing every time;
        copies a project links to are separate files and stay as they are.
        """
        folder = self.root / key
        take = find_take(folder) if folder.is_dir() else None
        if take is None or _frames_intact(take):
            return take
        for n in range(1000):
            aside = self.root / f".{key}.damaged-{n}"
            if not aside.exists():
                with contextlib.suppress(OSError):
                    os.replace(folder, aside)
                break
        return None

    def store(self, key: str, result: GenerationResult, extra: dict | None = None) -> Take:
        """Write a take atomically; an existing take under `key` is kept as it is."""
        existing = self.lookup(key)
        if existing is not None:
            return existing
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{key}.", suffix=".partial", dir=self.root))
        except OSError as error:
            raise MediaError(
                f"Cannot write to the media cache folder {self.root}: check that the disk has room "
                "and the folder is writable.",
                repr(error),
            ) from error
        try:
            recipe = {
                "schema": "Take.1",
                "key": key,
                "request": result.request.to_recipe(),
                "latent_space": result.latent_space,
                "frames": int(result.frames.shape[0]),
                "width": int(result.frames.shape[2]),
                "height": int(result.frames.shape[1]),
                "seconds": round(result.seconds, 3),
                **(extra or {}),
            }
            fps = Fraction(result.request.fps).limit_denominator(1001)
            write_video(staging / FRAMES_NAME, result.frames, fps, format="ffv1")
            if result.latents is not None:
                save_file(
                    {"latents": torch.from_numpy(np.ascontiguousarray(result.latents))},
                    str(staging / LATENTS_NAME),
                )
            (staging / RECIPE_NAME).write_text(json.dumps(recipe, indent=2))
            _fsync_dir(staging)
            os.replace(staging, self.root / key)
        except BaseException as error:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(error, OSError):
                raise MediaError(
                    "Could not save the rendered take to the media cache: the disk may be full.",
                    repr(error),
                ) from error
            raise
        return Take(key=key, folder=self.root / key, recipe=recipe)

    def remove_partials(self) -> int:
        """Delete half-written takes left by a crash; returns how many."""
        removed = 0
        for partial in self.root.glob(".*.partial"):
            shutil.rmtree(partial, ignore_errors=True)
            removed += 1
        return removed


def _fsync_dir(folder: Path) -> None:
    for item in folder.iterdir():
        with open(item, "rb") as f:
            os.fsync(f.fileno())
