"""Phonemisation through espeak-ng: normalised text → IPA tokens with prosody marks.

Token format (what :func:`phonemize` returns and :class:`~emomix.text.SymbolTable` encodes):

- one token per Unicode character of espeak-ng's IPA output — so ``tʃ`` is ``t``, ``ʃ`` and
  the stress marks ``ˈ ˌ`` and the length mark ``ː`` are tokens of their own;
- ``" "`` between words (never two in a row, never first or last);
- the prosody marks of the normalised text (``, . ! ? ; : — " ( )``) in place.

espeak-ng drops punctuation, so the text is cut at the marks, the pieces between them are
phonemised, and the marks are put back. All pieces of one call go to **one** espeak-ng
process, one piece per input line: run without a text argument, espeak-ng 1.51 reads standard
input line by line and writes one line of IPA per input line. Pieces are kept short (at most
:data:`MAX_CHUNK_BYTES` bytes / :data:`MAX_CHUNK_WORDS` words) because espeak-ng splits longer
clauses on its own; if the line count still does not match, each piece is phonemised in a
process of its own, so the result never depends on that behaviour.

The output is deterministic for a given espeak-ng version and voice; results for short texts
are cached in memory (:func:`clear_cache`).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

from emomix.text.errors import FrontendUnavailableError, UnsupportedLanguageError

from .normalization import PROSODY_MARKS

__all__ = [
    "ESPEAK_ENV_VAR",
    "MAX_CHUNK_BYTES",
    "MAX_CHUNK_WORDS",
    "clear_cache",
    "espeak_available",
    "espeak_version",
    "phonemize",
]

#: Environment variable naming the espeak-ng executable (default: ``espeak-ng`` on PATH).
ESPEAK_ENV_VAR = "EMOMIX_ESPEAK_NG"
#: Longest piece, in UTF-8 bytes, given to espeak-ng as one line.
MAX_CHUNK_BYTES = 300
#: Most words given to espeak-ng as one line.
MAX_CHUNK_WORDS = 40
#: Texts up to this many characters have their tokens cached.
CACHE_MAX_CHARS = 1000

_TIMEOUT_S = 60.0
_MARK_SPLIT = re.compile("([" + re.escape("".join(PROSODY_MARKS)) + "])")
_NOT_WORD = re.compile(r"[^\w']+|_")
_LANGUAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*$")
# espeak-ng's language-switch markers such as "(fr)" around foreign words.
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")
# Ties and separators that espeak-ng may put between the letters of one phoneme are removed;
# some voices (en-gb-scotland) write the length mark as an ASCII colon.
_TIES = str.maketrans({":": "ː", **dict.fromkeys("_\u200c\u200d\u0361\u035c")})

_INSTALL_HINT = (
    "install it with `sudo apt-get install espeak-ng` (Debian/Ubuntu), `brew install "
    "espeak-ng` (macOS) or from https://github.com/espeak-ng/espeak-ng/releases, or set "
    f"{ESPEAK_ENV_VAR} to the path of the espeak-ng executable"
)


def _executable() -> str:
    configured = os.environ.get(ESPEAK_ENV_VAR)
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise FrontendUnavailableError(
                f"{ESPEAK_ENV_VAR}={configured!r} is not an executable espeak-ng; fix the "
                f"variable or unset it to use espeak-ng from PATH."
            )
        return found
    found = shutil.which("espeak-ng")
    if found is None:
        raise FrontendUnavailableError(
            f"espeak-ng is not installed (it turns text into phonemes): {_INSTALL_HINT}."
        )
    return found


def espeak_available() -> bool:
    """Whether an espeak-ng executable can be found."""
    try:
        _executable()
    except FrontendUnavailableError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def _version_of(executable: str) -> str:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, timeout=_TIMEOUT_S,
                             check=False).stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FrontendUnavailableError(f"cannot run {executable}: {exc}") from exc
    match = re.search(r"text-to-speech:\s*(\S+)", out)
    return match[1] if match else out.strip()


def espeak_version() -> str:
    """espeak-ng's version string, e.g. ``"1.51"`` (voices record it: phonemes may differ
    between versions)."""
    return _version_of(_executable())


def _run(lines: list[str], language: str) -> list[str]:
    """espeak-ng's output lines for ``lines`` (one process; may not align, see module doc)."""
    executable = _executable()
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    try:
        proc = subprocess.run(
            [executable, "-q", "-b", "1", "--ipa", "-v", language],
            input=payload, capture_output=True, timeout=_TIMEOUT_S, check=False,
        )
    except OSError as exc:
        raise FrontendUnavailableError(f"cannot run {executable}: {exc}; {_INSTALL_HINT}.") \
            from exc
    except subprocess.TimeoutExpired as exc:
        raise FrontendUnavailableError(
            f"espeak-ng did not answer within {_TIMEOUT_S:.0f} s for {len(lines)} line(s)"
        ) from exc
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or "voice does not exist" in stderr:
        if "voice" in stderr.lower():
            raise UnsupportedLanguageError(
                f"espeak-ng has no voice for language {language!r} ({stderr}); list the "
                f"available ones with `espeak-ng --voices`."
            )
        raise FrontendUnavailableError(
            f"espeak-ng failed (exit status {proc.returncode}): {stderr or 'no message'}"
        )
    out = proc.stdout.decode("utf-8", "replace").split("\n")
    if out and out[-1] == "":
        out.pop()
    return out


def _clean(ipa: str) -> str:
    ipa = _LANGUAGE_SWITCH.sub("", ipa).translate(_TIES)
    return " ".join(ipa.split())


def _ipa_lines(chunks: list[str], language: str) -> list[str]:
    if not chunks:
        return []
    lines = _run(chunks, language)
    if len(lines) != len(chunks):  # espeak-ng split or merged lines: one process per chunk
        lines = [" ".join(_run([chunk], language)) for chunk in chunks]
    return [_clean(line) for line in lines]


def _words(piece: str) -> list[str]:
    words = (w.strip("'") for w in _NOT_WORD.sub(" ", piece).split())
    return [w for w in words if any(c.isalnum() for c in w)]


def _chunks(words: list[str]) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for word in words:
        n = len(word.encode("utf-8")) + 1
        if current and (size + n > MAX_CHUNK_BYTES or len(current) >= MAX_CHUNK_WORDS):
            chunks.append(" ".join(current))
            current, size = [], 0
        current.append(word)
        size += n
    if current:
        chunks.append(" ".join(current))
    return chunks


_SPACE = " "


def _phonemize(text: str, language: str) -> tuple[str, ...]:
    # layout: marks and spaces as tokens, ints as indices into `chunks`.
    layout: list[str | int] = []
    chunks: list[str] = []
    for i, part in enumerate(_MARK_SPLIT.split(text)):
        if i % 2:
            layout.append(part)
            continue
        if part[:1].isspace():
            layout.append(_SPACE)
        for j, chunk in enumerate(_chunks(_words(part))):
            if j:
                layout.append(_SPACE)
            layout.append(len(chunks))
            chunks.append(chunk)
        if part[-1:].isspace():
            layout.append(_SPACE)
    ipa = _ipa_lines(chunks, language)
    tokens: list[str] = []
    for item in layout:
        for token in ipa[item] if isinstance(item, int) else (item,):
            if token == _SPACE and (not tokens or tokens[-1] == _SPACE):
                continue
            tokens.append(token)
    while tokens and tokens[-1] == _SPACE:
        tokens.pop()
    return tuple(tokens)


@functools.lru_cache(maxsize=4096)
def _phonemize_cached(text: str, language: str, executable: str) -> tuple[str, ...]:
    return _phonemize(text, language)


def clear_cache() -> None:
    """Forget cached phonemisations (e.g. after switching espeak-ng installations)."""
    _phonemize_cached.cache_clear()


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
        FrontendUnavailableError: espeak-ng is missing or failed.
        UnsupportedLanguageError: espeak-ng has no voice ``language``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        raise UnsupportedLanguageError(
            f"{language!r} is not an espeak-ng voice name such as 'en-us' or 'en-gb'."
        )
    if len(text) <= CACHE_MAX_CHARS:
        return list(_phonemize_cached(text, language, _executable()))
    return list(_phonemize(text, language))
