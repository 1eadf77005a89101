"""The storyboard world: a deterministic numpy renderer of short captioned scenes with per-frame ground truth.

A scene is sky over ground (horizon at 58% of the height), 1–2 flat-colour subjects with a thin outline,
optional falling snow or rain, and a static, panning or zooming camera. Everything is a pure function of
the `SceneSpec` (its `seed` fixes stars, clouds, ground texture and weather) and of time, so
`render(scene, 36, w, h, start_frame=36)` continues `render(scene, 36, w, h)` exactly: true continuations
and in-betweens exist for evaluation.

Geometry is designed at 128×80 ("design units"); other sizes scale it by `min(width / 128, height / 80)`.
Speeds are in design pixels per frame at 12 fps: horizontal slow 1.0, fast 2.5 (× width / 128); vertical
the same fraction of the height (slow 0.625, fast 1.5625 px/frame at 80 px); pans 1.0 px/frame; zooms
scale by 1.5 every 72 frames (in) or 1 / 1.5 (out) about the frame centre (zoom-outs are drawn exactly
down to scale 1/2, about frame 120; further out the world's outer rows repeat). Bounces are parabolic hops
in place on the subject's ground line (24 frames per hop slow, 12 fast); "still" subjects do not move in
the world, so pans carry them across the screen. A subject leaving one edge re-enters at the opposite one
once it is fully out (its box then lies outside the frame for a moment); `sample_scene` places subjects
so that they stay fully in frame for the first `keep_in_frame` frames when the motion allows it (fast
horizontal movers, the camera's zoom-ins and long clips still take some of them out for a while).

Public API: `SubjectSpec`, `SceneSpec`, `sample_scene`, `complete_scene` (a parsed prompt → a scene),
`render` → `Clip`, `render_background`, and the reference colours `SUBJECT_COLORS`, `GROUND_COLORS`,
`SKY_COLORS`; the captions are `engine.sketch.captions`.

Modules: `scenes` (specs, sampling), `geometry` (camera and poses), `backdrop` (sky and ground),
`figures` (subjects), `weather`; this one composes them.
"""

from __future__ import annotations

import numpy as np

from engine.sketch.world.backdrop import draw_background
from engine.sketch.world.figures import draw_subject
from engine.sketch.world.geometry import frame_geometry, subject_box, subject_pose
from engine.sketch.world.scenes import (
    BASE_FPS,
    GROUND_COLORS,
    HORIZON,
    SKY_COLORS,
    SUBJECT_COLORS,
    Clip,
    SceneSpec,
    SubjectSpec,
    complete_scene,
    sample_scene,
)
from engine.sketch.world.weather import draw_weather

__all__ = [
    "GROUND_COLORS",
    "SKY_COLORS",
    "SUBJECT_COLORS",
    "Clip",
    "SceneSpec",
    "SubjectSpec",
    "complete_scene",
    "render",
    "render_background",
    "sample_scene",
]


def render_background(scene: SceneSpec, frames: int, width: int, height: int) -> np.ndarray:
    """The scene's sky, ground and weather without its subjects: `[T, H, W, 3]` uint8."""
    return draw_background(scene, frame_geometry(scene, frames, width, height, BASE_FPS, 0))


def render(
    scene: SceneSpec, frames: int, width: int, height: int, fps: float = BASE_FPS, start_frame: int = 0
) -> Clip:
    """Frames `start_frame … start_frame + frames − 1` of `scene` at `fps`, with ground truth.

    Time is the only input that changes: rendering 72 frames equals rendering 36 and then 36 more with
    `start_frame=36`.
    """
    if frames < 1 or width < 8 or height < 8:
        raise ValueError(f"cannot render {frames} frames of {width}×{height}")
    g = frame_geometry(scene, frames, width, height, fps, start_frame)
    image = draw_background(scene, g)  # [T, H, W, 3] uint8
    poses = [subject_pose(s, g) for s in scene.subjects]
    boxes = [subject_box(s, p) for s, p in zip(scene.subjects, poses, strict=True)]
    for i in sorted(range(len(scene.subjects)), key=lambda i: scene.subjects[i].y):  # far first
        draw_subject(image, scene.subjects[i], poses[i], boxes[i])
    draw_weather(image, scene, g)
    colors = np.array([SUBJECT_COLORS[s.color] for s in scene.subjects], np.uint8)
    return Clip(
        scene=scene,
        frames=image,
        subject_boxes=np.stack(boxes, axis=1).astype(np.float32),
        subject_colors=colors,
        horizon=g.to_screen_y(np.float32(HORIZON * height)).astype(np.float32),
        camera_offset=g.cam.astype(np.float32),
        zoom=g.zoom.astype(np.float32),
        start_frame=start_frame,
        fps=fps,
    )
