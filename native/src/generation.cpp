#include "emomix/generation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "emomix/schedule.hpp"
#include "emomix/session.hpp"
#include "emomix/text.hpp"
#include "emomix/voice_schema.hpp"

namespace emomix {

namespace {

[[noreturn]] void fail(GenerationErrorCode code, const std::string& field, const std::string& msg) {
  throw GenerationConfigError(code, field, msg);
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void set_name(GenerationWeight& w, const std::string& name, double weight) {
  std::memset(w.name, 0, sizeof w.name);
  std::memcpy(w.name, name.data(), std::min(name.size(), sizeof w.name - 1));
  w.weight = weight;
}

// The name of an entry, checked to be NUL-terminated and non-empty.
std::string entry_name(const GenerationWeight& w, const std::string& field) {
  const void* end = std::memchr(w.name, '\0', sizeof w.name);
  if (end == nullptr) {
    fail(GenerationErrorCode::bad_name, field + ".name",
         "is not NUL-terminated within " + std::to_string(kGenerationNameCapacity) + " bytes");
  }
  std::string name(w.name);
  if (name.empty()) fail(GenerationErrorCode::bad_name, field + ".name", "is empty");
  return name;
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

int voice_emotion(const VoiceInfo& voice, const char* name) {
  for (std::size_t i = 0; i < voice.emotions.size(); ++i) {
    if (voice.emotions[i].name == name) return static_cast<int>(i);
  }
  throw InvalidArgument(std::string("the voice has no '") + name + "' emotion");
}

// Python's _as_mix: normalised by the sum (again), in float64.
std::vector<double> as_mix(const std::vector<double>& w) {
  double total = 0.0;
  for (double v : w) total += v;
  std::vector<double> out(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) out[i] = w[i] / total;
  return out;
}

}  // namespace

std::vector<std::string> emotion_names(const VoiceInfo& voice) {
  std::vector<std::string> out;
  for (const auto& e : voice.emotions) out.push_back(e.name);
  return out;
}

// normalise_mix (emomix.emotions): known names, finite non-negative weights, not all zero,
// normalised by their sum; zero weights dropped. Returns (index into `known`, weight) pairs.
NormalisedMix normalise_weights(const GenerationWeight* entries, std::uint32_t count, int capacity,
                        const std::vector<std::string>& known, const std::string& field,
                        GenerationErrorCode unknown, const char* kind) {
  if (count < 1 || count > static_cast<std::uint32_t>(capacity)) {
    fail(GenerationErrorCode::bad_count, "n_" + field,
         "is " + std::to_string(count) + "; give 1 to " + std::to_string(capacity) + " " + kind +
             "s");
  }
  NormalisedMix mix;
  double total = 0.0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::string where = field + "[" + std::to_string(i) + "]";
    const std::string name = entry_name(entries[i], where);
    const auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end()) {
      fail(unknown, where + ".name",
           std::string("unknown ") + kind + " '" + name + "'; this voice has: " + join(known));
    }
    const int index = static_cast<int>(it - known.begin());
    for (const auto& [j, w] : mix) {
      if (j == index) {
        fail(GenerationErrorCode::duplicate_name, where + ".name",
             std::string(kind) + " '" + name + "' is given twice");
      }
    }
    const double w = entries[i].weight;
    if (!std::isfinite(w)) {
      fail(GenerationErrorCode::bad_weight, where + ".weight",
           "is " + fmt(w) + "; weights must be finite numbers");
    }
    if (w < 0) {
      fail(GenerationErrorCode::bad_weight, where + ".weight",
           "is negative (" + fmt(w) + "); weights must be >= 0 (use intensity > 1 to exaggerate)");
    }
    mix.emplace_back(index, w);
    total += w;
  }
  if (!(total > 0)) {
    fail(GenerationErrorCode::zero_weights, field,
         std::string("all ") + kind + " weights are zero; give at least one a positive weight");
  }
  NormalisedMix out;
  for (const auto& [i, w] : mix) {
    if (w / total > 0) out.emplace_back(i, w / total);
  }
  return out;
}

Preset parse_preset(const std::string& name) {
  if (name == "emomix") return Preset::emomix;
  if (name == "blend") return Preset::blend;
  if (name == "intensity") return Preset::intensity;
  throw InvalidArgument("unknown preset '" + name + "'; choose one of emomix, blend, intensity");
}

const char* to_string(Preset p) noexcept {
  switch (p) {
    case Preset::emomix: return "emomix";
    case Preset::blend: return "blend";
    case Preset::intensity: return "intensity";
  }
  return "?";
}

const char* to_string(GenerationErrorCode code) noexcept {
  switch (code) {
    case GenerationErrorCode::struct_size: return "struct_size";
    case GenerationErrorCode::bad_name: return "bad_name";
    case GenerationErrorCode::unknown_emotion: return "unknown_emotion";
    case GenerationErrorCode::unknown_speaker: return "unknown_speaker";
    case GenerationErrorCode::duplicate_name: return "duplicate_name";
    case GenerationErrorCode::bad_count: return "bad_count";
    case GenerationErrorCode::bad_weight: return "bad_weight";
    case GenerationErrorCode::zero_weights: return "zero_weights";
    case GenerationErrorCode::bad_keyframes: return "bad_keyframes";
    case GenerationErrorCode::bad_intensity: return "bad_intensity";
    case GenerationErrorCode::bad_emotion_scale: return "bad_emotion_scale";
    case GenerationErrorCode::bad_steps: return "bad_steps";
    case GenerationErrorCode::bad_solver: return "bad_solver";
    case GenerationErrorCode::bad_preset: return "bad_preset";
    case GenerationErrorCode::bad_temperature: return "bad_temperature";
    case GenerationErrorCode::bad_window: return "bad_window";
    case GenerationErrorCode::bad_length_scale: return "bad_length_scale";
  }
  return "?";
}

const std::vector<std::string>& generation_config_fields() {
  static const std::vector<std::string> fields = {
      "emotions",  "keyframes",   "intensity", "emotion_scale", "speakers",
      "steps",     "solver",      "preset",    "temperature",   "k_max",
      "k_min",     "length_scale", "seed"};
  return fields;
}

GenerationConfig default_generation_config(const VoiceInfo& voice) {
  GenerationConfig c;
  std::memset(&c, 0, sizeof c);
  c.struct_size = static_cast<std::uint32_t>(sizeof(GenerationConfig));
  c.n_emotions = 1;
  set_name(c.emotions[0], "neutral", 1.0);
  c.n_keyframes = 0;
  c.intensity = 1.0;
  c.emotion_scale = voice.sampler.emotion_scale;
  c.n_speakers = 1;
  set_name(c.speakers[0], voice.default_speaker, 1.0);
  c.steps = voice.sampler.steps;
  c.solver = static_cast<std::int32_t>(voice.sampler.solver);
  c.preset = static_cast<std::int32_t>(parse_preset(voice.sampler.preset));
  c.temperature = voice.sampler.temperature;
  c.k_max = voice.sampler.k_max;
  c.k_min = voice.sampler.k_min;
  c.length_scale = voice.sampler.length_scale;
  c.seed = 0;
  return c;
}

void validate_generation_config(const GenerationConfig& c, const VoiceInfo& voice) {
  using E = GenerationErrorCode;
  if (c.struct_size != sizeof(GenerationConfig)) {
    fail(E::struct_size, "struct_size",
         "is " + std::to_string(c.struct_size) + " but this library's GenerationConfig has " +
             std::to_string(sizeof(GenerationConfig)) +
             " bytes; start from default_generation_config()");
  }
  const std::vector<std::string> emotions = emotion_names(voice);
  const NormalisedMix mix =
      normalise_weights(c.emotions, c.n_emotions, kGenerationMaxEmotions, emotions, "emotions",
                E::unknown_emotion, "emotion");
  if (c.n_keyframes > static_cast<std::uint32_t>(kGenerationMaxKeyframes)) {
    fail(E::bad_count, "n_keyframes",
         "is " + std::to_string(c.n_keyframes) + "; at most " +
             std::to_string(kGenerationMaxKeyframes));
  }
  for (std::uint32_t k = 0; k < c.n_keyframes; ++k) {
    const std::string where = "keyframes[" + std::to_string(k) + "]";
    const double p = c.keyframes[k].position;
    if (!(std::isfinite(p) && p >= 0.0 && p <= 1.0)) {
      fail(E::bad_keyframes, where + ".position",
           "is " + fmt(p) + "; positions are fractions of the line in [0, 1]");
    }
    if (k > 0 && p < c.keyframes[k - 1].position) {
      fail(E::bad_keyframes, where + ".position", "positions must be ascending");
    }
    normalise_weights(c.keyframes[k].emotions, c.keyframes[k].n_emotions, kGenerationMaxEmotions,
              emotions, where + ".emotions", E::unknown_emotion, "emotion");
  }
  if (!std::isfinite(c.intensity)) {
    fail(E::bad_intensity, "intensity", "is " + fmt(c.intensity) + "; give a finite number");
  }
  const VoiceSchema& schema = voice_schema();
  if (!(std::isfinite(c.emotion_scale) && c.emotion_scale >= schema.emotion_scale_min &&
        c.emotion_scale <= schema.emotion_scale_max)) {
    fail(E::bad_emotion_scale, "emotion_scale",
         "is " + fmt(c.emotion_scale) + "; it must be in [" + fmt(schema.emotion_scale_min) +
             ", " + fmt(schema.emotion_scale_max) + "] (1 means no extrapolation from neutral)");
  }
  normalise_weights(c.speakers, c.n_speakers, kGenerationMaxSpeakers, voice.speakers, "speakers",
            E::unknown_speaker, "speaker");
  if (c.steps < 1 || c.steps > kMaxSteps) {
    fail(E::bad_steps, "steps",
         "is " + std::to_string(c.steps) + "; give 1 to " + std::to_string(kMaxSteps));
  }
  const bool flow = voice.parameterisation == Parameterisation::flow;
  const bool solver_ok =
      flow ? (c.solver == static_cast<std::int32_t>(Solver::euler) ||
              c.solver == static_cast<std::int32_t>(Solver::heun))
           : (c.solver == static_cast<std::int32_t>(Solver::em) ||
              c.solver == static_cast<std::int32_t>(Solver::pf_euler));
  if (!solver_ok) {
    fail(E::bad_solver, "solver",
         "is " + std::to_string(c.solver) + "; a " + to_string(voice.parameterisation) +
             " voice takes " + (flow ? "euler (0) or heun (1)" : "em (2) or pf_euler (3)"));
  }
  if (c.preset < 0 || c.preset > static_cast<std::int32_t>(Preset::intensity)) {
    fail(E::bad_preset, "preset",
         "is " + std::to_string(c.preset) + "; choose emomix (0), blend (1) or intensity (2)");
  }
  if (c.preset == static_cast<std::int32_t>(Preset::intensity)) {
    const int neutral = voice_emotion(voice, "neutral");
    if (c.n_keyframes > 0 || mix.size() != 1 || mix[0].first == neutral) {
      fail(E::bad_preset, "preset",
           "intensity takes one emotion other than neutral and no keyframes; use emomix or "
           "blend for mixes");
    }
  }
  if (!(std::isfinite(c.temperature) && c.temperature > 0)) {
    fail(E::bad_temperature, "temperature", "is " + fmt(c.temperature) + "; it must be > 0");
  }
  if (!(std::isfinite(c.k_max) && std::isfinite(c.k_min) && 0.0 <= c.k_min &&
        c.k_min <= c.k_max && c.k_max <= 1.0)) {
    fail(E::bad_window, "k_max",
         "need 0 <= k_min <= k_max <= 1, got k_min=" + fmt(c.k_min) + ", k_max=" + fmt(c.k_max));
  }
  if (!(std::isfinite(c.length_scale) && c.length_scale >= schema.length_scale_min &&
        c.length_scale <= schema.length_scale_max)) {
    fail(E::bad_length_scale, "length_scale",
         "is " + fmt(c.length_scale) + "; it must be in [" + fmt(schema.length_scale_min) + ", " +
             fmt(schema.length_scale_max) + "] (> 1 slower)");
  }
}

std::vector<int> emomix_phases(const double* tau, int steps, double k_max, double k_min) {
  std::vector<int> phases(static_cast<std::size_t>(steps));
  for (int k = 0; k < steps; ++k) {
    phases[k] = tau[k] > k_max + kBoundaryEps ? 0 : (tau[k] >= k_min - kBoundaryEps ? 1 : 2);
  }
  return phases;
}

std::vector<double> emomix_weights(const std::vector<double>& mix_in, int steps, double k_max,
                                   double k_min) {
  const std::vector<double> w = as_mix(mix_in);
  const std::size_t M = w.size();
  std::vector<double> tau(static_cast<std::size_t>(steps) + 1);
  time_grid(steps, tau.data());
  const std::vector<int> phases = emomix_phases(tau.data(), steps, k_max, k_min);
  const std::size_t base =
      static_cast<std::size_t>(std::max_element(w.begin(), w.end()) - w.begin());
  std::vector<double> only_base(M, 0.0), rest = w;
  only_base[base] = 1.0;
  rest[base] = 0.0;
  double rest_sum = 0.0;
  for (double v : rest) rest_sum += v;
  std::vector<double> mixed_in = only_base;
  if (rest_sum > 0) {
    for (std::size_t i = 0; i < M; ++i) mixed_in[i] = rest[i] / rest_sum;
  }
  std::vector<double> W(static_cast<std::size_t>(steps) * M);
  for (int k = 0; k < steps; ++k) {
    const std::vector<double>& row = phases[k] == 0 ? only_base : phases[k] == 1 ? w : mixed_in;
    std::copy(row.begin(), row.end(), W.begin() + static_cast<std::ptrdiff_t>(k * M));
  }
  return W;
}

std::vector<double> emomix_frame_weights(const std::vector<double>& wf, int conditions,
                                         int frames, int steps, double k_max, double k_min) {
  const std::size_t M = static_cast<std::size_t>(conditions), F = static_cast<std::size_t>(frames);
  std::vector<double> tau(static_cast<std::size_t>(steps) + 1);
  time_grid(steps, tau.data());
  const std::vector<int> phases = emomix_phases(tau.data(), steps, k_max, k_min);
  std::vector<double> only_base(M * F, 0.0), mixed_in(M * F, 0.0);
  for (std::size_t f = 0; f < F; ++f) {
    std::size_t base = 0;
    for (std::size_t i = 1; i < M; ++i) {
      if (wf[i * F + f] > wf[base * F + f]) base = i;
    }
    only_base[base * F + f] = 1.0;
    double rest_sum = 0.0;
    for (std::size_t i = 0; i < M; ++i) rest_sum += i == base ? 0.0 : wf[i * F + f];
    for (std::size_t i = 0; i < M; ++i) {
      const double rest = i == base ? 0.0 : wf[i * F + f];
      mixed_in[i * F + f] = rest_sum > 0 ? rest / rest_sum : only_base[i * F + f];
    }
  }
  std::vector<double> W(static_cast<std::size_t>(steps) * M * F);
  for (int k = 0; k < steps; ++k) {
    const std::vector<double>& src = phases[k] == 0 ? only_base : phases[k] == 1 ? wf : mixed_in;
    std::copy(src.begin(), src.end(), W.begin() + static_cast<std::ptrdiff_t>(k * M * F));
  }
  return W;
}

std::vector<double> keyframes_to_frames(const std::vector<double>& positions,
                                        const std::vector<double>& values, int conditions,
                                        int frames) {
  const std::size_t K = positions.size(), M = static_cast<std::size_t>(conditions),
                    F = static_cast<std::size_t>(frames);
  std::vector<double> out(M * F);
  for (std::size_t f = 0; f < F; ++f) {
    const double x = (static_cast<double>(f) + 0.5) / static_cast<double>(frames);
    // numpy.interp: the last j with xp[j] <= x; clamped at both ends
    const std::size_t j = static_cast<std::size_t>(
        std::upper_bound(positions.begin(), positions.end(), x) - positions.begin());
    for (std::size_t i = 0; i < M; ++i) {
      double v;
      if (j == 0) {
        v = values[i];
      } else if (j >= K) {
        v = values[(K - 1) * M + i];
      } else {
        const double x0 = positions[j - 1], x1 = positions[j];
        const double y0 = values[(j - 1) * M + i], y1 = values[j * M + i];
        const double slope = (y1 - y0) / (x1 - x0);
        v = slope * (x - x0) + y0;
      }
      out[i * F + f] = v;
    }
  }
  for (std::size_t f = 0; f < F; ++f) {
    double total = 0.0;
    for (std::size_t i = 0; i < M; ++i) total += out[i * F + f];
    for (std::size_t i = 0; i < M; ++i) out[i * F + f] /= total;
  }
  return out;
}

GenerationPlan plan_generation(const VoiceInfo& voice, const float* speaker_table,
                               int speaker_dim, const GenerationConfig& c) {
  validate_generation_config(c, voice);
  GenerationPlan p;
  const std::vector<std::string> names = emotion_names(voice);
  const NormalisedMix mix = normalise_weights(c.emotions, c.n_emotions, kGenerationMaxEmotions, names,
                                      "emotions", GenerationErrorCode::unknown_emotion, "emotion");
  std::vector<NormalisedMix> keys;
  for (std::uint32_t k = 0; k < c.n_keyframes; ++k) {
    keys.push_back(normalise_weights(c.keyframes[k].emotions, c.keyframes[k].n_emotions,
                             kGenerationMaxEmotions, names, "keyframes",
                             GenerationErrorCode::unknown_emotion, "emotion"));
  }
  const NormalisedMix& line_mix = keys.empty() ? mix : keys[0];
  p.alpha = std::min(std::max(c.intensity, 0.0), kAlphaMax);
  p.guide = p.alpha * c.emotion_scale;
  p.preset = static_cast<Preset>(c.preset);

  // conditions: the emotions used anywhere, in the voice's order, then neutral when needed
  std::vector<bool> used(names.size(), false);
  for (const auto& [i, w] : line_mix) used[i] = true;
  for (const auto& key : keys) {
    for (const auto& [i, w] : key) used[i] = true;
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (used[i]) p.conditions.push_back(static_cast<int>(i));
  }
  const int neutral_emotion = voice_emotion(voice, "neutral");
  const bool needs_neutral = p.guide != 1.0 || p.preset == Preset::intensity;
  if (needs_neutral && !used[static_cast<std::size_t>(neutral_emotion)]) {
    p.conditions.push_back(neutral_emotion);
  }
  for (std::size_t m = 0; m < p.conditions.size(); ++m) {
    if (p.conditions[m] == neutral_emotion) p.neutral = static_cast<int>(m);
  }
  const std::size_t M = p.conditions.size();
  const std::size_t E = static_cast<std::size_t>(voice.emotion_dim);
  auto over_conditions = [&](const NormalisedMix& m) {
    std::vector<double> w(M, 0.0);
    for (std::size_t j = 0; j < M; ++j) {
      for (const auto& [i, v] : m) {
        if (i == p.conditions[j]) w[j] = v;
      }
    }
    return w;
  };
  p.mix = over_conditions(line_mix);
  p.emotions.resize(M * E);
  for (std::size_t m = 0; m < M; ++m) {
    const auto& emb = voice.emotions[static_cast<std::size_t>(p.conditions[m])].embedding;
    std::copy(emb.begin(), emb.end(), p.emotions.begin() + static_cast<std::ptrdiff_t>(m * E));
  }
  const auto& neutral_emb = voice.emotions[static_cast<std::size_t>(neutral_emotion)].embedding;
  p.enc_emotion.resize(E);
  for (std::size_t e = 0; e < E; ++e) {
    double dot = 0.0;
    for (std::size_t m = 0; m < M; ++m) {
      dot += p.mix[m] * static_cast<double>(p.emotions[m * E + e]);
    }
    p.enc_emotion[e] = static_cast<float>(p.alpha * dot +
                                          (1.0 - p.alpha) * static_cast<double>(neutral_emb[e]));
  }

  const NormalisedMix speakers = normalise_weights(c.speakers, c.n_speakers, kGenerationMaxSpeakers,
                                           voice.speakers, "speakers",
                                           GenerationErrorCode::unknown_speaker, "speaker");
  const std::size_t S = static_cast<std::size_t>(speaker_dim);
  p.speaker.resize(S);
  for (std::size_t s = 0; s < S; ++s) {
    double acc = 0.0;
    for (const auto& [id, w] : speakers) {
      acc += w * static_cast<double>(speaker_table[static_cast<std::size_t>(id) * S + s]);
    }
    p.speaker[s] = static_cast<float>(acc);
  }

  p.steps = c.steps;
  p.k_max = c.k_max;
  p.k_min = c.k_min;
  p.sampler.parameterisation = voice.parameterisation;
  p.sampler.solver = static_cast<Solver>(c.solver);
  p.sampler.temperature = c.temperature;
  p.sampler.beta_min = voice.has_beta_min ? voice.beta_min : SamplerConfig{}.beta_min;
  p.sampler.beta_max = voice.has_beta_max ? voice.beta_max : SamplerConfig{}.beta_max;
  validate_config(p.sampler);

  for (std::size_t k = 0; k < keys.size(); ++k) {
    p.key_positions.push_back(c.keyframes[k].position);
    const std::vector<double> w = over_conditions(keys[k]);
    p.key_values.insert(p.key_values.end(), w.begin(), w.end());
  }
  if (keys.empty()) p.weights = schedule_weights(p, 0);
  return p;
}

std::vector<float> schedule_weights(const GenerationPlan& p, int frames) {
  const std::size_t N = static_cast<std::size_t>(p.steps), M = p.conditions.size();
  const bool per_frame = !p.key_positions.empty();
  if (per_frame && frames < 1) {
    throw InvalidArgument("a trajectory's weights need the line's frames (>= 1), got " +
                          std::to_string(frames));
  }
  std::vector<double> W;
  double a = p.guide;
  if (p.preset == Preset::intensity) {
    // emomix.sampler.weights.intensity: (1 - a, a) on neutral and the target, a clamped
    a = std::min(std::max(a, 0.0), kAlphaMax);
    W.assign(N * M, 0.0);
    std::size_t target = 0;
    for (std::size_t m = 0; m < M; ++m) {
      if (static_cast<int>(m) != p.neutral && p.mix[m] > 0) target = m;
    }
    for (std::size_t k = 0; k < N; ++k) {
      W[k * M + static_cast<std::size_t>(p.neutral)] =
          static_cast<double>(static_cast<float>(1.0 - a));
      W[k * M + target] = static_cast<double>(static_cast<float>(a));
    }
    return std::vector<float>(W.begin(), W.end());
  }
  if (per_frame) {
    return schedule_mix(
        keyframes_to_frames(p.key_positions, p.key_values, static_cast<int>(M), frames),
        static_cast<int>(M), frames, p.steps, p.preset, p.k_max, p.k_min, {a}, p.neutral);
  }
  return schedule_mix(p.mix, static_cast<int>(M), 0, p.steps, p.preset, p.k_max, p.k_min, {a},
                      p.neutral);
}

void check_line_phonemes(std::size_t phonemes) {
  if (phonemes <= static_cast<std::size_t>(kMaxTextPhonemes)) return;
  text::TextError e(text::TextError::Kind::kTooLong,
                    "text is " + std::to_string(phonemes) + " phonemes long (limit " +
                        std::to_string(kMaxTextPhonemes) +
                        "); split it into sentences (text::split_sentences)");
  e.length = phonemes;
  e.limit = static_cast<std::size_t>(kMaxTextPhonemes);
  throw e;
}

std::vector<float> schedule_mix(const std::vector<double>& w, int conditions, int frames,
                                int steps, Preset preset, double k_max, double k_min,
                                const std::vector<double>& alpha, int neutral) {
  if (preset == Preset::intensity) {
    throw InvalidArgument("schedule_mix: the intensity preset takes one emotion against neutral "
                          "(plan_generation); use emomix or blend");
  }
  const std::size_t N = static_cast<std::size_t>(steps), M = static_cast<std::size_t>(conditions);
  const bool per_frame = frames > 0;
  const std::size_t F = per_frame ? static_cast<std::size_t>(frames) : 1;
  std::vector<double> W;
  if (per_frame) {
    if (preset == Preset::emomix) {
      W = emomix_frame_weights(w, conditions, frames, steps, k_max, k_min);
    } else {
      W.resize(N * M * F);
      for (std::size_t k = 0; k < N; ++k) {
        std::copy(w.begin(), w.end(), W.begin() + static_cast<std::ptrdiff_t>(k * M * F));
      }
    }
  } else if (preset == Preset::emomix) {
    // emomix.sampler.weights.emomix rounds its W to float32
    W = emomix_weights(w, steps, k_max, k_min);
    for (double& v : W) v = static_cast<double>(static_cast<float>(v));
  } else {
    // emomix.sampler.weights.blend: the (renormalised) mix, rounded to float32, at every step
    const std::vector<double> mix = as_mix(w);
    W.resize(N * M);
    for (std::size_t k = 0; k < N; ++k) {
      for (std::size_t m = 0; m < M; ++m) {
        W[k * M + m] = static_cast<double>(static_cast<float>(mix[m]));
      }
    }
  }
  bool all_one = true;
  for (double a : alpha) all_one = all_one && a == 1.0;
  if (!all_one) {
    if (neutral < 0) throw InvalidArgument("intensity != 1 needs a neutral condition");
    for (std::size_t k = 0; k < N; ++k) {
      for (std::size_t m = 0; m < M; ++m) {
        const double hot = static_cast<int>(m) == neutral ? 1.0 : 0.0;
        for (std::size_t f = 0; f < F; ++f) {
          const double a = alpha.size() == 1 ? alpha[0] : alpha[f];
          double& v = W[(k * M + m) * F + f];
          v = a * v + (1.0 - a) * hot;
        }
      }
    }
  }
  return std::vector<float>(W.begin(), W.end());
}

SynthesisOutput Session::synthesize_text(std::string_view text_utf8,
                                         const GenerationConfig& config) {
  const VoiceInfo& voice = model_->voice();
  const ModelConfig& cfg = model_->config();
  const GenerationPlan plan = plan_generation(voice, model_->speaker_table(), cfg.speaker_dim,
                                              config);
  const text::TextIds ids =
      text::text_to_ids(text::decode_utf8(text_utf8), model_->symbol_table(), voice.language);
  check_line_phonemes(ids.ids.size());
  const int phonemes = static_cast<int>(ids.ids.size());
  SynthesisOutput r;
  encode(ids.ids.data(), phonemes, plan.enc_emotion.data(), plan.speaker.data(),
         config.length_scale, r.mu, r.durations);
  const int C = cfg.audio.n_mels;
  r.frames = static_cast<int>(r.mu.size() / static_cast<std::size_t>(C));
  const std::vector<float> W =
      plan.key_positions.empty() ? plan.weights : schedule_weights(plan, r.frames);
  WeightsView view;
  view.data = W.data();
  view.steps = plan.steps;
  view.conditions = static_cast<int>(plan.conditions.size());
  view.frames = plan.key_positions.empty() ? 0 : r.frames;
  const std::size_t M = plan.conditions.size(), S = plan.speaker.size();
  std::vector<float> speakers(M * S);
  for (std::size_t m = 0; m < M; ++m) {
    std::copy(plan.speaker.begin(), plan.speaker.end(),
              speakers.begin() + static_cast<std::ptrdiff_t>(m * S));
  }
  finish_line(phonemes, view, plan.emotions.data(), speakers.data(), plan.sampler,
              config.seed, r);
  return r;
}

}  // namespace emomix
