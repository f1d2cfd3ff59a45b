"""The text normalisation that word and character error rates are counted on.

Reference sentences and recogniser transcripts pass through the same function, so two texts that
a listener would read out identically compare equal::

    >>> normalize_for_scoring("Dr. Lee paid $5 on the 3rd!")
    'doctor lee paid five dollars on the third'
    >>> normalize_for_scoring("doctor Lee paid five dollars on the third.")
    'doctor lee paid five dollars on the third'

Numbers, ordinals, money, abbreviations and symbols are written as words by the synthesis
frontend's own normaliser (:func:`emomix.text.normalize`), so scoring reads a number exactly as
the voice was asked to say it. Then the text is lower-cased, hyphens and dashes split words
(``twenty-four`` → ``twenty four``), every other punctuation mark is dropped, apostrophes are
kept only inside a word (``it's``, ``o'neil``; a leading or trailing one, as in quotes or
``dogs'``, is dropped), and whitespace is collapsed to single spaces.
"""

from __future__ import annotations

import re
import warnings

__all__ = ["normalize_for_scoring", "scoring_words"]

_APOSTROPHES = str.maketrans({c: "'" for c in "‘’‚‛′`´"})
_NOT_WORD = re.compile(r"[^\w' ]+")
_LOOSE_APOSTROPHE = re.compile(r"(?<!\w)'+|'+(?!\w)")


def _spoken(text: str) -> str:
    """:func:`emomix.text.normalize` without its errors: nothing to say is an empty string,
    unspeakable characters (a recogniser's stray non-Latin output) are dropped silently, and
    text beyond its length limit is normalised in pieces."""
    from ..text import MAX_CHARS, EmptyTextError, UnspeakableCharacterWarning, normalize

    pieces, piece = [], ""
    for word in text.split():
        if piece and len(piece) + 1 + len(word) > MAX_CHARS:
            pieces.append(piece)
            piece = ""
        piece = f"{piece} {word}" if piece else word[:MAX_CHARS]
    if piece:
        pieces.append(piece)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnspeakableCharacterWarning)
        for p in pieces:
            try:
                out.append(normalize(p, strict=False))
            except EmptyTextError:
                continue
    return " ".join(out)


def normalize_for_scoring(text: str) -> str:
    """Lower-case words separated by single spaces (see the module docstring); ``""`` when the
    text holds no words."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    s = _spoken(text.translate(_APOSTROPHES)).lower()
    s = s.replace("-", " ").replace("—", " ")
    s = _NOT_WORD.sub(" ", s).replace("_", " ")
    s = _LOOSE_APOSTROPHE.sub(" ", s)
    return " ".join(s.split())


def scoring_words(text: str) -> list[str]:
    """The words of :func:`normalize_for_scoring` ``(text)``."""
    return normalize_for_scoring(text).split()
