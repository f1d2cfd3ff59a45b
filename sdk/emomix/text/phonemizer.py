"""Phonemisation with libespeak-ng, in process: normalised text → IPA tokens with prosody marks.

Token format (what :func:`phonemize` returns and :class:`~emomix.text.SymbolTable` encodes):

- one token per Unicode character of espeak-ng's IPA output — so ``tʃ`` is ``t``, ``ʃ`` and
  the stress marks ``ˈ ˌ`` and the length mark ``ː`` are tokens of their own;
- ``" "`` between words (never two in a row, never first or last);
- the prosody marks of the normalised text (``, . ! ? ; : — " ( )``) in place.

The work is done by the C++ frontend (``emomix::text::phonemize``, native/src/text/phonemize.cpp),
which links libespeak-ng and gives exactly the tokens of the ``espeak-ng --ipa`` program: the text
is cut at the marks, the words between them are phonemised in short pieces and the marks are put
back. espeak-ng is not thread-safe; the frontend serialises calls behind one lock (the GIL is
released meanwhile). Results for texts up to :data:`CACHE_MAX_CHARS` characters are cached
(:func:`clear_cache`).
"""

from __future__ import annotations

from .. import _native
from .errors import UnsupportedLanguageError

__all__ = [
    "CACHE_MAX_CHARS",
    "clear_cache",
    "espeak_available",
    "espeak_version",
    "phonemize",
]

#: Texts up to this many characters have their tokens cached.
CACHE_MAX_CHARS: int = _native.text.CACHE_MAX_CHARS


def check_language(language: object) -> str:
    """``language`` if it can be an espeak-ng voice name (ASCII letters, digits, ``_+-``; the
    C++ frontend checks the rest), else :class:`UnsupportedLanguageError`."""
    if not isinstance(language, str) or not language.isascii() or "\0" in language:
        raise UnsupportedLanguageError(
            f"{language!r} is not an espeak-ng voice name such as 'en-us' or 'en-gb'."
        )
    return language


def espeak_available() -> bool:
    """Whether phonemisation works: emomix was built with libespeak-ng and its data loads."""
    return bool(_native.text.espeak_available())


def espeak_version() -> str:
    """espeak-ng's version string, e.g. ``"1.51"`` (voices record it: phonemes may differ
    between versions). Raises :class:`FrontendUnavailableError` without espeak-ng."""
    return _native.text.espeak_version()


def clear_cache() -> None:
    """Forget cached phonemisations."""
    _native.text.clear_cache()


def phonemize(text: str, language: str = "en-us") -> list[str]:
    """IPA tokens for already normalised text (see :func:`emomix.text.normalize`).

    Args:
        text: normalised text; characters other than letters, digits, apostrophes and
            :data:`~emomix.text.PROSODY_MARKS` separate words and are not spoken.
        language: an espeak-ng voice name (``espeak-ng --voices``), e.g. ``"en-us"``,
            ``"en-gb"``.

    Returns:
        The token list described in the module docstring; empty if the text has no words
        and no marks.

    Raises:
        FrontendUnavailableError: emomix was built without libespeak-ng, or its data is missing.
        UnsupportedLanguageError: espeak-ng has no voice ``language``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    return list(_native.text.phonemize(text, check_language(language)))
