// The Vocos-style vocoder (emomix.models.vocoder.Vocoder): ConvNeXt blocks at frame rate, then
// magnitude/phase and an inverse STFT. torch applies a dense windowed iDFT basis (one 1x1 conv);
// here the same frames come from a radix-2 complex FFT of the Hermitian spectra, 16 frames per
// transform (n_fft a power of two), or, for other sizes, the dense basis as a matrix product.
// Overlap-add and the squared-window normalisation follow InverseSTFT ("same" padding: F frames
// -> F * hop samples).
#include <algorithm>
#include <cmath>
#include <cstring>

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

int VocoderGraph::context() const noexcept {
  const VocoderParams& v = m_.config().vocoder;
  return v.input_kernel / 2 + v.n_layers * (v.kernel_size / 2) + (n_fft_ + hop_ - 1) / hop_;
}

std::size_t VocoderGraph::bytes() const noexcept {
  return (x_.capacity() + h_.capacity() + a_.capacity() + col_.capacity() + scratch_.capacity() +
          spec_.capacity() + frames_.capacity() + fft_.capacity() + basis_.size()) *
         sizeof(float);
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

void VocoderGraph::run(ThreadPool* pool, const float* mel, int frames, int a, int b,
                       int out_begin, int out_end, float* out) {
  const ModelConfig& cfg = m_.config();
  const VocoderParams& vp = cfg.vocoder;
  const VocoderW& w = m_.vocoder();
  const int C = cfg.audio.n_mels;
  const int n = b - a;
  const std::size_t nn = static_cast<std::size_t>(n);
  const int dim = vp.dim;

  float* x = rows(x_, C, nn);
  for (int c = 0; c < C; ++c)
    std::memcpy(x + c * nn, mel + static_cast<std::size_t>(c) * frames + a, sizeof(float) * nn);
  const int max_rows = std::max({dim, vp.intermediate_dim, 2 * bins_});
  float* h = rows(h_, dim, nn);
  float* t = a_.reshape(max_rows, n);
  col_.reshape(std::max(C * vp.input_kernel, dim), n);
  float* scr = scratch_.reshape(2, n);

  conv1d(pool, w.embed.w, w.embed.b, dim, C, vp.input_kernel, 1, vp.input_kernel / 2, x, 1, n, h,
         col_.data());
  channel_layer_norm(pool, h, w.norm.w, w.norm.b, dim, n, kEps, h, scr);
  for (const VocoderBlockW& blk : w.blocks) {
    float* d = x_.reshape(dim, n);
    depthwise_conv1d(pool, blk.dwconv.w, blk.dwconv.b, dim, blk.dwconv.kernel, h, 1, n, d);
    channel_layer_norm(pool, d, blk.norm.w, blk.norm.b, dim, n, kEps, d, scr);
    linear(pool, blk.pw1.w, blk.pw1.b, vp.intermediate_dim, dim, d, n, t);
    gelu_inplace(t, static_cast<std::size_t>(vp.intermediate_dim) * nn);
    linear(pool, blk.pw2.w, blk.pw2.b, dim, vp.intermediate_dim, t, n, d);
    for (int c = 0; c < dim; ++c) {
      const float g = blk.gamma[c];
      float* hr = h + c * nn;
      const float* dr = d + c * nn;
      for (std::size_t i = 0; i < nn; ++i) hr[i] += g * dr[i];
    }
  }
  channel_layer_norm(pool, h, w.final_norm.w, w.final_norm.b, dim, n, kEps, t, scr);
  float* spec = spec_.reshape(2 * bins_, n);
  linear(pool, w.head.w, w.head.b, 2 * bins_, dim, t, n, spec);
  // mag = exp(min(log_mag, log_mag_max)); (real, imag) = mag (cos phase, sin phase), in place.
  polar_inplace(spec, spec + static_cast<std::size_t>(bins_) * nn, static_cast<std::size_t>(bins_) * nn,
                vp.log_mag_max);
  float* fr = frames_.reshape(n, n_fft_);
  spectrum_to_frames(pool, spec, n, fr);

  // Overlap-add. Local frame l (global a + l) covers local OLA samples [l hop, l hop + N); the
  // output sample s (global) is OLA sample s + trim - a hop, divided by the summed squared
  // window of the same frames.
  const int trim = (n_fft_ - hop_) / 2;
  const long long first = static_cast<long long>(out_begin) * hop_;
  const long long count = static_cast<long long>(out_end - out_begin) * hop_;
  for (long long i = 0; i < count; ++i) {
    const long long u = first + i + trim - static_cast<long long>(a) * hop_;
    long long l1 = u / hop_;                      // last frame starting at or before u
    long long l0 = (u - n_fft_) / hop_ + 1;       // first frame still covering u
    if (u - n_fft_ < 0) l0 = 0;
    l1 = std::min<long long>(l1, n - 1);
    float y = 0.0f, env = 0.0f;
    for (long long l = l0; l <= l1; ++l) {
      const long long o = u - l * hop_;
      y += fr[l * n_fft_ + o];
      env += window_sq_[static_cast<std::size_t>(o)];
    }
    out[i] = y / env;
  }
}

}  // namespace emomix::detail
