"""Exceptions and warnings raised by the text frontend.

Every error says what went wrong *and* what to do about it. The input errors subclass
``ValueError`` so callers that already guard against bad arguments catch them; the one
environment error (:class:`FrontendUnavailableError`) subclasses ``RuntimeError``.
"""

from __future__ import annotations

import unicodedata

__all__ = [
    "TextFrontendError",
    "EmptyTextError",
    "TextTooLongError",
    "UnsupportedTextError",
    "UnsupportedLanguageError",
    "UnknownSymbolError",
    "FrontendUnavailableError",
    "UnspeakableCharacterWarning",
    "describe_char",
]


def describe_char(ch: str) -> str:
    """``'😀' (U+1F600 GRINNING FACE)``: a character as a person can identify it in an error."""
    name = unicodedata.name(ch, "")
    if not name:
        category = unicodedata.category(ch)
        name = {"Cc": "control character", "Cs": "surrogate", "Co": "private use character",
                "Cn": "unassigned code point"}.get(category, f"category {category}")
    shown = ch if ch.isprintable() and not ch.isspace() else ascii(ch)[1:-1]
    return f"{shown!r} (U+{ord(ch):04X} {name})"


class TextFrontendError(ValueError):
    """Base class of the frontend's input errors (all are ``ValueError``)."""


class EmptyTextError(TextFrontendError):
    """The text is empty, only whitespace, or has no words left after normalisation."""


class TextTooLongError(TextFrontendError):
    """The text is longer than :data:`emomix.text.MAX_CHARS`.

    Attributes: ``length`` (characters given), ``limit``.
    """

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit
        super().__init__(
            f"text is {length} characters long; the limit for one call is {limit} "
            f"(emomix.text.MAX_CHARS). Split it with emomix.text.split_sentences(text) "
            f"and synthesize the pieces one after another."
        )


class UnsupportedTextError(TextFrontendError):
    """The text contains characters that cannot be spoken (emoji, control characters,
    letters of a script other than Latin, symbols without a spoken form).

    Attributes: ``char``, ``codepoint`` (``"U+1F600"``) and ``position`` (index in the text
    as given) of the first such character, and ``problems``: every ``(position, char)``.
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        if not problems:
            raise ValueError("UnsupportedTextError needs at least one problem")
        self.problems = list(problems)
        self.position, self.char = self.problems[0]
        self.codepoint = f"U+{ord(self.char):04X}"
        shown = ", ".join(f"{describe_char(c)} at position {p}" for p, c in self.problems[:5])
        more = len(self.problems) - 5
        if more > 0:
            shown += f" and {more} more"
        super().__init__(
            f"cannot speak {shown}. The text frontend reads English written in Latin "
            f"script, with digits, common punctuation and symbols: remove these characters "
            f"or write them out in words, or pass strict=False to drop them with a warning."
        )


class UnsupportedLanguageError(TextFrontendError):
    """espeak-ng has no voice for the requested language code."""


class UnknownSymbolError(TextFrontendError):
    """Tokens that are not in the symbol table. ``symbols`` lists each once, in order of
    first appearance."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = list(symbols)
        shown = ", ".join(describe_char(s) if len(s) == 1 else repr(s) for s in self.symbols)
        super().__init__(
            f"{len(self.symbols)} symbol(s) not in the symbol table: {shown}. The voice was "
            f"trained on a different phoneme inventory (another language or espeak-ng "
            f"version?); use a voice whose symbol table covers this language, or pass "
            f"on_unknown='skip' to leave these symbols out."
        )


class FrontendUnavailableError(RuntimeError):
    """The phonemiser backend (espeak-ng) is not installed or failed to run."""


class UnspeakableCharacterWarning(UserWarning):
    """Issued by ``normalize(..., strict=False)`` when it drops unspeakable characters."""


def _from_native(kind: str, message: str, detail: dict) -> Exception:
    """The exception for an error that the C++ frontend (``emomix._native.text``) reported.

    ``kind`` names the rule (``emomix::text::TextError::Kind``), ``detail`` carries its data:
    ``length``, ``limit``, ``problems`` (``(position, char)``), ``language``, ``symbols``,
    ``text`` (the text's first 60 characters) and ``dropped`` (what ``strict=False`` removed
    before the error; kept on the exception as ``_dropped`` so the caller can still warn).
    """
    exc: Exception
    if kind == "too_long":
        exc = TextTooLongError(detail["length"], detail["limit"])
    elif kind == "empty":
        exc = EmptyTextError("text is empty or only whitespace: give at least one word to speak.")
    elif kind == "nothing_to_say":
        exc = EmptyTextError(
            f"nothing to speak in {detail['text']!r}: after normalisation no words are left "
            f"(only punctuation, symbols or dropped characters). Give at least one word."
        )
    elif kind == "no_symbols":
        exc = EmptyTextError(
            f"no phoneme of {detail['text']!r} is in the symbol table; check the voice's language."
        )
    elif kind == "unsupported_text":
        exc = UnsupportedTextError(detail["problems"])
    elif kind == "unsupported_language":
        exc = UnsupportedLanguageError(message)
    elif kind == "unknown_symbol":
        exc = UnknownSymbolError(detail["symbols"])
    elif kind == "unavailable":
        exc = FrontendUnavailableError(message)
    else:
        exc = TextFrontendError(message)
    if detail.get("dropped"):
        exc._dropped = detail["dropped"]  # type: ignore[attr-defined]
    return exc
