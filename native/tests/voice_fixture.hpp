// Test fixtures: a complete voice.json around a model.config (what Model::load validates before it
// reads the networks), and writing it beside a weights file with that file's size and sha256.
#pragma once

#include <sys/stat.h>
#include <cstdio>
#include <fstream>
#include <string>

#include "emomix/json.hpp"
#include "emomix/sha256.hpp"

namespace fixture {

inline std::string number_or(const emomix::Json& obj, const char* key,
                             const std::string& fallback) {
  const emomix::Json* v = obj.find(key);
  if (v == nullptr) return fallback;
  if (v->is_string()) return "\"" + v->string() + "\"";
  return emomix::json_repr(*v);
}

// voice.json for `config` (a model.config JSON object): a symbol table of n_symbols, n_speakers
// speakers, neutral/happy/sad emotions of emotion_dim values, the audio section of config.audio
// (with defaults for keys it leaves out), a flow/euler sampler; `files` is the "files" object
// (left out when empty).
inline std::string voice_json(const std::string& config, const std::string& files = "") {
  const emomix::Json c = emomix::parse_json(config);
  const emomix::Json& a = c.at("audio", "model.config");
  const auto n_symbols = c.get_int("n_symbols", "model.config");
  const auto n_speakers = c.get_int("n_speakers", "model.config");
  const auto dim = c.get_int("emotion_dim", "model.config");
  const std::string p = c.get_string("parameterisation", "model.config");
  std::string symbols = "\"_\"";
  for (std::int64_t i = 1; i < n_symbols; ++i)
    symbols += ", \"s" + std::to_string(i) + "\"";
  std::string speakers;
  for (std::int64_t i = 0; i < n_speakers; ++i) {
    speakers +=
        (i ? ", " : "") + std::string("\"spk") + std::to_string(i) + "\": " + std::to_string(i);
  }
  std::string emotions;
  const char* names[] = {"neutral", "happy", "sad"};
  const char* vads[] = {"[0.0, 0.0, 0.0]", "[0.8, 0.5, 0.4]", "[-0.7, -0.4, -0.5]"};
  for (int e = 0; e < 3; ++e) {
    std::string emb;
    for (std::int64_t i = 0; i < dim; ++i)
      emb += (i ? ", " : "") + std::to_string(0.1 * (e + 1) * (i % 5));
    emotions += (e ? ", " : "") + std::string("\"") + names[e] + "\": {\"embedding\": [" + emb +
                "], \"vad\": " + vads[e] + "}";
  }
  std::string audio = "\"sample_rate\": " + number_or(a, "sample_rate", "22050") +
                      ", \"n_fft\": " + number_or(a, "n_fft", "1024") +
                      ", \"hop_length\": " + number_or(a, "hop_length", "256") +
                      ", \"win_length\": " + number_or(a, "win_length", "1024") +
                      ", \"window\": " + number_or(a, "window", "\"hann\"") +
                      ", \"n_mels\": " + number_or(a, "n_mels", "80") +
                      ", \"f_min\": " + number_or(a, "f_min", "0.0") +
                      ", \"f_max\": " + number_or(a, "f_max", "8000.0") +
                      ", \"mel_scale\": " + number_or(a, "mel_scale", "\"slaney\"") +
                      ", \"log_floor\": " + number_or(a, "log_floor", "1e-05") +
                      ", \"mel_mean\": " + number_or(a, "mel_mean", "-5.0") +
                      ", \"mel_std\": " + number_or(a, "mel_std", "2.2");
  const std::string solver = p == "flow" ? "euler" : "pf_euler";
  return "{\"format\": \"emomix-voice\", \"format_version\": 1, \"name\": \"tiny\", "
         "\"description\": \"written by the C++ tests\",\n"
         "\"model\": {\"family\": \"emomix\", \"parameterisation\": \"" +
         p + "\", \"config\": " + config + "},\n\"audio\": {" + audio +
         "},\n\"symbols\": {\"table\": [" + symbols +
         "], \"language\": \"en-us\"},\n\"speakers\": {" + speakers + "},\n\"emotions\": {" +
         emotions + "},\n\"sampler\": {\"parameterisation\": \"" + p +
         "\", \"steps\": 4, "
         "\"solver\": \"" +
         solver +
         "\", \"k_max\": 0.6, \"k_min\": 0.2, \"temperature\": 0.667, "
         "\"preset\": \"emomix\"},\n" +
         (files.empty() ? "" : "\"files\": " + files + ",\n") +
         "\"provenance\": {\"recipe\": \"native/tests\"}}\n";
}

inline long long file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

// The "files" object listing `dir`/weights.safetensors with its size and sha256.
inline std::string weights_entry(const std::string& dir) {
  const std::string w = dir + "/weights.safetensors";
  return "{\"weights.safetensors\": {\"sha256\": \"" + emomix::sha256_file(w) +
         "\", \"bytes\": " + std::to_string(file_size(w)) + "}}";
}

// Writes `dir`/voice.json for `config`, listing the weights file already in `dir`.
inline void write_voice_json(const std::string& dir, const std::string& config) {
  std::ofstream(dir + "/voice.json") << voice_json(config, weights_entry(dir));
}

}  // namespace fixture
