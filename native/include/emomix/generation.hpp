// emomix/generation.hpp — one generation config for a line, and the plan built from it.
//
// GenerationConfig carries every setting of one line (DESIGN §9): the emotion mix or a trajectory
// of keyframed mixes, intensity, emotion scale, speaker or speaker blend, steps, solver, preset,
// temperature, the emomix window, length scale, seed. It is laid out as the future C ABI's
// `emx_generation_config`:
//   * it starts with `uint32_t struct_size` (= sizeof(GenerationConfig) of the caller's build);
//   * plain fields only (fixed-capacity arrays, no pointers, no std:: types);
//   * fields are only ever appended; a field's meaning never changes.
// Start from default_generation_config(voice) (the `_default()` initialiser: every default comes
// from the voice's voice.json), then change what the line needs.
//
// Python mirror: emomix.generation.GenerationConfig has the same fields, in the same order, with
// the same defaults (generation_config_fields() lists the C++ names; a parity test compares them).
//
// The plan (plan_generation) turns a config into what the Session runs, exactly as
// Voice.synthesize_full (sdk/emomix/synthesis.py) does, so tests/test_generation_plan.py holds
// the two equal:
//   1. the mix (or every keyframe's mix) is validated and normalised; zero weights drop out;
//   2. alpha = clamp(intensity, 0, kAlphaMax); the denoiser's intensity is alpha * emotion_scale;
//   3. conditions: the emotions used anywhere, in the voice's order, plus neutral (appended) when
//      the denoiser's intensity is not 1;
//   4. the encoder's emotion alpha * (w0 · E) + (1 - alpha) * E_neutral (w0 the mix, or the first
//      keyframe's), in float64 then rounded;
//   5. the speaker: the speaker table's row, or the blend sum_j w_j row_j in float64 then rounded;
//   6. W (docs/sampler.md, "Presets"): emomix with the config's window, blend, or intensity; then
//      W = a W + (1 - a) neutral for a = alpha * emotion_scale != 1. A trajectory's W is per frame,
//      so it is only known once the encoder has given the line's frames (schedule_weights()).
//
// Errors: validate_generation_config() throws GenerationConfigError, an InvalidArgument whose
// code() names the rule broken and whose message names the field ("emotions[2].weight: ...").
// Thread safety: everything here is pure; a GenerationConfig is a plain value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/solvers.hpp"
#include "emomix/voice.hpp"

namespace emomix {

// Capacities of the config's arrays (part of the ABI: changing one is a new struct).
inline constexpr int kGenerationNameCapacity = 32;  // bytes of a name, NUL included
inline constexpr int kGenerationMaxEmotions = 16;   // (name, weight) pairs of one mix
inline constexpr int kGenerationMaxKeyframes = 8;   // keyframes of a trajectory
inline constexpr int kGenerationMaxSpeakers = 8;    // (name, weight) pairs of a speaker blend

// Largest intensity; larger ones are clamped to it (docs/sampler.md, "intensity").
inline constexpr double kAlphaMax = 1.5;
// Slack when classifying tau against the emomix window (1 - 8/10 counts as 0.2).
inline constexpr double kBoundaryEps = 1e-9;
// Most phonemes Session::synthesize_text accepts in one line (emomix.synthesis.MAX_PHONEMES).
inline constexpr int kMaxTextPhonemes = 2000;
// Throws text::TextError (kTooLong, with length and limit) when a line's phonemes are more than
// kMaxTextPhonemes: the text is to be split into sentences.
void check_line_phonemes(std::size_t phonemes);

// How the mix becomes W (docs/sampler.md, "Presets"). Values are ABI.
enum class Preset : std::int32_t {
  emomix = 0,     // base alone while tau > k_max, the mix in [k_min, k_max], the rest below k_min
  blend = 1,      // the mix at every step
  intensity = 2,  // one emotion against neutral, (1 - a, a) with a clamped to [0, kAlphaMax]
};
// "emomix" | "blend" | "intensity" -> Preset; throws InvalidArgument naming the accepted values.
Preset parse_preset(const std::string& name);
const char* to_string(Preset p) noexcept;

// One (name, weight) pair of an emotion mix or a speaker blend. name is NUL-terminated.
struct GenerationWeight {
  char name[kGenerationNameCapacity];
  double weight;  // finite, >= 0; a mix is normalised to sum to 1
};

// A mix at a position along the line.
struct GenerationKeyframe {
  double position;       // in [0, 1], ascending across keyframes
  std::uint32_t n_emotions;  // 1 .. kGenerationMaxEmotions
  GenerationWeight emotions[kGenerationMaxEmotions];
};

struct GenerationConfig {
  std::uint32_t struct_size;  // sizeof(GenerationConfig)
  // The emotion mix of the whole line (ignored except that it must be valid when n_keyframes > 0).
  std::uint32_t n_emotions;  // 1 .. kGenerationMaxEmotions
  GenerationWeight emotions[kGenerationMaxEmotions];
  // A trajectory: n_keyframes > 0 interpolates the keyframes' mixes per mel frame; the first
  // keyframe's mix conditions the encoder (durations).
  std::uint32_t n_keyframes;  // 0 .. kGenerationMaxKeyframes
  GenerationKeyframe keyframes[kGenerationMaxKeyframes];
  double intensity;      // finite; clamped to [0, kAlphaMax]; 0 neutral, 1 the mix, > 1 exaggerated
  double emotion_scale;  // the voice's sampler.emotion_scale; in the schema's emotion_scale_range
  // The speaker blend: one entry (weight > 0) is a speaker; default the voice's default_speaker.
  std::uint32_t n_speakers;  // 1 .. kGenerationMaxSpeakers
  GenerationWeight speakers[kGenerationMaxSpeakers];
  std::int32_t steps;        // 1 .. kMaxSteps; the voice's sampler.steps
  std::int32_t solver;       // Solver; the voice's sampler.solver; must fit the parameterisation
  std::int32_t preset;       // Preset; the voice's sampler.preset
  double temperature;        // > 0; the voice's sampler.temperature
  double k_max, k_min;       // the emomix window; the voice's sampler.k_max / k_min
  double length_scale;       // frames per phoneme multiplied by it, in the schema's
                             // length_scale_range; the voice's sampler.length_scale
  std::uint64_t seed;        // the seeded noise (docs/sampler.md); 0
};

// The config of a call that sets nothing: struct_size set, mix {neutral: 1}, intensity 1, the
// voice's emotion scale, default speaker, steps, solver, preset, temperature, window and length
// scale, seed 0.
GenerationConfig default_generation_config(const VoiceInfo& voice);

// The field names of GenerationConfig in declaration order (what the Python mirror must have).
const std::vector<std::string>& generation_config_fields();

// Which rule a config broke.
enum class GenerationErrorCode : std::int32_t {
  struct_size = 1,        // struct_size is not sizeof(GenerationConfig)
  bad_name,               // a name is empty or not NUL-terminated within its capacity
  unknown_emotion,        // a name that is not one of the voice's emotions
  unknown_speaker,        // a name that is not one of the voice's speakers
  duplicate_name,         // a name given twice in one mix
  bad_count,              // a count out of its range (n_emotions, n_keyframes, n_speakers)
  bad_weight,             // a weight that is negative, NaN or infinite
  zero_weights,           // every weight of a mix is zero
  bad_keyframes,          // positions outside [0, 1] or not ascending
  bad_intensity,          // intensity not finite
  bad_emotion_scale,      // outside the schema's emotion_scale_range
  bad_steps,              // outside 1 .. kMaxSteps
  bad_solver,             // not a solver, or not one of the voice's parameterisation
  bad_preset,             // not a Preset, or intensity with a mix that is not one emotion
  bad_temperature,        // not finite and > 0
  bad_window,             // not 0 <= k_min <= k_max <= 1
  bad_length_scale,       // outside the schema's length_scale_range
};
const char* to_string(GenerationErrorCode code) noexcept;  // "unknown_emotion", ...

class GenerationConfigError : public InvalidArgument {
 public:
  GenerationConfigError(GenerationErrorCode code, const std::string& field,
                        const std::string& message)
      : InvalidArgument("generation config: " + field + ": " + message), code_(code),
        field_(field) {}
  GenerationErrorCode code() const noexcept { return code_; }
  const std::string& field() const noexcept { return field_; }  // e.g. "emotions[2].weight"

 private:
  GenerationErrorCode code_;
  std::string field_;
};

// Checks every field against `voice`; throws GenerationConfigError at the first fault.
void validate_generation_config(const GenerationConfig& config, const VoiceInfo& voice);

// A validated, normalised mix: (voice emotion index, weight) pairs, zero weights dropped, in the
// order given.
using NormalisedMix = std::vector<std::pair<int, double>>;

// emomix.emotions.normalise_mix over C entries: `count` (1 .. capacity) entries with known,
// NUL-terminated names, each given once, with finite weights >= 0, not all zero; normalised by
// their sum (summed in the order given), zero weights dropped. `field` ("emotions") and `kind`
// ("emotion") name the entries in errors; an unknown name throws with code `unknown`.
NormalisedMix normalise_weights(const GenerationWeight* entries, std::uint32_t count,
                                int capacity, const std::vector<std::string>& known,
                                const std::string& field, GenerationErrorCode unknown,
                                const char* kind);
// The voice's emotion names in its order.
std::vector<std::string> emotion_names(const VoiceInfo& voice);

// What the Session runs for one line. Shapes: M conditions, E = emotion_dim, S = speaker_dim,
// N = steps, F = frames.
struct GenerationPlan {
  std::vector<int> conditions;       // [M] voice emotion index of each condition
  int neutral = -1;                  // index into conditions of neutral, -1 when absent
  std::vector<float> emotions;       // [M, E] the conditions' emotion embeddings
  std::vector<float> speaker;        // [S] the speaker (or blend) every condition uses
  std::vector<float> enc_emotion;    // [E] the encoder's emotion
  double alpha = 1.0;                // the clamped intensity (the encoder's)
  double guide = 1.0;                // alpha * emotion_scale (the denoiser's)
  Preset preset = Preset::emomix;
  SamplerConfig sampler;             // solver, temperature, beta range of a score voice
  int steps = 0;
  double k_max = 0.0, k_min = 0.0;
  std::vector<double> mix;           // [M] the line's mix (first keyframe's) over the conditions
  std::vector<double> key_positions;  // [K] a trajectory's positions (empty: none)
  std::vector<double> key_values;     // [K, M] its normalised mixes over the conditions
  std::vector<float> weights;        // [N, M] W; empty for a trajectory (see schedule_weights)
};

// Validates `config` against the voice and builds the plan. speaker_table is the model's
// [n_speakers, speaker_dim] table (Model::speaker_table()); the score voices' beta range comes
// from voice.json:model.config (as Voice.sampler_spec).
GenerationPlan plan_generation(const VoiceInfo& voice, const float* speaker_table,
                               int speaker_dim, const GenerationConfig& config);

// W of a plan for a line of `frames` mel frames: the plan's [N, M] W, or for a trajectory the
// keyframes interpolated per frame (keyframes_to_frames) scheduled into [N, M, F].
std::vector<float> schedule_weights(const GenerationPlan& plan, int frames);

// emomix.synthesis.schedule_weights for the emomix and blend presets: a mix w [M] (frames 0) or
// per-frame mixes [M, F] (each column summing to 1) -> W float32 [N, M] or [N, M, F], then
// W = a W + (1 - a) onehot(neutral) where alpha ([1], or [F] per frame) is not 1 everywhere
// (neutral >= 0 is then required). Throws InvalidArgument for the intensity preset.
std::vector<float> schedule_mix(const std::vector<double>& w, int conditions, int frames,
                                int steps, Preset preset, double k_max, double k_min,
                                const std::vector<double>& alpha, int neutral);

// --- the presets (mirrors of emomix.sampler.weights; W is float64 here, rounded by the caller) --

// 0 while tau[k] > k_max, 1 in [k_min, k_max], 2 below (each boundary with kBoundaryEps slack).
std::vector<int> emomix_phases(const double* tau, int steps, double k_max, double k_min);
// [N, M] base alone / mix / the rest renormalised; base = the largest weight (first on ties).
std::vector<double> emomix_weights(const std::vector<double>& mix, int steps, double k_max,
                                   double k_min);
// Per-frame mixes [M, F] -> [N, M, F], each frame with its own base.
std::vector<double> emomix_frame_weights(const std::vector<double>& per_frame, int conditions,
                                         int frames, int steps, double k_max, double k_min);
// Keyframes (positions [K], mixes [K, M]) interpolated linearly at frame centres (f + 0.5) / F and
// normalised per frame -> [M, F].
std::vector<double> keyframes_to_frames(const std::vector<double>& positions,
                                        const std::vector<double>& values, int conditions,
                                        int frames);

}  // namespace emomix
