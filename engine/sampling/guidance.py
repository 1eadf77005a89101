"""Classifier-free guidance: v = v_uncond + g·(v_cond − v_uncond), cond and uncond batched when they fit."""

from __future__ import annotations

from collections.abc import Callable

import torch

Denoise = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (x, σ [B,T], text) → v


def guided_denoiser(
    denoise: Denoise, text_cond: torch.Tensor, text_uncond: torch.Tensor, scale: float, batched: bool
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A denoiser `(x [1,C,T,h,w], σ [1,T]) → v` with guidance at `scale` (1 = prompt only, one call)."""
    if scale == 1.0:
        return lambda x, sigmas: denoise(x, sigmas, text_cond)
    if batched:
        text = torch.cat([text_cond, text_uncond])  # [2, L, D]

        def batched_fn(x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
            v_cond, v_uncond = denoise(torch.cat([x, x]), torch.cat([sigmas, sigmas]), text).chunk(2)
            return v_uncond + scale * (v_cond - v_uncond)

        return batched_fn

    def sequential_fn(x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
        v_cond = denoise(x, sigmas, text_cond)
        v_uncond = denoise(x, sigmas, text_uncond)
        return v_uncond + scale * (v_cond - v_uncond)

    return sequential_fn
