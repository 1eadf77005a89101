"""ODE solvers for rectified-flow sampling: plain functions with one signature, model-agnostic.

Convention: `x_σ = (1 − σ)·x0 + σ·ε`; the model predicts the velocity `v = ε − x0 = dx/dσ`, so the
data (x0) estimate at any step is `x − σ·v`. Every solver is

    sample_xxx(model_fn, x, sigmas, *, callback=None, should_stop=None) -> Tensor

with `model_fn(x, sigma) -> v` (`sigma` a 0-d float32 tensor on `x.device`; guidance and
conditioning live inside `model_fn`), `sigmas` from `flow_sigmas` (high to 0). Before each step
`should_stop()` is asked and a True answer raises `GenerationCancelled`; after each step `callback`
gets `{"i", "total", "sigma", "sigma_next", "x", "denoised"}`, where `denoised` is the x0 estimate of
that step's model call (what a preview draws). Tensors stay in the dtype of `x`; the scalar
coefficients are computed as Python floats (float64).

A per-frame schedule (`sigmas [K + 1, T]`, one column per latent frame, from `frame_lagged_sigmas`) is
stepped frame by frame: `model_fn` then gets `sigma [T]`, the callback's `sigma`/`sigma_next` are the
noisiest frame's, and a frame whose σ does not change in a step stays as it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from engine.errors import GenerationCancelled

__all__ = ["SAMPLERS", "ModelFn", "get_sampler", "sample_euler", "sample_unipc"]

ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Callback = Callable[[dict[str, Any]], None]
ShouldStop = Callable[[], bool]

# Largest σ used inside log-SNR: σ = 1 (α = 0) has λ = −∞. Diffusers moves σ = 1 to 1 − 1e-6 too.
_SIGMA_LOG_MAX = 1.0 - 1e-6


def _prepare(x: torch.Tensor, sigmas: torch.Tensor) -> tuple[list[float], torch.Tensor]:
    if sigmas.ndim != 1 or sigmas.numel() < 2:
        raise ValueError(f"sigmas must be a 1-D tensor of at least 2 values, got shape {list(sigmas.shape)}")
    return sigmas.tolist(), sigmas.to(device=x.device, dtype=torch.float32)


def _prepare_frames(x: torch.Tensor, sigmas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A per-frame schedule `[K + 1, T]` as float64 (for coefficients) and as float32 on `x`'s device."""
    if sigmas.ndim != 2 or sigmas.shape[0] < 2 or sigmas.shape[1] != x.shape[2]:
        raise ValueError(
            f"a per-frame schedule must be [steps + 1, {x.shape[2]}] (one column per latent frame), "
            f"got {list(sigmas.shape)}"
        )
    return sigmas.to(torch.float64).cpu(), sigmas.to(device=x.device, dtype=torch.float32)


def _per_frame(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-frame coefficients `[T]` shaped to scale latents `x [B, C, T, h, w]`."""
    return values.to(device=x.device, dtype=x.dtype).view(1, 1, -1, 1, 1)


def _check_stop(should_stop: ShouldStop | None) -> None:
    if should_stop is not None and should_stop():
        raise GenerationCancelled()


def _report(
    callback: Callback | None,
    i: int,
    total: int,
    sigma: float,
    sigma_next: float,
    x: torch.Tensor,
    denoised: torch.Tensor,
) -> None:
    if callback is not None:
        callback(
            {"i": i, "total": total, "sigma": sigma, "sigma_next": sigma_next, "x": x, "denoised": denoised}
        )


@torch.no_grad()
def sample_euler(
    model_fn: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    callback: Callback | None = None,
    should_stop: ShouldStop | None = None,
) -> torch.Tensor:
    """First-order Euler on the velocity: one model call per step."""
    if sigmas.ndim == 2:
        return _sample_euler_frames(model_fn, x, sigmas, callback, should_stop)
    s, s_dev = _prepare(x, sigmas)
    n = len(s) - 1
    for i in range(n):
        _check_stop(should_stop)
        sigma, sigma_next = s[i], s[i + 1]
        v = model_fn(x, s_dev[i]).to(x.dtype)
        denoised = x - sigma * v
        x = x + (sigma_next - sigma) * v
        _report(callback, i, n, sigma, sigma_next, x, denoised)
    return x


# UniPC (Zhao et al. 2023, arXiv 2302.04867) in data prediction with B(h) = e^h − 1 ("bh2"), order 2,
# following diffusers' UniPCMultistepScheduler with flow sigmas (α = 1 − σ). With λ = log(α/σ) and
# h = λ_next − λ, every update starts from the exact first-order step, written with ratios so that
# σ = 1 (α = 0) and σ_next = 0 need no logarithm:
#
#     x_next = (σn/σ)·x + c·m0,   c = αn − α·σn/σ  (= −αn·(e^−h − 1))
#
# where m0 is the data estimate at σ. Higher-order terms add c·(Σ ρk·Dk) to it, Dk being divided
# differences of data estimates in λ.


def _log_snr(sigma: float) -> float:
    """λ = log(α/σ) with α = 1 − σ; σ clamped below 1 so that λ stays finite."""
    sigma = min(sigma, _SIGMA_LOG_MAX)
    return math.log1p(-sigma) - math.log(sigma)


def _unipc_predict(
    x: torch.Tensor,
    m0: torch.Tensor,
    sigma: float,
    sigma_next: float,
    prev: tuple[float, torch.Tensor] | None = None,
) -> torch.Tensor:
    """UniP: from x at `sigma` to `sigma_next`; `prev = (sigma_prev, m_prev)` makes it order 2."""
    ratio = sigma_next / sigma
    c = (1.0 - sigma_next) - (1.0 - sigma) * ratio
    if prev is None:
        return ratio * x + c * m0
    sigma_prev, m_prev = prev
    lam = _log_snr(sigma)
    h = _log_snr(sigma_next) - lam
    r = (_log_snr(sigma_prev) - lam) / h
    d1 = (m_prev - m0) / r
    return ratio * x + c * (m0 + 0.5 * d1)  # ρ = 1/2 for order 2 with bh2, as diffusers


def _unipc_correct(
    x: torch.Tensor,
    m0: torch.Tensor,
    m_new: torch.Tensor,
    sigma: float,
    sigma_next: float,
    prev: tuple[float, torch.Tensor] | None = None,
) -> torch.Tensor:
    """UniC: redo the step from x at `sigma` using `m_new`, the data estimate at `sigma_next`.

    Without `prev` (after a first-order predictor) this is the trapezoid on data estimates; with
    `prev = (sigma_prev, m_prev)` it solves the 2×2 UniC system for ρ, as diffusers' order-2 UniC.
    """
    ratio = sigma_next / sigma
    c = (1.0 - sigma_next) - (1.0 - sigma) * ratio
    if prev is None:
        return ratio * x + c * (m0 + 0.5 * (m_new - m0))
    sigma_prev, m_prev = prev
    lam = _log_snr(sigma)
    h = _log_snr(sigma_next) - lam
    r = (_log_snr(sigma_prev) - lam) / h
    hh = -h
    b_h = math.expm1(hh)
    phi = b_h / hh - 1.0  # the φ-series terms of the UniC system (diffusers' `h_phi_k`)
    b1 = phi / b_h
    phi = phi / hh - 0.5
    b2 = 2.0 * phi / b_h
    # Solve [[1, 1], [r, 1]]·[ρ0, ρ1] = [b1, b2].
    rho0 = (b1 - b2) / (1.0 - r)
    rho1 = b1 - rho0
    d1 = (m_prev - m0) / r
    return ratio * x + c * (m0 + rho0 * d1 + rho1 * (m_new - m0))


@torch.no_grad()
def sample_unipc(
    model_fn: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    *,
    callback: Callback | None = None,
    should_stop: ShouldStop | None = None,
) -> torch.Tensor:
    """UniPC multistep (order 2, bh2, data prediction, with the UniC corrector): one call per step.

    Order 1 on the first and last step (diffusers' `lower_order_final`), order 2 between. The model
    is called on the predicted sample; its output then corrects that sample (UniC) at no extra
    cost before the next prediction. So the `x` a callback sees is the predicted sample, which the
    next step corrects; the last step is not corrected and lands on the data estimate at σ = 0.
    """
    if sigmas.ndim == 2:
        return _sample_unipc_frames(model_fn, x, sigmas, callback, should_stop)
    s, s_dev = _prepare(x, sigmas)
    n = len(s) - 1
    last_x = None  # sample the previous step started from (after its correction)
    history: list[tuple[float, torch.Tensor]] = []  # (σ, data estimate), the last two steps
    last_order = 1
    for i in range(n):
        _check_stop(should_stop)
        sigma, sigma_next = s[i], s[i + 1]
        v = model_fn(x, s_dev[i]).to(x.dtype)
        denoised = x - sigma * v
        if last_x is not None:  # UniC: correct the sample this call was made on
            sigma_last, m_last = history[-1]
            prev = history[-2] if last_order == 2 else None
            x = _unipc_correct(last_x, m_last, denoised, sigma_last, sigma, prev)
        history = [*history[-1:], (sigma, denoised)]
        order = 1 if i == 0 or i == n - 1 or sigma_next == 0 else 2
        last_x = x
        x = _unipc_predict(x, denoised, sigma, sigma_next, history[0] if order == 2 else None)
        last_order = order
        _report(callback, i, n, sigma, sigma_next, x, denoised)
    return x


def _sample_euler_frames(
    model_fn: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback | None,
    should_stop: ShouldStop | None,
) -> torch.Tensor:
    s, s_dev = _prepare_frames(x, sigmas)
    n = s.shape[0] - 1
    for i in range(n):
        _check_stop(should_stop)
        v = model_fn(x, s_dev[i]).to(x.dtype)
        denoised = x - _per_frame(s[i], x) * v
        x = x + _per_frame(s[i + 1] - s[i], x) * v
        _report(callback, i, n, float(s[i].max()), float(s[i + 1].max()), x, denoised)
    return x


# Per-frame UniPC: the same updates with a coefficient per latent frame (float64 tensors `[T]`). A frame
# whose σ stays put in a step has ratio 1 and c = 0, so it is left as it is; order 2 (predictor and
# corrector) is used only where the frame also moved in the step before, as the shared schedule's first
# step is order 1.


def _log_snr_frames(sigma: torch.Tensor) -> torch.Tensor:
    sigma = sigma.clamp(1e-12, _SIGMA_LOG_MAX)
    return torch.log1p(-sigma) - torch.log(sigma)


def _first_order_frames(sigma: torch.Tensor, sigma_next: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(ratio, c) of `x_next = ratio·x + c·m0` per frame; ratio 1 and c 0 where σ does not change."""
    moves = sigma != sigma_next
    ratio = torch.where(moves, sigma_next / torch.where(sigma > 0, sigma, 1.0), 1.0)
    c = torch.where(moves, (1.0 - sigma_next) - (1.0 - sigma) * ratio, 0.0)
    return ratio, c


def _second_order_terms(
    sigma_prev: torch.Tensor, sigma: torch.Tensor, sigma_next: torch.Tensor, valid: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(r, h) per frame, with harmless stand-ins where order 2 is not `valid` (they are not used there)."""
    sigma_prev = torch.where(valid, sigma_prev, 0.75)
    sigma = torch.where(valid, sigma, 0.5)
    sigma_next = torch.where(valid, sigma_next, 0.25)
    lam = _log_snr_frames(sigma)
    h = _log_snr_frames(sigma_next) - lam
    return (_log_snr_frames(sigma_prev) - lam) / h, h


def _unipc_predict_frames(x, m0, sigma, sigma_next, prev, order2):
    ratio, c = _first_order_frames(sigma, sigma_next)
    if prev is None or not bool(order2.any()):
        return _per_frame(ratio, x) * x + _per_frame(c, x) * m0
    sigma_prev, m_prev = prev
    r, _ = _second_order_terms(sigma_prev, sigma, sigma_next, order2)
    weight = torch.where(order2, 0.5 / r, 0.0)  # ρ = 1/2 on d1 = (m_prev − m0) / r
    return _per_frame(ratio, x) * x + _per_frame(c, x) * (m0 + _per_frame(weight, x) * (m_prev - m0))


def _unipc_correct_frames(x, m0, m_new, sigma, sigma_next, prev, order2):
    ratio, c = _first_order_frames(sigma, sigma_next)
    rho_prev = torch.zeros_like(sigma)  # weight on m_prev − m0
    rho_new = torch.full_like(sigma, 0.5)  # weight on m_new − m0 (trapezoid without order 2)
    if prev is not None and bool(order2.any()):
        sigma_prev, m_prev = prev
        r, h = _second_order_terms(sigma_prev, sigma, sigma_next, order2)
        hh = -h
        b_h = torch.expm1(hh)
        phi = b_h / hh - 1.0
        b1 = phi / b_h
        b2 = 2.0 * (phi / hh - 0.5) / b_h
        rho0 = (b1 - b2) / (1.0 - r)
        rho_prev = torch.where(order2, rho0 / r, 0.0)
        rho_new = torch.where(order2, b1 - rho0, 0.5)
    else:
        m_prev = m0
    update = m0 + _per_frame(rho_prev, x) * (m_prev - m0) + _per_frame(rho_new, x) * (m_new - m0)
    return _per_frame(ratio, x) * x + _per_frame(c, x) * update


def _sample_unipc_frames(
    model_fn: ModelFn,
    x: torch.Tensor,
    sigmas: torch.Tensor,
    callback: Callback | None,
    should_stop: ShouldStop | None,
) -> torch.Tensor:
    s, s_dev = _prepare_frames(x, sigmas)
    n = s.shape[0] - 1
    last_x = None
    history: list[tuple[torch.Tensor, torch.Tensor]] = []  # (σ [T], data estimate), the last two steps
    last_order2 = torch.zeros(s.shape[1], dtype=torch.bool)
    for i in range(n):
        _check_stop(should_stop)
        sigma, sigma_next = s[i], s[i + 1]
        v = model_fn(x, s_dev[i]).to(x.dtype)
        denoised = x - _per_frame(sigma, x) * v
        if last_x is not None:  # UniC on the frames that moved in the last step
            sigma_last, m_last = history[-1]
            prev = history[-2] if len(history) == 2 else None
            x = _unipc_correct_frames(last_x, m_last, denoised, sigma_last, sigma, prev, last_order2)
        history = [*history[-1:], (sigma, denoised)]
        moved_before = history[0][0] > sigma if len(history) == 2 else torch.zeros_like(last_order2)
        order2 = moved_before & (sigma_next > 0) & (sigma > sigma_next) & (i < n - 1)
        last_x = x
        x = _unipc_predict_frames(
            x, denoised, sigma, sigma_next, history[0] if len(history) == 2 else None, order2
        )
        last_order2 = order2
        _report(callback, i, n, float(sigma.max()), float(sigma_next.max()), x, denoised)
    return x


SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {"euler": sample_euler, "unipc": sample_unipc}


def get_sampler(name: str) -> Callable[..., torch.Tensor]:
    """The solver registered under `name` ("euler", "unipc")."""
    try:
        return SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}") from None
