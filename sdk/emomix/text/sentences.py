"""Splitting long text into sentences (and, if needed, shorter pieces) for synthesis.

The rules run in C++ (``emomix::text::split_sentences``, native/src/text/sentences.cpp).
"""

from __future__ import annotations

from .. import _native

__all__ = ["split_sentences"]


def split_sentences(text: str, max_chars: int = 400) -> list[str]:
    """Split ``text`` (any length) into sentences of at most ``max_chars`` characters.

    Sentences end at ``.``, ``!``, ``?`` (with closing quotes or brackets) followed by a
    capital letter or digit, and at blank lines; periods after titles and common
    abbreviations (``Mr.``, ``e.g.``, ``Jan.``…) and single-letter initials do not end a
    sentence. A sentence longer than ``max_chars`` is cut at clause punctuation
    (``, ; : —``), and if still too long between words. Each piece is stripped; none is
    empty. Works on raw text: normalise each piece afterwards (``max_chars`` must stay below
    :data:`~emomix.text.MAX_CHARS`, the limit of one call).

    >>> split_sentences("Hi there. Mr. Smith is here! Ready?")
    ['Hi there.', 'Mr. Smith is here!', 'Ready?']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    return _native.text.split_sentences(text, int(max_chars))
