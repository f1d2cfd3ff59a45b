// Test fixture: a tiny voice with random weights that speaks real text, for the C ABI's tests and
// its fuzzer, where every line must cost well under a millisecond (sanitizers, many runs).
//
// The model is test_session.cpp's tiny flow model; its symbol table is the shipped voice's
// (voices/default/voice.json), so the text frontend's phonemes map to ids. The weights are
// float32 N(0, 0.3) (norm weights around 1) from a fixed seed: the audio is noise, but
// deterministic and finite. Needs emomix::runtime (Model::expected_tensors).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "emomix/json.hpp"
#include "emomix/model.hpp"
#include "emomix/voice.hpp"
#include "voice_fixture.hpp"

namespace fixture {

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The symbols.table of the voice.json at `path`, as a JSON array's items ("_", "a", ...), and
// their count.
inline std::string symbol_table_items(const std::string& voice_json_path, std::size_t* count) {
  std::ifstream in(voice_json_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const emomix::Json meta = emomix::parse_json(text.str());
  const emomix::Json& table = meta.at("symbols", voice_json_path).at("table", "symbols");
  std::string items;
  for (const emomix::Json& s : table.items())
    items += (items.empty() ? "" : ", ") + json_string(s.string());
  *count = table.items().size();
  return items;
}

// model.config of the tiny voice with n_symbols symbols.
inline std::string tiny_model_config(std::size_t n_symbols) {
  return R"({
  "n_symbols": )" +
         std::to_string(n_symbols) + R"(, "n_speakers": 2, "emotion_dim": 8, "speaker_dim": 6,
  "n_emotions": 3, "parameterisation": "flow", "beta_min": 0.05, "beta_max": 20.0,
  "audio": {"sample_rate": 22050, "n_fft": 64, "hop_length": 16, "win_length": 64, "n_mels": 10},
  "encoder": {"hidden": 16, "prenet_layers": 1, "prenet_kernel": 3, "n_layers": 1, "n_heads": 2,
              "ffn_dim": 24, "ffn_kernel": 3, "dp_hidden": 12, "dp_kernel": 3},
  "denoiser": {"channels": [8, 12, 16], "n_res_blocks": 1, "n_transformer_blocks": 1,
               "n_heads": 2, "ffn_mult": 2, "kernel_size": 3, "time_embed_dim": 8,
               "time_scale": 1000.0, "cond_dim": 10},
  "vocoder": {"dim": 12, "intermediate_dim": 20, "n_layers": 2, "kernel_size": 7,
              "input_kernel": 7, "log_mag_max": 4.6},
  "ser": {"cnn_channels": [4, 6], "cnn_kernel": 3, "delta_width": 5, "lstm_input": 10,
          "lstm_hidden": 7, "attention_dim": 5, "dropout": 0.1}})";
}

// The bytes of a float32 weights.safetensors for the voice.json `meta` (without its files entry).
inline std::string random_weights(const std::string& meta, unsigned seed = 7) {
  const emomix::VoiceInfo info = emomix::parse_voice_meta(meta, "voice.json", false);
  const auto tensors = emomix::Model::expected_tensors(emomix::parse_model_config(info));
  std::mt19937 g(seed);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  std::string header = "{", data;
  for (const auto& [name, shape] : tensors) {
    std::size_t n = 1;
    std::string sh;
    for (const std::int64_t d : shape) {
      n *= static_cast<std::size_t>(d);
      sh += (sh.empty() ? "" : ",") + std::to_string(d);
    }
    const bool norm =
        name.find("norm") != std::string::npos && name.find("weight") != std::string::npos;
    const std::size_t begin = data.size();
    for (std::size_t i = 0; i < n; ++i) {
      const float v = nd(g) + (norm ? 1.0f : 0.0f);
      data.append(reinterpret_cast<const char*>(&v), 4);
    }
    header += (header.size() > 1 ? "," : "") + std::string("\"") + name +
              "\": {\"dtype\": \"F32\", \"shape\": [" + sh + "], \"data_offsets\": [" +
              std::to_string(begin) + ", " + std::to_string(data.size()) + "]}";
  }
  header += "}";
  while (header.size() % 8)
    header += ' ';
  std::string file;
  const std::uint64_t len = header.size();
  for (int i = 0; i < 8; ++i)
    file += static_cast<char>((len >> (8 * i)) & 0xFF);
  return file + header + data;
}

// The tiny voice's two files in memory: voice.json (listing the weights' size and sha256) and
// weights.safetensors. symbols_from: a voice.json whose symbol table the tiny voice takes.
struct TinyVoice {
  std::string voice_json, weights;
};

// sampler_steps: the voice's default steps (voice.json sampler.steps).
inline TinyVoice tiny_voice(const std::string& symbols_from, int sampler_steps = 4) {
  std::size_t n_symbols = 0;
  const std::string items = symbol_table_items(symbols_from, &n_symbols);
  const std::string config = tiny_model_config(n_symbols);
  const auto with_table = [&](std::string json) {
    const std::string open = "\"table\": [", close = "], \"language\"", steps = "\"steps\": 4";
    const std::size_t a = json.find(open) + open.size(), b = json.find(close, a);
    json.replace(a, b - a, items);
    return json.replace(json.find(steps), steps.size(),
                        "\"steps\": " + std::to_string(sampler_steps));
  };
  TinyVoice v;
  v.weights = random_weights(with_table(voice_json(config)));
  const std::string files = "{\"weights.safetensors\": {\"sha256\": \"" +
                            emomix::sha256_hex(v.weights) +
                            "\", \"bytes\": " + std::to_string(v.weights.size()) + "}}";
  v.voice_json = with_table(voice_json(config, files));
  return v;
}

// Writes the tiny voice into a fresh directory under /tmp and returns its path.
inline std::string write_tiny_voice(const std::string& symbols_from, int sampler_steps = 4) {
  const TinyVoice v = tiny_voice(symbols_from, sampler_steps);
  char tmpl[] = "/tmp/emomix_tiny_voice_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  std::ofstream(dir + "/voice.json", std::ios::binary) << v.voice_json;
  std::ofstream(dir + "/weights.safetensors", std::ios::binary) << v.weights;
  return dir;
}

inline void remove_tiny_voice(const std::string& dir) {
  std::remove((dir + "/voice.json").c_str());
  std::remove((dir + "/weights.safetensors").c_str());
  ::rmdir(dir.c_str());
}

}  // namespace fixture
