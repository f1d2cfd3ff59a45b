"""Pitch → harmonic fine structure of the mel (the numpy reference; ``native/src/harmonics.cpp``
mirrors it).

A voice with a pitch predictor (model config ``pitch.enabled``) predicts, per phoneme and per
emotion condition, ``ln(F0 / 100 Hz)`` and a voicing logit. The sampler's mel carries the spectral
envelope (formants, energy, timing) but not the harmonics, which a few-step decoder trained on two
CPU cores does not learn; this module puts them back where a real log-mel has them:

1. :func:`frame_pitch`: per-frame F0 and voicing: each frame takes its phoneme's predictions,
   mixed over the conditions with the frame's emotion weights (``ln F0`` and the voicing
   probability are mixed linearly, so F0 moves monotonically with a weight), smoothed over
   ``±SMOOTH_FRAMES`` frames and clamped to ``[f0_min, f0_max]``.
2. :func:`render_harmonics`: the mel is smoothed across bands (a Gaussian of ``envelope_sigma``
   bands: the envelope without the sampler's residual speckle) and each frame gets
   ``voicing × ln(r(F0)) / mel_std`` added, where ``r_m(F0)`` is how much a harmonic comb at F0
   (Hann-window main lobes at ``k·F0``, ``harmonic_floor`` of noise between them) raises or lowers
   mel band ``m`` against a flat spectrum of the same power. Bands narrower than F0 (the low
   ones) get peaks and dips; wide bands average over several harmonics and stay near 1.

The predictor's training targets (per-phoneme ``ln(F0 / F0_REF_HZ)`` and voiced fraction, from
the corpus audio and the alignment) are :mod:`emomix.train.pitch_targets`; this module is the
runtime's and needs numpy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .features import mel_filterbank

__all__ = [
    "F0_REF_HZ",
    "SMOOTH_FRAMES",
    "frame_pitch",
    "harmonic_modulation",
    "render_harmonics",
]

#: The pitch predictor's first channel is ``ln(F0 / F0_REF_HZ)``.
F0_REF_HZ = 100.0
#: Half-width (frames) of the moving average that turns per-phoneme F0 steps into glides.
SMOOTH_FRAMES = 2
#: Bins each side of a harmonic that its Hann main lobe (±2 bins) and first sidelobes reach.
_LOBE_BINS = 4


def _smooth_frames(x: np.ndarray, radius: int) -> np.ndarray:
    """Moving average over ``±radius`` frames along the last axis, edges replicated."""
    if radius <= 0 or x.shape[-1] == 0:
        return x
    pad = np.concatenate([np.repeat(x[..., :1], radius, -1), x,
                          np.repeat(x[..., -1:], radius, -1)], axis=-1)
    c = np.cumsum(np.concatenate([np.zeros(x.shape[:-1] + (1,)), pad], -1), -1)
    w = 2 * radius + 1
    return (c[..., w:] - c[..., :-w]) / w


def frame_pitch(pitch: np.ndarray, durations: np.ndarray, weights: np.ndarray,
                pitch_cfg: Any, frames: slice | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(f0_hz (F,), voicing (F,))`` of a line.

    Args:
        pitch: ``(M, 2, T)`` the predictor's output for each of the ``M`` conditions.
        durations: ``(T,)`` frames per phoneme (``F = sum``).
        weights: ``(M,)`` or ``(M, F)`` the conditions' weights (the sampler's last step).
        pitch_cfg: the voice's :class:`emomix.config.PitchConfig`.
        frames: only these frames (a streaming block with its context); ``weights`` then has
            that many columns.
    """
    pitch = np.asarray(pitch, np.float64)
    d = np.asarray(durations, np.int64)
    phone = np.repeat(np.arange(d.size), d)
    if frames is not None:
        phone = phone[frames]
    w = np.asarray(weights, np.float64)
    if w.ndim == 1:
        w = np.repeat(w[:, None], phone.size, axis=1)
    if w.shape != (pitch.shape[0], phone.size):
        raise ValueError(f"weights have shape {w.shape}; expected ({pitch.shape[0]}, "
                         f"{phone.size}) for {pitch.shape[0]} conditions and {phone.size} frames")
    log_f0 = (w * pitch[:, 0, phone]).sum(0)
    p = (w / (1.0 + np.exp(-pitch[:, 1, phone]))).sum(0)
    log_f0 = _smooth_frames(log_f0, SMOOTH_FRAMES)
    p = np.clip(_smooth_frames(p, SMOOTH_FRAMES), 0.0, 1.0)
    f0 = np.clip(F0_REF_HZ * np.exp(log_f0), pitch_cfg.f0_min, pitch_cfg.f0_max)
    return f0, p


def _hann_lobe(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Power of a periodic Hann window's spectrum ``x`` bins from a sinusoid, given
    ``s = sin(πx)``.

    The amplitude ``sinc(x)/2 + (sinc(x − 1) + sinc(x + 1))/4`` is ``s / (2πx(1 − x²))``
    (``sin(π(x ∓ 1)) = −s``), ``1/2`` at ``x = 0`` and ``1/4`` at ``x = ±1``; one harmonic's bins
    lie whole bins apart, so the caller needs one sine per harmonic. Zero for ``|x| ≥ 4``.
    The native twin evaluates the same expression."""
    den = x * x  # in place from here on: this runs on every bin of every harmonic
    np.subtract(1.0, den, out=den)
    den *= x
    den *= 2.0 * np.pi
    with np.errstate(divide="ignore", invalid="ignore"):
        w = s / den
    at = den == 0.0  # x = 0 or x = ±1
    if at.any():
        w[at] = np.where(x[at] == 0.0, 0.5, 0.25)
    w *= w
    w[np.abs(x) >= _LOBE_BINS] = 0.0
    return w


def harmonic_modulation(f0: np.ndarray, audio_cfg: Any, floor: float) -> np.ndarray:
    """``ln r_m(F0)`` ``(n_mels, F)``: mel band ``m`` of a harmonic comb at each frame's F0
    against a flat spectrum of the same mean power (see the module docstring)."""
    f0 = np.asarray(f0, np.float64)
    fb = mel_filterbank(audio_cfg).astype(np.float64)  # (C, bins)
    n_bins = fb.shape[1]
    df = audio_cfg.sample_rate / audio_cfg.n_fft
    top = int(audio_cfg.f_max / df)  # the comb's mean is taken over bins 0..top
    n_frames = f0.size
    h_max = int(np.floor(audio_cfg.f_max / max(float(f0.min(initial=np.inf)), 1.0))) + 1
    h = np.arange(1, max(h_max, 1) + 1)
    centre = h[None, :] * f0[:, None] / df  # (F, H) in bins
    offs = np.arange(-_LOBE_BINS + 1, _LOBE_BINS + 1)
    base = np.floor(centre)
    frac = centre - base
    j = base[..., None] + offs  # (F, H, 8): the bins each harmonic's lobe reaches
    x = offs - frac[..., None]  # their distance from the harmonic, = j - centre exactly
    # sin(πx) = (-1)^o sin(-π frac): one sine per harmonic
    s = np.sin(-np.pi * frac)[..., None] * np.where(offs % 2, -1.0, 1.0)
    ok = (j >= 0) & (j < n_bins) & (centre[..., None] <= top + _LOBE_BINS)
    val = _hann_lobe(x, s)
    val[~ok] = 0.0
    flat = (np.arange(n_frames)[:, None, None] * n_bins
            + np.clip(j, 0, n_bins - 1).astype(np.int64))
    comb = np.bincount(flat.ravel(), weights=val.ravel(),
                       minlength=n_frames * n_bins).reshape(n_frames, n_bins)
    mean = comb[:, :top + 1].mean(axis=1, keepdims=True)
    comb = comb / np.maximum(mean, 1e-12) + floor
    r = (comb @ fb.T) / (fb.sum(axis=1)[None, :] * (1.0 + floor))
    return np.log(np.maximum(r, 1e-12)).T


def _gaussian_bands(mel: np.ndarray, sigma: float) -> np.ndarray:
    """``mel (C, F)`` smoothed across bands; the edge band is repeated beyond the edges."""
    if sigma <= 0:
        return mel
    radius = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k /= k.sum()
    idx = np.clip(np.arange(mel.shape[0])[:, None] + np.arange(-radius, radius + 1), 0,
                  mel.shape[0] - 1)
    return np.einsum("ckf,k->cf", mel[idx], k)


def render_harmonics(mel: np.ndarray, f0: np.ndarray, voicing: np.ndarray, audio_cfg: Any,
                     pitch_cfg: Any) -> np.ndarray:
    """The sampler's normalised mel ``(C, F)`` with the harmonics of ``f0`` put in (float32)."""
    mel = np.asarray(mel, np.float64)
    if mel.shape[1] != np.size(f0) or np.size(f0) != np.size(voicing):
        raise ValueError(f"mel has {mel.shape[1]} frames but f0/voicing have {np.size(f0)}/"
                         f"{np.size(voicing)}")
    if mel.shape[1] == 0:
        return mel.astype(np.float32)
    env = _gaussian_bands(mel, pitch_cfg.envelope_sigma)
    mod = harmonic_modulation(f0, audio_cfg, pitch_cfg.harmonic_floor)
    out = env + np.asarray(voicing, np.float64)[None, :] * mod / audio_cfg.mel_std
    return out.astype(np.float32)
