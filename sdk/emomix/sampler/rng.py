"""Counter-based Gaussian noise shared by every backend (docs/sampler.md, "Injected, seeded noise").

A normal deviate is a pure function of ``(seed, stream, index)``: splitmix64 hashing followed by
Box–Muller. The C++ runtime implements the same arithmetic, so a seed gives the same noise on every
backend without passing arrays around.
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def splitmix64(z: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on an array of uint64 (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MUL1
        z = (z ^ (z >> np.uint64(27))) * _MUL2
    return z ^ (z >> np.uint64(31))


def _stream_key(seed: int, stream: int) -> np.uint64:
    if seed < 0 or stream < 0:
        raise ValueError(f"seed and stream must be non-negative integers, got seed={seed}, "
                         f"stream={stream}")
    seed64 = np.uint64(int(seed) & _MASK64)
    return splitmix64(seed64 ^ splitmix64(np.uint64(int(stream) & _MASK64)))


def _normal_at(key: np.uint64, idx: np.ndarray) -> np.ndarray:
    """Deviates number ``idx`` (uint64 array) of the stream with ``key``, float32, same shape."""
    with np.errstate(over="ignore"):
        c1 = key + np.uint64(2) * idx
        c2 = c1 + np.uint64(1)
    scale = 2.0 ** -53
    u1 = ((splitmix64(c1) >> np.uint64(11)).astype(np.float64) + 0.5) * scale
    u2 = ((splitmix64(c2) >> np.uint64(11)).astype(np.float64) + 0.5) * scale
    return (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)).astype(np.float32)


def normal(seed: int, stream: int, n: int, offset: int = 0) -> np.ndarray:
    """``n`` standard normal deviates (float32) for ``(seed, stream)`` starting at ``offset``."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return _normal_at(_stream_key(seed, stream), np.arange(offset, offset + n, dtype=np.uint64))


def normal_like(seed: int, stream: int, shape: tuple[int, ...]) -> np.ndarray:
    """A float32 array of ``shape`` filled in C order from ``(seed, stream)``."""
    return normal(seed, stream, int(np.prod(shape))).reshape(shape)


#: Bits of a noise index below a segment's number (docs/sampler.md, "Injected, seeded noise").
SEGMENT_SHIFT = 32


def check_durations(durations: object, frames: int) -> np.ndarray:
    """``durations`` as int64 phoneme lengths in frames that add up to ``frames``, else a
    ValueError saying what is wrong."""
    d = np.asarray(durations)
    if d.ndim != 1 or d.size == 0 or not np.issubdtype(d.dtype, np.integer):
        raise ValueError("durations must be a non-empty 1-D array of integer frame counts, got "
                         f"shape {d.shape} of {d.dtype}")
    if np.any(d < 0):
        raise ValueError(f"durations must be >= 0, got {int(d.min())}")
    if int(d.sum()) != frames:
        raise ValueError(f"durations add up to {int(d.sum())} frames but the line has {frames}; "
                         "pass the durations the encoder returned with mu")
    return d.astype(np.int64)


def line_index(n_mels: int, frames: int, durations: object = None) -> np.ndarray:
    """The deviate numbers ``(n_mels, frames)`` uint64 of a line's noise (see :func:`line_noise`),
    the same for every stream."""
    if n_mels < 1 or frames < 1:
        raise ValueError(f"noise needs n_mels, frames >= 1, got {n_mels}, {frames}")
    d = (np.array([frames], np.int64) if durations is None
         else check_durations(durations, frames))
    seg = np.repeat(np.arange(d.size, dtype=np.uint64), d)
    within = np.arange(frames, dtype=np.int64) - np.repeat(np.cumsum(d) - d, d)
    base = (seg << np.uint64(SEGMENT_SHIFT)) + within.astype(np.uint64) * np.uint64(n_mels)
    return base[None, :] + np.arange(n_mels, dtype=np.uint64)[:, None]


def line_noise(seed: int, stream: int, n_mels: int, frames: int,
               durations: object = None, *, index: np.ndarray | None = None) -> np.ndarray:
    """One stream's ``(n_mels, frames)`` noise for a line, anchored to its phonemes.

    Element ``(c, f)``, with frame ``f`` the ``j``-th frame of phoneme ``p``, is deviate number
    ``(p << 32) + j * n_mels + c``. A phoneme's noise therefore depends only on its place in the
    line and its own frames: when another phoneme gets longer or shorter (a changed emotion or
    speaking rate), it keeps its noise. Without ``durations`` the line is one segment. ``index``
    is :func:`line_index` of the same line, when the caller draws several streams.
    """
    if index is None:
        index = line_index(n_mels, frames, durations)
    return _normal_at(_stream_key(seed, stream), index)
