"""The one generation loop on the sketch backend: determinism, known frames, cancel, previews, operations."""

import numpy as np
import pytest
import torch
from conftest import moving_square_clip

from engine.conditioning import conditioned_model_fn, initial_latents, plan_conditioning
from engine.errors import GenerationCancelled
from engine.generate import make_noise, run_generation
from engine.requests import KnownFrames, resolve
from engine.sampling.schedules import known_distance


def test_same_seed_same_frames_other_seed_different(sketch_backend, small_request):
    a = run_generation(sketch_backend, small_request)
    b = run_generation(sketch_backend, small_request)
    c = run_generation(sketch_backend, small_request.replace(seed=8))
    assert a.frames.shape == (8, 64, 64, 3) and a.frames.dtype == np.uint8
    assert np.array_equal(a.frames, b.frames)
    assert np.abs(a.frames.astype(int) - c.frames.astype(int)).mean() > 1.0


def test_known_latents_stay_exactly_as_given_on_the_native_path(sketch_backend, small_request):
    c, _, h, w = sketch_backend.latent_shape(64, 64, 8)
    given = torch.randn(c, 1, h, w, generator=torch.Generator().manual_seed(3)).numpy()
    keyframe = KnownFrames(0, latents=given, latent_space=sketch_backend.latent_space)
    for sampler in ("euler", "unipc"):
        result = run_generation(
            sketch_backend, small_request.replace(known=(keyframe,), sampler=sampler, steps=3)
        )
        assert np.array_equal(result.latents[:, :1], given)
        assert not np.array_equal(result.latents[:, 1:], np.zeros_like(result.latents[:, 1:]))


def test_native_path_feeds_known_frames_at_sigma_zero(sketch_backend, small_request):
    clip = moving_square_clip(8)
    request = resolve(small_request.replace(known=(KnownFrames(-8, clip),)), sketch_backend.capabilities)
    plan = plan_conditioning(sketch_backend, request)
    assert plan.window_start == -8 and plan.window_frames == 16
    assert plan.known_mask.tolist() == [True, True, False, False]
    seen = []

    def recording(x, sigmas):
        seen.append((x.clone(), sigmas.clone()))
        return torch.ones_like(x)

    noise = make_noise(1, (1, *sketch_backend.latent_shape(64, 64, 16)))
    model_fn = conditioned_model_fn(recording, plan, noise)
    v = model_fn(initial_latents(plan, noise), torch.tensor(0.7))
    x_in, sigmas = seen[0]
    assert sigmas.tolist() == [[0.0, 0.0, pytest.approx(0.7), pytest.approx(0.7)]]
    assert torch.equal(x_in[:, :, :2], plan.known_latents[:, :, :2])
    assert torch.equal(v[:, :, :2], torch.zeros_like(v[:, :, :2])) and bool((v[:, :, 2:] == 1).all())


def test_fallback_path_renoises_known_frames_to_the_current_sigma(sketch_backend, small_request):
    clip = moving_square_clip(8)
    request = resolve(small_request.replace(known=(KnownFrames(-8, clip),)), sketch_backend.capabilities)
    plan = plan_conditioning(sketch_backend, request)
    plan = type(plan)(**{**plan.__dict__, "native": False})
    seen = []

    def recording(x, sigmas):
        seen.append((x.clone(), sigmas.clone()))
        return torch.zeros_like(x)

    noise = make_noise(2, (1, *sketch_backend.latent_shape(64, 64, 16)))
    model_fn = conditioned_model_fn(recording, plan, noise)
    v = model_fn(initial_latents(plan, noise), torch.tensor(0.25))
    x_in, sigmas = seen[0]
    expected = 0.75 * plan.known_latents[:, :, :2] + 0.25 * noise[:, :, :2]
    assert torch.allclose(x_in[:, :, :2], expected) and torch.allclose(sigmas, torch.full((1, 4), 0.25))
    assert torch.allclose(v[:, :, :2], noise[:, :, :2] - plan.known_latents[:, :, :2])


def test_cancel_stops_within_one_step(sketch_backend, small_request):
    calls = []
    original = sketch_backend.denoise

    def counting(*args):
        calls.append(1)
        return original(*args)

    steps_done = []
    sketch_backend.denoise = counting
    try:
        with pytest.raises(GenerationCancelled):
            run_generation(
                sketch_backend,
                small_request.replace(steps=10),
                on_step=lambda i, n: steps_done.append(i),
                should_stop=lambda: len(steps_done) >= 2,
            )
    finally:
        del sketch_backend.denoise
    assert steps_done == [1, 2] and len(calls) == 2  # batched CFG: one call per step


def test_previews_show_every_latent_frame_of_the_shot(sketch_backend, small_request):
    previews = []
    run_generation(sketch_backend, small_request.replace(frames=16, steps=3), on_preview=previews.append)
    assert len(previews) == 3 + 3  # 3 steps per latent frame, each of the 4 one step after the one before
    _, t, h, w = sketch_backend.latent_shape(64, 64, 16)
    assert all(p.dtype == np.uint8 and p.shape == (t, h, w, 3) for p in previews)


@pytest.mark.parametrize("operation", ["image", "forward", "backward", "bridge", "keyframes"])
def test_every_operation_gives_the_requested_frames(sketch_backend, small_request, operation):
    clip = moving_square_clip(16)
    known = {
        "image": (KnownFrames(0, clip[0]),),
        "forward": (KnownFrames(-8, clip[-8:]),),
        "backward": (KnownFrames(12, clip[:8]),),
        "bridge": (KnownFrames(-8, clip[-8:]), KnownFrames(12, clip[:8])),
        "keyframes": (KnownFrames(0, clip[0]), KnownFrames(9, clip[9])),
    }[operation]
    result = run_generation(sketch_backend, small_request.replace(frames=12, known=known))
    assert result.frames.shape == (12, 64, 64, 3)
    assert result.latents.shape == sketch_backend.latent_shape(64, 64, 12)


def test_stored_latents_are_used_instead_of_reencoding(sketch_backend, small_request):
    first = run_generation(sketch_backend, small_request)
    encodes = []
    original = sketch_backend.encode_frames
    sketch_backend.encode_frames = lambda *a, **k: encodes.append(1) or original(*a, **k)
    try:
        tail = KnownFrames(
            -4, first.frames[-4:], latents=first.latents[:, -1:], latent_space=first.latent_space
        )
        run_generation(sketch_backend, small_request.replace(known=(tail,)))
        assert encodes == []
        foreign = KnownFrames(
            -4, first.frames[-4:], latents=first.latents[:, -1:], latent_space="other-model"
        )
        run_generation(sketch_backend, small_request.replace(known=(foreign,)))
        assert encodes == [1]
    finally:
        del sketch_backend.encode_frames


@pytest.mark.parametrize("operation", ["text", "forward", "backward", "bridge"])
def test_a_frame_lag_settles_the_frames_beside_the_known_ones_first(sketch_backend, small_request, operation):
    clip = moving_square_clip(16)
    known = {
        "text": (),
        "forward": (KnownFrames(-8, clip[-8:]),),
        "backward": (KnownFrames(12, clip[:8]),),
        "bridge": (KnownFrames(-8, clip[-8:]), KnownFrames(12, clip[:8])),
    }[operation]
    request = small_request.replace(frames=12, known=known, steps=3, frame_lag=2)
    seen = []
    original = sketch_backend.denoise

    def recording(x, sigmas, text, control=None):
        seen.append(sigmas[0].clone())  # [T]: the first of a batched guidance pair
        return original(x, sigmas, text)

    sketch_backend.denoise = recording
    try:
        result = run_generation(sketch_backend, request)
    finally:
        del sketch_backend.denoise
    plan = plan_conditioning(sketch_backend, resolve(request, sketch_backend.capabilities))
    farthest = int(known_distance(plan.known_mask)[~plan.known_mask].max())
    nearest = int(known_distance(plan.known_mask)[~plan.known_mask].min())
    assert len(seen) == 3 + 2 * (farthest - nearest)  # 3 steps for each frame, 2 steps later frame by frame
    unknown = ~plan.known_mask
    first = seen[1]  # after one step: the frames nearest the known ones have moved, the farthest wait
    assert bool((first[plan.known_mask] == 0).all())
    assert first[unknown].min() < 1.0 and first[unknown].max() == pytest.approx(1.0, abs=1e-6)
    waiting = torch.nonzero(unknown & (first > 0.999)).flatten().tolist()
    moved = torch.nonzero(unknown & (first < 0.999)).flatten().tolist()
    known_frames = torch.nonzero(plan.known_mask).flatten().tolist()

    def distance(t: int) -> int:  # latent frames to the nearest known one (to frame 0 when none is known)
        return min((abs(t - k) for k in known_frames), default=t)

    assert max(distance(t) for t in moved) < min(distance(t) for t in waiting)
    assert result.frames.shape == (12, 64, 64, 3)
    if known:
        assert np.array_equal(result.latents.shape, sketch_backend.latent_shape(64, 64, 12))
