"""Log-mel spectrograms exactly as an :class:`~emomix.config.AudioConfig` says, in numpy and torch.

The numpy functions are the reference (float64 inside); :func:`log_mel_torch` is the twin that
training uses, on any device, and agrees with the reference to 1e-4 in float64 (DESIGN §6).
This module imports torch only inside :func:`log_mel_torch`.

Framing ("same" style, the HiFi-GAN convention): a clip of ``T`` samples has
``F = ceil(T / hop)`` frames. The clip is zero-padded at the end to ``F · hop`` samples, then
reflect-padded by ``(n_fft - hop) // 2`` samples on both sides, and framed without centring, so
frame ``f`` is centred on the middle of samples ``[f · hop, (f + 1) · hop)``. Hence
``frames · hop`` is the padded clip length, and a vocoder that turns ``F`` frames into
``F · hop`` samples reproduces a clip of that length. (When ``n_fft - hop`` is odd the extra
sample of padding goes at the end.)

Spectrum: ``|STFT|`` (magnitude, not power) with a periodic ``window`` of ``win_length``
samples, zero-padded to ``n_fft`` and centred, as ``torch.stft`` does. Mel: a filterbank of
``n_mels`` triangles over ``[f_min, f_max]`` on the ``mel_scale`` (``"slaney"``: linear below
1 kHz, logarithmic above, as librosa's default; ``"htk"``: ``2595 log10(1 + f / 700)``), each
triangle area-normalised (``2 / (f_hi - f_lo)``, librosa's ``norm="slaney"``). Then
``log(max(mel, log_floor))`` and, when normalising, ``(log_mel - mel_mean) / mel_std``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from .config import AudioConfig

if TYPE_CHECKING:  # pragma: no cover
    import torch

__all__ = [
    "denormalise",
    "frame_count",
    "hz_to_mel",
    "log_mel",
    "log_mel_torch",
    "mel_filterbank",
    "mel_to_hz",
    "normalise",
    "pad_for_frames",
    "window",
]


# ---------------------------------------------------------------- mel scale


def hz_to_mel(hz: np.ndarray | float, scale: str = "slaney") -> np.ndarray:
    """Frequency in Hz → mels on ``scale`` (``"slaney"`` or ``"htk"``)."""
    f = np.asarray(hz, dtype=np.float64)
    if scale == "htk":
        return 2595.0 * np.log10(1.0 + f / 700.0)
    if scale != "slaney":
        raise ValueError(f"mel_scale must be 'slaney' or 'htk', got {scale!r}")
    f_sp, min_log_hz = 200.0 / 3.0, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    lin = f / f_sp
    log = min_log_mel + np.log(np.maximum(f, min_log_hz) / min_log_hz) / logstep
    return np.where(f >= min_log_hz, log, lin)


def mel_to_hz(mel: np.ndarray | float, scale: str = "slaney") -> np.ndarray:
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    if scale == "htk":
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    if scale != "slaney":
        raise ValueError(f"mel_scale must be 'slaney' or 'htk', got {scale!r}")
    f_sp, min_log_hz = 200.0 / 3.0, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@functools.lru_cache(maxsize=16)
def _filterbank(
    sr: int, n_fft: int, n_mels: int, f_min: float, f_max: float, scale: str
) -> np.ndarray:
    fft_hz = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    mel_pts = np.linspace(hz_to_mel(f_min, scale), hz_to_mel(f_max, scale), n_mels + 2)
    hz_pts = mel_to_hz(mel_pts, scale)
    widths = np.diff(hz_pts)
    ramps = hz_pts[:, None] - fft_hz[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    fb = np.maximum(0.0, np.minimum(lower, upper))
    fb *= (2.0 / (hz_pts[2:] - hz_pts[:-2]))[:, None]
    fb.setflags(write=False)
    return fb


def mel_filterbank(cfg: AudioConfig) -> np.ndarray:
    """The mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``, float64, read-only.

    Row ``m`` is triangle ``m`` over the STFT bins ``k · sample_rate / n_fft``; see the module
    docstring for the scale and normalisation.
    """
    _check(cfg)
    return _filterbank(
        cfg.sample_rate, cfg.n_fft, cfg.n_mels, float(cfg.f_min), float(cfg.f_max), cfg.mel_scale
    )


def window(cfg: AudioConfig) -> np.ndarray:
    """The analysis window, ``win_length`` samples centred in ``n_fft`` zeros, float64."""
    n = cfg.win_length
    if cfg.window == "hann":
        w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic
    elif cfg.window == "hamming":
        w = 0.54 - 0.46 * np.cos(2.0 * np.pi * np.arange(n) / n)
    else:
        raise ValueError(f"window must be 'hann' or 'hamming', got {cfg.window!r}")
    left = (cfg.n_fft - n) // 2
    return np.pad(w, (left, cfg.n_fft - n - left))


def _check(cfg: AudioConfig) -> None:
    if cfg.f_max > cfg.sample_rate / 2 or cfg.f_min < 0 or cfg.f_min >= cfg.f_max:
        raise ValueError(
            f"audio config: need 0 <= f_min < f_max <= sample_rate / 2, got "
            f"f_min={cfg.f_min}, f_max={cfg.f_max}, sample_rate={cfg.sample_rate}"
        )
    if cfg.win_length > cfg.n_fft or cfg.hop_length > cfg.n_fft:
        raise ValueError(
            f"audio config: need win_length <= n_fft and hop_length <= n_fft, got "
            f"n_fft={cfg.n_fft}, win_length={cfg.win_length}, "
            f"hop_length={cfg.hop_length}"
        )


# ---------------------------------------------------------------- framing


def frame_count(n_samples: int, cfg: AudioConfig) -> int:
    """Frames of a clip of ``n_samples``: ``ceil(n_samples / hop_length)``."""
    return -(-int(n_samples) // cfg.hop_length)


def _reflect_index(n: int, left: int, right: int) -> np.ndarray:
    """Indices that reflect-pad a length-``n`` signal (no edge repeat), for any pad width."""
    idx = np.arange(-left, n + right)
    if n == 1:
        return np.zeros_like(idx)
    period = 2 * (n - 1)
    idx = np.mod(idx, period)
    return np.where(idx >= n, period - idx, idx)


def pad_for_frames(audio: np.ndarray, cfg: AudioConfig) -> np.ndarray:
    """The padded signal that is framed: zeros to ``F · hop``, then the reflect padding.

    Works on the last axis, so ``(samples,)`` and ``(batch, samples)`` are both accepted.
    Reflection is repeated when a clip is shorter than the padding.
    """
    x = np.asarray(audio)
    n = x.shape[-1]
    frames = frame_count(n, cfg)
    if frames == 0:
        return x[..., :0]
    x = np.concatenate(
        [x, np.zeros(x.shape[:-1] + (frames * cfg.hop_length - n,), x.dtype)], axis=-1
    )
    extra = cfg.n_fft - cfg.hop_length
    left = extra // 2
    return x[..., _reflect_index(x.shape[-1], left, extra - left)]


# ---------------------------------------------------------------- log-mel (numpy reference)


def log_mel(
    audio: np.ndarray, cfg: AudioConfig | None = None, *, normalise: bool = True
) -> np.ndarray:
    """Log-mel spectrogram of mono ``audio`` (shape ``(samples,)``, float in ``[-1, 1]``).

    Returns float32 of shape ``(n_mels, ceil(samples / hop_length))``: ``log(max(mel,
    log_floor))``, normalised to ``(· - mel_mean) / mel_std`` unless ``normalise`` is false.
    An empty clip gives ``(n_mels, 0)``.
    """
    cfg = cfg or AudioConfig()
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(
            f"expected mono audio of shape (samples,), got {x.shape}; use log_mel_torch for batches"
        )
    fb = mel_filterbank(cfg)
    if x.size == 0:
        return np.zeros((cfg.n_mels, 0), np.float32)
    padded = pad_for_frames(x, cfg)
    frames = frame_count(x.size, cfg)
    strided = np.lib.stride_tricks.as_strided(
        padded,
        shape=(frames, cfg.n_fft),
        strides=(padded.strides[0] * cfg.hop_length, padded.strides[0]),
        writeable=False,
    )
    spec = np.abs(np.fft.rfft(strided * window(cfg), axis=1))  # (frames, bins)
    mel = np.log(np.maximum(fb @ spec.T, cfg.log_floor))
    if normalise:
        mel = (mel - cfg.mel_mean) / cfg.mel_std
    return mel.astype(np.float32)


def normalise(log_mel_values: np.ndarray, cfg: AudioConfig | None = None) -> np.ndarray:
    """``(log_mel - mel_mean) / mel_std``: what the networks see."""
    cfg = cfg or AudioConfig()
    return (log_mel_values - cfg.mel_mean) / cfg.mel_std


def denormalise(
    mel: np.ndarray | torch.Tensor,
    cfg: AudioConfig | None = None,
) -> np.ndarray | torch.Tensor:
    """Inverse of :func:`normalise`: ``mel · mel_std + mel_mean`` (numpy array or torch tensor).

    Use it on a network's output before a vocoder that was trained on raw log-mels.
    """
    cfg = cfg or AudioConfig()
    return mel * cfg.mel_std + cfg.mel_mean


# ---------------------------------------------------------------- torch twin


def log_mel_torch(
    audio: torch.Tensor, cfg: AudioConfig | None = None, *, normalise: bool = True
) -> torch.Tensor:
    """The torch twin of :func:`log_mel`, batched and differentiable.

    Args:
        audio: ``(batch, samples)`` or ``(samples,)``, float32 or float64, any device.
        cfg: the audio config (default :class:`AudioConfig()`).
        normalise: apply ``(· - mel_mean) / mel_std``.

    Returns:
        ``(batch, n_mels, ceil(samples / hop_length))`` (no batch axis for 1-D input), in the
        dtype and on the device of ``audio``. All clips of a batch share one length; pad
        shorter ones first (the tail frames then differ from the unpadded clip's).
    """
    import torch

    cfg = cfg or AudioConfig()
    squeeze = audio.dim() == 1
    x = audio.unsqueeze(0) if squeeze else audio
    if x.dim() != 2:
        raise ValueError(
            f"expected audio of shape (batch, samples) or (samples,), got {tuple(audio.shape)}"
        )
    if not torch.is_floating_point(x):
        raise ValueError(f"expected float audio, got {x.dtype}")
    n = x.shape[-1]
    frames = frame_count(n, cfg)
    fb = torch.tensor(mel_filterbank(cfg), dtype=x.dtype, device=x.device)
    if frames == 0:
        out = x.new_zeros((x.shape[0], cfg.n_mels, 0))
        return out[0] if squeeze else out
    extra = cfg.n_fft - cfg.hop_length
    idx = _reflect_index(frames * cfg.hop_length, extra // 2, extra - extra // 2)
    x = torch.nn.functional.pad(x, (0, frames * cfg.hop_length - n))
    x = x[:, torch.as_tensor(idx, device=x.device)]
    win = torch.as_tensor(window(cfg), dtype=x.dtype, device=x.device)
    spec = torch.stft(
        x,
        cfg.n_fft,
        hop_length=cfg.hop_length,
        win_length=cfg.n_fft,
        window=win,
        center=False,
        return_complex=True,
    ).abs()
    mel = torch.log(torch.clamp(fb @ spec, min=cfg.log_floor))  # (batch, n_mels, frames)
    if normalise:
        mel = (mel - cfg.mel_mean) / cfg.mel_std
    return mel[0] if squeeze else mel
