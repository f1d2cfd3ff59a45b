"""The few-step mixed-noise sampler, reference implementation (numpy; the oracle for C++)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Solvers per parameterisation and the largest step count: the voice schema
# (emomix/voice/schema.json) holds them for every language.
from .._schema import MAX_STEPS, SOLVERS
from .rng import line_index, line_noise
from .schedules import beta, time_grid
from .weights import K_MAX, K_MIN, active_conditions, check_window, validate_weights

#: ``denoise(x_batch (B, C, F), t_batch (B,), cond_indices (B,)) -> prediction (B, C, F)``
Denoiser = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SamplerSpec:
    """The sampler settings of one call: parameterisation, solver, steps, noise and schedule.

    ``beta_min``/``beta_max`` are the ``score`` parameterisation's noise rate (a voice's model
    config ``beta_min``/``beta_max``; ``flow`` ignores them). ``k_max``/``k_min`` are where the
    ``emomix`` preset switches (a voice's ``sampler.k_max``/``k_min``); the solver loop does not
    read them, the code that builds ``W`` from a mix does. ``Voice.sampler_spec`` fills every
    field from the voice; the defaults here are the paper's and Grad-TTS's values.
    """

    parameterisation: str = "flow"
    solver: str = "euler"
    steps: int = 4
    temperature: float = 1.0
    beta_min: float = 0.05
    beta_max: float = 20.0
    k_max: float = K_MAX
    k_min: float = K_MIN

    def __post_init__(self) -> None:
        if self.parameterisation not in SOLVERS:
            raise ValueError(f"unknown parameterisation {self.parameterisation!r}; "
                             f"choose one of {sorted(SOLVERS)}")
        if self.solver not in SOLVERS[self.parameterisation]:
            raise ValueError(f"solver {self.solver!r} does not apply to "
                             f"{self.parameterisation!r}; choose one of "
                             f"{list(SOLVERS[self.parameterisation])}")
        if not isinstance(self.steps, (int, np.integer)) or not 1 <= self.steps <= MAX_STEPS:
            raise ValueError(f"steps must be an integer in 1..{MAX_STEPS}, got {self.steps!r}")
        if not (np.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be a positive number, got {self.temperature}")
        if self.parameterisation == "score" and not (
                np.isfinite(self.beta_min) and np.isfinite(self.beta_max)
                and 0 <= self.beta_min <= self.beta_max):
            raise ValueError("beta_min and beta_max must be finite with 0 <= beta_min <= "
                             f"beta_max, got beta_min={self.beta_min}, beta_max={self.beta_max}")
        check_window(self.k_max, self.k_min)

    @property
    def evaluations_per_step(self) -> int:
        return 2 if self.solver == "heun" else 1


def noise_streams(spec: SamplerSpec) -> int:
    """How many of a run's ``steps + 1`` noise planes the sampler reads: every one for the
    Euler–Maruyama solver, which injects noise at each step; only the initial sample's for the
    deterministic solvers."""
    return spec.steps + 1 if spec.solver == "em" else 1


def make_noise(seed: int, steps: int, shape: tuple[int, int],
               durations: np.ndarray | None = None) -> np.ndarray:
    """Noise for a whole run, ``(steps + 1, C, F)``: ``[0]`` initial, ``[k + 1]`` step ``k``;
    anchored to the line's phoneme ``durations`` when given (see :func:`.rng.line_noise`)."""
    index = line_index(shape[0], shape[1], durations)
    return np.stack([line_noise(seed, s, shape[0], shape[1], index=index)
                     for s in range(steps + 1)])


class _MixedPrediction:
    """Evaluates the active conditions of a step as one batch and mixes their predictions."""

    def __init__(self, denoise: Denoiser, W: np.ndarray):
        self.denoise = denoise
        self.W = W

    def __call__(self, x: np.ndarray, t: float, step: int) -> np.ndarray:
        active = active_conditions(self.W, step)
        batch = np.broadcast_to(x, (active.size, *x.shape)).astype(np.float32)
        t_batch = np.full(active.size, t, dtype=np.float32)
        pred = np.asarray(self.denoise(batch, t_batch, active), dtype=np.float32)
        if pred.shape != batch.shape:
            raise ValueError(f"denoiser returned shape {pred.shape}, expected {batch.shape}")
        w = self.W[step][active]  # (B,) or (B, F)
        w = w[:, None, None] if w.ndim == 1 else w[:, None, :]
        return np.sum(w * pred, axis=0, dtype=np.float32)


def sample(
    denoise: Denoiser,
    mu: np.ndarray,
    W: np.ndarray,
    spec: SamplerSpec,
    seed: int | None = None,
    noise: np.ndarray | None = None,
    durations: np.ndarray | None = None,
) -> np.ndarray:
    """Integrate from noise to a mel spectrogram, mixing conditions with ``W``.

    Args:
        denoise: the network callback (see :data:`Denoiser`); ``mu`` is bound into it.
        mu: ``(n_mels, frames)`` prior mean (used by the ``score`` parameterisation's updates).
        W: ``(steps, M)`` or ``(steps, M, frames)`` weights.
        spec: parameterisation, solver, steps, temperature.
        seed: draws the noise as in docs/sampler.md; or pass ``noise`` of shape
            ``(steps + 1, n_mels, frames)`` directly.
        durations: the line's phoneme lengths in frames (adding up to ``frames``); the seeded
            noise is anchored to them. Without them the line is one segment.

    Returns the ``(n_mels, frames)`` float32 sample at ``tau = 0``.
    """
    mu = np.asarray(mu, dtype=np.float32)
    if mu.ndim != 2 or mu.shape[1] < 1:
        raise ValueError(f"mu must have shape (n_mels, frames), got {mu.shape}")
    if not np.all(np.isfinite(mu)):
        raise ValueError("mu contains NaN or inf")
    W = validate_weights(W)
    n = spec.steps
    if W.shape[0] != n:
        raise ValueError(f"W has {W.shape[0]} steps but the sampler runs {n}")
    if W.ndim == 3 and W.shape[2] != mu.shape[1]:
        raise ValueError(f"per-frame W has {W.shape[2]} frames but mu has {mu.shape[1]}")
    if noise is None:
        if seed is None:
            raise ValueError("give either a seed or a noise array")
        noise = make_noise(seed, n, mu.shape, durations)
    elif noise.shape != (n + 1, *mu.shape):
        raise ValueError(f"noise must have shape {(n + 1, *mu.shape)}, got {noise.shape}")
    noise = np.asarray(noise, dtype=np.float32)

    tau = time_grid(n)
    predict = _MixedPrediction(denoise, W)
    if spec.parameterisation == "flow":
        x = (spec.temperature * noise[0]).astype(np.float32)
    else:
        x = (mu + noise[0] / spec.temperature).astype(np.float32)

    for k in range(n):
        t, t_next = float(tau[k]), float(tau[k + 1])
        h = np.float32(t - t_next)
        if spec.solver == "euler":
            x = x - h * predict(x, t, k)
        elif spec.solver == "heun":
            v1 = predict(x, t, k)
            v2 = predict(x - h * v1, t_next, k)
            x = x - h * np.float32(0.5) * (v1 + v2)
        else:
            b = np.float32(beta(t, spec.beta_min, spec.beta_max))
            s = predict(x, t, k)
            if spec.solver == "em":
                drift = np.float32(0.5) * (mu - x) - s
                x = x - h * b * drift + np.float32(np.sqrt(h * b)) * noise[k + 1]
            else:
                x = x - h * b * np.float32(0.5) * (mu - x - s)
        x = x.astype(np.float32)
    return x
