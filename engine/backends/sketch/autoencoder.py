"""The sketch model's video autoencoder: per-frame 2D convolutions, four frames per latent frame.

Built for CPU speed (a Wan-style 3D causal VAE costs ~9.5 s to decode one clip on 2 cores): the
encoder works frame by frame and folds each group of `temporal_factor` frames into one latent frame;
the decoder unfolds each latent frame into its frames from it and its neighbours (`decoder_context`),
and, with `decoder_temporal`, mixes neighbouring frames at full frame rate in every stage, so the frames
either side of a latent-frame boundary agree instead of jumping. Every latent frame is a full group (no
causal first frame), so any run of latent frames can be cut from one take and reused in another.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from engine.backends.sketch.config import AutoencoderConfig


class ResBlock2d(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(self.act(x))))


class TemporalResBlock(nn.Module):
    """A residual convolution across neighbouring frames (kernel 3 in time, 1×1 in space) on per-frame
    features; the edge frames repeat at a clip's ends. Its last convolution starts at zero: a new block
    leaves the decoder it joins unchanged until trained."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0), padding_mode="replicate")
        self.conv2 = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0), padding_mode="replicate")
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.act = nn.SiLU()

    def forward(self, frames: torch.Tensor, batch: int) -> torch.Tensor:
        """`frames [B·F, C, H, W]` → the same shape."""
        bf, c, h, w = frames.shape
        clip = frames.reshape(batch, bf // batch, c, h, w).transpose(1, 2)  # [B, C, F, H, W]
        change = self.conv2(self.act(self.conv1(self.act(clip))))
        return frames + change.transpose(1, 2).reshape(bf, c, h, w)


class SketchAutoencoder(nn.Module):
    """Space-to-depth encoder and depth-to-space decoder: every convolution runs below full resolution."""

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        self.config = config
        stages = int(math.log2(config.spatial_factor))
        if 2**stages != config.spatial_factor or not (
            len(config.encoder_channels) == len(config.decoder_channels) == stages
        ):
            raise ValueError(
                f"spatial_factor {config.spatial_factor} needs {stages} encoder and decoder stages, "
                f"got {len(config.encoder_channels)} / {len(config.decoder_channels)}"
            )
        g, z = config.temporal_factor, config.latent_channels
        encoder: list[nn.Module] = []
        previous = 3
        for channels in config.encoder_channels:  # each stage halves the size
            encoder += [
                nn.PixelUnshuffle(2),
                nn.Conv2d(4 * previous, channels, 3, padding=1),
                ResBlock2d(channels),
            ]
            previous = channels
        self.encoder = nn.Sequential(*encoder)
        self.fold = nn.Conv2d(g * previous, z, 1)  # a group of frames → one latent frame

        dec = config.decoder_channels
        k = config.decoder_context
        if k:  # a latent frame and its neighbours → a group of frames
            self.unfold = nn.Conv3d(z, g * dec[0], (2 * k + 1, 1, 1))
        else:  # one latent frame → a group of frames
            self.unfold = nn.Conv2d(z, g * dec[0], 1)
        self.temporal_mix = nn.Conv1d(g * dec[0], g * dec[0], 3, padding=1, groups=g * dec[0])
        decoder: list[nn.Module] = []
        for i, channels in enumerate(dec):  # each stage doubles the size
            following = dec[i + 1] if i + 1 < len(dec) else 3
            decoder += [ResBlock2d(channels), nn.SiLU(), nn.Conv2d(channels, 4 * following, 3, padding=1)]
            decoder.append(nn.PixelShuffle(2))
        self.decoder = nn.Sequential(*decoder)  # 4 layers per stage, the stage's ResBlock first
        self.temporal = (
            nn.ModuleList(TemporalResBlock(channels) for channels in dec) if config.decoder_temporal else None
        )

    def encode(self, video: torch.Tensor) -> torch.Tensor:
        """Raw latents `[B, z, F/g, H/s, W/s]` of a video `[B, 3, F, H, W]` in [-1, 1]."""
        b, c, f, h, w = video.shape
        g = self.config.temporal_factor
        assert f % g == 0, f"frame count {f} is not a multiple of {g}"
        frames = video.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)  # [B·F, 3, H, W]
        features = self.encoder(frames)  # [B·F, C, h, w]
        _, ch, lh, lw = features.shape
        groups = features.reshape(b * f // g, g * ch, lh, lw)  # [B·T, g·C, h, w]
        latents = self.fold(groups)  # [B·T, z, h, w]
        return latents.reshape(b, f // g, -1, lh, lw).permute(0, 2, 1, 3, 4)  # [B, z, T, h, w]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Video `[B, 3, T·g, H, W]` in about [-1, 1] from raw latents `[B, z, T, h, w]`."""
        b, z, t, h, w = latents.shape
        g, k = self.config.temporal_factor, self.config.decoder_context
        if k:
            padded = F.pad(latents, (0, 0, 0, 0, k, k), mode="replicate")  # [B, z, T + 2k, h, w]
            x = self.unfold(padded).transpose(1, 2).reshape(b * t, -1, h, w)  # [B·T, g·C, h, w]
        else:
            x = self.unfold(latents.permute(0, 2, 1, 3, 4).reshape(b * t, z, h, w))  # [B·T, g·C, h, w]
        gc = x.shape[1]
        seq = x.reshape(b, t, gc, h, w).permute(0, 3, 4, 2, 1).reshape(b * h * w, gc, t)  # [B·h·w, g·C, T]
        seq = seq + self.temporal_mix(seq)  # mix neighbouring latent frames
        x = seq.reshape(b, h, w, gc, t).permute(0, 4, 3, 1, 2)  # [B, T, g·C, h, w]
        frames = x.reshape(b * t * g, gc // g, h, w)  # [B·F, C, h, w]
        for i, layer in enumerate(self.decoder):
            frames = layer(frames)
            if self.temporal is not None and i % 4 == 0:  # after each stage's ResBlock
                frames = self.temporal[i // 4](frames, b)
        rgb = frames  # [B·F, 3, H, W]
        return rgb.reshape(b, t * g, 3, rgb.shape[-2], rgb.shape[-1]).permute(0, 2, 1, 3, 4)
