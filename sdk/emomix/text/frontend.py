"""The one-call frontend: text → phoneme ids for the encoder (one C++ call)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .. import _native
from .errors import TextFrontendError
from .normalization import warn_dropped
from .phonemizer import check_language
from .symbols import SymbolTable, default_symbol_table

__all__ = ["text_to_ids"]


def text_to_ids(
    text: str,
    symbols: SymbolTable | None = None,
    language: str = "en-us",
    strict: bool = True,
    on_unknown: Literal["error", "skip"] = "error",
) -> np.ndarray:
    """``normalize`` → ``phonemize`` → ``SymbolTable.encode``, in one call into the C++ frontend
    (``emomix::text::text_to_ids``) with the GIL released.

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
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    table = default_symbol_table() if symbols is None else symbols
    try:
        ids, dropped = _native.text.text_to_ids(text, table.native, check_language(language),
                                                bool(strict), on_unknown)
    except TextFrontendError as exc:
        if getattr(exc, "_dropped", None):
            warn_dropped(exc._dropped)  # type: ignore[attr-defined]
        raise
    if dropped:
        warn_dropped(dropped)
    return ids
