// libFuzzer target: the voice.json reader and validator (emomix/voice.hpp), then the network config
// reader (parse_model_config), on arbitrary bytes. Any input must either be accepted or throw an
// InvalidArgument (VoiceError) — never crash, leak, overflow or hang — and an accepted voice.json
// must satisfy the contract's invariants, checked here. Built by EMOMIX_BUILD_FUZZERS
// (scripts/fuzz.sh; docs/native.md, "Fuzzing").
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "emomix/error.hpp"
#include "emomix/model.hpp"
#include "emomix/voice.hpp"
#include "emomix/voice_schema.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();  // an accepted voice.json broke an invariant of the contract
}

void check_invariants(const emomix::VoiceInfo& v) {
  const emomix::VoiceSchema& s = emomix::voice_schema();
  require(v.format == s.format && v.format_version >= s.oldest_format_version &&
          v.format_version <= s.format_version);
  require(!v.name.empty() && !v.symbols.empty() && v.symbols[0] == s.pad_symbol);
  require(!v.speakers.empty() && v.default_speaker_id >= 0 &&
          static_cast<std::size_t>(v.default_speaker_id) < v.speakers.size() &&
          v.speakers[static_cast<std::size_t>(v.default_speaker_id)] == v.default_speaker);
  require(v.emotion_dim > 0 && !v.emotions.empty());
  for (const std::string& name : s.required_emotions)
    require(v.emotion(name) != nullptr);
  for (const emomix::VoiceEmotion& e : v.emotions) {
    require(e.embedding.size() == static_cast<std::size_t>(v.emotion_dim));
    for (double x : e.vad)
      require(x >= s.vad_min && x <= s.vad_max);
  }
  require(v.sampler.k_min <= v.sampler.k_max && v.sampler.temperature > 0 &&
          v.sampler.steps >= s.steps_min && v.sampler.steps <= s.steps_max);
  require(v.audio.hop_length <= v.audio.win_length && v.audio.win_length <= v.audio.n_fft &&
          v.audio.f_min < v.audio.f_max && v.audio.f_max <= v.audio.sample_rate / 2.0);
  bool weights = false;
  for (const emomix::VoiceFile& f : v.files) {
    require(emomix::check_relative_path(f.path).empty());
    weights |= f.path == s.weights_file;
  }
  require(weights);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  emomix::VoiceInfo v;
  try {
    v = emomix::parse_voice_meta(text, "fuzz/voice.json");
  } catch (const emomix::InvalidArgument&) {
    return 0;  // rejected, with a message naming the field: what must happen to bad input
  }
  check_invariants(v);
  try {
    const emomix::ModelConfig c = emomix::parse_model_config(v);
    require(c.audio.n_mels == v.audio.n_mels && c.n_speakers > 0);
  } catch (const emomix::InvalidArgument&) {
  }
  return 0;
}
