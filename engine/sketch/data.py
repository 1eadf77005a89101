"""Training and evaluation data for the sketch model: random world clips with captions (and a share of clips
unlike the world, `offworld`); the held-out set."""

from __future__ import annotations

import numpy as np
import torch

from engine.sketch.captions import caption
from engine.sketch.offworld import foreign_clip
from engine.sketch.world import SceneSpec, render, sample_scene

# Attribute combinations never shown in training, so evaluation measures generalisation.
HELD_OUT_SUBJECTS = frozenset({("car", "purple"), ("bird", "orange"), ("ball", "white"), ("person", "blue")})
HELD_OUT_SCENES = frozenset({("sand", "night"), ("water", "sunset"), ("snow", "day")})


def is_held_out(scene: SceneSpec) -> bool:
    if (scene.ground, scene.sky) in HELD_OUT_SCENES:
        return True
    return any((s.kind, s.color) in HELD_OUT_SUBJECTS for s in scene.subjects)


def is_training_scene(scene: SceneSpec) -> bool:
    return not is_held_out(scene)


def world_batch(
    rng: np.random.Generator,
    batch: int,
    frames: int,
    width: int,
    height: int,
    *,
    held_out: bool = False,
    foreign: float = 0.0,
) -> tuple[torch.Tensor, list[str], list[SceneSpec | None]]:
    """Videos `[B, 3, F, H, W]` in [-1, 1], their captions and scenes (training or held-out combinations).
    A `foreign` share of the clips are shapes over colour fields unlike the world (`offworld`); their
    scene is None."""
    reject = is_training_scene if held_out else is_held_out
    videos, captions, scenes = [], [], []
    for _ in range(batch):
        if foreign and rng.random() < foreign:
            clip, text = foreign_clip(rng, frames, width, height)
            videos.append(torch.from_numpy(clip))
            captions.append(text)
            scenes.append(None)
            continue
        scene = sample_scene(rng, holdout=reject)
        start = int(rng.integers(0, 48))
        clip = render(scene, frames, width, height, start_frame=start)
        videos.append(torch.from_numpy(clip.frames))
        captions.append(caption(scene, rng, detail=float(rng.uniform(0.4, 1.0))))
        scenes.append(scene)
    video = torch.stack(videos).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0  # [B, 3, F, H, W]
    return video, captions, scenes
