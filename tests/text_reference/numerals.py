"""English number words: cardinals, ordinals, years, decimals, fractions, money.

Pure functions on integers and digit strings; the regular expressions that find numbers in
running text live in :mod:`emomix.text.normalization`. American English ("one hundred
five", no "and").
"""

from __future__ import annotations

__all__ = [
    "cardinal",
    "ordinal",
    "year",
    "digits",
    "decimal",
    "fraction",
    "pluralize_number_words",
]

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = (
    (10**15, "quadrillion"),
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (10**3, "thousand"),
)
#: Integers at or above this are read digit by digit (no common names beyond quadrillions).
CARDINAL_LIMIT = 10**18

_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
    if rest or not hundreds:
        if rest < 20:
            parts.append(_ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            parts.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    return " ".join(parts)


def cardinal(n: int) -> str:
    """``-1234`` → ``"minus one thousand two hundred thirty-four"``."""
    if n < 0:
        return "minus " + cardinal(-n)
    if n >= CARDINAL_LIMIT:
        return digits(str(n))
    if n < 1000:
        return _below_thousand(n)
    parts = []
    for value, name in _SCALES:
        count, n = divmod(n, value)
        if count:
            parts.append(f"{_below_thousand(count)} {name}")
    if n:
        parts.append(_below_thousand(n))
    return " ".join(parts)


def _ordinal_word(word: str) -> str:
    if word in _ORDINAL_IRREGULAR:
        return _ORDINAL_IRREGULAR[word]
    if word.endswith("y"):
        return word[:-1] + "ieth"
    return word + "th"


def ordinal(n: int) -> str:
    """``23`` → ``"twenty-third"``; ``100`` → ``"one hundredth"``."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    first, hyphen, unit = last.rpartition("-")
    last = first + hyphen + _ordinal_word(unit)
    return head + sep + last


def year(n: int) -> str:
    """A year as people say it: ``1999`` → ``"nineteen ninety-nine"``, ``1905`` →
    ``"nineteen oh five"``, ``1900`` → ``"nineteen hundred"``, ``2005`` → ``"two thousand
    five"``, ``2024`` → ``"twenty twenty-four"``. Outside 1010..2099 this is :func:`cardinal`.
    """
    if not 1010 <= n <= 2099 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {cardinal(low)}"
    return f"{cardinal(high)} {cardinal(low)}"


def digits(text: str) -> str:
    """``"007"`` → ``"zero zero seven"``: each digit of a digit string."""
    return " ".join(_ONES[int(d)] for d in text if d.isdigit())


def decimal(integer_part: str, fraction_part: str) -> str:
    """``("3", "14")`` → ``"three point one four"``; ``("", "5")`` → ``"point five"``.

    The integer part is read as a cardinal (leading zeros ignored), the fraction digit by
    digit.
    """
    head = cardinal(int(integer_part)) + " " if integer_part else ""
    return f"{head}point {digits(fraction_part)}"


def fraction(numerator: int, denominator: int) -> str:
    """``(3, 4)`` → ``"three quarters"``; ``(1, 2)`` → ``"one half"``; ``(5, 8)`` →
    ``"five eighths"``."""
    if denominator == 2:
        name = "half" if numerator == 1 else "halves"
    elif denominator == 4:
        name = "quarter" if numerator == 1 else "quarters"
    elif denominator in (0, 1):
        return f"{cardinal(numerator)} over {cardinal(denominator)}"
    else:
        name = ordinal(denominator) + ("" if numerator == 1 else "s")
    return f"{cardinal(numerator)} {name}"


def pluralize_number_words(words: str) -> str:
    """``"nineteen ninety"`` → ``"nineteen nineties"`` (for decades such as ``1990s``)."""
    if words.endswith("y"):
        return words[:-1] + "ies"
    if words.endswith(("x", "s")):
        return words + "es"
    return words + "s"
