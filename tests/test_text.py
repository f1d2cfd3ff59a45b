"""Text frontend: normalisation, phonemisation (libespeak-ng), symbol table, text_to_ids.

The frontend runs in C++ (emomix._native.text); tests/test_text_parity.py compares it with the
original Python implementation on thousands of inputs.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from emomix.text import (
    DEFAULT_SYMBOLS,
    MAX_CHARS,
    PROSODY_MARKS,
    EmptyTextError,
    FrontendUnavailableError,
    SymbolTable,
    TextTooLongError,
    UnknownSymbolError,
    UnspeakableCharacterWarning,
    UnsupportedLanguageError,
    UnsupportedTextError,
    default_symbol_table,
    espeak_available,
    normalize,
    numerals,
    phonemize,
    split_sentences,
    text_to_ids,
)

needs_espeak = pytest.mark.skipif(
    not espeak_available(), reason="espeak-ng is not installed (apt-get install espeak-ng)"
)

# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # integers, negatives, thousands separators, leading zeros
        ("I have 7 apples.", "I have seven apples."),
        ("Room 101", "Room one hundred one"),
        ("It is -5 outside", "It is minus five outside"),
        ("1,234,567 people", "one million two hundred thirty-four thousand five hundred "
                             "sixty-seven people"),
        ("Agent 007", "Agent zero zero seven"),
        # decimals
        ("Pi is 3.14", "Pi is three point one four"),
        ("Add .5 cups", "Add point five cups"),
        # ordinals
        ("1st 2nd 3rd 4th", "first second third fourth"),
        ("the 23rd and 101st", "the twenty-third and one hundred first"),
        ("12th of 40th", "twelfth of fortieth"),
        # years and decades
        ("In 1999.", "In nineteen ninety-nine."),
        ("In 1905 and 1900", "In nineteen oh five and nineteen hundred"),
        ("In 2005 and 2024", "In two thousand five and twenty twenty-four"),
        ("the 1990s and the '80s", "the nineteen nineties and the eighties"),
        # times
        ("at 3:30", "at three thirty"),
        ("at 3:05 pm", "at three oh five PM"),
        ("at 12:00", "at twelve o'clock"),
        ("at 7 a.m. sharp", "at seven AM sharp"),
        ("Leave at 9pm.", "Leave at nine PM."),
        # percentages
        ("50% off", "fifty percent off"),
        ("up 3.5 %", "up three point five percent"),
        # currency
        ("$5", "five dollars"),
        ("$1", "one dollar"),
        ("£3.50", "three pounds and fifty pence"),
        ("€2", "two euros"),
        ("$0.99", "ninety-nine cents"),
        ("$1,000,000", "one million dollars"),
        ("$2.5 million", "two point five million dollars"),
        ("$10k", "ten thousand dollars"),
        ("5€", "five euros"),
        # abbreviations
        ("Mr. Smith met Mrs. Jones and Dr. Lee.",
         "mister Smith met missus Jones and doctor Lee."),
        ("St. Patrick lives on Main St.", "Saint Patrick lives on Main street."),
        ("apples, pears, etc.", "apples, pears, et cetera."),
        ("cats vs. dogs", "cats versus dogs"),
        ("fruit, e.g. apples, i.e. food", "fruit, for example apples, that is food"),
        ("No. 5", "number five"),
        ("No. I refuse.", "No. I refuse."),
        ("on Jan. 5th", "on January fifth"),
        ("Dec 25, 2024", "December twenty-fifth, twenty twenty-four"),
        ("Run 5 km with 1 kg", "Run five kilometers with one kilogram"),
        # units, symbols, fractions, ranges
        ("at 60 mph", "at sixty miles per hour"),
        ("-3 °C", "minus three degrees Celsius"),
        ("salt & pepper", "salt and pepper"),
        ("2½ cups", "two and a half cups"),
        ("3/4 done", "three quarters done"),
        ("5-10 minutes", "five to ten minutes"),
        ("pages 10–20", "pages ten to twenty"),
        ("#1 fan", "number one fan"),
        # whitespace, quotes, dashes, ellipsis, repeated marks
        ("  Hello , \t world \n ", "Hello, world"),
        ("\u201cHi,\u201d she said \u2018softly\u2019.", "\"Hi,\" she said 'softly'."),
        ("Wait\u2014what?", "Wait — what?"),
        ("well -- maybe", "well — maybe"),
        ("Hmm\u2026 no!!!", "Hmm... no!"),
        ("Really?!?", "Really?!"),
        ("The U.S. Army", "The US Army"),
        ("*sigh* fine", "sigh fine"),
        # unicode compatibility forms and accents
        ("\ufb01ne \uff21\uff22", "fine AB"),
        ("caf\u00e9 and cafe\u0301", "café and café"),
        ("zero\u200bwidth \ufeffBOM", "zerowidth BOM"),
    ],
)
def test_normalize_cases(text, expected):
    assert normalize(text) == expected


def test_normalize_output_alphabet_and_idempotence():
    text = ("On Jan. 3rd, 1999 at 4:15 pm Dr. Who paid $3.50 (about 20%) for 2 kg — "
            "“cheap”… wasn't it?!")
    out = normalize(text)
    assert all(c.isalpha() or c in "'- " or c in PROSODY_MARKS for c in out), out
    assert not any(c.isdigit() for c in out)
    assert "  " not in out and out == out.strip()
    assert normalize(out) == out


def test_numerals_helpers():
    assert numerals.cardinal(0) == "zero"
    assert numerals.cardinal(-1001) == "minus one thousand one"
    assert numerals.ordinal(22) == "twenty-second"
    assert numerals.year(2010) == "twenty ten"
    assert numerals.fraction(5, 8) == "five eighths"


@pytest.mark.parametrize("text", ["", "   ", "\n\t  "])
def test_empty_text_raises(text):
    with pytest.raises(EmptyTextError, match="empty"):
        normalize(text)


@pytest.mark.parametrize("text", ["...", "!?", "\u2014 \u2014", "* * *"])
def test_text_without_words_raises(text):
    with pytest.raises(EmptyTextError, match="nothing to speak"):
        normalize(text)


def test_empty_errors_are_value_errors():
    assert issubclass(EmptyTextError, ValueError)
    assert issubclass(UnsupportedTextError, ValueError)
    assert issubclass(TextTooLongError, ValueError)
    assert issubclass(UnknownSymbolError, ValueError)


@pytest.mark.parametrize(
    ("text", "char", "position"),
    [
        ("Hi \U0001F600 there", "\U0001F600", 3),     # emoji
        ("bell\x07 here", "\x07", 4),                 # control character
        ("\x1b[31mred", "\x1b", 0),                   # escape sequence
        ("say \u041f\u0440\u0438", "\u041f", 4),      # Cyrillic
        ("\u65e5\u672c", "\u65e5", 0),                # CJK
        ("keycap 1\ufe0f\u20e3", "\u20e3", 9),        # enclosing keycap
        ("private \ue000", "\ue000", 8),              # private use
    ],
)
def test_unsupported_characters_raise_with_position(text, char, position):
    with pytest.raises(UnsupportedTextError) as info:
        normalize(text)
    err = info.value
    assert err.char == char
    assert err.position == position
    assert err.codepoint == f"U+{ord(char):04X}"
    message = str(err)
    assert err.codepoint in message and f"position {position}" in message
    assert "strict=False" in message  # says what to do


def test_unsupported_error_lists_every_character():
    with pytest.raises(UnsupportedTextError) as info:
        normalize("a \U0001F600 b \U0001F44D c")
    assert [p for p, _ in info.value.problems] == [2, 6]


def test_strict_false_drops_with_warning():
    with pytest.warns(UnspeakableCharacterWarning, match="U\\+1F600") as record:
        out = normalize("Hi \U0001F600 there\x07!", strict=False)
    assert out == "Hi there!"
    assert record[0].filename == __file__  # points at the caller, not at emomix
    assert "position 3" in str(record[0].message)


def test_strict_false_without_problems_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert normalize("plain text", strict=False) == "plain text"


def test_strict_false_can_still_be_empty():
    with pytest.warns(UnspeakableCharacterWarning), pytest.raises(EmptyTextError):
        normalize("\U0001F600\U0001F600", strict=False)


def test_too_long_raises_and_suggests_split():
    with pytest.raises(TextTooLongError, match="split_sentences") as info:
        normalize("a" * (MAX_CHARS + 1))
    assert info.value.length == MAX_CHARS + 1 and info.value.limit == MAX_CHARS
    assert normalize("a " * (MAX_CHARS // 2))  # exactly at the limit is fine


def test_normalize_rejects_non_str():
    with pytest.raises(TypeError):
        normalize(b"bytes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- sentences


def test_split_sentences_respects_abbreviations_and_decimals():
    text = ('Hi there. Mr. Smith paid $3.50 today! Was it e.g. cheap? He said "Go." '
            "J. R. R. Tolkien wrote it.\n\nNew paragraph")
    assert split_sentences(text) == [
        "Hi there.",
        "Mr. Smith paid $3.50 today!",
        "Was it e.g. cheap?",
        'He said "Go."',
        "J. R. R. Tolkien wrote it.",
        "New paragraph",
    ]


def test_split_sentences_makes_long_text_fit():
    sentence = "This clause is long, and this one too; and then some more words follow"
    text = " ".join([sentence + "."] * 200)
    assert len(text) > MAX_CHARS
    pieces = split_sentences(text, max_chars=40)
    assert all(0 < len(p) <= 40 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    for piece in split_sentences(text):
        normalize(piece)  # every piece is accepted


# --------------------------------------------------------------------------- phonemiser


@needs_espeak
@pytest.mark.parametrize(
    "sentence",
    [
        "Hello, world.",
        "The quick brown fox jumps over the lazy dog!",
        "Are you sure? I am; absolutely: yes — really.",
        "doctor Smith paid three dollars.",
    ],
)
def test_phonemize_gives_ipa_and_keeps_punctuation(sentence):
    tokens = phonemize(sentence)
    assert tokens and all(isinstance(t, str) and len(t) == 1 for t in tokens)
    marks_in = [c for c in sentence if c in PROSODY_MARKS]
    assert [t for t in tokens if t in PROSODY_MARKS] == marks_in
    assert any(t in "ˈˌ" for t in tokens)  # stress marks are tokens
    assert tokens[0] != " " and tokens[-1] != " "
    assert "  " not in "".join(tokens)
    assert not set("".join(tokens)) & set("_\u200d\u0361")


@needs_espeak
def test_phonemize_known_output():
    assert "".join(phonemize("Hello, world.")) == "həlˈoʊ, wˈɜːld."
    tokens = phonemize("church")
    assert tokens[:2] == ["t", "ʃ"]  # one token per character, no tie bar
    assert "ː" in phonemize("world")  # length mark is its own token


@needs_espeak
def test_phonemize_marks_in_place():
    tokens = phonemize('He said "hi" (twice) — then left.')
    text = "".join(tokens)
    assert text.index('"') < text.index("(") < text.index(")") < text.index("—")
    assert text.endswith(".")
    assert phonemize("...") == [".", ".", "."]
    assert phonemize("") == []


@needs_espeak
def test_phonemize_is_deterministic_and_cached():
    from emomix.text import clear_cache

    a = phonemize("Determinism matters, always.")
    b = phonemize("Determinism matters, always.")
    clear_cache()
    c = phonemize("Determinism matters, always.")
    assert a == b == c
    a.append("x")  # callers get their own list; the cache is not mutated
    assert phonemize("Determinism matters, always.") == b


@needs_espeak
def test_phonemize_long_text_keeps_every_mark():
    text = normalize(" ".join(["The quick brown fox jumps over the lazy dog, again."] * 60))
    tokens = phonemize(text)  # many pieces for espeak-ng
    assert tokens.count(",") == 60 and tokens.count(".") == 60
    assert tokens.count(" ") == 60 * 10 - 1


@needs_espeak
def test_phonemize_writes_what_the_espeak_program_writes():
    # espeak-ng's intonation pass stresses a clause of one unstressed word; the program's --ipa
    # output (what voices were trained on) has that stress, espeak_TextToPhonemes would not.
    assert "".join(phonemize("the")) == "ðˈə"
    assert "".join(phonemize("the cat")) == "ðə kˈæt"


@needs_espeak
def test_phonemize_from_threads_gives_the_same_tokens():
    from concurrent.futures import ThreadPoolExecutor

    from emomix.text import clear_cache

    lines = [normalize(s) for s in ("Hello there, general.", "The quick brown fox!", "the",
                                     "Dr. Smith paid $3.50.", "What a wonderful day; really?")]
    want = [phonemize(line) for line in lines]
    clear_cache()
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(phonemize, lines * 20))
    assert got == want * 20


def test_huge_text_raises_clear_errors_and_splits():
    huge = "Hello there, friend. " * 6000  # 126,000 characters
    with pytest.raises(TextTooLongError) as info:
        normalize(huge)
    assert info.value.length == len(huge)
    with pytest.raises(TextTooLongError):
        text_to_ids(huge)
    pieces = split_sentences(huge)
    assert len(pieces) == 6000 and all(p == "Hello there, friend." for p in pieces)


@needs_espeak
def test_phonemize_has_no_length_limit():
    tokens = phonemize("hello there friend, " * 5000)  # 100,000 characters
    assert tokens.count(",") == 5000


@needs_espeak
def test_phonemize_other_english_voice():
    assert phonemize("hot water", "en-gb") != phonemize("hot water", "en-us")


@needs_espeak
@pytest.mark.parametrize("language", ["xx-nope", "-w /tmp/out.wav", ""])
def test_phonemize_unknown_language(language):
    with pytest.raises(UnsupportedLanguageError, match="espeak-ng"):
        phonemize("hello", language)


@pytest.mark.skipif(espeak_available(), reason="emomix has libespeak-ng")
def test_phonemize_without_espeak_says_how_to_get_it():
    with pytest.raises(FrontendUnavailableError, match="libespeak-ng"):
        phonemize("hello")
    assert normalize("Dr. Lee owes me $5!") == "doctor Lee owes me five dollars!"


def test_native_errors_become_the_documented_exceptions():
    from emomix.text.errors import _from_native

    detail = {"length": 9, "limit": 5, "problems": [(3, "\U0001F600")], "language": "xx",
              "symbols": ["x"], "text": "abc", "dropped": []}
    cases = {"too_long": TextTooLongError, "empty": EmptyTextError,
             "nothing_to_say": EmptyTextError, "no_symbols": EmptyTextError,
             "unsupported_text": UnsupportedTextError,
             "unsupported_language": UnsupportedLanguageError,
             "unknown_symbol": UnknownSymbolError, "unavailable": FrontendUnavailableError}
    for kind, cls in cases.items():
        assert type(_from_native(kind, "message", detail)) is cls
    assert isinstance(_from_native("unavailable", "m", detail), RuntimeError)


def test_lone_surrogates_are_unspeakable_not_a_crash():
    with pytest.raises(UnsupportedTextError) as info:
        normalize("a \ud800 b")
    assert info.value.position == 2
    with pytest.warns(UnspeakableCharacterWarning):
        assert normalize("a \udfff b", strict=False) == "a b"
    assert split_sentences("Hi \ud800. Yes.") == ["Hi \ud800.", "Yes."]


# --------------------------------------------------------------------------- symbol table


def test_default_symbol_table_layout():
    table = default_symbol_table()
    assert table.symbols == DEFAULT_SYMBOLS
    assert table["_"] == 0 and table.pad_id == 0
    assert table[" "] == 1 and table.space_id == 1
    for mark in PROSODY_MARKS:
        assert mark in table
    for symbol in "ˈˌːəɚɹʃʒθðŋæɑɔɪʊʌɛɜɡ":
        assert symbol in table
    assert len(set(table.symbols)) == len(table)
    assert default_symbol_table() is table


def test_symbol_table_round_trip_and_hash():
    table = default_symbol_table()
    data = json.loads(json.dumps(table.to_dict()))
    again = SymbolTable.from_dict(data)
    assert again == table and again.sha256() == table.sha256()
    assert len(table.sha256()) == 64
    other = SymbolTable(["_", " ", "a", "b"])
    assert other.sha256() != table.sha256()
    assert SymbolTable(["_", " ", "b", "a"]).sha256() != other.sha256()  # order matters


def test_symbol_table_encode_decode():
    table = default_symbol_table()
    tokens = ["h", "ə", "l", "ˈ", "o", "ʊ", ",", " ", "w", "ˈ", "ɜ", "ː", "l", "d", "."]
    ids = table.encode(tokens)
    assert all(isinstance(i, int) for i in ids)
    assert table.decode(ids) == tokens
    assert table.decode(np.asarray(ids, dtype=np.int64)) == tokens


def test_unknown_symbols_are_all_named():
    table = SymbolTable(["_", " ", "a", "b"])
    with pytest.raises(UnknownSymbolError) as info:
        table.encode(["a", "x", "b", "ʘ", "x"])
    assert info.value.symbols == ["x", "ʘ"]
    assert "'x'" in str(info.value) and "U+0298" in str(info.value)
    assert "on_unknown='skip'" in str(info.value)


def test_skip_mode_drops_unknown():
    table = SymbolTable(["_", " ", "a", "b"])
    assert table.encode(["a", "x", "b", "ʘ"], on_unknown="skip") == [2, 3]
    with pytest.raises(ValueError, match="on_unknown"):
        table.encode(["a"], on_unknown="ignore")  # type: ignore[arg-type]


def test_decode_rejects_bad_ids():
    table = SymbolTable(["_", "a"])
    with pytest.raises(ValueError, match="2"):
        table.decode([1, 2])
    with pytest.raises(ValueError):
        table.decode([-1])


@pytest.mark.parametrize(
    ("symbols", "match"),
    [([], "padding"), (["a", "_"], "first"), (["_", "a", "a"], "duplicate"),
     (["_", ""], "non-empty")],
)
def test_symbol_table_validation(symbols, match):
    with pytest.raises(ValueError, match=match):
        SymbolTable(symbols)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"format": "other", "version": 1, "pad": "_", "symbols": ["_"]}, "format"),
        ({"format": "emomix-symbols", "version": 99, "pad": "_", "symbols": ["_"]}, "version"),
        ({"format": "emomix-symbols", "version": 1, "pad": "_", "symbols": {"_": 0}},
         "symbols"),
        ({"format": "emomix-symbols", "version": 1, "pad": "_", "symbols": ["_", "a", "a"]},
         "symbols"),
    ],
)
def test_from_dict_names_the_bad_field(data, field):
    with pytest.raises(ValueError, match=f"'{field}'"):
        SymbolTable.from_dict(data)


def test_extended_keeps_ids():
    table = SymbolTable(["_", " ", "a"])
    bigger = table.extended(["a", "b", "c", "b"])
    assert bigger.symbols == ("_", " ", "a", "b", "c")
    assert all(bigger[s] == table[s] for s in table)


# --------------------------------------------------------------------------- end to end


@needs_espeak
def test_text_to_ids_end_to_end():
    table = default_symbol_table()
    ids = text_to_ids("Dr. Smith paid $3.50 on Jan. 5th, 1999 at 3:30 pm!", table)
    assert isinstance(ids, np.ndarray) and ids.dtype == np.int64 and ids.ndim == 1
    assert ids.size > 50 and ids.min() > 0  # never the padding id
    tokens = table.decode(ids)
    assert tokens[-1] == "!" and tokens.count(",") == 1
    assert np.array_equal(ids, text_to_ids("Dr. Smith paid $3.50 on Jan. 5th, 1999 at 3:30 pm!"))


@needs_espeak
def test_every_english_phoneme_is_in_the_default_table():
    sentences = [
        "Thoughtful zebras rarely judge vision through ethics.",
        "The measure of pleasure was sure, though rough and tough.",
        "Quick jivey boxers fight with mighty hooks; why?",
        "Bottle, button, little kitten: nothing changes.",
    ]
    table = default_symbol_table()
    for language in ("en-us", "en-gb"):
        for sentence in sentences:
            table.encode(phonemize(normalize(sentence), language))  # no UnknownSymbolError


@needs_espeak
def test_text_to_ids_errors_and_fallbacks():
    with pytest.raises(UnsupportedTextError):
        text_to_ids("hello \U0001F600")
    with pytest.warns(UnspeakableCharacterWarning) as record:
        ids = text_to_ids("hello \U0001F600", strict=False)
    assert ids.size > 0
    assert record[0].filename == __file__  # points at the caller of text_to_ids
    tiny = SymbolTable(["_", " ", "h", "ə", "l", "o"])
    with pytest.raises(UnknownSymbolError):
        text_to_ids("hello", tiny)
    assert tiny.decode(text_to_ids("hello", tiny, on_unknown="skip")) == ["h", "ə", "l", "o"]
