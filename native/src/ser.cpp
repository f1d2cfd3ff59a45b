// The speech-emotion recogniser (emomix.models.ser.SER, mask = None) for one utterance:
// (log-mel, delta, delta-delta) -> conv blocks over (frequency, time) with per-position channel
// layer norm, ReLU and frequency halving -> per-frame projection -> forward and backward LSTMs
// -> additive attention pooling -> embedding -> logits.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "emomix/error.hpp"
#include "graphs.hpp"

namespace emomix::detail {

namespace {

// Regression deltas along time with edge replication (torchaudio compute_deltas):
// d[t] = sum_{n=-N..N} n x[clamp(t + n)] / sum_{n=-N..N} n^2, for each of `rows` rows.
void deltas(const float* x, int rows, int frames, int width, float* d) {
  const int n = (width - 1) / 2;
  float denom = 0.0f;
  for (int k = -n; k <= n; ++k) denom += static_cast<float>(k * k);
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + static_cast<std::size_t>(r) * frames;
    float* dr = d + static_cast<std::size_t>(r) * frames;
    for (int t = 0; t < frames; ++t) {
      float acc = 0.0f;
      for (int k = -n; k <= n; ++k) {
        const int src = std::min(frames - 1, std::max(0, t + k));
        acc += (static_cast<float>(k) / denom) * xr[src];
      }
      dr[t] = acc;
    }
  }
}

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

std::size_t SerGraph::bytes() const noexcept {
  return (a_.capacity() + b_.capacity() + col_.capacity() + scratch_.capacity() +
          gates_.capacity() + seq_.capacity() + att_.capacity() + h_.capacity() + c_.capacity() +
          g_.capacity() + pooled_.capacity()) *
         sizeof(float);
}

// One-way LSTM over x [in][frames] (columns = time); writes h_t to out[t * out_ld ...] (H floats).
void SerGraph::lstm(const LstmW& w, const float* x, int frames, bool reverse, float* out,
                    int out_ld) {
  const SerParams& sp = m_.config().ser;
  const int H = sp.lstm_hidden, in = sp.lstm_input;
  // gates_x [4H][frames] = W_ih x + b_ih + b_hh
  float* gx = gates_.reshape(4 * H, frames);
  for (int r = 0; r < 4 * H; ++r) {
    const float b = w.b_ih[r] + w.b_hh[r];
    std::fill(gx + static_cast<std::size_t>(r) * frames, gx + static_cast<std::size_t>(r + 1) * frames, b);
  }
  gemm(nullptr, false, false, 4 * H, frames, in, 1.0f, w.w_ih, in, x, frames, 1.0f, gx, frames);
  h_.assign(static_cast<std::size_t>(H), 0.0f);
  c_.assign(static_cast<std::size_t>(H), 0.0f);
  g_.resize(static_cast<std::size_t>(4 * H));
  for (int s = 0; s < frames; ++s) {
    const int t = reverse ? frames - 1 - s : s;
    for (int r = 0; r < 4 * H; ++r) g_[static_cast<std::size_t>(r)] = gx[static_cast<std::size_t>(r) * frames + t];
    gemm(nullptr, false, false, 4 * H, 1, H, 1.0f, w.w_hh, H, h_.data(), 1, 1.0f, g_.data(), 1);
    for (int j = 0; j < H; ++j) {
      const float i = sigmoid(g_[static_cast<std::size_t>(j)]);
      const float f = sigmoid(g_[static_cast<std::size_t>(H + j)]);
      const float g = std::tanh(g_[static_cast<std::size_t>(2 * H + j)]);
      const float o = sigmoid(g_[static_cast<std::size_t>(3 * H + j)]);
      c_[static_cast<std::size_t>(j)] = f * c_[static_cast<std::size_t>(j)] + i * g;
      h_[static_cast<std::size_t>(j)] = o * std::tanh(c_[static_cast<std::size_t>(j)]);
    }
    std::memcpy(out + static_cast<std::size_t>(t) * out_ld, h_.data(), sizeof(float) * H);
  }
}

void SerGraph::run(ThreadPool* pool, const float* logmel, int frames, float* embedding,
                   float* logits) {
  const ModelConfig& cfg = m_.config();
  const SerParams& sp = cfg.ser;
  const SerW& w = m_.ser();
  if (!m_.has_ser()) throw Unavailable("this voice bundle has no SER weights");
  if (frames < 1) throw InvalidArgument("ser needs at least one frame");
  const int C = cfg.audio.n_mels, k = sp.cnn_kernel, pad = k / 2;
  const std::size_t plane = static_cast<std::size_t>(C) * frames;

  // (log-mel, delta, delta-delta) stacked as 3 channels of [C][F]
  float* x = a_.reshape(3, C, frames);
  std::memcpy(x, logmel, plane * sizeof(float));
  deltas(x, C, frames, sp.delta_width, x + plane);
  deltas(x + plane, C, frames, sp.delta_width, x + 2 * plane);

  int c_in = 3, q = C;
  Tensor* cur = &a_;
  Tensor* nxt = &b_;
  for (std::size_t i = 0; i < w.conv.size(); ++i) {
    const ConvW& cv = w.conv[i];
    const int co = cv.out;
    const std::size_t cols = static_cast<std::size_t>(q) * frames;
    // im2col over (frequency, time): row (ci, ky, kx), column (y, t)
    float* col = col_.reshape(c_in * k * k, static_cast<int>(cols));
    const float* in = cur->data();
    for (int ci = 0; ci < c_in; ++ci)
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          float* row = col + (static_cast<std::size_t>(ci * k + ky) * k + kx) * cols;
          for (int y = 0; y < q; ++y) {
            const int sy = y + ky - pad;
            float* r = row + static_cast<std::size_t>(y) * frames;
            if (sy < 0 || sy >= q) {
              std::fill(r, r + frames, 0.0f);
              continue;
            }
            const float* src = in + (static_cast<std::size_t>(ci) * q + sy) * frames;
            for (int t = 0; t < frames; ++t) {
              const int st = t + kx - pad;
              r[t] = (st >= 0 && st < frames) ? src[st] : 0.0f;
            }
          }
        }
    float* y = nxt->reshape(co, static_cast<int>(cols));
    for (int o = 0; o < co; ++o) std::fill(y + o * cols, y + (o + 1) * cols, cv.b[o]);
    gemm(pool, false, false, co, static_cast<int>(cols), c_in * k * k, 1.0f, cv.w, c_in * k * k,
         col, static_cast<int>(cols), 1.0f, y, static_cast<int>(cols));
    float* scr = scratch_.reshape(2, static_cast<int>(cols));
    channel_layer_norm(pool, y, w.norm[i].w, w.norm[i].b, co, static_cast<int>(cols), 1e-5f, y, scr);
    relu_inplace(y, co * cols);
    // halve frequency: max over pairs (an odd last row is dropped)
    const int q2 = q / 2;
    float* h = cur->reshape(co, q2, frames);
    for (int o = 0; o < co; ++o)
      for (int i2 = 0; i2 < q2; ++i2) {
        const float* r0 = y + (static_cast<std::size_t>(o) * q + 2 * i2) * frames;
        const float* r1 = r0 + frames;
        float* d = h + (static_cast<std::size_t>(o) * q2 + i2) * frames;
        for (int t = 0; t < frames; ++t) d[t] = std::max(r0[t], r1[t]);
      }
    c_in = co;
    q = q2;
  }
  // per-frame projection + ReLU: [c*q][F] -> [D][F]
  const int D = sp.lstm_input, H = sp.lstm_hidden;
  float* proj = nxt->reshape(D, frames);
  linear(pool, w.frame_proj.w, w.frame_proj.b, D, c_in * q, cur->data(), frames, proj);
  relu_inplace(proj, static_cast<std::size_t>(D) * frames);
  // BLSTM outputs, frame-major [F][2H]
  float* seq = seq_.reshape(frames, 2 * H);
  lstm(w.fwd, proj, frames, false, seq, 2 * H);
  lstm(w.bwd, proj, frames, true, seq + H, 2 * H);
  // attention pooling: scores[t] = v . tanh(W out_t + b)
  const int A = sp.attention_dim;
  float* att = att_.reshape(frames, A + 1);
  float* proj_t = att;  // [F][A]
  for (int t = 0; t < frames; ++t) std::copy(w.attn_proj.b, w.attn_proj.b + A, proj_t + static_cast<std::size_t>(t) * A);
  gemm(pool, false, true, frames, A, 2 * H, 1.0f, seq, 2 * H, w.attn_proj.w, 2 * H, 1.0f, proj_t, A);
  float* scores = att + static_cast<std::size_t>(frames) * A;
  float mx = -1e30f;
  for (int t = 0; t < frames; ++t) {
    float sc = 0.0f;
    for (int a = 0; a < A; ++a) sc += w.attn_score[a] * std::tanh(proj_t[static_cast<std::size_t>(t) * A + a]);
    scores[t] = sc;
    mx = std::max(mx, sc);
  }
  float sum = 0.0f;
  for (int t = 0; t < frames; ++t) sum += scores[t] = std::exp(scores[t] - mx);
  pooled_.assign(static_cast<std::size_t>(2 * H), 0.0f);
  for (int t = 0; t < frames; ++t) {
    const float wt = scores[t] / sum;
    for (int j = 0; j < 2 * H; ++j) pooled_[static_cast<std::size_t>(j)] += wt * seq[static_cast<std::size_t>(t) * 2 * H + j];
  }
  linear(nullptr, w.embedding.w, w.embedding.b, cfg.emotion_dim, 2 * H, pooled_.data(), 1, embedding);
  linear(nullptr, w.classifier.w, w.classifier.b, cfg.n_emotions, cfg.emotion_dim, embedding, 1, logits);
}

}  // namespace emomix::detail
