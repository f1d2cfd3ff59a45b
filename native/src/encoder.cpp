// The text encoder (emomix.models.encoder.TextEncoder) for one unpadded item.
#include <algorithm>
#include <cmath>

#include "emomix/error.hpp"
#include "graphs.hpp"

namespace emomix::detail {

std::size_t EncoderGraph::bytes() const noexcept {
  return (x_.capacity() + a_.capacity() + b_.capacity() + qkv_.capacity() + col_.capacity() +
          scratch_.capacity() + attn_.capacity() + cond_.capacity() + vec_.capacity()) *
         sizeof(float);
}

void EncoderGraph::run(ThreadPool* pool, const std::int64_t* ids, int T, const float* emotion,
                       const float* speaker, float* mu_phone, float* log_dur) {
  const ModelConfig& cfg = m_.config();
  const EncoderW& w = m_.encoder();
  const EncoderParams& ep = cfg.encoder;
  const int h = ep.hidden;
  const std::size_t n = static_cast<std::size_t>(T);
  for (int t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= cfg.n_symbols) {
      throw InvalidArgument("phoneme id " + std::to_string(ids[t]) + " at position " +
                            std::to_string(t) + " is outside the symbol table (0.." +
                            std::to_string(cfg.n_symbols - 1) + ")");
    }
  }
  const int max_rows = std::max({3 * h, ep.ffn_dim, ep.dp_hidden, h});
  const int max_k = std::max({ep.prenet_kernel, ep.ffn_kernel, ep.dp_kernel});
  float* x = rows(x_, h, n);
  a_.reshape(max_rows, T);
  b_.reshape(max_rows, T);
  qkv_.reshape(3 * h, T);
  col_.reshape(max_rows * max_k, T);
  scratch_.reshape(2, T);
  attn_.reshape(static_cast<int>(attention_scratch(pool ? pool->size() : 1, T)));
  float* a = a_.data();
  float* b = b_.data();
  float* col = col_.data();
  float* scr = scratch_.data();

  for (int c = 0; c < h; ++c)
    for (int t = 0; t < T; ++t) x[c * n + t] = w.embedding[ids[t] * h + c];

  for (std::size_t i = 0; i < w.prenet_conv.size(); ++i) {
    const ConvW& cv = w.prenet_conv[i];
    conv1d(pool, cv.w, cv.b, h, h, cv.kernel, 1, cv.kernel / 2, x, 1, T, a, col);
    relu_inplace(a, h * n);
    channel_layer_norm(pool, a, w.prenet_norm[i].w, w.prenet_norm[i].b, h, T, 1e-5f, a, scr);
    add_inplace(x, a, h * n);
  }
  // + pos_scale * sinusoidal positions: row i < h/2 is sin(t w_i), row h/2 + i is cos(t w_i)
  vec_.resize(static_cast<std::size_t>(h));
  for (int t = 0; t < T; ++t) {
    sinusoidal_embedding(static_cast<float>(t), h, 1.0f, vec_.data());
    for (int c = 0; c < h; ++c) x[c * n + t] += w.pos_scale * vec_[static_cast<std::size_t>(c)];
  }
  for (const EncoderLayerW& l : w.layers) {
    channel_layer_norm(pool, x, l.norm1.w, l.norm1.b, h, T, 1e-5f, a, scr);
    linear(pool, l.qkv.w, l.qkv.b, 3 * h, h, a, T, qkv_.data());
    attention(pool, qkv_.data(), h, ep.n_heads, 1, T, b, attn_.data());
    linear(pool, l.out.w, l.out.b, h, h, b, T, a);
    add_inplace(x, a, h * n);
    channel_layer_norm(pool, x, l.norm2.w, l.norm2.b, h, T, 1e-5f, a, scr);
    conv1d(pool, l.ffn1.w, l.ffn1.b, ep.ffn_dim, h, l.ffn1.kernel, 1, l.ffn1.kernel / 2, a, 1, T, b,
           col);
    relu_inplace(b, static_cast<std::size_t>(ep.ffn_dim) * n);
    linear(pool, l.ffn2.w, l.ffn2.b, h, ep.ffn_dim, b, T, a);
    add_inplace(x, a, h * n);
  }
  channel_layer_norm(pool, x, w.norm.w, w.norm.b, h, T, 1e-5f, x, scr);

  // mu_phone = proj_mu(x + speaker_to_mu(spk))
  cond_.resize(static_cast<std::size_t>(std::max(h, cfg.speaker_dim + cfg.emotion_dim)) * 2);
  float* sv = cond_.data();
  linear(nullptr, w.speaker_to_mu.w, w.speaker_to_mu.b, h, cfg.speaker_dim, speaker, 1, sv);
  for (int c = 0; c < h; ++c)
    for (int t = 0; t < T; ++t) a[c * n + t] = x[c * n + t] + sv[c];
  linear(pool, w.proj_mu.w, w.proj_mu.b, cfg.audio.n_mels, h, a, T, mu_phone);

  // log durations: cond = cond_to_duration(concat(spk, emo)); two conv blocks on x + cond; proj.
  float* se = cond_.data();
  std::copy(speaker, speaker + cfg.speaker_dim, se);
  std::copy(emotion, emotion + cfg.emotion_dim, se + cfg.speaker_dim);
  vec_.resize(static_cast<std::size_t>(h));
  linear(nullptr, w.cond_to_duration.w, w.cond_to_duration.b, h, cfg.speaker_dim + cfg.emotion_dim,
         se, 1, vec_.data());
  for (int c = 0; c < h; ++c)
    for (int t = 0; t < T; ++t) a[c * n + t] = x[c * n + t] + vec_[static_cast<std::size_t>(c)];
  const int dh = ep.dp_hidden;
  conv1d(pool, w.dp_conv1.w, w.dp_conv1.b, dh, h, ep.dp_kernel, 1, ep.dp_kernel / 2, a, 1, T, b, col);
  relu_inplace(b, static_cast<std::size_t>(dh) * n);
  channel_layer_norm(pool, b, w.dp_norm1.w, w.dp_norm1.b, dh, T, 1e-5f, b, scr);
  conv1d(pool, w.dp_conv2.w, w.dp_conv2.b, dh, dh, ep.dp_kernel, 1, ep.dp_kernel / 2, b, 1, T, a, col);
  relu_inplace(a, static_cast<std::size_t>(dh) * n);
  channel_layer_norm(pool, a, w.dp_norm2.w, w.dp_norm2.b, dh, T, 1e-5f, a, scr);
  linear(pool, w.dp_proj.w, w.dp_proj.b, 1, dh, a, T, log_dur);
}

}  // namespace emomix::detail
