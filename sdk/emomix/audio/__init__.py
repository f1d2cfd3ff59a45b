"""Audio I/O: WAV files, and real-time playback (the speaker needs the `audio` extra).

- :func:`read_wav`, :func:`write_wav`: 16-bit PCM files, standard library only;
- :class:`Player`: lines of audio or streamed chunks to the speaker through a lock-free
  :class:`RingBuffer` read by the audio callback; a :class:`NullOutputStream` stands in where no
  device exists.
"""

from __future__ import annotations

from .player import AudioDeviceError, NullOutputStream, Player, PlayerStats, open_output_stream
from .ring import RingBuffer
from .wav import read_wav, write_wav

__all__ = ["AudioDeviceError", "NullOutputStream", "Player", "PlayerStats", "RingBuffer",
           "open_output_stream", "read_wav", "write_wav"]
