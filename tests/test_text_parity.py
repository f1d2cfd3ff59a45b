"""Parity: the C++ text frontend (emomix.text) against the Python reference it was ported from.

``tests/text_reference`` is the original Python implementation (normalisation, numerals, sentence
splitting, phonemisation by running the espeak-ng program). Both get the same thousands of inputs
— the corpus sentence generator and random strings built from numbers, money, ordinals, times,
dates, abbreviations, punctuation runs, typographic quotes, other scripts, emoji, control and
combining characters — and must give identical normalised text, warnings, errors, sentence
splits, tokens and ids.

The reference phonemiser starts one espeak-ng process per call; here its process runs are batched
(the chunks of many texts go to one process, as the chunks of one text always did) so that
thousands of texts take seconds. ``test_reference_phonemizer_unbatched`` runs it unmodified on a
sample.
"""

from __future__ import annotations

import random
import sys
import unicodedata
import warnings

import numpy as np
import pytest
import text_reference as ref
import text_reference.phonemizer as ref_phonemizer

import emomix.text as native
from emomix import _native
from emomix.data.dialogue import generate_dialogue
from emomix.data.sentences import generate_sentences

if hasattr(sys, "set_int_max_str_digits"):
    # The reference reads digit strings with int(); Python >= 3.11 refuses more than 4300 digits
    # by default, which the C++ frontend (and the reference before that limit) reads fine.
    sys.set_int_max_str_digits(0)

needs_espeak = pytest.mark.skipif(
    not (native.espeak_available() and ref.espeak_available()),
    reason="needs libespeak-ng in emomix and the espeak-ng program for the reference",
)
same_unicode = pytest.mark.skipif(
    _native.text.unicode_version() != unicodedata.unidata_version,
    reason="the C++ character tables come from another Unicode version than this Python's "
           "(regenerate them with scripts/gen_unicode_tables.py)",
)

# --------------------------------------------------------------------------- inputs

_WORDS = ("the cat sat on a mat and said hello to the world while rain fell quietly over "
          "old London town again tonight yes no maybe").split()
_ABBREVIATIONS = [
    "Mr.", "Mrs.", "Ms.", "Dr.", "mr.", "DR.", "Mr", "Dr", "Prof.", "Capt.", "Lt.", "Sgt.",
    "Col.", "Gen.", "Cmdr.", "Rev.", "Gov.", "Sen.", "Rep.", "Pres.", "Mt.", "Ft.", "St.",
    "Jr.", "Sr.", "Inc.", "Ltd.", "Corp.", "Co.", "Dept.", "Ave.", "Blvd.", "Rd.", "Univ.",
    "Vol.", "etc.", "ETC.", "approx.", "vs.", "vs", "VS", "dept.", "misc.", "fig.", "e.g.",
    "E.G.", "e. g.", "i.e.", "i. e.", "a.k.a.", "No.", "no.", "Jan.", "Feb.", "Mar.", "Apr.",
    "May", "Jun.", "Jul.", "Aug.", "Sep.", "Sept.", "Oct.", "Nov.", "Dec.", "U.S.A.", "U.S.",
    "a.m.", "p.m.", "AM", "pm", "J.", "R.", "ı.e.", "İ.e.",
]
_UNITS = ["km/h", "kph", "mph", "km", "cm", "mm", "kg", "mg", "ml", "mL", "lb", "lbs", "oz",
          "ft", "yd", "mi", "hr", "hrs", "min", "mins", "sec", "secs", "ms", "KB", "kB", "MB",
          "GB", "TB", "Hz", "kHz", "MHz", "GHz", "°C", "°F", "°", "%", " %", "k", "m", "bn",
          " million", " thousand", "st", "nd", "rd", "th", "s", "'s"]
_CURRENCIES = "$£€¥₹¢"
_PUNCTUATION = [".", ",", "!", "?", ";", ":", "!!!", "?!", "?!?", "!?", "...", "....", "…",
                "--", " - ", "—", "–", "-", "(", ")", "[", "]", "{", "}", '"', "'", "“", "”",
                "‘", "’", "«", "»", "`", "´", "/", " / ", "&", "@", "+", "=", "×", "÷", "±",
                "§", "©", "®", "™", "℠", "№", "#", "~", "*", "_", "^", "|", "\\", "<", ">",
                "¡", "¿", "·", "•", ",,", ";;", ", ,", ":;", "⁄", "¤", "‰", "′"]
_SPACES = [" ", "  ", "\t", "\n", "\n\n", "\u00a0", "\u2009", "\u3000", "\x1c", "\u2028",
           "\r\n", " \n "]
_ODD = ["\U0001F600", "\U0001F44D", "\u2764\ufe0f", "1\ufe0f\u20e3", "\x07", "\x1b", "\x00",
        "\u041f\u0440\u0438", "\u03b1\u03b2", "\u65e5\u672c", "\u0645\u0631\u062d\u0628\u0627",
        "\ue000", "\u200b", "\u200d", "\ufeff", "\u00ad", "\u202e", "\ufe0f", "\u0301",
        "e\u0301", "a\u0323\u0302", "\u0345", "\ufb01", "\uff21\uff11", "\u00bd", "2\u00bd",
        "\uff11\u00bc", "\u2153", "\u2155", "\u00b2", "\u2460", "\u2163", "\u212a", "\u017f",
        "\u0130", "\u0131", "\u00df", "\u00e6", "\u0153", "\u00f8", "\u00e9", "\u00d1",
        "\u1e9e", "\u02b0", "\u00aa", "\ud800", "\U0001d7cf", "\u0660", "\u2665", "\u2211",
        "caf\u00e9", "na\u00efve", "\u00c5ngstr\u00f6m", "\u01c6", "\u2122"]


def _number(rng: random.Random) -> str:
    kind = rng.randrange(12)
    if kind == 0:
        return str(rng.randrange(10))
    if kind == 1:
        return str(rng.randrange(10, 10000))
    if kind == 2:
        return f"{rng.randrange(1, 10**7):,}"
    if kind == 3:
        return f"{rng.randrange(0, 1000)}.{rng.randrange(0, 100):0{rng.randrange(1, 4)}d}"
    if kind == 4:
        return "0" * rng.randrange(1, 3) + str(rng.randrange(100))
    if kind == 5:
        return str(rng.randrange(1000, 2100))
    if kind == 6:
        return "." + str(rng.randrange(1, 100))
    if kind == 7:
        return "".join(rng.choice("0123456789") for _ in range(rng.randrange(15, 40)))
    if kind == 8:
        return f"{rng.randrange(24)}:{rng.randrange(70):02d}" + rng.choice(
            ["", ":30", " pm", " a.m.", "am", " P.M.", " p.m. Then"])
    if kind == 9:
        return f"{rng.randrange(1, 40)}/{rng.randrange(0, 40)}"
    if kind == 10:
        return f"{rng.randrange(100)}{rng.choice(['-', '–', ' - ', ' – '])}{rng.randrange(100)}"
    return rng.choice(["1,5", "1,23", "1234,567", "24/7", "3D", "MP3", "'80s", "1990s", "1995s",
                       "80s", "#1", "~5", "-5", "- 5", "1,000,000,000,000,000,000", "10e5",
                       "1.2.3", "3.", "v2.0", "12:60", "25:00", "007"])


def _token(rng: random.Random) -> str:
    kind = rng.randrange(10)
    if kind <= 2:
        w = rng.choice(_WORDS)
        return w.capitalize() if rng.random() < 0.2 else (w.upper() if rng.random() < 0.05 else w)
    if kind == 3:
        return _number(rng)
    if kind == 4:
        n = _number(rng)
        sym = rng.choice(_CURRENCIES)
        return (f"{sym}{n}" if rng.random() < 0.6 else f"{n}{sym}") + rng.choice(
            ["", "", "k", "m", "bn", " million", " billion"])
    if kind == 5:
        return _number(rng) + rng.choice(_UNITS)
    if kind == 6:
        return rng.choice(_ABBREVIATIONS)
    if kind == 7:
        return rng.choice(_PUNCTUATION)
    if kind == 8:
        return rng.choice(["Jan", "Dec", "May", "March", "Sept.", "Oct"]) + " " + str(
            rng.randrange(0, 40)) + rng.choice(["", "th", "st", ", 2024", " 1999", ", 99"])
    return rng.choice(_ODD)


def random_text(rng: random.Random, max_tokens: int = 25) -> str:
    parts = []
    for _ in range(rng.randrange(1, max_tokens)):
        parts.append(_token(rng))
        parts.append(rng.choice(_SPACES) if rng.random() < 0.8 else "")
    return "".join(parts)


def corpus() -> list[str]:
    rng = random.Random(20240607)
    texts = list(generate_sentences(2000, 0)) + generate_dialogue(500, 0)
    texts += [random_text(rng) for _ in range(2000)]
    texts += ["", " ", "\n\t ", "\u3000", "...", "* * *", "\U0001F600", "a", "A.", "x" * 5000,
              "a " * 2500, "a" * 5001, "word " * 1200, "1" * 4400, "$" + "9" * 100,
              "Hello, world.", "Dr. Lee owes me $5!"]
    texts += [" ".join(random_text(rng, 60) for _ in range(40)) for _ in range(5)]  # long
    return texts


CORPUS = corpus()

_SENTENCE_PARTS = [".", "!", "?", "...", "?!", ".\"", ".'", "\u201d", "\u2019", ")", "]", " ", "  ",
                   "\n", "\n\n", " \n \n", "\t", "\u201c", "\u2018", "(", "[", "\"", "'", "A",
                   "b", "7", "\u00c9", "\u00e9", "\u00d7", "Mr", "mr", "e.g", "i.e", "J", "(Mr",
                   "\u201cDr", "word", "Dec", "\u212a", "\u0130", "3.50", "U.S"]


def sentence_text(rng: random.Random) -> str:
    return "".join(rng.choice(_SENTENCE_PARTS) for _ in range(rng.randrange(1, 40)))


SPLIT_CORPUS = CORPUS + [sentence_text(random.Random(i)) for i in range(3000)]


def outcome(fn, *args, **kwargs):
    """("ok", value, warnings) or ("error", type name, message, warnings)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except (ValueError, RuntimeError, TypeError) as exc:
            return ("error", type(exc).__name__, str(exc), [str(w.message) for w in record])
    if isinstance(value, np.ndarray):
        value = value.tolist()
    return ("ok", value, [str(w.message) for w in record])


# --------------------------------------------------------------------------- normalisation


@same_unicode
@pytest.mark.parametrize("strict", [True, False])
def test_normalize_parity(strict):
    mismatches = []
    for text in CORPUS:
        got = outcome(native.normalize, text, strict=strict)
        want = outcome(ref.normalize, text, strict=strict)
        if got != want:
            mismatches.append((text, got, want))
    assert not mismatches, f"{len(mismatches)} of {len(CORPUS)} differ; first: {mismatches[:3]}"


@same_unicode
@pytest.mark.parametrize("max_chars", [400, 40, 7, 1])
def test_split_sentences_parity(max_chars):
    mismatches = [(t, native.split_sentences(t, max_chars), ref.split_sentences(t, max_chars))
                  for t in SPLIT_CORPUS]
    mismatches = [m for m in mismatches if m[1] != m[2]]
    assert not mismatches, f"{len(mismatches)} differ; first: {mismatches[:3]}"


def test_numerals_parity():
    rng = random.Random(7)
    numbers = [*range(0, 2200), 10**18 - 1, 10**18, 10**18 + 5, 10**40, 1000000, 1000001]
    numbers += [rng.randrange(10**rng.randrange(1, 25)) for _ in range(3000)]
    for n in numbers:
        assert native.numerals.cardinal(n) == ref.numerals.cardinal(n), n
        assert native.numerals.ordinal(n) == ref.numerals.ordinal(n), n
        assert native.numerals.year(n) == ref.numerals.year(n), n
        assert native.numerals.digits(str(n)) == ref.numerals.digits(str(n)), n
    for _ in range(2000):
        a, b = rng.randrange(30), rng.randrange(30)
        assert native.numerals.fraction(a, b) == ref.numerals.fraction(a, b), (a, b)
        i, f = str(rng.randrange(10**6)) * rng.randrange(2), str(rng.randrange(10**4))
        assert native.numerals.decimal(i, f) == ref.numerals.decimal(i, f), (i, f)
    for words in ["nineteen ninety", "six", "sixty", "one hundred", "fox", "bus"]:
        assert native.numerals.pluralize_number_words(words) == \
            ref.numerals.pluralize_number_words(words)


# --------------------------------------------------------------------------- phonemisation


class BatchedReference:
    """The reference phonemiser with its espeak-ng runs batched across texts.

    ``prepare(texts)`` runs the reference's own ``_phonemize`` once with a recorder in place of
    its process step to learn every chunk, phonemises all distinct chunks with the reference's
    ``_ipa_lines`` (one process per batch, its own fallback included), then ``phonemize`` runs
    the reference ``_phonemize`` again with those answers."""

    def __init__(self, language: str = "en-us"):
        self.language = language
        self.ipa: dict[str, str] = {}

    def prepare(self, texts):
        chunks: dict[str, None] = {}

        def record(lines, language):
            chunks.update(dict.fromkeys(lines))
            return [""] * len(lines)

        with pytest.MonkeyPatch.context() as m:
            m.setattr(ref_phonemizer, "_ipa_lines", record)
            for t in texts:
                ref_phonemizer._phonemize(t, self.language)
        todo = [c for c in chunks if c not in self.ipa]
        for i in range(0, len(todo), 400):
            batch = todo[i:i + 400]
            lines = ref_phonemizer._ipa_lines(batch, self.language)
            self.ipa.update(zip(batch, lines, strict=True))

    def phonemize(self, text, language="en-us"):
        assert language == self.language
        with pytest.MonkeyPatch.context() as m:
            m.setattr(ref_phonemizer, "_ipa_lines",
                      lambda lines, language: [self.ipa[c] for c in lines])
            return list(ref_phonemizer._phonemize(text, self.language))


def _normalised_corpus():
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for text in CORPUS:
            try:
                out.append(ref.normalize(text, strict=False))
            except ValueError:
                pass
    return out


NORMALISED = _normalised_corpus()
RAW = [random_text(random.Random(3)) for _ in range(300)]  # phonemize() also takes raw text


@pytest.fixture(scope="module")
def oracle():
    batched = BatchedReference()
    batched.prepare(NORMALISED + RAW)
    return batched


@pytest.mark.slow
@needs_espeak
@same_unicode
def test_phonemize_parity(oracle):
    texts = NORMALISED
    native.clear_cache()
    mismatches = []
    for text in texts + RAW:
        got, want = native.phonemize(text), oracle.phonemize(text)
        if got != want:
            mismatches.append((text, "".join(got), "".join(want)))
    assert len(texts) > 3500
    assert not mismatches, f"{len(mismatches)} of {len(texts) + len(RAW)} differ: {mismatches[:3]}"


@pytest.mark.slow
@needs_espeak
@same_unicode
def test_text_to_ids_parity(oracle, monkeypatch):
    tables = [native.DEFAULT_SYMBOLS, ("_", " ", "h", "ə", "l", "o", ",", ".", "ˈ")]
    with monkeypatch.context() as m:
        m.setattr(ref.frontend, "phonemize", oracle.phonemize)
        mismatches = []
        for symbols in tables:
            table = native.SymbolTable(symbols)
            for text in CORPUS[::3]:
                for on_unknown in ("error", "skip"):
                    got = outcome(native.text_to_ids, text, table, strict=False,
                                  on_unknown=on_unknown)
                    want = outcome(ref.text_to_ids, text, symbols, strict=False,
                                   on_unknown=on_unknown)
                    if got != want:
                        mismatches.append((text, got, want))
    assert not mismatches, f"{len(mismatches)} differ; first: {mismatches[:2]}"


@pytest.mark.slow
@needs_espeak
def test_reference_phonemizer_unbatched():
    """The reference exactly as it ran (one espeak-ng process per call) on a sample."""
    texts = NORMALISED[::97]
    for language in ("en-us", "en-gb"):
        native.clear_cache()
        ref.clear_cache()
        for text in texts:
            assert native.phonemize(text, language) == ref.phonemize(text, language), text


@needs_espeak
@pytest.mark.parametrize("language", ["en-us+m3", "EN-US", "en", "en-gb-x-rp", "fr", "de"])
def test_phonemize_voices_parity(language):
    texts = ["hello world, this is a test.", "doctor Smith paid three dollars.",
             "the", "a", "bonjour", "Wagner's symphony (nine) — really?"]
    for text in texts:
        assert native.phonemize(text, language) == ref.phonemize(text, language), (language, text)


@needs_espeak
@pytest.mark.parametrize("language", ["xx-nope", "english", "en_US", "zz-top", "", "-w x",
                                      "en us", "é", 5, None])
def test_unknown_language_parity(language):
    got = outcome(native.phonemize, "hello", language)
    want = outcome(ref.phonemize, "hello", language)
    assert got[:2] == want[:2] == ("error", "UnsupportedLanguageError")
