// emomix/session.hpp — a Session runs a Model's networks: encoder, denoiser, vocoder, the mixed
// sampler, and the whole pipeline, with its own workspace and threads.
//
// Model vs Session (DESIGN §7): the Model is immutable and shared; a Session owns everything that
// changes while running — activation buffers, the sampler workspace, a ThreadPool of `threads`
// threads (the caller's thread plus threads - 1 workers). A Session is used by ONE thread at a
// time; run several Sessions (sharing one Model) for concurrent lines.
//
// Memory: buffers grow to the largest line seen and are reused. sample() sizes every buffer the
// denoiser needs before its first step, so the sampler loop itself allocates nothing.
//
// Shapes (C order): C = n_mels, F = frames, T = phonemes, E = emotion_dim, S = speaker_dim,
// B = conditions evaluated together, hop = hop_length. Errors: InvalidArgument on bad inputs.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "emomix/harmonics.hpp"
#include "emomix/model.hpp"
#include "emomix/sampler.hpp"
#include "emomix/thread_pool.hpp"

namespace emomix {

struct GenerationConfig;  // emomix/generation.hpp

namespace detail {
class EncoderGraph;
class DenoiserGraph;
class VocoderGraph;
struct VocoderState;
class SerGraph;
}  // namespace detail

// Everything one synthesize() call produced.
struct SynthesisOutput {
  std::vector<float> mu;                // [C, F]
  std::vector<float> mel;               // [C, F] what was vocoded (with harmonics for pitch voices)
  std::vector<float> audio;             // [F * hop]
  std::vector<std::int64_t> durations;  // [T]
  int frames = 0;
};

// One line's streaming vocoder state: push the mel as it is made, pull audio with any Session of
// the same Model (Session::vocode_pull) as soon as the mel pushed determines it. The state is the
// mel not yet consumed and a few frames of each layer, so memory stays bounded by the chunk size.
// One thread at a time.
class VocoderStream {
 public:
  explicit VocoderStream(std::shared_ptr<const Model> model);
  ~VocoderStream();
  VocoderStream(const VocoderStream&) = delete;
  VocoderStream& operator=(const VocoderStream&) = delete;

  // Appends mel frames [C][frames] (row stride ld; ld < 0 means frames). Throws after finish().
  void push(const float* mel, int frames, int ld = -1);
  // The line's mel is complete: the last frames become ready.
  void finish() noexcept;
  bool finished() const noexcept;
  int pushed() const noexcept;  // mel frames pushed
  int done() const noexcept;    // frames whose samples were pulled
  int ready() const noexcept;   // frames whose samples vocode_pull() can return now
  // Mel frames past frame f that f's samples depend on (convolutions' and inverse STFT's reach).
  int lookahead() const noexcept { return lookahead_; }
  const std::shared_ptr<const Model>& model() const noexcept { return model_; }

 private:
  friend class Session;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<detail::VocoderState> state_;
  int lookahead_ = 0;
};

// Throws VoiceError (naming the model's weights file) when audio [n] holds a NaN or an infinity:
// the networks of a voice whose weights are broken (loaded without verify_hashes, for one) make
// them, and no caller should play them.
void require_finite_audio(const float* audio, std::size_t n, const Model& model);

class Session {
 public:
  // threads >= 1: the calling thread plus threads - 1 workers owned by this Session.
  Session(std::shared_ptr<const Model> model, int threads);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const Model& model() const noexcept { return *model_; }
  int threads() const noexcept { return pool_.size(); }

  // The encoder network alone: ids [T] (0 <= id < n_symbols), emotion [E], speaker [S] ->
  // mu_phone [C, T], log_dur [T] (TextEncoder.forward for one unpadded item).
  void encode_phones(const std::int64_t* ids, int phonemes, const float* emotion,
                     const float* speaker, float* mu_phone, float* log_dur);
  // Encoder + length regulation as torch's round_durations: phoneme t ends at frame
  // floor(sum_{s<=t} exp(log_dur_s) * length_scale + 0.5) (terms float32, total float64) and gets
  // at least one frame; mu [C, F] repeats phone t's column durations[t] times. length_scale > 0.
  void encode(const std::int64_t* ids, int phonemes, const float* emotion, const float* speaker,
              double length_scale, std::vector<float>& mu, std::vector<std::int64_t>& durations);

  // One denoiser evaluation: x [B, C, F], t [B], mu [C, F] (shared by the batch), emotions [B, E],
  // speakers [B, S] -> out [B, C, F] (velocity for flow, score for score).
  void denoise(const float* x, const float* t, const float* mu, const float* emotions,
               const float* speakers, int batch, int frames, float* out);

  // Vocoder on a whole line: mel [C, F] -> out [F * hop].
  void vocode(const float* mel, int frames, float* out);
  // Streaming vocoder: the samples of the next frames of `stream` that its pushed mel
  // determines, at most max_frames of them, into out [k * hop]; returns k (0 when the stream
  // needs more mel, or is done). Every layer computes each frame once, so the pulled chunks joined
  // equal vocode() on the whole mel up to float rounding.
  int vocode_pull(VocoderStream& stream, int max_frames, float* out);

  // The mixed sampler (emomix/sampler.hpp) with this Session's denoiser: mu [C, F]; W of M
  // conditions; emotions [M, E] and speakers [M, S] give condition i's embedding; out [C, F].
  // The seeded noise is anchored to the line's phoneme durations [phonemes] when given (they add
  // up to frames; emomix/rng.hpp fill_line_noise), else the line is one segment. With `noise`
  // [N + 1, C, F] given, it is used instead of the seed's (a streamed block's slice of its line's
  // noise; emomix/sampler.hpp).
  void sample(const float* mu, int frames, const WeightsView& weights, const float* emotions,
              const float* speakers, const SamplerConfig& config, std::uint64_t seed,
              float* out, const std::int64_t* durations = nullptr, int phonemes = 0,
              const float* noise = nullptr);

  // The pitch predictor (Model::has_pitch(), else InvalidArgument): ids [T], emotions [M, E],
  // speakers [M, S] -> out [M, 2, T], per condition and phoneme ln(F0 / 100 Hz) and the voicing
  // logit (PitchPredictor on TextEncoder.states for one unpadded line).
  void pitch(const std::int64_t* ids, int phonemes, const float* emotions, const float* speakers,
             int conditions, float* out);

  // The whole pipeline with no Python in the loop: encode (with the encoder emotion
  // enc_emotion [E] and speaker [S]) -> sample (conditions as in sample()) -> vocode. For a voice
  // with pitch, the sampled mel gets the harmonics (emomix/harmonics.hpp) of the M conditions'
  // pitch mixed with the last step's weights W[N - 1] before vocoding, as Voice.synthesize_full.
  SynthesisOutput synthesize(const std::int64_t* ids, int phonemes, const float* enc_emotion,
                             const float* speaker, double length_scale,
                             const WeightsView& weights, const float* emotions,
                             const float* speakers, const SamplerConfig& config,
                             std::uint64_t seed);

  // Text to audio with no Python (DESIGN §7): the native text frontend (emomix/text.hpp, the
  // voice's symbols and language) -> ids -> the plan of `config` (emomix/generation.hpp:
  // conditions, speaker, encoder emotion, W, solver) -> encode -> sample -> pitch -> vocode, the
  // same steps as synthesize() and as Voice.synthesize_full. text is UTF-8. Throws
  // GenerationConfigError for a bad config, text::TextError / FrontendUnavailable for bad text or
  // no espeak-ng, InvalidArgument for a line over kMaxTextPhonemes.
  SynthesisOutput synthesize_text(std::string_view text, const GenerationConfig& config);

  // The speech-emotion recogniser: normalised log-mel [C, F] -> embedding [E], logits
  // [n_emotions]. Throws Unavailable when the bundle has no SER weights.
  void ser(const float* logmel, int frames, float* embedding, float* logits);

  // Bytes held by this Session's buffers.
  std::size_t workspace_bytes() const noexcept;

 private:
  // Makes encoder_ hold the states of ids [phonemes]; with `reuse`, the layers run only when it
  // holds another line's.
  void load_states(const std::int64_t* ids, int phonemes, bool reuse);
  // synthesize()'s steps after encode(): sample r.mu into r.mel, the harmonics of the pitch
  // (pitch voices), vocode into r.audio. r.mu, r.durations and r.frames are set.
  void finish_line(int phonemes, const WeightsView& weights,
                   const float* emotions, const float* speakers, const SamplerConfig& config,
                   std::uint64_t seed, SynthesisOutput& r);
  std::shared_ptr<const Model> model_;
  ThreadPool pool_;
  std::unique_ptr<detail::EncoderGraph> encoder_;
  std::unique_ptr<detail::DenoiserGraph> denoiser_;
  std::unique_ptr<detail::VocoderGraph> vocoder_;
  std::unique_ptr<detail::SerGraph> ser_;
  SamplerWorkspace sampler_;
  std::vector<float> emo_batch_, spk_batch_;  // [M, E], [M, S]: the active conditions' embeddings
  std::vector<float> phone_mu_, log_dur_;     // encode()'s phone-level outputs
  // The line whose encoder states encoder_ holds (empty: none). The states depend on the
  // phonemes alone, so pitch() after encode() of the same line (the Python pipeline's order)
  // reuses them and the encoder's layers run once per line.
  std::vector<std::int64_t> states_ids_;
  std::vector<float> pitch_;                  // [M, 2, T] synthesize()'s pitch predictions
  std::vector<double> f0_, voicing_;          // [F] synthesize()'s per-frame pitch
  HarmonicsWorkspace harmonics_;
};

}  // namespace emomix
