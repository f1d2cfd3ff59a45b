"""Text normalisation: turn what a game or app writes into what a speaker says.

``normalize("Dr. Smith paid $3.50 on Jan. 5th, 1999 at 3:30 pm!")`` →
``"doctor Smith paid three dollars and fifty cents on January fifth, nineteen ninety-nine
at three thirty PM!"``

The rules run in C++ (``emomix::text::normalize``, native/src/text/normalize.cpp; the policy is
docs/text.md): length and emptiness checks, screening of every character as given (unspeakable
ones raise :class:`UnsupportedTextError` or, with ``strict=False``, are dropped with an
:class:`UnspeakableCharacterWarning`), Unicode NFKC and ASCII punctuation, abbreviations, money,
percentages, units, times, dates, ordinals, fractions, ranges, decades, years and numbers to
English words, symbols to words, punctuation tidied into prosody marks.

English (American) only: the words produced are English whatever espeak-ng voice is used
afterwards.
"""

from __future__ import annotations

import os
import sys
import warnings

from .. import _native
from .errors import TextFrontendError, UnspeakableCharacterWarning, describe_char

__all__ = ["MAX_CHARS", "PROSODY_MARKS", "normalize"]

#: Longest text (in characters, as given) that one call accepts. Longer text must be split,
#: e.g. with :func:`emomix.text.split_sentences`. (The C++ frontend's ``kMaxChars``.)
MAX_CHARS: int = _native.text.MAX_CHARS

#: Punctuation that survives normalisation and becomes prosody tokens.
PROSODY_MARKS: tuple[str, ...] = tuple(_native.text.PROSODY_MARKS)

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _stacklevel_outside_package() -> int:
    """``warnings.warn`` stacklevel that points at the first caller outside this package."""
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) \
            == _PACKAGE_DIR:
        frame = frame.f_back
        level += 1
    return level


def warn_dropped(problems: list[tuple[int, str]]) -> None:
    """The :class:`UnspeakableCharacterWarning` for characters that ``strict=False`` dropped,
    issued at the first caller outside ``emomix.text``."""
    shown = ", ".join(f"{describe_char(c)} at position {p}" for p, c in problems[:5])
    if len(problems) > 5:
        shown += f" and {len(problems) - 5} more"
    warnings.warn(
        f"normalize(strict=False) dropped {len(problems)} unspeakable character(s): {shown}",
        UnspeakableCharacterWarning,
        stacklevel=_stacklevel_outside_package(),
    )


def normalize(text: str, *, strict: bool = True) -> str:
    """Rewrite ``text`` as the words a speaker says, keeping punctuation for prosody.

    Args:
        text: up to :data:`MAX_CHARS` characters of English text.
        strict: when True (default) unspeakable characters raise
            :class:`UnsupportedTextError`; when False they are removed and an
            :class:`UnspeakableCharacterWarning` names them.

    Returns:
        Text made of Latin letters, apostrophes, word-joining hyphens, single spaces and the
        marks in :data:`PROSODY_MARKS`; never empty.

    Raises:
        TypeError: ``text`` is not a ``str``.
        TextTooLongError: ``len(text) > MAX_CHARS``; split it with ``split_sentences``.
        EmptyTextError: nothing to speak (empty, whitespace, or only punctuation/symbols).
        UnsupportedTextError: unspeakable characters and ``strict=True``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    try:
        result, dropped = _native.text.normalize(text, bool(strict))
    except TextFrontendError as exc:  # nothing left to say: still name what was dropped
        if getattr(exc, "_dropped", None):
            warn_dropped(exc._dropped)  # type: ignore[attr-defined]
        raise
    if dropped:
        warn_dropped(dropped)
    return result
