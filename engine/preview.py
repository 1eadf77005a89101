"""Live preview: a linear latent→RGB map applied to the sampler's x0 estimate at every step.

The full VAE decode runs once at the end; while sampling, each latent pixel becomes one RGB pixel
through `rgb = x0 · W + b` (the form ComfyUI uses for its Latent2RGB previews), one image per
latent frame. For our own models the map is fitted by least squares between latents and the
decoder's output.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class LinearPreview(nn.Module):
    """`rgb = x0 · weight + bias` per latent pixel; weight `[C, 3]`, bias `[3]`."""

    def __init__(self, latent_channels: int) -> None:
        super().__init__()
        self.register_buffer("weight", torch.zeros(latent_channels, 3))
        self.register_buffer("bias", torch.zeros(3))

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """RGB in about [-1, 1], `[B, 3, T, h, w]`, of latents `[B, C, T, h, w]`."""
        rgb = torch.einsum("bcthw,cr->brthw", latents, self.weight.to(latents))
        return rgb + self.bias.to(latents).view(1, 3, 1, 1, 1)

    def to_uint8(self, latents: torch.Tensor) -> np.ndarray:
        """uint8 frames `[T, h, w, 3]` of the first batch item."""
        with torch.inference_mode():
            rgb = self(latents[:1])[0].clamp(-1, 1)  # [3, T, h, w]
            return ((rgb + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 3, 0).cpu().numpy()


def fit_linear_preview(
    preview: LinearPreview, latents: torch.Tensor, video: torch.Tensor, temporal_factor: int
) -> float:
    """Fit `preview` by least squares; returns the RMS error in [-1, 1] units.

    latents: `[N, C, T, h, w]`; video: `[N, 3, T·temporal_factor, H, W]` decoded from them.
    Each latent pixel is matched with the mean colour of the frames and pixels it stands for.
    """
    n, c, t, h, w = latents.shape
    target = video.reshape(n, 3, t, temporal_factor, *video.shape[-2:]).mean(dim=3)  # [N, 3, T, H, W]
    target = F.adaptive_avg_pool3d(target, (t, h, w))  # [N, 3, T, h, w]
    x = latents.permute(0, 2, 3, 4, 1).reshape(-1, c).double()  # [P, C]
    y = target.permute(0, 2, 3, 4, 1).reshape(-1, 3).double()  # [P, 3]
    design = torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype)], dim=1)  # [P, C + 1]
    solution = torch.linalg.lstsq(design, y).solution  # [C + 1, 3]
    preview.weight.copy_(solution[:c].float())
    preview.bias.copy_(solution[c].float())
    return float((design @ solution - y).pow(2).mean().sqrt())
