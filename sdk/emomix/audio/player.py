"""Real-time playback: lines of audio (arrays or streamed chunks) to the speaker.

    with emomix.audio.Player(voice.sample_rate) as player:
        player.say(npc, "Halt! Who goes there?")            # streamed while it is synthesised
        player.say(npc, "Oh, it's you.", interrupt=True)    # cut the first line, speak this one
        player.wait()

Three threads meet here:

- the **caller** (game/UI thread) queues lines and pauses/stops; it only sets flags;
- the **producer** (one worker thread per player) pulls chunks from the queued line's iterator
  (this is where synthesis runs, e.g. :meth:`emomix.Character.speak`) and writes them into a
  :class:`~emomix.audio.ring.RingBuffer`;
- the **audio callback** (PortAudio's thread, or the :class:`NullOutputStream` thread) copies
  from the ring into the device buffer. It never allocates arrays, takes no lock and never
  blocks: it reads plain attributes and calls :meth:`RingBuffer.read_into`.

Every shared attribute has one writer: ``_paused``/``_generation`` the caller,
``_flush_to``/``_producing`` and the underrun totals the producer, the other statistics the
callback.

An **underrun** is a callback that finds fewer samples than it needs while a line is being
produced (synthesis fell behind playback); it is padded with silence and counted in
:attr:`Player.stats`. Silence between lines, before a line's first chunk, or while paused is not
an underrun. The callback cannot tell a late chunk from the end of a line, so it only records
short reads; the producer turns them into underruns when the line's next chunk arrives (there
was a gap) and drops them when the line turns out to be over (that was the line's end).

Where no audio device exists (CI, servers) ``output="auto"`` falls back to a
:class:`NullOutputStream`, a thread that pulls the same callback at the real-time block rate (or
``null_speed`` times faster), so the same code path runs everywhere.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EmomixError
from .ring import RingBuffer

__all__ = ["AudioDeviceError", "NullOutputStream", "Player", "PlayerStats", "open_output_stream"]

#: How long the producer sleeps when the ring is full, as a fraction of one callback block.
_PRODUCER_POLL = 0.5
# Player._shorts packs a count of short callbacks above the silence samples they padded.
_SHORT_BITS = 40
_SHORT_ONE = 1 << _SHORT_BITS


class AudioDeviceError(EmomixError, RuntimeError):
    """No usable audio output (sounddevice/PortAudio missing, or no output device)."""


@dataclass(frozen=True)
class PlayerStats:
    """Counters since the player started.

    ``underruns``: callbacks that ran short mid-line; ``underrun_samples``: silence samples they
    padded; ``played_samples``: samples taken from the ring; ``callbacks``: callback calls;
    ``device_underflows``: output underflows PortAudio itself reported; ``lines``: lines
    finished or cut.
    """

    underruns: int
    underrun_samples: int
    played_samples: int
    callbacks: int
    device_underflows: int
    lines: int


class NullOutputStream:
    """A stand-in for ``sounddevice.OutputStream`` with no device behind it.

    A thread calls ``callback(outdata, frames, time_info, status)`` with a preallocated
    ``(blocksize, channels)`` float32 buffer every ``blocksize / samplerate / speed`` seconds
    (``speed=inf`` runs as fast as it can). With ``capture=True`` a copy of every block is kept
    in :attr:`captured` (tests listen to what was "played"; the copy happens in this thread after
    the callback returns, never inside it).
    """

    def __init__(self, samplerate: int, blocksize: int, channels: int,
                 callback: Callable[[np.ndarray, int, Any, Any], None], *, speed: float = 1.0,
                 capture: bool = False) -> None:
        if not speed > 0:
            raise ValueError(f"null output speed must be > 0, got {speed}")
        self.samplerate, self.blocksize, self.channels = int(samplerate), int(blocksize), channels
        self._callback = callback
        self._speed = float(speed)
        self._buffer = np.zeros((self.blocksize, channels), dtype=np.float32)
        self.captured: list[np.ndarray] | None = [] if capture else None
        self._running = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._running.is_set()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="emomix-null-audio", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        period = self.blocksize / self.samplerate / self._speed
        deadline = time.monotonic()
        while self._running.is_set():
            self._callback(self._buffer, self.blocksize, None, None)
            if self.captured is not None:
                self.captured.append(self._buffer[:, 0].copy())
            deadline += period
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -1.0:  # fell far behind (a paused debugger): do not burst to catch up
                deadline = time.monotonic()

    def stop(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.stop()


def open_output_stream(samplerate: int, blocksize: int,
                       callback: Callable[[np.ndarray, int, Any, Any], None], *,
                       device: int | str | None = None, latency: str | float = "low") -> Any:
    """A mono float32 ``sounddevice.OutputStream`` on ``device`` (default output), or
    :class:`AudioDeviceError` saying what is missing."""
    try:
        import sounddevice as sd
    except ImportError as exc:
        raise AudioDeviceError("playback needs the sounddevice package: pip install "
                               "'emomix[audio]' (or write a WAV with `emomix say -o`)") from exc
    except OSError as exc:  # sounddevice is installed but PortAudio is not
        raise AudioDeviceError(f"sounddevice cannot load PortAudio ({exc}); install it (Debian/"
                               "Ubuntu: apt-get install libportaudio2)") from exc
    try:
        sd.query_devices(device, "output")
        return sd.OutputStream(samplerate=samplerate, blocksize=blocksize, channels=1,
                               dtype="float32", callback=callback, device=device,
                               latency=latency)
    except Exception as exc:  # PortAudioError / ValueError from device lookup
        raise AudioDeviceError(f"no usable audio output device ({exc}); connect one, pick one "
                               "with device=..., or use output='null'") from exc


class _Line:
    __slots__ = ("chunks", "generation")

    def __init__(self, chunks: Iterable[np.ndarray], generation: int) -> None:
        self.chunks = chunks
        self.generation = generation


class Player:
    """Plays lines through a ring buffer read by a real-time audio callback.

    Args:
        sample_rate: Hz of every line (a :class:`~emomix.Speech` at another rate is refused).
        output: ``"auto"`` (the device if one works, else null), ``"device"`` (error without
            one), or ``"null"`` (:class:`NullOutputStream`).
        device: a sounddevice device index or name (default output when ``None``).
        block_frames: samples per callback.
        buffer_seconds: ring capacity; the producer may run this far ahead of playback.
        null_speed: how much faster than real time the null output pulls (tests).
        capture: keep what a null output "played" in ``player.captured`` (tests).

    Thread safety: :meth:`play`, :meth:`say`, :meth:`pause`, :meth:`resume`, :meth:`stop` and
    :meth:`wait` are for one controlling thread (the game's); the producer and callback threads
    are the player's own.
    """

    def __init__(self, sample_rate: int = 22050, *, output: str = "auto",
                 device: int | str | None = None, block_frames: int = 512,
                 buffer_seconds: float = 2.0, latency: str | float = "low",
                 null_speed: float = 1.0, capture: bool = False) -> None:
        if output not in ("auto", "device", "null"):
            raise ValueError(f"output must be 'auto', 'device' or 'null', got {output!r}")
        if not (isinstance(sample_rate, (int, np.integer)) and sample_rate > 0):
            raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
        if not (isinstance(block_frames, (int, np.integer)) and 16 <= block_frames <= 65536):
            raise ValueError(f"block_frames must be an integer in [16, 65536], got "
                             f"{block_frames!r}")
        if not (np.isfinite(buffer_seconds) and buffer_seconds > 0):
            raise ValueError(f"buffer_seconds must be > 0, got {buffer_seconds}")
        self.sample_rate = int(sample_rate)
        self.block_frames = int(block_frames)
        capacity = max(int(buffer_seconds * sample_rate), 4 * self.block_frames)
        self._ring = RingBuffer(capacity)
        # caller-written
        self._paused = False
        self._generation = 0
        self._closed = False
        self._submitted = 0  # lines given to play()
        self._dropped = 0  # lines removed from the queue by stop/interrupt
        # producer-written
        self._flush_to = 0
        self._producing = False
        self._lines_done = 0
        self._seen_generation = 0
        self.last_error: Exception | None = None
        self._underruns = 0
        self._underrun_samples = 0
        self._shorts_seen = 0  # the value of _shorts already settled
        # callback-written
        self._shorts = 0  # short reads while producing: count << _SHORT_BITS | padded samples
        self._played = 0
        self._callbacks = 0
        self._device_underflows = 0

        self._queue: queue.Queue[_Line | None] = queue.Queue()
        self._stream: Any
        if output == "null":
            self._stream = NullOutputStream(self.sample_rate, self.block_frames, 1,
                                            self._callback, speed=null_speed, capture=capture)
        else:
            try:
                self._stream = open_output_stream(self.sample_rate, self.block_frames,
                                                  self._callback, device=device, latency=latency)
            except AudioDeviceError:
                if output == "device":
                    raise
                self._stream = NullOutputStream(self.sample_rate, self.block_frames, 1,
                                                self._callback, speed=null_speed, capture=capture)
        self.output_kind = "null" if isinstance(self._stream, NullOutputStream) else "device"
        self._worker = threading.Thread(target=self._produce, name="emomix-player", daemon=True)
        self._worker.start()
        self._stream.start()

    # -- the audio callback (real-time: no allocation, no locks, no blocking) ----------------
    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._callbacks += 1
        if status is not None and getattr(status, "output_underflow", False):
            self._device_underflows += 1
        out = outdata[:frames, 0]
        ring = self._ring
        if self._flush_to > ring._read:
            ring.skip_to(self._flush_to)
        if self._paused:
            out.fill(0.0)
            return
        n = ring.read_into(out)
        self._played += n
        if n < frames:
            out[n:].fill(0.0)
            if self._producing:
                # one attribute, so the producer reads count and samples consistently
                self._shorts += _SHORT_ONE + frames - n

    # -- the producer --------------------------------------------------------------------------
    def _produce(self) -> None:
        wait = _PRODUCER_POLL * self.block_frames / self.sample_rate
        while not self._closed:
            self._sync_generation()
            try:
                line = self._queue.get(timeout=0.02)
            except queue.Empty:
                continue
            if line is None:
                break
            self._sync_generation()
            if line.generation != self._generation:
                self._lines_done += 1
                _close(line.chunks)
                continue
            try:
                self._play_line(line, wait)
            except Exception as exc:  # a failing line must not kill the player
                self.last_error = exc
            finally:
                self._producing = False
                self._settle_shorts(gap=False)
                self._lines_done += 1
                _close(line.chunks)

    def _sync_generation(self) -> None:
        """After a stop/interrupt (a new generation), mark everything written so far for the
        callback to skip."""
        generation = self._generation
        if generation != self._seen_generation:
            self._seen_generation = generation
            self._flush_to = self._ring.write_count

    def _settle_shorts(self, *, gap: bool) -> None:
        """Producer: the short reads since the last call were underruns (``gap``: more of the
        line arrived after them) or the line's end (dropped)."""
        shorts = self._shorts
        if gap:
            delta = shorts - self._shorts_seen
            self._underruns += delta >> _SHORT_BITS
            self._underrun_samples += delta & (_SHORT_ONE - 1)
        self._shorts_seen = shorts

    def _play_line(self, line: _Line, wait: float) -> None:
        first = True
        for chunk in line.chunks:
            if line.generation != self._generation or self._closed:
                return
            data = np.clip(np.asarray(chunk, dtype=np.float32).reshape(-1), -1.0, 1.0)
            if not np.all(np.isfinite(data)):
                raise ValueError("a chunk contains NaN or inf; refusing to play it")
            # short reads before a line's first chunk belong to the silence between lines
            self._settle_shorts(gap=not first)
            first = False
            self._producing = True
            done = 0
            while done < data.size:
                if line.generation != self._generation or self._closed:
                    return
                n = self._ring.write(data[done:])
                done += n
                if done < data.size:
                    time.sleep(wait)

    # -- control (the caller's thread) ---------------------------------------------------------
    def play(self, audio: np.ndarray | Iterable[np.ndarray], *, interrupt: bool = False) -> None:
        """Queue a line: a float32 array, or an iterable of chunks (e.g. ``npc.speak(...)``),
        consumed by the player's producer thread as playback goes. ``interrupt=True`` cuts the
        line playing now and drops the queue first."""
        self._check_open()
        rate = getattr(audio, "sample_rate", None)
        if rate is not None and int(rate) != self.sample_rate:
            raise ValueError(f"the line is at {rate} Hz but the player runs at "
                             f"{self.sample_rate} Hz; create the Player with "
                             "sample_rate=voice.sample_rate")
        if isinstance(audio, np.ndarray):
            if audio.ndim != 1:
                raise ValueError(f"expected mono audio (samples,), got shape {audio.shape}")
            chunks: Iterable[np.ndarray] = (audio,)
        else:
            chunks = audio
        if interrupt:
            self._cancel()
        self._submitted += 1
        self._queue.put(_Line(chunks, self._generation))

    def say(self, character: Any, text: str, seed: int | None = None, *,
            interrupt: bool = False) -> None:
        """Queue ``character.speak(text, seed)``; synthesis runs on the producer thread while
        earlier audio plays. Text errors are raised here."""
        self.play(character.speak(text, seed), interrupt=interrupt)

    def _cancel(self) -> None:
        self._generation += 1
        while True:
            try:
                line = self._queue.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self._dropped += 1
                _close(line.chunks)

    def stop(self) -> None:
        """Cut the line playing now and drop every queued line (the output keeps running)."""
        self._check_open()
        self._cancel()

    def pause(self) -> None:
        """Hold playback (silence; nothing is dropped); :meth:`resume` continues."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speaking(self) -> bool:
        """Whether a line is queued, being produced, or still buffered for playback."""
        # samples up to _flush_to are cut (the callback skips them); only what follows is heard
        heard_from = max(self._flush_to, self._ring.read_count)
        return (self._lines_done + self._dropped < self._submitted
                or self._ring.write_count > heard_from)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every queued line has been played (or cut); returns False on timeout.
        While paused this only returns on timeout."""
        end = None if timeout is None else time.monotonic() + timeout
        poll = self.block_frames / self.sample_rate / 2
        while self.speaking:
            if end is not None and time.monotonic() >= end:
                return False
            time.sleep(poll)
        return True

    @property
    def stats(self) -> PlayerStats:
        return PlayerStats(self._underruns, self._underrun_samples, self._played,
                           self._callbacks, self._device_underflows, self._lines_done)

    @property
    def captured(self) -> np.ndarray:
        """What a ``capture=True`` null output played, joined (silence included)."""
        cap = getattr(self._stream, "captured", None)
        if cap is None:
            raise ValueError("nothing was captured: create the Player with output='null', "
                             "capture=True")
        return np.concatenate(cap) if cap else np.zeros(0, np.float32)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Player is closed; create a new one")

    def close(self) -> None:
        """Stop the output and the producer thread (queued lines are dropped)."""
        if self._closed:
            return
        self._cancel()
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout=5.0)
        try:
            self._stream.stop()
        finally:
            self._stream.close()

    def __enter__(self) -> Player:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort at interpreter exit
        try:
            self.close()
        except Exception:
            pass


def _close(chunks: Iterable[np.ndarray]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # pragma: no cover - a generator that fails while closing
            pass
