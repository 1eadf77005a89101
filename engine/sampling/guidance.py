"""Classifier-free guidance: v = v_uncond + g·(v_cond − v_uncond), cond and uncond batched when they fit.

Guidance can stop at a noise level (`floor_sigma`): below it the prompt-only prediction is used, one
forward per step instead of two. The early, noisy steps decide the layout and what the prompt names;
guiding the late steps as well over-sharpens the latents, which the decoder then renders as flicker
(guidance used only in an interval of noise levels: Kynkäänniemi et al. 2024).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Denoise = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (x, σ [B,T], text) → v


def guided_denoiser(
    denoise: Denoise,
    text_cond: torch.Tensor,
    text_uncond: torch.Tensor,
    scale: float,
    batched: bool,
    floor_sigma: float = 0.0,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A denoiser `(x [1,C,T,h,w], σ [1,T]) → v` with guidance at `scale` (1 = prompt only, one call) while
    the noisiest frame's σ is above `floor_sigma`, and the prompt-only prediction from there on."""

    def prompt_only(x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
        return denoise(x, sigmas, text_cond)

    if scale == 1.0:
        return prompt_only
    text = torch.cat([text_cond, text_uncond])  # [2, L, D]

    def guided(x: torch.Tensor, sigmas: torch.Tensor) -> torch.Tensor:
        if floor_sigma > 0.0 and float(sigmas.max()) <= floor_sigma:
            return prompt_only(x, sigmas)
        if batched:
            v_cond, v_uncond = denoise(torch.cat([x, x]), torch.cat([sigmas, sigmas]), text).chunk(2)
        else:
            v_cond, v_uncond = prompt_only(x, sigmas), denoise(x, sigmas, text_uncond)
        return v_uncond + scale * (v_cond - v_uncond)

    return guided
