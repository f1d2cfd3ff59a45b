// The denoiser U-Net (emomix.models.denoiser.Denoiser) for a batch of conditions sharing x's
// length. Every frame is real (the sampler evaluates whole lines), so instead of padding to a
// multiple of 2^(levels-1) and masking, each level keeps exactly its valid frames
// (n_{i+1} = ceil(n_i / 2)): the torch graph zeroes the padded frames before every convolution
// and excludes them from attention keys, so the real frames' values are the same.
#include <algorithm>
#include <cstring>

#include "emomix/error.hpp"
#include "graphs.hpp"

namespace emomix::detail {

namespace {
constexpr float kEps = 1e-5f;
constexpr int kMaxLevels = 16;

int level_frames(int frames, int level, int kernel) {
  int n = frames;
  for (int i = 0; i < level; ++i) n = conv_out_frames(n, kernel, 2, kernel / 2);
  return n;
}
}  // namespace

DenoiserGraph::DenoiserGraph(const Model& m) : m_(m) {
  const ModelConfig& c = m.config();
  const DenoiserParams& d = c.denoiser;
  const std::vector<int>& ch = d.channels;
  const int last = ch.back();
  max_rows_ = std::max({2 * c.audio.n_mels, 3 * last, d.ffn_mult * last, c.audio.n_mels});
  max_col_rows_ = 2 * c.audio.n_mels * d.kernel_size;
  for (std::size_t i = 0; i < ch.size(); ++i) {
    max_rows_ = std::max(max_rows_, 2 * ch[i]);
    max_col_rows_ = std::max(max_col_rows_, 2 * ch[i] * d.kernel_size);
    if (i + 1 < ch.size()) max_col_rows_ = std::max(max_col_rows_, ch[i + 1] * d.kernel_size);
  }
  if (ch.size() > static_cast<std::size_t>(kMaxLevels)) {
    throw InvalidArgument("model.config.denoiser.channels has " + std::to_string(ch.size()) +
                          " levels; the native runtime supports at most " +
                          std::to_string(kMaxLevels));
  }
  skips_.resize(ch.size() - 1);
}

std::size_t DenoiserGraph::bytes() const noexcept {
  std::size_t n = h_.capacity() + a_.capacity() + b_.capacity() + c_.capacity() +
                  col_.capacity() + scratch_.capacity() + attn_.capacity() + out_.capacity() +
                  temb_.capacity() + t1_.capacity() + cond_.capacity() + ctmp_.capacity() +
                  film_.capacity() + emo_t_.capacity() + spk_t_.capacity();
  for (const Tensor& s : skips_) n += s.capacity();
  return n * sizeof(float);
}

void DenoiserGraph::reserve(int batch, int frames, int threads) {
  const ModelConfig& c = m_.config();
  const DenoiserParams& d = c.denoiser;
  const std::size_t cols = static_cast<std::size_t>(batch) * frames;
  for (Tensor* t : {&h_, &a_, &b_, &c_}) t->reserve(static_cast<std::size_t>(max_rows_) * cols);
  out_.reserve(static_cast<std::size_t>(c.audio.n_mels) * cols);
  col_.reserve(static_cast<std::size_t>(max_col_rows_) * cols);
  scratch_.reserve(2 * cols);
  const int low = level_frames(frames, static_cast<int>(d.channels.size()) - 1, d.kernel_size);
  attn_.reserve(attention_scratch(threads, low));
  for (std::size_t i = 0; i < skips_.size(); ++i) {
    const int n = level_frames(frames, static_cast<int>(i), d.kernel_size);
    skips_[i].reserve(static_cast<std::size_t>(d.channels[i]) * batch * n);
  }
  const int maxc = *std::max_element(d.channels.begin(), d.channels.end());
  const std::size_t b = static_cast<std::size_t>(batch);
  temb_.reserve(static_cast<std::size_t>(d.time_embed_dim) * b);
  t1_.reserve(2 * static_cast<std::size_t>(d.cond_dim) * b);
  cond_.reserve(static_cast<std::size_t>(d.cond_dim) * b);
  ctmp_.reserve(static_cast<std::size_t>(d.cond_dim) * b);
  film_.reserve(std::max(4 * static_cast<std::size_t>(maxc) * b,
                         static_cast<std::size_t>(d.time_embed_dim)));
  emo_t_.reserve(static_cast<std::size_t>(c.emotion_dim) * b);
  spk_t_.reserve(static_cast<std::size_t>(c.speaker_dim) * b);
}

// norm1 -> FiLM -> SiLU -> conv1 -> norm2 -> SiLU -> conv2, plus skip. x [c_in] -> x [c_out].
void DenoiserGraph::res_block(ThreadPool* pool, const ResBlockW& w, Tensor& x, int items,
                              int frames) {
  const int k = w.conv1.kernel;
  const std::size_t cols = static_cast<std::size_t>(items) * frames;
  const int nc = static_cast<int>(cols);
  float* a = rows(a_, w.c_in, cols);
  channel_layer_norm(pool, x.data(), w.norm1.w, w.norm1.b, w.c_in, nc, kEps, a, scratch_.data());
  float* film = film_.reshape(2 * w.c_in, items);
  linear(nullptr, w.film.w, w.film.b, 2 * w.c_in, m_.config().denoiser.cond_dim, cond_.data(),
         items, film);
  film_inplace(a, film, w.c_in, items, frames);
  silu_inplace(a, static_cast<std::size_t>(w.c_in) * cols);
  float* b = rows(b_, w.c_out, cols);
  conv1d(pool, w.conv1.w, w.conv1.b, w.c_out, w.c_in, k, 1, k / 2, a, items, frames, b, col_.data());
  channel_layer_norm(pool, b, w.norm2.w, w.norm2.b, w.c_out, nc, kEps, b, scratch_.data());
  silu_inplace(b, static_cast<std::size_t>(w.c_out) * cols);
  float* c = rows(c_, w.c_out, cols);
  conv1d(pool, w.conv2.w, w.conv2.b, w.c_out, w.c_out, k, 1, k / 2, b, items, frames, c,
         col_.data());
  if (w.has_skip) {
    float* s = rows(a_, w.c_out, cols);
    linear(pool, w.skip.w, w.skip.b, w.c_out, w.c_in, x.data(), nc, s);
    add_inplace(c, s, static_cast<std::size_t>(w.c_out) * cols);
  } else {
    add_inplace(c, x.data(), static_cast<std::size_t>(w.c_out) * cols);
  }
  std::swap(x, c_);
  x.reshape(w.c_out, nc);
}

// x + attn(FiLM1(norm1(x))); x + ffn2(GELU(ffn1(FiLM2(norm2(x))))).
void DenoiserGraph::transformer_block(ThreadPool* pool, const TransformerBlockW& w, Tensor& x,
                                      int items, int frames) {
  const DenoiserParams& d = m_.config().denoiser;
  const int c = w.qkv.in;
  const std::size_t cols = static_cast<std::size_t>(items) * frames;
  const int nc = static_cast<int>(cols);
  float* a = rows(a_, c, cols);
  channel_layer_norm(pool, x.data(), w.norm1.w, w.norm1.b, c, nc, kEps, a, scratch_.data());
  float* film = film_.reshape(2 * c, items);
  linear(nullptr, w.film1.w, w.film1.b, 2 * c, d.cond_dim, cond_.data(), items, film);
  film_inplace(a, film, c, items, frames);
  float* qkv = rows(b_, 3 * c, cols);
  linear(pool, w.qkv.w, w.qkv.b, 3 * c, c, a, nc, qkv);
  float* y = rows(c_, c, cols);
  attention(pool, qkv, c, d.n_heads, items, frames, y, attn_.data());
  float* o = rows(a_, c, cols);
  linear(pool, w.out.w, w.out.b, c, c, y, nc, o);
  add_inplace(x.data(), o, static_cast<std::size_t>(c) * cols);

  a = rows(a_, c, cols);
  channel_layer_norm(pool, x.data(), w.norm2.w, w.norm2.b, c, nc, kEps, a, scratch_.data());
  linear(nullptr, w.film2.w, w.film2.b, 2 * c, d.cond_dim, cond_.data(), items, film);
  film_inplace(a, film, c, items, frames);
  const int hid = w.ffn1.out;
  float* f = rows(b_, hid, cols);
  linear(pool, w.ffn1.w, w.ffn1.b, hid, c, a, nc, f);
  gelu_inplace(f, static_cast<std::size_t>(hid) * cols);
  float* g = rows(c_, c, cols);
  linear(pool, w.ffn2.w, w.ffn2.b, c, hid, f, nc, g);
  add_inplace(x.data(), g, static_cast<std::size_t>(c) * cols);
}

void DenoiserGraph::run(ThreadPool* pool, const float* x, const float* t, const float* mu,
                        const float* emotions, const float* speakers, int batch, int frames,
                        float* out) {
  const ModelConfig& cfg = m_.config();
  const DenoiserParams& d = cfg.denoiser;
  const DenoiserW& w = m_.denoiser();
  if (batch < 1 || frames < 1) {
    throw InvalidArgument("denoise needs batch >= 1 and frames >= 1, got batch " +
                          std::to_string(batch) + ", frames " + std::to_string(frames));
  }
  reserve(batch, frames, pool ? pool->size() : 1);
  const int C = cfg.audio.n_mels;
  const int B = batch;
  const int cd = d.cond_dim;
  const int k = d.kernel_size;
  const std::vector<int>& ch = d.channels;
  const int levels = static_cast<int>(ch.size());

  // Condition c = SiLU(time_mlp(sinusoidal(t)) + W_e emo + W_s spk), as columns [cd][B].
  float* temb = temb_.reshape(d.time_embed_dim, B);
  for (int b = 0; b < B; ++b) {
    float* e = film_.reshape(d.time_embed_dim);
    sinusoidal_embedding(t[b], d.time_embed_dim, d.time_scale, e);
    for (int i = 0; i < d.time_embed_dim; ++i) temb[i * B + b] = e[i];
  }
  float* emo_t = emo_t_.reshape(cfg.emotion_dim, B);
  float* spk_t = spk_t_.reshape(cfg.speaker_dim, B);
  for (int b = 0; b < B; ++b) {
    for (int i = 0; i < cfg.emotion_dim; ++i) emo_t[i * B + b] = emotions[b * cfg.emotion_dim + i];
    for (int i = 0; i < cfg.speaker_dim; ++i) spk_t[i * B + b] = speakers[b * cfg.speaker_dim + i];
  }
  float* t1 = t1_.reshape(2 * cd, B);
  linear(nullptr, w.time1.w, w.time1.b, 2 * cd, d.time_embed_dim, temb, B, t1);
  silu_inplace(t1, static_cast<std::size_t>(2 * cd) * B);
  float* cond = cond_.reshape(cd, B);
  linear(nullptr, w.time2.w, w.time2.b, cd, 2 * cd, t1, B, cond);
  float* tmp = ctmp_.reshape(cd, B);
  linear(nullptr, w.emotion.w, w.emotion.b, cd, cfg.emotion_dim, emo_t, B, tmp);
  add_inplace(cond, tmp, static_cast<std::size_t>(cd) * B);
  linear(nullptr, w.speaker.w, w.speaker.b, cd, cfg.speaker_dim, spk_t, B, tmp);
  add_inplace(cond, tmp, static_cast<std::size_t>(cd) * B);
  silu_inplace(cond, static_cast<std::size_t>(cd) * B);

  // Input concat(x, mu) in the [2C][B * F] layout.
  std::size_t cols = static_cast<std::size_t>(B) * frames;
  float* in = rows(b_, 2 * C, cols);
  for (int c = 0; c < C; ++c) {
    for (int b = 0; b < B; ++b) {
      std::memcpy(in + c * cols + static_cast<std::size_t>(b) * frames,
                  x + (static_cast<std::size_t>(b) * C + c) * frames, sizeof(float) * frames);
      std::memcpy(in + (C + c) * cols + static_cast<std::size_t>(b) * frames,
                  mu + static_cast<std::size_t>(c) * frames, sizeof(float) * frames);
    }
  }
  float* h = rows(h_, ch[0], cols);
  conv1d(pool, w.input.w, w.input.b, ch[0], 2 * C, k, 1, k / 2, in, B, frames, h, col_.data());

  int n = frames;
  int lengths[kMaxLevels];
  for (int i = 0; i < levels; ++i) {
    lengths[i] = n;
    for (const ResBlockW& r : w.down[static_cast<std::size_t>(i)]) res_block(pool, r, h_, B, n);
    if (i == levels - 1) {
      for (const TransformerBlockW& tb : w.transformer) transformer_block(pool, tb, h_, B, n);
    } else {
      Tensor& skip = skips_[static_cast<std::size_t>(i)];
      const std::size_t sz = static_cast<std::size_t>(ch[i]) * B * n;
      std::memcpy(skip.reshape(ch[i], B * n), h_.data(), sz * sizeof(float));
      const ConvW& ds = w.downsample[static_cast<std::size_t>(i)];
      const int n2 = conv_out_frames(n, k, 2, k / 2);
      float* y = rows(a_, ch[i + 1], static_cast<std::size_t>(B) * n2);
      conv1d(pool, ds.w, ds.b, ch[i + 1], ch[i], k, 2, k / 2, h_.data(), B, n, y, col_.data());
      std::swap(h_, a_);
      n = n2;
    }
  }
  for (int u = 0, i = levels - 2; i >= 0; --i, ++u) {
    const int n_up = lengths[i];
    const std::size_t cu = static_cast<std::size_t>(B) * n_up;
    float* up = rows(a_, ch[i + 1], cu);
    upsample2_nearest(h_.data(), ch[i + 1], B, n, n_up, up);
    // concat [upsample_conv(up); skip] -> h [2 ch_i][B n_up]
    float* cat = rows(h_, 2 * ch[i], cu);
    const ConvW& us = w.upsample[static_cast<std::size_t>(u)];
    conv1d(pool, us.w, us.b, ch[i], ch[i + 1], k, 1, k / 2, up, B, n_up, cat, col_.data());
    std::memcpy(cat + static_cast<std::size_t>(ch[i]) * cu, skips_[static_cast<std::size_t>(i)].data(),
                static_cast<std::size_t>(ch[i]) * cu * sizeof(float));
    n = n_up;
    for (const ResBlockW& r : w.up[static_cast<std::size_t>(u)]) res_block(pool, r, h_, B, n);
  }
  cols = static_cast<std::size_t>(B) * frames;
  float* a = rows(a_, ch[0], cols);
  channel_layer_norm(pool, h_.data(), w.out_norm.w, w.out_norm.b, ch[0], static_cast<int>(cols),
                     kEps, a, scratch_.data());
  silu_inplace(a, static_cast<std::size_t>(ch[0]) * cols);
  float* o = rows(out_, C, cols);
  linear(pool, w.out_conv.w, w.out_conv.b, C, ch[0], a, static_cast<int>(cols), o);
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      std::memcpy(out + (static_cast<std::size_t>(b) * C + c) * frames,
                  o + c * cols + static_cast<std::size_t>(b) * frames, sizeof(float) * frames);
}

}  // namespace emomix::detail
