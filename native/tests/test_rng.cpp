// Counter-based normal RNG: known values from the Python oracle, determinism, statistics.
#include <cmath>
#include <cstdint>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/rng.hpp"
#include "harness.hpp"

using emomix::fill_normal;

TEST(rng_splitmix64_known_values) {
  // The first outputs of the reference SplitMix64 generator seeded with 0 and 1.
  CHECK(emomix::splitmix64(0) == 0xE220A8397B1DCDAFull);
  CHECK(emomix::splitmix64(1) == 0x910A2DEC89025CC1ull);
  static_assert(emomix::splitmix64(0) == 0xE220A8397B1DCDAFull, "constexpr splitmix64");
}

TEST(rng_matches_python_oracle) {
  // emomix.sampler.rng.normal(seed, stream, 4), printed as float32 hex.
  struct Known {
    std::uint64_t seed, stream;
    float values[4];
  };
  const Known known[] = {
      {0, 0, {-0x1.a69edcp-4f, 0x1.b03daap-2f, 0x1.0b7524p-2f, -0x1.c3756ep-4f}},
      {42, 3, {0x1.6b53c8p-3f, -0x1.8fcd04p-5f, -0x1.fc3150p-4f, -0x1.d50196p-1f}},
      {0xFFFFFFFFFFFFFFFFull, 7, {0x1.4efa80p-1f, -0x1.7cd356p-3f, -0x1.3f75aap-1f, -0x1.735492p-2f}},
  };
  for (const Known& k : known) {
    float got[4];
    fill_normal(k.seed, k.stream, 0, got, 4);
    for (int i = 0; i < 4; ++i) CHECK(got[i] == k.values[i]);
  }
}

TEST(rng_line_noise_matches_python_oracle_and_anchors_each_phoneme) {
  // emomix.sampler.rng.line_noise(5, 2, 3, 5, [2, 0, 3]), float32 hex, (n_mels, frames) C order.
  const std::int64_t dur[] = {2, 0, 3};
  const float known[15] = {
      0x1.2eee0ep+0f,  0x1.4b3b78p+1f, -0x1.c0da3ep-1f, 0x1.36a2d0p-3f,  0x1.098abcp+1f,
      0x1.79bd2ep-1f,  0x1.0be848p+0f, 0x1.563f64p-1f,  0x1.377844p-1f,  0x1.4dc8a2p+0f,
      0x1.063706p-2f, -0x1.fcfa54p+0f, -0x1.28482ap+0f, 0x1.c981b2p-3f, -0x1.fa9d80p+0f};
  float got[15];
  emomix::fill_line_noise(5, 2, 3, 5, dur, 3, got);
  for (int i = 0; i < 15; ++i) CHECK(got[i] == known[i]);
  // Element (c, f), frame f the j-th of phoneme p: deviate (p << 32) + j * n_mels + c.
  const std::uint64_t key = emomix::noise_key(5, 2);
  CHECK(got[1 * 5 + 3] == emomix::normal_at(key, (std::uint64_t{2} << 32) + 1 * 3 + 1));

  // Lengthening phoneme 0 by a frame leaves phoneme 2's frames (and phoneme 0's first two) alone.
  const std::int64_t longer[] = {3, 0, 3};
  float wide[18];
  emomix::fill_line_noise(5, 2, 3, 6, longer, 3, wide);
  for (int c = 0; c < 3; ++c) {
    for (int f = 0; f < 2; ++f) CHECK(wide[c * 6 + f] == got[c * 5 + f]);
    for (int f = 2; f < 5; ++f) CHECK(wide[c * 6 + f + 1] == got[c * 5 + f]);
  }
  // No durations: one segment, the same as durations {frames}.
  const std::int64_t whole[] = {5};
  float one[15], none[15];
  emomix::fill_line_noise(5, 2, 3, 5, whole, 1, one);
  emomix::fill_line_noise(5, 2, 3, 5, nullptr, 0, none);
  for (int i = 0; i < 15; ++i) CHECK(one[i] == none[i]);
}

TEST(rng_check_durations_names_the_problem) {
  const std::int64_t ok[] = {2, 0, 3}, negative[] = {2, -1, 4}, short_[] = {1, 1};
  emomix::check_durations(ok, 3, 5);
  emomix::check_durations(nullptr, 0, 5);
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::check_durations(negative, 3, 5),
                    "durations must be >= 0");
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::check_durations(short_, 2, 5),
                    "add up to 2 frames but the line has 5");
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::check_durations(ok, 3, 4),
                    "more than");
  CHECK_THROWS_WITH(emomix::InvalidArgument, emomix::check_durations(nullptr, 2, 5),
                    "durations are missing");
}

TEST(rng_is_deterministic_and_counter_based) {
  std::vector<float> a(1000), b(1000), tail(10);
  fill_normal(123, 5, 0, a.data(), a.size());
  fill_normal(123, 5, 0, b.data(), b.size());
  CHECK(a == b);
  fill_normal(123, 5, 990, tail.data(), tail.size());
  for (int i = 0; i < 10; ++i) CHECK(tail[i] == a[990 + i]);
  fill_normal(123, 6, 0, b.data(), b.size());
  int same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  CHECK(same < 5);
  fill_normal(124, 5, 0, b.data(), b.size());
  same = 0;
  for (std::size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  CHECK(same < 5);
}

TEST(rng_is_standard_normal) {
  const std::size_t n = 400000;
  std::vector<float> v(n);
  fill_normal(7, 1, 0, v.data(), n);
  double sum = 0, sum2 = 0, sum4 = 0;
  std::size_t beyond3 = 0;
  for (float x : v) {
    REQUIRE(std::isfinite(x));
    sum += x;
    sum2 += double(x) * x;
    sum4 += double(x) * x * x * x;
    beyond3 += std::fabs(x) > 3.0f;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  CHECK_NEAR(mean, 0.0, 0.01);
  CHECK_NEAR(var, 1.0, 0.01);
  CHECK_NEAR(sum4 / n, 3.0, 0.05);                           // kurtosis of a normal
  CHECK_NEAR(double(beyond3) / n, 0.0026998, 0.0005);      // P(|x| > 3)
}
