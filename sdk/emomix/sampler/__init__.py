"""The mixed-noise sampler reference (numpy): weights, schedules, solvers, injected noise.

See docs/sampler.md for the contract that this module and the C++ runtime both implement.
"""

from __future__ import annotations

from .loop import SOLVERS, Denoiser, SamplerSpec, make_noise, noise_streams, sample
from .rng import line_noise, normal, normal_like
from .schedules import beta, time_grid
from .weights import (
    ALPHA_MAX,
    K_MAX,
    K_MIN,
    PRESETS,
    active_conditions,
    blend,
    emomix,
    emomix_frames,
    emomix_phases,
    intensity,
    keyframes_to_frames,
    trajectory,
    validate_weights,
)

__all__ = [
    "ALPHA_MAX", "K_MAX", "K_MIN", "PRESETS", "SOLVERS", "Denoiser", "SamplerSpec",
    "active_conditions", "beta", "blend", "emomix", "emomix_frames", "emomix_phases",
    "intensity", "keyframes_to_frames",
    "line_noise", "make_noise", "noise_streams", "normal", "normal_like", "sample", "time_grid",
    "trajectory",
    "validate_weights",
]
