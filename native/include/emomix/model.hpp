// emomix/model.hpp — a voice's networks as immutable weights: the native Model.
//
// Model::load(dir) validates the whole bundle first (emomix/voice.hpp: voice.json against the voice
// schema, every listed file's size and sha256, the weights header), then reads model.config
// (every hyperparameter the graphs need, the same dictionary emomix.config.ModelConfig.to_dict()
// wrote) and memory-maps dir/weights.safetensors. Every tensor the encoder, denoiser, vocoder and SER use is looked up by
// its torch state-dict name and its shape is checked against the config; float32 tensors are used
// in place (zero copy), float16 tensors are converted to float32 once at load. The SER is loaded
// when the file has "ser.*" tensors (has_ser()). The pitch predictor is loaded when
// model.config.pitch.enabled (has_pitch()): its "pitch.*" tensors are then required, and the mel
// filterbank of its harmonic rendering (emomix/harmonics.hpp) is computed once here. A bad bundle
// throws VoiceError naming the file and the field or tensor, e.g. "<dir>/weights.safetensors:
// weights.safetensors:denoiser.input_conv.weight: shape [64, 160, 5] but model.config implies
// [64, 160, 3] — the weights do not match voice.json; re-export the voice."
//
// Model::load_memory(files) does the same for a bundle the caller holds in memory (a game engine's
// packed assets): load_voice_memory() checks it exactly as load_voice() checks a directory, then
// the weights are copied once into storage the Model owns (8-byte aligned, so float32 tensors are
// used in place as from a mapping) and everything after is the same code as load(). The caller's
// bytes are not used after the call. Errors name pseudo-paths, "<memory>/weights.safetensors".
//
// Thread safety: a Model is immutable after load; share it (std::shared_ptr<const Model>) between
// any number of Sessions and threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "emomix/safetensors.hpp"
#include "emomix/solvers.hpp"
#include "emomix/tensor.hpp"
#include "emomix/text.hpp"
#include "emomix/voice.hpp"

namespace emomix {

enum class MelScale { slaney, htk };
struct AudioParams {
  int sample_rate = 0, n_fft = 0, hop_length = 0, win_length = 0, n_mels = 0;
  // What the harmonic rendering needs (emomix.features.mel_filterbank, audio.mel_std): read from
  // model.config.audio, else from voice.json's top-level audio (the schema makes the two agree);
  // required for a voice with pitch, and left at zero when absent otherwise.
  double f_min = 0.0, f_max = 0.0, mel_std = 0.0;
  MelScale mel_scale = MelScale::slaney;
};
struct EncoderParams {
  int hidden = 0, prenet_layers = 0, prenet_kernel = 0, n_layers = 0, n_heads = 0, ffn_dim = 0,
      ffn_kernel = 0, dp_hidden = 0, dp_kernel = 0;
};
struct DenoiserParams {
  std::vector<int> channels;
  int n_res_blocks = 0, n_transformer_blocks = 0, n_heads = 0, ffn_mult = 0, kernel_size = 0,
      time_embed_dim = 0, cond_dim = 0;
  float time_scale = 0.0f;
};
struct VocoderParams {
  int dim = 0, intermediate_dim = 0, n_layers = 0, kernel_size = 0, input_kernel = 0;
  float log_mag_max = 0.0f;
};
struct SerParams {
  std::vector<int> cnn_channels;
  int cnn_kernel = 0, delta_width = 0, lstm_input = 0, lstm_hidden = 0, attention_dim = 0;
};
// model.config.pitch (emomix.config.PitchConfig); an absent section means disabled, and the other
// fields are only read when enabled.
struct PitchParams {
  bool enabled = false;
  int hidden = 0, kernel = 0;
  double harmonic_floor = 0.0, envelope_sigma = 0.0, f0_min = 0.0, f0_max = 0.0;
};
// The hyperparameters of voice.json:model.config that the native graphs use.
struct ModelConfig {
  int n_symbols = 0, n_speakers = 0, emotion_dim = 0, speaker_dim = 0, n_emotions = 0;
  Parameterisation parameterisation = Parameterisation::flow;
  double beta_min = 0.05, beta_max = 20.0;
  AudioParams audio;
  EncoderParams encoder;
  DenoiserParams denoiser;
  VocoderParams vocoder;
  SerParams ser;  // empty cnn_channels when the config has no SER
  PitchParams pitch;
};

// Layer weights (views into the Model's storage). Conv weights are [out, in, kernel] as in torch.
struct ConvW {
  const float* w = nullptr;
  const float* b = nullptr;
  int out = 0, in = 0, kernel = 1;
};
struct NormW {
  const float* w = nullptr;
  const float* b = nullptr;
};
struct ResBlockW {
  int c_in = 0, c_out = 0;
  NormW norm1;
  ConvW film;  // Linear(cond_dim -> 2 c_in)
  ConvW conv1;
  NormW norm2;
  ConvW conv2;
  bool has_skip = false;
  ConvW skip;
};
struct TransformerBlockW {
  NormW norm1;
  ConvW film1, qkv, out;
  NormW norm2;
  ConvW film2, ffn1, ffn2;
};
struct DenoiserW {
  ConvW time1, time2, emotion, speaker, input;
  std::vector<std::vector<ResBlockW>> down;     // per level
  std::vector<TransformerBlockW> transformer;   // at the lowest level, after its res blocks
  std::vector<ConvW> downsample;                // level i -> i + 1
  std::vector<ConvW> upsample;                  // u = 0..: level L-1-u -> L-2-u
  std::vector<std::vector<ResBlockW>> up;       // u = 0..
  NormW out_norm;
  ConvW out_conv;
};
struct EncoderLayerW {
  NormW norm1;
  ConvW qkv, out;
  NormW norm2;
  ConvW ffn1, ffn2;
};
// A phone-level predictor (emomix.models.encoder.DurationPredictor, also the net of
// PitchPredictor): cond = Linear(S + E -> hidden_enc) added to the encoder states, two conv
// blocks (conv -> ReLU -> channel norm), a 1x1 projection to the outputs.
struct PredictorW {
  ConvW cond;
  ConvW conv1, conv2, proj;
  NormW norm1, norm2;
};
struct EncoderW {
  const float* embedding = nullptr;  // [n_symbols, hidden]
  std::vector<ConvW> prenet_conv;
  std::vector<NormW> prenet_norm;
  float pos_scale = 1.0f;
  std::vector<EncoderLayerW> layers;
  NormW norm;
  ConvW speaker_to_mu, proj_mu;
  PredictorW duration;  // -> log frame count
};
struct VocoderBlockW {
  ConvW dwconv;
  NormW norm;
  ConvW pw1, pw2;
  const float* gamma = nullptr;  // [dim]
};
struct VocoderW {
  ConvW embed;
  NormW norm;
  std::vector<VocoderBlockW> blocks;
  NormW final_norm;
  ConvW head;
};

struct LstmW {
  const float* w_ih = nullptr;  // [4H, in], gate rows i, f, g, o (torch order)
  const float* w_hh = nullptr;  // [4H, H]
  const float* b_ih = nullptr;  // [4H]
  const float* b_hh = nullptr;  // [4H]
};
struct SerW {
  std::vector<ConvW> conv;  // Conv2d [out, in, k, k]
  std::vector<NormW> norm;
  ConvW frame_proj;
  LstmW fwd, bwd;
  ConvW attn_proj;           // Linear(2H -> A)
  const float* attn_score = nullptr;  // [A], no bias
  ConvW embedding, classifier;
};

// The networks' hyperparameters of a validated voice.json (model.config, with the audio front end
// and pitch section the contract checked); throws VoiceError naming the missing or invalid field
// ("voice.json:model.config.denoiser.channels: is missing").
ModelConfig parse_model_config(const VoiceInfo& voice);

class Model {
 public:
  // Every tensor (state-dict name, shape) Model::load binds for `config`, in load order.
  static std::vector<std::pair<std::string, std::vector<std::int64_t>>> expected_tensors(
      const ModelConfig& config);

  // Loads and checks the bundle at `path` (its directory or its voice.json; see above).
  // options.verify_hashes = false skips the sha256 of the listed files (for a bundle its caller
  // has just verified); sizes and headers are still checked.
  static std::shared_ptr<const Model> load(const std::string& path,
                                           const VoiceLoadOptions& options = {});
  // Loads and checks a bundle in memory: voice.json and every file it lists, by bundle-relative
  // path (emomix/voice.hpp, load_voice_memory); borrowed during the call only. options as load().
  static std::shared_ptr<const Model> load_memory(const std::vector<VoiceMemoryFile>& files,
                                                  const VoiceLoadOptions& options = {});

  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();

  const ModelConfig& config() const noexcept { return config_; }
  // The validated voice.json (speakers, emotions, sampler defaults, ...).
  const VoiceInfo& voice() const noexcept { return voice_; }
  // The voice's symbol table (voice.json "symbols"), built once at load for the text frontend.
  const text::SymbolTable& symbol_table() const noexcept { return *symbols_; }
  // The bundle directory (VoiceInfo::dir): kVoiceMemoryDir for load_memory().
  const std::string& path() const noexcept { return path_; }
  const float* speaker_table() const noexcept { return speakers_; }  // [n_speakers, speaker_dim]
  const EncoderW& encoder() const noexcept { return encoder_; }
  const DenoiserW& denoiser() const noexcept { return denoiser_; }
  const VocoderW& vocoder() const noexcept { return vocoder_; }
  // The speech-emotion recogniser, when the bundle has its weights (every emomix bundle does).
  bool has_ser() const noexcept { return has_ser_; }
  const SerW& ser() const noexcept { return ser_; }
  // The pitch predictor, when model.config.pitch.enabled.
  bool has_pitch() const noexcept { return config_.pitch.enabled; }
  // The pitch predictor: outputs [ln(F0 / 100 Hz), voicing logit].
  const PredictorW& pitch() const noexcept { return pitch_; }
  // The mel filterbank [n_mels, n_fft / 2 + 1] (float64, as emomix.features.mel_filterbank) for
  // the harmonic rendering; empty when the voice has no pitch.
  const std::vector<double>& mel_filterbank() const noexcept { return mel_filterbank_; }
  // Bytes of weights this Model holds converted in memory (0 when every tensor is used in place).
  std::size_t converted_bytes() const noexcept { return converted_.size() * sizeof(float); }
  // Bytes of the memory-mapped weights file, or of load_memory()'s copy of it (0 once released
  // after a full conversion).
  std::size_t mapped_bytes() const noexcept;
  // "F32", "F16" or "mixed": how the weights are stored on disk.
  const std::string& storage_dtype() const noexcept { return storage_; }

 private:
  Model() = default;
  class Loader;
  // What load() and load_memory() share once the bundle is checked: model.config, then the
  // weights file open_weights(label) gives, bound to the networks.
  static std::shared_ptr<const Model> from_checked(
      VoiceInfo voice, const std::function<SafetensorsFile(const std::string&)>& open_weights);
  std::string path_;
  std::string storage_;
  VoiceInfo voice_;
  ModelConfig config_;
  std::unique_ptr<SafetensorsFile> file_;
  std::vector<float> converted_;
  const float* speakers_ = nullptr;
  EncoderW encoder_;
  DenoiserW denoiser_;
  VocoderW vocoder_;
  bool has_ser_ = false;
  SerW ser_;
  PredictorW pitch_;
  std::vector<double> mel_filterbank_;
  std::unique_ptr<text::SymbolTable> symbols_;
};

}  // namespace emomix
