"""Wan 2.1 (T2V, VACE) on the engine's one generation path, following diffusers' WanPipeline conventions.

Conventions kept exactly, so that the same seed gives the same frames as `WanPipeline` (tested):
- text: umT5 over the cleaned prompt padded to 512 tokens; the output is cut to the prompt's tokens and
  zero-padded back to 512 (padded positions are attended, as Wan does);
- schedule: `σ = shift(linspace(1, 1/1000, N + 1)[:-1])` then 0, and the model sees the integer
  timestep `⌊1000·σ⌋` (diffusers' UniPC/Euler flow schedulers hand it int64 timesteps);
- latents: the VAE's mean/std normalisation (the denoiser's space), causal 4n + 1 frame layout,
  VAE in float32, frames from `[-1, 1]`.
Known frames (extend, bridge) go through VACE's masks when the checkpoint is a VACE one, else by
latent replacement, which the app labels as lower quality.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import numpy as np
import torch

from engine.backends.base import Backend, ModelCapabilities, TemporalLayout
from engine.backends.wan.files import WanModelFiles, inspect_wan_model
from engine.backends.wan.loading import WanModules, load_wan_modules
from engine.backends.wan.options import ATTENTION_BACKENDS, WanOptions
from engine.device import DeviceChoice, pick_device
from engine.errors import InvalidRequestError
from engine.preview import LinearPreview
from engine.sampling.schedules import trained_flow_sigmas

__all__ = ["WanBackend"]

TEXT_TOKENS = 512
# Latent → RGB factors for Wan 2.1's latent space (ComfyUI `latent_formats.Wan21`, notes §5.1)
WAN21_RGB_FACTORS = (
    (-0.1299, -0.1692, 0.2932), (0.0671, 0.0406, 0.0442),
    (0.3568, 0.2548, 0.1747), (0.0372, 0.2344, 0.1420),
    (0.0313, 0.0189, -0.0328), (0.0296, -0.0956, -0.0665),
    (-0.3477, -0.4059, -0.2925), (0.0166, 0.1902, 0.1975),
    (-0.0412, 0.0267, -0.1364), (-0.1293, 0.0740, 0.1636),
    (0.0680, 0.3019, 0.1128), (0.0032, 0.0581, 0.0639),
    (-0.1251, 0.0927, 0.1699), (0.0060, -0.0633, 0.0005),
    (0.3477, 0.2275, 0.2950), (0.1984, 0.0913, 0.1861),
)  # fmt: skip
WAN21_RGB_BIAS = (-0.1835, -0.0868, -0.3360)


def _weights_digest(files: tuple[Path, ...]) -> str:
    """A digest of the weights without reading 30 GB: each file's size, header and first and last MiB."""
    h = hashlib.sha256()
    for f in files:
        size = f.stat().st_size
        with f.open("rb") as handle:
            h.update(size.to_bytes(8, "little"))
            h.update(handle.read(1 << 20))
            handle.seek(max(0, size - (1 << 20)))
            h.update(handle.read(1 << 20))
    return h.hexdigest()[:16]


def _scheduler_defaults(files: WanModelFiles) -> tuple[str, float]:
    """(sampler, shift) from the folder's scheduler/ config; Wan's own T2V defaults otherwise."""
    config = files.scheduler_config
    name = str(config.get("_class_name", ""))
    if "Euler" in name:
        return "euler", float(config.get("shift", 5.0))
    return "unipc", float(config.get("flow_shift", 5.0 if files.kind != "i2v" else 3.0))


class WanBackend(Backend):
    name = "wan"

    def __init__(
        self, files: WanModelFiles, modules: WanModules, choice: DeviceChoice, options: WanOptions
    ) -> None:
        self.files, self.modules, self.options = files, modules, options
        self.device, self.dtype = choice.device, choice.dtype
        vae = modules.vae.config
        z = vae.z_dim
        self.latent_mean = torch.tensor(vae.latents_mean, dtype=torch.float32).view(1, z, 1, 1, 1)
        self.latent_std = torch.tensor(vae.latents_std, dtype=torch.float32).view(1, z, 1, 1, 1)
        self.spatial_factor = 2 ** len(vae.temperal_downsample)
        patch = tuple(files.transformer_config.get("patch_size", (1, 2, 2)))
        self.patch = patch
        sampler, shift = _scheduler_defaults(files)
        self.capabilities = ModelCapabilities(
            native_conditioning=False,
            temporal=TemporalLayout(factor=4, first_frame_alone=True),
            size_factor=self.spatial_factor * patch[1],
            min_size=64,
            max_size=1280,
            min_frames=5,
            max_frames=161,
            default_width=832,
            default_height=480,
            default_frames=81,
            default_fps=16.0,
            default_steps=40 if files.kind == "i2v" else 50,
            default_guidance=5.0,
            default_shift=shift,
            default_sampler=sampler,
            context_frames=9,
            latent_channels=z,
            control_context=files.kind in ("vace", "i2v"),
        )
        self.preview = LinearPreview(z)
        self.preview.weight.copy_(torch.tensor(WAN21_RGB_FACTORS))
        self.preview.bias.copy_(torch.tensor(WAN21_RGB_BIAS))
        self._identity = "wan-" + _weights_digest(
            files.transformer_files + files.vae_files + files.text_encoder_files + files.image_encoder_files
        )
        if options.draft:  # draft frames differ from exact ones: they must not share a cached take
            self._identity += f"-draft{options.draft_threshold:g}"
        self._latent_space = "wan2.1-vae-" + _weights_digest(files.vae_files)
        self._apply_options()

    @classmethod
    def load(
        cls, path: str | Path, choice: DeviceChoice | None = None, options: WanOptions | None = None
    ) -> WanBackend:
        files = inspect_wan_model(path)
        choice = choice or pick_device()
        options = options or WanOptions()
        storage = torch.device("cpu") if options.offload != "none" else choice.device
        return cls(files, load_wan_modules(files, storage, choice.dtype), choice, options)

    def _apply_options(self) -> None:
        transformer, options = self.modules.transformer, self.options
        if ATTENTION_BACKENDS[options.attention] is not None:
            transformer.set_attention_backend(ATTENTION_BACKENDS[options.attention])
        if options.draft:
            from diffusers import FirstBlockCacheConfig

            transformer.enable_cache(FirstBlockCacheConfig(threshold=options.draft_threshold))
        if options.offload == "group" and self.device.type == "cuda":
            transformer.enable_group_offload(
                onload_device=self.device,
                offload_device=torch.device("cpu"),
                offload_type="block_level",
                num_blocks_per_group=1,
                use_stream=True,
            )
        if options.compile_blocks:
            transformer.compile_repeated_blocks(fullgraph=True)
        if options.vae_tiling == "on":
            self.modules.vae.enable_tiling()

    # --- identity -------------------------------------------------------------------------------------
    @property
    def latent_space(self) -> str:
        return self._latent_space

    @property
    def identity(self) -> str:
        return self._identity

    @property
    def label(self) -> str:
        return self.files.label

    def latent_shape(self, width: int, height: int, frames: int) -> tuple[int, int, int, int]:
        s = self.spatial_factor
        return (
            self.capabilities.latent_channels,
            self.capabilities.temporal.latent_count(frames),
            height // s,
            width // s,
        )

    def schedule(self, steps: int, shift: float) -> torch.Tensor:
        return trained_flow_sigmas(steps, shift)

    def start(self) -> None:
        if self.options.draft:
            self.modules.transformer._reset_stateful_cache()
        if self.options.offload == "model":
            self._compute_on(self.modules.transformer)

    # --- offload: modules live on the CPU and visit the GPU while they work -----------------------------
    def _compute_on(self, module: torch.nn.Module) -> None:
        if self.options.offload != "none":
            module.to(self.device)

    def _store(self, module: torch.nn.Module) -> None:
        if self.options.offload != "none" and self.device.type != "cpu":
            module.to("cpu")
            torch.cuda.empty_cache()

    # --- text -------------------------------------------------------------------------------------------
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        from diffusers.pipelines.wan.pipeline_wan import prompt_clean

        tokens = self.modules.tokenizer(
            [prompt_clean(p) for p in prompts],
            padding="max_length",
            max_length=TEXT_TOKENS,
            truncation=True,
            add_special_tokens=True,
            return_attention_mask=True,
            return_tensors="pt",
        )
        mask = tokens.attention_mask
        lengths = mask.gt(0).sum(dim=1)
        encoder = self.modules.text_encoder
        self._compute_on(encoder)
        device = next(encoder.parameters()).device
        with torch.inference_mode():
            hidden = encoder(tokens.input_ids.to(device), mask.to(device)).last_hidden_state  # [B, 512, 4096]
        self._store(encoder)
        hidden = hidden.to(self.device, self.dtype)
        keep = torch.arange(TEXT_TOKENS, device=hidden.device)[None, :] < lengths.to(hidden.device)[:, None]
        return hidden * keep[..., None]  # zero past each prompt's end, as WanPipeline pads

    # --- denoiser -----------------------------------------------------------------------------------------
    def denoise(
        self, x: torch.Tensor, sigmas: torch.Tensor, text: torch.Tensor, control: object | None = None
    ) -> torch.Tensor:
        *_, h, w = x.shape  # [B, C, T, h, w]
        steps = torch.floor(sigmas.double() * 1000.0).float()  # [B, T] integer timesteps, as the schedulers
        if bool((steps == steps[:, :1]).all()):
            timestep = steps[:, 0]  # [B]: one level for the clip, the cheap path
        else:
            per_frame = (h // self.patch[1]) * (w // self.patch[2])
            timestep = steps.repeat_interleave(per_frame, dim=1)  # [B, T·h'·w'] per token
        transformer = self.modules.transformer
        batch = x.shape[0]
        extra: dict[str, torch.Tensor] = {}
        if self.files.kind in ("vace", "i2v") and control is None:
            raise ValueError(f"a Wan {self.files.kind.upper()} model needs its context (control_context)")
        if self.files.kind == "vace":
            layers = len(transformer.config.vace_layers)
            extra = {
                "control_hidden_states": control.to(self.device, self.dtype).expand(batch, -1, -1, -1, -1),
                "control_hidden_states_scale": torch.ones(layers, device=self.device, dtype=self.dtype),
            }
        elif self.files.kind == "i2v":
            condition = control["condition"].to(x).expand(batch, -1, -1, -1, -1)  # [B, 4 + z, T, h, w]
            x = torch.cat([x, condition], dim=1)  # [B, 2z + 4, T, h, w]: 36 channels for Wan I2V
            extra = {
                "encoder_hidden_states_image": control["image"]
                .to(self.device, self.dtype)
                .repeat(batch, 1, 1)
            }
        # one step cache per text batch: with sequential CFG, cond and uncond each keep their own
        name = f"text-{text.data_ptr()}-{batch}"
        context = transformer.cache_context(name) if self.options.draft else contextlib.nullcontext()
        with torch.inference_mode(), context:
            v = transformer(
                hidden_states=x.to(self.device, self.dtype),
                timestep=timestep.to(self.device),
                encoder_hidden_states=text.to(self.device, self.dtype),
                return_dict=False,
                **extra,
            )[0]
        return v.to(x.dtype)

    def control_context(self, frames: np.ndarray, known: np.ndarray) -> object:
        if self.files.kind == "i2v":
            return self._image_condition(frames, known)
        return self._vace_context(frames, known)

    def _image_condition(self, frames: np.ndarray, known: np.ndarray) -> dict[str, torch.Tensor]:
        """I2V's condition: a per-pixel-frame mask folded to 4 channels per latent frame ‖ VAE(the known
        frames, grey elsewhere), and the CLIP features of the first known frame — and of the last one too
        for first-last-frame (FLF2V) models (notes §1.10, §1.11)."""
        keep = np.asarray(known, dtype=bool)  # [F]
        if not keep.any():
            raise InvalidRequestError(
                f"{self.files.label} is an image-to-video model: give the shot a start image "
                "(or extend a clip), or choose a text-to-video model."
            )
        video = torch.from_numpy(np.array(frames)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0
        video[:, :, torch.from_numpy(~keep)] = 0.0  # [1, 3, F, H, W]
        latent = self._encode_raw(video)  # [1, z, T, h, w]
        _, _, t, h, w = latent.shape
        f = self.capabilities.temporal.factor
        mask = torch.from_numpy(keep).float()
        mask = torch.cat([mask[:1].repeat(f - 1), mask]).view(t, f).T  # [4, T]: frame 0 stands for a group
        mask = mask[None, :, :, None, None].expand(1, f, t, h, w)
        from PIL import Image

        indices = np.flatnonzero(keep)
        images = [Image.fromarray(frames[indices[0]])]
        if self.files.transformer_config.get("pos_embed_seq_len"):  # FLF2V: first and last frames' features
            images.append(Image.fromarray(frames[indices[-1]]))
        pixels = self.modules.image_processor(images=images, return_tensors="pt")
        encoder = self.modules.image_encoder
        self._compute_on(encoder)
        with torch.inference_mode():
            features = encoder(
                pixel_values=pixels.pixel_values.to(self.device, next(encoder.parameters()).dtype),
                output_hidden_states=True,
            ).hidden_states[-2]  # [n, 257, 1280], the penultimate layer; FLF2V's model pairs the n = 2 rows
        self._store(encoder)
        return {"condition": torch.cat([mask, latent], dim=1), "image": features.float().cpu()}

    def _vace_context(self, frames: np.ndarray, known: np.ndarray) -> torch.Tensor:
        """VACE's context `[1, 96, T, h, w]`: VAE(frames outside the mask) ‖ VAE(frames inside) ‖ the mask
        folded 8×8 into 64 channels; mask 1 = generate, 0 = keep, placeholders mid-grey (notes §1.12)."""
        video = torch.from_numpy(np.array(frames)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0
        keep = torch.from_numpy(np.asarray(known, dtype=bool))  # [F]
        video[:, :, ~keep] = 0.0  # [1, 3, F, H, W], unknown frames exactly grey
        _, _, f, height, width = video.shape
        mask = (~keep).float().view(1, 1, f, 1, 1).expand(1, 1, f, height, width)  # [1, 1, F, H, W]
        inactive = self._encode_raw(video * (1 - mask))
        reactive = self._encode_raw(video * mask)
        s = self.spatial_factor
        h, w = height // s, width // s
        folded = mask[0, 0].reshape(f, h, s, w, s).permute(2, 4, 0, 1, 3).flatten(0, 1)  # [s·s, F, h, w]
        t = inactive.shape[2]
        folded = torch.nn.functional.interpolate(folded[None], size=(t, h, w), mode="nearest-exact")
        return torch.cat([inactive, reactive, folded], dim=1)  # [1, 32 + s·s, T, h, w]

    def _encode_raw(self, video: torch.Tensor) -> torch.Tensor:
        """Normalised latents `[1, z, T, h, w]` of a clip `[1, 3, F, H, W]` in [-1, 1] that starts a clip."""
        self._compute_on(self.modules.vae)
        with torch.inference_mode():
            raw = self.modules.vae.encode(video.to(self.device)).latent_dist.mode()
        self._store(self.modules.vae)
        return (raw.float().cpu() - self.latent_mean) / self.latent_std

    def batch_guidance(self, tokens: int) -> bool:
        return self.options.cfg_batching

    def memory_advice(self) -> str:
        return self.options.memory_advice()

    # --- VAE ---------------------------------------------------------------------------------------------
    def encode_frames(self, frames: np.ndarray, starts_clip: bool) -> torch.Tensor:
        video = torch.from_numpy(np.array(frames)).to(self.device)  # [F, H, W, 3]
        video = video.permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0  # [1, 3, F, H, W]
        if not starts_clip:  # 4k frames inside a clip: lead with a copy of the first so they fill k latents
            video = torch.cat([video[:, :, :1], video], dim=2)
        latents = self._encode_raw(video)  # [1, z, T, h, w]
        return latents if starts_clip else latents[:, :, 1:]

    def decode_latents(self, latents: torch.Tensor, starts_clip: bool) -> np.ndarray:
        raw = latents.float().cpu() * self.latent_std + self.latent_mean
        vae = self.modules.vae
        if self.options.vae_tiling == "auto" and self.device.type == "cuda":
            self._tile_if_short(raw.shape)
        if self.options.offload == "model":
            self._store(self.modules.transformer)
        self._compute_on(vae)
        with torch.inference_mode():
            video = vae.decode(raw.to(self.device), return_dict=False)[0]  # [1, 3, F, H, W] in [-1, 1]
        self._store(vae)
        video = ((video[0].float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
        return video.permute(1, 2, 3, 0).cpu().numpy()  # [F, H, W, 3]

    def _tile_if_short(self, shape: torch.Size) -> None:
        _, _, t, h, w = shape
        s = self.spatial_factor
        need = 4 * t * (h * s) * (w * s) * 4 * 96  # ~96 fp32 feature maps per output pixel at full size
        free, _ = torch.cuda.mem_get_info(self.device)
        if need > 0.8 * free:
            self.modules.vae.enable_tiling()
        else:
            self.modules.vae.disable_tiling()

    # --- preview -----------------------------------------------------------------------------------------
    def preview_frames(self, denoised: torch.Tensor) -> np.ndarray:
        return self.preview.to_uint8(denoised.float().cpu())
