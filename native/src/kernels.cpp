#include "emomix/kernels.hpp"

#include "vmath.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>

#if EMOMIX_WITH_BLAS
extern "C" {
// CBLAS (row-major = 101, no-trans = 111, trans = 112). Declared here so the build does not depend
// on where a distribution puts cblas.h.
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
#if EMOMIX_BLAS_OPENBLAS
void openblas_set_num_threads(int threads);
#endif
}
#endif

namespace emomix {

namespace {

// Parallel loops are cut into this many chunks per thread, so that a thread the OS does not run
// in time (busy cores) holds back at most a small share of the work.
constexpr int kChunksPerThread = 2;
// GEMMs are split more coarsely: every block repacks the weight matrix.
#ifndef EMOMIX_GEMM_CHUNKS
#define EMOMIX_GEMM_CHUNKS 1
#endif
constexpr int kGemmChunksPerThread = EMOMIX_GEMM_CHUNKS;

// Runs fn(begin, end) over [0, n) split into at most kChunksPerThread * pool->size() ranges of
// >= grain items.
template <class Fn>
void parallel_ranges(ThreadPool* pool, int n, int grain, Fn&& fn) {
  const int threads = pool ? pool->size() : 1;
  int parts = std::min(threads * kChunksPerThread, std::max(1, n / std::max(grain, 1)));
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  pool->run(parts, [&](int part, int) {
    int b, e;
    split_range(n, parts, part, b, e);
    if (b < e) fn(b, e);
  });
}

#if EMOMIX_WITH_BLAS
void blas_single_thread_once() {
#if EMOMIX_BLAS_OPENBLAS
  // The runtime parallelises over its own pool; OpenBLAS's threads would oversubscribe the cores.
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
#endif
}
#endif

void gemm_serial(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                 const float* b, int ldb, float beta, float* c, int ldc) {
#if EMOMIX_WITH_BLAS
  cblas_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
  gemm_fallback(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

}  // namespace

bool blas_enabled() noexcept { return EMOMIX_WITH_BLAS != 0; }

const char* blas_name() noexcept {
#if EMOMIX_WITH_BLAS && EMOMIX_BLAS_OPENBLAS
  return "openblas";
#elif EMOMIX_WITH_BLAS
  return "blas";
#else
  return "fallback";
#endif
}

void gemm_fallback(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda,
                   const float* b, int ldb, float beta, float* c, int ldc) noexcept {
  // Row of C at a time: C[i, :] = beta C[i, :] + alpha sum_p A(i, p) B(p, :). Unit-stride inner
  // loops when B is not transposed (the common case: weights times activations).
  for (int i = 0; i < m; ++i) {
    float* ci = c + static_cast<std::size_t>(i) * ldc;
    if (beta == 0.0f) {
      std::fill(ci, ci + n, 0.0f);
    } else if (beta != 1.0f) {
      for (int j = 0; j < n; ++j) ci[j] *= beta;
    }
    if (!tb) {
      for (int p = 0; p < k; ++p) {
        const float av = alpha * (ta ? a[static_cast<std::size_t>(p) * lda + i]
                                     : a[static_cast<std::size_t>(i) * lda + p]);
        const float* bp = b + static_cast<std::size_t>(p) * ldb;
        for (int j = 0; j < n; ++j) ci[j] += av * bp[j];
      }
    } else {
      for (int j = 0; j < n; ++j) {
        const float* bj = b + static_cast<std::size_t>(j) * ldb;
        float s = 0.0f;
        for (int p = 0; p < k; ++p) {
          s += (ta ? a[static_cast<std::size_t>(p) * lda + i]
                   : a[static_cast<std::size_t>(i) * lda + p]) * bj[p];
        }
        ci[j] += alpha * s;
      }
    }
  }
}

void gemm(ThreadPool* pool, bool ta, bool tb, int m, int n, int k, float alpha, const float* a,
          int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  if (m <= 0 || n <= 0) return;
#if EMOMIX_WITH_BLAS
  blas_single_thread_once();
#endif
  const double macs = static_cast<double>(m) * n * k;
  const int threads = pool ? pool->size() : 1;
  if (threads <= 1 || macs < 262144.0 || n < 64) {
    gemm_serial(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Split the columns of C into blocks (per thread), in multiples of 16 columns.
  const int blocks = (n + 15) / 16;
  const int parts = std::min(threads * kGemmChunksPerThread, blocks);
  pool->run(parts, [&](int part, int) {
    int b0, b1;
    split_range(blocks, parts, part, b0, b1);
    const int j0 = b0 * 16, j1 = std::min(n, b1 * 16);
    if (j0 >= j1) return;
    const float* bj = tb ? b + static_cast<std::size_t>(j0) * ldb : b + j0;
    gemm_serial(ta, tb, m, j1 - j0, k, alpha, a, lda, bj, ldb, beta, c + j0, ldc);
  });
}

void linear(ThreadPool* pool, const float* w, const float* bias, int out, int in, const float* x,
            int cols, float* y) {
  float beta = 0.0f;
  if (bias != nullptr) {
    for (int o = 0; o < out; ++o) std::fill(y + static_cast<std::size_t>(o) * cols,
                                            y + static_cast<std::size_t>(o + 1) * cols, bias[o]);
    beta = 1.0f;
  }
  gemm(pool, false, false, out, cols, in, 1.0f, w, in, x, cols, beta, y, cols);
}

int conv_out_frames(int frames_in, int kernel, int stride, int pad) noexcept {
  return (frames_in + 2 * pad - kernel) / stride + 1;
}

void conv1d(ThreadPool* pool, const float* w, const float* bias, int out, int in, int kernel,
            int stride, int pad, const float* x, int items, int frames_in, float* y, float* col) {
  const int fo = conv_out_frames(frames_in, kernel, stride, pad);
  const int cols = items * fo;
  if (kernel == 1 && stride == 1 && pad == 0) {
    linear(pool, w, bias, out, in, x, cols, y);
    return;
  }
  const std::size_t ld_in = static_cast<std::size_t>(items) * frames_in;
  parallel_ranges(pool, in, 8, [&](int i0, int i1) {
    for (int i = i0; i < i1; ++i) {
      for (int j = 0; j < kernel; ++j) {
        float* row = col + (static_cast<std::size_t>(i) * kernel + j) * cols;
        // output f reads input f * stride + j - pad: valid for f in [f0, f1)
        const int shift = j - pad;
        const int f0 = std::min(fo, shift < 0 ? (-shift + stride - 1) / stride : 0);
        const int f1 = std::max(f0, std::min(fo, (frames_in - shift + stride - 1) / stride));
        for (int b = 0; b < items; ++b) {
          const float* xi = x + i * ld_in + static_cast<std::size_t>(b) * frames_in;
          float* r = row + static_cast<std::size_t>(b) * fo;
          std::fill(r, r + f0, 0.0f);
          if (stride == 1) {
            std::memcpy(r + f0, xi + f0 + shift, sizeof(float) * static_cast<std::size_t>(f1 - f0));
          } else {
            for (int f = f0; f < f1; ++f) r[f] = xi[f * stride + shift];
          }
          std::fill(r + f1, r + fo, 0.0f);
        }
      }
    }
  });
  float beta = 0.0f;
  if (bias != nullptr) {
    for (int o = 0; o < out; ++o) std::fill(y + static_cast<std::size_t>(o) * cols,
                                            y + static_cast<std::size_t>(o + 1) * cols, bias[o]);
    beta = 1.0f;
  }
  gemm(pool, false, false, out, cols, in * kernel, 1.0f, w, in * kernel, col, cols, beta, y, cols);
}

namespace {
EMOMIX_SIMD_CLONES
void depthwise_rows(const float* w, const float* bias, int c0, int c1, int kernel, const float* x,
                    std::size_t ld_x, int frames_out, float* y) {
  for (int c = c0; c < c1; ++c) {
    const float* wc = w + static_cast<std::size_t>(c) * kernel;
    const float* xr = x + c * ld_x;
    float* yr = y + static_cast<std::size_t>(c) * frames_out;
    const float bc = bias ? bias[c] : 0.0f;
    for (int f = 0; f < frames_out; ++f) yr[f] = bc;
    for (int j = 0; j < kernel; ++j) {
      const float wj = wc[j];
      const float* xj = xr + j;
      for (int f = 0; f < frames_out; ++f) yr[f] += wj * xj[f];
    }
  }
}

EMOMIX_SIMD_CLONES
void layer_norm_cols(const float* x, const float* weight, const float* bias, int channels,
                     int cols, int j0, int j1, float eps, float* y, float* mean, float* rstd) {
  const int n = j1 - j0;
  const float inv_c = 1.0f / static_cast<float>(channels);
  for (int j = 0; j < n; ++j) mean[j] = 0.0f;
  for (int j = 0; j < n; ++j) rstd[j] = 0.0f;
  for (int c = 0; c < channels; ++c) {
    const float* xr = x + static_cast<std::size_t>(c) * cols + j0;
    for (int j = 0; j < n; ++j) mean[j] += xr[j];
  }
  for (int j = 0; j < n; ++j) mean[j] *= inv_c;
  for (int c = 0; c < channels; ++c) {
    const float* xr = x + static_cast<std::size_t>(c) * cols + j0;
    for (int j = 0; j < n; ++j) {
      const float d = xr[j] - mean[j];
      rstd[j] += d * d;
    }
  }
  for (int j = 0; j < n; ++j) rstd[j] = 1.0f / std::sqrt(rstd[j] * inv_c + eps);
  for (int c = 0; c < channels; ++c) {
    const float* xr = x + static_cast<std::size_t>(c) * cols + j0;
    float* yr = y + static_cast<std::size_t>(c) * cols + j0;
    const float wc = weight[c], bc = bias[c];
    for (int j = 0; j < n; ++j) yr[j] = (xr[j] - mean[j]) * rstd[j] * wc + bc;
  }
}

EMOMIX_SIMD_CLONES
void softmax_rows(float* s, int rows, int cols) {
  for (int i = 0; i < rows; ++i) {
    float* r = s + static_cast<std::size_t>(i) * cols;
    float mx = r[0];
    for (int j = 1; j < cols; ++j) mx = r[j] > mx ? r[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < cols; ++j) {
      r[j] = vmath::exp(r[j] - mx);
      sum += r[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < cols; ++j) r[j] *= inv;
  }
}
}  // namespace

void depthwise_conv1d_valid(ThreadPool* pool, const float* w, const float* bias, int channels,
                            int kernel, const float* x, std::size_t ld_x, int frames_out,
                            float* y) {
  parallel_ranges(pool, channels, 16, [&](int c0, int c1) {
    depthwise_rows(w, bias, c0, c1, kernel, x, ld_x, frames_out, y);
  });
}

void channel_layer_norm(ThreadPool* pool, const float* x, const float* weight, const float* bias,
                        int channels, int cols, float eps, float* y, float* scratch) {
  parallel_ranges(pool, cols, 64, [&](int j0, int j1) {
    layer_norm_cols(x, weight, bias, channels, cols, j0, j1, eps, y, scratch + j0,
                    scratch + cols + j0);
  });
}

EMOMIX_SIMD_CLONES
void relu_inplace(float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

EMOMIX_SIMD_CLONES
void silu_inplace(float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + vmath::exp(-x[i]));
}

EMOMIX_SIMD_CLONES
void gelu_inplace(float* x, std::size_t n) noexcept {
  // 0.5 x (1 + erf(x / sqrt 2)), erf odd: erf(-z) = -erf(z)
  constexpr float kInvSqrt2 = 0.70710678118654752440f;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float e = vmath::erf_pos((v < 0.0f ? -v : v) * kInvSqrt2);
    x[i] = 0.5f * v * (1.0f + (v < 0.0f ? -e : e));
  }
}

EMOMIX_SIMD_CLONES
void add_inplace(float* y, const float* x, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

EMOMIX_SIMD_CLONES
void polar_inplace(float* log_mag, float* phase, std::size_t n, float log_mag_max) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    const float mag = vmath::exp(log_mag[i] < log_mag_max ? log_mag[i] : log_mag_max);
    float s, c;
    vmath::sincos(phase[i], s, c);
    log_mag[i] = mag * c;
    phase[i] = mag * s;
  }
}

EMOMIX_SIMD_CLONES
void film_inplace(float* x, const float* film, int channels, int items, int frames) noexcept {
  const std::size_t ld = static_cast<std::size_t>(items) * frames;
  for (int c = 0; c < channels; ++c) {
    for (int b = 0; b < items; ++b) {
      const float scale = 1.0f + film[static_cast<std::size_t>(c) * items + b];
      const float shift = film[static_cast<std::size_t>(channels + c) * items + b];
      float* r = x + c * ld + static_cast<std::size_t>(b) * frames;
      for (int f = 0; f < frames; ++f) r[f] = r[f] * scale + shift;
    }
  }
}

void upsample2_nearest(const float* x, int channels, int items, int frames_in, int frames_out,
                       float* y) noexcept {
  const std::size_t ld_in = static_cast<std::size_t>(items) * frames_in;
  const std::size_t ld_out = static_cast<std::size_t>(items) * frames_out;
  for (int c = 0; c < channels; ++c) {
    for (int b = 0; b < items; ++b) {
      const float* xr = x + c * ld_in + static_cast<std::size_t>(b) * frames_in;
      float* yr = y + c * ld_out + static_cast<std::size_t>(b) * frames_out;
      for (int f = 0; f < frames_out; ++f) yr[f] = xr[f / 2];
    }
  }
}

std::size_t attention_scratch(int threads, int frames) noexcept {
  return static_cast<std::size_t>(std::max(threads, 1)) * frames * frames;
}

void attention(ThreadPool* pool, const float* qkv, int channels, int heads, int items, int frames,
               float* y, float* scratch) {
  const int hd = channels / heads;
  const int ld = items * frames;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  auto one = [&](int task, int thread) {
    const int b = task / heads, h = task % heads;
    float* s = scratch + static_cast<std::size_t>(thread) * frames * frames;
    const std::size_t col = static_cast<std::size_t>(b) * frames;
    const float* q = qkv + static_cast<std::size_t>(h) * hd * ld + col;
    const float* k = qkv + static_cast<std::size_t>(channels + h * hd) * ld + col;
    const float* v = qkv + static_cast<std::size_t>(2 * channels + h * hd) * ld + col;
    // s[i, j] = scale * sum_d q[d, i] k[d, j]
    gemm(nullptr, true, false, frames, frames, hd, scale, q, ld, k, ld, 0.0f, s, frames);
    softmax_rows(s, frames, frames);
    // y[d, i] = sum_j v[d, j] s[i, j]
    gemm(nullptr, false, true, hd, frames, frames, 1.0f, v, ld, s, frames, 0.0f,
         y + static_cast<std::size_t>(h) * hd * ld + col, ld);
  };
  if (pool) {
    pool->run(items * heads, one);
  } else {
    for (int t = 0; t < items * heads; ++t) one(t, 0);
  }
}

void sinusoidal_embedding(float t, int dim, float scale, float* out) noexcept {
  const int half = dim / 2;
  const float step = -std::log(10000.0f) / static_cast<float>(std::max(half - 1, 1));
  const float st = scale * t;
  for (int i = 0; i < half; ++i) {
    const float a = st * std::exp(static_cast<float>(i) * step);
    out[i] = std::sin(a);
    out[half + i] = std::cos(a);
  }
}

}  // namespace emomix
