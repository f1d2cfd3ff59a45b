"""Time grids and noise schedules, computed once before the solver loop."""

from __future__ import annotations

import numpy as np

from .._schema import MAX_STEPS


def time_grid(steps: int) -> np.ndarray:
    """``tau`` of shape ``(steps + 1,)``, float64, from 1 (noise) down to 0 (data), linear."""
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if steps > MAX_STEPS:
        raise ValueError(f"steps={steps} is far beyond what a few-step sampler needs; "
                         f"use <= {MAX_STEPS}")
    return 1.0 - np.arange(steps + 1, dtype=np.float64) / steps


def beta(t: float | np.ndarray, beta_min: float, beta_max: float) -> float | np.ndarray:
    """Grad-TTS linear noise rate ``beta(t) = beta_min + (beta_max - beta_min) * t``."""
    return beta_min + (beta_max - beta_min) * t
