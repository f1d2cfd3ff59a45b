"""WAV reading and writing with the standard library (no soundfile dependency)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


def write_wav(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono float audio in ``[-1, 1]`` as 16-bit PCM; values outside are clipped."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ValueError(f"expected mono audio of shape (samples,), got {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or inf; refusing to write a corrupt WAV file")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(sample_rate))
        f.writeframes(pcm.tobytes())
    return path


def read_wav(path: str | Path, expected_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Read a PCM WAV file as mono float32 in ``[-1, 1]`` and its sample rate.

    Multi-channel audio is averaged to mono. With ``expected_rate``, a file at another rate is an
    error (emomix does not resample silently: resample the clip to that rate first).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such WAV file: {path}")
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate = f.getnchannels(), f.getsampwidth(), f.getframerate()
            raw = f.readframes(f.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path} is not a readable PCM WAV file ({exc})") from exc
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise ValueError(f"{path}: unsupported sample width of {width} bytes; use 16-bit PCM")
    usable = len(data) - len(data) % channels
    data = data[:usable].reshape(-1, channels).mean(axis=1).astype(np.float32)
    if expected_rate is not None and rate != expected_rate:
        raise ValueError(f"{path} is sampled at {rate} Hz but {expected_rate} Hz is needed; "
                         f"resample it first (e.g. `sox in.wav -r {expected_rate} out.wav`)")
    return data, rate
