"""The bundled sketch backend: a small Wan-style DiT, a CPU-fast autoencoder, a word-level text encoder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from diffusers import WanTransformer3DModel
from torch import nn

from engine.backends.base import Backend, ModelCapabilities, TemporalLayout
from engine.backends.precision import cast_keeping_fp32_modules
from engine.backends.sketch.autoencoder import SketchAutoencoder
from engine.backends.sketch.config import SketchConfig
from engine.backends.sketch.text_encoder import SketchTextEncoder, tokenize
from engine.device import DeviceChoice, pick_device
from engine.errors import WeightsError
from engine.preview import LinearPreview, fit_linear_preview
from engine.sketch.vocabulary import normalize_prompt
from engine.weights import check_shapes, inspect_safetensors, load_safetensors

DEFAULT_FOLDER = Path(__file__).resolve().parents[3] / "resources" / "sketch"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "sketch.safetensors"


class SketchModules(nn.Module):
    """The three trainable parts under one module, so one state dict holds the checkpoint."""

    def __init__(self, config: SketchConfig) -> None:
        super().__init__()
        d = config.denoiser
        z = config.autoencoder.latent_channels
        self.autoencoder = SketchAutoencoder(config.autoencoder)
        self.text_encoder = SketchTextEncoder(config.text_encoder)
        self.denoiser = WanTransformer3DModel(
            patch_size=d.patch_size,
            num_attention_heads=d.heads,
            attention_head_dim=d.head_dim,
            in_channels=z,
            out_channels=z,
            text_dim=config.text_encoder.dim,
            freq_dim=d.freq_dim,
            ffn_dim=d.ffn_dim,
            num_layers=d.layers,
            cross_attn_norm=True,
            qk_norm="rms_norm_across_heads",
            eps=1e-6,
        )
        self.preview = LinearPreview(z)


def build_modules(config: SketchConfig) -> SketchModules:
    """Fresh modules with deterministic random weights (seeded by `config.init_seed`)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.init_seed)
        return SketchModules(config)


def _expected_shapes(config: SketchConfig, config_path: Path) -> dict[str, tuple[int, ...]]:
    """The tensor shapes `config` describes, found without allocating them (the modules are built on the
    meta device); settings the model cannot be built from are a `WeightsError` naming the file."""
    try:
        with torch.device("meta"):
            modules = SketchModules(config)
        z = config.autoencoder.latent_channels
        if len(config.latent_mean) not in (0, z) or len(config.latent_std) not in (0, z):
            raise ValueError(f"latent_mean and latent_std need {z} values each")
    except (RuntimeError, ValueError, TypeError, ZeroDivisionError, OverflowError, AttributeError) as error:
        raise WeightsError(
            f"The sketch model's settings file {config_path.name} holds values the model cannot be built "
            "from: it is damaged or from another version.",
            detail=f"{config_path}: {error!r}",
        ) from None
    return {name: tuple(t.shape) for name, t in modules.state_dict().items()}


def _check_weights(expected: dict[str, tuple[int, ...]], path: Path) -> None:
    """Refuse a weights file that does not fit the settings, before any memory is spent on the model."""
    check_shapes(path, expected, inspect_safetensors(path), "the sketch model's settings (config.json)")


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


class SketchBackend(Backend):
    name = "sketch"

    def __init__(
        self, config: SketchConfig, modules: SketchModules, identity: str, choice: DeviceChoice
    ) -> None:
        self.config = config
        self.device = choice.device
        self.dtype = choice.dtype
        self.modules = modules.to(choice.device).eval().requires_grad_(False)
        cast_keeping_fp32_modules(self.modules.denoiser, choice.dtype)
        self._identity = identity
        z = config.autoencoder.latent_channels
        self.latent_mean = torch.tensor(config.latent_mean or [0.0] * z, device=self.device).view(
            1, z, 1, 1, 1
        )
        self.latent_std = torch.tensor(config.latent_std or [1.0] * z, device=self.device).view(1, z, 1, 1, 1)
        ae, d = config.autoencoder, config.denoiser
        self.capabilities = ModelCapabilities(
            native_conditioning=True,
            temporal=TemporalLayout(factor=ae.temporal_factor, first_frame_alone=False),
            size_factor=ae.spatial_factor * d.patch_size[1],
            min_size=64,
            max_size=256,
            min_frames=2 * ae.temporal_factor,
            max_frames=24 * ae.temporal_factor,
            default_width=config.width,
            default_height=config.height,
            default_frames=config.default_frames,
            default_fps=config.fps,
            default_steps=config.default_steps,
            default_guidance=config.default_guidance,
            default_shift=config.default_shift,
            default_sampler="unipc",
            context_frames=2 * ae.temporal_factor,
            latent_channels=z,
            guidance_floor_sigma=config.guidance_floor_sigma,
            default_frame_lag=config.default_frame_lag,
        )

    @classmethod
    def load(cls, folder: Path | None = None, choice: DeviceChoice | None = None) -> SketchBackend:
        """The checkpoint in `folder` (the bundled one by default); random weights if it holds none yet."""
        folder = Path(folder) if folder is not None else DEFAULT_FOLDER
        config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
        config = SketchConfig.from_json(config_path) if config_path.exists() else SketchConfig()
        expected = _expected_shapes(config, config_path)
        if weights_path.exists():
            _check_weights(expected, weights_path)
        modules = build_modules(config)
        if weights_path.exists():
            modules.load_state_dict(load_safetensors(weights_path), strict=True)
            identity = f"sketch-{_file_digest(weights_path)}"
            fitted = True
        else:
            identity = "sketch-random-" + hashlib.sha256(config.to_json().encode()).hexdigest()[:16]
            fitted = False
        backend = cls(config, modules, identity, choice or pick_device())
        if not fitted:
            backend.fit_preview()
        return backend

    # --- identity ---------------------------------------------------------------------------------
    @property
    def latent_space(self) -> str:
        return self._identity  # our autoencoder changes with every checkpoint

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def trained(self) -> bool:
        return "-random-" not in self._identity

    def latent_shape(self, width: int, height: int, frames: int) -> tuple[int, int, int, int]:
        s = self.config.autoencoder.spatial_factor
        return (
            self.capabilities.latent_channels,
            self.capabilities.temporal.latent_count(frames),
            height // s,
            width // s,
        )

    # --- text ---------------------------------------------------------------------------------------
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        ids = tokenize(prompts, self.config.text_encoder.max_tokens).to(self.device)  # [B, L]
        with torch.inference_mode():
            return self.modules.text_encoder(ids).to(self.dtype)  # [B, L, D]

    def unknown_words(self, prompt: str) -> list[str]:
        return list(normalize_prompt(prompt).unknown)

    # --- denoiser -----------------------------------------------------------------------------------
    def denoise(
        self, x: torch.Tensor, sigmas: torch.Tensor, text: torch.Tensor, control: object | None = None
    ) -> torch.Tensor:
        *_, h, w = x.shape  # [B, C, T, h, w]
        _, ph, pw = self.config.denoiser.patch_size
        tokens_per_frame = (h // ph) * (w // pw)
        timestep = (sigmas.float() * 1000.0).repeat_interleave(tokens_per_frame, dim=1)  # [B, T·h'·w']
        with torch.inference_mode():
            v = self.modules.denoiser(
                hidden_states=x.to(self.device, self.dtype),
                timestep=timestep.to(self.device),
                encoder_hidden_states=text.to(self.device, self.dtype),
                return_dict=False,
            )[0]  # [B, C, T, h, w]
        return v.to(x.dtype)

    # --- autoencoder --------------------------------------------------------------------------------
    def encode_frames(self, frames: np.ndarray, starts_clip: bool) -> torch.Tensor:
        video = torch.from_numpy(np.array(frames)).to(self.device)  # [F, H, W, 3], a writable copy
        video = video.permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0  # [1, 3, F, H, W]
        with torch.inference_mode():
            raw = self.modules.autoencoder.encode(video)  # [1, z, T, h, w]
        return (raw - self.latent_mean) / self.latent_std

    def decode_latents(self, latents: torch.Tensor, starts_clip: bool) -> np.ndarray:
        raw = latents.to(self.device).float() * self.latent_std + self.latent_mean
        with torch.inference_mode():
            video = self.modules.autoencoder.decode(raw)  # [1, 3, F, H, W]
        video = ((video[0].clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
        return video.permute(1, 2, 3, 0).cpu().numpy()  # [F, H, W, 3]

    # --- preview ------------------------------------------------------------------------------------
    def preview_frames(self, denoised: torch.Tensor) -> np.ndarray:
        return self.modules.preview.to_uint8(denoised.float())

    def fit_preview(self, samples: int = 2) -> None:
        """Fit the latent→RGB preview map by least squares on decoded latents."""
        generator = torch.Generator().manual_seed(0)
        z = self.capabilities.latent_channels
        latents = torch.randn(samples, z, 2, 10, 16, generator=generator).to(self.device)
        decoded = [
            torch.from_numpy(self.decode_latents(latents[i : i + 1], starts_clip=False))
            for i in range(samples)
        ]
        video = torch.stack(decoded).permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0  # [N, 3, F, H, W]
        fit_linear_preview(
            self.modules.preview, latents.cpu(), video, self.config.autoencoder.temporal_factor
        )
