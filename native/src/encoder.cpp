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

void EncoderGraph::states(ThreadPool* pool, const std::int64_t* ids, int T) {
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
  const int max_rows = std::max({3 * h, ep.ffn_dim, h});
  const int max_k = std::max(ep.prenet_kernel, ep.ffn_kernel);
  T_ = 0;  // no valid states until they are complete
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
  T_ = T;
}

void EncoderGraph::mu_and_durations(ThreadPool* pool, const float* emotion, const float* speaker,
                                    float* mu_phone, float* log_dur) {
  const ModelConfig& cfg = m_.config();
  const EncoderW& w = m_.encoder();
  const EncoderParams& ep = cfg.encoder;
  const int h = ep.hidden, T = T_;
  const std::size_t n = static_cast<std::size_t>(T);
  const float* x = x_.data();
  float* a = a_.data();

  // mu_phone = proj_mu(x + speaker_to_mu(spk))
  float* sv = cond_.reshape(h);
  linear(nullptr, w.speaker_to_mu.w, w.speaker_to_mu.b, h, cfg.speaker_dim, speaker, 1, sv);
  for (int c = 0; c < h; ++c)
    for (int t = 0; t < T; ++t) a[c * n + t] = x[c * n + t] + sv[c];
  linear(pool, w.proj_mu.w, w.proj_mu.b, cfg.audio.n_mels, h, a, T, mu_phone);

  // log durations: the duration predictor for the one condition
  predict(pool, w.duration, ep.dp_hidden, ep.dp_kernel, 1, emotion, speaker, 1, log_dur);
}

void EncoderGraph::pitch(ThreadPool* pool, const float* emotions, const float* speakers, int M,
                         float* out) {
  if (!m_.has_pitch()) throw InvalidArgument("this voice has no pitch predictor");
  const PitchParams& p = m_.config().pitch;
  predict(pool, m_.pitch(), p.hidden, p.kernel, 2, emotions, speakers, M, out);
}

void EncoderGraph::predict(ThreadPool* pool, const PredictorW& w, int ph, int k, int outputs,
                           const float* emotions, const float* speakers, int M, float* out) {
  const ModelConfig& cfg = m_.config();
  if (M < 1) throw InvalidArgument("a predictor needs at least one condition, got " +
                                   std::to_string(M));
  if (T_ < 1) throw InvalidArgument("no encoder states (states() did not complete)");
  const int h = cfg.encoder.hidden, T = T_;
  const int S = cfg.speaker_dim, E = cfg.emotion_dim;
  // The M conditions are M items of T columns each ([channels][M * T]); convolutions pad each
  // item on its own, as torch does for a batch of M copies of the line.
  const std::size_t n = static_cast<std::size_t>(T), cols = static_cast<std::size_t>(M) * n;
  const int max_rows = std::max(h, ph);
  float* a = rows(a_, max_rows, cols);
  float* b = rows(b_, max_rows, cols);
  float* col = rows(col_, max_rows * k, cols);
  float* scr = rows(scratch_, 2, cols);
  const float* x = x_.data();

  // cond [h][M] = Linear(concat(spk, emo)) with the conditions as columns of [S + E][M].
  float* se = cond_.reshape(S + E + h, M);
  float* cond = se + static_cast<std::size_t>(S + E) * M;
  for (int m = 0; m < M; ++m) {
    for (int i = 0; i < S; ++i) se[i * M + m] = speakers[m * S + i];
    for (int i = 0; i < E; ++i) se[(S + i) * M + m] = emotions[m * E + i];
  }
  linear(nullptr, w.cond.w, w.cond.b, h, S + E, se, M, cond);
  for (int c = 0; c < h; ++c)
    for (int m = 0; m < M; ++m)
      for (std::size_t t = 0; t < n; ++t) a[c * cols + m * n + t] = x[c * n + t] + cond[c * M + m];

  conv1d(pool, w.conv1.w, w.conv1.b, ph, h, k, 1, k / 2, a, M, T, b, col);
  relu_inplace(b, static_cast<std::size_t>(ph) * cols);
  channel_layer_norm(pool, b, w.norm1.w, w.norm1.b, ph, static_cast<int>(cols), 1e-5f, b, scr);
  conv1d(pool, w.conv2.w, w.conv2.b, ph, ph, k, 1, k / 2, b, M, T, a, col);
  relu_inplace(a, static_cast<std::size_t>(ph) * cols);
  channel_layer_norm(pool, a, w.norm2.w, w.norm2.b, ph, static_cast<int>(cols), 1e-5f, a, scr);
  linear(pool, w.proj.w, w.proj.b, outputs, ph, a, static_cast<int>(cols), b);
  // [outputs][M * T] -> [M, outputs, T]
  for (int m = 0; m < M; ++m)
    for (int ch = 0; ch < outputs; ++ch)
      std::copy(b + ch * cols + m * n, b + ch * cols + (m + 1) * n, out + (outputs * m + ch) * n);
}

}  // namespace emomix::detail
