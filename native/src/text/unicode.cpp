// Unicode lookups, NFKC and UTF-8 for the text frontend (see unicode.hpp).
#include "unicode.hpp"

#include <algorithm>

namespace emomix::text::unicode {

namespace {

std::uint8_t run_value(const tables::Run* runs, std::size_t n, char32_t c) {
  // The last run whose start <= c (runs[0].start == 0).
  const tables::Run* it = std::upper_bound(
      runs, runs + n, c, [](char32_t value, const tables::Run& r) { return value < r.start; });
  return (it - 1)->value;
}

// Hangul syllables are composed and decomposed arithmetically (Unicode §3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

void decompose(char32_t c, std::u32string& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const tables::Decomposition* end = tables::kDecompositions + tables::kDecompositionsSize;
  const tables::Decomposition* it =
      std::lower_bound(tables::kDecompositions, end, c,
                       [](const tables::Decomposition& d, char32_t value) { return d.cp < value; });
  if (it != end && it->cp == c) {
    out.append(tables::kDecompositionPool + it->offset, it->length);
  } else {
    out.push_back(c);
  }
}

// The primary composite of first + second, or 0.
char32_t compose(char32_t first, char32_t second) {
  if (first >= kLBase && first < kLBase + kLCount && second >= kVBase &&
      second < kVBase + kVCount) {
    return kSBase + ((first - kLBase) * kVCount + (second - kVBase)) * kTCount;
  }
  if (first >= kSBase && first < kSBase + kSCount && (first - kSBase) % kTCount == 0 &&
      second > kTBase && second < kTBase + kTCount) {
    return first + (second - kTBase);
  }
  const tables::Composition* end = tables::kCompositions + tables::kCompositionsSize;
  const tables::Composition* it = std::lower_bound(
      tables::kCompositions, end, std::make_pair(first, second),
      [](const tables::Composition& x, const std::pair<char32_t, char32_t>& key) {
        return x.first < key.first || (x.first == key.first && x.second < key.second);
      });
  if (it != end && it->first == first && it->second == second) return it->composite;
  return 0;
}

}  // namespace

Screen screen(char32_t c) {
  return static_cast<Screen>(run_value(tables::kScreen, tables::kScreenSize, c));
}

std::uint8_t properties(char32_t c) {
  return run_value(tables::kProps, tables::kPropsSize, c);
}

std::uint8_t combining_class(char32_t c) {
  if (c < 0x300) return 0;
  return run_value(tables::kCombiningClass, tables::kCombiningClassSize, c);
}

const char* version() {
  return tables::kVersion;
}

std::u32string nfkc(std::u32string_view s) {
  // 1. Full compatibility decomposition.
  std::u32string d;
  d.reserve(s.size());
  for (char32_t c : s) {
    if (c < 0xA0) {
      d.push_back(c);
    } else {
      decompose(c, d);
    }
  }
  // 2. Canonical ordering: a stable sort of each run of non-starters by combining class.
  for (std::size_t i = 0; i < d.size();) {
    if (combining_class(d[i]) == 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < d.size() && combining_class(d[j]) != 0)
      ++j;
    std::stable_sort(
        d.begin() + static_cast<std::ptrdiff_t>(i), d.begin() + static_cast<std::ptrdiff_t>(j),
        [](char32_t a, char32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // 3. Canonical composition.
  if (d.empty()) return d;
  std::size_t starter = 0;
  bool have_starter = combining_class(d[0]) == 0;
  int last_class = have_starter ? 0 : 256;
  std::size_t kept = 1;
  for (std::size_t i = 1; i < d.size(); ++i) {
    const char32_t c = d[i];
    const int cls = combining_class(c);
    const char32_t composite = have_starter ? compose(d[starter], c) : 0;
    if (composite != 0 && (last_class < cls || last_class == 0)) {
      d[starter] = composite;
      continue;
    }
    if (cls == 0) {
      starter = kept;
      have_starter = true;
    }
    last_class = cls;
    d[kept++] = c;
  }
  d.resize(kept);
  return d;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s)
    append_utf8(out, c);
  return out;
}

std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = byte(i);
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    int need = 0;
    char32_t c = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1, c = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2, c = b & 0x0F;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3, c = b & 0x07;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      out.push_back(0xFFFD);  // not a start byte
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    bool ok = true;
    for (int k = 0; k < need; ++k, ++j) {
      const unsigned char lo_k = k == 0 ? lo : 0x80, hi_k = k == 0 ? hi : 0xBF;
      if (j >= s.size() || byte(j) < lo_k || byte(j) > hi_k) {
        ok = false;
        break;
      }
      c = (c << 6) | (byte(j) & 0x3F);
    }
    if (ok) {
      out.push_back(c);
    } else {
      out.push_back(0xFFFD);  // the maximal invalid subpart i..j-1 becomes one U+FFFD
    }
    i = j;
  }
  return out;
}

}  // namespace emomix::text::unicode
