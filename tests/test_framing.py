"""Fitting frames into another size: cover crops, letterbox pads black, content stays centred."""

import numpy as np

from engine.framing import fit_cover, fit_letterbox


def _marked(width, height):
    frames = np.zeros((2, height, width, 3), dtype=np.uint8)
    frames[:, height // 2 - 4 : height // 2 + 4, width // 2 - 4 : width // 2 + 4] = 255  # a white centre
    return frames


def test_cover_fills_and_keeps_the_centre():
    out = fit_cover(_marked(200, 100), 64, 64)
    assert out.shape == (2, 64, 64, 3) and out.dtype == np.uint8
    assert out[:, 30:34, 30:34].mean() > 200 and out[:, :5, :5].max() == 0


def test_letterbox_pads_with_black_bars():
    frames = np.full((1, 100, 200, 3), 200, dtype=np.uint8)
    out = fit_letterbox(frames, 64, 64)
    assert out.shape == (1, 64, 64, 3)
    assert out[:, :15].max() == 0 and out[:, -15:].max() == 0  # bars top and bottom
    assert abs(int(out[0, 32, 32, 0]) - 200) <= 1


def test_same_size_is_untouched():
    frames = _marked(64, 48)
    assert np.array_equal(fit_cover(frames, 64, 48), frames)
