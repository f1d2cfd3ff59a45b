// A small backtracking regular-expression engine with Python `re` semantics, for the patterns of
// the text frontend (private to native/src/text).
//
// Why not std::regex: the normaliser's rules were written (and are tested) as Python regular
// expressions, with look-behind, named groups and Unicode-aware \b \w \d \s; porting them as the
// same patterns keeps the C++ rules readable side by side with the Python reference and makes their
// behaviour identical (leftmost match, ordered alternation, greedy quantifiers, backtracking).
//
// Supported syntax: literals (any code point), `.`, classes `[...]` / `[^...]` with ranges and
// \w \W \d \D \s \S inside, groups `(...)`, `(?:...)`, `(?P<name>...)`, look-ahead `(?=...)`
// `(?!...)`, fixed-width look-behind `(?<=...)` `(?<!...)`, alternation, greedy `* + ? {m} {m,}
// {m,n}`, anchors `^ $ \b \B`, back-references \1..\9, escapes \n \t \r \f \v. Flag kIgnoreCase
// folds ASCII letters (and the characters Python's re also folds onto them: U+0130 U+0131 -> i,
// U+212A -> k, U+017F -> s). Unsupported syntax (lazy quantifiers, a repeated group that can match
// the empty string, ...) throws std::logic_error when the pattern is compiled: patterns are
// constants, so that is a programming error found by any test.
//
// Subjects are UTF-32 (one element per code point); positions are code point indices.
// A Regex is immutable after construction and safe to use from several threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace emomix::text::re {

enum Flags : int { kNone = 0, kIgnoreCase = 1 };

class Regex;

class Match {
 public:
  std::u32string_view string() const { return subject_; }  // Python's m.string
  bool matched(int group) const { return spans_[2 * group] >= 0; }
  bool matched(std::string_view name) const { return matched(index(name)); }
  std::size_t start(int group = 0) const { return static_cast<std::size_t>(spans_[2 * group]); }
  std::size_t end(int group = 0) const { return static_cast<std::size_t>(spans_[2 * group + 1]); }
  // The group's text; empty when the group did not take part in the match.
  std::u32string_view group(int group = 0) const;
  std::u32string_view group(std::string_view name) const { return group(index(name)); }
  std::u32string_view operator[](int g) const { return group(g); }
  std::u32string_view operator[](std::string_view name) const { return group(name); }

 private:
  friend class Regex;
  int index(std::string_view name) const;
  const Regex* regex_ = nullptr;
  std::u32string_view subject_;
  std::vector<std::ptrdiff_t> spans_;  // [2 * groups]: start, end (-1 when unmatched)
};

class Regex {
 public:
  explicit Regex(std::u32string_view pattern, int flags = kNone);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // re.search(s[from:]) with positions in s, look-behind seeing s before `from`.
  bool search(std::u32string_view s, std::size_t from, Match& m) const;
  // re.match at `at` (anchored there, not at the end).
  bool match_at(std::u32string_view s, std::size_t at, Match& m) const;
  // re.sub with a function: every non-overlapping match is replaced by repl(match).
  std::u32string sub(std::u32string_view s,
                     const std::function<std::u32string(const Match&)>& repl) const;
  // re.sub with a template: \1..\9 insert groups, everything else is literal.
  std::u32string sub(std::u32string_view s, std::u32string_view templ) const;
  // Every non-overlapping match, as re.finditer.
  std::vector<Match> find_all(std::u32string_view s) const;

  int groups() const;  // capturing groups, group 0 excluded

  struct Program;  // the compiled pattern (regex.cpp)

 private:
  friend class Match;
  std::unique_ptr<Program> program_;
};

}  // namespace emomix::text::re
