// JSON reader, half floats, safetensors mapping and Model loading errors.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "emomix/error.hpp"
#include "emomix/json.hpp"
#include "emomix/model.hpp"
#include "emomix/safetensors.hpp"
#include "harness.hpp"

using emomix::InvalidArgument;

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/emomix_test_XXXXXX";
  const char* d = mkdtemp(tmpl);
  return d ? d : "/tmp";
}

// Writes a safetensors file with the given JSON header and `data_bytes` bytes of data.
void write_st(const std::string& path, const std::string& header, std::size_t data_bytes,
              std::size_t header_len_override = 0) {
  std::ofstream f(path, std::ios::binary);
  std::uint64_t n = header_len_override ? header_len_override : header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xFF));
  f << header;
  for (std::size_t i = 0; i < data_bytes; ++i) f.put(0);
}

}  // namespace

TEST(files_json_parses_and_reports_errors) {
  const emomix::Json j = emomix::parse_json(
      R"({"a": 1, "b": [1, 2.5e1, -3], "s": "x\u00e9\n\"", "o": {"t": true, "n": null}})");
  CHECK(j.get_int("a", "root") == 1);
  CHECK(j.at("b", "root").items().size() == 3);
  CHECK(j.at("b", "root").items()[1].number() == 25.0);
  CHECK(j.get_string("s", "root") == "x\xc3\xa9\n\"");
  CHECK(j.at("o", "root").find("t")->boolean());
  CHECK_THROWS_WITH(InvalidArgument, j.get_int("missing", "root"), "root.missing is missing");
  CHECK_THROWS_WITH(InvalidArgument, j.get_string("a", "root"), "root.a must be a string");
  CHECK_THROWS_WITH(InvalidArgument, emomix::parse_json("{\"a\": 1,}"), "invalid JSON");
  CHECK_THROWS_WITH(InvalidArgument, emomix::parse_json("{\"a\": 1, \"a\": 2}"), "repeated");
  CHECK_THROWS_WITH(InvalidArgument, emomix::parse_json("[1, 2"), "invalid JSON");
}

TEST(files_half_to_float_is_exact) {
  CHECK(emomix::half_to_float(0x3C00) == 1.0f);
  CHECK(emomix::half_to_float(0xC000) == -2.0f);
  CHECK(emomix::half_to_float(0x7BFF) == 65504.0f);
  CHECK(emomix::half_to_float(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(emomix::half_to_float(0x3555) == 0.333251953125f);
  CHECK(std::isinf(emomix::half_to_float(0x7C00)));
  CHECK(std::isnan(emomix::half_to_float(0x7E00)));
}

TEST(files_safetensors_checks_layout) {
  const std::string d = temp_dir();
  const std::string p = d + "/w.safetensors";
  write_st(p, R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                  "b": {"dtype": "F16", "shape": [2], "data_offsets": [24, 28]},
                  "__metadata__": {"format": "pt"}})", 28);
  {
    auto f = emomix::SafetensorsFile::open(p, "w.safetensors");
    REQUIRE(f.tensors().size() == 2);
    const emomix::TensorInfo* a = f.find("a");
    REQUIRE(a != nullptr);
    CHECK(a->elements() == 6 && a->bytes == 24 && a->dtype == "F32");
    CHECK(f.find("nope") == nullptr);
  }
  write_st(p, R"({"a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}})", 20);
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "w.safetensors: file is 93 bytes but its header describes 97 bytes (truncated)");
  write_st(p, R"({"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 24]}})", 24);
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "w.safetensors:a: data_offsets [0, 24] span 24 bytes but shape [2, 2] of F32 needs 16");
  write_st(p, R"({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}})", 4);
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "w.safetensors:a: dtype");
  write_st(p, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", 8);
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "leaves a gap");
  write_st(p, R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 12);
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "header describes");
  write_st(p, "{not json", 0);
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "header is not valid JSON");
  write_st(p, "{}", 0, 1000);
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(p, "w.safetensors"),
                    "header length field");
  CHECK_THROWS_WITH(InvalidArgument, emomix::SafetensorsFile::open(d + "/missing", "w.safetensors"),
                    "cannot be opened");
  std::remove(p.c_str());
}

TEST(files_model_load_names_file_and_field) {
  const std::string d = temp_dir();
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::Model::load(d),
                    d + "/voice.json: voice.json: voice.json is missing from the bundle directory");
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::Model::load(d + "/nowhere"),
                    d + "/nowhere: voice.json: voice bundle directory does not exist");
  {
    std::ofstream(d + "/voice.json") << R"({"model": {"config": {"n_symbols": 10}}})";
  }
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::Model::load(d), "voice.json:format: required key is missing");
  {
    std::ofstream(d + "/voice.json") << "{\"model\": ";
  }
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::Model::load(d),
                    "voice.json: voice.json: is not valid JSON: invalid JSON at byte 10: unexpected end of "
                    "input (the file is empty or truncated)");
  std::remove((d + "/voice.json").c_str());
  rmdir(d.c_str());
}
