"""Pure measures of synthesized speech: mel-cepstral distortion and curve statistics.

The measures ``emomix eval`` (:mod:`emomix.evaluation`) reports, as functions of arrays: no
voice, backend or model is involved, and only numpy is needed.

- **MCD** (:func:`mel_cepstral_distortion`, dB) between two clips: cepstra
  (:func:`mel_cepstra`) are the DCT-II (orthonormal) of each frame's natural-log mel spectrum, in
  the voice's own analysis (``emomix.features.log_mel``), coefficients 1‥24 (energy ``c0``
  excluded); leading and trailing silence is trimmed, the two sequences are aligned by DTW
  (:func:`dtw_path`) and ``MCD = (10 / ln 10) · sqrt(2 · Σ_d (c_d − ĉ_d)²)`` is averaged over the
  aligned pairs. (SPTK's mel-cepstra would give different absolute values; the ratios between
  step counts are what the targets use.) :func:`sentence_identification` matches each synthesized
  sentence against every reference by MCD.
- **Curves**: :func:`spearman` (rank correlation of a curve with its weights),
  :func:`spearman_interval` (its bootstrap interval over the curve's sentences), and
  :func:`voiced_items` / :func:`voiced_curve` (F0 curves averaged over the sentences voiced
  enough at every weight, :data:`MIN_VOICED_S`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .features import log_mel

__all__ = [
    "cepstral_distortion",
    "log_mel_cepstra",
    "mel_cepstra",
    "mel_cepstral_distortion",
    "sentence_identification",
    "dtw_path",
    "spearman",
    "spearman_interval",
    "voiced_items",
    "voiced_curve",
    "MIN_VOICED_S",
]

#: A curve sentence whose synthesized clip has less voiced speech than this (seconds, YIN) at any
#: weight is left out of the curve's F0 statistics.
MIN_VOICED_S = 0.25

#: (10 / ln 10) · sqrt(2): the usual MCD scale for natural-log cepstra.
_MCD_SCALE = 10.0 / math.log(10.0) * math.sqrt(2.0)


def mel_cepstra(audio: np.ndarray, audio_cfg: Any, n_coeffs: int = 24) -> np.ndarray:
    """``(frames, n_coeffs)`` mel cepstra ``c1‥c_n`` of ``audio`` (see the module docstring)."""
    lm = log_mel(np.asarray(audio, np.float64), audio_cfg, normalise=False)
    return log_mel_cepstra(lm, n_coeffs)


def log_mel_cepstra(lm: np.ndarray, n_coeffs: int = 24) -> np.ndarray:
    """``(frames, n_coeffs)`` cepstra ``c1‥c_n`` of a natural-log mel spectrogram
    ``(n_mels, frames)``: its orthonormal DCT-II over the bands."""
    lm = np.asarray(lm, np.float64)
    m = lm.shape[0]
    if not 1 <= n_coeffs < m:
        raise ValueError(f"n_coeffs must be in [1, {m - 1}], got {n_coeffs}")
    k = np.arange(m)
    basis = np.cos(np.pi / m * (k[None, :] + 0.5) * k[:, None]) * math.sqrt(2.0 / m)
    basis[0] /= math.sqrt(2.0)
    return (basis[1:n_coeffs + 1] @ lm).T


def _trim_silence(audio: np.ndarray, sr: int, floor_db: float = -40.0) -> np.ndarray:
    """Drop leading/trailing 10-ms frames quieter than ``floor_db`` below the loudest one."""
    x = np.asarray(audio, np.float64)
    hop = max(1, sr // 100)
    n = len(x) // hop
    if n == 0:
        return x
    db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(db > db.max() + floor_db)
    return x[int(loud[0]) * hop:(int(loud[-1]) + 1) * hop]


def dtw_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic time warping of ``a (N, D)`` and ``b (M, D)`` (Euclidean cost, steps (1,0),
    (0,1), (1,1)); returns the aligned index arrays ``(i, j)`` from (0, 0) to (N−1, M−1)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"dtw_path needs two non-empty (frames, dims) arrays with the same "
                         f"dims, got {a.shape} and {b.shape}")
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(1, n + 1):
        row, prev = acc[i], acc[i - 1]
        c = cost[i - 1]
        diag_up = np.minimum(prev[:-1], prev[1:])  # min(acc[i-1, j-1], acc[i-1, j]) for j=1..m
        left = np.inf
        for j in range(m):
            left = c[j] + (diag_up[j] if diag_up[j] < left else left)
            row[j + 1] = left
    i, j = n, m
    path_i, path_j = [n - 1], [m - 1]
    while i > 1 or j > 1:
        choices = (acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])
        k = int(np.argmin(choices))
        if k == 0:
            i, j = i - 1, j - 1
        elif k == 1:
            i -= 1
        else:
            j -= 1
        path_i.append(i - 1)
        path_j.append(j - 1)
    return np.asarray(path_i[::-1]), np.asarray(path_j[::-1])


def mel_cepstral_distortion(synth: np.ndarray, reference: np.ndarray, audio_cfg: Any,
                            sample_rate: int) -> float:
    """DTW-aligned MCD in dB between two clips (leading/trailing silence trimmed)."""
    ca = mel_cepstra(_trim_silence(synth, sample_rate), audio_cfg)
    cb = mel_cepstra(_trim_silence(reference, sample_rate), audio_cfg)
    return cepstral_distortion(ca, cb)


def cepstral_distortion(ca: np.ndarray, cb: np.ndarray) -> float:
    """DTW-aligned MCD in dB between two ``(frames, coeffs)`` cepstrum sequences."""
    i, j = dtw_path(ca, cb)
    diff = ca[i] - cb[j]
    return float(_MCD_SCALE * np.mean(np.sqrt((diff ** 2).sum(axis=1))))


def sentence_identification(synths: list[np.ndarray], references: list[np.ndarray],
                            audio_cfg: Any, sample_rate: int) -> dict[str, Any]:
    """Match each synthesized sentence against every reference rendering by DTW-aligned MCD.

    ``synths[i]`` says the sentence of ``references[i]``. A synthesis is *identified* when its
    own reference is the closest of all; a listening-equivalent check that the words survive.
    Returns ``sentences``, ``correct``, ``own_mcd_db`` (mean of the matching pairs) and
    ``other_mcd_db`` (mean over the mismatched pairs).
    """
    n = len(synths)
    if n != len(references) or n < 2:
        raise ValueError(f"need the same number (>= 2) of syntheses and references, got "
                         f"{n} and {len(references)}")
    m = np.array([[mel_cepstral_distortion(s, r, audio_cfg, sample_rate) for r in references]
                  for s in synths])
    own = np.eye(n, dtype=bool)
    return {"sentences": n, "correct": int((m.argmin(axis=1) == np.arange(n)).sum()),
            "own_mcd_db": float(m[own].mean()), "other_mcd_db": float(m[~own].mean())}


def _ranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x), dtype=np.float64)
    xs = x[order]
    start = 0
    for k in range(1, len(x) + 1):  # average the ranks of ties
        if k == len(x) or xs[k] != xs[start]:
            ranks[order[start:k]] = (start + k - 1) / 2.0
            start = k
    return ranks


def spearman(x: Any, y: Any) -> float | None:
    """Spearman rank correlation (ties get average ranks); ``None`` when either is constant."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"spearman needs two 1-D arrays of the same length >= 2, got "
                         f"{x.shape} and {y.shape}")
    rx, ry = _ranks(x), _ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    den = math.sqrt(float((rx ** 2).sum() * (ry ** 2).sum()))
    return None if den == 0.0 else float((rx * ry).sum() / den)


def spearman_interval(weights: Any, per_item: Any, *, level: float = 0.9, n_boot: int = 1000,
                      seed: int = 0) -> list[float] | None:
    """Bootstrap interval of ``spearman(weights, per_item.mean(0))`` over the items.

    ``per_item`` ``(items, len(weights))`` holds one curve per item (sentence and seed); the
    items are resampled with replacement ``n_boot`` times and the central ``level`` of the
    resampled correlations is returned as ``[low, high]`` (``None`` when every resample is
    constant). It says how much of a curve's verdict is the choice of sentences.
    """
    v = np.asarray(per_item, np.float64)
    w = np.asarray(weights, np.float64)
    if v.ndim != 2 or v.shape[1] != w.size or v.shape[0] < 1:
        raise ValueError(f"per_item must be (items, {w.size}), got {v.shape}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, v.shape[0], size=(n_boot, v.shape[0]))
    rho = [spearman(w, v[idx].mean(axis=0)) for idx in picks]
    vals = np.array([r for r in rho if r is not None])
    if vals.size == 0:
        return None
    tail = (1.0 - level) / 2.0
    return [float(np.quantile(vals, tail)), float(np.quantile(vals, 1.0 - tail))]


def voiced_items(voiced_s: Any, min_voiced_s: float = MIN_VOICED_S) -> np.ndarray:
    """Which curve items (sentence and seed) have F0 statistics worth averaging.

    ``voiced_s`` ``(weights, items)`` holds the seconds of voiced speech (YIN) of each item's clip
    at each weight. With less than ``min_voiced_s`` the clip's F0 mean and range rest on a few
    frames, often an octave off. An item passes only if it is voiced enough at *every* weight, so
    each point of an F0 curve averages the same sentences. Returns a bool mask ``(items,)``.
    """
    v = np.asarray(voiced_s, np.float64)
    if v.ndim != 2:
        raise ValueError(f"voiced_s must be (weights, items), got {v.shape}")
    return np.all(v >= min_voiced_s, axis=0)


def voiced_curve(per_item: Any, mask: np.ndarray) -> list[float]:
    """The mean over the items in ``mask`` of ``per_item`` ``(weights, items)``, one value per
    weight; all zeros (a constant curve, so no correlation) when no item passes."""
    rows = np.asarray(per_item, np.float64)
    if not mask.any():
        return [0.0] * rows.shape[0]
    return [float(v) for v in rows[:, mask].mean(axis=1)]
