"""Where things are on screen, frame by frame: the camera (pan, zoom, scale) and each subject's pose."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine.sketch.world.scenes import (
    BASE_FPS,
    DESIGN_HEIGHT,
    DESIGN_WIDTH,
    EDGE,
    SUBJECT_SIZES,
    SceneSpec,
    SubjectSpec,
    pan_velocity,
    velocity,
)

_BOUNCE_PERIOD = {"slow": 24.0, "fast": 12.0}  # frames per hop
_BOUNCE_HEIGHT = 18.0  # design units
_FLAP_PERIOD = 8.0
_STRIDE_PERIOD = {"slow": 12.0, "fast": 6.0}
ZOOM_RATE = math.log(1.5) / 72.0  # per frame


@dataclass(frozen=True)
class FrameGeometry:
    """Per-frame camera and scale, all [T] float arrays."""

    width: int
    height: int
    unit: float  # screen px per design unit at zoom 1
    tau: np.ndarray  # [T] time in 12-fps frames
    cam: np.ndarray  # [T] pan offset, px at zoom 1
    zoom: np.ndarray  # [T]

    def world_x(self) -> np.ndarray:  # [T, W] world px of each screen column
        u = np.arange(self.width, dtype=np.float32) + 0.5
        half = self.width / 2
        return (u[None] - half) / self.zoom[:, None] + half + self.cam[:, None]

    def world_y(self) -> np.ndarray:  # [T, H] world px of each screen row
        v = np.arange(self.height, dtype=np.float32) + 0.5
        half = self.height / 2
        return (v[None] - half) / self.zoom[:, None] + half

    def to_screen_x(self, x: np.ndarray) -> np.ndarray:  # unzoomed screen px → screen px
        return self.width / 2 + (x - self.width / 2) * self.zoom

    def to_screen_y(self, y: np.ndarray) -> np.ndarray:
        return self.height / 2 + (y - self.height / 2) * self.zoom


def frame_geometry(
    scene: SceneSpec, frames: int, width: int, height: int, fps: float, start: int
) -> FrameGeometry:
    tau = (start + np.arange(frames, dtype=np.float64)) * (BASE_FPS / fps)
    cam = pan_velocity(scene.camera) * (width / DESIGN_WIDTH) * tau
    rate = {"zoom_in": ZOOM_RATE, "zoom_out": -ZOOM_RATE}.get(scene.camera, 0.0)
    unit = min(width / DESIGN_WIDTH, height / DESIGN_HEIGHT)
    return FrameGeometry(
        width, height, unit, tau, cam.astype(np.float32), np.exp(rate * tau).astype(np.float32)
    )


def _wrap(value: np.ndarray, low: float, period: float) -> np.ndarray:
    return np.mod(value - low, period) + low


@dataclass(frozen=True)
class Pose:
    """A subject's per-frame screen placement."""

    x: np.ndarray  # [T] centre px
    bottom: np.ndarray  # [T] bottom edge px
    scale: np.ndarray  # [T] screen px per design unit
    facing: float  # +1 faces right, -1 faces left
    phase: np.ndarray  # [T] animation phase in cycles (wings, legs)


def subject_pose(s: SubjectSpec, g: FrameGeometry) -> Pose:
    width, height = (d * g.unit for d in SUBJECT_SIZES[s.kind])
    edge = EDGE * g.unit
    vx, vy = velocity(s.motion, s.speed)
    x = s.x * g.width + vx * (g.width / DESIGN_WIDTH) * g.tau - g.cam
    x = _wrap(x, -width / 2 - edge, g.width + width + 2 * edge)
    bottom = np.full_like(g.tau, s.y * g.height)
    if s.motion in ("up", "down"):
        bottom = _wrap(bottom + vy * (g.height / DESIGN_HEIGHT) * g.tau, -edge, g.height + height + 2 * edge)
    elif s.motion == "bounce":
        p = np.mod(g.tau / _BOUNCE_PERIOD[s.speed], 1.0)
        bottom = bottom - 4 * _BOUNCE_HEIGHT * g.unit * p * (1 - p)
    facing = -1.0 if s.motion == "left" or (s.motion not in ("left", "right") and s.x > 0.5) else 1.0
    if s.kind == "bird":
        phase = g.tau / _FLAP_PERIOD + 0.125
    elif s.motion in ("left", "right"):
        phase = g.tau / _STRIDE_PERIOD[s.speed]
    else:
        phase = np.zeros_like(g.tau)
    return Pose(g.to_screen_x(x), g.to_screen_y(bottom), g.unit * g.zoom.astype(np.float64), facing, phase)


def subject_box(s: SubjectSpec, pose: Pose) -> np.ndarray:  # [T, 4]
    width, height = SUBJECT_SIZES[s.kind]
    half = width / 2 * pose.scale
    return np.stack([pose.x - half, pose.bottom - height * pose.scale, pose.x + half, pose.bottom], axis=-1)
