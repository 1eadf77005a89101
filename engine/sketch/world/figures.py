"""The subjects' figures: signed-distance silhouettes and details, composited with an outline and AA edges."""

from __future__ import annotations

import numpy as np

from engine.sketch.world.geometry import Pose
from engine.sketch.world.scenes import SUBJECT_COLORS, SubjectSpec


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


def blend(
    frames: np.ndarray, where: tuple[np.ndarray, ...], color: np.ndarray, alpha: np.ndarray | float
) -> None:
    """frames[where] ← frames[where]·(1 − alpha) + color·alpha, in place on uint8 frames."""
    background = frames[where].astype(np.float32)
    frames[where] = np.clip(background + (color - background) * alpha + 0.5, 0, 255).astype(np.uint8)


def _outline_color(fill: np.ndarray) -> np.ndarray:
    return np.array([140, 140, 150], np.float32) if fill.max() < 60 else fill * 0.35


def draw_subject(frames: np.ndarray, s: SubjectSpec, pose: Pose, box: np.ndarray) -> None:
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
    blend(frames, (t_idx, rows[t_idx, r_idx], cols[t_idx, c_idx]), color, cover)
