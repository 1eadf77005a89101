"""The backend interface: what the engine needs from a model family, and what a model can do."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class TemporalLayout:
    """How pixel frames group into latent frames.

    Latent frames cover `factor` pixel frames each. With `first_frame_alone` (causal video VAEs
    such as Wan's) the first latent frame of a clip holds pixel frame 0 alone, so clips have
    `factor * n + 1` frames; otherwise every latent frame is a full group and clips have
    `factor * n` frames, which lets any run of latent frames be cut out and reused exactly.
    """

    factor: int = 4
    first_frame_alone: bool = False

    def is_valid(self, frames: int) -> bool:
        if frames < 1:
            return False
        if self.first_frame_alone:
            return (frames - 1) % self.factor == 0
        return frames % self.factor == 0

    def latent_count(self, frames: int) -> int:
        if not self.is_valid(frames):
            raise ValueError(f"{frames} frames do not fit a {self} layout")
        if self.first_frame_alone:
            return (frames - 1) // self.factor + 1
        return frames // self.factor

    def pixel_count(self, latent_frames: int) -> int:
        if self.first_frame_alone:
            return (latent_frames - 1) * self.factor + 1
        return latent_frames * self.factor

    def latent_index(self, pixel_index: int) -> int:
        """The latent frame holding `pixel_index` (counted from a clip's first frame)."""
        if self.first_frame_alone:
            return 0 if pixel_index == 0 else (pixel_index - 1) // self.factor + 1
        return pixel_index // self.factor

    def latent_start(self, latent_index: int) -> int:
        """The first pixel frame of latent frame `latent_index`."""
        if self.first_frame_alone:
            return 0 if latent_index == 0 else (latent_index - 1) * self.factor + 1
        return latent_index * self.factor

    def nearest_valid(self, frames: int) -> tuple[int, ...]:
        """The valid frame counts just below and just above `frames` (one value if it is valid)."""
        base = 1 if self.first_frame_alone else 0
        lower = base + ((frames - base) // self.factor) * self.factor
        upper = lower if lower == frames else lower + self.factor
        smallest = base + self.factor if base == 0 else 1
        return tuple(sorted({max(lower, smallest), max(upper, smallest)}))


@dataclass(frozen=True)
class ModelCapabilities:
    """What a loaded model supports and how it prefers to be driven."""

    native_conditioning: bool  # trained with per-frame noise levels: known frames at t = 0
    temporal: TemporalLayout
    size_factor: int  # width and height must be multiples of this (VAE factor × patch)
    min_size: int
    max_size: int
    min_frames: int
    max_frames: int
    default_width: int
    default_height: int
    default_frames: int
    default_fps: float
    default_steps: int
    default_guidance: float
    default_shift: float
    default_sampler: str
    context_frames: int  # frames borrowed from a neighbouring clip when extending or bridging
    latent_channels: int
    control_context: bool = False  # known frames reach the model as a context video (VACE), not latents
    guidance_floor_sigma: float = 0.0  # below this noise level, steps use the prompt-only prediction
    default_frame_lag: int = 0  # steps each latent frame settles after the one before, from the prompt alone


class Backend(abc.ABC):
    """A model family behind one interface. Tensors are video latents `[B, C, T, h, w]`.

    Latents handed in and out are *normalised* (the space the denoiser works in). Velocity
    follows rectified flow: `x_σ = (1 − σ)·x0 + σ·ε`, `v = ε − x0`.
    """

    name: str
    capabilities: ModelCapabilities
    device: torch.device
    dtype: torch.dtype

    @property
    @abc.abstractmethod
    def latent_space(self) -> str:
        """Identifies the latent space; stored latents are reused only by a backend with the same id."""

    @property
    @abc.abstractmethod
    def identity(self) -> str:
        """Identifies the exact weights (a digest); part of every take's cache key."""

    @abc.abstractmethod
    def latent_shape(self, width: int, height: int, frames: int) -> tuple[int, int, int, int]:
        """`(C, T, h, w)` of the latents for a clip of that size."""

    @abc.abstractmethod
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        """Text embeddings `[B, L, D]` for the denoiser's cross-attention."""

    def unknown_words(self, prompt: str) -> list[str]:
        """Words of `prompt` the model will ignore (empty when the model reads any text)."""
        return []

    @abc.abstractmethod
    def denoise(
        self, x: torch.Tensor, sigmas: torch.Tensor, text: torch.Tensor, control: object | None = None
    ) -> torch.Tensor:
        """Velocity `[B, C, T, h, w]` for latents `x` at per-latent-frame noise levels `sigmas [B, T]`.

        `control` is the context from `control_context` for models with `capabilities.control_context`.
        """

    @abc.abstractmethod
    def encode_frames(self, frames: np.ndarray, starts_clip: bool) -> torch.Tensor:
        """Normalised latents `[1, C, T, h, w]` of uint8 RGB frames `[F, H, W, 3]`.

        `starts_clip` says the frames begin a clip (matters for layouts with `first_frame_alone`).
        """

    @abc.abstractmethod
    def decode_latents(self, latents: torch.Tensor, starts_clip: bool) -> np.ndarray:
        """uint8 RGB frames `[F, H, W, 3]` of normalised latents `[1, C, T, h, w]`."""

    @abc.abstractmethod
    def preview_frames(self, denoised: torch.Tensor) -> np.ndarray:
        """Cheap uint8 RGB preview `[T, h', w', 3]`, one image per latent frame, of an x0 estimate."""

    def control_context(self, frames: np.ndarray, known: np.ndarray) -> object:
        """The model's conditioning (a context video `[1, C', T, h, w]`, a mask and image features…) for a
        window of uint8 frames `[F, H, W, 3]`, `known [F]` marking the given ones (the others are
        placeholders). Only for models with `capabilities.control_context`."""
        raise NotImplementedError(f"{self.name} takes known frames as latents, not as a context video")

    def schedule(self, steps: int, shift: float) -> torch.Tensor:
        """Sigmas for `steps` sampling steps (`steps + 1` values down to 0)."""
        from engine.sampling.schedules import flow_sigmas

        return flow_sigmas(steps, shift=shift)

    def start(self) -> None:  # noqa: B027 - an optional hook, not an abstract method
        """Called once before each generation (resets per-clip state such as step caches)."""

    def memory_advice(self) -> str:
        """What to change after the device ran out of memory with this model."""
        return "use fewer frames or a smaller size, or close other programs using the GPU"

    def batch_guidance(self, tokens: int) -> bool:
        """Whether cond and uncond fit in one batched denoiser call for this many tokens."""
        return True
