"""Clips unlike the storyboard world: flat or graded colour fields with plain shapes moving in straight lines.

The model learns from the world's renders, yet users extend and bridge their own footage. A share of these
clips, always given with clean context frames, teaches the autoencoder to give back colours the world never
draws and the denoiser to carry such footage on instead of redrawing it as the world (measured before they
existed: a disc over two flat bands came back 14/255 off, and its extensions flickered 3× as much as it).

Held out for evaluation: `evaluate.offworld_clip` lays exactly two flat bands, split at half height, under a
solid disc. Backdrops here are three or more bands, gradients or a split at another height with texture,
never two flat halves, so the evaluation still measures footage the model was not trained on.

    bands (3–4, flat or textured)   gradient (top → bottom)   split (off centre, textured)
"""

from __future__ import annotations

import numpy as np

from engine.sketch.world import SUBJECT_COLORS

SHAPES = ("disc", "square", "triangle")
SHAPE_SHARES = (0.45, 0.4, 0.15)
_SHAPE_WORDS = {"disc": "ball", "square": "box", "triangle": ""}  # a triangle has no word: colour only
_MOVES = {"left": "moves left", "right": "moves right", "up": "moves up", "down": "moves down"}
MIN_BAND = 0.12  # the thinnest band, a fraction of the height (3 bands never read as 2)
NAMED_COLOUR_SHARE = 0.85  # shapes in one of the vocabulary's colours (captioned), the rest any colour


def _backdrop(rng: np.random.Generator, width: int, height: int) -> np.ndarray:  # [H, W, 3] float32
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height  # [H] 0 at the top
    kind = rng.choice(("bands", "gradient", "split"))
    if kind == "bands":
        count = int(rng.integers(3, 5))
        heights = MIN_BAND + rng.dirichlet(np.ones(count)) * (1 - MIN_BAND * count)  # fractions, sum 1
        cuts = np.cumsum(heights)[:-1]
        colours = rng.uniform(0, 255, size=(count, 3))
        rows = colours[np.searchsorted(cuts, ys)]  # [H, 3]
    elif kind == "gradient":
        top, bottom = rng.uniform(0, 255, size=(2, 3))
        rows = top[None] + ys[:, None] * (bottom - top)[None]
    else:
        cut = rng.choice((rng.uniform(0.2, 0.4), rng.uniform(0.6, 0.8)))  # never the held-out half split
        colours = rng.uniform(0, 255, size=(2, 3))
        rows = colours[(ys >= cut).astype(np.int64)]
    field = np.broadcast_to(rows[:, None], (height, width, 3)).astype(np.float32)
    if kind == "split" or rng.random() < 0.4:  # a still surface texture (grain that does not move)
        field = field + rng.normal(0.0, rng.uniform(2.0, 10.0), size=(height, width, 1)).astype(np.float32)
    return field


def _shape_mask(shape: str, xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    dx, dy = xs - cx, ys - cy
    if shape == "disc":
        return dx * dx + dy * dy < r * r
    if shape == "square":
        return (np.abs(dx) < r) & (np.abs(dy) < r)
    return (dy < r) & (dy > -r) & (np.abs(dx) < (dy + r) / 2)  # apex up, base 2r wide


def _direction(rng: np.random.Generator) -> str:
    return ("left", "right", "up", "down", "still")[int(rng.integers(5))]


def foreign_clip(
    rng: np.random.Generator, frames: int, width: int, height: int, shapes: int | None = None
) -> tuple[np.ndarray, str]:
    """One clip `[F, H, W, 3]` uint8 and its caption: `shapes` (by default one or two) shapes moving over a
    backdrop the world does not draw. The caption names what the vocabulary has words for ("a red ball
    moves left"); shapes of other colours or kinds are left out of it (an empty caption is an
    unconditional sample)."""
    field = _backdrop(rng, width, height)
    ys, xs = np.mgrid[:height, :width].astype(np.float32)
    clip = np.repeat(field[None], frames, axis=0)  # [F, H, W, 3]
    phrases = []
    for _ in range(int(rng.integers(1, 3)) if shapes is None else shapes):
        shape = str(rng.choice(SHAPES, p=SHAPE_SHARES))
        named = rng.random() < NAMED_COLOUR_SHARE
        colour_name = list(SUBJECT_COLORS)[int(rng.integers(len(SUBJECT_COLORS)))]
        rgb = np.asarray(SUBJECT_COLORS[colour_name] if named else rng.uniform(0, 255, 3), np.float32)
        radius = rng.uniform(0.06, 0.16) * height
        direction = _direction(rng)
        speed = rng.uniform(0.4, 2.5) * width / 128  # px / frame
        vx = {"left": -speed, "right": speed}.get(direction, 0.0)
        vy = {"up": -speed, "down": speed}.get(direction, 0.0)
        x0 = rng.uniform(radius, width - radius) - vx * frames * rng.uniform(0.0, 1.0)
        y0 = rng.uniform(radius, height - radius) - vy * frames * rng.uniform(0.0, 1.0)
        for t in range(frames):
            clip[t][_shape_mask(shape, xs, ys, x0 + vx * t, y0 + vy * t, radius)] = rgb
        word = _SHAPE_WORDS[shape]
        if named and word:
            article = "an" if colour_name[0] in "aeiou" else "a"
            phrases.append(f"{article} {colour_name} {word} {_MOVES.get(direction, 'stays still')}")
    return np.clip(clip + 0.5, 0, 255).astype(np.uint8), " and ".join(phrases)
