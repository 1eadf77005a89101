"""The one generation loop: resolve → plan conditioning → sample → decode, for every kind of shot."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.backends.base import Backend
from engine.conditioning import conditioned_model_fn, initial_latents, plan_conditioning, window_pixels
from engine.errors import GenerationCancelled
from engine.requests import GenerationRequest, resolve
from engine.sampling import get_sampler
from engine.sampling.guidance import guided_denoiser
from engine.sampling.schedules import frame_lagged_sigmas, frame_lags
from engine.seams import SEAM_FADE_SECONDS, match_seams

StepCallback = Callable[[int, int], None]  # (steps done, total)
PreviewCallback = Callable[[np.ndarray], None]  # uint8 [T, h, w, 3], one image per latent frame


@dataclass(frozen=True)
class GenerationResult:
    request: GenerationRequest  # resolved, with the seed used
    frames: np.ndarray  # [F, H, W, 3] uint8, the shot only (context frames dropped)
    latents: np.ndarray | None  # [C, T, h, w] float32 normalised latents of the shot, when they align
    latent_space: str
    seconds: float


def make_noise(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Gaussian noise drawn on the CPU, so a seed gives the same noise on every device."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float32)


def run_generation(
    backend: Backend,
    request: GenerationRequest,
    *,
    on_step: StepCallback | None = None,
    on_preview: PreviewCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> GenerationResult:
    """Generate the shot `request` describes. Raises `GenerationCancelled` between steps when asked."""
    started = time.perf_counter()
    if request.seed is None:
        raise ValueError("run_generation needs a request with a seed (the job queue picks one)")
    request = resolve(request, backend.capabilities)
    plan = plan_conditioning(backend, request)
    layout = backend.capabilities.temporal

    texts = backend.encode_text([request.prompt, request.negative_prompt])  # [2, L, D]
    shape = (1, *backend.latent_shape(request.width, request.height, plan.window_frames))  # [1, C, T, h, w]
    noise = make_noise(request.seed, shape).to(backend.device)
    tokens = int(np.prod(shape[2:]))
    denoise = backend.denoise
    if backend.capabilities.control_context:  # VACE: the known frames as a context video with a mask
        control = backend.control_context(*window_pixels(plan, request))  # [1, C', T, h, w]
        denoise = functools.partial(backend.denoise, control=control)
    denoiser = guided_denoiser(
        denoise,
        texts[:1],
        texts[1:],
        request.guidance,
        backend.batch_guidance(tokens),
        backend.capabilities.guidance_floor_sigma,
    )
    model_fn = conditioned_model_fn(denoiser, plan, noise)
    sigmas = backend.schedule(request.steps, request.shift)  # [N + 1]
    if request.frame_lag > 0:  # one column per latent frame, nearest the known frames first: [K + 1, T]
        sigmas = frame_lagged_sigmas(sigmas, frame_lags(plan.known_mask.cpu(), request.frame_lag))
    sigmas = sigmas.to(backend.device)
    backend.start()

    first_out = layout.latent_index(plan.output_start)
    last_out = layout.latent_index(plan.output_start + request.frames - 1)

    def callback(state: dict) -> None:
        if on_preview is not None:
            denoised = plan.apply_known(state["denoised"])
            on_preview(backend.preview_frames(denoised[:, :, first_out : last_out + 1]))
        if on_step is not None:
            on_step(state["i"] + 1, state["total"])

    sample = get_sampler(request.sampler)
    x = sample(model_fn, initial_latents(plan, noise), sigmas, callback=callback, should_stop=should_stop)
    x = plan.apply_known(x)  # [1, C, T, h, w]

    if should_stop is not None and should_stop():
        raise GenerationCancelled()
    window = backend.decode_latents(x, starts_clip=layout.first_frame_alone and plan.window_start == 0)
    if request.known and request.match_seams:  # the decoder's error on known frames, carried across the joins
        real, known = window_pixels(plan, request, require_frames=False)
        window = match_seams(window, real, known, round(request.fps * SEAM_FADE_SECONDS))
    frames = window[plan.output_start : plan.output_start + request.frames]
    aligned = layout.latent_start(first_out) == plan.output_start and (
        last_out + 1 >= x.shape[2] or layout.latent_start(last_out + 1) == plan.output_start + request.frames
    )
    latents = x[0, :, first_out : last_out + 1].float().cpu().numpy() if aligned else None
    return GenerationResult(
        request=request,
        frames=np.ascontiguousarray(frames),
        latents=latents,
        latent_space=backend.latent_space,
        seconds=time.perf_counter() - started,
    )
