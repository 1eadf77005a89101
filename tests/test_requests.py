"""Requests: defaults, validation messages naming valid values, recipes and cache keys."""

import dataclasses

import numpy as np
import pytest

from engine.backends.base import TemporalLayout
from engine.errors import InvalidRequestError
from engine.requests import GenerationRequest, KnownFrames, resolve


@pytest.fixture
def caps(sketch_backend):
    return sketch_backend.capabilities


def test_defaults_filled_from_the_model(caps):
    request = resolve(GenerationRequest(prompt="a ball"), caps)
    assert (request.width, request.height, request.frames) == (caps.default_width, caps.default_height, 36)
    assert request.steps == caps.default_steps and request.sampler == caps.default_sampler


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (dict(width=130), "use 128 or 144"),
        (dict(height=20), "use 64"),
        (dict(frames=33), "use 32 or 36 frames"),
        (dict(frames=0), "use 8 frames"),
        (dict(frames=1000), "use 96 frames"),
        (dict(steps=0), "between 1 and"),
        (dict(sampler="ddim"), "use euler or unipc"),
        (dict(guidance=-1.0), "Guidance"),
        (dict(frame_lag=-2), "whole number of steps"),
        (dict(frame_lag=2.5), "whole number of steps"),
    ],
)
def test_invalid_values_name_the_nearest_valid_ones(caps, changes, expected):
    with pytest.raises(InvalidRequestError, match=expected):
        resolve(GenerationRequest(prompt="a ball", **changes), caps)


def test_frame_lag_defaults_to_the_models_and_needs_per_frame_training(caps):
    assert caps.default_frame_lag > 0
    assert resolve(GenerationRequest(prompt="a ball"), caps).frame_lag == caps.default_frame_lag
    extend = GenerationRequest(prompt="a ball", known=(KnownFrames(-8, np.zeros((8, 80, 128, 3), np.uint8)),))
    assert resolve(extend, caps).frame_lag == 0  # the known frames place the subject: no lag by default
    assert resolve(extend.replace(frame_lag=2), caps).frame_lag == 2
    assert resolve(GenerationRequest(prompt="a ball", frame_lag=0), caps).frame_lag == 0
    untrained = dataclasses.replace(caps, native_conditioning=False)  # as Wan 2.1
    with pytest.raises(InvalidRequestError, match="noise level per frame"):
        resolve(GenerationRequest(prompt="a ball", frame_lag=4), untrained)
    assert resolve(GenerationRequest(prompt="a ball", frame_lag=0), untrained).frame_lag == 0


def test_known_frames_of_another_size_are_refused(caps):
    clip = np.zeros((8, 48, 64, 3), dtype=np.uint8)
    request = GenerationRequest(
        prompt="x", width=64, height=64, frames=8, known=(KnownFrames(-8, clip, source="a.mp4"),)
    )
    with pytest.raises(InvalidRequestError, match=r"a.mp4 is 64×48 but the shot is 64×64"):
        resolve(request, caps)


def test_known_frames_need_rgb_uint8():
    with pytest.raises(InvalidRequestError):
        KnownFrames(0, np.zeros((4, 8, 8), dtype=np.uint8))
    with pytest.raises(InvalidRequestError):
        KnownFrames(0)


def test_cache_key_follows_every_setting_and_the_weights():
    frames = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    base = GenerationRequest(prompt="a ball", seed=1, known=(KnownFrames(0, frames),))
    assert base.cache_key("w1") == GenerationRequest(
        prompt="a ball", seed=1, known=(KnownFrames(0, frames.copy()),)
    ).cache_key("w1")
    assert base.cache_key("w1") != base.cache_key("w2")
    assert base.cache_key("w1") != base.replace(seed=2).cache_key("w1")
    assert base.cache_key("w1") != base.replace(frame_lag=4).cache_key("w1")
    # a lag of 0 renders as before the option existed: its recipe (so the keys of older takes) leaves it out
    assert (
        "frame_lag" not in base.replace(frame_lag=0).to_recipe()
        and base.replace(frame_lag=1).to_recipe()["frame_lag"] == 1
    )
    other = frames.copy()
    other[0, 0, 0, 0] = 1
    assert base.cache_key("w1") != base.replace(known=(KnownFrames(0, other),)).cache_key("w1")


def test_recipe_is_json_ready_and_complete():
    import json

    recipe = GenerationRequest(prompt="a ball", negative_prompt="blur", seed=3, steps=4).to_recipe()
    again = json.loads(json.dumps(recipe))
    assert again["prompt"] == "a ball" and again["negative_prompt"] == "blur" and again["seed"] == 3


@pytest.mark.parametrize("alone", [False, True])
def test_temporal_layout_round_trips(alone):
    layout = TemporalLayout(4, first_frame_alone=alone)
    for latents in range(1, 10):
        frames = layout.pixel_count(latents)
        assert layout.is_valid(frames) and layout.latent_count(frames) == latents
        assert layout.latent_index(layout.latent_start(latents - 1)) == latents - 1
    assert not layout.is_valid(layout.pixel_count(3) + 2)
