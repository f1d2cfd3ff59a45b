"""The PyTorch networks of an emomix voice (needs torch: the ``train`` extra).

Shapes follow ``(batch, channels, frames)``; see ``docs/models.md``.
"""

from __future__ import annotations

from .alignment import (
    alignment_log_likelihood,
    alignment_path,
    monotonic_alignment_search,
    prior_loss,
)
from .common import count_macs, count_parameters, sequence_mask
from .denoiser import Denoiser, grad_tts_noise
from .encoder import (
    DurationPredictor,
    PitchPredictor,
    TextEncoder,
    duration_loss,
    durations_to_path,
    expand_by_durations,
    length_regulate,
    round_durations,
)
from .ser import SER, compute_deltas, gram_matrix, gram_style_loss
from .vocoder import InverseSTFT, Vocoder
from .voice_model import VoiceModel

__all__ = [
    "VoiceModel",
    "TextEncoder",
    "DurationPredictor",
    "PitchPredictor",
    "Denoiser",
    "Vocoder",
    "InverseSTFT",
    "SER",
    "length_regulate",
    "round_durations",
    "expand_by_durations",
    "durations_to_path",
    "duration_loss",
    "monotonic_alignment_search",
    "alignment_path",
    "alignment_log_likelihood",
    "prior_loss",
    "grad_tts_noise",
    "compute_deltas",
    "gram_matrix",
    "gram_style_loss",
    "count_parameters",
    "count_macs",
    "sequence_mask",
]
