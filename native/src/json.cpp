#include "emomix/json.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "emomix/error.hpp"
#include "emomix/schema_constants.hpp"

namespace emomix {

class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  Json document() {
    Json v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("trailing characters after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InvalidArgument("invalid JSON at byte " + std::to_string(pos_) + ": " + what);
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' ||
                                s_[pos_] == '\t'))
      ++pos_;
  }
  char peek() {
    skip_ws();
    if (pos_ >= s_.size()) fail("unexpected end of input");
    return s_[pos_];
  }
  bool starts_with(std::string_view word) const { return s_.substr(pos_, word.size()) == word; }
  void expect(std::string_view word) {
    if (!starts_with(word)) fail("expected '" + std::string(word) + "'");
    pos_ += word.size();
  }

  // `depth` counts the containers around this value; a container may open only below the limit.
  Json value(int depth) {
    Json v;
    const char c = peek();
    if ((c == '{' || c == '[') && depth >= schema::kJsonMaxDepth) {
      fail("containers nested deeper than " + std::to_string(schema::kJsonMaxDepth) + " levels");
    }
    if (c == '{') {
      v.type_ = Json::Type::object;
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      for (;;) {
        if (peek() != '"') fail("expected a string key");
        std::string key = string();
        if (peek() != ':') fail("expected ':'");
        ++pos_;
        v.members_.emplace_back(std::move(key), value(depth + 1));
        const char d = peek();
        ++pos_;
        if (d == '}') break;
        if (d != ',') fail("expected ',' or '}'");
      }
      check_unique_keys(v);
    } else if (c == '[') {
      v.type_ = Json::Type::array;
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      for (;;) {
        v.items_.push_back(value(depth + 1));
        const char d = peek();
        ++pos_;
        if (d == ']') break;
        if (d != ',') fail("expected ',' or ']'");
      }
    } else if (c == '"') {
      v.type_ = Json::Type::string;
      v.string_ = string();
    } else if (c == 't') {
      expect("true");
      v.type_ = Json::Type::boolean;
      v.boolean_ = true;
    } else if (c == 'f') {
      expect("false");
      v.type_ = Json::Type::boolean;
    } else if (c == 'n') {
      expect("null");
    } else if (c == 'N') {  // Python's json reads NaN, Infinity and -Infinity
      expect("NaN");
      v.type_ = Json::Type::number;
      v.number_ = std::numeric_limits<double>::quiet_NaN();
    } else if (c == 'I' || (c == '-' && s_.substr(pos_ + 1, 1) == "I")) {
      const bool negative = c == '-';
      pos_ += negative;
      expect("Infinity");
      v.type_ = Json::Type::number;
      v.number_ = negative ? -HUGE_VAL : HUGE_VAL;
    } else {
      number(v);
    }
    return v;
  }

  // O(n log n): an object with many keys must not make parsing quadratic.
  void check_unique_keys(const Json& v) {
    const auto& m = v.members_;
    if (m.size() < 2) return;
    std::vector<const std::string*> keys;
    keys.reserve(m.size());
    for (const auto& kv : m) keys.push_back(&kv.first);
    std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    for (std::size_t i = 1; i < keys.size(); ++i) {
      if (*keys[i] == *keys[i - 1]) fail("key '" + *keys[i] + "' is repeated in one object");
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? — the grammar Python's json reads.
  void number(Json& v) {
    const std::size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const std::size_t d0 = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d0;
    };
    const std::size_t int_start = pos_;
    const std::size_t n_int = digits();
    if (n_int == 0) fail("expected a value");
    if (n_int > 1 && s_[int_start] == '0') {
      pos_ = int_start + 1;
      fail("a number has a leading zero");
    }
    bool integer = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("expected digits after '.'");
      integer = false;
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected exponent digits");
      integer = false;
    }
    if (integer && n_int > static_cast<std::size_t>(schema::kJsonMaxIntegerDigits)) {
      fail("an integer has more than " + std::to_string(schema::kJsonMaxIntegerDigits) +
           " digits");
    }
    const std::string text(s_.substr(start, pos_ - start));
    v.type_ = Json::Type::number;
    v.number_ = std::strtod(text.c_str(), nullptr);  // +-HUGE_VAL beyond float64, like Python
    v.integer_ = integer;
    if (integer) {
      errno = 0;
      const long long i = std::strtoll(text.c_str(), nullptr, 10);
      v.fits_ = errno != ERANGE;
      v.int_ = v.fits_ ? static_cast<std::int64_t>(i) : 0;
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned u = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      u <<= 4;
      if (h >= '0' && h <= '9') u |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') u |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') u |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return u;
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Copies one UTF-8 encoded character starting at s_[pos_] (a byte >= 0x80) into `out`;
  // refuses what Python's strict UTF-8 decoder refuses.
  void utf8_char(std::string& out) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s_[i]); };
    const unsigned char b0 = byte(pos_);
    std::size_t n;
    unsigned cp, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2, cp = b0 & 0x1Fu, min = 0x80;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3, cp = b0 & 0x0Fu, min = 0x800;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4, cp = b0 & 0x07u, min = 0x10000;
    } else {
      fail("invalid UTF-8");
    }
    if (pos_ + n > s_.size()) fail("truncated UTF-8 sequence");
    for (std::size_t i = 1; i < n; ++i) {
      const unsigned char b = byte(pos_ + i);
      if ((b & 0xC0u) != 0x80u) fail("invalid UTF-8");
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) fail("invalid UTF-8");
    out.append(s_.data() + pos_, n);
    pos_ += n;
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_];
      if (static_cast<unsigned char>(c) >= 0x80) {
        utf8_char(out);
        continue;
      }
      ++pos_;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            const std::size_t mark = pos_;
            pos_ += 2;
            const unsigned lo = hex4();
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = mark;  // a lone high surrogate, as Python keeps it; the next escape stands
            }
          }
          utf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

Json parse_json(std::string_view text) { return JsonParser(text).document(); }

const Json* Json::find(std::string_view key) const noexcept {
  for (const auto& m : members_)
    if (m.first == key) return &m.second;
  return nullptr;
}

namespace {

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

bool valid_int(const Json& v) {
  return v.integer_fits() && v.integer() >= -schema::kJsonMaxInteger &&
         v.integer() <= schema::kJsonMaxInteger;
}

}  // namespace

const Json& Json::at(std::string_view key, const std::string& path) const {
  if (!is_object()) throw JsonFieldError(path, "is not an object");
  const Json* v = find(key);
  if (v == nullptr) throw JsonFieldError(join(path, key), "is missing");
  return *v;
}

std::int64_t Json::get_int(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  if (!valid_int(v)) throw JsonFieldError(join(path, key), "must be an integer");
  return v.int_;
}

double Json::get_number(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  if (!v.is_number() || !std::isfinite(v.number_)) {
    throw JsonFieldError(join(path, key), "must be a finite number");
  }
  return v.number_;
}

std::string Json::get_string(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  if (!v.is_string()) throw JsonFieldError(join(path, key), "must be a string");
  return v.string_;
}

std::vector<std::int64_t> Json::get_int_list(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  const std::string p = join(path, key);
  if (!v.is_array()) throw JsonFieldError(p, "must be a list of integers");
  std::vector<std::int64_t> out;
  out.reserve(v.items_.size());
  for (const Json& x : v.items_) {
    if (!valid_int(x)) throw JsonFieldError(p, "must be a list of integers");
    out.push_back(x.int_);
  }
  return out;
}

bool json_equal(const Json& a, const Json& b) noexcept {
  const auto numeric = [](const Json& v) { return v.is_number() || v.is_boolean(); };
  if (numeric(a) && numeric(b)) {
    if (a.integer_fits() && b.integer_fits()) return a.integer() == b.integer();
    const double x = a.is_boolean() ? a.boolean() : a.number();
    const double y = b.is_boolean() ? b.boolean() : b.number();
    return x == y;  // NaN != NaN, as in Python
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::null: return true;
    case Json::Type::string: return a.string() == b.string();
    case Json::Type::array: {
      if (a.items().size() != b.items().size()) return false;
      for (std::size_t i = 0; i < a.items().size(); ++i)
        if (!json_equal(a.items()[i], b.items()[i])) return false;
      return true;
    }
    case Json::Type::object: {
      if (a.members().size() != b.members().size()) return false;
      for (const auto& [k, v] : a.members()) {
        const Json* w = b.find(k);
        if (w == nullptr || !json_equal(v, *w)) return false;
      }
      return true;
    }
    default: return false;
  }
}

std::string float_repr(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[40];
  for (int p = 1; p <= 17; ++p) {  // the shortest text that reads back as x, like Python's repr
    std::snprintf(buf, sizeof buf, "%.*g", p, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

namespace {

void repr(const Json& v, std::string& out, std::size_t max_chars) {
  if (out.size() > max_chars) return;
  switch (v.type()) {
    case Json::Type::null: out += "None"; break;
    case Json::Type::boolean: out += v.boolean() ? "True" : "False"; break;
    case Json::Type::number:
      if (v.integer_fits()) out += std::to_string(v.integer());
      else if (v.is_integer()) out += "<an integer beyond 64 bits>";
      else out += float_repr(v.number());
      break;
    case Json::Type::string: out += "'" + v.string() + "'"; break;
    case Json::Type::array:
      out += '[';
      for (std::size_t i = 0; i < v.items().size() && out.size() <= max_chars; ++i) {
        if (i) out += ", ";
        repr(v.items()[i], out, max_chars);
      }
      out += ']';
      break;
    case Json::Type::object:
      out += '{';
      for (std::size_t i = 0; i < v.members().size() && out.size() <= max_chars; ++i) {
        if (i) out += ", ";
        out += "'" + v.members()[i].first + "': ";
        repr(v.members()[i].second, out, max_chars);
      }
      out += '}';
      break;
  }
}

}  // namespace

std::string json_repr(const Json& v, std::size_t max_chars) {
  std::string out;
  repr(v, out, max_chars);
  if (out.size() > max_chars) out = out.substr(0, max_chars) + "...";
  return out;
}

}  // namespace emomix
