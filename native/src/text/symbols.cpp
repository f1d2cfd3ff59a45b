// The symbol table: token -> id (emomix/text.hpp, SymbolTable).
#include <algorithm>
#include <string>
#include <vector>

#include "emomix/text.hpp"
#include "unicode.hpp"

namespace emomix::text {

using std::u32string;
using std::u32string_view;

SymbolTable::SymbolTable(std::vector<u32string> symbols) : symbols_(std::move(symbols)) {
  if (symbols_.empty()) throw InvalidArgument("a symbol table needs at least the padding symbol");
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    if (symbols_[i].empty()) throw InvalidArgument("symbols must be non-empty strings");
    if (!ids_.emplace(symbols_[i], static_cast<std::int64_t>(i)).second) {
      throw InvalidArgument("duplicate symbol in table: " + unicode::encode_utf8(symbols_[i]));
    }
  }
}

namespace {

template <typename Tokens, typename Key>
std::vector<std::int64_t> encode_tokens(const std::unordered_map<u32string, std::int64_t>& ids,
                                        const Tokens& tokens, Key key,
                                        SymbolTable::OnUnknown on_unknown) {
  std::vector<std::int64_t> out;
  out.reserve(tokens.size());
  std::vector<u32string> unknown;
  for (const auto& token : tokens) {
    const u32string k = key(token);
    auto it = ids.find(k);
    if (it != ids.end()) {
      out.push_back(it->second);
    } else if (std::find(unknown.begin(), unknown.end(), k) == unknown.end()) {
      unknown.push_back(k);
    }
  }
  if (!unknown.empty() && on_unknown == SymbolTable::OnUnknown::kError) {
    std::string shown;
    for (const u32string& u : unknown) {
      shown += (shown.empty() ? "'" : ", '") + unicode::encode_utf8(u) + "'";
    }
    TextError e(TextError::Kind::kUnknownSymbol,
                std::to_string(unknown.size()) + " symbol(s) not in the symbol table: " + shown +
                    ". The voice was trained on a different phoneme inventory; use a voice whose "
                    "symbol table covers this language, or skip unknown symbols.");
    e.symbols = std::move(unknown);
    throw e;
  }
  return out;
}

}  // namespace

std::vector<std::int64_t> SymbolTable::encode(const std::vector<u32string>& tokens,
                                              OnUnknown on_unknown) const {
  return encode_tokens(
      ids_, tokens, [](const u32string& t) { return t; }, on_unknown);
}

std::vector<std::int64_t> SymbolTable::encode(u32string_view tokens, OnUnknown on_unknown) const {
  return encode_tokens(
      ids_, tokens, [](char32_t t) { return u32string(1, t); }, on_unknown);
}

}  // namespace emomix::text
