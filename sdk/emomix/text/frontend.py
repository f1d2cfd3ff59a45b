"""The one-call frontend: text → phoneme ids for the encoder."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .errors import EmptyTextError
from .normalization import normalize
from .phonemizer import phonemize
from .symbols import SymbolTable, default_symbol_table

__all__ = ["text_to_ids"]


def text_to_ids(
    text: str,
    symbols: SymbolTable | None = None,
    language: str = "en-us",
    strict: bool = True,
    on_unknown: Literal["error", "skip"] = "error",
) -> np.ndarray:
    """``normalize`` → ``phonemize`` → ``SymbolTable.encode``.

    Args:
        text: raw text, at most :data:`~emomix.text.MAX_CHARS` characters.
        symbols: the voice's symbol table (default: :func:`default_symbol_table`).
        language: espeak-ng voice used for phonemisation.
        strict: see :func:`~emomix.text.normalize` (False drops unspeakable characters
            with a warning instead of raising).
        on_unknown: see :meth:`SymbolTable.encode`.

    Returns:
        Phoneme ids, shape ``(n_tokens,)``, dtype ``int64``; never empty.

    Raises:
        Everything :func:`normalize`, :func:`phonemize` and :meth:`SymbolTable.encode`
        raise; :class:`EmptyTextError` if no symbol is left.
    """
    table = default_symbol_table() if symbols is None else symbols
    tokens = phonemize(normalize(text, strict=strict), language)
    ids = table.encode(tokens, on_unknown=on_unknown)
    if not ids:
        raise EmptyTextError(
            f"no phoneme of {text[:60]!r} is in the symbol table; check the voice's language."
        )
    return np.asarray(ids, dtype=np.int64)
