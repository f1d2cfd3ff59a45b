// CPU kernels against naive reference loops (double accumulation), with guard checks.
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "emomix/kernels.hpp"
#include "emomix/tensor.hpp"
#include "emomix/thread_pool.hpp"
#include "harness.hpp"

namespace {

std::vector<float> randn(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

double rel_err(const std::vector<float>& a, const std::vector<double>& ref) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - ref[i]) * (a[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

double gemm_case(bool ta, bool tb, int m, int n, int k, bool fallback, emomix::ThreadPool* pool) {
  const int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 5, ldc = n + 2;
  auto a = randn(static_cast<std::size_t>(ta ? k : m) * lda, 1);
  auto b = randn(static_cast<std::size_t>(tb ? n : k) * ldb, 2);
  auto c = randn(static_cast<std::size_t>(m) * ldc, 3);
  const float alpha = 0.7f, beta = 0.3f;
  std::vector<double> ref(c.size());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < ldc; ++j) {
      const std::size_t ij = static_cast<std::size_t>(i) * ldc + j;
      if (j >= n) {  // outside the product: must be untouched
        ref[ij] = c[ij];
        continue;
      }
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const double av = ta ? a[static_cast<std::size_t>(p) * lda + i] : a[static_cast<std::size_t>(i) * lda + p];
        const double bv = tb ? b[static_cast<std::size_t>(j) * ldb + p] : b[static_cast<std::size_t>(p) * ldb + j];
        s += av * bv;
      }
      ref[ij] = alpha * s + beta * c[ij];
    }
  if (fallback) {
    emomix::gemm_fallback(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  } else {
    emomix::gemm(pool, ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
  }
  return rel_err(c, ref);
}

}  // namespace

TEST(kernels_gemm_matches_reference) {
  emomix::ThreadPool pool(3);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int fb = 0; fb < 2; ++fb) {
        CHECK(gemm_case(ta, tb, 7, 5, 3, fb, nullptr) < 1e-6);
        CHECK(gemm_case(ta, tb, 64, 300, 96, fb, &pool) < 1e-6);  // split over the pool
        CHECK(gemm_case(ta, tb, 1, 130, 1, fb, &pool) < 1e-6);
        CHECK(gemm_case(ta, tb, 13, 37, 50, fb, nullptr) < 1e-6);  // partial row and column blocks
        CHECK(gemm_case(ta, tb, 80, 484, 480, fb, &pool) < 1e-6);  // a denoiser convolution's size
      }
}

TEST(kernels_conv1d_matches_reference) {
  emomix::ThreadPool pool(2);
  struct Case { int out, in, k, stride, items, frames; };
  for (const Case& c : {Case{5, 3, 3, 1, 2, 9}, Case{8, 4, 3, 2, 3, 7}, Case{6, 6, 7, 1, 1, 4},
                        Case{4, 5, 1, 1, 2, 6}, Case{16, 8, 3, 2, 2, 1}}) {
    const int pad = c.k / 2;
    const int fo = emomix::conv_out_frames(c.frames, c.k, c.stride, pad);
    auto w = randn(static_cast<std::size_t>(c.out) * c.in * c.k, 4);
    auto bias = randn(static_cast<std::size_t>(c.out), 5);
    auto x = randn(static_cast<std::size_t>(c.in) * c.items * c.frames, 6);
    std::vector<float> y(static_cast<std::size_t>(c.out) * c.items * fo);
    std::vector<float> col(static_cast<std::size_t>(c.in) * c.k * c.items * fo);
    emomix::conv1d(&pool, w.data(), bias.data(), c.out, c.in, c.k, c.stride, pad, x.data(), c.items,
                   c.frames, y.data(), col.data());
    std::vector<double> ref(y.size());
    for (int o = 0; o < c.out; ++o)
      for (int b = 0; b < c.items; ++b)
        for (int f = 0; f < fo; ++f) {
          double s = bias[static_cast<std::size_t>(o)];
          for (int i = 0; i < c.in; ++i)
            for (int j = 0; j < c.k; ++j) {
              const int src = f * c.stride + j - pad;
              if (src < 0 || src >= c.frames) continue;
              s += static_cast<double>(w[(static_cast<std::size_t>(o) * c.in + i) * c.k + j]) *
                   x[static_cast<std::size_t>(i) * c.items * c.frames + static_cast<std::size_t>(b) * c.frames + src];
            }
          ref[static_cast<std::size_t>(o) * c.items * fo + static_cast<std::size_t>(b) * fo + f] = s;
        }
    CHECK(rel_err(y, ref) < 1e-6);
  }
}

TEST(kernels_depthwise_norm_film_upsample) {
  const int C = 5, items = 2, F = 9, K = 7;
  auto w = randn(C * K, 7), bias = randn(C, 8), x = randn(C * items * F, 9);
  std::vector<float> y(x.size());
  // "same" padding per item through the valid kernel: each item's row zero-padded by K / 2
  const int P = K / 2, ld = F + 2 * P;
  std::vector<float> padded(static_cast<std::size_t>(C) * items * ld, 0.0f), yi(static_cast<std::size_t>(C) * F);
  for (int c = 0; c < C; ++c)
    for (int b = 0; b < items; ++b)
      for (int f = 0; f < F; ++f) padded[(c * items + b) * ld + P + f] = x[c * items * F + b * F + f];
  for (int b = 0; b < items; ++b) {
    // item b's rows are every items-th padded row: pass them with row stride items * ld
    emomix::depthwise_conv1d_valid(nullptr, w.data(), bias.data(), C, K, padded.data() + b * ld,
                                   static_cast<std::size_t>(items) * ld, F, yi.data());
    for (int c = 0; c < C; ++c)
      for (int f = 0; f < F; ++f) y[c * items * F + b * F + f] = yi[c * F + f];
  }
  std::vector<double> ref(y.size());
  for (int c = 0; c < C; ++c)
    for (int b = 0; b < items; ++b)
      for (int f = 0; f < F; ++f) {
        double s = bias[c];
        for (int j = 0; j < K; ++j) {
          const int src = f + j - K / 2;
          if (src >= 0 && src < F) s += static_cast<double>(w[c * K + j]) * x[c * items * F + b * F + src];
        }
        ref[c * items * F + b * F + f] = s;
      }
  CHECK(rel_err(y, ref) < 1e-6);

  // channel layer norm, in place
  const int cols = items * F;
  auto g = randn(C, 10), be = randn(C, 11);
  std::vector<float> scratch(2 * cols), z = x;
  emomix::channel_layer_norm(nullptr, z.data(), g.data(), be.data(), C, cols, 1e-5f, z.data(), scratch.data());
  for (int j = 0; j < cols; ++j) {
    double mean = 0, var = 0;
    for (int c = 0; c < C; ++c) mean += x[c * cols + j];
    mean /= C;
    for (int c = 0; c < C; ++c) var += (x[c * cols + j] - mean) * (x[c * cols + j] - mean);
    var /= C;
    for (int c = 0; c < C; ++c)
      ref[c * cols + j] = (x[c * cols + j] - mean) / std::sqrt(var + 1e-5) * g[c] + be[c];
  }
  CHECK(rel_err(z, ref) < 1e-6);

  // FiLM: film [2C][items]
  auto film = randn(2 * C * items, 12);
  z = x;
  emomix::film_inplace(z.data(), film.data(), C, items, F);
  for (int c = 0; c < C; ++c)
    for (int b = 0; b < items; ++b)
      for (int f = 0; f < F; ++f)
        ref[c * cols + b * F + f] = x[c * cols + b * F + f] * (1.0 + film[c * items + b]) + film[(C + c) * items + b];
  CHECK(rel_err(z, ref) < 1e-6);

  // nearest x2 upsampling to an odd length
  const int fo = 2 * F - 1;
  std::vector<float> up(static_cast<std::size_t>(C) * items * fo);
  emomix::upsample2_nearest(x.data(), C, items, F, fo, up.data());
  bool ok = true;
  for (int c = 0; c < C; ++c)
    for (int b = 0; b < items; ++b)
      for (int f = 0; f < fo; ++f) ok = ok && up[c * items * fo + b * fo + f] == x[c * cols + b * F + f / 2];
  CHECK(ok);
}

TEST(kernels_activations_match_libm) {
  std::vector<float> x;
  for (int i = -2000; i <= 2000; ++i) x.push_back(static_cast<float>(i) * 0.01f);
  x.push_back(-90.0f);
  x.push_back(90.0f);
  auto g = x, s = x, r = x;
  emomix::gelu_inplace(g.data(), g.size());
  emomix::silu_inplace(s.data(), s.size());
  emomix::relu_inplace(r.data(), r.size());
  double worst_g = 0, worst_s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double gr = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double sr = v / (1.0 + std::exp(-v));
    worst_g = std::max(worst_g, std::fabs(g[i] - gr) / std::max(1.0, std::fabs(gr)));
    worst_s = std::max(worst_s, std::fabs(s[i] - sr) / std::max(1.0, std::fabs(sr)));
    CHECK(r[i] == (x[i] > 0 ? x[i] : 0.0f));
  }
  CHECK(worst_g < 1e-6);
  CHECK(worst_s < 1e-6);
  // polar: exp and sin/cos over a wide phase range
  std::vector<float> lm, ph;
  for (int i = -3000; i <= 3000; ++i) {
    lm.push_back(static_cast<float>(i) * 0.003f);
    ph.push_back(static_cast<float>(i) * 0.0317f);
  }
  auto re = lm, im = ph;
  emomix::polar_inplace(re.data(), im.data(), re.size(), 4.6f);
  double worst = 0;
  for (std::size_t i = 0; i < lm.size(); ++i) {
    const double m = std::exp(std::min(static_cast<double>(lm[i]), 4.6));
    worst = std::max(worst, std::fabs(re[i] - m * std::cos(ph[i])) / m);
    worst = std::max(worst, std::fabs(im[i] - m * std::sin(ph[i])) / m);
  }
  CHECK(worst < 1e-6);
  // non-finite inputs (a voice with broken weights) give NaN, not undefined behaviour
  const float nan = std::nanf("");
  std::vector<float> bad = {nan, -nan, 1.0f};
  emomix::silu_inplace(bad.data(), bad.size());
  CHECK(std::isnan(bad[0]) && std::isnan(bad[1]) && std::isfinite(bad[2]));
  std::vector<float> mag = {0.0f, nan, 0.0f, 0.0f, 0.0f}, phase = {nan, 0.0f, 3e9f, -7e6f, 5e6f};
  emomix::polar_inplace(mag.data(), phase.data(), mag.size(), 4.6f);
  CHECK(std::isnan(mag[0]) && std::isnan(mag[2]));  // (a NaN log-magnitude is capped at 4.6)
  // beyond |phase| 6e6 the quadrant would leave the exact-integer range: NaN, not garbage
  CHECK(std::isnan(mag[3]) && std::isnan(phase[3]));
  CHECK(std::isfinite(mag[4]) && std::isfinite(phase[4]) && std::fabs(mag[4]) <= 1.0f);
  // exp's range reduction rounds ties to even: exact halves of ln 2 stay accurate
  std::vector<float> ties;
  for (int k = -120; k <= 120; ++k) ties.push_back(-(static_cast<float>(k) + 0.5f) * 0.69314718f);
  auto st = ties;
  emomix::silu_inplace(st.data(), st.size());
  double worst_t = 0;
  for (std::size_t i = 0; i < ties.size(); ++i) {
    const double v = ties[i], sr = v / (1.0 + std::exp(-v));
    worst_t = std::max(worst_t, std::fabs(st[i] - sr) / std::max(1.0, std::fabs(sr)));
  }
  CHECK(worst_t < 1e-6);
}

TEST(kernels_attention_matches_reference) {
  emomix::ThreadPool pool(2);
  const int C = 8, heads = 2, items = 2, F = 11, hd = C / heads;
  auto qkv = randn(static_cast<std::size_t>(3) * C * items * F, 13);
  std::vector<float> y(static_cast<std::size_t>(C) * items * F);
  std::vector<float> scratch(emomix::attention_scratch(pool.size(), F));
  emomix::attention(&pool, qkv.data(), C, heads, items, F, y.data(), scratch.data());
  std::vector<double> ref(y.size());
  const int ld = items * F;
  for (int b = 0; b < items; ++b)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < F; ++i) {
        std::vector<double> p(F);
        double mx = -1e300, sum = 0;
        for (int j = 0; j < F; ++j) {
          double s = 0;
          for (int d = 0; d < hd; ++d)
            s += static_cast<double>(qkv[(h * hd + d) * ld + b * F + i]) * qkv[(C + h * hd + d) * ld + b * F + j];
          p[j] = s / std::sqrt(static_cast<double>(hd));
          mx = std::max(mx, p[j]);
        }
        for (int j = 0; j < F; ++j) sum += p[j] = std::exp(p[j] - mx);
        for (int d = 0; d < hd; ++d) {
          double acc = 0;
          for (int j = 0; j < F; ++j) acc += p[j] / sum * qkv[(2 * C + h * hd + d) * ld + b * F + j];
          ref[(h * hd + d) * ld + b * F + i] = acc;
        }
      }
  CHECK(rel_err(y, ref) < 1e-6);
}

TEST(kernels_thread_pool_runs_every_task_once) {
  for (int threads : {1, 2, 4}) {
    emomix::ThreadPool pool(threads);
    CHECK(pool.size() == threads);
    for (int round = 0; round < 200; ++round) {
      const int tasks = 1 + round % 9;
      std::vector<int> hits(static_cast<std::size_t>(tasks), 0);
      std::vector<int> by(static_cast<std::size_t>(tasks), -1);
      pool.run(tasks, [&](int t, int thread) {
        hits[static_cast<std::size_t>(t)] += 1;  // each task index is claimed by exactly one thread
        by[static_cast<std::size_t>(t)] = thread;
      });
      for (int h : hits) CHECK(h == 1);
      for (int b : by) CHECK(b >= 0 && b < threads);
    }
  }
}

TEST(kernels_thread_pool_spins_then_sleeps_and_stays_correct) {
  // Jobs in quick succession are picked up by spinning; slow tasks and gaps longer than the spin
  // budget make the caller and the workers fall back to sleeping. Every mix must stay exact.
  emomix::ThreadPool pool(3);
  for (int round = 0; round < 120; ++round) {
    const int tasks = 2 + round % 5;
    std::vector<int> hits(static_cast<std::size_t>(tasks), 0);
    const bool slow = round % 7 == 3;
    pool.run(tasks, [&](int t, int) {
      if (slow && t == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
      hits[static_cast<std::size_t>(t)] += 1;
    });
    for (int h : hits) CHECK(h == 1);
    if (round % 11 == 5) std::this_thread::sleep_for(std::chrono::microseconds(400));
  }
}

TEST(kernels_tensor_grows_only) {
  emomix::Tensor t;
  const auto before = emomix::tensor_allocations();
  t.reshape(4, 8);
  CHECK(t.size() == 32 && t.rows() == 4 && t.cols() == 8);
  const float* p = t.data();
  t.reshape(2, 3, 5);  // smaller: same storage
  CHECK(t.data() == p && t.ndim() == 3 && t.size() == 30);
  CHECK(emomix::tensor_allocations() == before + 1);
  t.reshape(100);
  CHECK(emomix::tensor_allocations() == before + 2);
  CHECK(reinterpret_cast<std::uintptr_t>(t.data()) % 64 == 0);
}
