"""Train the bundled sketch model from scratch on the procedural storyboard world.

Two stages, each resumable and bounded by wall-clock minutes:
    python -m engine.sketch.train autoencoder --minutes 20
    python -m engine.sketch.train denoiser --minutes 120
The autoencoder learns to fold 4 frames into one latent frame and back; then it is frozen, its latent
statistics are measured, and the text encoder and the Wan-architecture denoiser learn rectified flow
with an independent noise level per latent frame (Diffusion-Forcing style) and a share of samples with
clean leading and/or trailing latent frames, so one checkpoint generates, extends both ways and bridges.

Outputs (in --out, default resources/sketch): config.json, sketch.safetensors (EMA weights, what the app
loads), train_state.safetensors (raw weights + step, to resume) and train_log.jsonl (loss, evaluation).
Data are generated on the fly from fixed seeds; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from engine.backends.sketch.backend import (
    CONFIG_NAME,
    DEFAULT_FOLDER,
    WEIGHTS_NAME,
    SketchModules,
    build_modules,
)
from engine.backends.sketch.config import AutoencoderConfig, SketchConfig
from engine.backends.sketch.text_encoder import tokenize
from engine.preview import fit_linear_preview
from engine.sampling.schedules import flow_sigmas, frame_lagged_sigmas, frame_lags, shift_sigmas
from engine.sketch.data import world_batch

STATE_NAME = "train_state.safetensors"
LOG_NAME = "train_log.jsonl"


@dataclass(frozen=True)
class TrainSettings:
    stage: str  # "autoencoder", "denoiser" or "decoder"
    out: Path = DEFAULT_FOLDER
    minutes: float = 60.0
    seed: int = 0
    batch: int = 8
    frames: int = 36
    lr: float = 1e-3
    warmup: int = 200
    anneal: bool = False  # cosine-decay the learning rate to a tenth over this run's minutes (a last run)
    ema: float = 0.995
    caption_dropout: float = 0.1
    per_frame_noise: float = 0.5  # share of samples with an independent σ per latent frame
    sigma_shift: float = 3.0  # σ = shift(logit-normal): samples near σ = 1, where layout is decided
    uniform_sigma: float = 0.1  # share of σ drawn uniformly in [0, 1] (covers both ends, σ = 1 included)
    top_sigma: float = 0.15  # share of σ drawn uniformly in [0.95, 1]: the first sampling steps
    clean_context: float = 0.35  # share of samples with clean leading and/or trailing latent frames
    lagged_noise: float = (
        0.0  # share of samples noised as frame-lagged sampling meets them (one step per frame)
    )
    context_latents: int = 2  # at most this many clean latent frames at either end
    offworld: float = 0.0  # share of clips unlike the world (`offworld`), always with clean context frames
    motion_weight: float = 0.0  # extra loss weight where the clip changes over time (subjects, not backdrop)
    denoiser_layers: int = 0  # grow the checkpoint's denoiser to this many blocks first (0: keep its depth)
    save_minutes: float = 10.0
    ae_frames: int = 8  # the autoencoder is convolutional: it trains on short crops, 6× cheaper per step
    ae_crop: int = 48  # square crop side in pixels (a multiple of the spatial factor)
    latent_noise: float = 0.05  # latent jitter while training the decoder (× latent std): robustness
    temporal_loss: float = 0.0  # weight of matching frame-to-frame changes (against flicker)
    pool_size: int = 256  # encoded clips kept for denoiser training
    pool_refresh: int = 2  # new clips per step: each clip is drawn about batch / refresh = 4 times
    eval_every: int = 500
    threads: int = 0


# --- checkpoint I/O ----------------------------------------------------------------------------------------
def _atomic_save(
    tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None
) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(temp), metadata=metadata)
    os.replace(temp, path)


def _atomic_write_text(text: str, path: Path) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    os.replace(temp, path)


def load_or_create(out: Path) -> tuple[SketchConfig, SketchModules, SketchModules, int]:
    """(config, raw modules, EMA modules, step) from `out`, or fresh ones."""
    config = SketchConfig.from_json(out / CONFIG_NAME) if (out / CONFIG_NAME).exists() else SketchConfig()
    raw = build_modules(config)
    ema = copy.deepcopy(raw)
    step = 0
    if (out / WEIGHTS_NAME).exists():
        ema.load_state_dict(load_file(str(out / WEIGHTS_NAME)))
        raw.load_state_dict(ema.state_dict())
    if (out / STATE_NAME).exists():
        from safetensors import safe_open

        raw.load_state_dict(load_file(str(out / STATE_NAME)))
        with safe_open(str(out / STATE_NAME), "pt") as f:
            step = int((f.metadata() or {}).get("step", 0))
    return config, raw, ema, step


def save_checkpoint(
    out: Path, config: SketchConfig, raw: SketchModules, ema: SketchModules, step: int, stage: str
):
    out.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(config.to_json(), out / CONFIG_NAME)
    _atomic_save(ema.state_dict(), out / WEIGHTS_NAME, {"step": str(step), "stage": stage})
    _atomic_save(raw.state_dict(), out / STATE_NAME, {"step": str(step), "stage": stage})


def _log(out: Path, record: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOG_NAME, "a") as f:
        f.write(json.dumps(record) + "\n")


def upgrade_decoder(config: SketchConfig, modules: SketchModules) -> tuple[SketchConfig, SketchModules]:
    """The checkpoint in the current decoder architecture (`AutoencoderConfig`'s temporal context), for the
    decoder stage. An older decoder's weights carry over: its unfold becomes the centre taps of the wider
    one, and the new temporal blocks start as identities, so the upgraded model decodes exactly as before
    until trained. The encoder, the latent statistics and the denoiser are untouched."""
    current = AutoencoderConfig()
    wanted = dataclasses.replace(
        config.autoencoder,
        decoder_context=current.decoder_context,
        decoder_temporal=current.decoder_temporal,
    )
    if wanted == config.autoencoder:
        return config, modules
    if wanted.decoder_context < config.autoencoder.decoder_context:
        raise SystemExit("this checkpoint's decoder sees more latent frames than the current architecture")
    config = dataclasses.replace(config, autoencoder=wanted)
    upgraded = build_modules(config)
    state = modules.state_dict()
    key = "autoencoder.unfold.weight"
    wide = torch.zeros_like(upgraded.state_dict()[key])  # [g·C, z, 2k + 1, 1, 1]
    old = state[key].reshape(*wide.shape[:2], -1, 1, 1)  # [g·C, z, 2k_old + 1, 1, 1]
    offset = (wide.shape[2] - old.shape[2]) // 2
    wide[:, :, offset : offset + old.shape[2]] = old
    state[key] = wide
    missing, unexpected = upgraded.load_state_dict(state, strict=False)
    if unexpected or any(not name.startswith("autoencoder.temporal.") for name in missing):
        raise SystemExit(f"cannot upgrade this decoder: missing {missing}, unexpected {unexpected}")
    return config, upgraded


# Output projections of a Wan block: zeroed, the block adds nothing to its residual stream.
_BLOCK_OUTPUTS = ("attn1.to_out.0", "attn2.to_out.0", "ffn.net.2")


def grow_denoiser(
    config: SketchConfig, modules: SketchModules, layers: int
) -> tuple[SketchConfig, SketchModules]:
    """The checkpoint with a deeper denoiser of `layers` blocks that predicts exactly what it did.

    Each new block is a copy of the trained block it follows (so its attention and feed-forward start from
    useful features) with its output projections zeroed: it starts as an identity, and training grows it
    into extra capacity. Copies go round-robin to the trained blocks, earliest first."""
    old = config.denoiser.layers
    if layers < old:
        raise SystemExit(f"this checkpoint's denoiser has {old} blocks: it cannot shrink to {layers}")
    if layers == old:
        return config, modules
    config = dataclasses.replace(config, denoiser=dataclasses.replace(config.denoiser, layers=layers))
    grown = build_modules(config)
    state = {k: v for k, v in modules.state_dict().items() if not k.startswith("denoiser.blocks.")}
    copies = [(layers - old) // old + (j < (layers - old) % old) for j in range(old)]
    sources = [j for j in range(old) for _ in range(1 + copies[j])]  # grown block i copies trained block j
    for i, j in enumerate(sources):
        first = i == 0 or sources[i - 1] != j
        for name, value in modules.denoiser.blocks[j].state_dict().items():
            zeroed = not first and name.rsplit(".", 1)[0] in _BLOCK_OUTPUTS
            state[f"denoiser.blocks.{i}.{name}"] = torch.zeros_like(value) if zeroed else value.clone()
    grown.load_state_dict(state)
    return config, grown


# --- helpers --------------------------------------------------------------------------------------
@torch.no_grad()
def _update_ema(ema: torch.nn.Module, raw: torch.nn.Module, decay: float) -> None:
    for e, r in zip(ema.parameters(), raw.parameters(), strict=True):
        e.lerp_(r, 1.0 - decay)
    for e, r in zip(ema.buffers(), raw.buffers(), strict=True):
        e.copy_(r)


def _lr(steps_this_run: int, settings: TrainSettings, elapsed: float = 0.0) -> float:
    """Linear warm-up at the start of every run (a resumed run starts with fresh optimizer moments); with
    `anneal`, a cosine decay to a tenth as the run's wall-clock budget (`elapsed` ∈ [0, 1]) is spent."""
    lr = settings.lr * min(1.0, (steps_this_run + 1) / settings.warmup)
    if settings.anneal:
        lr *= 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(max(elapsed, 0.0), 1.0)))
    return lr


def _log_run(settings: TrainSettings, step: int) -> None:
    """Each run's settings go in the log, so a checkpoint trained in stages can be reproduced."""
    values = {k: str(v) if isinstance(v, Path) else v for k, v in dataclasses.asdict(settings).items()}
    _log(settings.out, {"stage": "run", "step": step, "settings": values, "time": time.time()})


def _spent(started: float, settings: TrainSettings) -> float:
    return (time.monotonic() - started) / max(60 * settings.minutes, 1e-9)


def _logit_normal(rng: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.sigmoid(torch.randn(shape, generator=rng))


def _training_sigmas(rng: torch.Generator, shape: tuple[int, ...], settings: TrainSettings) -> torch.Tensor:
    """σ for training: shifted logit-normal, mixed with a uniform share and a share at the top.

    Plain logit-normal(0, 1) puts ~1 % of samples above σ = 0.9; there the model must draw the scene's
    layout from the prompt alone (the input holds almost no signal), and a model that never practised
    it turns pure noise into a muddle even though it denoises well at σ ≤ 0.9. Even shifted, only ~1 %
    land above 0.97, and the 9k-step model still ignored "snow", "sand", "day" and "night" there while
    following them at σ = 0.9: the first one or two sampling steps (σ ≥ 0.95) get their own share.
    """
    sigmas = shift_sigmas(_logit_normal(rng, shape), settings.sigma_shift)
    uniform = torch.rand(shape, generator=rng)
    top = 1.0 - 0.05 * torch.rand(shape, generator=rng)
    choice = torch.rand(shape, generator=rng)
    sigmas = torch.where(choice < settings.uniform_sigma, uniform, sigmas)
    upper = settings.uniform_sigma + settings.top_sigma
    return torch.where((choice >= settings.uniform_sigma) & (choice < upper), top, sigmas)


def sample_sigmas(
    rng: torch.Generator,
    batch: int,
    frames: int,
    settings: TrainSettings,
    needs_context: list[bool] | None = None,
) -> torch.Tensor:
    """Noise levels `[B, T]`: shared or per frame, with clean (σ = 0) context frames at either end, always
    for the samples `needs_context` marks (footage unlike the world is only ever continued, not drawn)."""
    shared = _training_sigmas(rng, (batch, 1), settings).expand(batch, frames)
    independent = _training_sigmas(rng, (batch, frames), settings)
    per_frame = torch.rand(batch, 1, generator=rng) < settings.per_frame_noise
    sigmas = torch.where(per_frame, independent, shared).clone()
    forced = needs_context or [False] * batch
    for b in range(batch):
        draw = torch.rand(1, generator=rng).item()
        if (draw < settings.clean_context or forced[b]) and frames > 2:
            lead, trail = torch.randint(0, settings.context_latents + 1, (2,), generator=rng).tolist()
            if lead == trail == 0:
                lead = 1
            lead, trail = min(lead, frames - 2), min(trail, frames - 1 - min(lead, frames - 2))
            sigmas[b, :lead] = 0.0
            if trail:
                sigmas[b, frames - trail :] = 0.0
        if torch.rand(1, generator=rng).item() < settings.lagged_noise:
            sigmas[b] = _lagged_pattern(rng, sigmas[b] == 0)
    return sigmas


def _lagged_pattern(
    rng: torch.Generator, known: torch.Tensor, steps: int = 12, shift: float = 2.0
) -> torch.Tensor:
    """σ `[T]` of one random moment of frame-lagged sampling (`frame_lagged_sigmas`, one step of lag per
    latent frame away from the `known` ones, which stay at 0): nearly finished frames beside noisy ones."""
    schedule = frame_lagged_sigmas(flow_sigmas(steps, shift=shift), frame_lags(known, 1)).double()  # [K+1, T]
    position = torch.rand(1, generator=rng).item() * (schedule.shape[0] - 1)
    row, fraction = int(position), position - int(position)
    sigmas = schedule[row] * (1 - fraction) + schedule[row + 1] * fraction
    return torch.where(known, 0.0, sigmas).float()


def motion_weights(x0: torch.Tensor, strength: float, cap: float = 8.0) -> torch.Tensor:
    """Loss weights `[B, 1, T, h, w]` for clean latents `x0 [B, z, T, h, w]`: 1 plus `strength` times how far
    each latent pixel strays from its mean over the clip, relative to the clip's average (capped at `cap`).

    The backdrop fills most of a frame and stays put, so a plain mean loss is mostly about the backdrop;
    the subject, its motion and carrying it on from context frames are a few percent of the loss. This
    puts them nearer even. Each sample's weights average 1 + `strength`.
    """
    deviation = (x0 - x0.mean(dim=2, keepdim=True)).abs().mean(dim=1, keepdim=True)  # [B, 1, T, h, w]
    relative = deviation / deviation.mean(dim=(2, 3, 4), keepdim=True).clamp_min(1e-6)
    return 1.0 + strength * relative.clamp(max=cap)


def _random_crop(video: torch.Tensor, side: int, multiple: int, rng: np.random.Generator) -> torch.Tensor:
    """A `side`×`side` window of `video [B, 3, F, H, W]` at a grid-aligned random position."""
    h, w = video.shape[-2:]
    side = min(side, h, w)
    top = int(rng.integers(0, (h - side) // multiple + 1)) * multiple
    left = int(rng.integers(0, (w - side) // multiple + 1)) * multiple
    return video[..., top : top + side, left : left + side]


# --- stage 1: autoencoder (and, later, its decoder alone) ----------------------------------------------
def _reconstruction_loss(recon: torch.Tensor, video: torch.Tensor, temporal: float) -> torch.Tensor:
    """L1 + MSE on frames `[B, 3, F, H, W]`, plus `temporal` × L1 on the change from frame to frame: a
    decoder that gets each frame about right but not the same way twice flickers."""
    loss = F.l1_loss(recon, video) + F.mse_loss(recon, video)
    if temporal:
        loss = loss + temporal * F.l1_loss(recon.diff(dim=2), video.diff(dim=2))
    return loss


def _fit_autoencoder(settings: TrainSettings, decoder_only: bool) -> tuple:
    """The autoencoder's training loop; with `decoder_only` the encoder (so the latent space the denoiser
    learned) stays fixed and only the decoder learns. Returns (config, raw, ema, denoiser step)."""
    config, raw, ema, step = load_or_create(settings.out)
    if decoder_only:
        if not config.latent_mean:
            raise SystemExit("train the autoencoder first: python -m engine.sketch.train autoencoder")
        (config, raw), (_, ema) = upgrade_decoder(config, raw), upgrade_decoder(config, ema)
    ae = raw.autoencoder.train()
    if decoder_only:
        ae.encoder.requires_grad_(False)
        ae.fold.requires_grad_(False)
    learned = [p for p in ae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(learned, lr=settings.lr, betas=(0.9, 0.99), weight_decay=0.0)
    ae_step = 0 if decoder_only else step
    rng = np.random.default_rng(settings.seed + ae_step + (777 if decoder_only else 0))
    started = time.monotonic()
    deadline = started + 60 * settings.minutes
    last_save = time.monotonic()
    stage = "decoder" if decoder_only else "autoencoder"
    bar = tqdm(desc=stage, unit="step", initial=ae_step)
    first_step = ae_step
    _log_run(settings, ae_step)
    while ae_step == first_step or time.monotonic() < deadline:  # at least one step per run
        video, _, _ = world_batch(
            rng, settings.batch, settings.ae_frames, config.width, config.height, foreign=settings.offworld
        )
        video = _random_crop(
            video, settings.ae_crop, config.autoencoder.spatial_factor, rng
        )  # [B, 3, F, h, w]
        for group in optimizer.param_groups:
            group["lr"] = _lr(ae_step - first_step, settings, _spent(started, settings))
        with torch.set_grad_enabled(not decoder_only):  # a fixed encoder needs no gradients
            z = ae.encode(video)  # [B, z, F/4, h, w]
        jitter = settings.latent_noise * torch.randn_like(z)  # decoder robust to small latent errors
        if decoder_only:  # per channel, as the denoiser's errors are (it works on normalised latents)
            jitter = jitter * torch.tensor(config.latent_std).view(1, -1, 1, 1, 1)
        else:
            jitter = jitter * z.detach().std()
        recon = ae.decode(z + jitter)
        loss = _reconstruction_loss(recon, video, settings.temporal_loss)
        if not decoder_only:
            loss = loss + 1e-4 * z.pow(2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(learned, 1.0)
        optimizer.step()
        _update_ema(ema.autoencoder, ae, settings.ema)
        ae_step += 1
        bar.update()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if ae_step % 50 == 0:
            _log(settings.out, {"stage": stage, "step": ae_step, "loss": loss.item(), "time": time.time()})
        if not decoder_only and time.monotonic() - last_save > 60 * settings.save_minutes:
            save_checkpoint(settings.out, config, raw, ema, ae_step, "autoencoder")
            last_save = time.monotonic()
    bar.close()
    return config, raw, ema, step


def train_autoencoder(settings: TrainSettings) -> None:
    config, raw, ema, _ = _fit_autoencoder(settings, decoder_only=False)
    config = finish_autoencoder(config, ema, np.random.default_rng(12345), settings.out)
    raw.autoencoder.load_state_dict(ema.autoencoder.state_dict())
    raw.preview.load_state_dict(ema.preview.state_dict())
    save_checkpoint(settings.out, config, raw, ema, 0, "autoencoder")  # the denoiser stage counts from 0


def train_decoder(settings: TrainSettings) -> None:
    """Refine the decoder of a trained model (its denoiser and latent space untouched), then refit the
    preview map. The run is saved once, at its end."""
    config, raw, ema, step = _fit_autoencoder(settings, decoder_only=True)
    finish_autoencoder(config, ema, np.random.default_rng(12345), settings.out, measure_statistics=False)
    raw.autoencoder.load_state_dict(ema.autoencoder.state_dict())
    raw.preview.load_state_dict(ema.preview.state_dict())
    save_checkpoint(settings.out, config, raw, ema, step, "denoiser")  # the denoiser resumes at `step`


@torch.no_grad()
def finish_autoencoder(
    config: SketchConfig,
    modules: SketchModules,
    rng: np.random.Generator,
    out: Path,
    measure_statistics: bool = True,
) -> SketchConfig:
    """Measure latent statistics (or keep the config's, which a trained denoiser depends on), fit the
    preview map, report reconstruction PSNR and flicker (frame-to-frame change beyond the footage's own)."""
    ae = modules.autoencoder.eval()
    video, _, _ = world_batch(rng, 24, 16, config.width, config.height)
    z = torch.cat([ae.encode(video[i : i + 4]) for i in range(0, len(video), 4)])  # [N, z, T, h, w]
    if measure_statistics:
        mean, std = z.mean(dim=(0, 2, 3, 4)), z.std(dim=(0, 2, 3, 4)).clamp_min(1e-3)
    else:
        mean, std = torch.tensor(config.latent_mean), torch.tensor(config.latent_std)
    recon = torch.cat([ae.decode(z[i : i + 4]) for i in range(0, len(z), 4)]).clamp(-1, 1)
    mse = F.mse_loss((recon + 1) / 2, (video + 1) / 2).item()
    change = [127.5 * v.diff(dim=2).abs().mean().item() for v in (recon, video)]  # 0–255 levels / frame
    normalised = (z - mean.view(1, -1, 1, 1, 1)) / std.view(1, -1, 1, 1, 1)
    rms = fit_linear_preview(modules.preview, normalised, recon, config.autoencoder.temporal_factor)
    psnr = 10 * math.log10(1.0 / max(mse, 1e-10))
    print(
        f"autoencoder: PSNR {psnr:.2f} dB on fresh clips, frame-to-frame change {change[0]:.2f} "
        f"(footage {change[1]:.2f}), preview map RMS {rms:.3f}"
    )
    record = {"psnr_db": psnr, "frame_change": change[0], "footage_change": change[1], "preview_rms": rms}
    _log(out, {"stage": "autoencoder-eval", **record, "time": time.time()})
    return dataclasses.replace(config, latent_mean=tuple(mean.tolist()), latent_std=tuple(std.tolist()))


class LatentPool:
    """Encoded world clips, each reused a few times with fresh noise: rendering and encoding a clip costs
    more than a denoiser step on the CPU, so only `settings.pool_refresh` new clips enter per step."""

    def __init__(
        self, ae, mean, std, config: SketchConfig, settings: TrainSettings, rng: np.random.Generator
    ):
        self.ae, self.mean, self.std, self.config, self.settings, self.rng = (
            ae,
            mean,
            std,
            config,
            settings,
            rng,
        )
        self.latents: list[torch.Tensor] = []
        self.captions: list[str] = []
        self.foreign: list[bool] = []  # clips unlike the world
        self._add(settings.pool_size)

    @torch.no_grad()
    def _add(self, count: int) -> None:
        for start in range(0, count, 8):
            n = min(8, count - start)
            video, captions, scenes = world_batch(
                self.rng,
                n,
                self.settings.frames,
                self.config.width,
                self.config.height,
                foreign=self.settings.offworld,
            )
            x0 = (self.ae.encode(video) - self.mean) / self.std  # [n, z, T, h, w]
            self.latents.extend(x0)
            self.captions.extend(captions)
            self.foreign.extend(scene is None for scene in scenes)
        excess = len(self.latents) - self.settings.pool_size
        if excess > 0:
            del self.latents[:excess], self.captions[:excess], self.foreign[:excess]

    def batch(self, size: int) -> tuple[torch.Tensor, list[str], list[bool]]:
        """Latents `[size, z, T, h, w]`, their captions and which of them are footage unlike the world."""
        self._add(self.settings.pool_refresh)
        picks = self.rng.choice(len(self.latents), size=size, replace=False)
        return (
            torch.stack([self.latents[i] for i in picks]),
            [self.captions[i] for i in picks],
            [self.foreign[i] for i in picks],
        )


# --- stage 2: text encoder + denoiser -------------------------------------------------------------
def train_denoiser(settings: TrainSettings) -> None:
    config, raw, ema, step = load_or_create(settings.out)
    if not config.latent_mean:
        raise SystemExit("train the autoencoder first: python -m engine.sketch.train autoencoder")
    if settings.denoiser_layers:
        _, raw = grow_denoiser(config, raw, settings.denoiser_layers)
        config, ema = grow_denoiser(config, ema, settings.denoiser_layers)
    ae = raw.autoencoder.eval().requires_grad_(False)
    trainable = [*raw.text_encoder.parameters(), *raw.denoiser.parameters()]
    raw.text_encoder.train()
    raw.denoiser.train()
    optimizer = torch.optim.AdamW(trainable, lr=settings.lr, betas=(0.9, 0.99), weight_decay=0.01)
    z = config.autoencoder.latent_channels
    mean = torch.tensor(config.latent_mean).view(1, z, 1, 1, 1)
    std = torch.tensor(config.latent_std).view(1, z, 1, 1, 1)
    rng = np.random.default_rng(settings.seed + 1000 + step)
    torch_rng = torch.Generator().manual_seed(settings.seed + step)
    _, ph, pw = config.denoiser.patch_size
    started = time.monotonic()
    deadline = started + 60 * settings.minutes
    last_save = time.monotonic()
    bar = tqdm(desc="denoiser", unit="step", initial=step)
    losses: list[float] = []
    pool = LatentPool(ae, mean, std, config, settings, rng)
    first_step = step
    _log_run(settings, step)
    while step == first_step or time.monotonic() < deadline:  # at least one step per run
        x0, captions, foreign = pool.batch(settings.batch)  # [B, z, T, h, w]
        b, _, t, h, w = x0.shape
        captions = [c if rng.random() >= settings.caption_dropout else "" for c in captions]
        sigmas = sample_sigmas(torch_rng, b, t, settings, needs_context=foreign)  # [B, T]
        noise = torch.randn(x0.shape, generator=torch_rng)
        s = sigmas.view(b, 1, t, 1, 1)
        xt = (1 - s) * x0 + s * noise
        timestep = (sigmas * 1000).repeat_interleave((h // ph) * (w // pw), dim=1)  # [B, T·h'·w']
        text = raw.text_encoder(tokenize(captions, config.text_encoder.max_tokens))
        v = raw.denoiser(hidden_states=xt, timestep=timestep, encoder_hidden_states=text, return_dict=False)[
            0
        ]
        learned = (sigmas > 0).float().view(b, 1, t, 1, 1)  # clean context frames are not learned
        weight = learned * motion_weights(x0, settings.motion_weight)  # [B, 1, T, h, w]
        loss = ((v - (noise - x0)) ** 2 * weight).sum() / (weight.sum() * x0.shape[1]).clamp_min(1e-6)
        for group in optimizer.param_groups:
            group["lr"] = _lr(step - first_step, settings, _spent(started, settings))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        _update_ema(ema.text_encoder, raw.text_encoder, settings.ema)
        _update_ema(ema.denoiser, raw.denoiser, settings.ema)
        step += 1
        losses.append(loss.item())
        bar.update()
        bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
        if step % 50 == 0:
            _log(
                settings.out,
                {
                    "stage": "denoiser",
                    "step": step,
                    "loss": float(np.mean(losses[-50:])),
                    "time": time.time(),
                },
            )
        if time.monotonic() - last_save > 60 * settings.save_minutes:
            save_checkpoint(settings.out, config, raw, ema, step, "denoiser")
            last_save = time.monotonic()
        if settings.eval_every and step % settings.eval_every == 0:
            save_checkpoint(settings.out, config, raw, ema, step, "denoiser")
            last_save = time.monotonic()
            _evaluate(settings, step)
    bar.close()
    save_checkpoint(settings.out, config, raw, ema, step, "denoiser")


def _evaluate(settings: TrainSettings, step: int) -> None:
    """The quick evaluation into the log. A failure is logged and shown, and training goes on: an hours-long
    run is not lost to a broken metric (a checkpoint can be evaluated again afterwards)."""
    from engine.sketch.evaluate import quick_report

    try:
        report = quick_report(settings.out)
    except Exception as error:  # any failure of the metric: reported, then training goes on
        _log(settings.out, {"stage": "eval-failed", "step": step, "error": repr(error), "time": time.time()})
        print(f"\nstep {step}: evaluation failed: {error!r}")
        return
    _log(settings.out, {"stage": "eval", "step": step, **report, "time": time.time()})
    print(f"\nstep {step}: " + ", ".join(f"{k} {v:.2f}" for k, v in report.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("autoencoder", "denoiser", "decoder"))
    defaults = TrainSettings(stage="denoiser")
    for field in dataclasses.fields(TrainSettings):
        if field.name == "stage":
            continue
        default = getattr(defaults, field.name)
        flag = f"--{field.name.replace('_', '-')}"
        if isinstance(default, bool):  # --anneal / --no-anneal
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
            continue
        kind = Path if field.name == "out" else type(default)
        parser.add_argument(flag, type=kind, default=default)
    args = vars(parser.parse_args(argv))
    settings = TrainSettings(**args)
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    {"autoencoder": train_autoencoder, "denoiser": train_denoiser, "decoder": train_decoder}[settings.stage](
        settings
    )


if __name__ == "__main__":
    main()
