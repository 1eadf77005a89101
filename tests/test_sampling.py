"""Tests for the rectified-flow schedules and solvers in `engine.sampling` (CPU, analytic models)."""

from __future__ import annotations

import math

import pytest
import torch

from engine.errors import GenerationCancelled
from engine.sampling import SAMPLERS, flow_sigmas, get_sampler, sample_euler, sample_unipc, shift_sigmas
from engine.sampling.guidance import guided_denoiser
from engine.sampling.schedules import frame_lagged_sigmas, frame_lags

# --- schedules -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shift", [1.0, 3.0, 5.0, 16.0])
@pytest.mark.parametrize("sigma_max", [1.0, 0.999, 0.6])
def test_flow_sigmas_endpoints_and_monotonic(shift: float, sigma_max: float) -> None:
    sigmas = flow_sigmas(30, shift=shift, sigma_max=sigma_max)
    assert sigmas.dtype == torch.float32 and sigmas.shape == (31,)
    expected_first = shift * sigma_max / (1 + (shift - 1) * sigma_max)
    assert sigmas[0].item() == pytest.approx(expected_first, abs=1e-7)
    assert sigmas[-1].item() == 0.0
    assert bool((sigmas[1:] < sigmas[:-1]).all())


def test_shift_formula_values() -> None:
    got = shift_sigmas(torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]), 3.0)
    # 3σ / (1 + 2σ): 0, 0.75/1.5, 1.5/2, 2.25/2.5, 1
    assert torch.allclose(got, torch.tensor([0.0, 0.5, 0.75, 0.9, 1.0]), atol=1e-7)
    assert shift_sigmas([0.5], 5.0).item() == pytest.approx(2.5 / 3.0, abs=1e-7)
    assert shift_sigmas([0.5], 0.5).item() == pytest.approx(0.25 / 0.75, abs=1e-7)
    # Wan example in the notes: s = 5, σ = 0.999 → 0.9998
    assert shift_sigmas([0.999], 5.0).item() == pytest.approx(0.9998, abs=1e-4)


def test_shift_one_is_linspace() -> None:
    assert torch.allclose(flow_sigmas(10), torch.linspace(1, 0, 11), atol=1e-7)
    assert torch.allclose(flow_sigmas(7, sigma_max=0.8), torch.linspace(0.8, 0, 8), atol=1e-7)


def test_bigger_shift_keeps_more_steps_at_high_sigma() -> None:
    counts = [int((flow_sigmas(50, shift=s) > 0.5).sum()) for s in (1.0, 3.0, 8.0)]
    assert counts[0] < counts[1] < counts[2]
    assert bool((flow_sigmas(50, shift=3.0) >= flow_sigmas(50, shift=1.0)).all())


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": 0},
        {"steps": -3},
        {"steps": 2.5},
        {"steps": 10, "shift": 0.0},
        {"steps": 10, "shift": -1.0},
        {"steps": 10, "sigma_max": 0.0},
        {"steps": 10, "sigma_max": 1.5},
    ],
)
def test_flow_sigmas_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        flow_sigmas(**kwargs)


def test_shift_sigmas_rejects_bad_shift() -> None:
    with pytest.raises(ValueError):
        shift_sigmas(torch.tensor([0.5]), 0.0)


# --- analytic velocity fields ----------------------------------------------------------------------


def gaussian_flow(mu: float, s: float):
    """Exact velocity for data x0 ~ N(mu, s²) per element, independent of the noise.

    Along the flow `x_σ = (1 − σ)·mu + std(σ)·z` with `std(σ) = sqrt((1 − σ)²s² + σ²)`, so the ODE
    sends noise z at σ = 1 to `mu + s·z` at σ = 0, and `v = −mu + std'(σ)·(x − (1 − σ)·mu)/std(σ)`.
    """

    def std(sigma: float) -> float:
        return math.sqrt((1 - sigma) ** 2 * s * s + sigma * sigma)

    def model_fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        assert sigma.ndim == 0 and sigma.is_floating_point()
        sg = float(sigma)
        d_std = (sg - (1 - sg) * s * s) / std(sg)
        return -mu + d_std * (x - (1 - sg) * mu) / std(sg)

    return model_fn


def noise(shape=(1, 4, 3, 5, 6), dtype=torch.float64) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype)


def test_euler_200_steps_reaches_exact_map() -> None:
    z = noise()
    for shift in (1.0, 3.0):
        out = sample_euler(gaussian_flow(0.3, 1.0), z, flow_sigmas(200, shift=shift))
        assert (out - (0.3 + 1.0 * z)).abs().max().item() < 0.03


@pytest.mark.parametrize(("mu", "s", "shift"), [(0.3, 1.0, 1.0), (0.3, 1.0, 3.0), (0.5, 0.8, 3.0)])
def test_unipc_20_steps_much_more_accurate_than_euler_20(mu: float, s: float, shift: float) -> None:
    # float64 so that only the solver error is measured.
    z = noise()
    model_fn, exact, sigmas = gaussian_flow(mu, s), mu + s * z, flow_sigmas(20, shift=shift)
    err_euler = (sample_euler(model_fn, z, sigmas) - exact).abs().max().item()
    err_unipc = (sample_unipc(model_fn, z, sigmas) - exact).abs().max().item()
    assert err_unipc < 0.05
    assert err_euler / err_unipc > 5.0


def test_unipc_is_second_order() -> None:
    # 4× the steps: a second-order solver cuts the error ~16×, a first-order one ~4×.
    z, model_fn = noise(), gaussian_flow(0.7, 0.4)
    err = [
        (sample_unipc(model_fn, z, flow_sigmas(n)) - (0.7 + 0.4 * z)).abs().max().item() for n in (80, 320)
    ]
    assert err[0] / err[1] > 10.0


def test_unipc_matches_diffusers_reference() -> None:
    # Values from diffusers 0.42 UniPCMultistepScheduler(prediction_type="flow_prediction",
    # use_flow_sigmas=True, flow_shift=1, solver_order=2, solver_type="bh2", lower_order_final=True)
    # fed the same sigmas (flow_sigmas(8, shift=3, sigma_max=0.95)[:-1]) and the same model.
    z = torch.linspace(-2, 2, 5, dtype=torch.float64)[None]
    out = sample_unipc(gaussian_flow(0.3, 1.0), z, flow_sigmas(8, shift=3.0, sigma_max=0.95))
    reference = [
        -1.6100133944322066,
        -0.6574701621303776,
        0.29507307017145123,
        1.2476163024732803,
        2.2001595347751093,
    ]
    assert torch.allclose(out, torch.tensor([reference], dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_delta_target_lands_on_it(sampler: str) -> None:
    c = torch.tensor([0.5, -1.25, 2.0], dtype=torch.float64).view(1, 3, 1, 1, 1)

    def model_fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        return (x - c) / float(sigma)  # all data at c: v = ε − c = (x − c)/σ

    out = get_sampler(sampler)(model_fn, noise((1, 3, 2, 4, 4)), flow_sigmas(12, shift=3.0))
    assert torch.allclose(out, c.expand_as(out), atol=1e-10)


# --- hooks -----------------------------------------------------------------------------------------


class CountingModel:
    def __init__(self) -> None:
        self.calls: list[tuple[torch.Tensor, float, torch.Tensor]] = []

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        v = 0.3 * x + torch.sin(x) - 0.2 * float(sigma)
        self.calls.append((x.clone(), float(sigma), v.clone()))
        return v


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
@pytest.mark.parametrize("stop_before", [0, 1, 3])
def test_should_stop_cancels_before_the_next_step(sampler: str, stop_before: int) -> None:
    model, asked = CountingModel(), []

    def should_stop() -> bool:
        asked.append(True)
        return len(asked) > stop_before

    with pytest.raises(GenerationCancelled):
        get_sampler(sampler)(model, noise(dtype=torch.float32), flow_sigmas(6), should_stop=should_stop)
    assert len(model.calls) == stop_before
    assert len(asked) == stop_before + 1


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_callback_reports_every_step(sampler: str) -> None:
    model, events = CountingModel(), []
    sigmas = flow_sigmas(5, shift=3.0)
    out = get_sampler(sampler)(model, noise(dtype=torch.float32), sigmas, callback=events.append)
    assert [e["i"] for e in events] == [0, 1, 2, 3, 4]
    for e, (x_in, sigma, v) in zip(events, model.calls, strict=True):
        assert set(e) == {"i", "total", "sigma", "sigma_next", "x", "denoised"}
        assert e["total"] == 5
        assert e["sigma"] == pytest.approx(sigmas[e["i"]].item()) == pytest.approx(sigma)
        assert e["sigma_next"] == pytest.approx(sigmas[e["i"] + 1].item())
        assert torch.allclose(e["denoised"], x_in - sigma * v)
    assert torch.equal(events[-1]["x"], out)


def test_unknown_sampler_lists_names() -> None:
    with pytest.raises(ValueError, match=r"euler.*unipc"):
        get_sampler("dpm++")
    assert get_sampler("unipc") is sample_unipc


# --- robustness ------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [1, 2, 3, 30])
def test_unipc_no_nan_from_pure_noise(steps: int) -> None:
    z = noise(dtype=torch.float32)
    for model_fn in (gaussian_flow(0.3, 1.0), CountingModel()):
        out = sample_unipc(model_fn, z, flow_sigmas(steps, shift=5.0, sigma_max=1.0))
        assert out.shape == (1, 4, 3, 5, 6) and out.dtype == torch.float32
        assert bool(torch.isfinite(out).all())


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_deterministic_and_keeps_shape_and_dtype(sampler: str) -> None:
    sample = get_sampler(sampler)
    sigmas = flow_sigmas(8, shift=3.0)
    for dtype in (torch.float32, torch.bfloat16):
        z = noise(dtype=dtype)
        a, b = sample(CountingModel(), z, sigmas), sample(CountingModel(), z.clone(), sigmas)
        assert a.shape == z.shape and a.dtype == dtype
        assert torch.equal(a, b)
        assert bool(torch.isfinite(a).all())


# --- guidance --------------------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False])
def test_guidance_stops_at_its_floor_and_then_costs_one_forward(batched: bool) -> None:
    calls: list[int] = []

    def denoise(x: torch.Tensor, sigmas: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        calls.append(len(x))
        return x + text.mean(dim=(1, 2)).view(-1, 1, 1, 1, 1)  # v_cond = x + 1, v_uncond = x

    cond, uncond = torch.ones(1, 3, 4), torch.zeros(1, 3, 4)
    guided = guided_denoiser(denoise, cond, uncond, scale=4.0, batched=batched, floor_sigma=0.4)
    x = torch.zeros(1, 2, 3, 2, 2)
    noisy = guided(x, torch.tensor([[0.0, 0.9, 0.9]]))  # known frame at 0: the noisiest frame decides
    forwards_guided = list(calls)
    calls.clear()
    late = guided(x, torch.tensor([[0.0, 0.3, 0.3]]))
    assert torch.allclose(noisy, torch.full_like(x, 4.0))  # uncond + 4·(cond − uncond)
    assert torch.allclose(late, torch.ones_like(x))  # the prompt-only prediction
    assert sum(forwards_guided) == 2 and calls == [1]
    always = guided_denoiser(denoise, cond, uncond, scale=4.0, batched=batched)
    assert torch.allclose(always(x, torch.tensor([[0.1, 0.1, 0.1]])), torch.full_like(x, 4.0))


# --- per-frame (lagged) schedules ------------------------------------------------------------------


def test_frame_lags_start_beside_what_is_known() -> None:
    none = torch.zeros(5, dtype=torch.bool)
    assert frame_lags(none, 2).tolist() == [0, 2, 4, 6, 8]  # text → video: frame 0 first
    forward = torch.tensor([True, True, False, False, False])
    assert frame_lags(forward, 1).tolist() == [0, 0, 0, 1, 2]  # beside the context first
    assert frame_lags(forward.flip(0), 1).tolist() == [2, 1, 0, 0, 0]  # extend backward: mirrored
    bridge = torch.tensor([True, False, False, False, False, True])
    assert frame_lags(bridge, 3).tolist() == [0, 0, 3, 3, 0, 0]  # both ends first, the middle last
    assert frame_lags(none, 0).tolist() == [0] * 5
    for bad in (-1, 0.5):
        with pytest.raises(ValueError, match="whole number"):
            frame_lags(none, bad)


def test_lagged_schedule_delays_each_frame_by_its_lag() -> None:
    base = flow_sigmas(6, shift=2.0)
    schedule = frame_lagged_sigmas(base, torch.tensor([0, 1, 3]))
    assert schedule.shape == (10, 3) and schedule.dtype == torch.float32
    assert torch.equal(schedule[:7, 0], base) and bool((schedule[7:, 0] == 0).all())
    assert schedule[0, 1] == 1 and torch.equal(schedule[1:8, 1], base)
    assert bool((schedule[:4, 2] == 1).all()) and torch.equal(schedule[3:, 2], base)
    assert bool((schedule[-1] == 0).all()) and bool((schedule[1:] <= schedule[:-1]).all())
    assert torch.equal(
        frame_lagged_sigmas(base, torch.zeros(4, dtype=torch.long)), base[:, None].expand(-1, 4)
    )
    with pytest.raises(ValueError, match="whole steps"):
        frame_lagged_sigmas(base, torch.tensor([0.0, 0.5]))


def frame_gaussian_flow(mu: float, s: float):
    """`gaussian_flow` with its own σ per latent frame (dim 2): every frame follows its own ODE."""

    def model_fn(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        assert sigma.shape == (x.shape[2],)
        sg = sigma.to(x).view(1, 1, -1, 1, 1)
        std = torch.sqrt((1 - sg) ** 2 * s * s + sg * sg)
        return -mu + (sg - (1 - sg) * s * s) / std * (x - (1 - sg) * mu) / std

    return model_fn


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_same_schedule_for_every_frame_gives_the_shared_result(sampler: str) -> None:
    z, sigmas = noise(), flow_sigmas(12, shift=3.0)
    shared = get_sampler(sampler)(gaussian_flow(0.3, 0.8), z, sigmas)
    per_frame = get_sampler(sampler)(frame_gaussian_flow(0.3, 0.8), z, sigmas[:, None].expand(-1, 3))
    assert torch.allclose(per_frame, shared, atol=1e-12)


def test_lagged_frames_each_reach_the_exact_map_with_unipc_still_second_order() -> None:
    z, model_fn = noise(), frame_gaussian_flow(0.5, 0.8)
    schedule = frame_lagged_sigmas(flow_sigmas(20, shift=3.0), torch.tensor([0, 3, 7]))
    err_euler = (sample_euler(model_fn, z, schedule) - (0.5 + 0.8 * z)).abs().max().item()
    err_unipc = (sample_unipc(model_fn, z, schedule) - (0.5 + 0.8 * z)).abs().max().item()
    assert err_unipc < 0.05
    assert err_euler / err_unipc > 5.0


@pytest.mark.parametrize("sampler", sorted(SAMPLERS))
def test_per_frame_schedule_must_have_a_column_per_latent_frame(sampler: str) -> None:
    with pytest.raises(ValueError, match="one column per latent frame"):
        get_sampler(sampler)(frame_gaussian_flow(0.0, 1.0), noise(), torch.ones(5, 4))
