// libFuzzer target: the safetensors header parser (emomix/safetensors.hpp) on arbitrary files: the
// input is a whole weights.safetensors (length field, JSON header, data). Any input must either be
// accepted or throw VoiceError — never crash, leak, overflow or hang — and an accepted header must
// tile the data exactly, checked here. Built by EMOMIX_BUILD_FUZZERS (scripts/fuzz.sh).
#include <cstddef>
#include <cstdint>

#include "emomix/error.hpp"
#include "emomix/safetensors.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();  // an accepted header broke an invariant
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  emomix::SafetensorsHeader h;
  try {
    h = emomix::parse_safetensors_header(data, size, size, "fuzz/weights.safetensors",
                                         "weights.safetensors");
  } catch (const emomix::InvalidArgument&) {
    return 0;
  }
  require(h.data_start >= 8 && h.data_start <= size);
  std::size_t total = 0;
  for (const emomix::TensorInfo& t : h.tensors) {
    require(!t.name.empty() && t.offset <= size - h.data_start &&
            t.bytes <= size - h.data_start - t.offset);
    total += t.bytes;
  }
  require(total == size - h.data_start);  // the tensors tile the data exactly
  return 0;
}
