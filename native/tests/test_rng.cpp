// Counter-based normal RNG: known values from the Python oracle, determinism, statistics.
#include <cmath>
#include <cstdint>
#include <vector>

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
