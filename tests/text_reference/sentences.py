"""Splitting long text into sentences (and, if needed, shorter pieces) for synthesis."""

from __future__ import annotations

import re

__all__ = ["split_sentences"]

# Words whose trailing period does not end a sentence.
_NO_BREAK_AFTER = frozenset(
    "mr mrs ms dr st prof capt lt sgt col gen cmdr rev gov sen rep pres mt ft no vs "
    "jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e a.k.a approx".split()
)
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|\n\s*\n")
_CLAUSE_END = re.compile(r"[,;:—–](?=\s)|\s[—–-]\s")


def _sentences(text: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m[0].startswith(".") and m[0].rstrip("\"'”’)]") == ".":
            word = re.search(r"(\S+)$", text[start:m.start()])
            if word:
                w = word[1].lower().lstrip("\"'“‘([")
                if w in _NO_BREAK_AFTER or (len(w) == 1 and w.isalpha()):
                    continue
        pieces.append(text[start:m.end()])
        start = m.end()
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def _pack(parts: list[str], max_chars: int, joiner: str) -> list[str]:
    out: list[str] = []
    current = ""
    for part in parts:
        candidate = f"{current}{joiner}{part}" if current else part
        if len(candidate) <= max_chars:
            current = candidate
        else:
            if current:
                out.append(current)
            current = part
    if current:
        out.append(current)
    return out


def _split_long(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    clauses, start = [], 0
    for m in _CLAUSE_END.finditer(sentence):
        clauses.append(sentence[start:m.end()].strip())
        start = m.end()
    clauses.append(sentence[start:].strip())
    out: list[str] = []
    for piece in _pack([c for c in clauses if c], max_chars, " "):
        if len(piece) <= max_chars:
            out.append(piece)
            continue
        words = []
        for word in piece.split():  # a "word" longer than max_chars is cut
            words.extend(word[i:i + max_chars] for i in range(0, len(word), max_chars))
        out.extend(_pack(words, max_chars, " "))
    return out


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
    out: list[str] = []
    for sentence in _sentences(text):
        out.extend(_split_long(" ".join(sentence.split()), max_chars))
    return out
