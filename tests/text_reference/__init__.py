"""The original Python text frontend, kept as the test oracle of the C++ one.

emomix's text frontend runs in C++ (native/include/emomix/text.hpp, called by ``emomix.text``).
These modules are the Python implementation it was ported from, unchanged but for their imports:
``tests/test_text_parity.py`` feeds both the same generated inputs and requires identical
normalised text, sentence splits, tokens, ids and errors. Nothing in the product imports this
package. Phonemisation here runs the ``espeak-ng`` program (one process per call), as before.
"""

from __future__ import annotations

from . import numerals
from .frontend import encode, text_to_ids
from .normalization import MAX_CHARS, PROSODY_MARKS, normalize
from .phonemizer import clear_cache, espeak_available, espeak_version, phonemize
from .sentences import split_sentences

__all__ = [
    "MAX_CHARS",
    "PROSODY_MARKS",
    "clear_cache",
    "encode",
    "espeak_available",
    "espeak_version",
    "normalize",
    "numerals",
    "phonemize",
    "split_sentences",
    "text_to_ids",
]
