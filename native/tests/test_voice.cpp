// The voice bundle contract in C++: SHA-256, the embedded schema, the JSON reader's rules, the
// voice.json validator, load_voice()'s file checks, and load_voice_memory() / Model::load_memory()
// failing and succeeding exactly as the directory loads do. (The same corpus of broken bundles goes
// through this validator and Python's in tests/test_voice_contract.py.)
#include <sys/stat.h>
#include <unistd.h>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/json.hpp"
#include "emomix/model.hpp"
#include "emomix/safetensors.hpp"
#include "emomix/schedule.hpp"
#include "emomix/session.hpp"
#include "emomix/sha256.hpp"
#include "emomix/solvers.hpp"
#include "emomix/voice.hpp"
#include "emomix/voice_schema.hpp"
#include "harness.hpp"
#include "voice_fixture.hpp"

namespace {

const char* kTinyConfig = R"({"n_symbols": 6, "n_speakers": 2, "emotion_dim": 4, "speaker_dim": 3,
  "n_emotions": 3, "parameterisation": "flow",
  "audio": {"sample_rate": 16000, "n_fft": 64, "hop_length": 16, "win_length": 64, "n_mels": 8}})";

std::string temp_dir() {
  char tmpl[] = "/tmp/emomix_voice_XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

// A valid safetensors file (77 bytes): one F32 tensor "w" of shape [2].
std::string tiny_weights() {
  const std::string header = R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  std::string out;
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((n >> (8 * i)) & 0xFF);
  out += header;
  const float v[2] = {1.0f, -2.0f};
  out.append(reinterpret_cast<const char*>(v), sizeof v);
  return out;
}

void write_weights(const std::string& path) {
  std::ofstream(path, std::ios::binary) << tiny_weights();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// What field the validator names for voice.json text `text` ("" when it is accepted).
std::string field_of(const std::string& text) {
  try {
    emomix::parse_voice_meta(text, "v/voice.json", false);
  } catch (const emomix::VoiceError& e) {
    CHECK(e.path() == "v/voice.json");
    CHECK(std::string(e.what()).find(e.field()) != std::string::npos);
    return e.field();
  }
  return "";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const std::size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST(voice_sha256_known_vectors) {
  // FIPS 180-2 appendix B and the NIST examples.
  CHECK(emomix::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(emomix::sha256_hex("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(emomix::sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(
      emomix::sha256_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                         "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu") ==
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  emomix::Sha256 h;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i)
    h.update(thousand.data(), thousand.size());
  CHECK(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Any split of the input gives the same digest, across the padding boundaries (55/56/64 bytes).
  for (std::size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u}) {
    std::string msg(len, '\0');
    for (std::size_t i = 0; i < len; ++i)
      msg[i] = static_cast<char>((i * 131 + 7) & 0xFF);
    const std::string whole = emomix::sha256_hex(msg);
    for (std::size_t piece : {1u, 3u, 63u, 64u, 100u}) {
      for (std::size_t at = 0; at < len; at += piece)
        h.update(msg.data() + at, std::min(piece, len - at));
      CHECK(h.hex_digest() == whole);
    }
  }
  // sha256_file reads in chunks: the same digest as in memory, for a file over one chunk.
  const std::string d = temp_dir(), p = d + "/blob";
  std::string big((1 << 20) + 4099, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::ofstream(p, std::ios::binary) << big;
  CHECK(emomix::sha256_file(p) == emomix::sha256_hex(big));
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::sha256_file(d + "/missing"),
                    "cannot be opened");
  std::remove(p.c_str());
  rmdir(d.c_str());
}

TEST(voice_schema_is_embedded_and_complete) {
  const emomix::VoiceSchema& s = emomix::voice_schema();
  CHECK(emomix::voice_schema_json().size() > 100 && emomix::voice_schema_json().front() == '{');
  CHECK(s.format == "emomix-voice" && s.format_version >= s.oldest_format_version);
  CHECK(s.meta_file == "voice.json" && s.weights_file == "weights.safetensors");
  CHECK(s.json_max_depth == emomix::schema::kJsonMaxDepth);
  CHECK(s.max_integer == emomix::schema::kJsonMaxInteger);
  CHECK(s.steps_max == emomix::kMaxSteps);
  CHECK(s.max_header_bytes == emomix::schema::kSafetensorsMaxHeaderBytes);
  // Every parameterisation and solver the schema allows is one the sampler runs, and pairs
  // with exactly the solvers the sampler accepts for it.
  REQUIRE(!s.parameterisations.empty());
  for (const std::string& p : s.parameterisations) {
    const emomix::Parameterisation param = emomix::parse_parameterisation(p);
    CHECK(emomix::to_string(param) == p);
    REQUIRE(!s.solvers_for(p).empty());
    for (const std::string& name : s.solvers_for(p)) {
      emomix::SamplerConfig config;
      config.parameterisation = param;
      config.solver = emomix::parse_solver(name);
      CHECK(emomix::to_string(config.solver) == name);
      emomix::validate_config(config);  // throws when the pair does not apply
    }
  }
  CHECK(!s.presets.empty() && !s.windows.empty() && !s.mel_scales.empty());
  CHECK(s.dtype("F32") != nullptr && s.dtype("F32")->bytes == 4 && s.dtype("BF16") == nullptr);
  CHECK(s.sampler_default("emotion_scale") == 1.0 && s.sampler_default("length_scale") == 1.0);
  CHECK(s.length_scale_min == 0.25 && s.length_scale_max == 4.0);
  CHECK(s.vad_axes.size() == 3);
}

TEST(voice_json_reader_follows_python) {
  using emomix::parse_json;
  const emomix::Json n =
      parse_json(R"([1, 1.0, 1e2, -0, NaN, Infinity, -Infinity, 123456789012345678901234])");
  const auto& v = n.items();
  CHECK(v[0].is_integer() && v[0].integer() == 1);
  CHECK(!v[1].is_integer() && !v[2].is_integer() && v[2].number() == 100.0);
  CHECK(v[3].is_integer() && v[3].integer() == 0);
  CHECK(std::isnan(v[4].number()) && std::isinf(v[5].number()) && v[6].number() < 0);
  CHECK(v[7].is_integer() && !v[7].integer_fits());
  CHECK(parse_json("1e400").number() == HUGE_VAL);
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json("01"), "leading zero");
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json("[-NaN]"), "invalid JSON");
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json("+1"), "invalid JSON");
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json("\"\xff\""), "invalid UTF-8");
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json("\"\xed\xa0\x80\""),
                    "invalid UTF-8");  // a surrogate
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json("\"\xc0\xaf\""),
                    "invalid UTF-8");  // overlong
  CHECK(parse_json("\"\xe2\x80\x94\\u00e9\\ud83d\\ude00\"").string() ==
        "\xe2\x80\x94\xc3\xa9\xf0\x9f\x98\x80");
  // a lone high surrogate stays (as in Python) and the escape after it is read on its own
  CHECK(parse_json("\"\\ud800\\u0041\"").string() == "\xed\xa0\x80" "A");
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json(std::string(4301, '7')),
                    "more than 4300 digits");
  CHECK(parse_json(std::string(4300, '7')).is_integer());
  const int depth = emomix::schema::kJsonMaxDepth;
  CHECK(parse_json(std::string(depth, '[') + std::string(depth, ']')).is_array());
  CHECK_THROWS_WITH(emomix::InvalidArgument,
                    parse_json(std::string(depth + 1, '[') + std::string(depth + 1, ']')),
                    "nested deeper");
  CHECK_THROWS_WITH(emomix::InvalidArgument, parse_json(R"({"b": 1, "a": 2, "b": 3})"),
                    "'b' is repeated");
  // Python's == on parsed values
  CHECK(emomix::json_equal(parse_json("[22050, true, {\"a\": 1}]"),
                           parse_json("[22050.0, 1, {\"a\": 1.0}]")));
  CHECK(!emomix::json_equal(parse_json("NaN"), parse_json("NaN")));
  CHECK(!emomix::json_equal(parse_json("\"1\""), parse_json("1")));
}

TEST(voice_meta_validation_names_the_field) {
  const std::string ok = fixture::voice_json(kTinyConfig);
  CHECK(field_of(ok).empty());
  const emomix::VoiceInfo v = emomix::parse_voice_meta(ok, "v/voice.json", false);
  CHECK(v.name == "tiny" && v.format_version == 1 && v.emotion_dim == 4);
  CHECK(v.symbols.size() == 6 && v.symbols[0] == "_" && v.speakers.size() == 2);
  CHECK(v.default_speaker == "spk0" && v.default_speaker_id == 0);
  REQUIRE(v.emotion("happy") != nullptr);
  CHECK(v.emotion("happy")->vad[0] == 0.8 && v.emotions[0].name == "neutral");
  CHECK(v.sampler.steps == 4 && v.sampler.solver == emomix::Solver::euler &&
        v.sampler.emotion_scale == 1.0);
  CHECK(v.audio.sample_rate == 16000 && v.audio.mel_scale == "slaney" && !v.pitch.enabled);
  CHECK(field_of(replaced(ok, "\"format_version\": 1", "\"format_version\": 2")) ==
        "voice.json:format_version");
  CHECK(field_of(replaced(ok, "\"format\": \"emomix-voice\"", "\"format\": 7")) ==
        "voice.json:format");
  CHECK(field_of(replaced(ok, "\"steps\": 4", "\"steps\": 1001")) == "voice.json:sampler.steps");
  CHECK(field_of(replaced(ok, "\"steps\": 4", "\"steps\": 4.0")) == "voice.json:sampler.steps");
  CHECK(field_of(replaced(ok, "\"steps\": 4", "\"steps\": 99999999999999999999")) ==
        "voice.json:sampler.steps");
  CHECK(field_of(replaced(ok, "\"solver\": \"euler\"", "\"solver\": \"em\"")) ==
        "voice.json:sampler.solver");
  CHECK(field_of(replaced(ok, "\"preset\": \"emomix\"",
                          "\"preset\": \"emomix\", \"length_scale\": 0")) ==
        "voice.json:sampler.length_scale");
  CHECK(field_of(replaced(ok, "[0.8, 0.5, 0.4]", "[0.8, 1.5, 0.4]")) ==
        "voice.json:emotions.happy.vad[1]");
  CHECK(field_of(replaced(ok, "[0.8, 0.5, 0.4]", "[0.8, NaN, 0.4]")) ==
        "voice.json:emotions.happy.vad[1]");
  CHECK(field_of(replaced(ok, "\"spk1\": 1", "\"spk1\": 0")) == "voice.json:speakers.spk1");
  CHECK(field_of(replaced(ok, "\"s3\"", "\"s1\"")) == "voice.json:symbols.table[3]");
  CHECK(field_of(replaced(ok, "\"tiny\",", "\"tiny\", \"default_speaker\": \"nobody\",")) ==
        "voice.json:default_speaker");
  CHECK(field_of(replaced(ok, "\"n_mels\": 8}}", "\"n_mels\": 8, \"f_max\": 7000.0}}")) ==
        "voice.json:audio.f_max");
  CHECK(field_of(replaced(ok, "{\"format\"", "{\"name\": \"x\", \"format\"")) ==
        "voice.json");  // repeated key
  CHECK(field_of(ok.substr(0, ok.size() / 2)) == "voice.json");
  CHECK(field_of("\xff") == "voice.json");
  // files: required by default, and every entry checked
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::parse_voice_meta(ok, "v/voice.json"),
                    "voice.json:files: required key is missing");
  const std::string files =
      R"({"weights.safetensors": {"sha256": ")" + std::string(64, 'a') + R"(", "bytes": 3}, )";
  CHECK(field_of(
            fixture::voice_json(kTinyConfig, files + R"("../x": {"sha256": "", "bytes": 1}})")) ==
        "voice.json:files.../x");
  CHECK(field_of(
            fixture::voice_json(kTinyConfig, files + R"("x": {"sha256": "ABC", "bytes": 1}})")) ==
        "voice.json:files.x.sha256");
}

TEST(voice_load_checks_files_hashes_and_header) {
  const std::string d = temp_dir();
  const std::string w = d + "/weights.safetensors";
  write_weights(w);
  fixture::write_voice_json(d, kTinyConfig);
  const emomix::VoiceInfo v = emomix::load_voice(d);
  CHECK(v.dir == d && v.files.size() == 1 && v.files[0].sha256 == emomix::sha256_file(w));
  CHECK(emomix::load_voice(d + "/voice.json").dir == d);
  // same size, one byte changed: only the hash notices
  std::string bytes;
  {
    std::ifstream in(w, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 1] ^= 0x40;
  std::ofstream(w, std::ios::binary) << bytes;
  try {
    emomix::load_voice(d);
    CHECK(false);
  } catch (const emomix::VoiceError& e) {
    CHECK(e.path() == w && e.field() == "voice.json:files.weights.safetensors.sha256");
    CHECK(std::string(e.what()).find("modified or corrupted") != std::string::npos);
  }
  emomix::VoiceLoadOptions fast;
  fast.verify_hashes = false;
  CHECK(emomix::load_voice(d, fast).name == "tiny");
  // a different size is caught without hashing
  std::ofstream(w, std::ios::binary | std::ios::app) << "!";
  CHECK_THROWS_WITH(
      emomix::VoiceError, emomix::load_voice(d, fast),
      "voice.json:files.weights.safetensors.bytes: file has 78 bytes but voice.json lists 77");
  // a header fault with matching hashes is caught by the header check
  std::ofstream(w, std::ios::binary) << bytes.substr(0, bytes.size() - 4);
  fixture::write_voice_json(d, kTinyConfig);
  CHECK_THROWS_WITH(
      emomix::VoiceError, emomix::load_voice(d),
      "weights.safetensors: file is 73 bytes but its header describes 77 bytes (truncated)");
  std::remove(w.c_str());
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::load_voice(d),
                    "voice.json:files.weights.safetensors: file listed in voice.json is missing");
  std::remove((d + "/voice.json").c_str());
  rmdir(d.c_str());
}

namespace {

struct Fault {
  std::string path, field, problem;
};

// The VoiceError `load` throws (empty fields when it throws none).
template <class Load>
Fault fault_of(Load&& load) {
  try {
    load();
  } catch (const emomix::VoiceError& e) {
    return {e.path(), e.field(), e.problem()};
  }
  return {};
}

// A voice.json for kTinyConfig listing `weights` (its size and sha256) as weights.safetensors.
std::string tiny_voice_json(const std::string& weights) {
  return fixture::voice_json(kTinyConfig, "{\"weights.safetensors\": {\"sha256\": \"" +
                                              emomix::sha256_hex(weights) + "\", \"bytes\": " +
                                              std::to_string(weights.size()) + "}}");
}

// Loads `files` from memory and, written out, from a directory: both fail naming `field` with the
// same problem, the memory load at "<memory>/<rel>" and the directory load at "<dir>/<rel>".
void check_same_fault(const std::vector<emomix::VoiceMemoryFile>& files, const std::string& rel,
                      const std::string& field, const emomix::VoiceLoadOptions& options = {}) {
  const std::string d = temp_dir();
  for (const emomix::VoiceMemoryFile& f : files)
    std::ofstream(d + "/" + f.path, std::ios::binary) << f.data;
  const Fault mem = fault_of([&] { emomix::load_voice_memory(files, options); });
  const Fault dir = fault_of([&] { emomix::load_voice(d, options); });
  for (const emomix::VoiceMemoryFile& f : files)
    std::remove((d + "/" + f.path).c_str());
  rmdir(d.c_str());
  if (mem.field != field || dir.field != field || mem.problem != dir.problem) {
    std::fprintf(stderr, "  memory: %s: %s\n  directory: %s: %s\n", mem.field.c_str(),
                 mem.problem.c_str(), dir.field.c_str(), dir.problem.c_str());
  }
  CHECK(mem.field == field && dir.field == field);
  CHECK(!mem.problem.empty() && mem.problem == dir.problem);
  CHECK(mem.path == std::string(emomix::kVoiceMemoryDir) + "/" + rel);
  CHECK(dir.path == d + "/" + rel);
}

// The shipped default voice: voices/default at the root of the repository holding this file.
std::string default_voice_dir() {
  const std::string here = __FILE__;
  const std::size_t at = here.rfind("native/tests/");
  return at == std::string::npos ? "" : here.substr(0, at) + "voices/default";
}

std::vector<float> random_floats(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v)
    x = d(g);
  return v;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST(voice_load_memory_checks_like_the_directory_load) {
  const std::string w = tiny_weights(), meta = tiny_voice_json(w);
  const emomix::VoiceInfo v = emomix::load_voice_memory({{"weights.safetensors", w},
                                                          {"voice.json", meta},
                                                          {"extra/notes.txt", "not listed"}});
  CHECK(v.dir == emomix::kVoiceMemoryDir && v.meta_path == "<memory>/voice.json");
  CHECK(v.name == "tiny" && v.files.size() == 1 && v.files[0].sha256 == emomix::sha256_hex(w));

  // steps 1-7, each fault named as the directory load names it
  check_same_fault({{"voice.json", meta}}, "weights.safetensors",
                   "voice.json:files.weights.safetensors");
  check_same_fault({{"voice.json", replaced(meta, "emomix-voice", "other")},
                    {"weights.safetensors", w}},
                   "voice.json", "voice.json:format");
  std::string flipped = w;
  flipped.back() ^= 0x40;  // same size, one byte changed: only the hash notices
  check_same_fault({{"voice.json", meta}, {"weights.safetensors", flipped}}, "weights.safetensors",
                   "voice.json:files.weights.safetensors.sha256");
  emomix::VoiceLoadOptions fast;
  fast.verify_hashes = false;
  CHECK(emomix::load_voice_memory({{"voice.json", meta}, {"weights.safetensors", flipped}}, fast)
            .name == "tiny");
  const std::string truncated = w.substr(0, w.size() - 4);
  check_same_fault({{"voice.json", meta}, {"weights.safetensors", truncated}},
                   "weights.safetensors", "voice.json:files.weights.safetensors.bytes", fast);
  // listed with its size and hash, the truncated file is caught by the header check
  check_same_fault({{"voice.json", tiny_voice_json(truncated)}, {"weights.safetensors", truncated}},
                   "weights.safetensors", "weights.safetensors");
  CHECK_THROWS_WITH(
      emomix::VoiceError,
      emomix::load_voice_memory(
          {{"voice.json", tiny_voice_json(truncated)}, {"weights.safetensors", truncated}}),
      "<memory>/weights.safetensors: weights.safetensors: file is 73 bytes but its header "
      "describes 77 bytes (truncated)");

  // voice.json absent: the field a directory without it gets
  const Fault no_meta = fault_of([&] { emomix::load_voice_memory({{"weights.safetensors", w}}); });
  const std::string d = temp_dir();
  const Fault no_meta_dir = fault_of([&] { emomix::load_voice(d); });
  rmdir(d.c_str());
  CHECK(no_meta.path == "<memory>/voice.json" && no_meta.field == "voice.json");
  CHECK(no_meta_dir.field == no_meta.field);
  CHECK(no_meta.problem.find("voice.json is missing") == 0);

  // the list itself: each path once, each safe (voice.json is allowed by name)
  const Fault twice = fault_of([&] {
    emomix::load_voice_memory(
        {{"voice.json", meta}, {"weights.safetensors", w}, {"weights.safetensors", w}});
  });
  CHECK(twice.field == "weights.safetensors" && twice.path == "<memory>/weights.safetensors");
  CHECK(twice.problem.find("given twice") != std::string::npos);
  for (const char* bad : {"../x", "/abs", "a//b", "a\\b", ""}) {
    const Fault unsafe = fault_of([&] {
      emomix::load_voice_memory({{"voice.json", meta}, {"weights.safetensors", w}, {bad, "x"}});
    });
    CHECK(unsafe.field == bad && !unsafe.problem.empty());
  }

  // SafetensorsFile::from_memory: its own aligned copy, the same checks as open()
  std::string copy = w;
  auto f = emomix::SafetensorsFile::from_memory(copy, "mem/w", "w.safetensors");
  copy.assign(copy.size(), '\0');
  const emomix::TensorInfo* t = f.find("w");
  REQUIRE(t != nullptr && f.file_bytes() == w.size());
  // the data starts at byte 69 of the file: an 8-byte aligned copy puts it where a mapping would
  CHECK(reinterpret_cast<std::uintptr_t>(t->data) % 8 == (w.size() - 8) % 8);
  float values[2];
  std::memcpy(values, t->data, sizeof values);
  CHECK(values[0] == 1.0f && values[1] == -2.0f);
  const unsigned char* const at = t->data;
  auto moved = std::move(f);  // moves the copy's buffer, not its bytes
  REQUIRE(moved.find("w")->data == at);
  std::memcpy(values, at, sizeof values);
  CHECK(values[0] == 1.0f && values[1] == -2.0f);
  moved.unmap();
  CHECK(moved.find("w")->data == nullptr);
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::SafetensorsFile::from_memory("1234", "m", "w"),
                    "m: w: file is 4 bytes, too short for a safetensors header");
  CHECK_THROWS_WITH(emomix::VoiceError,
                    emomix::SafetensorsFile::from_memory(truncated, "m", "w.safetensors"),
                    "file is 73 bytes but its header describes 77 bytes (truncated)");
}

TEST(voice_model_load_memory_equals_the_directory_load) {
  const std::string dir = default_voice_dir();
  struct stat st {};
  if (dir.empty() || ::stat((dir + "/voice.json").c_str(), &st) != 0) {
    SKIP("no voices/default beside native/tests");
  }
  const auto from_dir = emomix::Model::load(dir);
  std::shared_ptr<const emomix::Model> from_memory;
  {
    std::string meta = read_bytes(dir + "/voice.json");
    std::string weights = read_bytes(dir + "/weights.safetensors");
    from_memory =
        emomix::Model::load_memory({{"voice.json", meta}, {"weights.safetensors", weights}});
    weights.assign(weights.size(), '\0');  // the Model holds its own copy
  }
  const emomix::VoiceInfo &a = from_dir->voice(), &b = from_memory->voice();
  CHECK(from_memory->path() == emomix::kVoiceMemoryDir && b.dir == emomix::kVoiceMemoryDir);
  CHECK(a.name == b.name && a.speakers == b.speakers && a.default_speaker == b.default_speaker);
  REQUIRE(a.emotions.size() == b.emotions.size());
  for (std::size_t i = 0; i < a.emotions.size(); ++i) {
    CHECK(a.emotions[i].name == b.emotions[i].name);
    CHECK(a.emotions[i].embedding == b.emotions[i].embedding);
    CHECK(a.emotions[i].vad == b.emotions[i].vad);
  }
  CHECK(from_dir->storage_dtype() == from_memory->storage_dtype());
  CHECK(from_dir->mapped_bytes() == from_memory->mapped_bytes());
  CHECK(from_dir->converted_bytes() == from_memory->converted_bytes());
  CHECK(from_dir->has_pitch() == from_memory->has_pitch());
  CHECK(from_dir->has_ser() == from_memory->has_ser());
  CHECK(from_dir->mel_filterbank() == from_memory->mel_filterbank());

  // every network gives the same bits
  const emomix::ModelConfig& c = from_dir->config();
  const int C = c.audio.n_mels, E = c.emotion_dim, S = c.speaker_dim, T = 7, F = 16;
  emomix::Session one(from_dir, 1), two(from_memory, 1);
  std::vector<std::int64_t> ids(T);
  for (int i = 0; i < T; ++i)
    ids[static_cast<std::size_t>(i)] = 1 + i % (c.n_symbols - 1);
  const auto emo = random_floats(static_cast<std::size_t>(E), 1);
  const auto spk = random_floats(static_cast<std::size_t>(S), 2);
  std::vector<float> mu1(static_cast<std::size_t>(C) * T), mu2(mu1.size()), dur1(T), dur2(T);
  one.encode_phones(ids.data(), T, emo.data(), spk.data(), mu1.data(), dur1.data());
  two.encode_phones(ids.data(), T, emo.data(), spk.data(), mu2.data(), dur2.data());
  CHECK(same_bits(mu1, mu2) && same_bits(dur1, dur2));
  const auto x = random_floats(static_cast<std::size_t>(C) * F, 3);
  const auto mu = random_floats(x.size(), 4);
  const float t = 0.4f;
  std::vector<float> v1(x.size()), v2(x.size());
  one.denoise(x.data(), &t, mu.data(), emo.data(), spk.data(), 1, F, v1.data());
  two.denoise(x.data(), &t, mu.data(), emo.data(), spk.data(), 1, F, v2.data());
  CHECK(same_bits(v1, v2));
  std::vector<float> audio1(static_cast<std::size_t>(F) * c.audio.hop_length);
  std::vector<float> audio2(audio1.size());
  one.vocode(x.data(), F, audio1.data());
  two.vocode(x.data(), F, audio2.data());
  CHECK(same_bits(audio1, audio2));

  // a memory load fails as the directory load does
  CHECK_THROWS_WITH(emomix::VoiceError,
                    emomix::Model::load_memory({{"voice.json", read_bytes(dir + "/voice.json")}}),
                    "<memory>/weights.safetensors: voice.json:files.weights.safetensors: file "
                    "listed in voice.json is missing");
}
