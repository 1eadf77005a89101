"""What a scene is and how one is drawn at random: the specs, the reference colours and sizes, the speeds,
and the placement that keeps subjects in frame (see the package docstring for the units)."""

from __future__ import annotations

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

_HORIZONTAL_SPEED = {"slow": 1.0, "fast": 2.5}  # design px / frame
_VERTICAL_SPEED = {"slow": 1.0 * DESIGN_HEIGHT / DESIGN_WIDTH, "fast": 2.5 * DESIGN_HEIGHT / DESIGN_WIDTH}
PAN_SPEED = 1.0  # design px / frame
EDGE = 2.0  # design units kept around a subject's box when wrapping (the outline)


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


def pan_velocity(camera: str) -> float:
    return {"pan_left": -PAN_SPEED, "pan_right": PAN_SPEED}.get(camera, 0.0)


def velocity(motion: str, speed: str) -> tuple[float, float]:
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
    vx, vy = velocity(motion, speed)
    lo, hi = _start_range(DESIGN_WIDTH, width + 2 * EDGE, (vx - pan_velocity(camera)) * frames)
    x = (rng.uniform(lo, hi) + width / 2 + EDGE) / DESIGN_WIDTH
    if motion in ("up", "down"):
        lo, hi = _start_range(DESIGN_HEIGHT, height + EDGE, vy * frames)
        y = (rng.uniform(lo, hi) + height + EDGE / 2) / DESIGN_HEIGHT
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
