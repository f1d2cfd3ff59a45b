#include "emomix/rng.hpp"

#include <cmath>

namespace emomix {

namespace {
constexpr double kTwoPi = 6.283185307179586;  // 2 * numpy.pi, exactly as the oracle forms it
constexpr double kTwoPow53 = 1.0 / 9007199254740992.0;

inline double unit_open(std::uint64_t bits) noexcept {
  return (static_cast<double>(bits >> 11) + 0.5) * kTwoPow53;
}
}  // namespace

float normal_at(std::uint64_t key, std::uint64_t index) noexcept {
  const std::uint64_t counter = key + 2 * index;
  const double u1 = unit_open(splitmix64(counter));
  const double u2 = unit_open(splitmix64(counter + 1));
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(kTwoPi * u2));
}

void fill_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, float* out,
                 std::size_t n) noexcept {
  const std::uint64_t key = noise_key(seed, stream);
  for (std::size_t i = 0; i < n; ++i) out[i] = normal_at(key, offset + i);
}

}  // namespace emomix
