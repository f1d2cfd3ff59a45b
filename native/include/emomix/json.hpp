// emomix/json.hpp — a small JSON reader for voice.json and safetensors headers.
//
// parse_json() reads RFC 8259 JSON into a Json tree (objects keep their key order; a repeated key
// is an error). Errors throw InvalidArgument with the byte offset. Lookup helpers throw
// InvalidArgument naming the dotted path of the missing or mistyped field, which callers prefix
// with the file name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emomix {

class Json {
 public:
  enum class Type { null, boolean, number, string, array, object };

  Type type() const noexcept { return type_; }
  bool is_object() const noexcept { return type_ == Type::object; }
  bool is_array() const noexcept { return type_ == Type::array; }
  bool is_number() const noexcept { return type_ == Type::number; }
  bool is_string() const noexcept { return type_ == Type::string; }

  double number() const noexcept { return number_; }
  bool boolean() const noexcept { return boolean_; }
  const std::string& string() const noexcept { return string_; }
  const std::vector<Json>& items() const noexcept { return items_; }
  const std::vector<std::pair<std::string, Json>>& members() const noexcept { return members_; }

  // The member named `key`, or null when absent (or when this is not an object).
  const Json* find(std::string_view key) const noexcept;

  // Typed lookups of a member; `path` is this value's dotted path, used in error messages.
  const Json& at(std::string_view key, const std::string& path) const;
  std::int64_t get_int(std::string_view key, const std::string& path) const;
  double get_number(std::string_view key, const std::string& path) const;
  std::string get_string(std::string_view key, const std::string& path) const;
  std::vector<std::int64_t> get_int_list(std::string_view key, const std::string& path) const;

 private:
  friend class JsonParser;
  Type type_ = Type::null;
  bool boolean_ = false;
  double number_ = 0.0;
  std::string string_;
  std::vector<Json> items_;
  std::vector<std::pair<std::string, Json>> members_;
};

// Parses a whole document (trailing whitespace only). Throws InvalidArgument on malformed input.
Json parse_json(std::string_view text);

}  // namespace emomix
