"""Text frontend: raw text → normalised words → IPA tokens → phoneme ids.

>>> from emomix.text import normalize, phonemize, default_symbol_table, text_to_ids
>>> normalize("Dr. Lee owes me $5!")
'doctor Lee owes me five dollars!'
>>> ids = text_to_ids("Dr. Lee owes me $5!")     # np.ndarray, int64

See docs/text.md. The work is done in C++ (``emomix._native.text``, native/include/emomix/text.hpp);
phonemisation links libespeak-ng (``apt-get install libespeak-ng-dev`` before building). No torch.
"""

from __future__ import annotations

from . import numerals
from .errors import (
    EmptyTextError,
    FrontendUnavailableError,
    TextFrontendError,
    TextTooLongError,
    UnknownSymbolError,
    UnspeakableCharacterWarning,
    UnsupportedLanguageError,
    UnsupportedTextError,
)
from .frontend import text_to_ids
from .normalization import MAX_CHARS, PROSODY_MARKS, normalize
from .phonemizer import clear_cache, espeak_available, espeak_version, phonemize
from .sentences import split_sentences
from .symbols import (
    DEFAULT_SYMBOLS,
    PAD,
    SPACE,
    SymbolTable,
    default_symbol_table,
    phoneme_inventory,
)

__all__ = [
    "numerals",
    "MAX_CHARS",
    "PROSODY_MARKS",
    "PAD",
    "SPACE",
    "DEFAULT_SYMBOLS",
    "normalize",
    "split_sentences",
    "phonemize",
    "espeak_available",
    "espeak_version",
    "clear_cache",
    "SymbolTable",
    "default_symbol_table",
    "phoneme_inventory",
    "text_to_ids",
    "TextFrontendError",
    "EmptyTextError",
    "TextTooLongError",
    "UnsupportedTextError",
    "UnsupportedLanguageError",
    "UnknownSymbolError",
    "FrontendUnavailableError",
    "UnspeakableCharacterWarning",
]
