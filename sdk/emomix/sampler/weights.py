"""Weight matrices ``W`` of shape ``(N, M)`` or ``(N, M, F)`` and the presets that build them.

Weights are data: the sampler never decides how emotions mix, it reads ``W[k, i, (f)]``. The
presets below turn a user's mix into ``W`` (docs/sampler.md, "Presets").
"""

from __future__ import annotations

import numpy as np

# The schedules a voice or a call may name (``intensity`` is applied on top of either): the voice
# schema's ``sampler.presets`` (emomix/voice/schema.json), shared with the native runtime.
from .._schema import PRESETS as PRESETS

#: Largest intensity accepted by :func:`intensity`; beyond it the audio degrades (see docs).
ALPHA_MAX = 1.5
#: Tolerance on "the weights of a step sum to 1".
SUM_TOLERANCE = 1e-4
#: The paper's schedule boundaries on the noise-level grid: the defaults of a voice whose
#: ``voice.json`` ``sampler`` section omits ``k_max``/``k_min``.
K_MAX = 0.6
K_MIN = 0.2
#: Slack when classifying ``tau`` against the boundaries (``1 - 8/10`` is not exactly 0.2).
BOUNDARY_EPS = 1e-9


def _as_mix(weights: np.ndarray | list[float], name: str = "weights") -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D list of per-condition weights, "
                         f"got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} contains NaN or inf: {w.tolist()}")
    if np.any(w < 0):
        raise ValueError(f"{name} must be >= 0, got {w.tolist()}; use the intensity preset to "
                         "exaggerate an emotion")
    total = w.sum()
    if total <= 0:
        raise ValueError(f"{name} are all zero; give at least one condition a positive weight")
    return w / total


def validate_weights(W: np.ndarray) -> np.ndarray:
    """Check ``W`` against the sampler's rules and return it as float32.

    Raises ``ValueError`` naming the step (and frame) at fault when an entry is not finite or a
    step's weights do not sum to 1.
    """
    W = np.asarray(W)
    if W.ndim not in (2, 3):
        raise ValueError(f"W must have shape (N, M) or (N, M, F), got {W.shape}")
    if W.shape[0] < 1 or W.shape[1] < 1 or (W.ndim == 3 and W.shape[2] < 1):
        raise ValueError(f"W has an empty dimension: {W.shape}")
    bad = ~np.isfinite(W)
    if bad.any():
        k, i, *f = np.argwhere(bad)[0]
        where = f"step {k}, condition {i}" + (f", frame {f[0]}" if f else "")
        raise ValueError(f"W is not finite at {where}; weights must be real numbers")
    sums = W.astype(np.float64).sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    if off.any():
        k, *f = np.argwhere(off)[0]
        where = f"step {k}" + (f", frame {f[0]}" if f else "")
        raise ValueError(f"weights at {where} sum to {float(sums[(k, *f)]):.6f}, not 1; "
                         "normalise each step's weights")
    return W.astype(np.float32)


def active_conditions(W: np.ndarray, step: int) -> np.ndarray:
    """Ascending indices of the conditions with any non-zero weight at ``step``."""
    row = W[step]
    nonzero = row != 0 if row.ndim == 1 else np.any(row != 0, axis=1)
    return np.flatnonzero(nonzero)


def blend(weights: np.ndarray | list[float], steps: int) -> np.ndarray:
    """The weighted mix at every step: ``W`` of shape ``(steps, M)``."""
    w = _as_mix(weights)
    return np.tile(w.astype(np.float32), (steps, 1))


def check_window(k_max: float, k_min: float) -> None:
    """Raise ``ValueError`` unless ``0 <= k_min <= k_max <= 1`` (the EmoMix mixing window)."""
    if not (np.isfinite(k_max) and np.isfinite(k_min) and 0.0 <= k_min <= k_max <= 1.0):
        raise ValueError(f"need 0 <= k_min <= k_max <= 1, got k_min={k_min}, k_max={k_max}")


def emomix_phases(tau: np.ndarray, k_max: float = K_MAX, k_min: float = K_MIN) -> np.ndarray:
    """The part of the EmoMix schedule each step is in, from the time grid ``tau (N + 1,)``.

    Returns ``(N,)`` int: 0 while ``tau[k] > k_max`` (the base condition alone), 1 while
    ``k_min <= tau[k] <= k_max`` (the weighted mix), 2 below ``k_min`` (the mixed-in conditions).
    The boundaries are inclusive with a slack of :data:`BOUNDARY_EPS`.
    """
    check_window(k_max, k_min)
    t = np.asarray(tau, dtype=np.float64)[:-1]
    return np.where(t > k_max + BOUNDARY_EPS, 0, np.where(t >= k_min - BOUNDARY_EPS, 1, 2))


def emomix(
    weights: np.ndarray | list[float],
    tau: np.ndarray,
    base: int | None = None,
    k_max: float = K_MAX,
    k_min: float = K_MIN,
) -> np.ndarray:
    """The EmoMix schedule (Tang et al. 2023): base alone, then the mix, then the mixed-in ones.

    Step ``k`` is classified by ``tau[k]`` (:func:`emomix_phases`): above ``k_max`` only the
    base condition; between ``k_min`` and ``k_max`` (inclusive) the weighted mix; below ``k_min``
    the non-base conditions renormalised (or the base when there are none). The line pipelines
    pass a voice's own window (``SamplerSpec.k_max``/``k_min``, through
    ``emomix.synthesis.schedule_weights``). Returns ``W`` of shape ``(len(tau) - 1, M)``.
    """
    w = _as_mix(weights)
    phases = emomix_phases(tau, k_max, k_min)
    m = w.size
    base = int(np.argmax(w)) if base is None else int(base)
    if not 0 <= base < m:
        raise ValueError(f"base condition {base} is out of range for {m} conditions")
    only_base = np.zeros(m)
    only_base[base] = 1.0
    rest = w.copy()
    rest[base] = 0.0
    mixed_in = rest / rest.sum() if rest.sum() > 0 else only_base
    return np.stack((only_base, w, mixed_in))[phases].astype(np.float32)


def emomix_frames(
    per_frame: np.ndarray, tau: np.ndarray, k_max: float = K_MAX, k_min: float = K_MIN
) -> np.ndarray:
    """:func:`emomix` frame by frame: per-frame mixes ``(M, F)`` (each column non-negative,
    summing to 1) → ``W`` float64 of shape ``(len(tau) - 1, M, F)``; each frame's base is its
    largest weight."""
    w = np.asarray(per_frame, np.float64)
    if w.ndim != 2:
        raise ValueError(f"per-frame weights must have shape (M, F), got {w.shape}")
    phases = emomix_phases(tau, k_max, k_min)
    cols = np.arange(w.shape[1])
    base = np.argmax(w, axis=0)
    only_base = np.zeros_like(w)
    only_base[base, cols] = 1.0
    rest = w.copy()
    rest[base, cols] = 0.0
    rest_sum = rest.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed_in = np.where(rest_sum > 0, rest / np.where(rest_sum > 0, rest_sum, 1.0), only_base)
    return np.stack((only_base, w, mixed_in))[phases]


def intensity(neutral: int, target: int, alpha: float, conditions: int, steps: int) -> np.ndarray:
    """``(1 - alpha, alpha)`` on the neutral and target conditions at every step.

    ``alpha`` is clamped to ``[0, ALPHA_MAX]``; above 1 it extrapolates away from neutral (an
    exaggerated emotion) with a negative neutral weight.
    """
    if not np.isfinite(alpha):
        raise ValueError(f"intensity must be a finite number, got {alpha}")
    if neutral == target:
        raise ValueError("neutral and target must be different conditions")
    for name, idx in (("neutral", neutral), ("target", target)):
        if not 0 <= idx < conditions:
            raise ValueError(f"{name} condition {idx} is out of range for {conditions} conditions")
    a = float(np.clip(alpha, 0.0, ALPHA_MAX))
    w = np.zeros(conditions, dtype=np.float32)
    w[neutral] = 1.0 - a
    w[target] = a
    return np.tile(w, (steps, 1))


def keyframes_to_frames(times: np.ndarray, values: np.ndarray, frames: int) -> np.ndarray:
    """Interpolate keyframed weights to ``(M, frames)``.

    ``times`` (K,) are positions in ``[0, 1]`` along the line (ascending); ``values`` (K, M) the
    per-condition weights at those positions. Each frame is normalised to sum to 1.
    """
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    if times.ndim != 1 or values.ndim != 2 or values.shape[0] != times.size or times.size == 0:
        raise ValueError("keyframes need times of shape (K,) and values of shape (K, M)")
    if np.any(np.diff(times) < 0) or times[0] < 0 or times[-1] > 1:
        raise ValueError("keyframe times must be ascending within [0, 1]")
    for row in values:
        _as_mix(row, "keyframe weights")
    pos = (np.arange(frames) + 0.5) / frames
    out = np.stack([np.interp(pos, times, values[:, i]) for i in range(values.shape[1])])
    return out / out.sum(axis=0, keepdims=True)


def trajectory(per_frame: np.ndarray, steps: int) -> np.ndarray:
    """Per-frame weights ``(M, F)`` used at every step: ``W`` of shape ``(steps, M, F)``."""
    wf = np.asarray(per_frame, dtype=np.float64)
    if wf.ndim != 2:
        raise ValueError(f"per-frame weights must have shape (M, F), got {wf.shape}")
    if not np.all(np.isfinite(wf)) or np.any(wf < 0):
        raise ValueError("per-frame weights must be finite and >= 0")
    sums = wf.sum(axis=0)
    if np.any(sums <= 0):
        f = int(np.flatnonzero(sums <= 0)[0])
        raise ValueError(f"per-frame weights are all zero at frame {f}")
    wf = wf / sums
    return np.broadcast_to(wf.astype(np.float32), (steps, *wf.shape)).copy()
