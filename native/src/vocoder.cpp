// The Vocos-style vocoder (emomix.models.vocoder.Vocoder): ConvNeXt blocks at frame rate, then
// magnitude/phase and an inverse STFT. torch applies a dense windowed iDFT basis (one 1x1 conv);
// here the same frames come from a radix-2 complex FFT of the Hermitian spectra, 16 frames per
// transform (n_fft a power of two), or, for other sizes, the dense basis as a matrix product.
// Overlap-add and the squared-window normalisation follow InverseSTFT ("same" padding: F frames
// -> F * hop samples).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "emomix/error.hpp"
#include "graphs.hpp"
#include "vmath.hpp"

namespace emomix::detail {

namespace {
constexpr float kEps = 1e-6f;
constexpr double kPi = 3.14159265358979323846;

// The inverse FFT runs on kLanes frames at once: every complex value is a vector of kLanes floats
// (one per frame), so each butterfly is one SIMD operation whatever the stage's length. Two
// real frames share one complex transform: Z = X_a + i X_b gives z = x_a + i x_b.
constexpr int kLanes = 8;

// One radix-2 stage over a whole lane-vector array of n_fft complex vectors. The lane vectors
// are GCC/Clang vector types (one AVX register; two SSE registers in the portable build); other
// compilers take the scalar loop.
#if defined(__GNUC__)
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
// Loads and stores through memcpy (unaligned; passing Lanes by value would warn -Wpsabi in the
// portable build).
inline void load(Lanes& v, const float* p) { std::memcpy(&v, p, sizeof v); }
inline void store(float* p, const Lanes& v) { std::memcpy(p, &v, sizeof v); }

EMOMIX_SIMD_CLONES
void lane_stage(float* re, float* im, const float* twr, const float* twi, int n, int half) {
  const std::size_t step = static_cast<std::size_t>(half) * kLanes;
  for (int s = 0; s < n; s += 2 * half) {
    for (int j = 0; j < half; ++j) {
      const float wr = twr[j], wi = twi[j];
      float* pr = re + static_cast<std::size_t>(s + j) * kLanes;
      float* pi = im + static_cast<std::size_t>(s + j) * kLanes;
      Lanes ar, ai, br, bi;
      load(ar, pr);
      load(ai, pi);
      load(br, pr + step);
      load(bi, pi + step);
      const Lanes xr = br * wr - bi * wi, xi = br * wi + bi * wr;
      const Lanes sr = ar + xr, si = ai + xi, dr = ar - xr, di = ai - xi;
      store(pr, sr);
      store(pi, si);
      store(pr + step, dr);
      store(pi + step, di);
    }
  }
}
#else
void lane_stage(float* re, float* im, const float* twr, const float* twi, int n, int half) {
  const std::size_t step = static_cast<std::size_t>(half) * kLanes;
  for (int s = 0; s < n; s += 2 * half) {
    for (int j = 0; j < half; ++j) {
      float* pr = re + static_cast<std::size_t>(s + j) * kLanes;
      float* pi = im + static_cast<std::size_t>(s + j) * kLanes;
      for (int l = 0; l < kLanes; ++l) {
        const float xr = pr[step + l] * twr[j] - pi[step + l] * twi[j];
        const float xi = pr[step + l] * twi[j] + pi[step + l] * twr[j];
        pr[step + l] = pr[l] - xr;
        pi[step + l] = pi[l] - xi;
        pr[l] += xr;
        pi[l] += xi;
      }
    }
  }
}
#endif
}  // namespace

VocoderGraph::VocoderGraph(const Model& m) : m_(m) {
  const AudioParams& a = m.config().audio;
  n_fft_ = a.n_fft;
  hop_ = a.hop_length;
  bins_ = n_fft_ / 2 + 1;
  trim_ = (n_fft_ - hop_) / 2;
  targets_.resize(static_cast<std::size_t>(m.config().vocoder.n_layers) + 1);
  lookahead_ = vocoder_lookahead(m.config());
  use_fft_ = n_fft_ >= 4 && (n_fft_ & (n_fft_ - 1)) == 0;
  window_.resize(static_cast<std::size_t>(n_fft_));
  window_sq_.resize(static_cast<std::size_t>(n_fft_));
  for (int i = 0; i < n_fft_; ++i) {
    const double w = 0.5 - 0.5 * std::cos(2.0 * kPi * i / n_fft_);  // periodic Hann, float64
    window_[static_cast<std::size_t>(i)] = static_cast<float>(w);
    window_sq_[static_cast<std::size_t>(i)] = static_cast<float>(w * w);
  }
  if (use_fft_) {
    // Twiddles of every stage stored contiguously (stage len at offset len / 2 - 1). Inverse:
    // e^{+2 pi i j / len}.
    tw_re_.resize(static_cast<std::size_t>(n_fft_));
    tw_im_.resize(static_cast<std::size_t>(n_fft_));
    for (int len = 2; len <= n_fft_; len <<= 1) {
      for (int j = 0; j < len / 2; ++j) {
        const std::size_t at = static_cast<std::size_t>(len / 2 - 1 + j);
        tw_re_[at] = static_cast<float>(std::cos(2.0 * kPi * j / len));
        tw_im_[at] = static_cast<float>(std::sin(2.0 * kPi * j / len));
      }
    }
    int bits = 0;
    while ((1 << bits) < n_fft_) ++bits;
    bitrev_.resize(static_cast<std::size_t>(n_fft_));
    for (int i = 0; i < n_fft_; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
      bitrev_[static_cast<std::size_t>(i)] = r;
    }
  } else {
    // basis[n][k] = s_k cos(2 pi k n / N) / N * w[n]; basis[n][bins + k] = -s_k sin(...) / N * w[n]
    basis_.resize(static_cast<std::size_t>(n_fft_) * 2 * bins_);
    for (int n = 0; n < n_fft_; ++n) {
      for (int k = 0; k < bins_; ++k) {
        const double s = (k == 0 || k == bins_ - 1) ? 1.0 : 2.0;
        const double ang = 2.0 * kPi * k * n / n_fft_;
        const double w = 0.5 - 0.5 * std::cos(2.0 * kPi * n / n_fft_);
        basis_[static_cast<std::size_t>(n) * 2 * bins_ + k] =
            static_cast<float>(s * std::cos(ang) / n_fft_ * w);
        basis_[static_cast<std::size_t>(n) * 2 * bins_ + bins_ + k] =
            static_cast<float>(-s * std::sin(ang) / n_fft_ * w);
      }
    }
  }
}

namespace {
// STFT frames [0, k) that the samples of frames [0, end) use: the last sample of frame end - 1 is
// OLA sample end hop - 1 + trim, in frames up to (end hop - 1 + trim) / hop.
int spec_frames_for(int end, int hop, int trim) noexcept {
  return end <= 0 ? 0 : (end * hop - 1 + trim) / hop + 1;
}
}  // namespace

int vocoder_lookahead(const ModelConfig& c) noexcept {
  const VocoderParams& v = c.vocoder;
  const int trim = (c.audio.n_fft - c.audio.hop_length) / 2;
  return v.input_kernel / 2 + v.n_layers * (v.kernel_size / 2) +
         (spec_frames_for(1, c.audio.hop_length, trim) - 1);
}

std::size_t VocoderGraph::bytes() const noexcept {
  std::size_t n = x_.capacity() + h_.capacity() + a_.capacity() + col_.capacity() +
                  scratch_.capacity() + spec_.capacity() + fft_.capacity() +
                  basis_.size() + whole_.mel.data.capacity() + whole_.ola.capacity();
  for (const FrameWindow& l : whole_.levels) n += l.data.capacity();
  return n * sizeof(float);
}

// spec [2 bins][n] (real rows, then imaginary rows) -> frames [n][n_fft], windowed.
void VocoderGraph::spectrum_to_frames(ThreadPool* pool, const float* spec, int n, float* frames) {
  const int N = n_fft_;
  if (!use_fft_) {
    // frames^T [N][n] = basis [N][2 bins] x spec [2 bins][n]; transpose into [n][N].
    float* ft = fft_.reshape(N, n);
    gemm(pool, false, false, N, n, 2 * bins_, 1.0f, basis_.data(), 2 * bins_, spec, n, 0.0f, ft, n);
    for (int f = 0; f < n; ++f)
      for (int i = 0; i < N; ++i) frames[static_cast<std::size_t>(f) * N + i] = ft[static_cast<std::size_t>(i) * n + f];
    return;
  }
  // Blocks of 2 kLanes frames: frames [f, f + kLanes) are the real parts, the next kLanes the
  // imaginary parts of one lane-vector transform.
  const int threads = pool ? pool->size() : 1;
  const int block = 2 * kLanes;
  const int blocks = (n + block - 1) / block;
  float* work = fft_.reshape(threads, 2 * N * kLanes);
  const float inv_n = 1.0f / static_cast<float>(N);
  auto one = [&](int b0, int b1, int thread) {
    float* re = work + static_cast<std::size_t>(thread) * 2 * N * kLanes;
    float* im = re + static_cast<std::size_t>(N) * kLanes;
    for (int blk = b0; blk < b1; ++blk) {
      const int fa = blk * block;
      const int na = std::min(kLanes, n - fa);                 // frames in the real half
      const int nb = std::max(0, std::min(kLanes, n - fa - kLanes));  // ... in the imaginary half
      // Hermitian spectra in bit-reversed order; DC and Nyquist imaginary parts are ignored, as
      // the torch basis (sin 0 = sin(pi n) = 0) ignores them. Missing frames are zero.
      for (int k = 0; k < N; ++k) {
        const int kk = k <= N / 2 ? k : N - k;
        const float sign = k > N / 2 ? -1.0f : (k == 0 || k == N / 2 ? 0.0f : 1.0f);
        const float* sr = spec + static_cast<std::size_t>(kk) * n + fa;
        const float* si = spec + static_cast<std::size_t>(bins_ + kk) * n + fa;
        float* zr = re + static_cast<std::size_t>(bitrev_[static_cast<std::size_t>(k)]) * kLanes;
        float* zi = im + static_cast<std::size_t>(bitrev_[static_cast<std::size_t>(k)]) * kLanes;
        for (int l = 0; l < kLanes; ++l) {
          const float ar = l < na ? sr[l] : 0.0f, ai = l < na ? sign * si[l] : 0.0f;
          const float br = l < nb ? sr[kLanes + l] : 0.0f;
          const float bi = l < nb ? sign * si[kLanes + l] : 0.0f;
          zr[l] = ar - bi;  // Z = A + i B
          zi[l] = ai + br;
        }
      }
      for (int half = 1; half < N; half <<= 1) {
        lane_stage(re, im, tw_re_.data() + half - 1, tw_im_.data() + half - 1, N, half);
      }
      for (int l = 0; l < na; ++l) {
        float* out = frames + static_cast<std::size_t>(fa + l) * N;
        for (int i = 0; i < N; ++i)
          out[i] = re[static_cast<std::size_t>(i) * kLanes + l] * inv_n * window_[static_cast<std::size_t>(i)];
      }
      for (int l = 0; l < nb; ++l) {
        float* out = frames + static_cast<std::size_t>(fa + kLanes + l) * N;
        for (int i = 0; i < N; ++i)
          out[i] = im[static_cast<std::size_t>(i) * kLanes + l] * inv_n * window_[static_cast<std::size_t>(i)];
      }
    }
  };
  if (threads <= 1 || blocks < 2) {
    one(0, blocks, 0);
  } else {
    pool->run(threads, [&](int part, int thread) {
      int b, e;
      split_range(blocks, threads, part, b, e);
      if (b < e) one(b, e, thread);
    });
  }
}

void FrameWindow::append(const float* src, std::size_t ld, int n) {
  if (n <= 0) return;
  if (len + n > cap) {
    const int new_cap = std::max(len + n, 2 * cap);
    std::vector<float> grown(static_cast<std::size_t>(rows) * new_cap);
    for (int r = 0; r < rows && len > 0; ++r)
      std::memcpy(grown.data() + static_cast<std::size_t>(r) * new_cap,
                  data.data() + static_cast<std::size_t>(r) * cap, sizeof(float) * len);
    data.swap(grown);
    cap = new_cap;
  }
  for (int r = 0; r < rows; ++r)
    std::memcpy(data.data() + static_cast<std::size_t>(r) * cap + len, src + r * ld,
                sizeof(float) * static_cast<std::size_t>(n));
  len += n;
}

void FrameWindow::drop_before(int frame) noexcept {
  const int k = std::min(std::max(frame - lo, 0), len);
  if (k == 0) return;
  for (int r = 0; r < rows; ++r) {
    float* row = data.data() + static_cast<std::size_t>(r) * cap;
    std::memmove(row, row + k, sizeof(float) * static_cast<std::size_t>(len - k));
  }
  lo += k;
  len -= k;
}

void FrameWindow::read(int a, int b, float* dst, std::size_t ld) const noexcept {
  // [a, b) = zeros before max(a, 0), stored frames, zeros from hi() on
  const int s0 = std::min(std::max(a, 0), b), s1 = std::max(std::min(b, hi()), s0);
  for (int r = 0; r < rows; ++r) {
    float* d = dst + r * ld;
    std::fill(d, d + (s0 - a), 0.0f);
    if (s1 > s0)
      std::memcpy(d + (s0 - a), data.data() + static_cast<std::size_t>(r) * cap + (s0 - lo),
                  sizeof(float) * static_cast<std::size_t>(s1 - s0));
    std::fill(d + (s1 - a), d + (b - a), 0.0f);
  }
}

void VocoderState::reset(int n_mels, int dim, int n_layers) {
  mel.reset(n_mels);
  levels.resize(static_cast<std::size_t>(n_layers));
  for (FrameWindow& l : levels) l.reset(dim);
  ola_lo = ola_len = done = 0;
  ended = false;
}

void VocoderGraph::run(ThreadPool* pool, const float* mel, int frames, float* out) {
  const ModelConfig& cfg = m_.config();
  whole_.reset(cfg.audio.n_mels, cfg.vocoder.dim, cfg.vocoder.n_layers);
  whole_.mel.append(mel, static_cast<std::size_t>(frames), frames);
  whole_.ended = true;
  pull(pool, whole_, frames, out);
}

int VocoderGraph::pull(ThreadPool* pool, VocoderState& s, int max_frames, float* out) {
  const ModelConfig& cfg = m_.config();
  const VocoderParams& vp = cfg.vocoder;
  const VocoderW& w = m_.vocoder();
  const int C = cfg.audio.n_mels;
  const int dim = vp.dim;
  const int L = static_cast<int>(w.blocks.size());
  const int pushed = s.mel.hi();
  const int begin = s.done;
  const int end = std::min(s.ready_end(lookahead_), begin + std::max(max_frames, 0));
  if (end <= begin) return 0;

  // What each level must reach: STFT frames for the samples of [0, end), and each level the
  // frames the next one reads (its kernel's reach to the right); never past the line's end.
  const int limit = s.ended ? pushed : std::numeric_limits<int>::max();
  const int spec_hi = s.ola_lo + s.ola_len;
  const int rk = vp.input_kernel / 2;
  std::vector<int>& target = targets_;  // sized n_layers + 1 at construction
  target[static_cast<std::size_t>(L)] = std::min(spec_frames_for(end, hop_, trim_), limit);
  int max_new = target[static_cast<std::size_t>(L)] - spec_hi, reach = rk;
  for (int l = L - 1; l >= 0; --l) {
    const std::size_t i = static_cast<std::size_t>(l);
    const int r = w.blocks[i].dwconv.kernel / 2;
    target[i] = std::max(std::min(target[i + 1] + r, limit), s.levels[i].hi());
    max_new = std::max(max_new, target[i] - s.levels[i].hi());
    reach = std::max(reach, r);
  }
  const int max_cols = std::max(max_new, 1) + 2 * reach;
  float* win = x_.reshape(std::max(C, dim), max_cols);
  float* h = h_.reshape(dim, max_cols);
  float* t = a_.reshape(std::max(vp.intermediate_dim, dim), max_cols);
  col_.reshape(std::max(C * vp.input_kernel, dim), max_cols);
  float* scr = scratch_.reshape(2, max_cols);

  // Level 0 = LayerNorm(embed(mel)) for its new frames, from the mel with rk frames each side.
  int at = L > 0 ? s.levels[0].hi() : spec_hi;
  int n = target[0] - at;
  if (n > 0) {
    const int wn = n + 2 * rk;
    s.mel.read(at - rk, at + n + rk, win, static_cast<std::size_t>(wn));
    conv1d(pool, w.embed.w, w.embed.b, dim, C, vp.input_kernel, 1, 0, win, 1, wn, h, col_.data());
    channel_layer_norm(pool, h, w.norm.w, w.norm.b, dim, n, kEps, h, scr);
  }
  // Block l: h_{l+1} = h_l + gamma pw2(GELU(pw1(LN(dwconv(h_l))))) for its new frames. h holds
  // the frames [at, at + n) just made; they join level l's window, which the block reads with
  // r frames each side.
  for (int l = 0; l < L; ++l) {
    const VocoderBlockW& blk = w.blocks[static_cast<std::size_t>(l)];
    FrameWindow& in = s.levels[static_cast<std::size_t>(l)];
    in.append(h, static_cast<std::size_t>(n), n);
    const int r = blk.dwconv.kernel / 2;
    at = l + 1 < L ? s.levels[static_cast<std::size_t>(l) + 1].hi() : spec_hi;
    n = target[l + 1] - at;
    if (n <= 0) {
      n = 0;
      continue;
    }
    const int wn = n + 2 * r;
    const std::size_t nn = static_cast<std::size_t>(n);
    in.read(at - r, at + n + r, win, static_cast<std::size_t>(wn));
    depthwise_conv1d_valid(pool, blk.dwconv.w, blk.dwconv.b, dim, blk.dwconv.kernel, win,
                           static_cast<std::size_t>(wn), n, h);
    channel_layer_norm(pool, h, blk.norm.w, blk.norm.b, dim, n, kEps, h, scr);
    linear(pool, blk.pw1.w, blk.pw1.b, vp.intermediate_dim, dim, h, n, t);
    gelu_inplace(t, static_cast<std::size_t>(vp.intermediate_dim) * nn);
    linear(pool, blk.pw2.w, blk.pw2.b, dim, vp.intermediate_dim, t, n, h);
    for (int c = 0; c < dim; ++c) {  // residual: the block's input at the same frames
      const float g = blk.gamma[c];
      float* hr = h + c * nn;
      const float* xr = win + static_cast<std::size_t>(c) * wn + r;
      for (std::size_t i = 0; i < nn; ++i) hr[i] = xr[i] + g * hr[i];
    }
    in.drop_before(at + n - r);  // the next call starts at at + n and reads r frames before it
  }
  s.mel.drop_before((L > 0 ? s.levels[0].hi() : spec_hi) - rk);

  // Head: LayerNorm -> linear -> polar -> windowed inverse FFT, appended to the OLA frames.
  if (n > 0) {
    const std::size_t nn = static_cast<std::size_t>(n);
    channel_layer_norm(pool, h, w.final_norm.w, w.final_norm.b, dim, n, kEps, t, scr);
    float* spec = spec_.reshape(2 * bins_, n);
    linear(pool, w.head.w, w.head.b, 2 * bins_, dim, t, n, spec);
    // mag = exp(min(log_mag, log_mag_max)); (real, imag) = mag (cos phase, sin phase), in place.
    polar_inplace(spec, spec + static_cast<std::size_t>(bins_) * nn,
                  static_cast<std::size_t>(bins_) * nn, vp.log_mag_max);
    const std::size_t old = static_cast<std::size_t>(s.ola_len) * n_fft_;
    s.ola.resize(old + nn * n_fft_);
    spectrum_to_frames(pool, spec, n, s.ola.data() + old);
    s.ola_len += n;
  }

  // Overlap-add. STFT frame l covers OLA samples [l hop, l hop + N); output sample i is OLA
  // sample i + trim, divided by the summed squared window of the frames that cover it.
  const int last = s.ended ? pushed - 1 : std::numeric_limits<int>::max();
  const long long first = static_cast<long long>(begin) * hop_;
  const long long count = static_cast<long long>(end - begin) * hop_;
  for (long long i = 0; i < count; ++i) {
    const long long u = first + i + trim_;
    const long long l1 = std::min<long long>(u / hop_, last);  // last frame starting at or before u
    const long long l0 = u - n_fft_ < 0 ? 0 : (u - n_fft_) / hop_ + 1;  // first still covering u
    float y = 0.0f, env = 0.0f;
    for (long long l = l0; l <= l1; ++l) {
      const long long o = u - l * hop_;
      y += s.ola[static_cast<std::size_t>(l - s.ola_lo) * n_fft_ + static_cast<std::size_t>(o)];
      env += window_sq_[static_cast<std::size_t>(o)];
    }
    out[i] = y / env;
  }
  s.done = end;
  // Keep the STFT frames that still cover samples of frames from `end` on.
  const long long u_next = static_cast<long long>(end) * hop_ + trim_;
  const int keep = static_cast<int>(u_next - n_fft_ < 0 ? 0 : (u_next - n_fft_) / hop_ + 1);
  const int k = std::min(std::max(keep - s.ola_lo, 0), s.ola_len);
  if (k > 0) {
    s.ola.erase(s.ola.begin(), s.ola.begin() + static_cast<std::ptrdiff_t>(k) * n_fft_);
    s.ola_lo += k;
    s.ola_len -= k;
  }
  return end - begin;
}

}  // namespace emomix::detail
