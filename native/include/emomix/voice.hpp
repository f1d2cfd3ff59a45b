// emomix/voice.hpp — the whole voice bundle contract in C++: VoiceInfo, parsed and validated.
//
// The C++ twin of emomix.voice (docs/voices.md, "Validation guarantees"). load_voice(path) checks
// a bundle directory in the order Python's load_bundle does, and throws VoiceError at the first
// fault, naming the same file and the same field ("voice.json:emotions.happy.embedding[3]",
// "voice.json:files.weights.safetensors.sha256", "weights.safetensors:denoiser.in_conv.weight"):
//   1. the directory exists and holds voice.json (a path to voice.json itself is accepted too);
//   2. voice.json is UTF-8 JSON, not truncated, no key repeated within an object, containers
//      nested at most json.max_depth deep;
//   3. format and format_version;
//   4. every required key with the right type, every range, finiteness and consistency rule
//      (parse_voice_meta(), which Model::load and the fuzz target use on their own too);
//   5. every file listed in files exists with the listed size;
//   6. with verify_hashes (the default), every listed file has the listed sha256
//   (emomix/sha256.hpp);
//   7. the weights.safetensors header parses and tiles the file (emomix/safetensors.hpp).
// load_voice_memory(files) runs the same steps on a bundle the caller holds in memory (a game
// engine's packed assets): each file is given by its bundle-relative path and its bytes, and "the
// file exists" means "is among `files`" (step 1: voice.json is). Steps 5-7 are one function for
// both loads, so a fault gives the same VoiceError field and problem either way; only the hints of
// a missing file differ, to say what to do. Where a directory load names "<dir>/<file>", a memory
// load names the pseudo-path kVoiceMemoryDir + "/" + file ("<memory>/voice.json",
// "<memory>/weights.safetensors"). Before step 1 it checks the list itself: every path is
// voice.json or passes check_relative_path(), and no path is given twice (the error's field is
// the path as given).
// Every constant (format name, versions, required keys, allowed values, limits) comes from the
// voice schema, sdk/emomix/voice/schema.json (emomix/voice_schema.hpp), which Python reads too; the
// rules are the same code paths as sdk/emomix/voice/schema.py, in the same order, and
// tests/test_voice_contract.py feeds one corpus of broken bundles to both.
//
// Thread safety: the functions are reentrant; a VoiceInfo is a plain value.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/json.hpp"
#include "emomix/solvers.hpp"

namespace emomix {

// voice.json:audio — the front end the networks were trained on.
struct VoiceAudio {
  int sample_rate = 0, n_fft = 0, hop_length = 0, win_length = 0, n_mels = 0;
  std::string window, mel_scale;  // "hann"; "slaney" | "htk"
  double f_min = 0.0, f_max = 0.0, log_floor = 0.0, mel_mean = 0.0, mel_std = 0.0;
};

// voice.json:model.config.pitch; absent or enabled: false means no pitch predictor (the other
// fields are then zero).
struct VoicePitch {
  bool enabled = false;
  int hidden = 0, kernel = 0;
  double harmonic_floor = 0.0, envelope_sigma = 0.0, f0_min = 0.0, f0_max = 0.0;
};

// One entry of voice.json:emotions: the condition (embedding, emotion_dim values) and its
// valence, arousal, dominance in [-1, 1].
struct VoiceEmotion {
  std::string name;
  std::vector<float> embedding;
  std::array<double, 3> vad{};
};

// voice.json:sampler — the defaults of a call.
struct VoiceSampler {
  Parameterisation parameterisation = Parameterisation::flow;
  int steps = 0;
  Solver solver = Solver::euler;
  double k_max = 0.0, k_min = 0.0, temperature = 0.0;
  std::string preset;
  double emotion_scale = 0.0;  // the schema's default when absent
  double length_scale = 0.0;   // the schema's default when absent
};

// One entry of voice.json:files.
struct VoiceFile {
  std::string path;    // bundle-relative, '/'-separated
  std::string sha256;  // 64 lowercase hex digits
  std::uint64_t bytes = 0;
};

// A validated voice.json.
struct VoiceInfo {
  std::string dir;        // the bundle directory; kVoiceMemoryDir from load_voice_memory; empty
                          // from parse_voice_meta
  std::string meta_path;  // the voice.json the errors name
  std::string format;
  std::int64_t format_version = 0;
  std::string name, description;
  std::string model_family;
  Parameterisation parameterisation = Parameterisation::flow;
  Json model_config;  // model.config as written: the networks' hyperparameters (parse_model_config)
  bool has_beta_min = false, has_beta_max = false;
  double beta_min = 0.0, beta_max = 0.0;  // as written, when present
  VoicePitch pitch;
  VoiceAudio audio;
  std::vector<std::string> symbols;  // id -> symbol; symbols[0] is the pad symbol
  std::string language;
  std::vector<std::string> speakers;  // id -> name
  std::string default_speaker;        // default_speaker, else the speaker with id 0
  int default_speaker_id = 0;
  std::vector<VoiceEmotion> emotions;  // in file order
  int emotion_dim = 0;
  VoiceSampler sampler;
  std::vector<VoiceFile> files;  // in file order
  Json provenance;

  // The emotion called `name`, or null.
  const VoiceEmotion* emotion(std::string_view name) const noexcept;
};

// Steps 2–4 on the bytes of a voice.json: parse, then check (validate_voice_meta). `meta_path`
// names the file in errors. `require_files` false accepts a voice.json without "files" (what a
// bundle writer checks before it has written the files).
VoiceInfo parse_voice_meta(std::string_view text, const std::string& meta_path,
                           bool require_files = true);

// Steps 3–4 on a parsed document.
VoiceInfo validate_voice_meta(const Json& meta, const std::string& meta_path,
                              bool require_files = true);

struct VoiceLoadOptions {
  bool verify_hashes = true;  // false: sizes and the weights header only (see docs/voices.md)
};

// Steps 1–7 on a bundle directory (or its voice.json).
VoiceInfo load_voice(const std::string& path, const VoiceLoadOptions& options = {});

// The pseudo-directory a bundle loaded from memory has: VoiceInfo::dir, and the prefix of the
// paths its VoiceErrors name ("<memory>/weights.safetensors"). Not a real path.
inline constexpr const char* kVoiceMemoryDir = "<memory>";

// One file of a bundle held in memory: its bundle-relative path as voice.json lists it
// ("weights.safetensors"; "voice.json" for voice.json itself) and its bytes. `data` is borrowed:
// it must stay valid during the call that receives it, and is not used after.
struct VoiceMemoryFile {
  std::string path;
  std::string_view data;
};

// Steps 1–7 on a bundle in memory (see above): `files` holds voice.json and every file it lists,
// in any order; files it does not list are ignored, as in a directory. The result's dir is
// kVoiceMemoryDir and it refers to none of the bytes. Throws VoiceError as load_voice does.
VoiceInfo load_voice_memory(const std::vector<VoiceMemoryFile>& files,
                            const VoiceLoadOptions& options = {});

// Why `rel` is not a safe bundle-relative POSIX path ("" when it is): the rule of
// emomix.voice.schema.check_relative_path.
std::string check_relative_path(const std::string& rel);

}  // namespace emomix
