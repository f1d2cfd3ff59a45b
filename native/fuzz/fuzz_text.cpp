// libFuzzer target: the text frontend (emomix/text.hpp) on arbitrary bytes. The bytes are decoded
// as UTF-8 (invalid bytes become U+FFFD, as the frontend's callers do) and go through
// normalize (strict and lenient), split_sentences, the number readers on the digits they hold,
// and, for one input in 32 and its first 200 characters (espeak-ng synthesises each chunk, ~2 ms),
// text_to_ids with a small symbol table. Any input must either be accepted or throw an InvalidArgument (TextError) or
// FrontendUnavailable — never crash, leak, overflow or hang — and what is accepted must keep the
// frontend's invariants, checked here. Built by EMOMIX_BUILD_FUZZERS (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/text.hpp"

namespace {

namespace text = emomix::text;

void require(bool ok) {
  if (!ok) __builtin_trap();  // the frontend broke one of its own invariants
}

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

// The numerals on a run of ASCII digits (at most 40, so the readers stay cheap).
void read_numbers(std::u32string_view s) {
  std::u32string digits;
  for (char32_t c : s) {
    if (is_digit(c) && digits.size() < 40) digits.push_back(c);
  }
  if (digits.empty()) return;
  require(!text::numerals::cardinal(digits).empty());
  require(!text::numerals::ordinal(digits).empty());
  require(!text::numerals::digits(digits).empty());
  if (digits.size() <= 4) require(!text::numerals::year(digits).empty());
  const std::size_t half = digits.size() / 2;
  require(!text::numerals::decimal(digits.substr(0, half), digits.substr(half)).empty());
  if (half > 0 && digits.substr(half).find_first_not_of(U'0') != std::u32string::npos) {
    require(!text::numerals::fraction(digits.substr(0, half), digits.substr(half)).empty());
  }
}

const text::SymbolTable& symbols() {
  // the IPA letters and marks espeak-ng writes for English, and the prosody marks; enough that
  // most inputs reach the encoder, few enough that unknown symbols are exercised too
  static const text::SymbolTable table([] {
    std::vector<std::u32string> s = {U"_", U" "};
    for (char32_t c : std::u32string(U"abdefhijklmnoprstuvwzæðŋɐɑɔəɚɛɜɡɪɹɾʃʊʌʒʔˈˌːθᵻ"))
      s.emplace_back(1, c);
    for (char32_t c : text::kProsodyMarks) s.emplace_back(1, c);
    return s;
  }());
  return table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool phonemise = (data[0] & 31) == 0;
  const std::u32string input =
      text::decode_utf8(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  try {
    read_numbers(input);
  } catch (const emomix::InvalidArgument&) {
    // a reader that refuses its digits says why
  }
  for (const std::u32string& sentence : text::split_sentences(input, 1 + data[0] % 200)) {
    require(!sentence.empty() && sentence.size() <= 1u + data[0] % 200u);
  }
  for (bool strict : {true, false}) {
    try {
      const text::Normalized n = text::normalize(input, strict);
      require(!n.text.empty());
      require(n.text.front() != U' ' && n.text.back() != U' ');
      require(n.text.find(U"  ") == std::u32string::npos);
      (void)text::normalize(n.text, true);  // normalised text is speakable (not a fixed point:
                                            // "t…^…" gives "t......", which gives "t...")
      if (strict) require(n.dropped.empty());
    } catch (const text::TextError&) {
      // an input the frontend refuses, with a named reason
    }
  }
  if (phonemise) {
    try {
      const text::TextIds ids =
          text::text_to_ids(input.substr(0, 200), symbols(), "en-us", false,
                            text::SymbolTable::OnUnknown::kSkip);
      require(!ids.ids.empty());
      for (std::int64_t id : ids.ids) {
        require(id >= 0 && static_cast<std::size_t>(id) < symbols().size());
      }
    } catch (const text::TextError&) {
    } catch (const text::FrontendUnavailable&) {
    }
  }
  return 0;
}
