"""Falling snow and rain, drawn in screen space over the finished frames."""

from __future__ import annotations

import numpy as np

from engine.sketch.world.figures import blend
from engine.sketch.world.geometry import FrameGeometry
from engine.sketch.world.scenes import DESIGN_HEIGHT, DESIGN_WIDTH, SceneSpec


def draw_weather(frames: np.ndarray, scene: SceneSpec, g: FrameGeometry) -> None:
    """Falling snow flakes or rain streaks in screen space, in place; positions are functions of time."""
    if scene.weather == "none":
        return
    t_count, height, width, _ = frames.shape
    rng = np.random.default_rng([scene.seed, 3])
    area = (width * height) / (DESIGN_WIDTH * DESIGN_HEIGHT)
    tau = g.tau[:, None]  # [T, 1]
    if scene.weather == "snowfall":
        n = int(70 * area)
        x0, y0 = rng.uniform(0, width, n), rng.uniform(0, height, n)
        speed, sway, omega, phi = (
            rng.uniform(0.5, 1.1, n),
            rng.uniform(1, 3, n),
            rng.uniform(0.1, 0.25, n),
            rng.uniform(0, 6.3, n),
        )
        ys = np.mod(y0 + speed * g.unit * tau, height + 4) - 2  # [T, n]
        xs = np.mod(x0 + sway * g.unit * np.sin(omega * tau + phi), width)
        size = max(1, round(1.6 * g.unit))
        offsets = [(dy, dx) for dy in range(size) for dx in range(size)]
        color, alpha = np.float32([246, 248, 252]), 0.9
    else:
        n = int(45 * area)
        x0, y0 = rng.uniform(0, width * 1.3, n), rng.uniform(0, height, n)
        speed = rng.uniform(5.0, 7.0, n)
        ys = np.mod(y0 + speed * g.unit * tau, height + 8) - 4
        xs = np.mod(x0 - 0.3 * speed * g.unit * tau, width * 1.3)
        length = max(3, round(5 * g.unit))
        offsets = [(k, -0.3 * k) for k in range(length)]
        color, alpha = np.float32([196, 206, 226]), 0.6
    t_idx = np.broadcast_to(np.arange(t_count)[:, None], ys.shape)
    for dy, dx in offsets:
        r = np.floor(ys + dy).astype(np.int64)
        c = np.floor(xs + dx).astype(np.int64)
        ok = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        blend(frames, (t_idx[ok], r[ok], c[ok]), color, alpha)
