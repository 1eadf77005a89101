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
`render` → `Clip`, and the reference colours `SUBJECT_COLORS`, `GROUND_COLORS`, `SKY_COLORS`; the
captions are `engine.sketch.captions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from engine.sketch.vocabulary import (
    CAMERAS,
    COLORS,
    GROUNDS,
    MOTIONS,
    SKIES,
    SPEEDS,
    SUBJECTS,
    WEATHERS,
    ParsedPrompt,
)

DESIGN_WIDTH, DESIGN_HEIGHT = 128, 80
HORIZON = 0.58  # fraction of the height, in world coordinates (zooms move it on screen)
BASE_FPS = 12.0

SUBJECT_SIZES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "ball": (24.0, 24.0),
        "box": (24.0, 24.0),
        "car": (44.0, 24.0),
        "bird": (32.0, 24.0),
        "person": (18.0, 30.0),
    }
)  # (width, height) in design units; the ground-truth box

SUBJECT_COLORS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {
        "red": (222, 40, 40),
        "orange": (248, 138, 24),
        "yellow": (250, 218, 40),
        "green": (36, 196, 72),
        "blue": (36, 72, 232),
        "purple": (150, 56, 204),
        "white": (250, 250, 250),
        "black": (22, 22, 24),
    }
)

GROUND_COLORS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {
        "grass": (104, 158, 58),
        "snow": (236, 240, 246),
        "sand": (216, 190, 132),
        "water": (38, 128, 168),
        "road": (78, 78, 84),
    }
)  # reference colours (daylight); sunset and night tint the ground mildly, nearest reference still wins

SKY_GRADIENTS: Mapping[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = MappingProxyType(
    {
        "day": ((66, 128, 214), (176, 212, 242)),
        "sunset": ((74, 44, 116), (252, 152, 66)),
        "night": ((6, 9, 28), (30, 40, 84)),
    }
)  # (top, horizon)

SKY_COLORS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {
        name: tuple(round((a + b) / 2) for a, b in zip(*grad, strict=True))
        for name, grad in SKY_GRADIENTS.items()
    }
)  # reference colours: the gradient's middle

_GROUND_TINT = {"day": (1.0, 1.0, 1.0), "sunset": (1.0, 0.95, 0.9), "night": (0.78, 0.84, 0.95)}
_HORIZONTAL_SPEED = {"slow": 1.0, "fast": 2.5}  # design px / frame
_VERTICAL_SPEED = {"slow": 1.0 * DESIGN_HEIGHT / DESIGN_WIDTH, "fast": 2.5 * DESIGN_HEIGHT / DESIGN_WIDTH}
_BOUNCE_PERIOD = {"slow": 24.0, "fast": 12.0}  # frames per hop
_BOUNCE_HEIGHT = 18.0  # design units
_FLAP_PERIOD = 8.0
_STRIDE_PERIOD = {"slow": 12.0, "fast": 6.0}
PAN_SPEED = 1.0  # design px / frame
ZOOM_RATE = math.log(1.5) / 72.0  # per frame
_TILE = 256  # texture tiles are periodic, in design units
_EDGE = 2.0  # design units kept around a subject's box when wrapping (the outline)


# --- scene specification -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectSpec:
    """One subject: what it is, how it moves, where it starts (fractions of the frame at frame 0)."""

    kind: str
    color: str
    motion: str
    speed: str = "slow"  # ignored when motion is "still"
    x: float = 0.5  # centre, fraction of the width
    y: float = 0.9  # bottom edge (the ground line for bounces), fraction of the height

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("kind", self.kind, SUBJECTS),
            ("color", self.color, COLORS),
            ("motion", self.motion, MOTIONS),
            ("speed", self.speed, SPEEDS),
        ):
            if value not in allowed:
                raise ValueError(f"subject {name} {value!r} is not one of {allowed}")


@dataclass(frozen=True)
class SceneSpec:
    """A whole scene; `seed` fixes its stars, clouds, ground texture and weather particles."""

    subjects: tuple[SubjectSpec, ...]
    ground: str = "grass"
    sky: str = "day"
    weather: str = "none"
    camera: str = "static"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= len(self.subjects) <= 2:
            raise ValueError(f"a scene has 1 or 2 subjects, not {len(self.subjects)}")
        for name, value, allowed in (
            ("ground", self.ground, GROUNDS),
            ("sky", self.sky, SKIES),
            ("weather", self.weather, WEATHERS),
            ("camera", self.camera, CAMERAS),
        ):
            if value not in allowed:
                raise ValueError(f"scene {name} {value!r} is not one of {allowed}")


@dataclass(frozen=True)
class Clip:
    """Rendered frames and their ground truth."""

    scene: SceneSpec
    frames: np.ndarray = field(repr=False)  # [T, H, W, 3] uint8
    subject_boxes: np.ndarray = field(repr=False)  # [T, n, 4] float32 x0, y0, x1, y1 px (may leave the frame)
    subject_colors: np.ndarray = field(repr=False)  # [n, 3] uint8 fill colour of each subject
    horizon: np.ndarray = field(repr=False)  # [T] float32 screen row of the horizon (may leave the frame)
    camera_offset: np.ndarray = field(repr=False)  # [T] float32 pan in px at zoom 1 (+ = camera moved right)
    zoom: np.ndarray = field(repr=False)  # [T] float32 scale about the frame centre
    start_frame: int = 0
    fps: float = BASE_FPS


# --- sampling ----------------------------------------------------------------------------------------------


def _pan_velocity(camera: str) -> float:
    return {"pan_left": -PAN_SPEED, "pan_right": PAN_SPEED}.get(camera, 0.0)


def _velocity(motion: str, speed: str) -> tuple[float, float]:
    """Design px / frame (x, y), y down."""
    h, v = _HORIZONTAL_SPEED[speed], _VERTICAL_SPEED[speed]
    return {"left": (-h, 0.0), "right": (h, 0.0), "up": (0.0, -v), "down": (0.0, v)}.get(motion, (0.0, 0.0))


def _start_range(extent: float, size: float, travel: float) -> tuple[float, float]:
    """Start positions (near edge) keeping a `size` object inside `[0, extent]` while it moves by `travel`."""
    low, high = 0.0, extent - size
    if travel > 0:
        high -= travel
    else:
        low -= travel
    return (low, high) if high >= low else ((0.0, 0.0) if travel > 0 else (extent - size, extent - size))


def _place(
    kind: str,
    motion: str,
    speed: str,
    camera: str,
    layer: tuple[float, float],
    rng: np.random.Generator,
    frames: int,
) -> tuple[float, float]:
    """A start position (x of the centre, y of the bottom, fractions) keeping the subject in for `frames`."""
    width, height = SUBJECT_SIZES[kind]
    vx, vy = _velocity(motion, speed)
    lo, hi = _start_range(DESIGN_WIDTH, width + 2 * _EDGE, (vx - _pan_velocity(camera)) * frames)
    x = (rng.uniform(lo, hi) + width / 2 + _EDGE) / DESIGN_WIDTH
    if motion in ("up", "down"):
        lo, hi = _start_range(DESIGN_HEIGHT, height + _EDGE, vy * frames)
        y = (rng.uniform(lo, hi) + height + _EDGE / 2) / DESIGN_HEIGHT
    elif kind == "bird" and motion != "bounce":
        y = rng.uniform(0.32, 0.48)  # flying
    else:
        y = rng.uniform(*layer)
    return float(x), float(y)


def _subject_attributes(rng: np.random.Generator) -> dict[str, str]:
    motion = MOTIONS[rng.integers(len(MOTIONS))]
    return {
        "kind": SUBJECTS[rng.integers(len(SUBJECTS))],
        "color": COLORS[rng.integers(len(COLORS))],
        "motion": motion,
        "speed": "slow" if motion == "still" else SPEEDS[rng.integers(len(SPEEDS))],
    }


def _layers(count: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    if count == 1:
        return [(0.78, 0.95)]
    layers = [(0.72, 0.79), (0.88, 0.97)]
    return layers if rng.random() < 0.5 else layers[::-1]


def _build_scene(
    subjects: list[dict[str, str]], scene: dict[str, str], rng: np.random.Generator, keep_in_frame: int
) -> SceneSpec:
    layers = _layers(len(subjects), rng)
    placed: list[SubjectSpec] = []
    for attributes, layer in zip(subjects, layers, strict=True):
        kind, motion, speed = attributes["kind"], attributes["motion"], attributes["speed"]
        for _ in range(20):  # keep two subjects apart at the start when possible
            x, y = _place(kind, motion, speed, scene["camera"], layer, rng, keep_in_frame)
            if not placed or abs(x - placed[0].x) * DESIGN_WIDTH > 24:
                break
        placed.append(SubjectSpec(**attributes, x=x, y=y))
    return SceneSpec(tuple(placed), seed=int(rng.integers(2**31)), **scene)


def _scene_attributes(rng: np.random.Generator) -> dict[str, str]:
    return {
        "ground": GROUNDS[rng.integers(len(GROUNDS))],
        "sky": SKIES[rng.integers(len(SKIES))],
        "weather": WEATHERS[rng.integers(len(WEATHERS))],
        "camera": CAMERAS[rng.integers(len(CAMERAS))],
    }


def sample_scene(
    rng: np.random.Generator,
    holdout: Callable[[SceneSpec], bool] | None = None,
    *,
    two_subjects: float = 0.4,
    twins: float = 0.1,
    keep_in_frame: int = 36,
) -> SceneSpec:
    """A random scene, uniform over each attribute; scenes for which `holdout` is true are redrawn.

    `two_subjects` is the probability of a second subject, `twins` the probability that a second subject
    repeats the first's kind, colour, motion and speed (captioned "two red balls …" most of the time).
    Subjects start where they stay fully in frame for `keep_in_frame` frames when their motion (and the
    camera's pan) allows it.
    """
    for _ in range(10_000):
        count = 2 if rng.random() < two_subjects else 1
        subjects = [_subject_attributes(rng) for _ in range(count)]
        if count == 2 and rng.random() < twins:
            subjects[1] = dict(subjects[0])
        scene = _build_scene(subjects, _scene_attributes(rng), rng, keep_in_frame)
        if holdout is None or not holdout(scene):
            return scene
    raise ValueError("the holdout rejects every sampled scene")


def complete_scene(
    prompt: ParsedPrompt, rng: np.random.Generator, *, two_subjects: float = 0.4, keep_in_frame: int = 36
) -> SceneSpec:
    """A scene with what `prompt` asks for and random values for the rest.

    Unnamed subject attributes, ground and sky are drawn at random; the camera is static and the weather
    none unless the prompt asks otherwise (what a user means by leaving them out). Evaluation renders this
    to know what a prompt should look like.
    """
    count = len(prompt.subjects) or (2 if rng.random() < two_subjects else 1)
    subjects = [_subject_attributes(rng) for _ in range(count)]
    for attributes, asked in zip(subjects, prompt.subjects, strict=False):
        attributes.update({k: v for k, v in vars(asked).items() if v is not None})
        if attributes["motion"] == "still":
            attributes["speed"] = "slow"
    scene = _scene_attributes(rng)
    scene.update(camera=prompt.camera or "static", weather=prompt.weather or "none")
    if prompt.ground is not None:
        scene["ground"] = prompt.ground
    if prompt.sky is not None:
        scene["sky"] = prompt.sky
    return _build_scene(subjects[:2], scene, rng, keep_in_frame)


# --- rendering: geometry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
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


def _frame_geometry(scene: SceneSpec, frames: int, width: int, height: int, fps: float, start: int) -> _Frame:
    tau = (start + np.arange(frames, dtype=np.float64)) * (BASE_FPS / fps)
    cam = _pan_velocity(scene.camera) * (width / DESIGN_WIDTH) * tau
    rate = {"zoom_in": ZOOM_RATE, "zoom_out": -ZOOM_RATE}.get(scene.camera, 0.0)
    unit = min(width / DESIGN_WIDTH, height / DESIGN_HEIGHT)
    return _Frame(width, height, unit, tau, cam.astype(np.float32), np.exp(rate * tau).astype(np.float32))


def _wrap(value: np.ndarray, low: float, period: float) -> np.ndarray:
    return np.mod(value - low, period) + low


@dataclass(frozen=True)
class _Pose:
    """A subject's per-frame screen placement."""

    x: np.ndarray  # [T] centre px
    bottom: np.ndarray  # [T] bottom edge px
    scale: np.ndarray  # [T] screen px per design unit
    facing: float  # +1 faces right, -1 faces left
    phase: np.ndarray  # [T] animation phase in cycles (wings, legs)


def _pose(s: SubjectSpec, g: _Frame) -> _Pose:
    width, height = (d * g.unit for d in SUBJECT_SIZES[s.kind])
    edge = _EDGE * g.unit
    vx, vy = _velocity(s.motion, s.speed)
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
    return _Pose(g.to_screen_x(x), g.to_screen_y(bottom), g.unit * g.zoom.astype(np.float64), facing, phase)


def _box(s: SubjectSpec, pose: _Pose) -> np.ndarray:  # [T, 4]
    width, height = SUBJECT_SIZES[s.kind]
    half = width / 2 * pose.scale
    return np.stack([pose.x - half, pose.bottom - height * pose.scale, pose.x + half, pose.bottom], axis=-1)


# --- rendering: background ---------------------------------------------------------------------------------


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


def _background(scene: SceneSpec, g: _Frame) -> np.ndarray:
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


# --- rendering: subjects -----------------------------------------------------------------------------------


def _hypot(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sqrt(x * x + y * y)  # np.hypot is ~10× slower


def _circle(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    return _hypot(x - cx, y - cy) - r


def _rect(
    x: np.ndarray, y: np.ndarray, cx: float, cy: float, hw: float, hh: float, r: float = 0.0
) -> np.ndarray:
    qx, qy = np.abs(x - cx) - hw + r, np.abs(y - cy) - hh + r
    return _hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r


def _capsule(x: np.ndarray, y: np.ndarray, a: tuple, b: tuple, r: float) -> np.ndarray:
    """Distance to segment a→b minus r; a and b hold scalars or [T, 1, 1] arrays."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = np.clip(((x - ax) * dx + (y - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    return _hypot(x - ax - t * dx, y - ay - t * dy) - r


def _polygon(x: np.ndarray, y: np.ndarray, points: list[tuple]) -> np.ndarray:
    """Signed distance to a convex polygon (either winding): edges' max inside, the nearest edge outside."""
    edges = list(zip(points, points[1:] + points[:1], strict=True))
    area = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in edges)
    winding = np.where(np.asarray(area) >= 0, 1.0, -1.0)  # makes the inside negative
    side = outside = None
    for a, b in edges:
        ex, ey = b[0] - a[0], b[1] - a[1]
        length = np.maximum(_hypot(ex, ey), 1e-6)
        s = winding * ((x - a[0]) * ey - (y - a[1]) * ex) / length
        d = _capsule(x, y, a, b, 0.0)
        side = s if side is None else np.maximum(side, s)
        outside = d if outside is None else np.minimum(outside, d)
    return np.where(side > 0, outside, side)


def _silhouette(kind: str, x: np.ndarray, y: np.ndarray, phase: np.ndarray) -> np.ndarray:
    """Signed distance (design units, negative inside) to a subject's silhouette in its local frame.

    x, y: design units, origin at the bottom centre, y down, facing right; phase (wings, legs) in cycles,
    broadcastable against x and y.
    """
    if kind == "ball":
        return _circle(x, y, 0, -12, 12)
    if kind == "box":
        return _rect(x, y, 0, -12, 12, 12, 1.0)
    if kind == "car":
        wheels = np.minimum(_circle(x, y, -12.5, -5, 5), _circle(x, y, 12.5, -5, 5))
        cabin = _polygon(x, y, [(-14, -17), (12, -17), (7, -24), (-9, -24)])
        return np.minimum.reduce([_rect(x, y, 0, -11, 22, 6, 3), cabin, wheels])
    if kind == "bird":
        flap = np.sin(2 * np.pi * phase)
        tip = -12.0 - 12.0 * np.sign(flap) * np.sqrt(np.abs(flap))  # wing tip: up, (briefly) edge-on, down
        return np.minimum.reduce(
            [
                (_hypot((x + 1) / 12, (y + 11) / 6.5) - 1) * 6.5,
                _circle(x, y, 9.5, -14.5, 5),
                _polygon(x, y, [(-9, -12), (-16, -8), (-16, -16)]),
                _polygon(x, y, [(-9, -12), (7, -12), (-6, tip)]),
            ]
        )
    swing = 3.5 * np.sin(2 * np.pi * phase)  # person: legs and arms swing while walking
    return np.minimum.reduce(
        [
            _circle(x, y, 0, -25.5, 4.5),
            _rect(x, y, 0, -15, 5.5, 6.5, 2.0),
            _capsule(x, y, (-2.4, -10.0), (-2.4 + swing, -2.6), 2.6),
            _capsule(x, y, (2.4, -10.0), (2.4 - swing, -2.6), 2.6),
            _capsule(x, y, (-1.0, -19.0), (-1.5 - 0.8 * swing, -11.0), 2.0),
            _capsule(x, y, (1.0, -19.0), (1.5 + 0.8 * swing, -11.0), 2.0),
        ]
    )


def _details(kind: str, x: np.ndarray, y: np.ndarray) -> list[tuple[np.ndarray, tuple]]:
    """Small parts painted over the fill: [(signed distance, paint)], paint = ("mix", f) towards white,
    ("dark", f) towards black, or an RGB triple. Kept small so the subject's colour dominates."""
    if kind == "ball":
        return [(_circle(x, y, -4.5, -16.5, 3.5), ("mix", 0.45))]
    if kind == "box":
        return [(np.abs(_rect(x, y, 0, -12, 8.5, 8.5)) - 0.5, ("dark", 0.25))]
    if kind == "car":
        window = _polygon(x, y, [(-11, -18), (9, -18), (5.5, -22.5), (-7.5, -22.5)])
        return [
            (window, ("mix", 0.55)),
            (np.maximum(window, np.abs(x + 1) - 0.8), ("dark", 0.5)),
            (np.minimum(_circle(x, y, -12.5, -5, 5), _circle(x, y, 12.5, -5, 5)), (34, 34, 38)),
            (np.minimum(_circle(x, y, -12.5, -5, 1.8), _circle(x, y, 12.5, -5, 1.8)), (150, 150, 156)),
        ]
    if kind == "bird":
        beak = _polygon(x, y, [(13.5, -16), (13.5, -13), (16, -14.5)])
        return [(beak, (60, 48, 36)), (_circle(x, y, 11.5, -16, 1.1), (20, 20, 24))]
    return []


def _blend(
    frames: np.ndarray, where: tuple[np.ndarray, ...], color: np.ndarray, alpha: np.ndarray | float
) -> None:
    """frames[where] ← frames[where]·(1 − alpha) + color·alpha, in place on uint8 frames."""
    background = frames[where].astype(np.float32)
    frames[where] = np.clip(background + (color - background) * alpha + 0.5, 0, 255).astype(np.uint8)


def _outline_color(fill: np.ndarray) -> np.ndarray:
    return np.array([140, 140, 150], np.float32) if fill.max() < 60 else fill * 0.35


def _draw_subject(frames: np.ndarray, s: SubjectSpec, pose: _Pose, box: np.ndarray) -> None:
    """Composite one subject into `frames` [T, H, W, 3] uint8, in place, with a 1-px outline and AA edges."""
    height, width = frames.shape[1:3]
    span_w = int(np.ceil((box[:, 2] - box[:, 0]).max())) + 3
    span_h = int(np.ceil((box[:, 3] - box[:, 1]).max())) + 3
    cols = np.floor(box[:, 0]).astype(np.int64)[:, None] - 1 + np.arange(span_w)  # [T, w]
    rows = np.floor(box[:, 1]).astype(np.int64)[:, None] - 1 + np.arange(span_h)  # [T, h]
    x = ((cols + 0.5 - pose.x[:, None]) / pose.scale[:, None] * pose.facing).astype(np.float32)  # [T, w]
    y = ((rows + 0.5 - pose.bottom[:, None]) / pose.scale[:, None]).astype(np.float32)  # [T, h]
    scale = pose.scale.astype(np.float32)  # [T] screen px per design unit
    sdf = _silhouette(s.kind, x[:, None, :], y[:, :, None], pose.phase[:, None, None]) * scale[:, None, None]

    inside = (
        (sdf < 0.5) & ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None, :]
    )
    t_idx, r_idx, c_idx = np.nonzero(inside)  # only the covered pixels from here on
    d, px_scale = sdf[t_idx, r_idx, c_idx], scale[t_idx]
    fill = np.array(SUBJECT_COLORS[s.color], np.float32)
    outline = _outline_color(fill)
    line = 0.8 * np.maximum(1.0, px_scale)  # outline width, px
    inner = np.clip(-d - line + 0.5, 0.0, 1.0)[:, None]
    color = outline + (fill - outline) * inner  # [N, 3]
    for detail, paint in _details(s.kind, x[t_idx, c_idx], y[t_idx, r_idx]):
        if paint[0] == "mix":
            rgb = fill + (255 - fill) * paint[1]
        elif paint[0] == "dark":
            rgb = fill * (1 - paint[1])
        else:
            rgb = np.array(paint, np.float32)
        a = np.clip(0.5 - detail * px_scale, 0.0, 1.0)[:, None]
        color += (rgb - color) * a
    cover = np.clip(0.5 - d, 0.0, 1.0)[:, None]
    _blend(frames, (t_idx, rows[t_idx, r_idx], cols[t_idx, c_idx]), color, cover)


# --- rendering: weather ------------------------------------------------------------------------------------


def _draw_weather(frames: np.ndarray, scene: SceneSpec, g: _Frame) -> None:
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
        _blend(frames, (t_idx[ok], r[ok], c[ok]), color, alpha)


# --- rendering ---------------------------------------------------------------------------------------------


def render_background(scene: SceneSpec, frames: int, width: int, height: int) -> np.ndarray:
    """The scene's sky, ground and weather without its subjects: `[T, H, W, 3]` uint8."""
    return _background(scene, _frame_geometry(scene, frames, width, height, BASE_FPS, 0))


def render(
    scene: SceneSpec, frames: int, width: int, height: int, fps: float = BASE_FPS, start_frame: int = 0
) -> Clip:
    """Frames `start_frame … start_frame + frames − 1` of `scene` at `fps`, with ground truth.

    Time is the only input that changes: rendering 72 frames equals rendering 36 and then 36 more with
    `start_frame=36`.
    """
    if frames < 1 or width < 8 or height < 8:
        raise ValueError(f"cannot render {frames} frames of {width}×{height}")
    g = _frame_geometry(scene, frames, width, height, fps, start_frame)
    image = _background(scene, g)  # [T, H, W, 3] uint8
    poses = [_pose(s, g) for s in scene.subjects]
    boxes = [_box(s, p) for s, p in zip(scene.subjects, poses, strict=True)]
    for i in sorted(range(len(scene.subjects)), key=lambda i: scene.subjects[i].y):  # far first
        _draw_subject(image, scene.subjects[i], poses[i], boxes[i])
    _draw_weather(image, scene, g)
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
