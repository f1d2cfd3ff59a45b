#include "emomix/model.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <unordered_map>

#include "emomix/error.hpp"
#include "emomix/harmonics.hpp"
#include "emomix/json.hpp"
#include "emomix/voice_schema.hpp"

namespace emomix {

namespace {

std::string shape_str(const std::vector<std::int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

class Model::Loader {
 public:
  Loader(Model& m, const std::string& weights_path) : m_(m), path_(weights_path) {}
  // A dry run: get() records (name, shape) and binds nothing real.
  explicit Loader(Model& m, std::vector<std::pair<std::string, std::vector<std::int64_t>>>* record)
      : m_(m), record_(record) {}

  // Converts every tensor the runtime may use that cannot be used in place (float16, unaligned).
  void convert_all() {
    std::size_t total = 0;
    for (const TensorInfo& t : m_.file_->tensors()) {
      if (needs_conversion(t)) total += t.elements();
    }
    m_.converted_.resize(total);
    std::size_t at = 0;
    bool any_f16 = false, any_f32 = false;
    for (const TensorInfo& t : m_.file_->tensors()) {
      any_f16 |= t.dtype == "F16";
      any_f32 |= t.dtype == "F32";
      if (!needs_conversion(t)) continue;
      float* dst = m_.converted_.data() + at;
      const std::size_t n = t.elements();
      if (t.dtype == "F16") {
        for (std::size_t i = 0; i < n; ++i) {
          std::uint16_t h;
          std::memcpy(&h, t.data + 2 * i, 2);
          dst[i] = half_to_float(h);
        }
      } else {
        std::memcpy(dst, t.data, n * sizeof(float));
      }
      converted_at_[t.name] = at;
      at += n;
    }
    m_.storage_ = any_f16 && any_f32 ? "mixed" : any_f16 ? "F16" : "F32";
  }

  const float* get(const std::string& name, std::vector<std::int64_t> shape) {
    if (record_ != nullptr) {
      static const float zero = 0.0f;
      record_->emplace_back(name, std::move(shape));
      return &zero;
    }
    const TensorInfo* t = m_.file_->find(name);
    const std::string field = voice_schema().weights_file + ":" + name;
    const char* const hint = "the weights do not match voice.json; re-export the voice";
    if (t == nullptr) {
      throw VoiceError(path_, field, "tensor is missing (expected shape " + shape_str(shape) +
                                         " from model.config)", hint);
    }
    if (t->dtype != "F32" && t->dtype != "F16") {
      throw VoiceError(path_, field, "dtype " + t->dtype + " is not float32/float16", hint);
    }
    if (t->shape != shape) {
      throw VoiceError(path_, field, "shape " + shape_str(t->shape) + " but model.config implies " +
                                         shape_str(shape), hint);
    }
    auto it = converted_at_.find(name);
    if (it != converted_at_.end()) return m_.converted_.data() + it->second;
    return reinterpret_cast<const float*>(t->data);
  }

  ConvW conv(const std::string& name, int out, int in, int kernel, bool squeeze_kernel = false) {
    ConvW c;
    c.out = out;
    c.in = in;
    c.kernel = kernel;
    if (squeeze_kernel) {
      c.w = get(name + ".weight", {out, in});
    } else {
      c.w = get(name + ".weight", {out, in, kernel});
    }
    c.b = get(name + ".bias", {out});
    return c;
  }
  ConvW linear(const std::string& name, int out, int in) { return conv(name, out, in, 1, true); }
  NormW norm(const std::string& name, int channels) {
    return {get(name + ".weight", {channels}), get(name + ".bias", {channels})};
  }

  ResBlockW res_block(const std::string& p, int c_in, int c_out, int cond, int k) {
    ResBlockW r;
    r.c_in = c_in;
    r.c_out = c_out;
    r.norm1 = norm(p + ".norm1", c_in);
    r.film = linear(p + ".film.proj", 2 * c_in, cond);
    r.conv1 = conv(p + ".conv1", c_out, c_in, k);
    r.norm2 = norm(p + ".norm2", c_out);
    r.conv2 = conv(p + ".conv2", c_out, c_out, k);
    r.has_skip = c_in != c_out;
    if (r.has_skip) r.skip = conv(p + ".skip", c_out, c_in, 1);
    return r;
  }

  // A DurationPredictor-shaped head: `cond_name` the (speaker, emotion) projection onto the
  // encoder states, `net` the prefix of its two conv blocks and projection to `out` channels.
  PredictorW predictor(const std::string& cond_name, const std::string& net, int hidden,
                       int kernel, int out) {
    const ModelConfig& c = m_.config_;
    const int h = c.encoder.hidden;
    PredictorW w;
    w.cond = linear(cond_name, h, c.speaker_dim + c.emotion_dim);
    w.conv1 = conv(net + ".block1.conv", hidden, h, kernel);
    w.norm1 = norm(net + ".block1.norm", hidden);
    w.conv2 = conv(net + ".block2.conv", hidden, hidden, kernel);
    w.norm2 = norm(net + ".block2.norm", hidden);
    w.proj = conv(net + ".proj", out, hidden, 1);
    return w;
  }

  void bind() {
    const ModelConfig& c = m_.config_;
    m_.speakers_ = get("speakers.weight", {c.n_speakers, c.speaker_dim});

    // encoder
    const EncoderParams& ep = c.encoder;
    EncoderW& e = m_.encoder_;
    const int h = ep.hidden;
    e.embedding = get("encoder.embedding.weight", {c.n_symbols, h});
    for (int i = 0; i < ep.prenet_layers; ++i) {
      const std::string p = "encoder.prenet." + std::to_string(i);
      e.prenet_conv.push_back(conv(p + ".conv", h, h, ep.prenet_kernel));
      e.prenet_norm.push_back(norm(p + ".norm", h));
    }
    e.pos_scale = *get("encoder.pos_scale", {1});
    for (int i = 0; i < ep.n_layers; ++i) {
      const std::string p = "encoder.layers." + std::to_string(i);
      EncoderLayerW l;
      l.norm1 = norm(p + ".norm1", h);
      l.qkv = conv(p + ".attn.qkv", 3 * h, h, 1);
      l.out = conv(p + ".attn.out", h, h, 1);
      l.norm2 = norm(p + ".norm2", h);
      l.ffn1 = conv(p + ".ffn1", ep.ffn_dim, h, ep.ffn_kernel);
      l.ffn2 = conv(p + ".ffn2", h, ep.ffn_dim, 1);
      e.layers.push_back(l);
    }
    e.norm = norm("encoder.norm", h);
    e.speaker_to_mu = linear("encoder.speaker_to_mu", h, c.speaker_dim);
    e.proj_mu = conv("encoder.proj_mu", c.audio.n_mels, h, 1);
    e.duration = predictor("encoder.cond_to_duration", "encoder.duration", ep.dp_hidden,
                           ep.dp_kernel, 1);

    // denoiser
    const DenoiserParams& dp = c.denoiser;
    DenoiserW& d = m_.denoiser_;
    const int cd = dp.cond_dim, k = dp.kernel_size;
    const std::vector<int>& ch = dp.channels;
    const int levels = static_cast<int>(ch.size());
    d.time1 = linear("denoiser.time_mlp.0", 2 * cd, dp.time_embed_dim);
    d.time2 = linear("denoiser.time_mlp.2", cd, 2 * cd);
    d.emotion = linear("denoiser.emotion_proj", cd, c.emotion_dim);
    d.speaker = linear("denoiser.speaker_proj", cd, c.speaker_dim);
    d.input = conv("denoiser.input_conv", ch[0], 2 * c.audio.n_mels, k);
    for (int i = 0; i < levels; ++i) {
      const std::string p = "denoiser.down." + std::to_string(i) + ".blocks.";
      std::vector<ResBlockW> blocks;
      for (int j = 0; j < dp.n_res_blocks; ++j)
        blocks.push_back(res_block(p + std::to_string(j), ch[i], ch[i], cd, k));
      d.down.push_back(std::move(blocks));
      if (i == levels - 1) {
        for (int j = 0; j < dp.n_transformer_blocks; ++j) {
          const std::string q = p + std::to_string(dp.n_res_blocks + j);
          const int cc = ch[i];
          TransformerBlockW t;
          t.norm1 = norm(q + ".norm1", cc);
          t.film1 = linear(q + ".film1.proj", 2 * cc, cd);
          t.qkv = conv(q + ".attn.qkv", 3 * cc, cc, 1);
          t.out = conv(q + ".attn.out", cc, cc, 1);
          t.norm2 = norm(q + ".norm2", cc);
          t.film2 = linear(q + ".film2.proj", 2 * cc, cd);
          t.ffn1 = conv(q + ".ffn1", dp.ffn_mult * cc, cc, 1);
          t.ffn2 = conv(q + ".ffn2", cc, dp.ffn_mult * cc, 1);
          d.transformer.push_back(t);
        }
      } else {
        d.downsample.push_back(conv("denoiser.downsample." + std::to_string(i), ch[i + 1], ch[i], k));
      }
    }
    for (int u = 0, i = levels - 2; i >= 0; --i, ++u) {
      d.upsample.push_back(conv("denoiser.upsample." + std::to_string(u), ch[i], ch[i + 1], k));
      const std::string p = "denoiser.up." + std::to_string(u) + ".blocks.";
      std::vector<ResBlockW> blocks;
      for (int j = 0; j < dp.n_res_blocks; ++j)
        blocks.push_back(res_block(p + std::to_string(j), j == 0 ? 2 * ch[i] : ch[i], ch[i], cd, k));
      d.up.push_back(std::move(blocks));
    }
    d.out_norm = norm("denoiser.out_norm", ch[0]);
    d.out_conv = conv("denoiser.out_conv", c.audio.n_mels, ch[0], 1);

    // vocoder
    const VocoderParams& vp = c.vocoder;
    VocoderW& v = m_.vocoder_;
    v.embed = conv("vocoder.embed", vp.dim, c.audio.n_mels, vp.input_kernel);
    v.norm = norm("vocoder.norm", vp.dim);
    for (int i = 0; i < vp.n_layers; ++i) {
      const std::string p = "vocoder.blocks." + std::to_string(i);
      VocoderBlockW b;
      b.dwconv = conv(p + ".dwconv", vp.dim, 1, vp.kernel_size);
      b.norm = norm(p + ".norm", vp.dim);
      b.pw1 = conv(p + ".pw1", vp.intermediate_dim, vp.dim, 1);
      b.pw2 = conv(p + ".pw2", vp.dim, vp.intermediate_dim, 1);
      b.gamma = get(p + ".gamma", {vp.dim, 1});
      v.blocks.push_back(b);
    }
    v.final_norm = norm("vocoder.final_norm", vp.dim);
    v.head = conv("vocoder.head", 2 * (c.audio.n_fft / 2 + 1), vp.dim, 1);

    // pitch predictor, when the config enables it (then every tensor is required)
    if (c.pitch.enabled) {
      m_.pitch_ = predictor("pitch.cond", "pitch.net", c.pitch.hidden, c.pitch.kernel, 2);
    }

    // SER, when the config and the file have it
    const SerParams& sp = c.ser;
    bool any_ser = record_ != nullptr;
    if (!any_ser) {
      for (const TensorInfo& t : m_.file_->tensors()) any_ser |= t.name.rfind("ser.", 0) == 0;
    }
    if (sp.cnn_channels.empty() || !any_ser) return;
    SerW& s = m_.ser_;
    int c_in = 3, q = c.audio.n_mels;
    for (std::size_t i = 0; i < sp.cnn_channels.size(); ++i) {
      const std::string p = "ser.blocks." + std::to_string(i);
      const int co = sp.cnn_channels[i];
      ConvW cv;
      cv.out = co;
      cv.in = c_in;
      cv.kernel = sp.cnn_kernel;
      cv.w = get(p + ".conv.weight", {co, c_in, sp.cnn_kernel, sp.cnn_kernel});
      cv.b = get(p + ".conv.bias", {co});
      s.conv.push_back(cv);
      s.norm.push_back(norm(p + ".norm", co));
      c_in = co;
      q /= 2;
    }
    const int hdim = sp.lstm_hidden;
    s.frame_proj = conv("ser.frame_proj", sp.lstm_input, c_in * q, 1);
    auto lstm = [&](const std::string& p) {
      LstmW l;
      l.w_ih = get(p + ".weight_ih_l0", {4 * hdim, sp.lstm_input});
      l.w_hh = get(p + ".weight_hh_l0", {4 * hdim, hdim});
      l.b_ih = get(p + ".bias_ih_l0", {4 * hdim});
      l.b_hh = get(p + ".bias_hh_l0", {4 * hdim});
      return l;
    };
    s.fwd = lstm("ser.lstm_fwd");
    s.bwd = lstm("ser.lstm_bwd");
    s.attn_proj = linear("ser.attn_proj", sp.attention_dim, 2 * hdim);
    s.attn_score = get("ser.attn_score.weight", {1, sp.attention_dim});
    s.embedding = linear("ser.embedding", c.emotion_dim, 2 * hdim);
    s.classifier = linear("ser.classifier", c.n_emotions, c.emotion_dim);
    m_.has_ser_ = true;
  }

 private:
  static bool needs_conversion(const TensorInfo& t) {
    if (t.dtype == "F16") return true;
    return t.dtype == "F32" && reinterpret_cast<std::uintptr_t>(t.data) % alignof(float) != 0;
  }
  Model& m_;
  std::string path_;
  std::vector<std::pair<std::string, std::vector<std::int64_t>>>* record_ = nullptr;
  std::unordered_map<std::string, std::size_t> converted_at_;
};

Model::~Model() = default;

std::vector<std::pair<std::string, std::vector<std::int64_t>>> Model::expected_tensors(
    const ModelConfig& config) {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> out;
  Model m;
  m.config_ = config;
  Loader(m, &out).bind();
  return out;
}

std::size_t Model::mapped_bytes() const noexcept {
  return file_ ? file_->file_bytes() : 0;
}

std::shared_ptr<const Model> Model::load(const std::string& path, const VoiceLoadOptions& options) {
  VoiceInfo voice = load_voice(path, options);  // the whole contract, sha256 included by default
  const std::string weights_path = (voice.dir == "/" ? "" : voice.dir) + "/";
  return from_checked(std::move(voice), [&](const std::string& label) {
    return SafetensorsFile::open(weights_path + label, label);
  });
}

std::shared_ptr<const Model> Model::load_memory(const std::vector<VoiceMemoryFile>& files,
                                                const VoiceLoadOptions& options) {
  VoiceInfo voice = load_voice_memory(files, options);  // the same contract as load()
  return from_checked(std::move(voice), [&](const std::string& label) {
    for (const VoiceMemoryFile& f : files) {  // load_voice_memory checked it is there, once
      if (f.path == label) {
        return SafetensorsFile::from_memory(f.data, std::string(kVoiceMemoryDir) + "/" + label,
                                            label);
      }
    }
    throw InvalidArgument("Model::load_memory: " + label + " is not among the files");
  });
}

std::shared_ptr<const Model> Model::from_checked(
    VoiceInfo voice, const std::function<SafetensorsFile(const std::string&)>& open_weights) {
  std::shared_ptr<Model> m(new Model());  // private constructor: make_shared cannot reach it
  m->voice_ = std::move(voice);
  m->path_ = m->voice_.dir;
  m->config_ = parse_model_config(m->voice_);
  m->file_ = std::make_unique<SafetensorsFile>(open_weights(voice_schema().weights_file));
  Loader loader(*m, m->file_->path());
  loader.convert_all();
  loader.bind();
  if (m->config_.pitch.enabled) m->mel_filterbank_ = emomix::mel_filterbank(m->config_.audio);
  if (m->storage_ == "F16") m->file_.reset();  // everything was converted: release the weights
  std::vector<std::u32string> symbols;
  symbols.reserve(m->voice_.symbols.size());
  for (const auto& s : m->voice_.symbols) symbols.push_back(text::decode_utf8(s));
  m->symbols_ = std::make_unique<text::SymbolTable>(std::move(symbols));
  return m;
}

}  // namespace emomix
