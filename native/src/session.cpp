#include "emomix/session.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "emomix/error.hpp"
#include "emomix/voice_schema.hpp"
#include "graphs.hpp"

namespace emomix {

Session::Session(std::shared_ptr<const Model> model, int threads)
    : model_(std::move(model)), pool_(threads < 1 ? 1 : threads) {
  if (!model_) throw InvalidArgument("Session needs a Model (got null)");
  if (threads < 1) throw InvalidArgument("threads must be >= 1, got " + std::to_string(threads));
  encoder_ = std::make_unique<detail::EncoderGraph>(*model_);
  denoiser_ = std::make_unique<detail::DenoiserGraph>(*model_);
  vocoder_ = std::make_unique<detail::VocoderGraph>(*model_);
  ser_ = std::make_unique<detail::SerGraph>(*model_);
}

void Session::ser(const float* logmel, int frames, float* embedding, float* logits) {
  ser_->run(&pool_, logmel, frames, embedding, logits);
}

Session::~Session() = default;

std::size_t Session::workspace_bytes() const noexcept {
  return encoder_->bytes() + denoiser_->bytes() + vocoder_->bytes() + ser_->bytes() +
         sampler_.bytes() + harmonics_.bytes() +
         (emo_batch_.capacity() + spk_batch_.capacity() + pitch_.capacity()) * sizeof(float) +
         (f0_.capacity() + voicing_.capacity()) * sizeof(double) +
         states_ids_.capacity() * sizeof(std::int64_t);
}

void Session::load_states(const std::int64_t* ids, int phonemes, bool reuse) {
  if (reuse && static_cast<int>(states_ids_.size()) == phonemes &&
      std::equal(ids, ids + phonemes, states_ids_.begin())) {
    return;
  }
  states_ids_.clear();  // until states() completes (it throws on an unknown id)
  encoder_->states(&pool_, ids, phonemes);
  states_ids_.assign(ids, ids + phonemes);
}

void Session::encode_phones(const std::int64_t* ids, int phonemes, const float* emotion,
                            const float* speaker, float* mu_phone, float* log_dur) {
  if (phonemes < 1) throw InvalidArgument("encode needs at least one phoneme");
  // encode starts a line: it always runs the layers (a repeated line costs what a new one does)
  load_states(ids, phonemes, /*reuse=*/false);
  encoder_->mu_and_durations(&pool_, emotion, speaker, mu_phone, log_dur);
}

void Session::pitch(const std::int64_t* ids, int phonemes, const float* emotions,
                    const float* speakers, int conditions, float* out) {
  if (!model_->has_pitch()) throw InvalidArgument("this voice has no pitch predictor");
  if (phonemes < 1) throw InvalidArgument("pitch needs at least one phoneme");
  if (conditions < 1) throw InvalidArgument("pitch needs at least one condition");
  load_states(ids, phonemes, /*reuse=*/true);
  encoder_->pitch(&pool_, emotions, speakers, conditions, out);
}

void Session::encode(const std::int64_t* ids, int phonemes, const float* emotion,
                     const float* speaker, double length_scale, std::vector<float>& mu,
                     std::vector<std::int64_t>& durations) {
  if (!(length_scale > 0.0) || !std::isfinite(length_scale)) {
    throw InvalidArgument("length_scale must be finite and > 0, got " + std::to_string(length_scale));
  }
  const int C = model_->config().audio.n_mels;
  const std::size_t T = static_cast<std::size_t>(std::max(phonemes, 0));
  phone_mu_.resize(static_cast<std::size_t>(C) * T);
  log_dur_.resize(T);
  encode_phones(ids, phonemes, emotion, speaker, phone_mu_.data(), log_dur_.data());
  durations.resize(T);
  const float scale = static_cast<float>(length_scale);
  // like torch's round_durations: exp(log_dur) * length_scale in float32, a running total in
  // float64; phoneme t ends at frame floor(total + 0.5), and gets at least one frame
  double total = 0.0;
  std::int64_t frames = 0;
  for (std::size_t t = 0; t < T; ++t) {
    const float d = std::exp(log_dur_[t]) * scale;
    if (!std::isfinite(d) || d > 1.0e6f) {
      throw InvalidArgument("predicted duration of phoneme " + std::to_string(t) +
                            " is not finite or absurdly long; the voice weights are broken");
    }
    total += static_cast<double>(d);
    const auto end = static_cast<std::int64_t>(std::floor(total + 0.5));
    durations[t] = std::max<std::int64_t>(end - frames, 1);
    frames += durations[t];
  }
  mu.resize(static_cast<std::size_t>(C) * static_cast<std::size_t>(frames));
  for (int c = 0; c < C; ++c) {
    float* row = mu.data() + static_cast<std::size_t>(c) * frames;
    std::size_t f = 0;
    for (std::size_t t = 0; t < T; ++t) {
      const float v = phone_mu_[static_cast<std::size_t>(c) * T + t];
      for (std::int64_t r = 0; r < durations[t]; ++r) row[f++] = v;
    }
  }
}

void Session::denoise(const float* x, const float* t, const float* mu, const float* emotions,
                      const float* speakers, int batch, int frames, float* out) {
  denoiser_->run(&pool_, x, t, mu, emotions, speakers, batch, frames, out);
}

void Session::vocode(const float* mel, int frames, float* out) {
  if (frames < 1) throw InvalidArgument("vocode needs at least one frame");
  vocoder_->run(&pool_, mel, frames, out);
}

int Session::vocode_pull(VocoderStream& stream, int max_frames, float* out) {
  if (stream.model_.get() != model_.get()) {
    throw InvalidArgument("this VocoderStream belongs to another Model; pull it with a Session "
                          "of the Model it was made for");
  }
  return vocoder_->pull(&pool_, *stream.state_, max_frames, out);
}

VocoderStream::VocoderStream(std::shared_ptr<const Model> model)
    : model_(std::move(model)), state_(std::make_unique<detail::VocoderState>()) {
  if (!model_) throw InvalidArgument("VocoderStream needs a Model (got null)");
  const ModelConfig& c = model_->config();
  state_->reset(c.audio.n_mels, c.vocoder.dim, c.vocoder.n_layers);
  lookahead_ = detail::vocoder_lookahead(c);
}

VocoderStream::~VocoderStream() = default;

void VocoderStream::push(const float* mel, int frames, int ld) {
  if (state_->ended) throw InvalidArgument("push after finish(): this stream's line is complete");
  if (frames < 0) throw InvalidArgument("push needs frames >= 0, got " + std::to_string(frames));
  state_->mel.append(mel, static_cast<std::size_t>(ld < 0 ? frames : ld), frames);
}

void VocoderStream::finish() noexcept { state_->ended = true; }
bool VocoderStream::finished() const noexcept { return state_->ended; }
int VocoderStream::pushed() const noexcept { return state_->mel.hi(); }
int VocoderStream::done() const noexcept { return state_->done; }

int VocoderStream::ready() const noexcept {
  return state_->ready_end(lookahead_) - state_->done;
}

void Session::sample(const float* mu, int frames, const WeightsView& weights,
                     const float* emotions, const float* speakers, const SamplerConfig& config,
                     std::uint64_t seed, float* out, const std::int64_t* durations,
                     int phonemes, const float* noise) {
  const ModelConfig& cfg = model_->config();
  const int M = weights.conditions;
  const int E = cfg.emotion_dim, S = cfg.speaker_dim, C = cfg.audio.n_mels;
  if (M < 1 || frames < 1) throw InvalidArgument("sample needs M >= 1 conditions and F >= 1 frames");
  // Size everything before the loop: the sampler's buffers and the denoiser's for M conditions.
  sampler_.reserve(std::max(weights.steps, 1), M, C, frames);
  denoiser_->reserve(M, frames, pool_.size());
  emo_batch_.resize(static_cast<std::size_t>(M) * E);
  spk_batch_.resize(static_cast<std::size_t>(M) * S);

  const Denoiser callback = [&](const float* x_batch, const float* t_batch, const int* cond,
                                int batch, int, int f, float* pred) {
    for (int b = 0; b < batch; ++b) {
      std::copy(emotions + static_cast<std::size_t>(cond[b]) * E,
                emotions + static_cast<std::size_t>(cond[b] + 1) * E,
                emo_batch_.data() + static_cast<std::size_t>(b) * E);
      std::copy(speakers + static_cast<std::size_t>(cond[b]) * S,
                speakers + static_cast<std::size_t>(cond[b] + 1) * S,
                spk_batch_.data() + static_cast<std::size_t>(b) * S);
    }
    denoiser_->run(&pool_, x_batch, t_batch, mu, emo_batch_.data(), spk_batch_.data(), batch, f,
                   pred);
  };
  SampleInputs in;
  in.mu = mu;
  in.n_mels = C;
  in.frames = frames;
  in.weights = weights;
  in.seed = seed;
  in.durations = durations;
  in.phonemes = phonemes;
  in.noise = noise;
  emomix::sample(callback, in, config, sampler_, out);
}

SynthesisOutput Session::synthesize(const std::int64_t* ids, int phonemes,
                                    const float* enc_emotion, const float* speaker,
                                    double length_scale, const WeightsView& weights,
                                    const float* emotions, const float* speakers,
                                    const SamplerConfig& config, std::uint64_t seed) {
  SynthesisOutput r;
  encode(ids, phonemes, enc_emotion, speaker, length_scale, r.mu, r.durations);
  const int C = model_->config().audio.n_mels;
  r.frames = static_cast<int>(r.mu.size() / static_cast<std::size_t>(C));
  finish_line(phonemes, weights, emotions, speakers, config, seed, r);
  return r;
}

void Session::finish_line(int phonemes, const WeightsView& weights,
                          const float* emotions, const float* speakers,
                          const SamplerConfig& config, std::uint64_t seed, SynthesisOutput& r) {
  if (weights.per_frame() && weights.frames != r.frames) {
    throw InvalidArgument("per-frame W has " + std::to_string(weights.frames) +
                          " frames but the encoder produced " + std::to_string(r.frames));
  }
  r.mel.resize(r.mu.size());
  sample(r.mu.data(), r.frames, weights, emotions, speakers, config, seed, r.mel.data(),
         r.durations.data(), phonemes);
  if (model_->has_pitch()) {
    // encode() left this line's encoder states in the encoder graph: the pitch head reads them.
    const ModelConfig& cfg = model_->config();
    const int M = weights.conditions;
    pitch_.resize(static_cast<std::size_t>(M) * 2 * static_cast<std::size_t>(phonemes));
    encoder_->pitch(&pool_, emotions, speakers, M, pitch_.data());
    for (float v : pitch_) {
      if (!std::isfinite(v)) {
        throw InvalidArgument("the pitch predictor's output is not finite; the voice weights "
                              "are broken");
      }
    }
    f0_.resize(static_cast<std::size_t>(r.frames));
    voicing_.resize(static_cast<std::size_t>(r.frames));
    frame_pitch(pitch_.data(), M, phonemes, r.durations.data(), weights.row(weights.steps - 1, 0),
                weights.per_frame(), r.frames, cfg.pitch, harmonics_, f0_.data(),
                voicing_.data());
    render_harmonics(r.mel.data(), r.frames, f0_.data(), voicing_.data(), cfg.audio, cfg.pitch,
                     model_->mel_filterbank(), harmonics_, r.mel.data());
  }
  r.audio.resize(static_cast<std::size_t>(r.frames) * model_->config().audio.hop_length);
  vocode(r.mel.data(), r.frames, r.audio.data());
  require_finite_audio(r.audio.data(), r.audio.size(), *model_);
}

void require_finite_audio(const float* audio, std::size_t n, const Model& model) {
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(audio[i])) {
      const std::string& file = voice_schema().weights_file;
      throw VoiceError((model.path() == "/" ? "" : model.path()) + "/" + file, file,
                       "the voice's networks made non-finite audio (sample " + std::to_string(i) +
                           "): its weights are broken",
                       "load the voice with its hashes verified, or re-export it");
    }
  }
}

}  // namespace emomix
