// The graphs end to end on a tiny random model written by the test: Model loading (float32 and
// float16), thread-count independence, batching, streaming vocoder, the whole pipeline, and no
// workspace allocation when a line repeats; the pitch predictor and the harmonics it renders.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/harmonics.hpp"
#include "emomix/json.hpp"
#include "emomix/model.hpp"
#include "emomix/session.hpp"
#include "emomix/voice.hpp"
#include "harness.hpp"
#include "tiny_voice.hpp"
#include "voice_fixture.hpp"

namespace {

// model.config of the tiny voice (fixture::voice_json wraps it in a whole voice.json).
const std::string kConfig = fixture::tiny_model_config(12);

std::uint16_t to_half(float f) {  // round-to-nearest for normal values in range (test data only)
  std::uint32_t b;
  std::memcpy(&b, &f, 4);
  const std::uint32_t sign = (b >> 16) & 0x8000u;
  const int exp = static_cast<int>((b >> 23) & 0xFF) - 127 + 15;
  if (exp <= 0) return static_cast<std::uint16_t>(sign);
  const std::uint32_t man = b & 0x7FFFFFu;
  std::uint32_t h = sign | static_cast<std::uint32_t>(exp) << 10 | (man >> 13);
  if (man & 0x1000u) ++h;
  return static_cast<std::uint16_t>(h);
}

// kConfig with a pitch predictor (width and kernel unlike the encoder's) and the audio fields its
// harmonic rendering needs.
std::string pitch_config() {
  std::string c = kConfig;
  const std::string mels = "\"n_mels\": 10}";
  c.replace(c.find(mels), mels.size(),
            "\"n_mels\": 10, \"f_min\": 0.0, \"f_max\": 8000.0, \"mel_scale\": \"slaney\", "
            "\"mel_std\": 2.2}");
  c.replace(c.find("\"ser\":"), 6,
            "\"pitch\": {\"enabled\": true, \"hidden\": 10, \"kernel\": 5, \"dropout\": 0.1, "
            "\"harmonic_floor\": 0.05, \"envelope_sigma\": 2.0, \"f0_min\": 60.0, "
            "\"f0_max\": 500.0},\n  \"ser\":");
  return c;
}

// Writes a random weights.safetensors (float32 or float16) for model.config `config` and a voice.json
// listing it into a fresh directory.
std::string write_model(bool fp16, const std::string& config = kConfig) {
  char tmpl[] = "/tmp/emomix_model_XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const emomix::VoiceInfo info =
      emomix::parse_voice_meta(fixture::voice_json(config), dir + "/voice.json", false);
  const emomix::ModelConfig cfg = emomix::parse_model_config(info);
  const auto tensors = emomix::Model::expected_tensors(cfg);
  std::mt19937 g(7);
  std::normal_distribution<float> nd(0.0f, 0.3f);
  std::string header = "{";
  std::string data;
  for (const auto& [name, shape] : tensors) {
    std::size_t n = 1;
    std::string sh;
    for (std::int64_t d : shape) {
      n *= static_cast<std::size_t>(d);
      sh += (sh.empty() ? "" : ",") + std::to_string(d);
    }
    const std::size_t begin = data.size();
    for (std::size_t i = 0; i < n; ++i) {
      const float v = nd(g) + (name.find("norm") != std::string::npos && name.find("weight") != std::string::npos ? 1.0f : 0.0f);
      if (fp16) {
        const std::uint16_t h = to_half(v);
        data.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        data.append(reinterpret_cast<const char*>(&v), 4);
      }
    }
    header += (header.size() > 1 ? "," : "") + std::string("\"") + name + "\": {\"dtype\": \"" +
              (fp16 ? "F16" : "F32") + "\", \"shape\": [" + sh + "], \"data_offsets\": [" +
              std::to_string(begin) + ", " + std::to_string(data.size()) + "]}";
  }
  header += "}";
  while (header.size() % 8) header += ' ';
  std::ofstream f(dir + "/weights.safetensors", std::ios::binary);
  const std::uint64_t len = header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((len >> (8 * i)) & 0xFF));
  f << header << data;
  f.close();
  fixture::write_voice_json(dir, config);
  return dir;
}

void remove_model(const std::string& dir) {
  std::remove((dir + "/voice.json").c_str());
  std::remove((dir + "/weights.safetensors").c_str());
  rmdir(dir.c_str());
}

std::vector<float> randn(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

double max_abs_diff(const float* a, const float* b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

TEST(session_pipeline_is_consistent) {
  for (bool fp16 : {false, true}) {
    const std::string dir = write_model(fp16);
    auto model = emomix::Model::load(dir);
    remove_model(dir);  // float16 weights were converted, float32 ones stay mapped: both survive
    CHECK(model->storage_dtype() == (fp16 ? "F16" : "F32"));
    const int C = model->config().audio.n_mels, hop = model->config().audio.hop_length;
    emomix::Session one(model, 1), two(model, 3);

    // A batch of B items equals each item alone (the [C][B*F] layout keeps items apart).
    const int B = 3, F = 13;
    auto x = randn(static_cast<std::size_t>(B) * C * F, 1), mu = randn(static_cast<std::size_t>(C) * F, 2);
    auto emo = randn(B * 8, 3), spk = randn(B * 6, 4);
    const std::vector<float> t = {0.9f, 0.5f, 0.1f};
    std::vector<float> out(x.size()), item(static_cast<std::size_t>(C) * F), out2(x.size());
    two.denoise(x.data(), t.data(), mu.data(), emo.data(), spk.data(), B, F, out.data());
    one.denoise(x.data(), t.data(), mu.data(), emo.data(), spk.data(), B, F, out2.data());
    CHECK(max_abs_diff(out.data(), out2.data(), out.size()) < 1e-5);
    for (int b = 0; b < B; ++b) {
      one.denoise(x.data() + static_cast<std::size_t>(b) * C * F, t.data() + b, mu.data(),
                  emo.data() + b * 8, spk.data() + b * 6, 1, F, item.data());
      CHECK(max_abs_diff(item.data(), out.data() + static_cast<std::size_t>(b) * C * F, item.size()) < 1e-5);
    }

    // The streaming vocoder equals the whole line: mel pushed in uneven pieces, audio pulled as
    // soon as it is ready, in chunks of at most 7 frames (then all that is left).
    const int Fm = 90;
    auto mel = randn(static_cast<std::size_t>(C) * Fm, 5);
    std::vector<float> whole(static_cast<std::size_t>(Fm) * hop), chunk(whole.size());
    one.vocode(mel.data(), Fm, whole.data());
    emomix::VocoderStream stream(model);
    const int la = stream.lookahead();
    CHECK(la > 0);
    const int bounds[] = {0, 1, 17, 50, 89, 90};
    int pulled = 0;
    for (int i = 0; i + 1 < 6; ++i) {
      stream.push(mel.data() + bounds[i], bounds[i + 1] - bounds[i], Fm);
      CHECK(stream.pushed() == bounds[i + 1]);
      CHECK(stream.ready() == std::max(0, bounds[i + 1] - la) - pulled);
      for (int k; (k = two.vocode_pull(stream, 7, chunk.data() + static_cast<std::size_t>(pulled) * hop)) > 0;) {
        CHECK(k <= 7);
        pulled += k;
      }
      CHECK(pulled == std::max(0, bounds[i + 1] - la));  // nothing beyond what the mel determines
    }
    stream.finish();
    CHECK(stream.ready() == Fm - pulled);
    pulled += one.vocode_pull(stream, Fm, chunk.data() + static_cast<std::size_t>(pulled) * hop);
    CHECK(pulled == Fm && stream.done() == Fm && stream.ready() == 0);
    CHECK(one.vocode_pull(stream, Fm, chunk.data()) == 0);
    double peak = 0;
    for (float v : whole) {
      CHECK(std::isfinite(v));
      peak = std::max(peak, static_cast<double>(std::fabs(v)));
    }
    CHECK(max_abs_diff(whole.data(), chunk.data(), whole.size()) <= 1e-5 * peak);
    CHECK_THROWS_WITH(emomix::InvalidArgument, stream.push(mel.data(), 1), "after finish()");

    // The whole pipeline: same result on 1 and 3 threads; a repeat allocates no workspace.
    const std::vector<std::int64_t> ids = {1, 5, 3, 11, 0, 7, 2};
    const std::vector<float> W = {1, 0, 1, 0, 0.7f, 0.3f, 0.7f, 0.3f};
    const emomix::WeightsView wv{W.data(), 4, 2, 0};
    emomix::SamplerConfig sc;
    sc.temperature = 0.7;
    auto r1 = one.synthesize(ids.data(), 7, emo.data(), spk.data(), 1.0, wv, emo.data(), spk.data(), sc, 9);
    const auto before = emomix::tensor_allocations();
    auto r1b = one.synthesize(ids.data(), 7, emo.data(), spk.data(), 1.0, wv, emo.data(), spk.data(), sc, 9);
    CHECK(emomix::tensor_allocations() == before);
    auto r3 = two.synthesize(ids.data(), 7, emo.data(), spk.data(), 1.0, wv, emo.data(), spk.data(), sc, 9);
    REQUIRE(r1.frames > 0 && r1.audio.size() == static_cast<std::size_t>(r1.frames) * hop);
    CHECK(r1.audio == r1b.audio);
    REQUIRE(r3.audio.size() == r1.audio.size());
    CHECK(max_abs_diff(r1.audio.data(), r3.audio.data(), r1.audio.size()) < 1e-4);
    CHECK(r1.durations == r3.durations);
    // The SER runs and is thread-count independent.
    REQUIRE(model->has_ser());
    std::vector<float> e1(8), l1(3), e3(8), l3(3);
    one.ser(mel.data(), Fm, e1.data(), l1.data());
    two.ser(mel.data(), Fm, e3.data(), l3.data());
    CHECK(max_abs_diff(e1.data(), e3.data(), 8) < 1e-5 && max_abs_diff(l1.data(), l3.data(), 3) < 1e-5);
    for (float v : l1) CHECK(std::isfinite(v));
    CHECK_THROWS_WITH(emomix::InvalidArgument,
                      one.encode_phones(std::vector<std::int64_t>{99}.data(), 1, emo.data(), spk.data(), mu.data(), mu.data()),
                      "outside the symbol table");
  }
}

TEST(session_model_rejects_mismatched_weights) {
  const std::string dir = write_model(false);
  fixture::write_voice_json(
      dir, std::string(kConfig).replace(std::string(kConfig).find("\"hidden\": 16"), 12, "\"hidden\": 20"));
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::Model::load(dir),
                    "weights.safetensors:encoder.embedding.weight: shape [12, 16] but model.config "
                    "implies [12, 20]");
  remove_model(dir);
}

TEST(session_pitch_predictor_renders_harmonics) {
  const std::string dir = write_model(false, pitch_config());
  auto model = emomix::Model::load(dir);
  remove_model(dir);
  REQUIRE(model->has_pitch());
  const emomix::ModelConfig& cfg = model->config();
  const int C = cfg.audio.n_mels, M = 3, T = 7;
  CHECK(model->mel_filterbank().size() == static_cast<std::size_t>(C) * (cfg.audio.n_fft / 2 + 1));
  emomix::Session one(model, 1), three(model, 3);

  // The pitch head: finite, thread-count independent, each condition as if alone.
  const std::vector<std::int64_t> ids = {1, 5, 3, 11, 0, 7, 2};
  auto emo = randn(M * 8, 11), spk = randn(M * 6, 12);
  std::vector<float> p1(static_cast<std::size_t>(M) * 2 * T), p3(p1.size()), alone(2 * T);
  one.pitch(ids.data(), T, emo.data(), spk.data(), M, p1.data());
  three.pitch(ids.data(), T, emo.data(), spk.data(), M, p3.data());
  for (float v : p1) CHECK(std::isfinite(v));
  CHECK(max_abs_diff(p1.data(), p3.data(), p1.size()) < 1e-5);
  for (int m = 0; m < M; ++m) {
    one.pitch(ids.data(), T, emo.data() + m * 8, spk.data() + m * 6, 1, alone.data());
    const float* row = p1.data() + static_cast<std::size_t>(m) * 2 * T;
    CHECK(max_abs_diff(alone.data(), row, alone.size()) < 1e-5);
  }
  CHECK(max_abs_diff(p1.data(), p1.data() + 2 * T, 2 * T) > 1e-3);  // the conditions matter

  // synthesize() = sample() -> harmonics of the pitch mixed with W's last step -> vocode().
  const std::vector<float> W = {1, 0, 0, 0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f, 0.2f, 0.3f, 0.5f};
  const emomix::WeightsView wv{W.data(), 4, M, 0};
  emomix::SamplerConfig sc;
  sc.temperature = 0.7;
  auto r = one.synthesize(ids.data(), T, emo.data(), spk.data(), 1.0, wv, emo.data(), spk.data(),
                          sc, 9);
  const int F = r.frames;
  std::vector<float> sampled(static_cast<std::size_t>(C) * F), expected(sampled.size());
  one.sample(r.mu.data(), F, wv, emo.data(), spk.data(), sc, 9, sampled.data(),
             r.durations.data(), T);
  std::vector<double> f0(static_cast<std::size_t>(F)), voicing(f0.size());
  emomix::HarmonicsWorkspace ws;
  emomix::frame_pitch(p1.data(), M, T, r.durations.data(), W.data() + 3 * M, false, F, cfg.pitch,
                      ws, f0.data(), voicing.data());
  emomix::render_harmonics(sampled.data(), F, f0.data(), voicing.data(), cfg.audio, cfg.pitch,
                           model->mel_filterbank(), ws, expected.data());
  for (float v : expected) CHECK(std::isfinite(v));
  CHECK(max_abs_diff(expected.data(), r.mel.data(), expected.size()) < 1e-6);
  CHECK(max_abs_diff(sampled.data(), r.mel.data(), expected.size()) > 0.1);
  std::vector<float> audio(static_cast<std::size_t>(F) * cfg.audio.hop_length);
  one.vocode(r.mel.data(), F, audio.data());
  CHECK(audio == r.audio);
  // ... and a repeat allocates no workspace
  const auto before = emomix::tensor_allocations();
  auto again = one.synthesize(ids.data(), T, emo.data(), spk.data(), 1.0, wv, emo.data(),
                              spk.data(), sc, 9);
  CHECK(emomix::tensor_allocations() == before);
  CHECK(again.audio == r.audio);

  // A voice without pitch refuses the head.
  const std::string plain_dir = write_model(false);
  auto plain = emomix::Model::load(plain_dir);
  remove_model(plain_dir);
  CHECK(!plain->has_pitch() && plain->mel_filterbank().empty());
  emomix::Session ps(plain, 1);
  CHECK_THROWS_WITH(emomix::InvalidArgument,
                    ps.pitch(ids.data(), T, emo.data(), spk.data(), M, p1.data()),
                    "no pitch predictor");
}

TEST(session_pitch_config_and_weights_are_checked) {
  // the contract checks the pitch section (emomix/voice.hpp) ...
  std::string c = pitch_config();
  const std::string kernel = "\"kernel\": 5";
  c.replace(c.find(kernel), kernel.size(), "\"kernel\": 4");
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::parse_voice_meta(fixture::voice_json(c), "v/voice.json", false),
                    "voice.json:model.config.pitch.kernel: is 4; must be odd");
  c = pitch_config();
  const std::string f0 = "\"f0_max\": 500.0";
  c.replace(c.find(f0), f0.size(), "\"f0_max\": 50.0");
  CHECK_THROWS_WITH(emomix::VoiceError, emomix::parse_voice_meta(fixture::voice_json(c), "v/voice.json", false),
                    "voice.json:model.config.pitch.f0_max: is 50 Hz, not above f0_min (60 Hz)");
  // ... and the network config what the graphs need
  c = std::string(kConfig);
  const std::string time_embed = "\"time_embed_dim\": 8";
  c.replace(c.find(time_embed), time_embed.size(), "\"time_embed_dim\": 7");
  CHECK_THROWS_WITH(emomix::VoiceError,
                    emomix::parse_model_config(emomix::parse_voice_meta(fixture::voice_json(c), "v/voice.json", false)),
                    "v/voice.json: voice.json:model.config.denoiser.time_embed_dim: must be even");
  // voice.json enables pitch but the weights have none of its tensors
  const std::string dir = write_model(false);
  fixture::write_voice_json(dir, pitch_config());
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::Model::load(dir),
                    "weights.safetensors:pitch.cond.weight: tensor is missing");
  remove_model(dir);
}
