"""English number words: cardinals, ordinals, years, decimals, fractions.

Pure functions on integers and digit strings, computed by the C++ frontend
(``emomix::text::numerals``, native/src/text/numerals.cpp), which the normaliser uses. American
English ("one hundred five", no "and").
"""

from __future__ import annotations

from .. import _native

__all__ = [
    "cardinal",
    "ordinal",
    "year",
    "digits",
    "decimal",
    "fraction",
    "pluralize_number_words",
]

#: Integers at or above this are read digit by digit (no common names beyond quadrillions).
CARDINAL_LIMIT = 10**18


def _digits_of(n: int, what: str = "n") -> str:
    if n < 0:
        raise ValueError(f"{what} must be >= 0, got {n}")
    return str(int(n))


def cardinal(n: int) -> str:
    """``-1234`` → ``"minus one thousand two hundred thirty-four"``."""
    if n < 0:
        return "minus " + cardinal(-n)
    return _native.text.cardinal(_digits_of(n))


def ordinal(n: int) -> str:
    """``23`` → ``"twenty-third"``; ``100`` → ``"one hundredth"``."""
    if n < 0:
        return "minus " + ordinal(-n)
    return _native.text.ordinal(_digits_of(n))


def year(n: int) -> str:
    """A year as people say it: ``1999`` → ``"nineteen ninety-nine"``, ``1905`` →
    ``"nineteen oh five"``, ``1900`` → ``"nineteen hundred"``, ``2005`` → ``"two thousand
    five"``, ``2024`` → ``"twenty twenty-four"``. Outside 1010..2099 this is :func:`cardinal`.
    """
    if n < 0:
        return cardinal(n)
    return _native.text.year(_digits_of(n))


def digits(text: str) -> str:
    """``"007"`` → ``"zero zero seven"``: each (ASCII) digit of a string."""
    return _native.text.digits(text)


def decimal(integer_part: str, fraction_part: str) -> str:
    """``("3", "14")`` → ``"three point one four"``; ``("", "5")`` → ``"point five"``.

    Both parts are ASCII digit strings; the integer part is read as a cardinal (leading zeros
    ignored), the fraction digit by digit.
    """
    return _native.text.decimal(integer_part, fraction_part)


def fraction(numerator: int, denominator: int) -> str:
    """``(3, 4)`` → ``"three quarters"``; ``(1, 2)`` → ``"one half"``; ``(5, 8)`` →
    ``"five eighths"``. Both are non-negative integers."""
    return _native.text.fraction(_digits_of(numerator, "numerator"),
                                 _digits_of(denominator, "denominator"))


def pluralize_number_words(words: str) -> str:
    """``"nineteen ninety"`` → ``"nineteen nineties"`` (for decades such as ``1990s``)."""
    return _native.text.pluralize_number_words(words)
