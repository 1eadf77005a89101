"""Seam matching: make a generated shot meet its neighbours' real frames without a visible jump.

An extension or a bridge is decoded together with its context frames, but the autoencoder does not
give those context frames back exactly (the sketch model's is ~3/255 off on world clips, far more on
footage unlike its training data, and a Wan VAE is off by ~1/255). The neighbour's real last frame then
meets a generated first frame that carries the decoder's error, and the join jumps by more than
the footage moves in a frame. The fix, as sliding-window tools do with their colour correction: measure
the error on the known frames (real minus decoded) and add it to the generated frames next to them,
fading out over about a second, so the join is as smooth as the footage and the shot then settles into
the model's own rendering.

    known  |A A|           generated            |B B|
    error   rA              ──fade──▶ 0 ◀──fade──  rB
"""

from __future__ import annotations

import numpy as np

SEAM_FADE_SECONDS = 1.0  # how long the correction takes to fade out, either side of a join


def seam_weights(
    known: np.ndarray, fade_frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each window frame: the nearest known frame before it and after it (-1 where none) and the weight
    each one's error gets. `known [F]` bool. Weights fall linearly from 1 next to a known frame to 0 after
    `fade_frames`; where both sides reach, they are scaled to sum to at most 1 (a short bridge blends
    from one neighbour's error into the other's). Known frames get weight 0."""
    count = len(known)
    before, after = np.full(count, -1), np.full(count, -1)
    last = -1
    for i in range(count):
        if known[i]:
            last = i
        before[i] = last
    last = -1
    for i in range(count - 1, -1, -1):
        if known[i]:
            last = i
        after[i] = last
    index = np.arange(count)
    fade = max(int(fade_frames), 1)
    w_before = np.where(before >= 0, np.clip(1.0 - (index - before - 1) / fade, 0.0, 1.0), 0.0)
    w_after = np.where(after >= 0, np.clip(1.0 - (after - index - 1) / fade, 0.0, 1.0), 0.0)
    total = w_before + w_after
    scale = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-9), 1.0)
    w_before, w_after = w_before * scale, w_after * scale
    w_before[known], w_after[known] = 0.0, 0.0
    return before, after, w_before, w_after


def match_seams(decoded: np.ndarray, real: np.ndarray, known: np.ndarray, fade_frames: int) -> np.ndarray:
    """`decoded [F, H, W, 3]` uint8 with the known frames given back exactly and the decoder's error on them
    carried into the generated frames beside them. `real [F, H, W, 3]` holds the true pixels where
    `known [F]` is True (a start image or keyframe inside the shot is then the user's picture itself)."""
    if not known.any():
        return decoded
    before, after, w_before, w_after = seam_weights(known, fade_frames)
    out = decoded.copy()
    out[known] = real[known]
    error: dict[int, np.ndarray] = {}

    def error_at(i: int) -> np.ndarray:  # [H, W, 3] float32, real − decoded
        if i not in error:
            error[i] = real[i].astype(np.float32) - decoded[i].astype(np.float32)
        return error[i]

    for i in np.flatnonzero(~known):
        correction = np.zeros(decoded.shape[1:], np.float32)
        if w_before[i] > 0:
            correction += w_before[i] * error_at(int(before[i]))
        if w_after[i] > 0:
            correction += w_after[i] * error_at(int(after[i]))
        if w_before[i] > 0 or w_after[i] > 0:
            out[i] = np.clip(decoded[i].astype(np.float32) + correction + 0.5, 0, 255).astype(np.uint8)
    return out
