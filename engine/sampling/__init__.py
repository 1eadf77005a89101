"""Rectified-flow sampling: noise schedules and ODE solvers (`x_σ = (1 − σ)·x0 + σ·ε`, `v = ε − x0`)."""

from engine.sampling.schedules import flow_sigmas, shift_sigmas
from engine.sampling.solvers import SAMPLERS, ModelFn, get_sampler, sample_euler, sample_unipc

__all__ = [
    "SAMPLERS",
    "ModelFn",
    "flow_sigmas",
    "get_sampler",
    "sample_euler",
    "sample_unipc",
    "shift_sigmas",
]
