// emomix/text.hpp — the text frontend: raw text -> normalised words -> IPA tokens -> phoneme ids.
//
//   "Dr. Lee owes me $5!"
//     normalize    -> "doctor Lee owes me five dollars!"
//     phonemize    -> "dˈɑːktɚ lˈiː ˈoʊz mˌiː fˈaɪv dˈɑːlɚz!"   (one token per code point)
//     SymbolTable  -> [14 58 38 ...]                            (the voice's ids)
//
// The policy (what is read how, which characters are refused) is docs/text.md; the Python package
// (emomix.text) calls these functions, and tests/text_reference/ keeps the original Python
// implementation as the oracle of a parity test.
//
// Text: UTF-32 (std::u32string, one element per code point), so that positions in errors are code
// point indices, as Python's. decode_utf8()/encode_utf8() convert for callers holding UTF-8.
//
// Tokens: phonemize() returns a u32string whose every code point is one token: IPA characters
// (stress marks and the length mark are tokens of their own), ' ' between words (never doubled,
// never first or last) and the prosody marks , . ! ? ; : — " ( ) in place.
//
// Phonemisation runs libespeak-ng in this process. espeak-ng's API is one global, non-thread-safe
// state: every call here takes one process-wide mutex, so concurrent callers are safe and run one
// after another. espeak-ng is initialised on first use (its data directory: espeak-ng's default,
// or the ESPEAK_DATA_PATH environment variable). Built without libespeak-ng, phonemize() throws
// FrontendUnavailable and espeak_available() is false; everything else works.
//
// Errors: bad text throws TextError (an InvalidArgument) whose kind() says which rule it broke and
// whose fields carry the details; a missing or failing espeak-ng throws FrontendUnavailable.
// Nothing else is thrown except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "emomix/error.hpp"

namespace emomix::text {

// Longest text, in code points, that normalize() (and so text_to_ids()) accepts.
inline constexpr std::size_t kMaxChars = 5000;
// Texts up to this many code points have their phonemes cached (clear_cache()).
inline constexpr std::size_t kCacheMaxChars = 1000;
// The marks that survive normalisation and become prosody tokens.
inline constexpr std::u32string_view kProsodyMarks = U",.!?;:\u2014\"()";

// A character of the text as given, by position (code point index).
struct Problem {
  std::size_t position;
  char32_t character;
};

class TextError : public InvalidArgument {
 public:
  enum class Kind {
    kEmpty,                // empty or only whitespace
    kNothingToSay,         // no letter left after normalisation
    kNoSymbols,            // text_to_ids: no token of the text is in the symbol table
    kTooLong,              // longer than kMaxChars: length(), limit()
    kUnsupportedText,      // unspeakable characters (strict): problems()
    kUnsupportedLanguage,  // espeak-ng has no such voice: language()
    kUnknownSymbol,        // tokens missing from the symbol table: symbols()
  };
  TextError(Kind kind, const std::string& message) : InvalidArgument(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

  std::size_t length = 0, limit = 0;    // kTooLong
  std::vector<Problem> problems;        // kUnsupportedText: every unspeakable character
  std::string language;                 // kUnsupportedLanguage
  std::vector<std::u32string> symbols;  // kUnknownSymbol: each once, in order of appearance
  std::u32string text;                  // kNothingToSay, kNoSymbols: the text's first 60 characters
  std::vector<Problem> dropped;  // strict == false: what normalisation dropped before the error

 private:
  Kind kind_;
};

// espeak-ng is missing (not built in, no data) or failed.
class FrontendUnavailable : public Unavailable {
 public:
  using Unavailable::Unavailable;
};

// ------------------------------------------------------------------------------ normalisation

struct Normalized {
  std::u32string text;           // letters, apostrophes, inner hyphens, single spaces, marks
  std::vector<Problem> dropped;  // unspeakable characters removed (strict == false only)
};

// The words a speaker says (docs/text.md, "Normalisation"). strict: unspeakable characters throw
// kUnsupportedText; otherwise they are dropped and listed in `dropped`.
// Throws TextError kTooLong, kEmpty, kUnsupportedText, kNothingToSay.
Normalized normalize(std::u32string_view text, bool strict = true);

// Cuts text of any length into sentences of at most max_chars code points (>= 1), each stripped,
// none empty (docs/text.md, "Long text"). Throws InvalidArgument when max_chars == 0.
std::vector<std::u32string> split_sentences(std::u32string_view text, std::size_t max_chars = 400);

// English number words (American: "one hundred five"). Integers are ASCII digit strings of any
// length (leading zeros ignored; anything else throws InvalidArgument); from 10^18 on they are read
// digit by digit.
namespace numerals {
std::u32string cardinal(
    std::u32string_view digits);  // "1234" -> "one thousand two hundred thirty-four"
std::u32string ordinal(std::u32string_view digits);         // "23" -> "twenty-third"
std::u32string year(std::u32string_view digits);            // "1999" -> "nineteen ninety-nine"
std::u32string digits(std::u32string_view digits);          // "007" -> "zero zero seven"
std::u32string decimal(std::u32string_view integer_part,    // ("3", "14") -> "three point one four"
                       std::u32string_view fraction_part);  // ("", "5") -> "point five"
std::u32string fraction(std::u32string_view numerator,      // ("3", "4") -> "three quarters"
                        std::u32string_view denominator);
std::u32string pluralize_number_words(
    std::u32string_view words);  // "nineteen ninety" -> "... nineties"
}  // namespace numerals

// ------------------------------------------------------------------------------ phonemisation

// IPA tokens of *normalised* text (see the top of this file). language: an espeak-ng voice name
// ("en-us", "en-gb", "en-us+m3"). Results for texts up to kCacheMaxChars are cached.
// Throws TextError kUnsupportedLanguage, FrontendUnavailable.
std::u32string phonemize(std::u32string_view text, std::string_view language = "en-us");

bool espeak_available() noexcept;  // built with libespeak-ng and its data loads
std::string espeak_version();      // e.g. "1.51"; throws FrontendUnavailable
void clear_cache() noexcept;       // forget cached phonemisations

// ------------------------------------------------------------------------------ symbols

// A voice's symbol table: token -> id, id = position (voice.json "symbols"). Immutable after
// construction; thread-safe.
class SymbolTable {
 public:
  // symbols[i] is the token with id i; non-empty and distinct (InvalidArgument otherwise).
  explicit SymbolTable(std::vector<std::u32string> symbols);

  enum class OnUnknown { kError, kSkip };
  // Ids of tokens. kError: tokens not in the table throw TextError kUnknownSymbol naming each
  // once; kSkip leaves them out.
  std::vector<std::int64_t> encode(const std::vector<std::u32string>& tokens,
                                   OnUnknown on_unknown = OnUnknown::kError) const;
  // The same for phonemize()'s output: one token per code point.
  std::vector<std::int64_t> encode(std::u32string_view tokens,
                                   OnUnknown on_unknown = OnUnknown::kError) const;
  std::size_t size() const noexcept { return symbols_.size(); }
  const std::vector<std::u32string>& symbols() const noexcept { return symbols_; }

 private:
  std::vector<std::u32string> symbols_;
  std::unordered_map<std::u32string, std::int64_t> ids_;
};

// ------------------------------------------------------------------------------ everything

struct TextIds {
  std::vector<std::int64_t> ids;  // never empty
  std::vector<Problem> dropped;   // as Normalized::dropped
};

// normalize -> phonemize -> SymbolTable::encode. Throws what they throw, and TextError kNoSymbols
// when no id is left.
TextIds text_to_ids(std::u32string_view text, const SymbolTable& symbols,
                    std::string_view language = "en-us", bool strict = true,
                    SymbolTable::OnUnknown on_unknown = SymbolTable::OnUnknown::kError);

// ------------------------------------------------------------------------------ helpers

std::u32string decode_utf8(std::string_view utf8);  // invalid bytes become U+FFFD
std::string encode_utf8(std::u32string_view text);
const char* unicode_version() noexcept;  // of the character tables, e.g. "14.0.0"

}  // namespace emomix::text
