"""Word and character error rates by Levenshtein alignment.

An error rate is ``(substitutions + deletions + insertions) / reference length``, counted on the
minimum-edit alignment of the hypothesis to the reference (uniform costs). Over a set of
utterances the edits and the reference lengths are summed first (:func:`corpus_rate`), so a long
sentence weighs more than a short one and an empty transcript of a one-word clip does not count
as a 100 % error of equal weight; the mean of per-utterance rates is *not* used.

Words and characters are taken from :func:`emomix.perception.text.normalize_for_scoring` of both
texts. Characters include the single spaces between words (a split or merged word costs one
edit).

    >>> word_errors("the cat sat", "the cat sat down").rate
    0.3333333333333333
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .text import normalize_for_scoring

__all__ = [
    "ErrorCounts",
    "align_errors",
    "word_errors",
    "char_errors",
    "corpus_rate",
    "word_error_rate",
    "char_error_rate",
]


@dataclass(frozen=True)
class ErrorCounts:
    """Edits of one alignment (or sums over several): ``rate`` is ``edits / reference_length``."""

    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    reference_length: int = 0

    @property
    def edits(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """``edits / reference_length``; ``0.0`` for two empty sequences. Raises ``ValueError``
        for edits against an empty reference (the rate is unbounded)."""
        if self.reference_length == 0:
            if self.edits:
                raise ValueError("an error rate needs a non-empty reference: the reference has "
                                 "no words, so the hypothesis's insertions have no rate")
            return 0.0
        return self.edits / self.reference_length

    def __add__(self, other: ErrorCounts) -> ErrorCounts:
        return ErrorCounts(self.substitutions + other.substitutions,
                           self.deletions + other.deletions,
                           self.insertions + other.insertions,
                           self.reference_length + other.reference_length)


def align_errors(reference: Sequence[object], hypothesis: Sequence[object]) -> ErrorCounts:
    """Substitutions, deletions and insertions of the minimum-edit alignment of two sequences.

    Among alignments with the fewest edits the backtrace prefers a match or substitution, then a
    deletion, then an insertion, so the split into the three kinds is deterministic.
    """
    n, m = len(reference), len(hypothesis)
    # cost[i][j]: edits to turn reference[:i] into hypothesis[:j]
    cost = [list(range(m + 1))]
    for i in range(1, n + 1):
        row = [i] + [0] * m
        prev = cost[i - 1]
        r = reference[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (r != hypothesis[j - 1]), prev[j] + 1, row[j - 1] + 1)
        cost.append(row)
    s = d = ins = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (
                reference[i - 1] != hypothesis[j - 1]):
            s += reference[i - 1] != hypothesis[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            d += 1
            i -= 1
        else:
            ins += 1
            j -= 1
    return ErrorCounts(int(s), d, ins, n)


def word_errors(reference: str, hypothesis: str) -> ErrorCounts:
    """Word edits of ``hypothesis`` against ``reference`` (both normalised for scoring)."""
    return align_errors(normalize_for_scoring(reference).split(),
                        normalize_for_scoring(hypothesis).split())


def char_errors(reference: str, hypothesis: str) -> ErrorCounts:
    """Character edits (spaces between words included) of the normalised texts."""
    return align_errors(normalize_for_scoring(reference), normalize_for_scoring(hypothesis))


def corpus_rate(counts: Iterable[ErrorCounts]) -> float:
    """Summed edits over summed reference lengths (see the module docstring)."""
    return sum(counts, ErrorCounts()).rate


def _pairs(references: str | Sequence[str], hypotheses: str | Sequence[str]
           ) -> list[tuple[str, str]]:
    if isinstance(references, str) != isinstance(hypotheses, str):
        raise TypeError("give two strings or two sequences of strings")
    if isinstance(references, str):
        return [(references, hypotheses)]  # type: ignore[list-item]
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    return list(zip(references, hypotheses, strict=True))


def word_error_rate(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """Corpus-level WER of one or several ``(reference, hypothesis)`` pairs."""
    return corpus_rate(word_errors(r, h) for r, h in _pairs(references, hypotheses))


def char_error_rate(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """Corpus-level CER of one or several ``(reference, hypothesis)`` pairs."""
    return corpus_rate(char_errors(r, h) for r, h in _pairs(references, hypotheses))
