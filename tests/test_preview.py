"""The linear latent→RGB preview map: fitting recovers a known map; output is uint8 per latent frame."""

import numpy as np
import torch
import torch.nn.functional as F

from engine.preview import LinearPreview, fit_linear_preview


def test_fit_recovers_a_linear_decoder_exactly():
    generator = torch.Generator().manual_seed(0)
    true_w, true_b = torch.randn(6, 3, generator=generator) * 0.2, torch.tensor([0.1, -0.2, 0.05])
    latents = torch.randn(2, 6, 3, 5, 7, generator=generator)  # [N, C, T, h, w]
    rgb = torch.einsum("ncthw,cr->nrthw", latents, true_w) + true_b.view(1, 3, 1, 1, 1)
    video = F.interpolate(rgb, scale_factor=(4, 4, 4), mode="nearest")  # [N, 3, 4T, 4h, 4w]
    preview = LinearPreview(6)
    error = fit_linear_preview(preview, latents, video, temporal_factor=4)
    assert error < 1e-5
    assert torch.allclose(preview.weight, true_w, atol=1e-5) and torch.allclose(
        preview.bias, true_b, atol=1e-5
    )
    frames = preview.to_uint8(latents)
    assert frames.dtype == np.uint8 and frames.shape == (3, 5, 7, 3)
    expected = ((rgb[0].clamp(-1, 1) + 1) * 127.5).round().permute(1, 2, 3, 0).numpy()
    assert np.abs(frames.astype(float) - expected).max() <= 1
