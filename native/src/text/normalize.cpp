// Text normalisation (emomix/text.hpp, normalize): what a game or app writes -> what a speaker
// says.
//
// The passes and their order are the policy of docs/text.md. Each rule is the regular expression
// of the original Python implementation (tests/text_reference/normalization.py), run by the
// Python-compatible engine of regex.hpp, so that both read every text the same way; the parity
// test (tests/test_text_parity.py) holds them equal.
#include <algorithm>
#include <array>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "emomix/text.hpp"
#include "regex.hpp"
#include "unicode.hpp"

namespace emomix::text {

namespace {

using re::kIgnoreCase;
using re::Match;
using re::Regex;
using std::u32string;
using std::u32string_view;

u32string str(u32string_view v) {
  return u32string(v);
}

bool is_blank(u32string_view s) {
  return std::all_of(s.begin(), s.end(), [](char32_t c) { return unicode::is_space(c); });
}

u32string strip(u32string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && unicode::is_space(s[a]))
    ++a;
  while (b > a && unicode::is_space(s[b - 1]))
    --b;
  return u32string(s.substr(a, b - a));
}

u32string replace_all(u32string_view s, u32string_view what, u32string_view with) {
  u32string out;
  std::size_t i = 0;
  for (;;) {
    const std::size_t j = s.find(what, i);
    if (j == u32string_view::npos) break;
    out.append(s.substr(i, j - i));
    out.append(with);
    i = j + what.size();
  }
  out.append(s.substr(i));
  return out;
}

u32string without(u32string_view s, char32_t c) {
  u32string out;
  for (char32_t x : s) {
    if (x != c) out.push_back(x);
  }
  return out;
}

// ------------------------------------------------------------------------------ screening

// Drops invisible characters; lists unspeakable ones (each replaced by a space).
u32string screen(u32string_view text, std::vector<Problem>& problems) {
  u32string out;
  out.reserve(text.size());
  bool previous_ok_letter = false;
  for (std::size_t position = 0; position < text.size(); ++position) {
    const char32_t c = text[position];
    unicode::Screen status = unicode::screen(c);
    if (status == unicode::Screen::kAfterLetter) {
      status = previous_ok_letter ? unicode::Screen::kOk : unicode::Screen::kBad;
    }
    if (status == unicode::Screen::kOk) {
      out.push_back(c);
      if (!unicode::is_mn(c)) previous_ok_letter = unicode::is_alpha(c);
    } else if (status == unicode::Screen::kBad) {
      problems.push_back({position, c});
      out.push_back(' ');
      previous_ok_letter = false;
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ Unicode to ASCII

char32_t map_char(char32_t c, bool& drop) {
  drop = false;
  switch (c) {
    case U'\u201C':
    case U'\u201D':
    case U'\u201E':
    case U'\u201F':
    case U'\u00AB':
    case U'\u00BB':
    case U'\u301D':
    case U'\u301E':
    case U'\uFF02':
      return '"';
    case U'\u2018':
    case U'\u2019':
    case U'\u201A':
    case U'\u201B':
    case U'\u2039':
    case U'\u203A':
    case U'\u2032':
    case U'`':
    case U'\u00B4':
      return '\'';
    case U'\u2010':
    case U'\u2011':
    case U'\u2012':
    case U'\u2212':
    case U'\u2043':
      return '-';
    case U'\u2014':
    case U'\u2015':
    case U'\u2E3A':
    case U'\u2E3B':
      return U'\u2014';
    case U'\u00B7':
    case U'\u2022':
    case U'\u2027':
    case U'\u2219':
    case U'\u25E6':
    case U'\u00A4':
      return ' ';
    case '[':
    case '{':
      return '(';
    case ']':
    case '}':
      return ')';
    case U'\u00A1':
    case U'\u00BF':
      drop = true;
      return 0;
    case U'\u2044':
      return '/';
    default:
      return c;
  }
}

// The vulgar fractions ¼ ½ ¾ ⅐ ... as numerator/denominator (their NFKC forms).
bool vulgar_fraction(char32_t c, const char32_t*& num, const char32_t*& den) {
  struct Entry {
    char32_t c;
    const char32_t* num;
    const char32_t* den;
  };
  static constexpr Entry kTable[] = {
      {U'\u00BC', U"1", U"4"}, {U'\u00BD', U"1", U"2"}, {U'\u00BE', U"3", U"4"},
      {U'\u2150', U"1", U"7"}, {U'\u2151', U"1", U"9"}, {U'\u2152', U"1", U"10"},
      {U'\u2153', U"1", U"3"}, {U'\u2154', U"2", U"3"}, {U'\u2155', U"1", U"5"},
      {U'\u2156', U"2", U"5"}, {U'\u2157', U"3", U"5"}, {U'\u2158', U"4", U"5"},
      {U'\u2159', U"1", U"6"}, {U'\u215A', U"5", U"6"}, {U'\u215B', U"1", U"8"},
      {U'\u215C', U"3", U"8"}, {U'\u215D', U"5", U"8"}, {U'\u215E', U"7", U"8"}};
  for (const Entry& e : kTable) {
    if (e.c == c) {
      num = e.num;
      den = e.den;
      return true;
    }
  }
  return false;
}

u32string to_ascii_punctuation(u32string text) {
  text = replace_all(text, U"\u2122", U" ");
  text = replace_all(text, U"\u2120", U" ");
  text = replace_all(text, U"\u00AE", U" ");
  text = replace_all(text, U"\u2116", U" number ");
  static const Regex kVulgar(UR"re((\d?)\s?([¼½¾⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞]))re");
  text = kVulgar.sub(text, [](const Match& m) {
    const char32_t* num = nullptr;
    const char32_t* den = nullptr;
    vulgar_fraction(m[2][0], num, den);
    u32string words = numerals::fraction(num, den);
    if (!m[1].empty()) {
      if (u32string_view(num) == U"1") words = U"a " + words.substr(words.find(' ') + 1);
      return str(m[1]) + U" and " + words + U" ";
    }
    return U" " + words + U" ";
  });
  const u32string composed = unicode::nfkc(text);
  u32string out;
  out.reserve(composed.size());
  for (char32_t c : composed) {
    bool drop = false;
    const char32_t mapped = map_char(c, drop);
    if (drop || unicode::is_mn(mapped))
      continue;  // marks NFKC could not compose: the letter is enough
    out.push_back(mapped);
  }
  static const Regex kSpaces(UR"re(\s+)re");
  return kSpaces.sub(out, U" ");
}

// ------------------------------------------------------------------------------ helpers

const u32string kNum = UR"re((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)re";

// Whether an abbreviation's period at text[end - 1] also ends the sentence.
bool keeps_period(u32string_view text, std::size_t end) {
  const u32string_view rest = text.substr(end);
  static const Regex kNext(UR"re(\s+["(]?[A-Z])re");
  Match m;
  return is_blank(rest) || kNext.match_at(rest, 0, m);
}

// Any number token matched by kNum, optionally with leading '-'.
u32string read_number(u32string_view token, bool allow_year = true) {
  const bool negative = !token.empty() && token[0] == '-';
  while (!token.empty() && token[0] == '-')
    token.remove_prefix(1);
  const bool has_commas = token.find(',') != u32string_view::npos;
  const u32string plain = without(token, ',');
  const std::size_t dot = plain.find('.');
  u32string words;
  if (dot != u32string::npos) {
    words = numerals::decimal(u32string_view(plain).substr(0, dot),
                              u32string_view(plain).substr(dot + 1));
  } else if (plain.size() > 1 && plain[0] == '0') {
    words = numerals::digits(plain);
  } else if (allow_year && !has_commas && !negative && plain.size() == 4) {
    words = numerals::year(plain);
  } else {
    words = numerals::cardinal(plain);
  }
  return (negative ? U"minus " : U"") + words;
}

bool all_zero(u32string_view digits) {
  return std::all_of(digits.begin(), digits.end(), [](char32_t c) { return c == '0'; });
}

// int(digits) == 1
bool value_is_one(u32string_view digits) {
  while (digits.size() > 1 && digits[0] == '0')
    digits.remove_prefix(1);
  return digits == U"1";
}

// Python's token.lstrip("-") == "1"
bool is_one(u32string_view token) {
  while (!token.empty() && token[0] == '-')
    token.remove_prefix(1);
  return token == U"1";
}

// ------------------------------------------------------------------------------ abbreviations

struct Abbreviation {
  u32string_view short_form;
  u32string_view word;
};

constexpr std::array<Abbreviation, 18> kTitles = {{
    {U"Mr", U"mister"},
    {U"Mrs", U"missus"},
    {U"Ms", U"miz"},
    {U"Dr", U"doctor"},
    {U"Prof", U"professor"},
    {U"Capt", U"captain"},
    {U"Lt", U"lieutenant"},
    {U"Sgt", U"sergeant"},
    {U"Col", U"colonel"},
    {U"Gen", U"general"},
    {U"Cmdr", U"commander"},
    {U"Rev", U"reverend"},
    {U"Gov", U"governor"},
    {U"Sen", U"senator"},
    {U"Rep", U"representative"},
    {U"Pres", U"president"},
    {U"Mt", U"mount"},
    {U"Ft", U"fort"},
}};
constexpr std::array<Abbreviation, 12> kTrailing = {{
    {U"Jr", U"junior"},
    {U"Sr", U"senior"},
    {U"Inc", U"incorporated"},
    {U"Ltd", U"limited"},
    {U"Corp", U"corporation"},
    {U"Co", U"company"},
    {U"Dept", U"department"},
    {U"Ave", U"avenue"},
    {U"Blvd", U"boulevard"},
    {U"Rd", U"road"},
    {U"Univ", U"university"},
    {U"Vol", U"volume"},
}};
constexpr std::array<Abbreviation, 6> kLower = {{
    {U"etc", U"et cetera"},
    {U"approx", U"approximately"},
    {U"vs", U"versus"},
    {U"dept", U"department"},
    {U"misc", U"miscellaneous"},
    {U"fig", U"figure"},
}};
constexpr std::array<Abbreviation, 12> kMonths = {{
    {U"Jan", U"January"},
    {U"Feb", U"February"},
    {U"Mar", U"March"},
    {U"Apr", U"April"},
    {U"Jun", U"June"},
    {U"Jul", U"July"},
    {U"Aug", U"August"},
    {U"Sep", U"September"},
    {U"Sept", U"September"},
    {U"Oct", U"October"},
    {U"Nov", U"November"},
    {U"Dec", U"December"},
}};

bool is_plain_title(u32string_view s) {
  return s == U"Mr" || s == U"Mrs" || s == U"Ms" || s == U"Dr";
}

// A list of (regex, replacement word, period-aware) built once.
struct Rule {
  Regex regex;
  u32string word;
  bool period_aware;
};

const std::vector<Rule>& abbreviation_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    auto add = [&r](u32string pattern, int flags, u32string_view word, bool aware) {
      r.push_back(Rule{Regex(pattern, flags), u32string(word), aware});
    };
    add(UR"re(\be\.\s?g\.(?!\w))re", kIgnoreCase, U"for example", false);
    add(UR"re(\bi\.\s?e\.(?!\w))re", kIgnoreCase, U"that is", false);
    add(UR"re(\ba\.k\.a\.(?!\w))re", kIgnoreCase, U"also known as", false);
    add(UR"re(\bvs\b(?!\.))re", kIgnoreCase, U"versus", false);
    add(UR"re(\bNo\.\s?(?=\d))re", kIgnoreCase, U"number ", false);
    add(UR"re(\bSt\.(?=\s+[A-Z]))re", 0, U"Saint", false);
    add(UR"re(\bSt\.)re", 0, U"street", true);
    for (const Abbreviation& a : kTitles) {  // British style: no period
      if (!is_plain_title(a.short_form)) continue;
      add(U"\\b" + str(a.short_form) + UR"re(\b(?!\.)(?=\s+[A-Z]))re", 0, a.word, false);
    }
    for (const Abbreviation& a : kTitles) {
      add(U"\\b" + str(a.short_form) + U"\\.", is_plain_title(a.short_form) ? kIgnoreCase : 0,
          a.word, false);
    }
    for (const Abbreviation& a : kTrailing)
      add(U"\\b" + str(a.short_form) + U"\\.", 0, a.word, true);
    for (const Abbreviation& a : kLower) {
      add(U"\\b" + str(a.short_form) + U"\\.", kIgnoreCase, a.word, true);
    }
    for (const Abbreviation& a : kMonths)
      add(U"\\b" + str(a.short_form) + U"\\.", 0, a.word, false);
    return r;
  }();
  return rules;
}

u32string expand_abbreviations(u32string text) {
  for (const Rule& rule : abbreviation_rules()) {
    if (rule.period_aware) {
      text = rule.regex.sub(text, [&rule](const Match& m) {
        return rule.word + (keeps_period(m.string(), m.end()) ? U"." : U"");
      });
    } else {
      text = rule.regex.sub(text, rule.word);
    }
  }
  return text;
}

u32string dotted_acronyms(u32string_view text) {
  static const Regex kAcronym(UR"re(\b(?:[A-Za-z]\.){2,}(?!\w))re");
  return kAcronym.sub(text, [](const Match& m) {
    u32string letters;
    for (char32_t c : m[0]) {
      if (c == '.') continue;
      letters.push_back(unicode::is_ascii_lower(c) ? c - 32 : c);
    }
    if (is_blank(m.string().substr(m.end()))) letters.push_back('.');
    return letters;
  });
}

// ------------------------------------------------------------------------------ dates, times

u32string dates(u32string_view text) {
  static const Regex kDate = [] {
    // Month names, longest first (so "Sept" is tried before "Sep").
    std::vector<u32string> names;
    for (const Abbreviation& a : kMonths) {
      names.emplace_back(a.short_form);
      names.emplace_back(a.word);
    }
    names.emplace_back(U"May");
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    std::stable_sort(names.begin(), names.end(),
                     [](const u32string& a, const u32string& b) { return a.size() > b.size(); });
    u32string months;
    for (const u32string& n : names)
      months += (months.empty() ? U"" : U"|") + n;
    return Regex(UR"re(\b(?P<month>)re" + months +
                 UR"re()\.?\s(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?![:\d]))re"
                 UR"re((?:,?\s(?P<year>\d{4})\b(?![\d.,]\d))?)re");
  }();
  return kDate.sub(text, [](const Match& m) {
    const u32string_view day_digits = m["day"];
    int day = 0;
    for (char32_t c : day_digits)
      day = day * 10 + static_cast<int>(c - '0');
    if (day < 1 || day > 31) return str(m[0]);
    u32string month = str(m["month"]);
    for (const Abbreviation& a : kMonths) {
      if (month == a.short_form) {
        month = str(a.word);
        break;
      }
    }
    u32string words = month + U" " + numerals::ordinal(day_digits);
    if (m.matched("year")) words += U", " + numerals::year(m["year"]);
    return words;
  });
}

u32string meridiem(const Match& m) {
  if (!m.matched("ampm")) return U"";
  const char32_t letter = m["ampm"][0];
  u32string word = (letter == 'a' || letter == 'A') ? U" AM" : U" PM";
  if (m.matched("ampm_tail") && !m[0].empty() && m[0].back() == '.' &&
      keeps_period(m.string(), m.end())) {
    word += U".";
  }
  return word;
}

int small_int(u32string_view digits) {
  int v = 0;
  for (char32_t c : digits)
    v = v * 10 + static_cast<int>(c - '0');
  return v;
}

u32string times(u32string text) {
  static const u32string kAmPm =
      UR"re((?:\s?(?P<ampm>[AaPp])\.?\s?[Mm](?P<ampm_tail>\.)?(?!\w))?)re";
  static const Regex kClock(
      UR"re((?<![\w.:])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?![\d:]))re" + kAmPm);
  static const Regex kHour(UR"re((?<![\w.:])(?P<h>\d{1,2})(?=\s?[AaPp]\.?\s?[Mm]\.?(?!\w)))re" +
                           kAmPm);
  text = kClock.sub(text, [](const Match& m) {
    const int hour = small_int(m["h"]), minute = small_int(m["m"]);
    if (hour > 24 || minute > 59) return str(m[0]);
    u32string words = numerals::cardinal(m["h"]);
    if (minute == 0) {
      if (!m.matched("ampm")) words += hour <= 12 ? U" o'clock" : U" hundred";
    } else if (minute < 10) {
      words += U" oh " + numerals::cardinal(m["m"]);
    } else {
      words += U" " + numerals::cardinal(m["m"]);
    }
    if (m.matched("s")) words += U" and " + numerals::cardinal(m["s"]) + U" seconds";
    return U" " + words + meridiem(m) + U" ";
  });
  text = kHour.sub(text, [](const Match& m) {
    if (small_int(m["h"]) > 12) return str(m[0]);
    return U" " + numerals::cardinal(m["h"]) + meridiem(m) + U" ";
  });
  return text;
}

// ------------------------------------------------------------------------------ money, units

struct Currency {
  char32_t symbol;
  u32string_view unit, units, subunit, subunits;  // subunit empty: none
};
constexpr std::array<Currency, 5> kCurrencies = {{
    {U'$', U"dollar", U"dollars", U"cent", U"cents"},
    {U'\u00A3', U"pound", U"pounds", U"penny", U"pence"},
    {U'\u20AC', U"euro", U"euros", U"cent", U"cents"},
    {U'\u00A5', U"yen", U"yen", U"", U""},
    {U'\u20B9', U"rupee", U"rupees", U"paisa", U"paise"},
}};

u32string_view scale_word(u32string_view scale) {
  if (scale == U"k" || scale == U"K" || scale == U"thousand") return U"thousand";
  if (scale == U"m" || scale == U"M" || scale == U"mn" || scale == U"million") return U"million";
  if (scale == U"b" || scale == U"B" || scale == U"bn" || scale == U"billion") return U"billion";
  return U"trillion";
}

u32string money(u32string_view amount, char32_t symbol, u32string_view scale, bool negative) {
  const Currency* cur = &kCurrencies[0];
  for (const Currency& c : kCurrencies) {
    if (c.symbol == symbol) cur = &c;
  }
  const u32string prefix = negative ? U"minus " : U"";
  if (!scale.empty()) {
    return prefix + read_number(amount, false) + U" " + str(scale_word(scale)) + U" " +
           str(cur->units);
  }
  const u32string plain = without(amount, ',');
  const std::size_t dot = plain.find('.');
  const u32string integer = plain.substr(0, dot);
  const u32string fraction = dot == u32string::npos ? U"" : plain.substr(dot + 1);
  if (!fraction.empty() && (fraction.size() != 2 || cur->subunit.empty())) {
    return prefix + numerals::decimal(integer, fraction) + U" " + str(cur->units);
  }
  const u32string whole = integer.empty() ? U"0" : integer;
  const u32string cents = fraction.empty() ? U"0" : fraction;
  u32string out;
  if (!all_zero(whole) || all_zero(cents)) {
    out = numerals::cardinal(whole) + U" " + str(value_is_one(whole) ? cur->unit : cur->units);
  }
  if (!all_zero(cents)) {
    if (!out.empty()) out += U" and ";
    out +=
        numerals::cardinal(cents) + U" " + str(value_is_one(cents) ? cur->subunit : cur->subunits);
  }
  return prefix + out;
}

const u32string kScale =
    UR"re((?:(?P<scale>k|K|mn|m|M|bn|b|B)\b|\s(?P<scale_word>thousand|million|billion|trillion)\b))re";
const u32string kCur = UR"re([$£€¥₹])re";

u32string currency(u32string text) {
  static const Regex kPrefix(UR"re((?<![\w.])(?P<neg>-)?(?P<symbol>)re" + kCur +
                             UR"re()\s?(?P<amount>)re" + kNum + U")" + kScale + U"?");
  static const Regex kSuffix(UR"re((?<![\w.])(?P<neg>-)?(?P<amount>)re" + kNum + U")" + kScale +
                             UR"re(?\s?(?P<symbol>)re" + kCur + U")");
  static const Regex kCents(UR"re((?<![\w.])(?P<amount>)re" + kNum + UR"re()\s?¢)re");
  const auto repl = [](const Match& m) {
    const u32string_view scale = m.matched("scale") ? m["scale"] : m["scale_word"];
    return U" " + money(m["amount"], m["symbol"][0], scale, m.matched("neg")) + U" ";
  };
  text = kPrefix.sub(text, repl);
  text = kSuffix.sub(text, repl);
  text = kCents.sub(text, [](const Match& m) {
    return U" " +
           (is_one(m["amount"]) ? u32string(U"one cent")
                                : read_number(m["amount"], false) + U" cents") +
           U" ";
  });
  return text;
}

struct Unit {
  u32string_view written, singular, plural;
};
constexpr std::array<Unit, 35> kUnits = {{
    {U"km/h", U"kilometer per hour", U"kilometers per hour"},
    {U"kph", U"kilometer per hour", U"kilometers per hour"},
    {U"mph", U"mile per hour", U"miles per hour"},
    {U"km", U"kilometer", U"kilometers"},
    {U"cm", U"centimeter", U"centimeters"},
    {U"mm", U"millimeter", U"millimeters"},
    {U"kg", U"kilogram", U"kilograms"},
    {U"mg", U"milligram", U"milligrams"},
    {U"ml", U"milliliter", U"milliliters"},
    {U"mL", U"milliliter", U"milliliters"},
    {U"lb", U"pound", U"pounds"},
    {U"lbs", U"pound", U"pounds"},
    {U"oz", U"ounce", U"ounces"},
    {U"ft", U"foot", U"feet"},
    {U"yd", U"yard", U"yards"},
    {U"mi", U"mile", U"miles"},
    {U"hr", U"hour", U"hours"},
    {U"hrs", U"hour", U"hours"},
    {U"min", U"minute", U"minutes"},
    {U"mins", U"minute", U"minutes"},
    {U"sec", U"second", U"seconds"},
    {U"secs", U"second", U"seconds"},
    {U"ms", U"millisecond", U"milliseconds"},
    {U"KB", U"kilobyte", U"kilobytes"},
    {U"kB", U"kilobyte", U"kilobytes"},
    {U"MB", U"megabyte", U"megabytes"},
    {U"GB", U"gigabyte", U"gigabytes"},
    {U"TB", U"terabyte", U"terabytes"},
    {U"Hz", U"hertz", U"hertz"},
    {U"kHz", U"kilohertz", U"kilohertz"},
    {U"MHz", U"megahertz", U"megahertz"},
    {U"GHz", U"gigahertz", U"gigahertz"},
    {U"\u00B0C", U"degree Celsius", U"degrees Celsius"},
    {U"\u00B0F", U"degree Fahrenheit", U"degrees Fahrenheit"},
    {U"\u00B0", U"degree", U"degrees"},
}};

u32string units_and_percent(u32string text) {
  static const u32string kAmount = UR"re((?<![\w.])(?P<amount>-?(?:)re" + kNum + U"))";
  static const Regex kPercent(kAmount + UR"re(\s?%)re");
  static const Regex kUnit = [] {
    std::vector<const Unit*> order;
    for (const Unit& u : kUnits)
      order.push_back(&u);
    std::stable_sort(order.begin(), order.end(), [](const Unit* a, const Unit* b) {
      return a->written.size() > b->written.size();
    });
    u32string alternatives;
    for (const Unit* u : order) {
      if (!alternatives.empty()) alternatives.push_back('|');
      alternatives += u->written;  // no unit contains a regex metacharacter
    }
    return Regex(kAmount + UR"re(\s?(?P<unit>)re" + alternatives + UR"re()(?![\w/]))re");
  }();
  static const Regex kKmh(UR"re((?<!\w)km/h(?!\w))re");
  static const Regex kCelsius(UR"re(°\s?C\b)re");
  static const Regex kFahrenheit(UR"re(°\s?F\b)re");
  text = kPercent.sub(
      text, [](const Match& m) { return U" " + read_number(m["amount"], false) + U" percent "; });
  text = kUnit.sub(text, [](const Match& m) {
    const Unit* unit = &kUnits[0];
    for (const Unit& u : kUnits) {
      if (u.written == m["unit"]) unit = &u;
    }
    const u32string_view word = is_one(m["amount"]) ? unit->singular : unit->plural;
    return U" " + read_number(m["amount"], false) + U" " + str(word) + U" ";
  });
  text = kKmh.sub(text, U" kilometers per hour ");
  text = kCelsius.sub(text, U" degrees Celsius ");
  text = kFahrenheit.sub(text, U" degrees Fahrenheit ");
  return text;
}

// ------------------------------------------------------------------------------ numbers

u32string numbers(u32string text) {
  static const Regex kOrdinal(UR"re((?<![\w.])(?P<n>\d{1,3}(?:,\d{3})+|\d+)(?:st|nd|rd|th)\b)re",
                              kIgnoreCase);
  static const Regex kTwentyFourSeven(UR"re((?<![\w/])24/7(?![\w/]))re");
  static const Regex kFraction(UR"re((?<![\d/.])(?P<a>\d+)/(?P<b>\d+)(?![\d/]))re");
  static const Regex kDividedBy(UR"re((?<=\d)\s/\s(?=\d))re");
  static const Regex kSlash(UR"re((?<=\d)/(?=\d))re");
  static const Regex kDecade(UR"re((?<![\w'])(?P<n>\d{4})s\b)re");
  static const Regex kShortDecade(UR"re((?<!\w)'?(?P<n>[1-9]0)s\b)re");
  static const Regex kRange(UR"re((?<![\w.])(?P<a>)re" + kNum + UR"re()\s?[–-]\s?(?P<b>)re" + kNum +
                            UR"re()(?![\w.]))re");
  static const Regex kSigned(UR"re((?<![\w.,)])-(?P<n>)re" + kNum + U")");
  static const Regex kNumber(kNum);
  text = kOrdinal.sub(
      text, [](const Match& m) { return U" " + numerals::ordinal(without(m["n"], ',')) + U" "; });
  text = kTwentyFourSeven.sub(text, U" twenty-four seven ");
  text = kFraction.sub(
      text, [](const Match& m) { return U" " + numerals::fraction(m["a"], m["b"]) + U" "; });
  text = kDividedBy.sub(text, U" divided by ");
  text = kSlash.sub(text, U" slash ");
  text = kDecade.sub(text, [](const Match& m) {
    if (m["n"].back() != '0') return str(m[0]);
    return U" " + numerals::pluralize_number_words(numerals::year(m["n"])) + U" ";
  });
  text = kShortDecade.sub(text, [](const Match& m) {
    return U" " + numerals::pluralize_number_words(numerals::cardinal(m["n"])) + U" ";
  });
  text = kRange.sub(text, [](const Match& m) {
    return U" " + read_number(m["a"]) + U" to " + read_number(m["b"]) + U" ";
  });
  text = replace_all(text, U"\u2013", U" \u2014 ");
  text = kSigned.sub(text,
                     [](const Match& m) { return U" " + read_number(U"-" + str(m["n"])) + U" "; });
  text = kNumber.sub(text, [](const Match& m) { return U" " + read_number(m[0]) + U" "; });
  return text;
}

// ------------------------------------------------------------------------------ symbols, marks

u32string number_prefixes(u32string text) {
  static const Regex kHash(UR"re(#\s?(?=\d))re");
  static const Regex kAbout(UR"re(~\s?(?=[-.]?\d))re");
  text = kHash.sub(text, U" number ");
  return kAbout.sub(text, U" about ");
}

u32string symbols(u32string text) {
  static const Regex kOr(UR"re((?<=[A-Za-z])\s?/\s?(?=[A-Za-z]))re");
  static const std::array<std::pair<char32_t, u32string_view>, 17> kWords = {{
      {U'&', U" and "},
      {U'@', U" at "},
      {U'+', U" plus "},
      {U'=', U" equals "},
      {U'\u00D7', U" times "},
      {U'\u00F7', U" divided by "},
      {U'\u00B1', U" plus or minus "},
      {U'%', U" percent "},
      {U'\u00B0', U" degrees "},
      {U'\u00A7', U" section "},
      {U'\u00A9', U" copyright "},
      {U'$', U" dollars "},
      {U'\u00A3', U" pounds "},
      {U'\u20AC', U" euros "},
      {U'\u00A5', U" yen "},
      {U'\u20B9', U" rupees "},
      {U'\u00A2', U" cents "},
  }};
  text = kOr.sub(text, U" or ");
  for (const auto& [symbol, words] : kWords)
    text = replace_all(text, u32string(1, symbol), words);
  for (char32_t c : u32string_view(U"*_^|\\<>~#/"))
    std::replace(text.begin(), text.end(), c, U' ');
  return text;
}

bool is_prosody_mark(char32_t c) {
  return kProsodyMarks.find(c) != u32string_view::npos;
}

u32string tidy_punctuation(u32string text) {
  static const Regex kDoubleHyphen(UR"re(\s*-{2,}\s*|\s+-\s+)re");
  static const Regex kLooseHyphen(UR"re((?<!\w)-+|-+(?!\w))re");
  static const Regex kDash(UR"re(\s*—[\s—]*)re");
  static const Regex kInterrobang(UR"re([!?]*\?[!?]*!+[!?]*|[!?]*![!?]*\?+[!?]*)re");
  static const Regex kBangs(UR"re(!{2,})re");
  static const Regex kQuestions(UR"re(\?{2,})re");
  static const Regex kDots(UR"re(\.{2,})re");
  static const Regex kRepeatedClause(UR"re(([,;:])[\s,;:]*\1)re");
  static const Regex kCommaBeforeMark(UR"re(,\s*(?=[.!?;:]))re");
  static const Regex kSpaces(UR"re(\s+)re");
  static const Regex kSpaceBeforeMark(UR"re(\s+([,.!?;:)]))re");
  static const Regex kSpaceAfterParen(UR"re(\(\s+)re");
  static const Regex kSpaceAfterMark(UR"re(([,!?;:)])(?=[^\s,.!?;:)"'—]))re");
  static const Regex kSentenceGlue(UR"re((?<=[a-z])\.(?=[A-Za-z]))re");
  static const Regex kLeading(UR"re(^[\s,;:]+)re");
  text = kDoubleHyphen.sub(text, U" \u2014 ");
  text = kLooseHyphen.sub(text, U" ");
  text = kDash.sub(text, U" \u2014 ");
  text = kInterrobang.sub(text, U"?!");
  text = kBangs.sub(text, U"!");
  text = kQuestions.sub(text, U"?");
  text = kDots.sub(text, U"...");
  text = kRepeatedClause.sub(text, UR"re(\1)re");
  text = kCommaBeforeMark.sub(text, U"");
  for (char32_t& c : text) {
    if (!(unicode::is_alpha(c) || c == '\'' || c == '-' || c == ' ' || is_prosody_mark(c))) c = ' ';
  }
  text = kSpaces.sub(text, U" ");
  text = kSpaceBeforeMark.sub(text, UR"re(\1)re");
  text = kSpaceAfterParen.sub(text, U"(");
  text = kSpaceAfterMark.sub(text, UR"re(\1 )re");
  text = kSentenceGlue.sub(text, U". ");
  text = kLeading.sub(text, U"");
  return strip(text);
}

std::string quote_start(u32string_view text) {
  // A short, printable excerpt for error messages (Python's repr(text[:60]) in the SDK).
  std::string out = "'";
  for (char32_t c : text.substr(0, 60)) {
    if (c < 0x20 || c == 0x7F) {
      out += "?";
    } else {
      unicode::append_utf8(out, c);
    }
  }
  return out + "'";
}

}  // namespace

Normalized normalize(u32string_view text, bool strict) {
  if (text.size() > kMaxChars) {
    TextError e(TextError::Kind::kTooLong,
                "text is " + std::to_string(text.size()) +
                    " characters long; the limit for one "
                    "call is " +
                    std::to_string(kMaxChars) +
                    ". Split it into sentences "
                    "(split_sentences) and synthesize the pieces one after another.");
    e.length = text.size();
    e.limit = kMaxChars;
    throw e;
  }
  if (is_blank(text)) {
    throw TextError(TextError::Kind::kEmpty,
                    "text is empty or only whitespace: give at least one word to speak.");
  }
  Normalized out;
  std::vector<Problem> problems;
  u32string result = screen(text, problems);
  if (!problems.empty()) {
    if (strict) {
      std::string message = "cannot speak";
      for (std::size_t i = 0; i < problems.size() && i < 5; ++i) {
        char code[16];
        std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(problems[i].character));
        message += std::string(i ? ", " : " ") + code + " at position " +
                   std::to_string(problems[i].position);
      }
      if (problems.size() > 5) message += " and " + std::to_string(problems.size() - 5) + " more";
      message +=
          ". The text frontend reads English written in Latin script, with digits, common "
          "punctuation and symbols: remove these characters or write them out in words, "
          "or pass strict=false to drop them.";
      TextError e(TextError::Kind::kUnsupportedText, message);
      e.problems = std::move(problems);
      throw e;
    }
    out.dropped = std::move(problems);
  }
  result = to_ascii_punctuation(std::move(result));
  result = dates(result);
  result = expand_abbreviations(std::move(result));
  result = times(std::move(result));
  result = dotted_acronyms(result);
  result = number_prefixes(std::move(result));
  result = currency(std::move(result));
  result = units_and_percent(std::move(result));
  result = numbers(std::move(result));
  result = symbols(std::move(result));
  result = tidy_punctuation(std::move(result));
  if (std::none_of(result.begin(), result.end(), [](char32_t c) { return unicode::is_alpha(c); })) {
    TextError e(TextError::Kind::kNothingToSay,
                "nothing to speak in " + quote_start(text) +
                    ": after normalisation no words "
                    "are left (only punctuation, symbols or dropped characters). Give at least one "
                    "word.");
    e.text = u32string(text.substr(0, 60));
    e.dropped = std::move(out.dropped);
    throw e;
  }
  out.text = std::move(result);
  return out;
}

}  // namespace emomix::text
