// emomix/voice_schema.hpp — the voice bundle contract's constants, read from the schema file.
//
// sdk/emomix/voice/schema.json is the one place both languages read: Python loads it at import
// (emomix._schema) and CMake embeds its bytes into this library at configure time
// (native/CMakeLists.txt); voice_schema() parses them once, on first use. The validator
// (emomix/voice.hpp) takes every format name, version, required key, allowed value and limit from
// here, so nothing of the contract is written twice. Scalars needed at compile time are in the
// generated emomix/schema_constants.hpp.
//
// Thread safety: voice_schema() is safe to call from any thread (a function-local static).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace emomix {

struct SafetensorsDtype {
  std::string code;  // "F32", "F16", "I64", ...
  int bytes = 0;
  std::string kind;  // "float", "int", "uint" or "bool"
};

struct VoiceSchema {
  std::string format;  // "emomix-voice"
  std::int64_t format_version = 0, oldest_format_version = 0;
  std::string meta_file, weights_file;  // "voice.json", "weights.safetensors"
  int json_max_depth = 0;
  std::int64_t max_integer = 0;
  std::vector<std::string> top_level_required, top_level_optional;
  std::vector<std::string> model_required;
  std::string model_family;
  std::vector<std::string> parameterisations;
  std::vector<std::string> config_positive_integers;
  std::vector<std::string> pitch_required;
  double envelope_sigma_min = 0.0, envelope_sigma_max = 0.0;
  std::int64_t pitch_size_max = 0;
  std::vector<std::string> audio_required, windows, mel_scales;
  std::int64_t audio_size_max = 0;  // sample rate, FFT, hop, window, mel bands
  std::vector<std::string> symbols_required;
  std::string pad_symbol;
  std::vector<std::string> required_emotions, emotion_required, vad_axes;
  double vad_min = 0.0, vad_max = 0.0;
  std::vector<std::string> sampler_required;
  std::vector<std::pair<std::string, double>> sampler_optional;           // key -> default
  std::vector<std::pair<std::string, std::vector<std::string>>> solvers;  // per parameterisation
  std::vector<std::string> presets;
  std::int64_t steps_min = 0, steps_max = 0;
  double k_min = 0.0, k_max = 0.0;
  double emotion_scale_min = 0.0, emotion_scale_max = 0.0;
  double length_scale_min = 0.0, length_scale_max = 0.0;  // a voice's and a line's
  std::vector<std::string> file_required;
  int sha256_hex_digits = 0;
  std::uint64_t max_header_bytes = 0;
  std::vector<SafetensorsDtype> dtypes;
  std::vector<std::string> refused_float_dtypes;

  // The solvers of a parameterisation (empty when it is unknown).
  const std::vector<std::string>& solvers_for(std::string_view parameterisation) const;
  // The dtype called `code`, or null.
  const SafetensorsDtype* dtype(std::string_view code) const;
  // The default of an optional sampler key (0 when it is not one).
  double sampler_default(std::string_view key) const;
};

// The parsed schema (see above). Throws InvalidArgument if the embedded file lacks a key, which a
// C++ test rules out.
const VoiceSchema& voice_schema();

// The embedded schema.json, byte for byte.
std::string_view voice_schema_json();

}  // namespace emomix
