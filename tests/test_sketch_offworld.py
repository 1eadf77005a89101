"""Training clips unlike the world: deterministic, captioned truthfully, never the held-out evaluation clip,
and always given to the denoiser with clean context frames."""

import numpy as np
import torch

from engine.sketch.data import world_batch
from engine.sketch.offworld import _backdrop, foreign_clip
from engine.sketch.train import TrainSettings, sample_sigmas
from engine.sketch.vocabulary import parse_scene
from engine.sketch.world import SUBJECT_COLORS


def test_foreign_clips_are_deterministic_per_seed():
    a, caption_a = foreign_clip(np.random.default_rng(5), 12, 64, 40)
    b, caption_b = foreign_clip(np.random.default_rng(5), 12, 64, 40)
    c, _ = foreign_clip(np.random.default_rng(6), 12, 64, 40)
    assert a.shape == (12, 40, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and caption_a == caption_b
    assert not np.array_equal(a, c)


def _centroid(frame: np.ndarray, rgb: tuple[int, int, int]) -> tuple[float, float] | None:
    ys, xs = np.nonzero((frame == np.asarray(rgb, np.uint8)).all(axis=-1))
    return (float(xs.mean()), float(ys.mean())) if len(xs) > 20 else None


def test_captions_name_only_known_words_and_say_what_the_clip_shows():
    rng = np.random.default_rng(0)
    checked = 0
    for _ in range(40):
        _, caption = foreign_clip(rng, 4, 64, 40)
        parsed = parse_scene(caption)
        assert parsed.unknown == () and parsed.ground is None and parsed.sky is None, caption
    for _ in range(40):
        clip, caption = foreign_clip(rng, 24, 128, 80, shapes=1)
        if not caption:
            continue  # a shape the vocabulary has no words for
        subject = parse_scene(caption).subjects[0]
        rgb = SUBJECT_COLORS[subject.color]
        path = [c for c in (_centroid(f, rgb) for f in clip) if c is not None]
        assert path, caption  # the named colour shows
        if len(path) < 12:
            continue  # most of the way out of the frame
        dx, dy = path[-1][0] - path[0][0], path[-1][1] - path[0][1]
        expected = {"left": dx < -4, "right": dx > 4, "up": dy < -4, "down": dy > 4, "still": dx == dy == 0}
        assert expected[subject.motion], (caption, dx, dy)
        checked += 1
    assert checked >= 15


def test_backdrops_are_never_two_flat_bands_like_the_held_out_clip():
    # `evaluate.offworld_clip` lays two flat bands under a disc: the evaluation's unseen footage
    rng = np.random.default_rng(1)
    flat_seen = 0
    for _ in range(300):
        field = _backdrop(rng, 64, 40)  # [H, W, 3]
        if np.abs(field - field[:, :1]).max() > 1e-3:
            continue  # textured
        flat_seen += 1
        assert len(np.unique(field[:, 0].round(3), axis=0)) != 2, "two flat bands"
    assert flat_seen > 50


def test_a_foreign_share_of_the_batch_is_marked_and_always_gets_clean_context():
    rng = np.random.default_rng(2)
    video, captions, scenes = world_batch(rng, 40, 4, 64, 40, foreign=0.5)
    foreign = [s is None for s in scenes]
    assert video.shape == (40, 3, 4, 40, 64) and 10 < sum(foreign) < 30
    assert all(captions[i] for i, f in enumerate(foreign) if not f)  # world clips keep their captions

    settings = TrainSettings(stage="denoiser", clean_context=0.0, per_frame_noise=0.5)
    needs = [i % 2 == 0 for i in range(200)]
    sigmas = sample_sigmas(torch.Generator().manual_seed(3), 200, 9, settings, needs_context=needs)
    clean_end = (sigmas[:, 0] == 0) | (sigmas[:, -1] == 0)
    assert bool(clean_end[0::2].all())  # foreign footage is only ever continued from real frames
    assert not bool(clean_end[1::2].any())  # the world's clips keep the settings' share (0 here)
    assert not (sigmas == 0).all(dim=1).any()
