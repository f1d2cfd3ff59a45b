"""The native C++ backend (``emomix._native``; numpy only, never imports torch).

    voice = emomix.load_voice("my_voice", backend="native", threads=2)

It reads the bundle's ``weights.safetensors`` itself (memory-mapped; float16 converted once) and
runs the encoder, denoiser and vocoder with the C++ kernels of ``native/`` (docs/native.md). The
networks match the torch reference to about 1e-6 relative L2.

Concurrency: the :class:`~emomix._native.Model` (weights) is loaded once and shared; each call
borrows a :class:`~emomix._native.Session` (workspace + ``threads`` threads) from a small pool, so
several Python threads (characters speaking at once) can use one backend concurrently, each on
its own session. The GIL is released inside every native call. At most ``max_sessions`` sessions
exist; a caller beyond that waits for one to be returned.

Beyond the :class:`~emomix.backends.base.Backend` interface it offers the whole pipeline in C++
(:meth:`NativeBackend.synthesize_ids`, :meth:`NativeBackend.sample`: no Python in the sampler
loop), a streaming vocoder (:meth:`NativeBackend.vocoder_stream`, every frame computed once),
the speech-emotion recogniser (:meth:`NativeBackend.ser`, like the ONNX backend's) and, for
voices with a pitch predictor, the harmonic rendering in C++ (``Model.frame_pitch``,
``Model.render_harmonics``: the mirror of :mod:`emomix.harmonics`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..vocoder_stream import check_audio
from ..voice import VoiceBundle
from .base import Backend


def _import_native():
    try:
        from .. import _native
    except ImportError as exc:  # pragma: no cover - depends on the build
        raise ImportError("the native backend needs the compiled module emomix._native: "
                          "reinstall emomix (pip install -e .) or use backend='onnx'") from exc
    if not hasattr(_native, "Session"):  # pragma: no cover - stale build
        raise ImportError("emomix._native was built without the native runtime; rebuild it "
                          "(pip install -e .)")
    return _native


def default_threads() -> int:
    """Threads per session when none are asked for: the machine's cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


class NativeBackend(Backend):
    """Runs a voice's networks in the C++ runtime.

    Options: ``threads`` (threads per session, default :func:`default_threads`),
    ``max_sessions`` (sessions created at most for concurrent callers, default 4).
    """

    name = "native"

    def __init__(self, bundle: VoiceBundle, *, threads: int | None = None,
                 max_sessions: int = 4):
        native = _import_native()
        if threads is not None and int(threads) < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if int(max_sessions) < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        self._native = native
        self.bundle = bundle
        self.threads = int(threads) if threads is not None else default_threads()
        self.max_sessions = int(max_sessions)
        # The C++ loader validates the whole bundle again (emomix/voice.hpp); the sha256 of the
        # files it skips: load_bundle has just hashed them (or was told not to).
        self.model = native.load_model(str(bundle.path), verify_hashes=False)
        cfg = self.model.config
        if cfg["parameterisation"] != bundle.parameterisation:
            raise ValueError(f"{bundle.path / 'voice.json'}: model.config.parameterisation "
                             f"{cfg['parameterisation']!r} differs from model.parameterisation "
                             f"{bundle.parameterisation!r}")
        self.hop_length = int(cfg["hop_length"])
        self.n_mels = int(cfg["n_mels"])
        self._speakers = np.ascontiguousarray(self.model.speaker_table(), np.float32)
        self._idle: list[Any] = [native.Session(self.model, self.threads)]
        self._created = 1
        self._cond = threading.Condition()

    # -- session pool -------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Any]:
        """Borrow a session for a sequence of calls on the calling thread."""
        with self._cond:
            while not self._idle and self._created >= self.max_sessions:
                self._cond.wait()
            if self._idle:
                sess = self._idle.pop()
            else:
                self._created += 1
                sess = None
        if sess is None:
            try:
                sess = self._native.Session(self.model, self.threads)
            except BaseException:
                with self._cond:
                    self._created -= 1
                    self._cond.notify()
                raise
        try:
            yield sess
        finally:
            with self._cond:
                self._idle.append(sess)
                self._cond.notify()

    # -- Backend --------------------------------------------------------------------------------
    def speaker_table(self) -> np.ndarray:
        return self._speakers.copy()

    def encode(self, phonemes, emotion, speaker, length_scale):
        if not (np.isfinite(length_scale) and length_scale > 0):
            raise ValueError(f"length_scale must be > 0, got {length_scale}")
        with self.session() as s:
            return s.encode(np.asarray(phonemes, np.int64), emotion, speaker, float(length_scale))

    def denoise(self, x, t, mu, emotions, speakers):
        with self.session() as s:
            return s.denoise(x, np.asarray(t, np.float32).reshape(-1), mu, emotions, speakers)

    def vocode(self, mel):
        with self.session() as s:
            return s.vocode(mel)

    def pitch(self, phonemes, emotions, speakers):
        if not self.model.has_pitch:
            raise ValueError("this voice has no pitch predictor")
        with self.session() as s:
            return s.pitch(np.asarray(phonemes, np.int64), emotions, speakers)

    @property
    def renders_harmonics(self) -> bool:
        return True

    def render_harmonics(self, mel: np.ndarray, f0: np.ndarray, voicing: np.ndarray
                         ) -> np.ndarray:
        """:func:`emomix.harmonics.render_harmonics` in C++ (same arithmetic, float64 inside;
        about 6x faster than numpy). :meth:`Voice.render_pitch` uses it when present."""
        return self.model.render_harmonics(np.ascontiguousarray(mel, np.float32), f0, voicing)

    @property
    def supports_streaming_vocoder(self) -> bool:
        return True

    def vocoder_stream(self) -> NativeVocoderStream:
        """A streaming vocoder for one line (see :mod:`emomix.vocoder_stream`): every frame of
        every layer is computed once, however the line is chunked."""
        return NativeVocoderStream(self)

    def vocode_stream(self, mel: np.ndarray, chunk_frames: int = 256,
                      first_chunk_frames: int | None = 16) -> Iterator[np.ndarray]:
        """Yield the waveform of a whole ``mel (C, F)`` in chunks: ``first_chunk_frames`` frames
        first (a short time to first audio), then ``chunk_frames``. Concatenated, the chunks
        equal :meth:`vocode` within float rounding, for about the same total work."""
        mel = np.ascontiguousarray(mel, np.float32)
        if mel.ndim != 2 or mel.shape[0] != self.n_mels or mel.shape[1] < 1:
            raise ValueError(f"mel must have shape ({self.n_mels}, F) with F >= 1, got {mel.shape}")
        if chunk_frames < 1 or (first_chunk_frames is not None and first_chunk_frames < 1):
            raise ValueError("chunk sizes must be >= 1 frame")
        stream = self.vocoder_stream()
        stream.push(mel)
        stream.finish()
        size = first_chunk_frames or chunk_frames
        while (chunk := stream.pull(size)).size:
            yield chunk
            size = chunk_frames

    @property
    def has_ser(self) -> bool:
        return bool(self.model.has_ser)

    def ser(self, logmel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised log-mel ``(C, F)`` → emotion ``embedding (E,)`` and ``logits (K,)``."""
        if not self.has_ser:
            super().ser(logmel)  # raises NotImplementedError
        with self.session() as s:
            return s.ser(logmel)

    @property
    def supports_fused_synthesis(self) -> bool:
        return True

    @property
    def runs_lines(self) -> bool:
        return True

    def synthesize_line(self, text: str, config: Any) -> dict[str, np.ndarray]:
        """The whole line in C++ (``Session::synthesize_text``: the native text frontend, the C++
        plan of ``config``, encode, sample, pitch, vocode), with the GIL released and no Python
        in the line."""
        from ..generation import config_dict

        with self.session() as s:
            return s.synthesize_text(text, config_dict(config))

    @property
    def runs_sampler(self) -> bool:
        return True

    def sample(self, mu: np.ndarray, W: np.ndarray, emotions: np.ndarray, speakers: np.ndarray,
               solver: str, temperature: float, seed: int,
               durations: np.ndarray | None = None, noise: np.ndarray | None = None
               ) -> np.ndarray:
        """The mixed sampler entirely in C++ (GIL released, no Python per step). Same result as
        ``emomix._native.sample`` with :meth:`denoise` as the callback."""
        with self.session() as s:
            return s.sample(mu, W, emotions, speakers, solver, float(temperature), int(seed),
                            durations, noise)

    # -- beyond the interface -------------------------------------------------------------------

    def synthesize_ids(self, phonemes: np.ndarray, enc_emotion: np.ndarray, speaker: np.ndarray,
                       W: np.ndarray, emotions: np.ndarray, speakers: np.ndarray, *, solver: str,
                       temperature: float, seed: int, length_scale: float = 1.0
                       ) -> dict[str, np.ndarray]:
        """encode → mixed sampler → vocode in one native call (no Python in the loop); a voice
        with a pitch predictor gets its harmonics rendered before vocoding (with ``W[-1]``), as
        :meth:`emomix.Voice.synthesize_full` does. Returns ``{"audio", "mel", "mu",
        "durations"}``; ``mel`` is what was vocoded."""
        with self.session() as s:
            return s.synthesize(np.asarray(phonemes, np.int64), enc_emotion, speaker,
                                float(length_scale), W, emotions, speakers, solver,
                                float(temperature), int(seed))


class NativeVocoderStream:
    """One line's streaming vocoder in the C++ runtime (:class:`emomix._native.VocoderStream`):
    ``push(mel)``, ``finish()``, ``pull(max_frames)``; each pull borrows a session of the
    backend. Used by one thread at a time (concurrent pulls are serialised)."""

    def __init__(self, backend: NativeBackend):
        self._backend = backend
        self._stream = backend._native.VocoderStream(backend.model)
        self.n_mels, self.hop_length = backend.n_mels, backend.hop_length
        self.lookahead = int(self._stream.lookahead)

    @property
    def pushed(self) -> int:
        return int(self._stream.pushed)

    @property
    def done(self) -> int:
        return int(self._stream.done)

    @property
    def ready(self) -> int:
        return int(self._stream.ready)

    @property
    def finished(self) -> bool:
        return bool(self._stream.finished)

    def push(self, mel: np.ndarray) -> None:
        self._stream.push(np.ascontiguousarray(mel, np.float32))

    def finish(self) -> None:
        self._stream.finish()

    def pull(self, max_frames: int | None = None) -> np.ndarray:
        if max_frames is not None and int(max_frames) < 1:
            return np.zeros(0, np.float32)
        with self._backend.session() as s:
            audio = s.vocode_pull(self._stream) if max_frames is None else \
                s.vocode_pull(self._stream, int(max_frames))
        return check_audio(audio)
