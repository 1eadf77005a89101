"""The backdrop: sky over ground, textured, as a periodic world tile seen through each frame's camera."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.sketch.world.geometry import FrameGeometry
from engine.sketch.world.scenes import GROUND_COLORS, HORIZON, SKY_GRADIENTS, SceneSpec

_GROUND_TINT = {"day": (1.0, 1.0, 1.0), "sunset": (1.0, 0.95, 0.9), "night": (0.78, 0.84, 0.95)}
_TILE = 256  # texture tiles are periodic, in design units


def _noise_tile(rng: np.random.Generator, rows: int, cols: int, cell: int) -> np.ndarray:
    """Smooth value noise in [0, 1), [rows, cols], periodic both ways (`cell` must divide both)."""
    grid = rng.random((rows // cell, cols // cell))

    def axis(n: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = np.arange(n) / cell
        low = np.floor(pos).astype(np.int64)
        f = pos - low
        return low % size, (low + 1) % size, f * f * (3 - 2 * f)  # smoothstep

    y0, y1, fy = axis(rows, grid.shape[0])
    x0, x1, fx = axis(cols, grid.shape[1])
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x1] * fx
    bottom = grid[y1][:, x0] * (1 - fx) + grid[y1][:, x1] * fx
    return top * (1 - fy[:, None]) + bottom * fy[:, None]


def _ground_texture(ground: str, seed: int) -> np.ndarray:
    """Brightness of the ground's texture, [64, _TILE] float32 around 1, periodic, in design units."""
    rng = np.random.default_rng([seed, 1])
    shape = (64, _TILE)
    if ground == "grass":
        shade = 1 + 0.08 * (_noise_tile(rng, *shape, 8) - 0.5)
        tufts = rng.random(shape) < 0.03
        tufts = tufts | np.roll(tufts, 1, axis=0) | np.roll(tufts, 2, axis=0)  # short vertical blades
        shade[tufts] *= 0.82
    elif ground == "snow":
        shade = 1 + 0.05 * (_noise_tile(rng, *shape, 16) - 0.5)
        shade[rng.random(shape) < 0.01] *= 0.94
    elif ground == "sand":
        shade = 1 + 0.06 * (_noise_tile(rng, *shape, 8) - 0.5)
        shade[rng.random(shape) < 0.04] *= 0.9
    elif ground == "water":
        shade = 1 + 0.06 * (_noise_tile(rng, *shape, 16) - 0.5)
    else:  # road
        shade = 1 + 0.05 * (_noise_tile(rng, *shape, 4) - 0.5)
    return shade.astype(np.float32)


def _sky_detail(sky: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Alpha [64, _TILE] float32 and colour [3] of the sky's detail: stars at night, clouds otherwise."""
    rng = np.random.default_rng([seed, 2])
    shape = (64, _TILE)
    if sky == "night":
        alpha = np.where(rng.random(shape) < 0.012, rng.uniform(0.5, 1.0, shape), 0.0)
        return alpha.astype(np.float32), np.array([240, 236, 210], np.float32)
    alpha = np.zeros(shape, np.float32)
    for _ in range(4):  # clouds: a few soft ellipse clusters
        cx, cy = rng.uniform(0, _TILE), rng.uniform(6, 26)
        for _ in range(3):
            ex, ey = cx + rng.uniform(-10, 10), cy + rng.uniform(-2, 2)
            rx, ry = rng.uniform(8, 16), rng.uniform(3, 5)
            x0, y0 = int(ex - rx), int(ey - ry)
            xs = np.arange(x0, int(ex + rx) + 2)
            ys = np.arange(y0, int(ey + ry) + 2)
            d = ((xs + 0.5 - ex) / rx) ** 2 + ((ys[:, None] + 0.5 - ey) / ry) ** 2
            rows, cols = ys[:, None] % shape[0], xs[None, :] % _TILE  # periodic
            alpha[rows, cols] = np.maximum(alpha[rows, cols], np.clip((1.0 - d) * 2.0, 0, 1) * 0.85)
    color = (250, 250, 252) if sky == "day" else (252, 196, 170)
    return alpha, np.array(color, np.float32)


@dataclass(frozen=True)
class _WorldTile:
    """The static world at zoom 1, one texel per screen pixel, periodic in x; rows clamp at the ends."""

    rgb: np.ndarray  # [R, C, 3] uint8
    ripples: np.ndarray | None  # [R, C] bool water highlights (shifted over time), None unless water
    top: int  # world row (px) of tile row 0
    period: float  # px covered by the C columns

    def columns(self, world_x: np.ndarray) -> np.ndarray:
        cols = self.rgb.shape[1]
        return np.floor(world_x * (cols / self.period)).astype(np.int64) % cols

    def rows(self, world_y: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(world_y).astype(np.int64) - self.top, 0, self.rgb.shape[0] - 1)


def _world_tile(scene: SceneSpec, width: int, height: int, unit: float) -> _WorldTile:
    period = _TILE * unit
    cols = max(8, round(period))
    top = -height // 2  # rows cover world y in [-H/2, 3H/2): zooms out to 1/2
    y = (top + np.arange(2 * height) + 0.5).astype(np.float32)  # [R] world px
    xd = ((np.arange(cols) + 0.5) * (period / cols) / unit).astype(np.float32)  # [C] design units
    ix = np.floor(xd).astype(np.int64) % _TILE
    horizon = HORIZON * height
    split = int(np.searchsorted(y, horizon))  # rows [0, split) are sky
    rgb = np.empty((len(y), cols, 3), np.float32)

    ys = y[:split]
    sky_top, sky_bottom = (np.array(c, np.float32) for c in SKY_GRADIENTS[scene.sky])
    gradient = sky_top + (sky_bottom - sky_top) * np.clip(ys / horizon, 0, 1)[:, None]  # [S, 3]
    alpha, detail = _sky_detail(scene.sky, scene.seed)
    a = alpha[(np.floor(ys / unit).astype(np.int64) % 64)[:, None], ix[None, :]][..., None]  # [S, C, 1]
    if scene.sky != "night":
        a = a * (ys >= 0)[:, None, None]  # clouds sit in the frame's sky; stars repeat above it
    rgb[:split] = gradient[:, None, :] + (detail - gradient[:, None, :]) * a

    below = (y[split:] - horizon) / unit  # [G] design rows below the horizon
    rows = np.floor(below).astype(np.int64)
    shade = _ground_texture(scene.ground, scene.seed)[(rows % 64)[:, None], ix[None, :]]  # [G, C]
    depth = np.clip(below * unit / (height - horizon), 0, 1.5)
    shade *= (0.9 + 0.1 * depth)[:, None]
    color = np.array(GROUND_COLORS[scene.ground], np.float32) * np.array(_GROUND_TINT[scene.sky], np.float32)
    ground = rgb[split:]
    np.multiply(shade[..., None], color, out=ground)
    ripples = None
    if scene.ground == "road":  # dashed centre line
        lane = np.abs(below - 0.45 * (height - horizon) / unit) < 0.8
        ground[lane[:, None] & (np.mod(xd, 32) < 16)[None, :]] = (
            np.array((236, 226, 170)) * _GROUND_TINT[scene.sky]
        )
    elif scene.ground == "water":
        wave = np.sin(2 * np.pi * xd[None, :] / 32 + 1.7 * (rows // 3)[:, None]) > 0.7
        ripples = np.zeros((len(y), cols), bool)
        ripples[split:] = wave & (rows % 3 == 0)[:, None]
    return _WorldTile(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), ripples, top, period)


def draw_background(scene: SceneSpec, g: FrameGeometry) -> np.ndarray:
    """Sky over ground, [T, H, W, 3] uint8: the world tile seen through each frame's pan and zoom."""
    tile = _world_tile(scene, g.width, g.height, g.unit)
    wx, wy = g.world_x(), g.world_y()  # [T, W], [T, H]
    rows, cols = tile.rows(wy), tile.columns(wx)
    width = tile.rgb.shape[1]
    image = np.take(tile.rgb.reshape(-1, 3), rows[:, :, None] * width + cols[:, None, :], axis=0)
    if tile.ripples is not None:  # highlights drift slowly along the waves
        drift = tile.columns(wx + 0.5 * g.unit * g.tau[:, None].astype(np.float32))
        lit = np.take(tile.ripples.reshape(-1), rows[:, :, None] * width + drift[:, None, :])  # [T, H, W]
        image[lit] = (image[lit] * 0.55 + 0.45 * 240).astype(np.uint8)
    return image
