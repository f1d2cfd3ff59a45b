"""Text normalisation: turn what a game or app writes into what a speaker says.

``normalize("Dr. Smith paid $3.50 on Jan. 5th, 1999 at 3:30 pm!")`` →
``"doctor Smith paid three dollars and fifty cents on January fifth, nineteen ninety-nine
at three thirty PM!"``

The steps, in order (see docs/text.md for the full policy):

1. length and emptiness checks (:data:`MAX_CHARS`, :class:`EmptyTextError`);
2. screening of every character of the text *as given*: unspeakable characters (emoji,
   control characters, letters of non-Latin scripts, symbols without a spoken form) raise
   :class:`UnsupportedTextError` with their positions, or with ``strict=False`` are dropped
   with an :class:`UnspeakableCharacterWarning`; invisible formatting characters (zero-width
   joiners, BOMs, soft hyphens, variation selectors, bidi marks) are dropped silently;
3. Unicode NFKC, then typographic quotes, dashes and ellipses to ASCII equivalents;
4. abbreviations, money, percentages, units, times, dates, ordinals, fractions, ranges,
   decades, years and all remaining numbers to English words;
5. symbols to words (``&`` → "and"), markup characters (``* _ ~ ^ | \\ < >``) removed;
6. punctuation tidied into prosody marks (``, . ! ? ; : — " ( )``), whitespace collapsed.

English (American) only: the words produced are English whatever espeak-ng voice is used
afterwards.
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
import warnings
from collections.abc import Callable

from emomix.text.errors import (
    EmptyTextError,
    TextTooLongError,
    UnspeakableCharacterWarning,
    UnsupportedTextError,
    describe_char,
)

from . import numerals

__all__ = ["MAX_CHARS", "PROSODY_MARKS", "normalize"]

#: Longest text (in characters, as given) that one call accepts. Longer text must be split,
#: e.g. with :func:`emomix.text.split_sentences`.
MAX_CHARS = 5000

#: Punctuation that survives normalisation and becomes prosody tokens.
PROSODY_MARKS = (",", ".", "!", "?", ";", ":", "—", '"', "(", ")")

# --------------------------------------------------------------------------- characters

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

# Invisible formatting: dropped silently wherever they appear.
_INVISIBLE = frozenset(
    "\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064"
    "\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

# Symbols (non-ASCII, as given or after NFKC) that have a spoken form or a mapping below.
_KNOWN_SYMBOLS = frozenset("€£¥₹¢°×÷±§©®™℠№¤")

# Characters replaced before NFKC (NFKC would turn them into something worse).
_PRE_NFKC = {"™": " ", "℠": " ", "®": " ", "№": " number "}

# Characters replaced after NFKC.
_CHAR_MAP = {
    **dict.fromkeys("“”„‟«»〝〞＂", '"'),
    **dict.fromkeys("‘’‚‛‹›′`´", "'"),
    **dict.fromkeys("‐‑‒−⁃", "-"),
    **dict.fromkeys("—―⸺⸻", "—"),
    **dict.fromkeys("·•‧∙◦", " "),
    **dict.fromkeys("[{", "("),
    **dict.fromkeys("]}", ")"),
    "¡": "",
    "¿": "",
    "⁄": "/",
    "¤": " ",
}

# ASCII characters that are formatting rather than speech: removed.
_MARKUP = "*_^|\\<>~"

_VULGAR_FRACTION = re.compile(r"(\d?)\s?([¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞])")


def _is_latin_letter(ch: str) -> bool:
    return unicodedata.category(ch).startswith("L") and unicodedata.name(ch, "").startswith(
        "LATIN "
    )


def _char_status(ch: str, previous_ok_letter: bool) -> str:
    """``"ok"``, ``"drop"`` (invisible, silently) or ``"bad"`` (unspeakable)."""
    if ch.isspace():
        return "ok"
    code = ord(ch)
    if ch in _INVISIBLE or 0xFE00 <= code <= 0xFE0F or 0xE0000 <= code <= 0xE01EF:
        return "drop"
    if ch in _KNOWN_SYMBOLS or ch in _CHAR_MAP:
        return "ok"
    category = unicodedata.category(ch)
    if category == "Mn":
        return "ok" if previous_ok_letter else "bad"
    for c in unicodedata.normalize("NFKC", ch):
        if " " <= c <= "~" or c in _KNOWN_SYMBOLS or c in _CHAR_MAP:
            continue
        cat = unicodedata.category(c)
        if cat.startswith("L"):
            if not _is_latin_letter(c):
                return "bad"
        elif cat == "Mn":
            if not previous_ok_letter:
                return "bad"
        elif cat.startswith("P"):
            continue  # punctuation without a spoken form: removed later, harmless
        elif cat.startswith("Z") and c.isspace():
            continue
        else:  # digits of other scripts, symbols, emoji, controls, private use, unassigned
            return "bad"
    return "ok"


def _stacklevel_outside_package() -> int:
    """``warnings.warn`` stacklevel that points at the first caller outside this package."""
    frame = sys._getframe(1)  # the function that will call warnings.warn
    level = 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) \
            == _PACKAGE_DIR:
        frame = frame.f_back
        level += 1
    return level


def _screen(text: str, strict: bool) -> str:
    """Drop invisible characters; raise on (or, non-strict, drop) unspeakable ones."""
    out: list[str] = []
    problems: list[tuple[int, str]] = []
    previous_ok_letter = False
    for position, ch in enumerate(text):
        status = _char_status(ch, previous_ok_letter)
        if status == "ok":
            out.append(ch)
            if unicodedata.category(ch) != "Mn":
                previous_ok_letter = unicodedata.category(ch).startswith("L")
        elif status == "bad":
            problems.append((position, ch))
            out.append(" ")
            previous_ok_letter = False
    if problems:
        if strict:
            raise UnsupportedTextError(problems)
        shown = ", ".join(f"{describe_char(c)} at position {p}" for p, c in problems[:5])
        if len(problems) > 5:
            shown += f" and {len(problems) - 5} more"
        warnings.warn(
            f"normalize(strict=False) dropped {len(problems)} unspeakable character(s): "
            f"{shown}",
            UnspeakableCharacterWarning,
            stacklevel=_stacklevel_outside_package(),
        )
    return "".join(out)


def _vulgar_fraction(match: re.Match[str]) -> str:
    numerator, _, denominator = unicodedata.normalize("NFKC", match[2]).partition("⁄")
    num, den = int(numerator), int(denominator)
    words = numerals.fraction(num, den)
    if match[1]:
        if num == 1:
            words = "a " + words.split(" ", 1)[1]
        return f"{match[1]} and {words} "
    return f" {words} "


def _to_ascii_punctuation(text: str) -> str:
    for ch, replacement in _PRE_NFKC.items():
        text = text.replace(ch, replacement)
    text = _VULGAR_FRACTION.sub(_vulgar_fraction, text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(_CHAR_MAP.get(c, c) for c in text)
    # Combining marks that NFKC could not compose onto their letter: the letter is enough.
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return re.sub(r"\s+", " ", text)


# --------------------------------------------------------------------------- helpers

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"


def _keeps_period(text: str, end: int) -> bool:
    """Whether an abbreviation's period at ``text[end - 1]`` also ends the sentence."""
    rest = text[end:]
    return not rest.strip() or re.match(r"\s+[\"(]?[A-Z]", rest) is not None


def _read_number(token: str, *, allow_year: bool = True) -> str:
    """Any number token matched by ``_NUM`` (optionally with a leading ``-``)."""
    negative = token.startswith("-")
    token = token.lstrip("-")
    has_commas = "," in token
    integer, dot, fraction = token.replace(",", "").partition(".")
    if dot:
        words = numerals.decimal(integer, fraction)
    elif len(integer) > 1 and integer.startswith("0"):
        words = numerals.digits(integer)
    elif allow_year and not has_commas and not negative and len(integer) == 4:
        words = numerals.year(int(integer))
    else:
        words = numerals.cardinal(int(integer))
    return ("minus " if negative else "") + words


def _is_one(token: str) -> bool:
    return token.lstrip("-") == "1"


def _sub(pattern: str, repl: Callable[[re.Match[str]], str] | str, text: str,
         flags: int = 0) -> str:
    return re.sub(pattern, repl, text, flags=flags)


# --------------------------------------------------------------------------- abbreviations

_TITLES = {  # read before a name; the period never ends a sentence
    "Mr": "mister", "Mrs": "missus", "Ms": "miz", "Dr": "doctor", "Prof": "professor",
    "Capt": "captain", "Lt": "lieutenant", "Sgt": "sergeant", "Col": "colonel",
    "Gen": "general", "Cmdr": "commander", "Rev": "reverend", "Gov": "governor",
    "Sen": "senator", "Rep": "representative", "Pres": "president", "Mt": "mount",
    "Ft": "fort",
}
_TRAILING = {  # may end a sentence: the period is kept when it does
    "Jr": "junior", "Sr": "senior", "Inc": "incorporated", "Ltd": "limited",
    "Corp": "corporation", "Co": "company", "Dept": "department", "Ave": "avenue",
    "Blvd": "boulevard", "Rd": "road", "Univ": "university", "Vol": "volume",
}
_LOWER = {  # case-insensitive, period required; may end a sentence
    "etc": "et cetera", "approx": "approximately", "vs": "versus", "dept": "department",
    "misc": "miscellaneous", "fig": "figure",
}
_MONTHS = {
    "Jan": "January", "Feb": "February", "Mar": "March", "Apr": "April", "Jun": "June",
    "Jul": "July", "Aug": "August", "Sep": "September", "Sept": "September",
    "Oct": "October", "Nov": "November", "Dec": "December",
}
_MONTH_NAMES = sorted(
    {*_MONTHS, *_MONTHS.values(), "May"}, key=len, reverse=True
)


def _expand_abbreviations(text: str) -> str:
    def period_aware(word: str) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            return word + ("." if _keeps_period(m.string, m.end()) else "")
        return repl

    text = _sub(r"\be\.\s?g\.(?!\w)", "for example", text, re.I)
    text = _sub(r"\bi\.\s?e\.(?!\w)", "that is", text, re.I)
    text = _sub(r"\ba\.k\.a\.(?!\w)", "also known as", text, re.I)
    text = _sub(r"\bvs\b(?!\.)", "versus", text, re.I)
    text = _sub(r"\bNo\.\s?(?=\d)", "number ", text, re.I)
    text = _sub(r"\bSt\.(?=\s+[A-Z])", "Saint", text)
    text = _sub(r"\bSt\.", period_aware("street"), text)
    for short in ("Mr", "Mrs", "Ms", "Dr"):  # British style: no period
        text = _sub(rf"\b{short}\b(?!\.)(?=\s+[A-Z])", _TITLES[short], text)
    for short, word in _TITLES.items():
        text = _sub(rf"\b{short}\.", word, text, re.I if short in ("Mr", "Mrs", "Ms", "Dr")
                    else 0)
    for short, word in _TRAILING.items():
        text = _sub(rf"\b{short}\.", period_aware(word), text)
    for short, word in _LOWER.items():
        text = _sub(rf"\b{short}\.", period_aware(word), text, re.I)
    for short, word in _MONTHS.items():
        text = _sub(rf"\b{short}\.", word, text)
    return text


def _dotted_acronyms(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        letters = m[0].replace(".", "").upper()
        return letters + ("." if not m.string[m.end():].strip() else "")
    return _sub(r"\b(?:[A-Za-z]\.){2,}(?!\w)", repl, text)


# --------------------------------------------------------------------------- numbers

_CURRENCIES = {  # symbol: (unit, units, subunit, subunits)
    "$": ("dollar", "dollars", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "€": ("euro", "euros", "cent", "cents"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_SCALE_WORDS = {
    "k": "thousand", "K": "thousand", "m": "million", "M": "million", "mn": "million",
    "b": "billion", "B": "billion", "bn": "billion", "thousand": "thousand",
    "million": "million", "billion": "billion", "trillion": "trillion",
}
_SCALE = r"(?:(?P<scale>k|K|mn|m|M|bn|b|B)\b|\s(?P<scale_word>thousand|million|billion|trillion)\b)"
_CUR = r"[$£€¥₹]"


def _money(amount: str, symbol: str, scale: str | None, negative: bool) -> str:
    unit, units, subunit, subunits = _CURRENCIES[symbol]
    prefix = "minus " if negative else ""
    if scale:
        return f"{prefix}{_read_number(amount, allow_year=False)} {_SCALE_WORDS[scale]} {units}"
    integer, _, fraction = amount.replace(",", "").partition(".")
    if fraction and (len(fraction) != 2 or subunit is None):
        return f"{prefix}{numerals.decimal(integer, fraction)} {units}"
    whole = int(integer or "0")
    cents = int(fraction or "0")
    parts = []
    if whole or not cents:
        parts.append(f"{numerals.cardinal(whole)} {unit if whole == 1 else units}")
    if cents:
        parts.append(f"{numerals.cardinal(cents)} {subunit if cents == 1 else subunits}")
    return prefix + " and ".join(parts)


def _currency(text: str) -> str:
    def prefix(m: re.Match[str]) -> str:
        return " " + _money(m["amount"], m["symbol"], m["scale"] or m["scale_word"],
                            bool(m["neg"])) + " "

    def suffix(m: re.Match[str]) -> str:
        return " " + _money(m["amount"], m["symbol"], m["scale"] or m["scale_word"],
                            bool(m["neg"])) + " "

    text = _sub(rf"(?<![\w.])(?P<neg>-)?(?P<symbol>{_CUR})\s?(?P<amount>{_NUM}){_SCALE}?",
                prefix, text)
    text = _sub(rf"(?<![\w.])(?P<neg>-)?(?P<amount>{_NUM}){_SCALE}?\s?(?P<symbol>{_CUR})",
                suffix, text)
    text = _sub(rf"(?<![\w.])(?P<amount>{_NUM})\s?¢",
                lambda m: " " + ("one cent" if _is_one(m["amount"]) else
                                 _read_number(m["amount"], allow_year=False) + " cents") + " ",
                text)
    return text


_UNITS = {  # written form (case-sensitive): (singular, plural)
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mph": ("mile per hour", "miles per hour"),
    "km": ("kilometer", "kilometers"), "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"), "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"), "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"), "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"), "oz": ("ounce", "ounces"), "ft": ("foot", "feet"),
    "yd": ("yard", "yards"), "mi": ("mile", "miles"), "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"), "min": ("minute", "minutes"), "mins": ("minute", "minutes"),
    "sec": ("second", "seconds"), "secs": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"), "KB": ("kilobyte", "kilobytes"),
    "kB": ("kilobyte", "kilobytes"), "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"), "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"), "GHz": ("gigahertz", "gigahertz"),
    "°C": ("degree Celsius", "degrees Celsius"), "°F": ("degree Fahrenheit",
                                                        "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
}
_UNIT_PATTERN = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))


def _units_and_percent(text: str) -> str:
    def unit(m: re.Match[str]) -> str:
        singular, plural = _UNITS[m["unit"]]
        word = singular if _is_one(m["amount"]) else plural
        return f" {_read_number(m['amount'], allow_year=False)} {word} "

    def percent(m: re.Match[str]) -> str:
        return f" {_read_number(m['amount'], allow_year=False)} percent "

    num = rf"(?<![\w.])(?P<amount>-?(?:{_NUM}))"
    text = _sub(rf"{num}\s?%", percent, text)
    text = _sub(rf"{num}\s?(?P<unit>{_UNIT_PATTERN})(?![\w/])", unit, text)
    text = _sub(r"(?<!\w)km/h(?!\w)", " kilometers per hour ", text)
    text = _sub(r"°\s?C\b", " degrees Celsius ", text)
    text = _sub(r"°\s?F\b", " degrees Fahrenheit ", text)
    return text


def _times(text: str) -> str:
    def meridiem(m: re.Match[str]) -> str:
        if not m["ampm"]:
            return ""
        word = " AM" if m["ampm"].lower() == "a" else " PM"
        if m["ampm_tail"] and m[0].endswith(".") and _keeps_period(m.string, m.end()):
            word += "."
        return word

    ampm = r"(?:\s?(?P<ampm>[AaPp])\.?\s?[Mm](?P<ampm_tail>\.)?(?!\w))?"

    def clock(m: re.Match[str]) -> str:
        hour, minute = int(m["h"]), int(m["m"])
        if hour > 24 or minute > 59:
            return m[0]
        words = numerals.cardinal(hour)
        if minute == 0:
            if not m["ampm"]:
                words += " o'clock" if hour <= 12 else " hundred"
        elif minute < 10:
            words += f" oh {numerals.cardinal(minute)}"
        else:
            words += f" {numerals.cardinal(minute)}"
        if m["s"]:
            words += f" and {numerals.cardinal(int(m['s']))} seconds"
        return f" {words}{meridiem(m)} "

    def hour_only(m: re.Match[str]) -> str:
        if int(m["h"]) > 12:
            return m[0]
        return f" {numerals.cardinal(int(m['h']))}{meridiem(m)} "

    text = _sub(rf"(?<![\w.:])(?P<h>\d{{1,2}}):(?P<m>\d{{2}})(?::(?P<s>\d{{2}}))?(?![\d:]){ampm}",
                clock, text)
    text = _sub(rf"(?<![\w.:])(?P<h>\d{{1,2}})(?=\s?[AaPp]\.?\s?[Mm]\.?(?!\w)){ampm}",
                hour_only, text)
    return text


def _dates(text: str) -> str:
    months = "|".join(_MONTH_NAMES)

    def repl(m: re.Match[str]) -> str:
        day = int(m["day"])
        if not 1 <= day <= 31:
            return m[0]
        month = _MONTHS.get(m["month"], m["month"])
        words = f"{month} {numerals.ordinal(day)}"
        if m["year"]:
            words += f", {numerals.year(int(m['year']))}"
        return words

    return _sub(
        rf"\b(?P<month>{months})\.?\s(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?![:\d])"
        rf"(?:,?\s(?P<year>\d{{4}})\b(?![\d.,]\d))?",
        repl, text,
    )


def _numbers(text: str) -> str:
    text = _sub(r"(?<![\w.])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b",
                lambda m: f" {numerals.ordinal(int(m['n'].replace(',', '')))} ", text, re.I)
    text = _sub(r"(?<![\w/])24/7(?![\w/])", " twenty-four seven ", text)
    text = _sub(r"(?<![\d/.])(?P<a>\d+)/(?P<b>\d+)(?![\d/])",
                lambda m: f" {numerals.fraction(int(m['a']), int(m['b']))} ", text)
    text = _sub(r"(?<=\d)\s/\s(?=\d)", " divided by ", text)
    text = _sub(r"(?<=\d)/(?=\d)", " slash ", text)
    # Decades: 1990s, '90s, 80s.
    text = _sub(r"(?<![\w'])(?P<n>\d{4})s\b",
                lambda m: f" {numerals.pluralize_number_words(numerals.year(int(m['n'])))} "
                if m["n"].endswith("0") else m[0], text)
    text = _sub(r"(?<!\w)'?(?P<n>[1-9]0)s\b",
                lambda m: f" {numerals.pluralize_number_words(numerals.cardinal(int(m['n'])))} ",
                text)
    # Ranges and scores: 5-10, 1990–1999, 3-2.
    text = _sub(rf"(?<![\w.])(?P<a>{_NUM})\s?[–-]\s?(?P<b>{_NUM})(?![\w.])",
                lambda m: f" {_read_number(m['a'])} to {_read_number(m['b'])} ", text)
    text = text.replace("–", " — ")
    # Signed numbers, then everything else.
    text = _sub(rf"(?<![\w.,)])-(?P<n>{_NUM})",
                lambda m: f" {_read_number('-' + m['n'])} ", text)
    text = _sub(_NUM, lambda m: f" {_read_number(m[0])} ", text)
    return text


# --------------------------------------------------------------------------- symbols, marks

_SYMBOL_WORDS = {
    "&": " and ", "@": " at ", "+": " plus ", "=": " equals ", "×": " times ",
    "÷": " divided by ", "±": " plus or minus ", "%": " percent ", "°": " degrees ",
    "§": " section ", "©": " copyright ", "$": " dollars ", "£": " pounds ", "€": " euros ",
    "¥": " yen ", "₹": " rupees ", "¢": " cents ",
}


def _number_prefixes(text: str) -> str:
    text = _sub(r"#\s?(?=\d)", " number ", text)
    return _sub(r"~\s?(?=[-.]?\d)", " about ", text)


def _symbols(text: str) -> str:
    text = _sub(r"(?<=[A-Za-z])\s?/\s?(?=[A-Za-z])", " or ", text)
    for symbol, words in _SYMBOL_WORDS.items():
        text = text.replace(symbol, words)
    for ch in _MARKUP + "#/":
        text = text.replace(ch, " ")
    return text


def _tidy_punctuation(text: str) -> str:
    text = _sub(r"\s*-{2,}\s*|\s+-\s+", " — ", text)
    text = _sub(r"(?<!\w)-+|-+(?!\w)", " ", text)  # hyphens not joining two words
    text = _sub(r"\s*—[\s—]*", " — ", text)
    text = _sub(r"[!?]*\?[!?]*!+[!?]*|[!?]*![!?]*\?+[!?]*", "?!", text)
    text = _sub(r"!{2,}", "!", text)
    text = _sub(r"\?{2,}", "?", text)
    text = _sub(r"\.{2,}", "...", text)
    text = _sub(r"([,;:])[\s,;:]*\1", r"\1", text)
    text = _sub(r",\s*(?=[.!?;:])", "", text)
    # Any remaining character that is neither a letter, an apostrophe, a word-joining
    # hyphen nor a prosody mark carries no sound.
    text = "".join(
        c if c.isalpha() or c in "'- " or c in PROSODY_MARKS else " " for c in text
    )
    text = _sub(r"\s+", " ", text)
    text = _sub(r"\s+([,.!?;:)])", r"\1", text)
    text = _sub(r"\(\s+", "(", text)
    text = _sub(r"([,!?;:)])(?=[^\s,.!?;:)\"'—])", r"\1 ", text)
    text = _sub(r"(?<=[a-z])\.(?=[A-Za-z])", ". ", text)
    text = _sub(r"^[\s,;:]+", "", text)
    return text.strip()


# --------------------------------------------------------------------------- entry point


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
    if len(text) > MAX_CHARS:
        raise TextTooLongError(len(text), MAX_CHARS)
    if not text.strip():
        raise EmptyTextError(
            "text is empty or only whitespace: give at least one word to speak."
        )
    result = _screen(text, strict)
    result = _to_ascii_punctuation(result)
    result = _dates(result)
    result = _expand_abbreviations(result)
    result = _times(result)
    result = _dotted_acronyms(result)
    result = _number_prefixes(result)
    result = _currency(result)
    result = _units_and_percent(result)
    result = _numbers(result)
    result = _symbols(result)
    result = _tidy_punctuation(result)
    if not any(c.isalpha() for c in result):
        raise EmptyTextError(
            f"nothing to speak in {text[:60]!r}: after normalisation no words are left "
            f"(only punctuation, symbols or dropped characters). Give at least one word."
        )
    return result
