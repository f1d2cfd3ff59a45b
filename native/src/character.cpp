#include "emomix/character.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>

#include "emomix/harmonics.hpp"
#include "emomix/rng.hpp"
#include "emomix/text.hpp"

namespace emomix {

namespace {

constexpr int kVaNeighbours = 3;  // emomix.state.VA_NEIGHBOURS

void check_intensity(double intensity) {
  if (!std::isfinite(intensity) || intensity < 0.0 || intensity > kAlphaMax) {
    throw InvalidArgument("intensity is " + std::to_string(intensity) + "; it must be in [0, " +
                          std::to_string(kAlphaMax).substr(0, 3) +
                          "] (0 neutral, 1 the mix, up to 1.5 exaggerated; further out the audio "
                          "degrades)");
  }
}

}  // namespace

double apply_curve(Curve curve, double u) noexcept {
  switch (curve) {
    case Curve::linear: return u;
    case Curve::ease: return u * u * (3.0 - 2.0 * u);
    case Curve::ease_in: return u * u;
    case Curve::ease_out: return 1.0 - (1.0 - u) * (1.0 - u);
    case Curve::step: return u >= 1.0 ? 1.0 : 0.0;
  }
  return u;
}

Curve parse_curve(const std::string& name) {
  if (name == "linear") return Curve::linear;
  if (name == "ease") return Curve::ease;
  if (name == "ease_in") return Curve::ease_in;
  if (name == "ease_out") return Curve::ease_out;
  if (name == "step") return Curve::step;
  throw InvalidArgument("unknown curve '" + name +
                        "'; choose one of linear, ease, ease_in, ease_out, step");
}

std::vector<double> valence_arousal_weights(double valence, double arousal,
                                            const std::vector<std::array<double, 2>>& coords) {
  const double va[2] = {valence, arousal};
  const char* what[2] = {"valence", "arousal"};
  for (int i = 0; i < 2; ++i) {
    if (!std::isfinite(va[i]) || va[i] < -1.0 || va[i] > 1.0) {
      throw InvalidArgument(std::string(what[i]) + " is " + std::to_string(va[i]) +
                            "; valence and arousal are finite numbers in [-1, 1]");
    }
  }
  const std::size_t n = coords.size();
  if (n == 0) throw InvalidArgument("no emotion of this voice has valence/arousal coordinates");
  std::vector<double> d2(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double dv = coords[i][0] - valence, da = coords[i][1] - arousal;
    d2[i] = dv * dv + da * da;
  }
  std::vector<double> w(n, 0.0);
  const std::size_t nearest =
      static_cast<std::size_t>(std::min_element(d2.begin(), d2.end()) - d2.begin());
  if (d2[nearest] < 1e-12) {
    w[nearest] = 1.0;
    return w;
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return d2[a] < d2[b]; });
  std::vector<double> inv(n);
  for (std::size_t i = 0; i < n; ++i) inv[i] = 1.0 / d2[i];
  if (n > static_cast<std::size_t>(kVaNeighbours)) {
    const double cut = inv[order[kVaNeighbours]];
    for (std::size_t i = 0; i < n; ++i) inv[i] = std::max(inv[i] - cut, 0.0);
    for (std::size_t j = kVaNeighbours; j < n; ++j) inv[order[j]] = 0.0;
  }
  // numpy's sum of a short vector: left to right
  double total = 0.0;
  for (double v : inv) total += v;
  for (std::size_t i = 0; i < n; ++i) w[i] = inv[i] / total;
  return w;
}

// --- EmotionState --------------------------------------------------------------------------------

EmotionState::EmotionState(const VoiceInfo& voice) {
  for (const auto& e : voice.emotions) {
    names_.push_back(e.name);
    coords_.push_back({e.vad[0], e.vad[1]});
  }
  const auto it = std::find(names_.begin(), names_.end(), "neutral");
  if (it == names_.end()) throw InvalidArgument("the voice has no 'neutral' emotion");
  value_.w.assign(names_.size(), 0.0);
  value_.w[static_cast<std::size_t>(it - names_.begin())] = 1.0;
}

double EmotionState::Transition::progress(double t) const noexcept {
  if (seconds <= 0) return t >= t0 ? 1.0 : 0.0;
  const double u = std::min(std::max((t - t0) / seconds, 0.0), 1.0);
  return apply_curve(curve, u);
}

EmotionState::Value EmotionState::value_locked(double t) const {
  if (!has_transition_) return value_;
  const Transition& tr = transition_;
  const double c = tr.progress(t);
  Value v;
  v.w.resize(names_.size());
  for (std::size_t i = 0; i < names_.size(); ++i) {
    const double w = (1 - c) * tr.start.w[i] + c * tr.end.w[i];
    v.w[i] = w > 0 ? w : 0.0;
  }
  v.intensity = (1 - c) * tr.start.intensity + c * tr.end.intensity;
  return v;
}

std::pair<std::vector<double>, double> EmotionState::value_at(double t) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Value v = value_locked(t);
  return {std::move(v.w), v.intensity};
}

bool EmotionState::transitioning(double now) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return has_transition_ && now < transition_.t0 + transition_.seconds;
}

void EmotionState::set(const NormalisedMix& mix, double now) {
  std::lock_guard<std::mutex> lock(mutex_);
  Value v;
  v.w.assign(names_.size(), 0.0);
  for (const auto& [i, w] : mix) v.w[static_cast<std::size_t>(i)] = w;
  v.intensity = value_locked(now).intensity;
  value_ = std::move(v);
  has_transition_ = false;
}

void EmotionState::set_intensity(double intensity, double now) {
  check_intensity(intensity);
  std::lock_guard<std::mutex> lock(mutex_);
  Value v = value_locked(now);
  v.intensity = intensity;
  value_ = std::move(v);
  has_transition_ = false;
}

void EmotionState::set_valence_arousal(double valence, double arousal, double now) {
  const std::vector<double> w = valence_arousal_weights(valence, arousal, coords_);
  // EmotionState.set normalises the mix again (normalise_mix), in the order of the weights
  // valence_arousal_weights returns: nearest first.
  std::vector<std::size_t> order(w.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<double> d2(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) {
    const double dv = coords_[i][0] - valence, da = coords_[i][1] - arousal;
    d2[i] = dv * dv + da * da;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return d2[a] < d2[b]; });
  double total = 0.0;
  for (std::size_t i : order) {
    if (w[i] > 0) total += w[i];
  }
  NormalisedMix mix;
  for (std::size_t i : order) {
    if (w[i] > 0 && w[i] / total > 0) mix.emplace_back(static_cast<int>(i), w[i] / total);
  }
  set(mix, now);
}

void EmotionState::transition_to(const NormalisedMix& target, double intensity, double seconds,
                                 Curve curve, double now) {
  if (!std::isfinite(seconds) || seconds < 0) {
    throw InvalidArgument("seconds is " + std::to_string(seconds) +
                          "; a transition lasts a finite time >= 0");
  }
  if (static_cast<int>(curve) < 0 || static_cast<int>(curve) > static_cast<int>(Curve::step)) {
    throw InvalidArgument("unknown curve " + std::to_string(static_cast<int>(curve)) +
                          "; use linear (0), ease (1), ease_in (2), ease_out (3) or step (4)");
  }
  const bool keep = intensity < 0;
  if (!keep) check_intensity(intensity);
  std::lock_guard<std::mutex> lock(mutex_);
  Value start = value_locked(now);
  Value end;
  end.w.assign(names_.size(), 0.0);
  for (const auto& [i, w] : target) end.w[static_cast<std::size_t>(i)] = w;
  end.intensity = keep ? start.intensity : intensity;
  if (seconds == 0) {
    value_ = std::move(end);
    has_transition_ = false;
    return;
  }
  value_ = start;
  transition_ = Transition{std::move(start), std::move(end), now, seconds, curve};
  has_transition_ = true;
}

void EmotionState::frames(const double* times, int n, std::vector<int>& conditions,
                          std::vector<double>& w, std::vector<double>& alpha) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::size_t F = static_cast<std::size_t>(n), E = names_.size();
  conditions.clear();
  alpha.assign(F, value_.intensity);
  if (!has_transition_) {
    for (std::size_t i = 0; i < E; ++i) {
      if (value_.w[i] > 0) conditions.push_back(static_cast<int>(i));
    }
    w.resize(conditions.size() * F);
    for (std::size_t m = 0; m < conditions.size(); ++m) {
      std::fill_n(w.begin() + static_cast<std::ptrdiff_t>(m * F), F,
                  value_.w[static_cast<std::size_t>(conditions[m])]);
    }
    return;
  }
  const Transition& tr = transition_;
  std::vector<double> c(F);
  for (std::size_t f = 0; f < F; ++f) c[f] = tr.progress(times[f]);
  std::vector<double> all;  // [rows, F] for the emotions in start or end
  for (std::size_t i = 0; i < E; ++i) {
    if (!(tr.start.w[i] > 0 || tr.end.w[i] > 0)) continue;
    bool any = false;
    const std::size_t row = all.size();
    all.resize(row + F);
    for (std::size_t f = 0; f < F; ++f) {
      all[row + f] = (1.0 - c[f]) * tr.start.w[i] + c[f] * tr.end.w[i];
      any = any || all[row + f] > 0;
    }
    if (any) {
      conditions.push_back(static_cast<int>(i));
    } else {
      all.resize(row);
    }
  }
  const std::size_t M = conditions.size();
  w = std::move(all);
  for (std::size_t f = 0; f < F; ++f) {
    double total = 0.0;
    for (std::size_t m = 0; m < M; ++m) total += w[m * F + f];
    for (std::size_t m = 0; m < M; ++m) w[m * F + f] /= total;
    alpha[f] = (1.0 - c[f]) * tr.start.intensity + c[f] * tr.end.intensity;
  }
}

// --- Character -----------------------------------------------------------------------------------

void validate_line_options(const LineOptions& o) {
  auto positive = [](const char* name, int v, bool zero_ok) {
    if (v < (zero_ok ? 0 : 1)) {
      throw InvalidArgument(std::string(name) + " is " + std::to_string(v) + "; it must be >= " +
                            (zero_ok ? "0" : "1"));
    }
  };
  positive("first_block_frames", o.first_block_frames, false);
  positive("block_frames", o.block_frames, true);
  positive("context_frames", o.context_frames, true);
  positive("crossfade_frames", o.crossfade_frames, true);
  positive("vocoder_chunk_frames", o.vocoder_chunk_frames, false);
  if (o.crossfade_frames > o.context_frames) {
    throw InvalidArgument("crossfade_frames must be <= context_frames (the crossfade uses frames "
                          "sampled as context)");
  }
  if (o.block_frames > 0 &&
      o.crossfade_frames >= std::min(o.first_block_frames, o.block_frames)) {
    throw InvalidArgument("crossfade_frames must be smaller than every block");
  }
}

Character::Character(std::shared_ptr<const Model> model, int threads, const LineOptions& options)
    : model_(std::move(model)), threads_(threads), options_(options),
      emotion_(model_->voice()) {
  if (threads < 1) throw InvalidArgument("threads must be >= 1, got " + std::to_string(threads));
  validate_line_options(options);
  const VoiceInfo& voice = model_->voice();
  set_speakers({{voice.default_speaker_id, 1.0}});
}

void Character::set_speakers(const NormalisedMix& speakers) {
  const std::size_t S = static_cast<std::size_t>(model_->config().speaker_dim);
  const float* table = model_->speaker_table();
  std::vector<float> v(S);
  for (std::size_t s = 0; s < S; ++s) {
    double acc = 0.0;
    for (const auto& [id, w] : speakers) {
      acc += w * static_cast<double>(table[static_cast<std::size_t>(id) * S + s]);
    }
    v[s] = static_cast<float>(acc);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  speaker_ = std::move(v);
}

std::vector<float> Character::speaker_vector() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return speaker_;
}

double Character::time() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return clock_;
}

void Character::advance(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) {
    throw InvalidArgument("advance: seconds is " + std::to_string(seconds) +
                          "; the clock only moves forward by a finite amount >= 0");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  clock_ += seconds;
}

void Character::advance_to(double t) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  clock_ = std::max(clock_, t);
}

std::unique_ptr<Session> Character::acquire_session() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!sessions_.empty()) {
      std::unique_ptr<Session> s = std::move(sessions_.back());
      sessions_.pop_back();
      return s;
    }
  }
  return std::make_unique<Session>(model_, threads_);
}

void Character::release_session(std::unique_ptr<Session> session) noexcept {
  if (!session) return;
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    sessions_.push_back(std::move(session));
  } catch (...) {
    // out of memory: the session is dropped instead of pooled
  }
}

// --- CharacterLine -------------------------------------------------------------------------------

CharacterLine::CharacterLine(std::shared_ptr<Character> character, std::string_view text,
                             const GenerationConfig& config)
    : character_(std::move(character)) {
  const Model& model = character_->model();
  const VoiceInfo& voice = model.voice();
  const ModelConfig& cfg = model.config();
  // The config's sampler settings, through the one plan of the generation config.
  spec_ = plan_generation(voice, model.speaker_table(), cfg.speaker_dim, config);
  preset_ = static_cast<Preset>(config.preset);
  if (preset_ == Preset::intensity) {
    throw GenerationConfigError(GenerationErrorCode::bad_preset, "preset",
                                "a character's lines use the emomix or blend preset (its "
                                "emotion state sets the intensity)");
  }
  emotion_scale_ = config.emotion_scale;
  seed_ = config.seed;

  ids_ = text::text_to_ids(text::decode_utf8(text), model.symbol_table(), voice.language).ids;
  check_line_phonemes(ids_.size());
  const int T = static_cast<int>(ids_.size());

  session_ = character_->acquire_session();
  t0_ = character_->time();
  speaker_ = character_->speaker_vector();

  // 1. the encoder's emotion: the state at t0
  std::vector<int> conds;
  std::vector<double> w, alpha;
  character_->emotion().frames(&t0_, 1, conds, w, alpha);
  const double a = std::min(std::max(alpha[0], 0.0), kAlphaMax);
  const std::size_t E = static_cast<std::size_t>(cfg.emotion_dim);
  const auto& neutral = voice.emotion("neutral")->embedding;
  std::vector<float> enc(E);
  for (std::size_t e = 0; e < E; ++e) {
    double dot = 0.0;
    for (std::size_t m = 0; m < conds.size(); ++m) {
      dot += w[m] * static_cast<double>(
                        voice.emotions[static_cast<std::size_t>(conds[m])].embedding[e]);
    }
    enc[e] = static_cast<float>(a * dot + (1 - a) * static_cast<double>(neutral[e]));
  }
  session_->encode(ids_.data(), T, enc.data(), speaker_.data(), config.length_scale, mu_,
                   durations_);
  const int C = cfg.audio.n_mels;
  frames_ = static_cast<int>(mu_.size() / static_cast<std::size_t>(C));
  const double fps = static_cast<double>(cfg.audio.sample_rate) / cfg.audio.hop_length;
  times_.resize(static_cast<std::size_t>(frames_));
  for (int f = 0; f < frames_; ++f) times_[static_cast<std::size_t>(f)] = t0_ + (f + 0.5) / fps;
  mel_.assign(mu_.size(), 0.0f);
  total_samples_ = static_cast<std::size_t>(frames_) * static_cast<std::size_t>(cfg.audio.hop_length);

  // 2. the blocks (Character._LineRenderer.plan)
  const LineOptions& o = character_->options();
  const int n = frames_;
  if (o.block_frames == 0 || n <= o.first_block_frames + o.block_frames / 2) {
    blocks_.emplace_back(0, n);
  } else {
    int start = 0, size = o.first_block_frames;
    while (start < n) {
      int end = std::min(n, start + size);
      if (n - end < o.block_frames / 2) end = n;
      blocks_.emplace_back(start, end);
      start = end;
      size = o.block_frames;
    }
  }
  if (blocks_.size() > 1) {
    // the line's noise, sliced per block (Voice.make_noise): the planes the solver reads, the
    // others zero
    const std::size_t per = static_cast<std::size_t>(C) * static_cast<std::size_t>(frames_);
    noise_.assign(static_cast<std::size_t>(spec_.steps + 1) * per, 0.0f);
    for (int k = 0; k < noise_planes(); ++k) {
      fill_line_noise(seed_, static_cast<std::uint64_t>(k), C, frames_, durations_.data(), T,
                      noise_.data() + static_cast<std::size_t>(k) * per);
    }
  }
  vocoder_ = std::make_unique<VocoderStream>(character_->model_ptr());
  chunk_frames_ = o.vocoder_chunk_frames;
}

CharacterLine::~CharacterLine() { character_->release_session(std::move(session_)); }

const float* CharacterLine::pitch_rows(const std::vector<int>& conds) {
  const Model& model = character_->model();
  const VoiceInfo& voice = model.voice();
  const std::size_t T = ids_.size(), E = static_cast<std::size_t>(voice.emotion_dim),
                    S = speaker_.size();
  std::vector<int> missing;
  for (int c : conds) {
    if (std::find(pitch_conditions_.begin(), pitch_conditions_.end(), c) ==
        pitch_conditions_.end()) {
      missing.push_back(c);
    }
  }
  if (!missing.empty()) {
    // the new conditions in one batch, as Character._pitch does
    std::vector<float> emb(missing.size() * E), spk(missing.size() * S);
    for (std::size_t m = 0; m < missing.size(); ++m) {
      const auto& e = voice.emotions[static_cast<std::size_t>(missing[m])].embedding;
      std::copy(e.begin(), e.end(), emb.begin() + static_cast<std::ptrdiff_t>(m * E));
      std::copy(speaker_.begin(), speaker_.end(), spk.begin() + static_cast<std::ptrdiff_t>(m * S));
    }
    const std::size_t at = pitch_cache_.size();
    pitch_cache_.resize(at + missing.size() * 2 * T);
    session_->pitch(ids_.data(), static_cast<int>(T), emb.data(), spk.data(),
                    static_cast<int>(missing.size()), pitch_cache_.data() + at);
    pitch_conditions_.insert(pitch_conditions_.end(), missing.begin(), missing.end());
  }
  pitch_gather_.resize(conds.size() * 2 * T);
  for (std::size_t m = 0; m < conds.size(); ++m) {
    const std::size_t j = static_cast<std::size_t>(
        std::find(pitch_conditions_.begin(), pitch_conditions_.end(), conds[m]) -
        pitch_conditions_.begin());
    std::copy_n(pitch_cache_.begin() + static_cast<std::ptrdiff_t>(j * 2 * T), 2 * T,
                pitch_gather_.begin() + static_cast<std::ptrdiff_t>(m * 2 * T));
  }
  return pitch_gather_.data();
}

void CharacterLine::make_block() {
  const Model& model = character_->model();
  const VoiceInfo& voice = model.voice();
  const ModelConfig& cfg = model.config();
  const LineOptions& o = character_->options();
  const std::size_t C = static_cast<std::size_t>(cfg.audio.n_mels);
  const std::size_t F = static_cast<std::size_t>(frames_);
  const auto [start, end] = blocks_[next_block_];
  const bool whole = blocks_.size() == 1;
  const int ctx = whole ? 0 : o.context_frames, xf = whole ? 0 : o.crossfade_frames;
  const int lo = std::max(0, start - ctx), hi = std::min(frames_, end + ctx);
  const std::size_t B = static_cast<std::size_t>(hi - lo);

  // the state at the times these frames will be heard (Character._weights)
  std::vector<int> conds;
  std::vector<double> w, alpha;
  character_->emotion().frames(times_.data() + lo, hi - lo, conds, w, alpha);
  for (double& a : alpha) a = std::min(std::max(a, 0.0), kAlphaMax) * emotion_scale_;
  const int neutral_emotion =
      static_cast<int>(voice.emotion("neutral") - voice.emotions.data());
  bool alpha_one = true;
  for (double a : alpha) alpha_one = alpha_one && a == 1.0;
  if (!alpha_one && std::find(conds.begin(), conds.end(), neutral_emotion) == conds.end()) {
    conds.push_back(neutral_emotion);  // weight 0 in the mix; schedule_mix puts 1 - a on it
    w.resize(w.size() + B, 0.0);
  }
  const int M = static_cast<int>(conds.size());
  int neutral = -1;
  for (int m = 0; m < M; ++m) {
    if (conds[static_cast<std::size_t>(m)] == neutral_emotion) neutral = m;
  }
  bool constant = true;
  for (std::size_t m = 0; m < static_cast<std::size_t>(M) && constant; ++m) {
    for (std::size_t f = 1; f < B; ++f) {
      if (w[m * B + f] != w[m * B]) {
        constant = false;
        break;
      }
    }
  }
  for (std::size_t f = 1; f < B && constant; ++f) constant = alpha[f] == alpha[0];
  std::vector<float> W;
  WeightsView view;
  view.steps = spec_.steps;
  view.conditions = M;
  if (constant) {
    std::vector<double> w0(static_cast<std::size_t>(M));
    for (std::size_t m = 0; m < w0.size(); ++m) w0[m] = w[m * B];
    W = schedule_mix(w0, M, 0, spec_.steps, preset_, spec_.k_max, spec_.k_min, {alpha[0]},
                     neutral);
  } else {
    W = schedule_mix(w, M, static_cast<int>(B), spec_.steps, preset_, spec_.k_max, spec_.k_min,
                     alpha, neutral);
    view.frames = static_cast<int>(B);
  }
  view.data = W.data();

  const std::size_t E = static_cast<std::size_t>(voice.emotion_dim), S = speaker_.size();
  std::vector<float> emb(static_cast<std::size_t>(M) * E), spk(static_cast<std::size_t>(M) * S);
  for (std::size_t m = 0; m < static_cast<std::size_t>(M); ++m) {
    const auto& e = voice.emotions[static_cast<std::size_t>(conds[m])].embedding;
    std::copy(e.begin(), e.end(), emb.begin() + static_cast<std::ptrdiff_t>(m * E));
    std::copy(speaker_.begin(), speaker_.end(), spk.begin() + static_cast<std::ptrdiff_t>(m * S));
  }

  // sample the block: mu, noise and the block's mel are [C, B]
  std::vector<float> mu(C * B), mel(C * B);
  for (std::size_t c = 0; c < C; ++c) {
    std::copy_n(mu_.begin() + static_cast<std::ptrdiff_t>(c * F + static_cast<std::size_t>(lo)),
                B, mu.begin() + static_cast<std::ptrdiff_t>(c * B));
  }
  const int T = static_cast<int>(ids_.size());
  if (whole) {
    session_->sample(mu.data(), static_cast<int>(B), view, emb.data(), spk.data(), spec_.sampler,
                     seed_, mel.data(), durations_.data(), T);
  } else {
    const std::size_t steps = static_cast<std::size_t>(spec_.steps) + 1;
    std::vector<float> noise(steps * C * B);
    for (std::size_t k = 0; k < static_cast<std::size_t>(noise_planes()); ++k) {
      for (std::size_t c = 0; c < C; ++c) {
        std::copy_n(noise_.begin() + static_cast<std::ptrdiff_t>((k * C + c) * F +
                                                                 static_cast<std::size_t>(lo)),
                    B, noise.begin() + static_cast<std::ptrdiff_t>((k * C + c) * B));
      }
    }
    session_->sample(mu.data(), static_cast<int>(B), view, emb.data(), spk.data(), spec_.sampler,
                     seed_, mel.data(), nullptr, 0, noise.data());
  }

  // the harmonics of the line's pitch over the block's frames (Voice.render_pitch)
  if (model.has_pitch()) {
    const float* pitch = pitch_rows(conds);
    // the phonemes' frames clipped to [lo, hi): frame_pitch sees the block as a line
    std::vector<std::int64_t> clipped(static_cast<std::size_t>(T));
    std::int64_t at = 0;
    for (int p = 0; p < T; ++p) {
      const std::int64_t a = std::max<std::int64_t>(at, lo);
      const std::int64_t b = std::min<std::int64_t>(at + durations_[static_cast<std::size_t>(p)], hi);
      clipped[static_cast<std::size_t>(p)] = std::max<std::int64_t>(0, b - a);
      at += durations_[static_cast<std::size_t>(p)];
    }
    std::vector<double> f0(B), voicing(B);
    HarmonicsWorkspace ws;
    frame_pitch(pitch, M, T, clipped.data(), view.row(view.steps - 1, 0), view.per_frame(),
                static_cast<int>(B), cfg.pitch, ws, f0.data(), voicing.data());
    render_harmonics(mel.data(), static_cast<int>(B), f0.data(), voicing.data(), cfg.audio,
                     cfg.pitch, model.mel_filterbank(), ws, mel.data());
  }

  // crossfade with the previous block's overhang, commit [start, end), keep the new overhang
  const int seg_end = std::min(hi, end + xf);  // segment [start, seg_end) in line frames
  const std::size_t off = static_cast<std::size_t>(start - lo);
  const std::size_t seg = static_cast<std::size_t>(seg_end - start);
  const std::size_t keep = static_cast<std::size_t>(end - start);
  if (!tail_.empty() && xf > 0) {
    const std::size_t X = static_cast<std::size_t>(xf);
    const std::size_t tail_len = tail_.size() / C;
    for (std::size_t c = 0; c < C; ++c) {
      for (std::size_t j = 0; j < X && j < tail_len && j < seg; ++j) {
        const float r = static_cast<float>((static_cast<double>(j) + 0.5) / xf);
        float& v = mel[c * B + off + j];
        v = (1.0f - r) * tail_[c * tail_len + j] + r * v;
      }
    }
  }
  for (std::size_t c = 0; c < C; ++c) {
    std::copy_n(mel.begin() + static_cast<std::ptrdiff_t>(c * B + off), keep,
                mel_.begin() + static_cast<std::ptrdiff_t>(c * F + static_cast<std::size_t>(start)));
  }
  const std::size_t over = seg - keep;
  tail_.assign(C * over, 0.0f);
  for (std::size_t c = 0; c < C; ++c) {
    std::copy_n(mel.begin() + static_cast<std::ptrdiff_t>(c * B + off + keep), over,
                tail_.begin() + static_cast<std::ptrdiff_t>(c * over));
  }
  vocoder_->push(mel_.data() + start, end - start, frames_);
  ++next_block_;
  if (next_block_ == blocks_.size()) vocoder_->finish();
}

void CharacterLine::refill() {
  const int hop = character_->model().config().audio.hop_length;
  while (true) {
    if (vocoder_->ready() > 0) {
      const int want = std::min(chunk_frames_, vocoder_->ready());
      pending_.resize(static_cast<std::size_t>(want) * static_cast<std::size_t>(hop));
      const int got = session_->vocode_pull(*vocoder_, want, pending_.data());
      pending_.resize(static_cast<std::size_t>(got) * static_cast<std::size_t>(hop));
      require_finite_audio(pending_.data(), pending_.size(), character_->model());
      pending_at_ = 0;
      // fewer vocoder calls once playback has started (Character._stream); in 64 bits, since
      // vocoder_chunk_frames may be any positive int, then held to what an int can count
      const std::int64_t grown = std::min<std::int64_t>(
          2 * std::int64_t{chunk_frames_}, 4 * std::int64_t{character_->options().vocoder_chunk_frames});
      chunk_frames_ = static_cast<int>(std::min<std::int64_t>(grown, std::numeric_limits<int>::max()));
      if (got > 0) return;
    }
    if (next_block_ >= blocks_.size()) return;  // nothing more to make
    make_block();
  }
}

std::size_t CharacterLine::read(float* out, std::size_t max) {
  std::size_t written = 0;
  while (written < max && read_samples_ < total_samples_) {
    if (pending_at_ >= pending_.size()) {
      refill();
      if (pending_at_ >= pending_.size()) break;
    }
    const std::size_t n = std::min(max - written, pending_.size() - pending_at_);
    std::copy_n(pending_.data() + pending_at_, n, out + written);
    pending_at_ += n;
    written += n;
    read_samples_ += n;
  }
  const double sr = character_->model().config().audio.sample_rate;
  character_->advance_to(t0_ + static_cast<double>(read_samples_) / sr);
  return written;
}

}  // namespace emomix
