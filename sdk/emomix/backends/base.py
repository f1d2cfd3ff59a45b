"""What every backend provides: the three networks as numpy-in, numpy-out calls.

The sampler loop is not a backend's business: it is shared (``emomix.sampler`` or the native core)
and calls :meth:`Backend.denoise` once per step with the active conditions batched.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

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

    def ser(self, logmel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Optional: normalised log-mel ``(C, F)`` → emotion ``embedding (E,)`` and
        ``logits (K,)`` from the voice's speech-emotion recogniser (reference clips).

        Backends without an SER keep this default, which raises ``NotImplementedError``.
        """
        raise NotImplementedError(f"the {self.name} backend has no speech-emotion recogniser")
