// Unicode helpers of the text frontend (private to native/src/text).
//
// Text is processed as UTF-32 (std::u32string: one element per code point), so positions are code
// point indices, as in Python. The character data (unicode_tables.cpp) is generated from Python's
// unicodedata by scripts/gen_unicode_tables.py, so these predicates answer exactly as Python's
// str methods and re classes of that Unicode version (kVersion) do:
//   is_space    str.isspace, re's \s        is_decimal  category Nd, re's \d
//   is_alpha    str.isalpha (categories L*) is_word     re's \w (str.isalnum or '_')
//   is_alnum    str.isalnum                 is_mn       category Mn (non-spacing mark)
// nfkc() is unicodedata.normalize("NFKC", ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace emomix::text::unicode {

namespace tables {
struct Run {  // a value that holds from `start` up to the next run's start
  char32_t start;
  std::uint8_t value;
};
struct Decomposition {  // code point -> kDecompositionPool[offset, offset + length)
  char32_t cp;
  std::uint16_t offset;
  std::uint16_t length;
};
struct Composition {  // canonical composition first + second -> composite
  char32_t first;
  char32_t second;
  char32_t composite;
};
extern const char kVersion[];
extern const Run kScreen[];
extern const std::size_t kScreenSize;
extern const Run kProps[];
extern const std::size_t kPropsSize;
extern const Run kCombiningClass[];
extern const std::size_t kCombiningClassSize;
extern const Decomposition kDecompositions[];
extern const std::size_t kDecompositionsSize;
extern const char32_t kDecompositionPool[];
extern const Composition kCompositions[];
extern const std::size_t kCompositionsSize;
}  // namespace tables

// How the normaliser's screening treats a character (docs/text.md, "Unspeakable characters").
enum class Screen : std::uint8_t {
  kOk = 0,           // speakable (or harmless punctuation removed later)
  kDrop = 1,         // invisible formatting: removed silently
  kBad = 2,          // unspeakable: an error, or dropped with a warning
  kAfterLetter = 3,  // a combining mark: speakable right after a letter, unspeakable elsewhere
};

Screen screen(char32_t c);

enum : std::uint8_t {
  kSpace = 1,
  kAlpha = 2,
  kAlnum = 4,
  kDecimal = 8,
  kMn = 16,
};
std::uint8_t properties(char32_t c);  // kSpace | kAlpha | ... (generated for all code points)

inline bool is_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return (properties(c) & kSpace) != 0;
}
inline bool is_alpha(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  return (properties(c) & kAlpha) != 0;
}
inline bool is_decimal(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return (properties(c) & kDecimal) != 0;
}
inline bool is_alnum(char32_t c) {
  if (c < 0x80) return is_alpha(c) || is_decimal(c);
  return (properties(c) & kAlnum) != 0;
}
inline bool is_word(char32_t c) {
  return c == '_' || is_alnum(c);
}
inline bool is_mn(char32_t c) {
  return c >= 0x300 && (properties(c) & kMn) != 0;
}
inline bool is_ascii_upper(char32_t c) {
  return c >= 'A' && c <= 'Z';
}
inline bool is_ascii_lower(char32_t c) {
  return c >= 'a' && c <= 'z';
}

std::uint8_t combining_class(char32_t c);

// unicodedata.normalize("NFKC", s).
std::u32string nfkc(std::u32string_view s);

// The Unicode version of the tables, e.g. "14.0.0".
const char* version();

// UTF-8 <-> UTF-32. decode_utf8 replaces each maximal invalid subsequence with U+FFFD, as Python's
// bytes.decode("utf-8", "replace") does; encode_utf8 writes surrogates as three bytes (they never
// reach espeak-ng: the phonemiser keeps word characters only).
std::u32string decode_utf8(std::string_view s);
std::string encode_utf8(std::u32string_view s);
void append_utf8(std::string& out, char32_t c);

}  // namespace emomix::text::unicode
