// GenerationConfig (emomix/generation.hpp): defaults from the voice, the named errors of
// validate_generation_config(), and the plan's conditions and W on a tiny voice.json.
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "emomix/generation.hpp"
#include "emomix/voice.hpp"
#include "harness.hpp"
#include "voice_fixture.hpp"

namespace {

const char* kTinyConfig = R"({"n_symbols": 6, "n_speakers": 2, "emotion_dim": 4, "speaker_dim": 3,
  "n_emotions": 3, "parameterisation": "flow",
  "audio": {"sample_rate": 16000, "n_fft": 64, "hop_length": 16, "win_length": 64, "n_mels": 8}})";

emomix::VoiceInfo tiny_voice() {
  return emomix::parse_voice_meta(fixture::voice_json(kTinyConfig), "v/voice.json", false);
}

void set(emomix::GenerationWeight& w, const char* name, double weight) {
  std::memset(w.name, 0, sizeof w.name);
  std::strncpy(w.name, name, sizeof w.name - 1);
  w.weight = weight;
}

// The code validate_generation_config() throws for `c` (0 when it accepts it).
int code_of(const emomix::GenerationConfig& c, const emomix::VoiceInfo& v) {
  try {
    emomix::validate_generation_config(c, v);
  } catch (const emomix::GenerationConfigError& e) {
    return static_cast<int>(e.code());
  }
  return 0;
}

}  // namespace

TEST(generation_config_defaults_come_from_the_voice) {
  const emomix::VoiceInfo v = tiny_voice();
  const emomix::GenerationConfig c = emomix::default_generation_config(v);
  CHECK(c.struct_size == sizeof(emomix::GenerationConfig));
  CHECK(c.n_emotions == 1 && std::string(c.emotions[0].name) == "neutral");
  CHECK(c.n_speakers == 1 && std::string(c.speakers[0].name) == v.default_speaker);
  CHECK(c.steps == v.sampler.steps);
  CHECK(c.solver == static_cast<int>(v.sampler.solver));
  CHECK(c.temperature == v.sampler.temperature);
  CHECK(c.k_max == v.sampler.k_max && c.k_min == v.sampler.k_min);
  CHECK(c.emotion_scale == v.sampler.emotion_scale);
  CHECK(c.length_scale == v.sampler.length_scale && c.length_scale == 1.0);  // absent: 1
  CHECK(c.intensity == 1.0 && c.n_keyframes == 0);
  CHECK(code_of(c, v) == 0);
  CHECK(emomix::generation_config_fields().size() == 13);
  std::string slow = fixture::voice_json(kTinyConfig);
  const std::string preset = "\"preset\": \"emomix\"";
  REQUIRE(slow.find(preset) != std::string::npos);
  slow.insert(slow.find(preset) + preset.size(), ", \"length_scale\": 1.25");
  const emomix::VoiceInfo s = emomix::parse_voice_meta(slow, "v/voice.json", false);
  CHECK(s.sampler.length_scale == 1.25);
  CHECK(emomix::default_generation_config(s).length_scale == 1.25);
}

TEST(generation_config_errors_are_named) {
  using E = emomix::GenerationErrorCode;
  const emomix::VoiceInfo v = tiny_voice();
  const emomix::GenerationConfig ok = emomix::default_generation_config(v);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto with = [&](auto change) {
    emomix::GenerationConfig c = ok;
    change(c);
    return code_of(c, v);
  };
  CHECK(with([](auto& c) { c.struct_size -= 8; }) == int(E::struct_size));
  CHECK(with([](auto& c) { set(c.emotions[0], "bored", 1.0); }) == int(E::unknown_emotion));
  CHECK(with([](auto& c) { c.emotions[0].weight = -0.5; }) == int(E::bad_weight));
  CHECK(with([&](auto& c) { c.emotions[0].weight = nan; }) == int(E::bad_weight));
  CHECK(with([](auto& c) { c.emotions[0].weight = 0.0; }) == int(E::zero_weights));
  CHECK(with([](auto& c) {
          c.n_emotions = 2;
          set(c.emotions[1], "neutral", 1.0);
        }) == int(E::duplicate_name));
  CHECK(with([](auto& c) { c.n_emotions = 0; }) == int(E::bad_count));
  CHECK(with([](auto& c) { std::memset(c.emotions[0].name, 'x', sizeof c.emotions[0].name); }) ==
        int(E::bad_name));
  CHECK(with([](auto& c) { c.steps = 0; }) == int(E::bad_steps));
  CHECK(with([](auto& c) { c.steps = 100000; }) == int(E::bad_steps));
  CHECK(with([](auto& c) { c.solver = int(emomix::Solver::em); }) == int(E::bad_solver));
  CHECK(with([](auto& c) { c.preset = 7; }) == int(E::bad_preset));
  CHECK(with([](auto& c) { c.preset = int(emomix::Preset::intensity); }) == int(E::bad_preset));
  CHECK(with([](auto& c) { c.temperature = 0.0; }) == int(E::bad_temperature));
  CHECK(with([](auto& c) { c.k_min = 0.7; }) == int(E::bad_window));
  CHECK(with([](auto& c) { c.length_scale = 8.0; }) == int(E::bad_length_scale));
  CHECK(with([&](auto& c) { c.intensity = nan; }) == int(E::bad_intensity));
  CHECK(with([](auto& c) { c.emotion_scale = 3.0; }) == int(E::bad_emotion_scale));
  CHECK(with([](auto& c) { set(c.speakers[0], "nobody", 1.0); }) == int(E::unknown_speaker));
  CHECK(with([](auto& c) {
          c.n_keyframes = 2;
          c.keyframes[0].position = 0.8;
          c.keyframes[0].n_emotions = 1;
          set(c.keyframes[0].emotions[0], "happy", 1.0);
          c.keyframes[1] = c.keyframes[0];
          c.keyframes[1].position = 0.2;
        }) == int(E::bad_keyframes));
  CHECK_THROWS_WITH(emomix::GenerationConfigError,
                    emomix::validate_generation_config(
                        [&] {
                          emomix::GenerationConfig c = ok;
                          set(c.emotions[0], "bored", 1.0);
                          return c;
                        }(),
                        v),
                    "emotions[0].name: unknown emotion 'bored'");
}

TEST(generation_plan_conditions_and_weights) {
  const emomix::VoiceInfo v = tiny_voice();
  const std::vector<float> table = {1, 2, 3, 10, 20, 30};  // 2 speakers x 3
  emomix::GenerationConfig c = emomix::default_generation_config(v);
  c.n_emotions = 2;
  set(c.emotions[0], "sad", 3.0);
  set(c.emotions[1], "happy", 1.0);
  c.intensity = 0.5;
  c.n_speakers = 2;
  set(c.speakers[0], "spk0", 1.0);
  set(c.speakers[1], "spk1", 1.0);
  c.preset = int(emomix::Preset::blend);
  c.steps = 4;
  const emomix::GenerationPlan p = emomix::plan_generation(v, table.data(), 3, c);
  // voice order (neutral, happy, sad): happy, sad, then neutral for intensity != 1
  REQUIRE(p.conditions.size() == 3);
  CHECK(p.conditions[0] == 1 && p.conditions[1] == 2 && p.conditions[2] == 0 && p.neutral == 2);
  REQUIRE(p.weights.size() == 12);
  for (int k = 0; k < 4; ++k) {
    CHECK_NEAR(p.weights[k * 3 + 0], 0.125, 1e-7);
    CHECK_NEAR(p.weights[k * 3 + 1], 0.375, 1e-7);
    CHECK_NEAR(p.weights[k * 3 + 2], 0.5, 1e-7);
  }
  CHECK_NEAR(p.speaker[0], 5.5, 1e-6);
  CHECK_NEAR(p.speaker[2], 16.5, 1e-6);
}
