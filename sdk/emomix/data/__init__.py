"""Emotional speech data: the generated espeak-ng corpus, loaders for ESD/RAVDESS/IEMOCAP, prosody.

- :mod:`.synth_corpus` — ``synthesize_corpus(out, CorpusRecipe(...))``, ``emomix corpus synth``.
- :mod:`.loaders` — ``load_esd``, ``load_ravdess``, ``load_iemocap`` → ``list[Utterance]``.
- :mod:`.prosody` — ``estimate_f0``, ``prosody_stats`` (F0 level and range, duration, loudness).
- :mod:`.profiles`, :mod:`.sentences`, :mod:`.espeak` — the recipe's parts.

Importing this package imports numpy only.
"""

from __future__ import annotations

from .loaders import (
    CorpusLayoutError,
    Utterance,
    held_out_texts,
    load_esd,
    load_iemocap,
    load_ravdess,
    voice_speaker_name,
)
from .prosody import ProsodyStats, estimate_f0, prosody_stats
from .synth_corpus import CorpusRecipe, CorpusReport, synthesize_corpus

__all__ = [
    "CorpusLayoutError",
    "CorpusRecipe",
    "CorpusReport",
    "ProsodyStats",
    "Utterance",
    "estimate_f0",
    "held_out_texts",
    "load_esd",
    "load_iemocap",
    "load_ravdess",
    "prosody_stats",
    "synthesize_corpus",
    "voice_speaker_name",
]
