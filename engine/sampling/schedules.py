"""Noise schedules for rectified-flow sampling: pure functions from step counts to sigmas.

Rectified flow mixes data and noise linearly, `x_σ = (1 − σ)·x0 + σ·ε`, so σ = 1 is pure noise and
σ = 0 is data. A schedule is a 1-D float32 tensor of sigmas running from high to 0; a sampler takes
one step per consecutive pair, so `steps` steps need `steps + 1` sigmas. A per-frame schedule
(`frame_lagged_sigmas`) is 2-D, `[steps + 1, T]`: one row of sigmas per step, one column per latent frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = [
    "flow_sigmas",
    "frame_lagged_sigmas",
    "frame_lags",
    "known_distance",
    "shift_sigmas",
    "trained_flow_sigmas",
]


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


def known_distance(known: torch.Tensor) -> torch.Tensor:
    """Latent frames `[T]` (float64) from each frame to the nearest `known` one (to frame 0 if none is)."""
    index = torch.arange(known.shape[0], dtype=torch.float64)
    if not bool(known.any()):
        return index
    return (index[:, None] - index[known][None, :]).abs().min(dim=1).values


def frame_lags(known: torch.Tensor, lag: int) -> torch.Tensor:
    """How many steps `[T]` (int64) each latent frame's schedule runs behind, for `known [T]` (bool) frames:
    `lag` steps more for each latent frame farther from what is known.

    With nothing known, frame 0 goes first (text → video); extending forward or backward starts beside the
    context; a bridge starts at both ends and meets in the middle. Known frames get 0 (they stay clean).
    """
    if isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
        raise ValueError(f"lag must be a whole number of steps >= 0, got {lag!r}")
    distance = known_distance(known)
    low = float(distance[~known].min()) if bool(known.any()) else 0.0
    return torch.where(known, 0.0, lag * (distance - low)).round().long()


def frame_lagged_sigmas(sigmas: torch.Tensor, lags: torch.Tensor) -> torch.Tensor:
    """A per-frame schedule `[N + max(lags) + 1, T]`: latent frame t walks `sigmas [N + 1]` `lags[t]` steps
    late (waiting at its first σ before, resting at 0 after).

    Diffusion Forcing's "pyramid" sampling (Chen et al. 2024): the first frames settle while later ones
    are still noisy, so each later frame is denoised against nearly finished neighbours and carries their
    subject on instead of deciding a layout of its own. A model must have been trained with independent
    noise levels per frame to follow it. Lags are whole steps, so every frame takes exactly the steps of
    `sigmas`; with all lags 0 every column is `sigmas`.
    """
    if sigmas.ndim != 1 or sigmas.numel() < 2:
        raise ValueError(f"sigmas must be a 1-D tensor of at least 2 values, got shape {list(sigmas.shape)}")
    if lags.is_floating_point() or bool((lags < 0).any()):
        raise ValueError(f"lags must be whole steps >= 0, got {lags.tolist()}")
    steps = sigmas.numel() - 1
    total = steps + int(lags.max())
    position = (torch.arange(total + 1)[:, None] - lags[None, :].cpu()).clamp(0, steps)  # [K + 1, T]
    return sigmas.to(torch.float32)[position]
