"""Streaming vocoders: mel in as it is made, audio out as soon as the mel determines it.

    stream = voice.vocoder_stream()
    for block in mel_blocks:           # (n_mels, n) pieces of one line, in order
        stream.push(block)
        while (audio := stream.pull(32)).size:
            play(audio)
    stream.finish()                    # the line's mel is complete
    while (audio := stream.pull()).size:
        play(audio)

Joined, the pulled chunks equal ``voice.vocode`` on the whole mel up to float rounding. The
native backend keeps each layer's recent frames between pulls, so every frame is computed once
(:class:`emomix.backends.native_backend.NativeVocoderStream`); other backends use
:class:`WindowedVocoderStream`, which vocodes each chunk with ``context`` frames of mel on each
side (recomputed, so small chunks cost more in total).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["WindowedVocoderStream", "check_audio", "vocoder_context"]


def check_audio(audio: np.ndarray) -> np.ndarray:
    """``audio`` as float32; NaN/inf (broken weights) is an error, not silent garbage."""
    if not np.all(np.isfinite(audio)):
        raise FloatingPointError("the vocoder produced NaN/inf; the voice weights are broken")
    return np.ascontiguousarray(audio, dtype=np.float32)


def vocoder_context(model_config: Any, audio: Mapping[str, Any]) -> int:
    """Mel frames on each side that one vocoder output frame depends on, from a voice's model
    config (convolution receptive field + inverse-STFT overlap); 32 when unknown."""
    cfg = model_config.get("vocoder", {}) if isinstance(model_config, Mapping) else {}
    try:
        conv = int(cfg["input_kernel"]) // 2 + int(cfg["n_layers"]) * (int(cfg["kernel_size"]) // 2)
        overlap = -(-int(audio["n_fft"]) // int(audio["hop_length"]))
    except (KeyError, TypeError, ValueError):
        return 32
    return conv + overlap


class WindowedVocoderStream:
    """A streaming vocoder over any whole-mel ``vocode(mel) -> audio`` function.

    Each pull vocodes its frames with ``context`` frames of mel on each side (zero padding only
    at the line's ends) and keeps the middle, so a frame is ready once ``context`` frames after
    it were pushed.
    """

    def __init__(self, vocode: Callable[[np.ndarray], np.ndarray], n_mels: int, hop_length: int,
                 context: int):
        if context < 0:
            raise ValueError(f"context must be >= 0 frames, got {context}")
        self._vocode = vocode
        self.n_mels, self.hop_length, self.lookahead = int(n_mels), int(hop_length), int(context)
        self._mel = np.zeros((self.n_mels, 0), np.float32)
        self._lo = 0  # line frame of self._mel[:, 0]
        self.done = 0
        self.finished = False

    @property
    def pushed(self) -> int:
        return self._lo + self._mel.shape[1]

    @property
    def ready(self) -> int:
        end = self.pushed if self.finished else max(0, self.pushed - self.lookahead)
        return end - self.done

    def push(self, mel: np.ndarray) -> None:
        if self.finished:
            raise ValueError("push after finish(): this stream's line is complete")
        mel = np.asarray(mel, np.float32)
        if mel.ndim != 2 or mel.shape[0] != self.n_mels:
            raise ValueError(f"mel must have shape ({self.n_mels}, frames), got {mel.shape}")
        self._mel = np.concatenate([self._mel, mel], axis=1)

    def finish(self) -> None:
        self.finished = True

    def pull(self, max_frames: int | None = None) -> np.ndarray:
        n = self.ready if max_frames is None else min(self.ready, int(max_frames))
        if n <= 0:
            return np.zeros(0, np.float32)
        begin, end, ctx = self.done, self.done + n, self.lookahead
        lo, hi = max(0, begin - ctx), min(self.pushed, end + ctx)
        audio = check_audio(self._vocode(self._mel[:, lo - self._lo:hi - self._lo]))
        self.done = end
        keep = max(0, end - ctx) - self._lo  # the next pull reads from end - ctx on
        if keep > 0:
            self._mel, self._lo = self._mel[:, keep:], self._lo + keep
        h = self.hop_length
        return audio[(begin - lo) * h:(end - lo) * h]
