"""The pitch predictor's training targets, from the corpus audio and the alignment.

:func:`f0_at_frames` reads F0 at the centre of each mel frame with
:func:`emomix.data.prosody.estimate_f0`; :func:`phone_pitch_targets` pools it over each phoneme
of the alignment's durations into what the predictor learns: ``ln(F0 / F0_REF_HZ)`` and the
voiced fraction (the runtime side, which turns predictions into harmonics, is
:mod:`emomix.harmonics`). numpy only; no torch.
"""

from __future__ import annotations

import numpy as np

from ..data.prosody import F0_HOP_S, estimate_f0
from ..harmonics import F0_REF_HZ

__all__ = ["F0_FMIN_HZ", "f0_at_frames", "phone_pitch_targets"]

#: The estimator's lowest F0; its frame ``i`` is centred ``1 / F0_FMIN_HZ`` s after ``i · hop``.
F0_FMIN_HZ = 60.0


def f0_at_frames(audio: np.ndarray, sample_rate: int, hop_length: int, frames: int) -> np.ndarray:
    """F0 in Hz (0 = unvoiced) at the centre of each of ``frames`` mel frames of ``audio``."""
    f0 = estimate_f0(np.asarray(audio, np.float64), sample_rate, fmin=F0_FMIN_HZ)
    if f0.size == 0:
        return np.zeros(frames)
    t = np.arange(frames) * hop_length / sample_rate
    k = np.clip(np.round((t - 1.0 / F0_FMIN_HZ) / F0_HOP_S).astype(np.int64), 0, f0.size - 1)
    return f0[k]


def phone_pitch_targets(f0: np.ndarray, durations: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-phoneme targets from per-frame F0 (Hz, 0 = unvoiced) and integer durations.

    Returns ``ln(F0 / F0_REF_HZ)`` averaged over the phoneme's voiced frames (0 where none),
    the phoneme's voiced fraction, and its number of voiced frames (the weight of its F0 target).
    """
    d = np.asarray(durations, np.int64)
    f0 = np.asarray(f0, np.float64)[: int(d.sum())]
    phone = np.repeat(np.arange(d.size), d)[: f0.size]
    voiced = f0 > 0
    n_voiced = np.bincount(phone, weights=voiced, minlength=d.size)
    lf = np.zeros(f0.size)
    lf[voiced] = np.log(f0[voiced] / F0_REF_HZ)
    lf_sum = np.bincount(phone, weights=lf, minlength=d.size)
    log_f0 = np.where(n_voiced > 0, lf_sum / np.maximum(n_voiced, 1), 0.0)
    frac = n_voiced / np.maximum(d, 1)
    return log_f0, frac, n_voiced
