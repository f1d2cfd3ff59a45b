"""The original one-call frontend and symbol encoding (the oracle; see the package docstring)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np

from emomix.text.errors import EmptyTextError, UnknownSymbolError

from .normalization import normalize
from .phonemizer import phonemize


def encode(symbols: Sequence[str], tokens: Iterable[str],
           on_unknown: Literal["error", "skip"] = "error") -> list[int]:
    """``SymbolTable.encode`` as it was: ids of ``tokens`` in the table ``symbols`` (id = index)."""
    if on_unknown not in ("error", "skip"):
        raise ValueError(f"on_unknown must be 'error' or 'skip', not {on_unknown!r}")
    ids = {s: i for i, s in enumerate(symbols)}
    out: list[int] = []
    unknown: dict[str, None] = {}
    for token in tokens:
        i = ids.get(token)
        if i is None:
            unknown[token] = None
        else:
            out.append(i)
    if unknown and on_unknown == "error":
        raise UnknownSymbolError(list(unknown))
    return out


def text_to_ids(text: str, symbols: Sequence[str], language: str = "en-us", strict: bool = True,
                on_unknown: Literal["error", "skip"] = "error") -> np.ndarray:
    tokens = phonemize(normalize(text, strict=strict), language)
    ids = encode(symbols, tokens, on_unknown=on_unknown)
    if not ids:
        raise EmptyTextError(
            f"no phoneme of {text[:60]!r} is in the symbol table; check the voice's language."
        )
    return np.asarray(ids, dtype=np.int64)
