"""The symbol table: the ordered mapping token → integer id that the encoder embeds.

Ids are baked into a voice's weights, so a table is data stored with the voice
(``voice.json``, via :meth:`SymbolTable.to_dict`) and compared by :meth:`SymbolTable.sha256`;
the order of :data:`DEFAULT_SYMBOLS` never changes — new symbols are only ever appended.

Layout of the default table: ``"_"`` (padding, id 0), ``" "`` (word boundary), the prosody
marks, the IPA characters espeak-ng 1.51 produces for English, then further IPA symbols for
safety. The English inventory was collected by phonemising 200,612 distinct words (every word
of the English text under ``/usr/share/doc``, ``/usr/share/common-licenses`` and the Python 3
standard library of a Debian system) with the voices ``en-us`` and ``en-gb``, and 20,000 of
them with ``en``, ``en-029``, ``en-gb-scotland``, ``en-gb-x-rp``, ``en-gb-x-gbclan``,
``en-gb-x-gbcwmd`` and ``en-us-nyc``; :func:`phoneme_inventory` repeats the procedure for any
word list and voice.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from .. import _native
from .normalization import PROSODY_MARKS

__all__ = [
    "PAD",
    "SPACE",
    "ENGLISH_IPA",
    "EXTRA_IPA",
    "DEFAULT_SYMBOLS",
    "SymbolTable",
    "default_symbol_table",
    "phoneme_inventory",
]

#: Padding symbol; always id 0.
PAD = "_"
#: Word boundary token.
SPACE = " "

#: Every character espeak-ng 1.51's English voices emitted for the word corpus (see module
#: docstring), in code point order. Combining marks are written as escapes.
ENGLISH_IPA: tuple[str, ...] = (
    "a", "b", "d", "e", "f", "h", "i", "j", "k", "l", "m", "n",
    "o", "p", "r", "s", "t", "u", "v", "w", "x", "z", "æ", "ð",
    "ŋ", "ɐ", "ɑ", "ɒ", "ɔ", "ə", "ɚ", "ɛ", "ɜ", "ɡ", "ɪ", "ɬ",
    "ɹ", "ɾ", "ʃ", "ʉ", "ʊ", "ʌ", "ʍ", "ʒ", "ʔ", "ʲ", "ˈ", "ˌ",
    "ː", "\u0303", "\u0329", "\u032a", "θ", "ᵻ",
)

#: Further IPA letters and diacritics (not produced for English) so that tables stay valid
#: for other espeak-ng voices; code point order.
EXTRA_IPA: tuple[str, ...] = (
    "c", "g", "q", "y", "ç", "ø", "ħ", "œ", "ǀ", "ǁ", "ǂ", "ǃ",
    "ɓ", "ɕ", "ɖ", "ɗ", "ɘ", "ɝ", "ɞ", "ɟ", "ɠ", "ɢ", "ɣ", "ɤ",
    "ɥ", "ɦ", "ɧ", "ɨ", "ɭ", "ɮ", "ɯ", "ɰ", "ɱ", "ɲ", "ɳ", "ɴ",
    "ɵ", "ɶ", "ɸ", "ɺ", "ɻ", "ɽ", "ʀ", "ʁ", "ʂ", "ʄ", "ʈ", "ʋ",
    "ʎ", "ʏ", "ʐ", "ʑ", "ʕ", "ʘ", "ʙ", "ʛ", "ʜ", "ʝ", "ʟ", "ʡ",
    "ʢ", "ʰ", "ʷ", "ʼ", "ˑ", "˞", "ˠ", "ˤ", "\u0306", "\u0308", "\u0318", "\u0319",
    "\u031a", "\u031d", "\u031e", "\u0320", "\u0325", "\u032c", "\u032f", "β", "χ", "ᵿ", "ⁿ", "ⱱ",
)

#: The default table's symbols; index = id. Append-only.
DEFAULT_SYMBOLS: tuple[str, ...] = (PAD, SPACE, *PROSODY_MARKS, *ENGLISH_IPA, *EXTRA_IPA)

_FORMAT = "emomix-symbols"
_VERSION = 1


class SymbolTable(Mapping[str, int]):
    """An immutable, ordered mapping symbol → id (id = position in :attr:`symbols`).

    ``table["ə"]`` gives an id (``KeyError`` if absent); ``len``, ``in`` and iteration (in
    id order) work as for any mapping. Two tables are equal when they map the same symbols
    to the same ids. Thread-safe (read-only after construction).

    Args:
        symbols: the symbols in id order; non-empty strings, no duplicates, ``pad`` first.
        pad: the padding symbol (id 0).
    """

    __slots__ = ("_symbols", "_ids", "_pad", "_native_table")

    def __init__(self, symbols: Iterable[str], *, pad: str = PAD) -> None:
        symbols = tuple(symbols)
        if not symbols:
            raise ValueError("a symbol table needs at least the padding symbol")
        bad = [s for s in symbols if not isinstance(s, str) or not s]
        if bad:
            raise ValueError(f"symbols must be non-empty strings; got {bad[:5]!r}")
        if symbols[0] != pad:
            raise ValueError(f"the padding symbol {pad!r} must come first (id 0), "
                             f"found {symbols[0]!r}")
        ids: dict[str, int] = {}
        duplicates = []
        for i, s in enumerate(symbols):
            if s in ids:
                duplicates.append(s)
            ids.setdefault(s, i)
        if duplicates:
            raise ValueError(f"duplicate symbols in table: {duplicates!r}")
        self._symbols = symbols
        self._ids = ids
        self._pad = pad
        self._native_table: Any = None

    # -- mapping ---------------------------------------------------------------------------
    def __getitem__(self, symbol: str) -> int:
        return self._ids[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self._symbols)

    def __len__(self) -> int:
        return len(self._symbols)

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._ids

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SymbolTable):
            return self._symbols == other._symbols and self._pad == other._pad
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._symbols, self._pad))

    def __repr__(self) -> str:
        return f"SymbolTable({len(self)} symbols, sha256={self.sha256()[:12]}…)"

    # -- properties ------------------------------------------------------------------------
    @property
    def symbols(self) -> tuple[str, ...]:
        """All symbols, index = id."""
        return self._symbols

    @property
    def pad(self) -> str:
        return self._pad

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def space_id(self) -> int | None:
        """Id of the word boundary ``" "``, or None if the table has none."""
        return self._ids.get(SPACE)

    # -- conversion ------------------------------------------------------------------------
    @property
    def native(self) -> Any:
        """The table as the C++ frontend holds it (``emomix._native.text.SymbolTable``), made on
        first use; :func:`emomix.text.text_to_ids` encodes with it."""
        if self._native_table is None:
            self._native_table = _native.text.SymbolTable(self._symbols)
        return self._native_table

    def encode(self, tokens: Iterable[str],
               on_unknown: Literal["error", "skip"] = "error") -> list[int]:
        """Ids of ``tokens`` (the C++ frontend's ``SymbolTable::encode``).

        Args:
            tokens: symbols, e.g. from :func:`emomix.text.phonemize`.
            on_unknown: ``"error"`` raises :class:`UnknownSymbolError` naming every token
                not in the table; ``"skip"`` leaves them out.
        """
        if on_unknown not in ("error", "skip"):
            raise ValueError(f"on_unknown must be 'error' or 'skip', not {on_unknown!r}")
        return self.native.encode(tokens, on_unknown)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Symbols of ``ids`` (any integers, numpy included); ``"".join(...)`` gives text."""
        out: list[str] = []
        bad: list[Any] = []
        n = len(self._symbols)
        for i in ids:
            try:
                k = operator.index(i)
            except TypeError:
                bad.append(i)
                continue
            if 0 <= k < n:
                out.append(self._symbols[k])
            else:
                bad.append(k)
        if bad:
            raise ValueError(f"ids not in this symbol table (0..{n - 1}): {bad[:10]!r}")
        return out

    def extended(self, symbols: Iterable[str]) -> SymbolTable:
        """A new table with the symbols not yet present appended (existing ids unchanged)."""
        new = [s for s in dict.fromkeys(symbols) if s not in self._ids]
        return SymbolTable((*self._symbols, *new), pad=self._pad)

    # -- storage ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form stored in ``voice.json``::

            {"format": "emomix-symbols", "version": 1, "pad": "_", "symbols": ["_", " ", ...]}

        ``symbols[i]`` is the symbol with id ``i``.
        """
        return {"format": _FORMAT, "version": _VERSION, "pad": self._pad,
                "symbols": list(self._symbols)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SymbolTable:
        """Inverse of :meth:`to_dict`; raises ``ValueError`` naming the bad field."""
        if not isinstance(data, Mapping):
            raise ValueError(f"symbol table must be a JSON object, not {type(data).__name__}")
        if data.get("format") != _FORMAT:
            raise ValueError(f"symbol table field 'format' must be {_FORMAT!r}, "
                             f"got {data.get('format')!r}")
        if data.get("version") != _VERSION:
            raise ValueError(f"symbol table field 'version' is {data.get('version')!r}; this "
                             f"emomix reads version {_VERSION} (upgrade emomix)")
        symbols = data.get("symbols")
        if not isinstance(symbols, list):
            raise ValueError("symbol table field 'symbols' must be a list of strings (id = "
                             "index)")
        pad = data.get("pad", PAD)
        if not isinstance(pad, str):
            raise ValueError("symbol table field 'pad' must be a string")
        try:
            return cls(symbols, pad=pad)
        except ValueError as exc:
            raise ValueError(f"symbol table field 'symbols' is invalid: {exc}") from exc

    def to_json(self) -> str:
        """Canonical JSON: sorted keys, no spaces, ASCII escapes (what :meth:`sha256` hashes)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True)

    def sha256(self) -> str:
        """Hex SHA-256 of :meth:`to_json` — identifies the table in export metadata."""
        return hashlib.sha256(self.to_json().encode("ascii")).hexdigest()


_DEFAULT: SymbolTable | None = None


def default_symbol_table() -> SymbolTable:
    """The table of :data:`DEFAULT_SYMBOLS` (English espeak-ng IPA + safety margin)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = SymbolTable(DEFAULT_SYMBOLS)
    return _DEFAULT


def phoneme_inventory(words: Iterable[str], language: str = "en-us") -> list[str]:
    """The distinct tokens espeak-ng produces for ``words`` with voice ``language``, in code
    point order (without the word boundary) — how :data:`ENGLISH_IPA` was made."""
    from .phonemizer import phonemize  # needs espeak-ng; imported when used

    found: set[str] = set()
    batch: list[str] = []
    for word in words:
        batch.append(word)
        if len(batch) == 200:
            found.update(phonemize(" ".join(batch), language))
            batch.clear()
    if batch:
        found.update(phonemize(" ".join(batch), language))
    found.discard(SPACE)
    return sorted(found)
