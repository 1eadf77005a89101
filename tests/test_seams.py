"""Seam matching: a generated shot meets its neighbours' real frames without a jump."""

import numpy as np
from conftest import moving_square_clip

from engine.generate import run_generation
from engine.requests import KnownFrames
from engine.seams import match_seams, seam_weights


def test_weights_fade_out_from_each_known_side():
    known = np.array([True, True] + [False] * 20 + [True])
    before, after, w_before, w_after = seam_weights(known, fade_frames=4)
    assert before[2] == 1 and after[2] == 22
    assert w_before[:8].tolist() == [0, 0, 1, 0.75, 0.5, 0.25, 0, 0]  # next to the context: all of its error
    assert w_after[21] == 1 and w_after[17] == 0
    assert w_before[known].sum() == 0 and w_after[known].sum() == 0


def test_a_short_bridge_blends_one_neighbours_error_into_the_others():
    known = np.array([True] + [False] * 3 + [True])
    _, _, w_before, w_after = seam_weights(known, fade_frames=12)
    total = w_before + w_after
    assert np.all(total[1:4] <= 1 + 1e-9) and np.all(np.diff(w_before[1:4]) < 0)
    assert np.all(np.diff(w_after[1:4]) > 0)


def test_a_decoder_colour_cast_is_gone_at_the_join_and_fades_in_gradually():
    real = moving_square_clip(24)  # [24, 64, 64, 3]
    cast = np.clip(real.astype(int) + np.array([12, -9, 6]), 0, 255).astype(np.uint8)  # the decoder's error
    known = np.zeros(24, bool)
    known[:8] = True
    out = match_seams(cast, real, known, fade_frames=8)
    assert np.array_equal(out[:8], real[:8])  # the known frames are the real ones
    join = np.abs(out[8].astype(int) - real[8].astype(int)).mean()
    raw_join = np.abs(cast[8].astype(int) - real[8].astype(int)).mean()
    assert join < 1.0 < 8.0 < raw_join
    steps = np.abs(np.diff(out[8:].astype(int), axis=0) - np.diff(real[8:].astype(int), axis=0))
    assert steps.mean(axis=(1, 2, 3)).max() < 2.0 * raw_join / 8  # the cast comes back over the fade
    assert np.array_equal(out[17:], cast[17:])  # and after it the frames are the model's own


def test_nothing_known_changes_nothing():
    frames = moving_square_clip(8)
    assert match_seams(frames, frames, np.zeros(8, bool), 4) is frames


def test_a_start_image_is_the_shots_first_frame_exactly(sketch_backend, small_request):
    image = moving_square_clip(1)[0]
    result = run_generation(sketch_backend, small_request.replace(known=(KnownFrames(0, image),)))
    assert np.array_equal(result.frames[0], image)


def test_an_extension_joins_the_clip_more_closely_than_its_decoder_alone(sketch_backend, small_request):
    clip = moving_square_clip(16)
    request = small_request.replace(frames=16, known=(KnownFrames(-8, clip[-8:]),))  # fade: 12 frames
    result = run_generation(sketch_backend, request)
    reconstructed = sketch_backend.decode_latents(sketch_backend.encode_frames(clip[-8:], False), False)
    decoder_error = np.abs(reconstructed[-1].astype(int) - clip[-1].astype(int)).mean()
    join = np.abs(result.frames[0].astype(int) - clip[-1].astype(int)).mean()
    assert join < decoder_error
    raw = run_generation(sketch_backend, request.replace(match_seams=False)).frames  # the model's own output
    assert join < np.abs(raw[0].astype(int) - clip[-1].astype(int)).mean()
    assert np.array_equal(raw[-1], result.frames[-1])  # past the fade, the same frames
