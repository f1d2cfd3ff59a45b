// emomix/json.hpp — a small JSON reader for voice.json and safetensors headers.
//
// parse_json() reads RFC 8259 JSON into a Json tree, reading what Python's json module reads
// (emomix.voice and this runtime must accept and refuse the same files):
//   - objects keep their key order; a key repeated within one object is an error;
//   - containers nest at most kJsonMaxDepth deep (the voice schema's json.max_depth);
//   - strings are UTF-8 (overlong forms, surrogates and code points above U+10FFFF are errors);
//   - numbers keep whether they were written as an integer (no fraction, no exponent), as
//     Python's int and float differ; integer literals longer than kJsonMaxIntegerDigits digits are
//     an error (Python's default int limit); the literals NaN, Infinity and -Infinity are read
//     as Python's json reads them, so that the validators, not the parser, name the field.
// Errors throw InvalidArgument with the byte offset. Lookup helpers throw JsonFieldError naming
// the dotted path of the missing or mistyped field, which callers turn into a VoiceError.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "emomix/error.hpp"

namespace emomix {

// A field of a parsed document is missing or has the wrong type: `field` is its dotted path
// ("model.config.encoder.hidden"), `problem` what is wrong ("is missing"). what() is
// "<field> <problem>".
class JsonFieldError : public InvalidArgument {
 public:
  JsonFieldError(std::string field, std::string problem)
      : InvalidArgument(field + " " + problem),
        field_(std::move(field)),
        problem_(std::move(problem)) {}
  const std::string& field() const noexcept { return field_; }
  const std::string& problem() const noexcept { return problem_; }

 private:
  std::string field_, problem_;
};

class Json {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Type type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == Type::null; }
  bool is_boolean() const noexcept { return type_ == Type::boolean; }
  bool is_object() const noexcept { return type_ == Type::object; }
  bool is_array() const noexcept { return type_ == Type::array; }
  bool is_number() const noexcept { return type_ == Type::number; }
  bool is_string() const noexcept { return type_ == Type::string; }
  // A number written as an integer (Python reads it as an int).
  bool is_integer() const noexcept { return type_ == Type::number && integer_; }
  // An integer literal whose value fits std::int64_t (then integer() is exact).
  bool integer_fits() const noexcept { return is_integer() && fits_; }

  // The value as a double: +-inf for literals beyond float64, NaN/+-inf for those literals.
  double number() const noexcept { return number_; }
  std::int64_t integer() const noexcept { return int_; }
  bool boolean() const noexcept { return boolean_; }
  const std::string& string() const noexcept { return string_; }
  const std::vector<Json>& items() const noexcept { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const noexcept { return members_; }

  // The member named `key`, or null when absent (or when this is not an object).
  const Json* find(std::string_view key) const noexcept;

  // Typed lookups of a member; `path` is this value's dotted path, used in error messages.
  // Integers must be integer literals within +-kJsonMaxInteger.
  const Json& at(std::string_view key, const std::string& path) const;
  std::int64_t get_int(std::string_view key, const std::string& path) const;
  double get_number(std::string_view key, const std::string& path) const;
  std::string get_string(std::string_view key, const std::string& path) const;
  std::vector<std::int64_t> get_int_list(std::string_view key, const std::string& path) const;

 private:
  friend class JsonParser;
  Type type_ = Type::null;
  bool boolean_ = false;
  bool integer_ = false, fits_ = false;
  double number_ = 0.0;
  std::int64_t int_ = 0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Equality as Python's == has it on parsed JSON: numbers (and booleans, which are 1 and 0)
// compare by value, strings by content, lists item by item, objects by key set and values.
bool json_equal(const Json& a, const Json& b) noexcept;

// Python's repr() of a parsed value, shortened to `max_chars` (for error messages).
std::string json_repr(const Json& v, std::size_t max_chars = 60);

// Python's repr() of a float: the shortest text that reads back as `x` ("0.6", "1.0", "1e-05").
std::string float_repr(double x);

// Parses a whole document (trailing whitespace only). Throws InvalidArgument on malformed input.
Json parse_json(std::string_view text);

}  // namespace emomix
