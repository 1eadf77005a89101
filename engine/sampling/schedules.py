"""Noise schedules for rectified-flow sampling: pure functions from step counts to sigmas.

Rectified flow mixes data and noise linearly, `x_σ = (1 − σ)·x0 + σ·ε`, so σ = 1 is pure noise and
σ = 0 is data. A schedule is a 1-D float32 tensor of sigmas running from high to 0; a sampler takes
one step per consecutive pair, so `steps` steps need `steps + 1` sigmas.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["flow_sigmas", "shift_sigmas", "trained_flow_sigmas"]


def shift_sigmas(sigmas: torch.Tensor | Sequence[float], shift: float) -> torch.Tensor:
    """Warp sigmas towards the noisy end: `σ' = s·σ / (1 + (s − 1)·σ)`.

    The map fixes 0 and 1, is the identity at `s = 1` and, for `s > 1`, spends more of the steps at
    high σ, where large video models need them (Wan uses s = 3…16, see §1.7 of the notes). It is the
    same as scaling the signal-to-noise ratio: `σ'/(1 − σ') = s·σ/(1 − σ)`.
    """
    if not shift > 0:
        raise ValueError(f"shift must be > 0, got {shift}")
    s = torch.as_tensor(sigmas, dtype=torch.float64)
    return (shift * s / (1.0 + (shift - 1.0) * s)).to(torch.float32)


def flow_sigmas(steps: int, shift: float = 1.0, sigma_max: float = 1.0) -> torch.Tensor:
    """Sigmas for `steps` sampling steps: `shift_sigmas(linspace(sigma_max, 0, steps + 1), shift)`.

    Returns a float32 tensor of `steps + 1` strictly decreasing values; the first is `sigma_max`
    shifted, the last is exactly 0. `sigma_max < 1` starts from partly noised data (video-to-video).
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not shift > 0:
        raise ValueError(f"shift must be > 0, got {shift}")
    if not 0 < sigma_max <= 1:
        raise ValueError(f"sigma_max must be in (0, 1], got {sigma_max}")
    sigmas = shift_sigmas(torch.linspace(sigma_max, 0.0, steps + 1, dtype=torch.float64), shift)
    sigmas[-1] = 0.0
    return sigmas


def trained_flow_sigmas(steps: int, shift: float = 1.0, train_steps: int = 1000) -> torch.Tensor:
    """The schedule of diffusers' flow schedulers as Wan ships them (`use_flow_sigmas`, `flow_shift`).

    `σ = shift(linspace(1, 1/train_steps, steps + 1)[:-1])`, nudged just below 1 (a σ of exactly 1
    makes UniPC's log-SNR infinite), then a final 0: the grid Wan's pipelines sample on, which differs
    from `flow_sigmas` by stopping one training step short of zero before the last jump.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if not shift > 0:
        raise ValueError(f"shift must be > 0, got {shift}")
    grid = torch.linspace(1.0, 1.0 / train_steps, steps + 1, dtype=torch.float64)[:-1]
    sigmas = shift * grid / (1.0 + (shift - 1.0) * grid)  # float64, cast once at the end as diffusers does
    if abs(float(sigmas[0]) - 1.0) < 1e-6:
        sigmas[0] -= 1e-6
    return torch.cat([sigmas, sigmas.new_zeros(1)]).to(torch.float32)
