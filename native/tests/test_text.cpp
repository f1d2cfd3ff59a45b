// The text frontend (emomix/text.hpp): number words, normalisation, sentences, the regex engine
// and Unicode helpers it is built on, the symbol table, and phonemisation with libespeak-ng
// (skipped when emomix was built without it). tests/test_text_parity.py holds the whole frontend
// equal to the Python reference on thousands of inputs; these cases pin the rules down in C++.
#include <string>
#include <thread>
#include <vector>

#include "emomix/text.hpp"
#include "harness.hpp"
#include "regex.hpp"
#include "unicode.hpp"

namespace text = emomix::text;
using text::TextError;

namespace {

std::u32string u(const char* utf8) {
  return text::decode_utf8(utf8);
}
std::string s(std::u32string_view t) {
  return text::encode_utf8(t);
}

std::string normalized(const char* utf8, bool strict = true) {
  return s(text::normalize(u(utf8), strict).text);
}

// The kind of TextError `fn` throws, or -1 when it throws nothing (or something else).
template <typename Fn>
int error_kind(Fn fn) {
  try {
    fn();
  } catch (const TextError& e) {
    return static_cast<int>(e.kind());
  } catch (...) {
    return -2;
  }
  return -1;
}
int kind(TextError::Kind k) {
  return static_cast<int>(k);
}

void require_espeak() {
  if (!text::espeak_available())
    SKIP("emomix was built without libespeak-ng or its data is missing");
}

}  // namespace

TEST(text_numerals_read_english) {
  using namespace text::numerals;
  CHECK(s(cardinal(U"0")) == "zero");
  CHECK(s(cardinal(U"7")) == "seven");
  CHECK(s(cardinal(U"105")) == "one hundred five");
  CHECK(s(cardinal(U"1234567")) ==
        "one million two hundred thirty-four thousand five hundred sixty-seven");
  CHECK(s(cardinal(U"0042")) == "forty-two");  // leading zeros ignored
  CHECK(s(cardinal(U"999999999999999999")) ==
        "nine hundred ninety-nine quadrillion nine hundred ninety-nine trillion nine hundred "
        "ninety-nine billion nine hundred ninety-nine million nine hundred ninety-nine thousand "
        "nine hundred ninety-nine");
  CHECK(s(cardinal(U"1000000000000000000")) ==
        "one zero zero zero zero zero zero zero zero zero zero zero zero zero zero zero zero zero "
        "zero");  // from 10^18 on: digit by digit
  CHECK(s(ordinal(U"1")) == "first");
  CHECK(s(ordinal(U"22")) == "twenty-second");
  CHECK(s(ordinal(U"40")) == "fortieth");
  CHECK(s(ordinal(U"100")) == "one hundredth");
  CHECK(s(ordinal(U"101")) == "one hundred first");
  CHECK(s(ordinal(U"12")) == "twelfth");
  CHECK(s(year(U"1999")) == "nineteen ninety-nine");
  CHECK(s(year(U"1905")) == "nineteen oh five");
  CHECK(s(year(U"1900")) == "nineteen hundred");
  CHECK(s(year(U"2005")) == "two thousand five");
  CHECK(s(year(U"2010")) == "twenty ten");
  CHECK(s(year(U"1009")) == "one thousand nine");
  CHECK(s(year(U"2100")) == "two thousand one hundred");
  CHECK(s(digits(U"007")) == "zero zero seven");
  CHECK(s(decimal(U"3", U"14")) == "three point one four");
  CHECK(s(decimal(U"", U"5")) == "point five");
  CHECK(s(fraction(U"3", U"4")) == "three quarters");
  CHECK(s(fraction(U"1", U"2")) == "one half");
  CHECK(s(fraction(U"5", U"8")) == "five eighths");
  CHECK(s(fraction(U"1", U"3")) == "one third");
  CHECK(s(fraction(U"2", U"0")) == "two over zero");
  CHECK(s(pluralize_number_words(U"nineteen ninety")) == "nineteen nineties");
  CHECK(s(pluralize_number_words(U"six")) == "sixes");
  CHECK_THROWS_WITH(emomix::InvalidArgument, cardinal(U"12a"), "digits");
  CHECK_THROWS_WITH(emomix::InvalidArgument, year(U"-5"), "digits");
}

TEST(text_normalize_reads_numbers_money_and_abbreviations) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"I have 7 apples.", "I have seven apples."},
      {"1,234,567 people",
       "one million two hundred thirty-four thousand five hundred sixty-seven people"},
      {"It is -5 outside", "It is minus five outside"},
      {"Agent 007", "Agent zero zero seven"},
      {"Add .5 cups", "Add point five cups"},
      {"the 23rd and 101st", "the twenty-third and one hundred first"},
      {"In 1905 and 1900", "In nineteen oh five and nineteen hundred"},
      {"the 1990s and the '80s", "the nineteen nineties and the eighties"},
      {"at 3:05 pm", "at three oh five PM"},
      {"at 12:00", "at twelve o'clock"},
      {"at 7 a.m. sharp", "at seven AM sharp"},
      {"Leave at 9pm.", "Leave at nine PM."},
      {"up 3.5 %", "up three point five percent"},
      {"£3.50", "three pounds and fifty pence"},
      {"$0.99", "ninety-nine cents"},
      {"$1", "one dollar"},
      {"$2.5 million", "two point five million dollars"},
      {"$10k", "ten thousand dollars"},
      {"5€", "five euros"},
      {"50¢", "fifty cents"},
      {"Mr. Smith met Mrs. Jones and Dr. Lee.", "mister Smith met missus Jones and doctor Lee."},
      {"St. Patrick lives on Main St.", "Saint Patrick lives on Main street."},
      {"apples, pears, etc. Then", "apples, pears, et cetera. Then"},
      {"fruit, e.g. apples, i.e. food", "fruit, for example apples, that is food"},
      {"No. 5", "number five"},
      {"No. I refuse.", "No. I refuse."},
      {"Dec 25, 2024", "December twenty-fifth, twenty twenty-four"},
      {"at 60 mph", "at sixty miles per hour"},
      {"-3 °C", "minus three degrees Celsius"},
      {"Run 5 km with 1 kg", "Run five kilometers with one kilogram"},
      {"2½ cups", "two and a half cups"},
      {"3/4 done", "three quarters done"},
      {"open 24/7", "open twenty-four seven"},
      {"pages 10–20", "pages ten to twenty"},
      {"#1 fan", "number one fan"},
      {"salt & pepper", "salt and pepper"},
      {"The U.S. Army", "The US Army"},
      {"  Hello , \t world \n ", "Hello, world"},
      {"“Hi,” she said ‘softly’.", "\"Hi,\" she said 'softly'."},
      {"Wait—what?", "Wait — what?"},
      {"Hmm… no!!!", "Hmm... no!"},
      {"Really?!?", "Really?!"},
      {"*sigh* fine", "sigh fine"},
      {"ﬁne ＡＢ", "fine AB"},
      {"café and cafe\u0301", "café and café"},
      {"zero\u200bwidth \ufeffBOM", "zerowidth BOM"},
      {"ı.e. dotless", "that is dotless"},  // re.IGNORECASE folds U+0131 onto i, as Python's
  };
  for (const Case& c : cases) {
    const std::string got = normalized(c.in);
    if (got != c.out) harness::fail(__FILE__, __LINE__, std::string(c.in) + " -> " + got);
  }
  // Normalising twice gives the same text.
  const std::string once = normalized("On Jan. 3rd, 1999 at 4:15 pm Dr. Who paid $3.50 — “cheap”…");
  CHECK(normalized(once.c_str()) == once);
}

TEST(text_normalize_errors_name_the_problem) {
  using K = TextError::Kind;
  CHECK(error_kind([] { text::normalize(U""); }) == kind(K::kEmpty));
  CHECK(error_kind([] { text::normalize(U" \n\t\u3000"); }) == kind(K::kEmpty));
  CHECK(error_kind([] { text::normalize(U"... * * *"); }) == kind(K::kNothingToSay));
  const std::u32string huge(100001, U'a');
  try {
    text::normalize(huge);
    CHECK(false);
  } catch (const TextError& e) {
    CHECK(e.kind() == K::kTooLong);
    CHECK(e.length == 100001 && e.limit == text::kMaxChars);
    CHECK(std::string(e.what()).find("split") != std::string::npos);
  }
  CHECK(error_kind([] { text::normalize(std::u32string(text::kMaxChars, U'a')); }) == -1);
  // Unspeakable characters: every one, with its position in the text as given.
  try {
    text::normalize(u("a \U0001F600 b \U0001F44D c \x07"));
    CHECK(false);
  } catch (const TextError& e) {
    CHECK(e.kind() == K::kUnsupportedText);
    REQUIRE(e.problems.size() == 3);
    CHECK(e.problems[0].position == 2 && e.problems[0].character == 0x1F600);
    CHECK(e.problems[1].position == 6 && e.problems[2].character == 0x07);
    CHECK(std::string(e.what()).find("U+1F600 at position 2") != std::string::npos);
  }
  // strict = false drops them and lists them; a lone surrogate is just another one.
  const text::Normalized n =
      text::normalize(std::u32string(U"Hi ") + char32_t(0xD800) + U" there\u041F!", false);
  CHECK(s(n.text) == "Hi there!");
  REQUIRE(n.dropped.size() == 2);
  CHECK(n.dropped[0].position == 3 && n.dropped[1].character == 0x41F);
  // Only dropped characters: still nothing to say, with what was dropped.
  try {
    text::normalize(U"\U0001F600\U0001F600", false);
    CHECK(false);
  } catch (const TextError& e) {
    CHECK(e.kind() == K::kNothingToSay && e.dropped.size() == 2);
  }
}

TEST(text_split_sentences_respects_abbreviations_and_limits) {
  const auto pieces = text::split_sentences(
      u("Hi there. Mr. Smith paid $3.50 today! Was it e.g. cheap? He said \"Go.\" "
        "J. R. R. Tolkien wrote it.\n\nNew paragraph"));
  const std::vector<std::string> want = {
      "Hi there.",       "Mr. Smith paid $3.50 today!", "Was it e.g. cheap?",
      "He said \"Go.\"", "J. R. R. Tolkien wrote it.",  "New paragraph"};
  REQUIRE(pieces.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    CHECK(s(pieces[i]) == want[i]);
  std::u32string long_text;
  for (int i = 0; i < 500; ++i)
    long_text += U"This clause is long, and this one too; more words follow. ";
  for (const auto& p : text::split_sentences(long_text, 40))
    CHECK(!p.empty() && p.size() <= 40);
  const auto words = text::split_sentences(std::u32string(95, U'x'), 40);  // a long "word" is cut
  CHECK(words.size() == 3 && words[2].size() == 15);
  CHECK(text::split_sentences(U" \n ").empty());
  // Huge text: sentence ends are found in one linear scan (no backtracking over runs of '.').
  const auto dots = text::split_sentences(std::u32string(200000, U'.'));
  CHECK(dots.size() == 500 && dots[0].size() == 400);
  CHECK_THROWS_WITH(emomix::InvalidArgument, text::split_sentences(U"a", 0), "max_chars");
}

TEST(text_regex_follows_python_semantics) {
  namespace re = text::re;
  re::Match m;
  // Leftmost match, ordered alternation, backtracking into a counted group.
  const re::Regex num(UR"((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)");
  REQUIRE(num.search(U"x 1234,567 y", 0, m));
  CHECK(s(m[0]) == "1234" && m.start() == 2);
  REQUIRE(num.search(U"1,234,567.5", 0, m));
  CHECK(s(m[0]) == "1,234,567.5");
  // Look-behind, look-ahead, named groups.
  const re::Regex money(UR"((?<![\w.])(?P<neg>-)?\$(?P<amount>\d+)(?!\d))");
  CHECK(!money.search(U"a$5", 0, m));
  REQUIRE(money.search(U"pay -$5 now", 0, m));
  CHECK(m.matched("neg") && s(m["amount"]) == "5");
  REQUIRE(money.search(U"pay $7", 0, m));
  CHECK(!m.matched("neg") && m["neg"].empty());
  // \b on Unicode word characters; $ before a final newline; IGNORECASE folds.
  CHECK(re::Regex(UR"(\bcafé\b)").search(U"un café!", 0, m));
  CHECK(!re::Regex(UR"(\bcaf\b)").search(U"café", 0, m));
  CHECK(re::Regex(UR"((\S+)$)").search(U"last word\n", 0, m) && s(m[1]) == "word");
  CHECK(re::Regex(U"i\\.e\\.", re::kIgnoreCase).search(U"\u0130.E.", 0, m));
  CHECK(!re::Regex(U"i\\.e\\.").search(U"I.E.", 0, m));
  // sub: templates with back-references, functions, non-overlapping matches.
  CHECK(s(re::Regex(UR"(([,;:])[\s,;:]*\1)").sub(U"a,, ,b;;c", UR"(\1)")) == "a,b;c");
  CHECK(s(re::Regex(UR"(\s+)").sub(U" a \t b\n", U" ")) == " a b ");
  CHECK(s(re::Regex(U"a").sub(U"banana", [](const re::Match&) { return std::u32string(U"o"); })) ==
        "bonono");
  // Deep input does not deepen the C++ stack.
  std::u32string deep;
  for (int i = 0; i < 100000; ++i)
    deep += U",123";
  CHECK(re::Regex(UR"(\d(?:,\d{3})+)").search(U"1" + deep, 0, m) && m.end() == deep.size() + 1);
  // Unsupported syntax is a programming error, found when the pattern is compiled.
  CHECK_THROWS_WITH(std::logic_error, re::Regex(U"a*?"), "lazy");
  CHECK_THROWS_WITH(std::logic_error, re::Regex(U"(?:a?)*"), "empty");
  CHECK_THROWS_WITH(std::logic_error, re::Regex(U"(?<=a+)b"), "fixed width");
}

TEST(text_unicode_nfkc_and_utf8) {
  namespace un = text::unicode;
  CHECK(s(un::nfkc(U"\uFB01ne \uFF21\uFF11")) == "fine A1");
  CHECK(un::nfkc(U"e\u0301") == U"\u00E9");
  CHECK(un::nfkc(U"a\u0302\u0323") == U"\u1EAD");  // reordered by combining class, then composed
  CHECK(un::nfkc(U"\u00BD") == U"1\u20442");
  CHECK(un::nfkc(U"\u1100\u1161\u11A8") == U"\uAC01");  // Hangul L V T
  CHECK(un::nfkc(U"\u212B") == U"\u00C5");              // a singleton decomposition
  CHECK(un::is_space(0x1C) && un::is_space(0x3000) && !un::is_space(0x200B));
  CHECK(un::is_word(U'é') && un::is_word(U'_') && !un::is_word(U'-'));
  CHECK(un::screen(0x1F600) == un::Screen::kBad && un::screen(0x200B) == un::Screen::kDrop);
  CHECK(un::screen(0x0301) == un::Screen::kAfterLetter && un::screen(U'€') == un::Screen::kOk);
  CHECK(s(u("h\xC3\xA9llo")) == "h\xC3\xA9llo");
  CHECK(u("a\xE2\x82") == U"a\uFFFD");                // a truncated sequence is one U+FFFD
  CHECK(u("\xED\xA0\x80") == U"\uFFFD\uFFFD\uFFFD");  // an encoded surrogate is invalid
  CHECK(std::string(text::unicode_version()).find('.') != std::string::npos);
}

TEST(text_symbol_table_encodes_and_names_unknown_symbols) {
  const text::SymbolTable table({U"_", U" ", U"a", U"b", U"t\u0283"});
  CHECK(table.size() == 5);
  CHECK((table.encode(U"ab a") == std::vector<std::int64_t>{2, 3, 1, 2}));
  CHECK((table.encode(std::vector<std::u32string>{U"t\u0283", U"a"}) ==
         std::vector<std::int64_t>{4, 2}));
  try {
    table.encode(U"axb\u0298x");
    CHECK(false);
  } catch (const TextError& e) {
    CHECK(e.kind() == TextError::Kind::kUnknownSymbol);
    CHECK((e.symbols == std::vector<std::u32string>{U"x", U"\u0298"}));  // each once, in order
  }
  CHECK((table.encode(U"axb", text::SymbolTable::OnUnknown::kSkip) ==
         std::vector<std::int64_t>{2, 3}));
  CHECK_THROWS_WITH(emomix::InvalidArgument, text::SymbolTable({U"_", U"a", U"a"}), "duplicate");
  CHECK_THROWS_WITH(emomix::InvalidArgument, text::SymbolTable({}), "padding");
}

TEST(text_phonemize_matches_the_espeak_program) {
  require_espeak();
  text::clear_cache();
  CHECK(s(text::phonemize(U"Hello, world.")) == "h\u0259l\u02C8o\u028A, w\u02C8\u025C\u02D0ld.");
  // A one-word clause is stressed by espeak-ng's intonation pass, as the program writes it.
  CHECK(s(text::phonemize(U"the")) == "\u00F0\u02C8\u0259");
  CHECK(s(text::phonemize(U"...")) == "...");
  CHECK(text::phonemize(U"").empty());
  const std::u32string tokens = text::phonemize(U"He said \"hi\" (twice) \u2014 then left.");
  CHECK(tokens.front() != U' ' && tokens.back() == U'.');
  CHECK(tokens.find(U"  ") == std::u32string::npos);
  CHECK(text::phonemize(U"hot water", "en-gb") != text::phonemize(U"hot water", "en-us"));
  CHECK(error_kind([] { text::phonemize(U"hello", "xx-nope"); }) ==
        kind(TextError::Kind::kUnsupportedLanguage));
  CHECK(error_kind([] { text::phonemize(U"hello", "-w /tmp/x"); }) ==
        kind(TextError::Kind::kUnsupportedLanguage));
  CHECK(s(text::phonemize(U"hello")) == "h\u0259l\u02C8o\u028A");  // usable after an error
  CHECK(!text::espeak_version().empty());
  // Long text: many chunks, every mark in place, no limit on length.
  std::u32string many;
  for (int i = 0; i < 500; ++i)
    many += U"The quick brown fox jumps over the lazy dog, again. ";
  const std::u32string long_tokens = text::phonemize(many);
  std::size_t commas = 0;
  for (char32_t c : long_tokens)
    commas += c == U',';
  CHECK(commas == 500);
}

TEST(text_phonemize_is_safe_from_threads) {
  require_espeak();
  const std::vector<std::u32string> lines = {U"hello there, general", U"the quick brown fox",
                                             U"doctor Smith paid three dollars.", U"the",
                                             U"what a wonderful day; really!"};
  text::clear_cache();
  std::vector<std::u32string> want;
  for (const auto& l : lines)
    want.push_back(text::phonemize(l));
  std::vector<int> wrong(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 40; ++k) {
        if (k % 10 == 0 && t == 0) text::clear_cache();
        const std::size_t i = static_cast<std::size_t>(t + k) % lines.size();
        const char* language = (k % 7 == 3) ? "en-gb" : "en-us";
        const std::u32string got = text::phonemize(lines[i], language);
        if (language == std::string("en-us") && got != want[i])
          ++wrong[static_cast<std::size_t>(t)];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int w : wrong)
    CHECK(w == 0);
}

TEST(text_phonemize_without_espeak_says_how_to_get_it) {
  if (text::espeak_available()) SKIP("emomix has libespeak-ng");
  CHECK_THROWS_WITH(text::FrontendUnavailable, text::phonemize(U"hello"), "libespeak-ng");
  CHECK_THROWS_WITH(text::FrontendUnavailable, text::espeak_version(), "libespeak-ng");
  // Everything else works.
  CHECK(s(text::normalize(U"Dr. Lee owes me $5!").text) == "doctor Lee owes me five dollars!");
}

TEST(text_to_ids_runs_the_whole_frontend) {
  require_espeak();
  const text::SymbolTable table({U"_", U" ", U",", U".", U"!", U"h", U"\u0259", U"l", U"\u02C8",
                                 U"o", U"\u028A", U"w", U"\u025C", U"\u02D0", U"d"});
  const text::TextIds r = text::text_to_ids(U"Hello, world!", table);
  CHECK((r.ids == std::vector<std::int64_t>{5, 6, 7, 8, 9, 10, 2, 1, 11, 8, 12, 13, 7, 14, 4}));
  CHECK(r.dropped.empty());
  const text::TextIds skipped = text::text_to_ids(U"Hello \U0001F600 boy", table, "en-us", false,
                                                  text::SymbolTable::OnUnknown::kSkip);
  CHECK(skipped.dropped.size() == 1 && skipped.dropped[0].position == 6);
  CHECK(error_kind([&] { text::text_to_ids(U"Hello boy", table); }) ==
        kind(TextError::Kind::kUnknownSymbol));
  const text::SymbolTable tiny({U"_", U"z"});
  try {
    text::text_to_ids(U"\U0001F600 hello", tiny, "en-us", false,
                      text::SymbolTable::OnUnknown::kSkip);
    CHECK(false);
  } catch (const TextError& e) {
    CHECK(e.kind() == TextError::Kind::kNoSymbols && e.dropped.size() == 1);
  }
}
