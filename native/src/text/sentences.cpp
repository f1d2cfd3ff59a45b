// Splitting long text into sentences and, when needed, shorter pieces (emomix/text.hpp,
// split_sentences). The rules are those of docs/text.md ("Long text").
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "emomix/text.hpp"
#include "regex.hpp"
#include "unicode.hpp"

namespace emomix::text {

namespace {

using std::u32string;
using std::u32string_view;

// Words (lower case) whose trailing period does not end a sentence.
constexpr std::array<u32string_view, 32> kNoBreakAfter = {
    U"mr",   U"mrs", U"ms",  U"dr",  U"st",  U"prof", U"capt", U"lt",   U"sgt", U"col", U"gen",
    U"cmdr", U"rev", U"gov", U"sen", U"rep", U"pres", U"mt",   U"ft",   U"no",  U"vs",  U"jan",
    U"feb",  U"mar", U"apr", U"jun", U"jul", U"aug",  U"sep",  U"sept", U"oct", U"nov"};
constexpr std::array<u32string_view, 5> kNoBreakAfterMore = {U"dec", U"e.g", U"i.e", U"a.k.a",
                                                             U"approx"};

u32string strip(u32string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && unicode::is_space(s[a]))
    ++a;
  while (b > a && unicode::is_space(s[b - 1]))
    --b;
  return u32string(s.substr(a, b - a));
}

std::vector<u32string> split_whitespace(u32string_view s) {
  std::vector<u32string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && unicode::is_space(s[i]))
      ++i;
    const std::size_t start = i;
    while (i < s.size() && !unicode::is_space(s[i]))
      ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

// Whether a period after `word` (the text's last run of non-space characters) is not a sentence
// end: a title, a common abbreviation or a single letter (an initial). Python: w =
// word.lower().lstrip("\"'“‘(["); w in NO_BREAK_AFTER or (len(w) == 1 and w.isalpha()).
bool no_break_after(u32string_view word) {
  while (!word.empty() &&
         u32string_view(U"\"'\u201C\u2018([").find(word[0]) != u32string_view::npos) {
    word.remove_prefix(1);
  }
  // Only ASCII letters and the Kelvin sign lower-case to ASCII; U+0130 lower-cases to two
  // characters, so it is never a single letter.
  if (word.size() == 1 && word[0] != 0x130 && unicode::is_alpha(word[0])) return true;
  u32string lower;
  for (char32_t c : word) {
    if (c == 0x212A) c = 'k';
    if (c >= 0x80) return false;
    lower.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return std::find(kNoBreakAfter.begin(), kNoBreakAfter.end(), lower) != kNoBreakAfter.end() ||
         std::find(kNoBreakAfterMore.begin(), kNoBreakAfterMore.end(), lower) !=
             kNoBreakAfterMore.end();
}

// What re.search(r"(\S+)$", s) captures: the run of non-space characters that ends s, or ends it
// before a final newline; false when there is none. (A direct scan: the regex search is quadratic
// on long runs of periods that do not end sentences.)
bool last_word(u32string_view s, u32string_view& word) {
  std::size_t end = s.size();
  if (end > 0 && s[end - 1] == '\n') --end;
  std::size_t start = end;
  while (start > 0 && !unicode::is_space(s[start - 1]))
    --start;
  if (start == end) return false;
  word = s.substr(start, end - start);
  return true;
}

bool in(u32string_view set, char32_t c) {
  return set.find(c) != u32string_view::npos;
}

// The sentence ends of `text`, as re.finditer(SENTENCE_END, text) with
//   SENTENCE_END = [.!?]+["'”’)\]]*(?=\s+["'“‘(\[]?[A-Z0-9À-ÖØ-Þ])|\n\s*\n
// finds them, in one linear scan: a backtracking search is quadratic on long runs of '.' or '!'.
// Why the scan is equivalent: a match of the first branch from a run of [.!?] ends after the run
// and its closing quotes (no shorter end is followed by a space), so when it fails there, it fails
// from every later start inside the run; the second branch ends at the last newline of the run of
// whitespace after its first newline.
std::vector<std::pair<std::size_t, std::size_t>> sentence_ends(u32string_view text) {
  constexpr u32string_view kEnds = U".!?";
  constexpr u32string_view kClosers = U"\"'\u201D\u2019)]";
  constexpr u32string_view kOpeners = U"\"'\u201C\u2018([";
  const auto starts_sentence = [](char32_t c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c >= 0xC0 && c <= 0xD6) ||
           (c >= 0xD8 && c <= 0xDE);
  };
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t n = text.size();
  std::size_t p = 0;
  while (p < n) {
    if (in(kEnds, text[p])) {
      std::size_t run = p;
      while (run < n && in(kEnds, text[run]))
        ++run;
      std::size_t end = run;
      while (end < n && in(kClosers, text[end]))
        ++end;
      std::size_t spaces = end;  // (?=\s+["'“‘(\[]?[A-Z0-9À-ÖØ-Þ])
      while (spaces < n && unicode::is_space(text[spaces]))
        ++spaces;
      std::size_t x = spaces;
      if (x < n && in(kOpeners, text[x])) ++x;  // no opener starts a sentence by itself
      const bool next = spaces > end && x < n && starts_sentence(text[x]);
      if (next) {
        out.emplace_back(p, end);
        p = end;
      } else {
        p = run;
      }
    } else if (text[p] == '\n') {
      std::size_t w = p + 1, last_newline = 0;
      while (w < n && unicode::is_space(text[w])) {
        if (text[w] == '\n') last_newline = w;
        ++w;
      }
      if (last_newline) {
        out.emplace_back(p, last_newline + 1);
        p = last_newline + 1;
      } else {
        ++p;
      }
    } else {
      ++p;
    }
  }
  return out;
}

std::vector<u32string> sentences(u32string_view text) {
  std::vector<u32string> pieces;
  std::size_t start = 0;
  for (const auto& [m_start, m_end] : sentence_ends(text)) {
    const u32string_view end = text.substr(m_start, m_end - m_start);
    if (end[0] == '.') {
      std::size_t n = end.size();
      while (n > 0 && in(U"\"'\u201D\u2019)]", end[n - 1]))
        --n;
      if (n == 1) {
        u32string_view word;
        if (last_word(text.substr(start, m_start - start), word) && no_break_after(word)) {
          continue;
        }
      }
    }
    pieces.emplace_back(text.substr(start, m_end - start));
    start = m_end;
  }
  pieces.emplace_back(text.substr(start));
  std::vector<u32string> out;
  for (const u32string& p : pieces) {
    u32string s = strip(p);
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

std::vector<u32string> pack(const std::vector<u32string>& parts, std::size_t max_chars) {
  std::vector<u32string> out;
  u32string current;
  for (const u32string& part : parts) {
    const u32string candidate = current.empty() ? part : current + U" " + part;
    if (candidate.size() <= max_chars) {
      current = candidate;
    } else {
      if (!current.empty()) out.push_back(current);
      current = part;
    }
  }
  if (!current.empty()) out.push_back(current);
  return out;
}

std::vector<u32string> split_long(const u32string& sentence, std::size_t max_chars) {
  if (sentence.size() <= max_chars) return {sentence};
  static const re::Regex kClauseEnd(UR"re([,;:—–](?=\s)|\s[—–-]\s)re");
  std::vector<u32string> clauses;
  std::size_t start = 0;
  for (const re::Match& m : kClauseEnd.find_all(sentence)) {
    u32string c = strip(u32string_view(sentence).substr(start, m.end() - start));
    if (!c.empty()) clauses.push_back(std::move(c));
    start = m.end();
  }
  u32string last = strip(u32string_view(sentence).substr(start));
  if (!last.empty()) clauses.push_back(std::move(last));
  std::vector<u32string> out;
  for (const u32string& piece : pack(clauses, max_chars)) {
    if (piece.size() <= max_chars) {
      out.push_back(piece);
      continue;
    }
    std::vector<u32string> words;
    for (const u32string& word : split_whitespace(piece)) {  // a longer "word" is cut
      for (std::size_t i = 0; i < word.size(); i += max_chars)
        words.push_back(word.substr(i, max_chars));
    }
    for (u32string& p : pack(words, max_chars))
      out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

std::vector<u32string> split_sentences(u32string_view text, std::size_t max_chars) {
  if (max_chars < 1) throw InvalidArgument("max_chars must be positive, got 0");
  std::vector<u32string> out;
  for (const u32string& sentence : sentences(text)) {
    u32string joined;
    for (const u32string& w : split_whitespace(sentence)) {
      if (!joined.empty()) joined.push_back(' ');
      joined += w;
    }
    for (u32string& piece : split_long(joined, max_chars))
      out.push_back(std::move(piece));
  }
  return out;
}

}  // namespace emomix::text
