// English number words (emomix/text.hpp, namespace numerals). American English: "one hundred
// five", no "and". Integers are digit strings so that any length reads the same way.
#include <array>
#include <cstdint>

#include "emomix/text.hpp"

namespace emomix::text::numerals {

namespace {

constexpr std::array<std::u32string_view, 20> kOnes = {
    U"zero",     U"one",     U"two",     U"three",     U"four",     U"five",    U"six",
    U"seven",    U"eight",   U"nine",    U"ten",       U"eleven",   U"twelve",  U"thirteen",
    U"fourteen", U"fifteen", U"sixteen", U"seventeen", U"eighteen", U"nineteen"};
constexpr std::array<std::u32string_view, 10> kTens = {U"_",      U"_",     U"twenty", U"thirty",
                                                       U"forty",  U"fifty", U"sixty",  U"seventy",
                                                       U"eighty", U"ninety"};

struct Scale {
  std::uint64_t value;
  std::u32string_view name;
};
constexpr std::array<Scale, 5> kScales = {{{1000000000000000ULL, U"quadrillion"},
                                           {1000000000000ULL, U"trillion"},
                                           {1000000000ULL, U"billion"},
                                           {1000000ULL, U"million"},
                                           {1000ULL, U"thousand"}}};
// From this many significant digits on (>= 10^18), integers are read digit by digit.
constexpr std::size_t kCardinalDigits = 18;

std::u32string below_thousand(std::uint64_t n) {
  const std::uint64_t hundreds = n / 100, rest = n % 100;
  std::u32string out;
  if (hundreds) {
    out.append(kOnes[hundreds]);
    out.append(U" hundred");
  }
  if (rest || !hundreds) {
    if (!out.empty()) out.push_back(' ');
    if (rest < 20) {
      out.append(kOnes[rest]);
    } else {
      out.append(kTens[rest / 10]);
      if (rest % 10) {
        out.push_back('-');
        out.append(kOnes[rest % 10]);
      }
    }
  }
  return out;
}

std::u32string cardinal_u64(std::uint64_t n) {
  if (n < 1000) return below_thousand(n);
  std::u32string out;
  for (const Scale& s : kScales) {
    const std::uint64_t count = n / s.value;
    n %= s.value;
    if (count) {
      if (!out.empty()) out.push_back(' ');
      out.append(below_thousand(count));
      out.push_back(' ');
      out.append(s.name);
    }
  }
  if (n) {
    if (!out.empty()) out.push_back(' ');
    out.append(below_thousand(n));
  }
  return out;
}

// Digits without leading zeros ("0" for zero).
std::u32string_view significant(std::u32string_view digits) {
  std::size_t i = 0;
  while (i + 1 < digits.size() && digits[i] == '0')
    ++i;
  return digits.substr(i);
}

bool equals(std::u32string_view digits, std::uint64_t value) {
  const std::u32string_view s = significant(digits);
  if (s.size() > kCardinalDigits) return false;
  std::uint64_t v = 0;
  for (char32_t c : s)
    v = v * 10 + (c - '0');
  return !s.empty() && v == value;
}

std::u32string ordinal_word(std::u32string_view word) {
  static constexpr std::array<std::pair<std::u32string_view, std::u32string_view>, 7> kIrregular = {
      {{U"one", U"first"},
       {U"two", U"second"},
       {U"three", U"third"},
       {U"five", U"fifth"},
       {U"eight", U"eighth"},
       {U"nine", U"ninth"},
       {U"twelve", U"twelfth"}}};
  for (const auto& [plain, ord] : kIrregular) {
    if (word == plain) return std::u32string(ord);
  }
  std::u32string out(word);
  if (!out.empty() && out.back() == 'y') {
    out.pop_back();
    out.append(U"ieth");
  } else {
    out.append(U"th");
  }
  return out;
}

// The ordinal of a cardinal's words: the last word (after its last hyphen) becomes ordinal.
std::u32string ordinal_of_words(std::u32string words) {
  const std::size_t space = words.rfind(' ');
  const std::size_t last_start = space == std::u32string::npos ? 0 : space + 1;
  const std::size_t hyphen = words.rfind('-');
  const std::size_t unit_start =
      hyphen != std::u32string::npos && hyphen >= last_start ? hyphen + 1 : last_start;
  const std::u32string unit = words.substr(unit_start);
  words.resize(unit_start);
  words.append(ordinal_word(unit));
  return words;
}

void require_digits(std::u32string_view digits) {
  for (char32_t c : digits) {
    if (c < '0' || c > '9') throw InvalidArgument("number words need a string of ASCII digits");
  }
}

}  // namespace

std::u32string cardinal(std::u32string_view digits_) {
  require_digits(digits_);
  const std::u32string_view s = significant(digits_);
  if (s.size() > kCardinalDigits) return digits(s);
  std::uint64_t v = 0;
  for (char32_t c : s)
    v = v * 10 + (c - '0');
  return cardinal_u64(v);
}

std::u32string ordinal(std::u32string_view digits_) {
  return ordinal_of_words(cardinal(digits_));
}

std::u32string year(std::u32string_view digits_) {
  require_digits(digits_);
  const std::u32string_view s = significant(digits_);
  std::uint64_t n = 0;
  if (s.size() <= 4) {
    for (char32_t c : s)
      n = n * 10 + (c - '0');
  }
  if (s.size() > 4 || n < 1010 || n > 2099 || (n >= 2000 && n <= 2009)) return cardinal(s);
  const std::uint64_t high = n / 100, low = n % 100;
  std::u32string out = cardinal_u64(high);
  if (low == 0) {
    out.append(U" hundred");
  } else if (low < 10) {
    out.append(U" oh ");
    out.append(cardinal_u64(low));
  } else {
    out.push_back(' ');
    out.append(cardinal_u64(low));
  }
  return out;
}

std::u32string digits(std::u32string_view text) {
  std::u32string out;
  for (char32_t c : text) {
    if (c < '0' || c > '9') continue;
    if (!out.empty()) out.push_back(' ');
    out.append(kOnes[c - '0']);
  }
  return out;
}

std::u32string decimal(std::u32string_view integer_part, std::u32string_view fraction_part) {
  std::u32string out;
  if (!integer_part.empty()) {
    out = cardinal(integer_part);
    out.push_back(' ');
  }
  out.append(U"point ");
  out.append(digits(fraction_part));
  return out;
}

std::u32string fraction(std::u32string_view numerator, std::u32string_view denominator) {
  std::u32string name;
  const bool one = equals(numerator, 1);
  if (equals(denominator, 2)) {
    name = one ? U"half" : U"halves";
  } else if (equals(denominator, 4)) {
    name = one ? U"quarter" : U"quarters";
  } else if (equals(denominator, 0) || equals(denominator, 1)) {
    return cardinal(numerator) + U" over " + cardinal(denominator);
  } else {
    name = ordinal(denominator);
    if (!one) name.push_back('s');
  }
  return cardinal(numerator) + U" " + name;
}

std::u32string pluralize_number_words(std::u32string_view words) {
  std::u32string out(words);
  if (!out.empty() && out.back() == 'y') {
    out.pop_back();
    out.append(U"ies");
  } else if (!out.empty() && (out.back() == 'x' || out.back() == 's')) {
    out.append(U"es");
  } else {
    out.push_back('s');
  }
  return out;
}

}  // namespace emomix::text::numerals
