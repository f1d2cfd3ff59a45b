"""Audio I/O: WAV files (and, with the `playback` extra, the speaker)."""

from __future__ import annotations

from .wav import read_wav, write_wav

__all__ = ["read_wav", "write_wav"]
