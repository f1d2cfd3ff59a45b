"""The length-regulation rounding rule, shared by every Python runtime (torch's
``emomix.models.length_regulate`` and the numpy ``length_regulate_np`` of the ONNX and TensorRT
backends). ``native/src/session.cpp`` does the same in C++.
"""

from __future__ import annotations

import numpy as np

__all__ = ["round_running_total"]


def round_running_total(scaled: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Whole-frame durations ``(T,)`` int64 of one line from real-valued ones.

    Phoneme ``t`` ends at frame ``floor(Σ_{s≤t} scaled_s + 0.5)`` (summed in float64), so the line
    is its rounded total long and no phoneme gains the half frame a per-phoneme ``ceil`` adds; a
    phoneme that would get no frame gets one, and the next ones absorb it. Phonemes where
    ``real`` is false (padding) get none.
    """
    real = np.asarray(real, bool)
    ends = np.floor(np.cumsum(np.where(real, np.asarray(scaled, np.float64), 0.0)) + 0.5)
    durations = np.zeros(real.shape, np.int64)
    emitted = 0
    for t in np.flatnonzero(real):
        durations[t] = max(int(ends[t]) - emitted, 1)
        emitted += int(durations[t])
    return durations
