// parse_model_config (emomix/model.hpp): the networks' hyperparameters of a validated voice.json.
// Part of the contract library (emomix_contract) so that the fuzz target reaches it.
#include <cstdint>
#include <string>

#include "emomix/error.hpp"
#include "emomix/json.hpp"
#include "emomix/model.hpp"

namespace emomix {

namespace {

int positive(const Json& obj, const char* key, const std::string& path) {
  const std::int64_t v = obj.get_int(key, path);
  if (v < 1 || v > (1 << 24)) {
    throw JsonFieldError(path + "." + key, "must be a positive integer, got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

int non_negative(const Json& obj, const char* key, const std::string& path) {
  const std::int64_t v = obj.get_int(key, path);
  if (v < 0 || v > (1 << 24)) {
    throw JsonFieldError(path + "." + key, "must be an integer >= 0, got " + std::to_string(v));
  }
  return static_cast<int>(v);
}

// The network hyperparameters; voice.json's contract (audio, pitch, parameterisation, ...) was
// checked by validate_voice_meta already.
ModelConfig parse_network_config(const VoiceInfo& voice) {
  const Json& c = voice.model_config;
  const std::string p = "model.config";
  ModelConfig cfg;
  cfg.n_symbols = positive(c, "n_symbols", p);
  cfg.n_speakers = positive(c, "n_speakers", p);
  cfg.emotion_dim = positive(c, "emotion_dim", p);
  cfg.speaker_dim = positive(c, "speaker_dim", p);
  cfg.n_emotions = positive(c, "n_emotions", p);
  cfg.parameterisation = voice.parameterisation;
  if (voice.has_beta_min) cfg.beta_min = voice.beta_min;
  if (voice.has_beta_max) cfg.beta_max = voice.beta_max;

  // The audio front end: voice.json's audio (model.config.audio, where present, equals it).
  const VoiceAudio& va = voice.audio;
  AudioParams& a = cfg.audio;
  a.sample_rate = va.sample_rate;
  a.n_fft = va.n_fft;
  a.hop_length = va.hop_length;
  a.win_length = va.win_length;
  a.n_mels = va.n_mels;
  a.f_min = va.f_min;
  a.f_max = va.f_max;
  a.mel_std = va.mel_std;
  a.mel_scale = va.mel_scale == "htk" ? MelScale::htk : MelScale::slaney;
  if (a.win_length != a.n_fft || a.n_fft % a.hop_length || (a.n_fft - a.hop_length) % 2) {
    throw JsonFieldError("audio",
                         "does not suit the vocoder's iSTFT: it needs win_length == "
                         "n_fft, hop_length dividing n_fft and n_fft - hop_length even");
  }
  const VoicePitch& vp = voice.pitch;
  cfg.pitch.enabled = vp.enabled;
  cfg.pitch.hidden = vp.hidden;
  cfg.pitch.kernel = vp.kernel;
  cfg.pitch.harmonic_floor = vp.harmonic_floor;
  cfg.pitch.envelope_sigma = vp.envelope_sigma;
  cfg.pitch.f0_min = vp.f0_min;
  cfg.pitch.f0_max = vp.f0_max;

  const Json& e = c.at("encoder", p);
  const std::string pe = p + ".encoder";
  cfg.encoder.hidden = positive(e, "hidden", pe);
  cfg.encoder.prenet_layers = non_negative(e, "prenet_layers", pe);
  cfg.encoder.prenet_kernel = positive(e, "prenet_kernel", pe);
  cfg.encoder.n_layers = positive(e, "n_layers", pe);
  cfg.encoder.n_heads = positive(e, "n_heads", pe);
  cfg.encoder.ffn_dim = positive(e, "ffn_dim", pe);
  cfg.encoder.ffn_kernel = positive(e, "ffn_kernel", pe);
  cfg.encoder.dp_hidden = positive(e, "dp_hidden", pe);
  cfg.encoder.dp_kernel = positive(e, "dp_kernel", pe);
  if (cfg.encoder.hidden % cfg.encoder.n_heads) {
    throw JsonFieldError(pe + ".n_heads", "must divide encoder.hidden");
  }

  const Json& d = c.at("denoiser", p);
  const std::string pd = p + ".denoiser";
  for (std::int64_t ch : d.get_int_list("channels", pd)) {
    if (ch < 1 || ch > (1 << 24))
      throw JsonFieldError(pd + ".channels", "must be positive integers");
    cfg.denoiser.channels.push_back(static_cast<int>(ch));
  }
  if (cfg.denoiser.channels.empty())
    throw JsonFieldError(pd + ".channels", "needs at least one level");
  if (cfg.denoiser.channels.size() > 16)
    throw JsonFieldError(pd + ".channels", "has more than 16 levels");
  cfg.denoiser.n_res_blocks = positive(d, "n_res_blocks", pd);
  cfg.denoiser.n_transformer_blocks = non_negative(d, "n_transformer_blocks", pd);
  cfg.denoiser.n_heads = positive(d, "n_heads", pd);
  cfg.denoiser.ffn_mult = positive(d, "ffn_mult", pd);
  cfg.denoiser.kernel_size = positive(d, "kernel_size", pd);
  cfg.denoiser.time_embed_dim = positive(d, "time_embed_dim", pd);
  cfg.denoiser.cond_dim = positive(d, "cond_dim", pd);
  cfg.denoiser.time_scale = static_cast<float>(d.get_number("time_scale", pd));
  if (cfg.denoiser.channels.back() % cfg.denoiser.n_heads) {
    throw JsonFieldError(pd + ".n_heads", "must divide the last level's channels");
  }
  if (cfg.denoiser.time_embed_dim % 2) {
    throw JsonFieldError(pd + ".time_embed_dim", "must be even");
  }

  const Json& v = c.at("vocoder", p);
  const std::string pv = p + ".vocoder";
  cfg.vocoder.dim = positive(v, "dim", pv);
  cfg.vocoder.intermediate_dim = positive(v, "intermediate_dim", pv);
  cfg.vocoder.n_layers = positive(v, "n_layers", pv);
  cfg.vocoder.kernel_size = positive(v, "kernel_size", pv);
  cfg.vocoder.input_kernel = positive(v, "input_kernel", pv);
  cfg.vocoder.log_mag_max = static_cast<float>(v.get_number("log_mag_max", pv));

  if (const Json* sr = c.find("ser")) {
    const std::string ps = p + ".ser";
    for (std::int64_t ch : sr->get_int_list("cnn_channels", ps)) {
      if (ch < 1 || ch > (1 << 24))
        throw JsonFieldError(ps + ".cnn_channels", "must be positive integers");
      cfg.ser.cnn_channels.push_back(static_cast<int>(ch));
    }
    cfg.ser.cnn_kernel = positive(*sr, "cnn_kernel", ps);
    cfg.ser.delta_width = positive(*sr, "delta_width", ps);
    cfg.ser.lstm_input = positive(*sr, "lstm_input", ps);
    cfg.ser.lstm_hidden = positive(*sr, "lstm_hidden", ps);
    cfg.ser.attention_dim = positive(*sr, "attention_dim", ps);
    if (cfg.ser.cnn_channels.size() > 16 || cfg.audio.n_mels < (1 << cfg.ser.cnn_channels.size())) {
      throw JsonFieldError(ps + ".cnn_channels",
                           "has too many levels: n_mels must be >= 2^len(cnn_channels)");
    }
    if (cfg.ser.delta_width < 3 || cfg.ser.delta_width % 2 == 0) {
      throw JsonFieldError(ps + ".delta_width", "must be odd and >= 3");
    }
  }
  return cfg;
}

}  // namespace

ModelConfig parse_model_config(const VoiceInfo& voice) {
  try {
    return parse_network_config(voice);
  } catch (const JsonFieldError& e) {
    throw VoiceError(voice.meta_path, "voice.json:" + e.field(), e.problem(),
                     "the model config does not describe networks this runtime builds; re-export "
                     "the voice");
  }
}

}  // namespace emomix
