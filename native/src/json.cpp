#include "emomix/json.hpp"

#include <cmath>
#include <cstdlib>

#include "emomix/error.hpp"

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
  void expect(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("expected '" + std::string(word) + "'");
    pos_ += word.size();
  }

  Json value(int depth) {
    if (depth > 64) fail("nesting deeper than 64 levels");
    Json v;
    const char c = peek();
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
        for (const auto& m : v.members_)
          if (m.first == key) fail("key '" + key + "' is repeated");
        if (peek() != ':') fail("expected ':'");
        ++pos_;
        v.members_.emplace_back(std::move(key), value(depth + 1));
        const char d = peek();
        ++pos_;
        if (d == '}') break;
        if (d != ',') fail("expected ',' or '}'");
      }
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
    } else {
      v.type_ = Json::Type::number;
      v.number_ = number();
    }
    return v;
  }

  double number() {
    const std::size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    auto digits = [&] {
      const std::size_t d0 = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ > d0;
    };
    if (!digits()) fail("expected a value");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (!digits()) fail("expected digits after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (!digits()) fail("expected exponent digits");
    }
    const std::string text(s_.substr(start, pos_ - start));
    return std::strtod(text.c_str(), nullptr);
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

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
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
            pos_ += 2;
            const unsigned lo = hex4();
            if (lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
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

const Json& Json::at(std::string_view key, const std::string& path) const {
  if (!is_object()) throw InvalidArgument(path + " is not an object");
  const Json* v = find(key);
  if (v == nullptr) throw InvalidArgument(path + "." + std::string(key) + " is missing");
  return *v;
}

std::int64_t Json::get_int(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  if (!v.is_number() || v.number_ != std::floor(v.number_) || std::fabs(v.number_) > 9.0e15)
    throw InvalidArgument(path + "." + std::string(key) + " must be an integer");
  return static_cast<std::int64_t>(v.number_);
}

double Json::get_number(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  if (!v.is_number()) throw InvalidArgument(path + "." + std::string(key) + " must be a number");
  return v.number_;
}

std::string Json::get_string(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  if (!v.is_string()) throw InvalidArgument(path + "." + std::string(key) + " must be a string");
  return v.string_;
}

std::vector<std::int64_t> Json::get_int_list(std::string_view key, const std::string& path) const {
  const Json& v = at(key, path);
  const std::string p = path + "." + std::string(key);
  if (!v.is_array()) throw InvalidArgument(p + " must be a list of integers");
  std::vector<std::int64_t> out;
  for (const Json& x : v.items_) {
    if (!x.is_number() || x.number_ != std::floor(x.number_) || std::fabs(x.number_) > 9.0e15)
      throw InvalidArgument(p + " must be a list of integers");
    out.push_back(static_cast<std::int64_t>(x.number_));
  }
  return out;
}

}  // namespace emomix
