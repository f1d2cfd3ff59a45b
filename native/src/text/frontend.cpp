// The one-call frontend (emomix/text.hpp, text_to_ids) and the UTF-8 helpers.
#include <string>
#include <vector>

#include "emomix/text.hpp"
#include "unicode.hpp"

namespace emomix::text {

using std::u32string_view;

TextIds text_to_ids(u32string_view text, const SymbolTable& symbols, std::string_view language,
                    bool strict, SymbolTable::OnUnknown on_unknown) {
  Normalized normalized = normalize(text, strict);
  TextIds out;
  try {
    out.ids = symbols.encode(phonemize(normalized.text, language), on_unknown);
    if (out.ids.empty()) {
      TextError e(TextError::Kind::kNoSymbols,
                  "no phoneme of the text is in the symbol table; check the voice's language.");
      e.text = std::u32string(text.substr(0, 60));
      throw e;
    }
  } catch (TextError& e) {
    e.dropped = normalized.dropped;  // so that a caller can still report what was dropped
    throw;
  }
  out.dropped = std::move(normalized.dropped);
  return out;
}

std::u32string decode_utf8(std::string_view utf8) {
  return unicode::decode_utf8(utf8);
}
std::string encode_utf8(std::u32string_view text) {
  return unicode::encode_utf8(text);
}
const char* unicode_version() noexcept {
  return unicode::version();
}

}  // namespace emomix::text
