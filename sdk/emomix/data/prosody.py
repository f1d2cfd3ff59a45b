"""Prosody measures of a waveform: F0 contour, loudness, duration.

Used to check that the generated corpus's emotion profiles really differ, and (DESIGN §11) to
measure how F0 mean, F0 range, rate and energy of synthesized speech move with an emotion's
weight. numpy only; no torch.

The F0 tracker is YIN (de Cheveigné & Kawahara 2002: cumulative mean normalised difference,
absolute threshold, parabolic interpolation), vectorised over frames with FFTs. It is meant for
clean single-speaker speech such as espeak-ng's output, not for noisy recordings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["F0_HOP_S", "ProsodyStats", "estimate_f0", "prosody_stats", "rms_db"]

#: Seconds between F0 frames of :func:`estimate_f0`'s default.
F0_HOP_S = 0.01


def _frames(x: np.ndarray, length: int, hop: int) -> np.ndarray:
    n = 1 + (len(x) - length) // hop
    return np.lib.stride_tricks.as_strided(
        x, shape=(n, length), strides=(x.strides[0] * hop, x.strides[0]), writeable=False
    )


def estimate_f0(
    audio: np.ndarray,
    sr: int,
    *,
    fmin: float = 60.0,
    fmax: float = 600.0,
    hop_s: float = F0_HOP_S,
    threshold: float = 0.2,
    silence_db: float = -40.0,
) -> np.ndarray:
    """Fundamental frequency per frame, in Hz; ``0.0`` marks an unvoiced or silent frame.

    Args:
        audio: mono waveform, shape ``(samples,)``, float in ``[-1, 1]``.
        sr: sample rate in Hz.
        fmin, fmax: search range in Hz. The analysis window is ``2 / fmin`` seconds long.
        hop_s: seconds between frame starts; frame ``i`` covers ``[i·hop, i·hop + 2/fmin)``.
        threshold: YIN's aperiodicity threshold; a frame whose normalised difference never dips
            below it is unvoiced.
        silence_db: frames quieter than this (RMS, dB relative to the clip's loudest frame) are
            unvoiced whatever their periodicity.

    Returns:
        float64 array of shape ``(frames,)``; empty when the clip is shorter than one window.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio of shape (samples,), got {x.shape}")
    if not 0 < fmin < fmax < sr / 2:
        raise ValueError(f"need 0 < fmin < fmax < sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    tau_max = int(np.ceil(sr / fmin))
    tau_min = max(2, int(np.floor(sr / fmax)))
    width = tau_max  # integration window W of YIN; the frame is W + tau_max samples
    length, hop = width + tau_max, max(1, int(round(hop_s * sr)))
    if len(x) < length:
        return np.zeros(0)
    frames = _frames(np.ascontiguousarray(x), length, hop)
    frames = frames - frames.mean(axis=1, keepdims=True)

    # d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 = e0 + e_tau - 2 r(tau), r by FFT cross-correlation.
    n_fft = 1 << int(np.ceil(np.log2(length + width)))
    spec_full = np.fft.rfft(frames, n_fft)
    spec_head = np.fft.rfft(frames[:, :width], n_fft)
    r = np.fft.irfft(np.conj(spec_head) * spec_full, n_fft)[:, : tau_max + 1]
    sq = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames**2, axis=1)], axis=1)
    e_tau = sq[:, width : width + tau_max + 1] - sq[:, : tau_max + 1]
    d = np.maximum(sq[:, width : width + 1] + e_tau - 2.0 * r, 0.0)
    d[:, 0] = 0.0
    # Cumulative mean normalised difference d'(tau) = d(tau) * tau / sum_{k<=tau} d(k).
    taus = np.arange(tau_max + 1)
    cum = np.cumsum(d, axis=1)
    cmnd = np.ones_like(d)
    cmnd[:, 1:] = d[:, 1:] * taus[1:] / np.maximum(cum[:, 1:], 1e-12)

    f0 = np.zeros(len(frames))
    search = cmnd[:, tau_min:tau_max]
    below = search < threshold
    has = below.any(axis=1)
    first = np.argmax(below, axis=1)
    for i in np.flatnonzero(has):
        k = first[i]
        while k + 1 < search.shape[1] and search[i, k + 1] < search[i, k]:
            k += 1  # walk down to the local minimum of the dip
        tau = k + tau_min
        if 1 <= tau < tau_max:
            a, b, c = cmnd[i, tau - 1], cmnd[i, tau], cmnd[i, tau + 1]
            den = a - 2 * b + c
            shift = 0.5 * (a - c) / den if den > 1e-12 else 0.0
            tau = tau + float(np.clip(shift, -1.0, 1.0))
        f0[i] = sr / tau
    energy = 10 * np.log10(np.mean(frames[:, :width] ** 2, axis=1) + 1e-20)
    f0[energy < energy.max() + silence_db] = 0.0
    f0[(f0 < fmin) | (f0 > fmax)] = 0.0
    return f0


def rms_db(audio: np.ndarray) -> float:
    """RMS level of the whole clip in dBFS (a full-scale sine is -3 dB); -120 for silence."""
    x = np.asarray(audio, dtype=np.float64)
    return float(10 * np.log10(np.mean(x**2) + 1e-12)) if x.size else -120.0


@dataclass(frozen=True)
class ProsodyStats:
    """Summary prosody of one clip.

    Attributes:
        duration_s: clip length in seconds.
        speech_s: seconds between the first and last frame louder than -40 dB re the peak frame
            (leading and trailing silence removed).
        f0_mean_hz: mean F0 over voiced frames (0 when none is voiced).
        f0_median_hz: median F0 over voiced frames.
        f0_range_st: 90th minus 10th percentile of voiced F0, in semitones.
        voiced_fraction: voiced frames / frames inside the speech span.
        rms_db: RMS level of the speech span, dBFS.
    """

    duration_s: float
    speech_s: float
    f0_mean_hz: float
    f0_median_hz: float
    f0_range_st: float
    voiced_fraction: float
    rms_db: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def prosody_stats(
    audio: np.ndarray, sr: int, *, fmin: float = 60.0, fmax: float = 600.0
) -> ProsodyStats:
    """F0 level and range, speech duration, voicing and loudness of a mono clip."""
    x = np.asarray(audio, dtype=np.float64)
    hop = max(1, int(round(F0_HOP_S * sr)))
    n = len(x) // hop
    if n == 0:
        return ProsodyStats(len(x) / sr, 0.0, 0.0, 0.0, 0.0, 0.0, rms_db(x))
    frame_db = 10 * np.log10(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-20)
    loud = np.flatnonzero(frame_db > frame_db.max() - 40.0)
    start, stop = int(loud[0]) * hop, (int(loud[-1]) + 1) * hop
    span = x[start:stop]
    f0 = estimate_f0(x, sr, fmin=fmin, fmax=fmax)
    voiced = f0[f0 > 0]
    span_frames = max(1, (stop - start) // hop)
    if voiced.size:
        semis = 12 * np.log2(voiced)
        f0_range = float(np.percentile(semis, 90) - np.percentile(semis, 10))
        mean, median = float(voiced.mean()), float(np.median(voiced))
    else:
        f0_range = mean = median = 0.0
    return ProsodyStats(
        duration_s=len(x) / sr,
        speech_s=(stop - start) / sr,
        f0_mean_hz=mean,
        f0_median_hz=median,
        f0_range_st=f0_range,
        voiced_fraction=min(1.0, voiced.size / span_frames),
        rms_db=rms_db(span),
    )
