"""One conditioning mechanism for every timeline operation: these latent frames are known, generate the rest.

    text→video      | ? ? ? ? ? |            nothing known
    image→video     | I ? ? ? ? |            the image at frame 0
    extend forward  [A A] ? ? ? ? |          the clip's last frames before the shot
    extend backward   | ? ? ? ? [B B]        the clip's first frames after the shot
    bridge          [A A] ? ? ? [B B]        both neighbours
    keyframes       | ? K ? ? K |            frames anywhere

`plan_conditioning` turns a request's known frames into a latent window (the shot plus any context
borrowed from neighbours), the known latents and a per-latent-frame mask. `conditioned_model_fn`
wraps a denoiser so a sampler sees a plain `model_fn(x, sigma)`:
- native path (models trained with per-frame noise levels): known frames enter at σ = 0 with
  their clean latents, and their velocity is zero so they never move;
- fallback path (models not trained that way): the known latents are re-noised to the current σ
  on the same noise every step (latent replacement), the velocity of a straight flow path.
Stored latents of a take are used as they are when the model shares their latent space, instead
of re-encoding decoded frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from engine.backends.base import Backend
from engine.errors import InvalidRequestError
from engine.requests import GenerationRequest, KnownFrames

FrameDenoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (x [1,C,T,h,w], σ [1,T]) → v


@dataclass(frozen=True)
class ConditioningPlan:
    """The latent window for one generation and what is known in it."""

    window_start: int  # pixel frame of the window's first frame, relative to the shot's frame 0 (≤ 0)
    window_frames: int
    known_latents: torch.Tensor  # [1, C, T, h, w], zero where unknown
    known_mask: torch.Tensor  # [T] bool, True where the latent frame is known
    native: bool

    @property
    def output_start(self) -> int:
        """Index of the shot's first frame inside the decoded window."""
        return -self.window_start

    @property
    def has_known(self) -> bool:
        return bool(self.known_mask.any())

    def mask5d(self) -> torch.Tensor:
        return self.known_mask.view(1, 1, -1, 1, 1)  # [1, 1, T, 1, 1]

    def apply_known(self, x: torch.Tensor) -> torch.Tensor:
        """`x` with the known latent frames set exactly to the given latents."""
        return torch.where(self.mask5d(), self.known_latents.to(x), x)


def _window_bounds(request: GenerationRequest, backend: Backend) -> tuple[int, int]:
    layout = backend.capabilities.temporal
    f = layout.factor
    start, end = 0, request.frames
    for known in request.known:
        count = _pixel_count(known, backend)
        start, end = min(start, known.position), max(end, known.position + count)
    if layout.first_frame_alone and start < 0:  # the shot's frame 0 opens a latent frame: 4k + 1 before
        start = -(((-start - 1 + f - 1) // f) * f + 1)
    else:
        start = (start // f) * f  # group-align the context before the shot
    length = end - start
    while not layout.is_valid(length):
        length += 1
    return start, length


def _pixel_count(known: KnownFrames, backend: Backend) -> int:
    if known.frames is not None:
        return known.count
    return backend.capabilities.temporal.pixel_count(known.latents.shape[1])


def _usable_latents(known: KnownFrames, backend: Backend, shape: tuple[int, ...], rel: int) -> bool:
    layout = backend.capabilities.temporal
    if known.latents is None or known.latent_space != backend.latent_space:
        return False
    c, _, h, w = shape
    if (known.latents.shape[0], known.latents.shape[2], known.latents.shape[3]) != (c, h, w):
        return False
    return layout.latent_start(layout.latent_index(rel)) == rel  # starts on a latent frame


def _held_chunk(frames: np.ndarray, rel: int, first: int, end: int) -> np.ndarray:
    """Frames covering window pixels [first, end), the known ones in place and the edges held."""
    index = np.clip(np.arange(first, end) - rel, 0, len(frames) - 1)
    return frames[index]  # [end - first, H, W, 3]


def plan_conditioning(backend: Backend, request: GenerationRequest) -> ConditioningPlan:
    """Place the request's known frames in a latent window. `request` must be resolved."""
    layout = backend.capabilities.temporal
    window_start, window_frames = _window_bounds(request, backend)
    shape = backend.latent_shape(request.width, request.height, window_frames)  # (C, T, h, w)
    known_latents = torch.zeros(1, *shape)
    mask = torch.zeros(shape[1], dtype=torch.bool)
    context_only = backend.capabilities.control_context  # known frames go to the model as a context video
    for known in () if context_only else request.known:
        rel = known.position - window_start  # first known pixel, inside the window
        if _usable_latents(known, backend, shape, rel):
            first = layout.latent_index(rel)
            latents = torch.from_numpy(np.array(known.latents, dtype=np.float32))  # a writable copy
            count = min(latents.shape[1], shape[1] - first)
            known_latents[0, :, first : first + count] = latents[:, :count]
            mask[first : first + count] = True
            continue
        if known.frames is None:
            raise InvalidRequestError(
                f"{known.source or 'A conditioning take'} was made by another model and has no frames "
                "to re-encode: re-render it or pick its video file.",
                f"latent space {known.latent_space!r} vs {backend.latent_space!r}",
            )
        first = layout.latent_index(rel)
        last = layout.latent_index(rel + known.count - 1)
        chunk_start = layout.latent_start(first)
        chunk_end = layout.latent_start(last + 1) if last + 1 < shape[1] else window_frames
        chunk = _held_chunk(known.frames, rel, chunk_start, chunk_end)
        latents = backend.encode_frames(chunk, starts_clip=first == 0).cpu().float()  # [1, C, t, h, w]
        known_latents[:, :, first : last + 1] = latents[:, :, : last + 1 - first]
        mask[first : last + 1] = True
    return ConditioningPlan(
        window_start=window_start,
        window_frames=window_frames,
        known_latents=known_latents,
        known_mask=mask,
        native=backend.capabilities.native_conditioning,
    )


def window_pixels(
    plan: ConditioningPlan, request: GenerationRequest, *, require_frames: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The window as pixels for context-video models: uint8 frames `[F, H, W, 3]` (mid-grey where nothing
    is known) and `known [F]` bool. Known items given only as latents are an error, or left out as
    unknown with `require_frames=False`."""
    frames = np.full((plan.window_frames, request.height, request.width, 3), 128, dtype=np.uint8)
    known = np.zeros(plan.window_frames, dtype=bool)
    for item in request.known:
        if item.frames is None and not require_frames:
            continue
        if item.frames is None:
            raise InvalidRequestError(
                f"{item.source or 'A conditioning take'} has no frames to show the model: re-render it "
                "or pick its video file.",
            )
        rel = item.position - plan.window_start
        lo, hi = max(rel, 0), min(rel + item.count, plan.window_frames)
        frames[lo:hi] = item.frames[lo - rel : hi - rel]
        known[lo:hi] = True
    return frames, known


def initial_latents(plan: ConditioningPlan, noise: torch.Tensor) -> torch.Tensor:
    """Starting point of sampling: pure noise, with known frames already clean on the native path."""
    return plan.apply_known(noise) if plan.native else noise.clone()


def conditioned_model_fn(
    denoiser: FrameDenoiser, plan: ConditioningPlan, noise: torch.Tensor
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A sampler's `model_fn(x, sigma) -> v` with the plan's known frames enforced."""
    mask = plan.mask5d().to(noise.device)
    mask_t = plan.known_mask.to(noise.device)[None]  # [1, T]
    known = plan.known_latents.to(noise)

    def native(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        frame_sigmas = torch.where(mask_t, 0.0, sigma.to(x)).to(x.dtype)  # [1, T]
        v = denoiser(torch.where(mask, known, x), frame_sigmas)
        return torch.where(mask, torch.zeros_like(v), v)

    def replacement(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        s = sigma.to(x)  # 0-d, or [T] on a per-frame schedule
        s5 = s.view(1, 1, -1, 1, 1) if s.ndim else s
        renoised = (1 - s5) * known + s5 * noise  # the known frames at this σ, on the same noise
        v = denoiser(torch.where(mask, renoised, x), s.expand(1, mask_t.shape[1]))
        return torch.where(mask, noise - known, v)  # straight path: constant velocity ε − x0

    if not plan.has_known:
        return lambda x, sigma: denoiser(x, sigma.to(x).expand(1, mask_t.shape[1]))
    return native if plan.native else replacement
