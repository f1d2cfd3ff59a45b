// emomix/character.hpp — emotion states, characters and their lines: the C++ implementation
// behind the C ABI's emx_character and emx_line (emomix.h), twin of emomix.state.EmotionState and
// emomix.character.Character (tests/test_capi_parity.py holds them equal).
//
// EmotionState: normalised weights over the voice's emotions, an intensity in [0, kAlphaMax], and
// at most one timed transition (start value -> end value from clock time t0 over `seconds`, along
// a Curve). Time is the caller's clock in seconds (a Character's: game time plus the audio its
// lines produced), passed into every call, so results are deterministic. A transition is kept
// once it has run its course (its value at later times is its end value), so the state at a past
// time stays what it was.
//
// Character: a Model, a speaker vector (a speaker or a blend), an EmotionState, a clock and a
// pool of Sessions its lines run on. CharacterLine: one line, made block by block as it is read,
// exactly as Character._LineRenderer and Character.speak (docs/sdk.md, "Streaming"):
//   1. the text is phonemised and encoded once, with the emotion at the line's start t0;
//   2. the mel is sampled in blocks (a short first block, longer ones after), each over its frames
//      plus context frames, with the line's seeded noise sliced to them, and crossfaded with the
//      previous block; each block reads the emotion state when it is made, at the times its frames
//      will be heard (t0 + (f + 0.5) hop / sample_rate), so a change mid-line shapes the blocks not
//      yet made;
//   3. pitch voices get each condition's pitch (predicted once per line) rendered as harmonics;
//   4. the committed mel goes through the streaming vocoder, whose chunks joined equal vocoding
//      the whole mel.
//
// Thread safety: EmotionState and Character's setters lock a mutex that is never held while audio
// is computed; a CharacterLine is used by one thread at a time. Lines of one character may run at
// once (each takes its own Session from the pool).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "emomix/generation.hpp"
#include "emomix/session.hpp"

namespace emomix {

// Transition curves: progress u in [0, 1] -> blend factor (emomix.state.CURVES). Values are ABI.
enum class Curve : std::int32_t { linear = 0, ease = 1, ease_in = 2, ease_out = 3, step = 4 };
double apply_curve(Curve curve, double u) noexcept;
// "linear" | "ease" | "ease_in" | "ease_out" | "step"; throws InvalidArgument naming them.
Curve parse_curve(const std::string& name);

// emomix.state.valence_arousal_weights: weights [n] over emotions with coordinates [n] (valence,
// arousal): inverse squared distances to the 3 nearest, each minus the 4th nearest's; a point on
// an emotion is that emotion alone. Throws InvalidArgument for values outside [-1, 1] or NaN.
std::vector<double> valence_arousal_weights(double valence, double arousal,
                                            const std::vector<std::array<double, 2>>& coords);

class EmotionState {
 public:
  // Neutral at intensity 1, over the voice's emotions (their voice.json valence/arousal).
  explicit EmotionState(const VoiceInfo& voice);

  int emotions() const noexcept { return static_cast<int>(names_.size()); }
  const std::vector<std::string>& names() const noexcept { return names_; }

  // The weights (a normalised mix over voice emotion indices) now; a transition is cancelled, the
  // intensity now is kept.
  void set(const NormalisedMix& mix, double now);
  // Throws InvalidArgument outside [0, kAlphaMax]; the weights now are kept.
  void set_intensity(double intensity, double now);
  void set_valence_arousal(double valence, double arousal, double now);
  // From the value now to (target, intensity; intensity < 0 keeps the current one) over
  // `seconds` (finite, >= 0; 0 jumps) along `curve`.
  void transition_to(const NormalisedMix& target, double intensity, double seconds, Curve curve,
                     double now);

  // (weights [emotions], intensity) at time t.
  std::pair<std::vector<double>, double> value_at(double t) const;
  bool transitioning(double now) const;
  // The state at `n` times: the voice emotions with a non-zero weight at some of them (ascending)
  // into conditions, their weights [M, n] (each column sums to 1) and the intensity [n].
  void frames(const double* times, int n, std::vector<int>& conditions, std::vector<double>& w,
              std::vector<double>& alpha) const;

 private:
  struct Value {
    std::vector<double> w;  // [emotions], 0 where absent
    double intensity = 1.0;
  };
  struct Transition {
    Value start, end;
    double t0 = 0.0, seconds = 0.0;
    Curve curve = Curve::linear;
    double progress(double t) const noexcept;
  };
  Value value_locked(double t) const;
  std::vector<std::string> names_;
  std::vector<std::array<double, 2>> coords_;
  mutable std::mutex mutex_;
  Value value_;
  bool has_transition_ = false;
  Transition transition_;
};

// How a character's line is cut into blocks and vocoder chunks (mel frames; StreamConfig).
struct LineOptions {
  int first_block_frames = 64;
  int block_frames = 160;  // 0: the whole line is one block
  int context_frames = 24;
  int crossfade_frames = 8;
  int vocoder_chunk_frames = 32;
};
// Throws InvalidArgument naming the field (the rules of StreamConfig).
void validate_line_options(const LineOptions& options);

class Character {
 public:
  // threads >= 1: the threads of each Session a line runs on.
  Character(std::shared_ptr<const Model> model, int threads, const LineOptions& options);

  const Model& model() const noexcept { return *model_; }
  const std::shared_ptr<const Model>& model_ptr() const noexcept { return model_; }
  const LineOptions& options() const noexcept { return options_; }
  EmotionState& emotion() noexcept { return emotion_; }
  const EmotionState& emotion() const noexcept { return emotion_; }

  // The speaker blend (a normalised mix over the voice's speaker ids) for lines begun later.
  void set_speakers(const NormalisedMix& speakers);
  std::vector<float> speaker_vector() const;

  double time() const;
  void advance(double seconds);        // seconds finite and >= 0
  void advance_to(double t) noexcept;  // clock = max(clock, t)

  std::unique_ptr<Session> acquire_session();
  void release_session(std::unique_ptr<Session> session) noexcept;

 private:
  std::shared_ptr<const Model> model_;
  int threads_;
  LineOptions options_;
  EmotionState emotion_;
  mutable std::mutex mutex_;
  std::vector<float> speaker_;  // [S]
  double clock_ = 0.0;
  std::vector<std::unique_ptr<Session>> sessions_;
};

class CharacterLine {
 public:
  // Phonemises and encodes `text` (UTF-8) at the character's clock. config: the sampler fields
  // (steps, solver, preset emomix or blend, temperature, window, length scale, seed, emotion
  // scale) are validated and used; its mix and speakers must be valid but the character's
  // emotion state and speaker decide. Throws GenerationConfigError, text::TextError,
  // FrontendUnavailable, InvalidArgument.
  CharacterLine(std::shared_ptr<Character> character, std::string_view text,
                const GenerationConfig& config);
  ~CharacterLine();
  CharacterLine(const CharacterLine&) = delete;
  CharacterLine& operator=(const CharacterLine&) = delete;

  // Up to `max` next samples into out; returns how many (0 once the line is done). Makes blocks
  // and vocoder chunks as needed, and moves the character's clock to t0 + the audio read.
  std::size_t read(float* out, std::size_t max);
  std::size_t length() const noexcept { return total_samples_; }
  std::size_t position() const noexcept { return read_samples_; }
  bool done() const noexcept { return read_samples_ >= total_samples_; }
  double start_time() const noexcept { return t0_; }

 private:
  void make_block();                // samples the next block into mel_ and pushes it
  // The noise planes the solver reads (emomix.sampler.noise_streams): N + 1 for em, else 1.
  int noise_planes() const noexcept {
    return uses_step_noise(spec_.sampler.solver) ? spec_.steps + 1 : 1;
  }
  void refill();                    // pulls the next vocoder chunk into pending_
  const float* pitch_rows(const std::vector<int>& conditions);  // [M, 2, T] for the conditions
  std::shared_ptr<Character> character_;
  std::unique_ptr<Session> session_;
  GenerationPlan spec_;  // the config's sampler settings (steps, window, solver, scale)
  Preset preset_ = Preset::emomix;
  double emotion_scale_ = 1.0;
  std::uint64_t seed_ = 0;
  double t0_ = 0.0;
  std::vector<std::int64_t> ids_, durations_;
  std::vector<float> speaker_;
  std::vector<float> mu_, mel_, noise_;  // [C, F], [C, F], [N + 1, C, F] (multi-block lines)
  int frames_ = 0;
  std::vector<double> times_;
  std::vector<std::pair<int, int>> blocks_;
  std::size_t next_block_ = 0;
  std::vector<float> tail_;  // [C, crossfade] the previous block's frames past its end
  std::vector<int> pitch_conditions_;     // conditions whose pitch is cached, in cache order
  std::vector<float> pitch_cache_;        // [cached, 2, T]
  std::vector<float> pitch_gather_;       // [M, 2, T]
  std::unique_ptr<VocoderStream> vocoder_;
  int chunk_frames_ = 0;
  std::vector<float> pending_;
  std::size_t pending_at_ = 0;
  std::size_t total_samples_ = 0, read_samples_ = 0;
};

}  // namespace emomix
