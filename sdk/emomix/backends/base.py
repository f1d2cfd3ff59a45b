"""What every backend provides: the three networks as numpy-in, numpy-out calls.

The sampler loop is not a backend's business: it is shared (``emomix.sampler`` or the native core)
and calls :meth:`Backend.denoise` once per step with the active conditions batched.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np


class Backend(ABC):
    """Runs a voice's networks. One instance serves one voice; calls are not reentrant.

    Shapes: ``C`` = n_mels, ``F`` = frames, ``T`` = phonemes, ``E``/``S`` = emotion/speaker
    embedding sizes, ``B`` = conditions evaluated together.
    """

    name: str = "abstract"

    @abstractmethod
    def speaker_table(self) -> np.ndarray:
        """``(n_speakers, S)`` float32 speaker embeddings, row ``i`` for speaker id ``i``."""

    @abstractmethod
    def encode(
        self, phonemes: np.ndarray, emotion: np.ndarray, speaker: np.ndarray, length_scale: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Phoneme ids ``(T,)`` → frame-level prior ``mu (C, F)`` and durations ``(T,)`` int."""

    @abstractmethod
    def denoise(
        self,
        x: np.ndarray,
        t: np.ndarray,
        mu: np.ndarray,
        emotions: np.ndarray,
        speakers: np.ndarray,
    ) -> np.ndarray:
        """``x (B, C, F)``, ``t (B,)``, ``mu (C, F)``, ``emotions (B, E)``, ``speakers (B, S)`` →
        the parameterisation's prediction ``(B, C, F)`` (velocity for flow, score for score)."""

    @abstractmethod
    def vocode(self, mel: np.ndarray) -> np.ndarray:
        """``mel (C, F)`` → waveform ``(F * hop_length,)`` float32."""

    def pitch(self, phonemes: np.ndarray, emotions: np.ndarray, speakers: np.ndarray
              ) -> np.ndarray:
        """Phoneme ids ``(T,)``, ``emotions (B, E)``, ``speakers (B, S)`` → per-phoneme
        ``ln(F0 / 100 Hz)`` and voicing logit ``(B, 2, T)`` float32, one row per condition.

        Only for voices with a pitch predictor (model config ``pitch.enabled``).
        """
        raise NotImplementedError(f"the {self.name} backend cannot run a pitch predictor")

    # -- optional capabilities -------------------------------------------------------------
    # Each is declared here with a default (off, or a method that raises NotImplementedError)
    # and overridden by the backends that have it; callers ask the flag, never getattr.

    #: CPU threads the backend runs on (``None``: the library's default)
    threads: int | None = None

    @property
    def has_ser(self) -> bool:
        """Whether :meth:`ser` can run (the voice's speech-emotion recogniser is loaded)."""
        return False

    def ser(self, logmel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised log-mel ``(C, F)`` → emotion ``embedding (E,)`` and ``logits (K,)`` from
        the voice's speech-emotion recogniser (reference clips, ``emomix eval``).

        Only where :attr:`has_ser`; this default raises ``NotImplementedError``.
        """
        raise NotImplementedError(
            f"the {self.name} backend has no speech-emotion recogniser for this voice (use the "
            "native or torch backend, or onnx after `emomix export VOICE --onnx`)")

    @property
    def supports_streaming_vocoder(self) -> bool:
        """Whether :meth:`vocoder_stream` / :meth:`vocode_stream` compute every frame once
        however the line is chunked. Without one, :meth:`emomix.Voice.vocoder_stream` vocodes
        overlapping windows with :meth:`vocode`."""
        return False

    def vocoder_stream(self) -> Any:
        """A streaming vocoder for one line (``push`` / ``finish`` / ``pull``; see
        :mod:`emomix.vocoder_stream`). Only where :attr:`supports_streaming_vocoder`."""
        raise NotImplementedError(
            f"the {self.name} backend has no streaming vocoder; use "
            "emomix.Voice.vocoder_stream(), which falls back to windowed vocoding")

    def vocode_stream(self, mel: np.ndarray, chunk_frames: int = 256,
                      first_chunk_frames: int | None = 16) -> Iterator[np.ndarray]:
        """The waveform of ``mel (C, F)`` in chunks (``first_chunk_frames`` frames first, then
        ``chunk_frames``). Only where :attr:`supports_streaming_vocoder`."""
        raise NotImplementedError(
            f"the {self.name} backend has no streaming vocoder; call vocode() on the whole mel")

    @property
    def renders_harmonics(self) -> bool:
        """Whether :meth:`render_harmonics` runs (a compiled twin of
        :func:`emomix.harmonics.render_harmonics`)."""
        return False

    def render_harmonics(self, mel: np.ndarray, f0: np.ndarray, voicing: np.ndarray
                         ) -> np.ndarray:
        """:func:`emomix.harmonics.render_harmonics` for the voice's configs, computed by the
        backend. Only where :attr:`renders_harmonics`."""
        raise NotImplementedError(
            f"the {self.name} backend does not render harmonics; use "
            "emomix.harmonics.render_harmonics")

    @property
    def runs_sampler(self) -> bool:
        """Whether :meth:`sample` runs the whole mixed sampler with the backend's own denoiser
        (no Python call per step)."""
        return False

    def sample(self, mu: np.ndarray, W: np.ndarray, emotions: np.ndarray, speakers: np.ndarray,
               solver: str, temperature: float, seed: int,
               durations: np.ndarray | None = None, noise: np.ndarray | None = None
               ) -> np.ndarray:
        """The mixed sampler in the backend: ``mu (C, F)``, ``W (N, M)`` or ``(N, M, F)``,
        ``emotions (M, E)``, ``speakers (M, S)`` → mel ``(C, F)``; the seeded noise is anchored
        to the line's phoneme ``durations``, or ``noise (N + 1, C, F)`` is used as given. The
        same result as :func:`emomix.sampler.sample` with :meth:`denoise`. Only where
        :attr:`runs_sampler`."""
        raise NotImplementedError(
            f"the {self.name} backend has no sampler of its own; use emomix.sampler.sample")

    @property
    def runs_lines(self) -> bool:
        """Whether :meth:`synthesize_line` runs a whole line from text in one call, with the
        backend's own plan, text frontend and pipeline (the native runtime's
        ``Session::synthesize_text``)."""
        return False

    def synthesize_line(self, text: str, config: Any) -> dict[str, np.ndarray]:
        """Text and an :class:`emomix.generation.GenerationConfig` (its speakers by name) → a
        whole line, ``{"audio", "mel", "mu", "durations", "seed"}``. Only where
        :attr:`runs_lines`."""
        raise NotImplementedError(
            f"the {self.name} backend does not run whole lines; use emomix.Voice.synthesize")

    @property
    def supports_fused_synthesis(self) -> bool:
        """Whether :meth:`synthesize_ids` runs encode → sampler → vocode in one call."""
        return False

    def synthesize_ids(self, phonemes: np.ndarray, enc_emotion: np.ndarray, speaker: np.ndarray,
                       W: np.ndarray, emotions: np.ndarray, speakers: np.ndarray, *, solver: str,
                       temperature: float, seed: int, length_scale: float = 1.0
                       ) -> dict[str, np.ndarray]:
        """A whole line in one backend call (``{"audio", "mel", "mu", "durations"}``). Only
        where :attr:`supports_fused_synthesis`."""
        raise NotImplementedError(
            f"the {self.name} backend has no fused synthesis; use emomix.Voice.synthesize")
