"""Audio at the 16 kHz that Whisper and DNSMOS take."""

from __future__ import annotations

import math

import numpy as np

from .errors import EVAL_EXTRA_HINT, PerceptionUnavailableError

__all__ = ["MODEL_RATE", "to_model_rate"]

#: The sample rate (Hz) of both Whisper's and DNSMOS's input.
MODEL_RATE = 16000


def to_model_rate(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``audio`` ``(samples,)`` at ``sample_rate`` Hz → float32 ``(samples',)`` at 16 kHz.

    Polyphase resampling (``scipy.signal.resample_poly``, its default Kaiser-windowed FIR) by
    the reduced ratio ``16000 / sample_rate``; no level change.
    """
    x = np.asarray(audio)
    if x.ndim != 1:
        raise ValueError(f"audio must be mono (samples,), got shape {x.shape}")
    if isinstance(sample_rate, bool) or int(sample_rate) != sample_rate or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    sample_rate = int(sample_rate)
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        raise ValueError("audio holds NaN or infinite samples")
    if sample_rate != MODEL_RATE and x.size:
        try:
            from scipy.signal import resample_poly
        except ImportError as exc:
            raise PerceptionUnavailableError(
                f"resampling to 16 kHz needs scipy: {EVAL_EXTRA_HINT}") from exc
        g = math.gcd(MODEL_RATE, sample_rate)
        x = resample_poly(x, MODEL_RATE // g, sample_rate // g)
    return x.astype(np.float32)
