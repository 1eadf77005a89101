"""The sketch model's configuration: frozen dataclasses read from and written to JSON beside the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import WeightsError


@dataclass(frozen=True)
class AutoencoderConfig:
    """Per-frame 2D conv autoencoder; `temporal_factor` frames share one latent frame."""

    latent_channels: int = 16
    spatial_factor: int = 8  # a power of two: one stage per factor of two
    temporal_factor: int = 4
    encoder_channels: tuple[int, ...] = (24, 48, 96)
    decoder_channels: tuple[int, ...] = (96, 48, 24)
    # Temporal context in the decoder, so frames either side of a latent-frame boundary agree:
    decoder_context: int = 1  # latent frames either side that each latent frame's unfold sees
    decoder_temporal: bool = True  # a frame-rate temporal residual block in each decoder stage


# A settings file written before the decoder had temporal context describes the older decoder.
LEGACY_DECODER = {"decoder_context": 0, "decoder_temporal": False}


@dataclass(frozen=True)
class TextEncoderConfig:
    """Word-level text encoder: embeddings + a small transformer."""

    dim: int = 128
    layers: int = 2
    heads: int = 4
    max_tokens: int = 24


@dataclass(frozen=True)
class DenoiserConfig:
    """A small `WanTransformer3DModel` (diffusers), the same architecture as Wan 2.1."""

    patch_size: tuple[int, int, int] = (1, 2, 2)
    heads: int = 3
    head_dim: int = 64
    layers: int = 4
    ffn_dim: int = 768
    freq_dim: int = 256


@dataclass(frozen=True)
class SketchConfig:
    """Everything that defines a sketch checkpoint."""

    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    text_encoder: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    # Per-channel statistics of the raw autoencoder latents: normalised = (raw − mean) / std.
    latent_mean: tuple[float, ...] = ()
    latent_std: tuple[float, ...] = ()
    width: int = 128
    height: int = 80
    fps: float = 12.0
    default_frames: int = 36
    default_steps: int = 12
    default_guidance: float = 4.0
    default_shift: float = 2.0
    guidance_floor_sigma: float = 0.4  # guidance only above this σ: later guided steps make flicker
    # Latent frames settle in turn (Diffusion-Forcing pyramid), each this many steps after the one before,
    # carrying on the subject of nearly finished neighbours instead of placing its own copy of it. Only
    # for shots from the prompt alone: known frames already place the subject (`engine.requests`).
    default_frame_lag: int = 1
    init_seed: int = 0  # seeds the random weights used before a trained checkpoint exists

    def to_json(self) -> str:
        return json.dumps({"schema": "SketchConfig.1", **dataclasses.asdict(self)}, indent=2)

    @classmethod
    def from_json(cls, path: Path) -> SketchConfig:
        try:
            data = json.loads(Path(path).read_text())
            data.pop("schema", None)
            return cls(
                autoencoder=_tupled(AutoencoderConfig, {**LEGACY_DECODER, **data.pop("autoencoder")}),
                text_encoder=_tupled(TextEncoderConfig, data.pop("text_encoder")),
                denoiser=_tupled(DenoiserConfig, data.pop("denoiser")),
                **{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()},
            )
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:  # e.g. a section is null
            raise WeightsError(
                f"The sketch model's settings file {Path(path).name} is damaged or from another version.",
                f"{path}: {error!r}",
            ) from error


def _tupled(kind, values: dict):
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
