"""Fitting frames into another size: cover (scale and centre-crop) or letterbox (scale, pad black)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def _resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """uint8 `[T, H, W, 3]` → uint8 `[T, height, width, 3]`, antialiased bilinear."""
    if frames.shape[1:3] == (height, width):
        return frames
    x = torch.from_numpy(np.array(frames)).permute(0, 3, 1, 2).float()  # [T, 3, H, W]
    x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def fit_cover(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to fill `width`×`height` and crop the overflow equally from both sides."""
    h, w = frames.shape[1:3]
    scale = max(width / w, height / h)
    scaled_w, scaled_h = max(width, round(w * scale)), max(height, round(h * scale))
    scaled = _resize(frames, scaled_w, scaled_h)
    left, top = (scaled_w - width) // 2, (scaled_h - height) // 2
    return np.ascontiguousarray(scaled[:, top : top + height, left : left + width])


def fit_letterbox(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to fit inside `width`×`height` and pad with black bars."""
    t, h, w = frames.shape[:3]
    scale = min(width / w, height / h)
    scaled_w, scaled_h = min(width, max(1, round(w * scale))), min(height, max(1, round(h * scale)))
    out = np.zeros((t, height, width, 3), dtype=np.uint8)
    left, top = (width - scaled_w) // 2, (height - scaled_h) // 2
    out[:, top : top + scaled_h, left : left + scaled_w] = _resize(frames, scaled_w, scaled_h)
    return out
