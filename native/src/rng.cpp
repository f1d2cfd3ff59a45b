#include "emomix/rng.hpp"

#include <cmath>
#include <string>

#include "emomix/error.hpp"

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

void fill_line_noise(std::uint64_t seed, std::uint64_t stream, int n_mels, int frames,
                     const std::int64_t* durations, int phonemes, float* out) noexcept {
  const std::uint64_t key = noise_key(seed, stream);
  const std::uint64_t C = static_cast<std::uint64_t>(n_mels);
  const std::size_t F = static_cast<std::size_t>(frames);
  auto segment = [&](std::uint64_t p, std::size_t first, std::size_t length) {
    for (std::size_t j = 0; j < length; ++j) {
      const std::uint64_t base = (p << kSegmentShift) + j * C;
      for (std::uint64_t c = 0; c < C; ++c) out[c * F + first + j] = normal_at(key, base + c);
    }
  };
  if (durations == nullptr) {
    segment(0, 0, F);
    return;
  }
  std::size_t first = 0;
  for (int p = 0; p < phonemes; ++p) {
    const auto length = static_cast<std::size_t>(durations[p]);
    segment(static_cast<std::uint64_t>(p), first, length);
    first += length;
  }
}

void check_durations(const std::int64_t* durations, int phonemes, int frames) {
  if (durations == nullptr) {
    if (phonemes != 0) throw InvalidArgument("durations are missing (null data)");
    return;
  }
  if (phonemes < 1) throw InvalidArgument("durations must name at least one phoneme");
  for (int p = 0; p < phonemes; ++p) {
    if (durations[p] < 0) {
      throw InvalidArgument("durations must be >= 0, got " + std::to_string(durations[p]) +
                            " for phoneme " + std::to_string(p));
    }
  }
  std::int64_t total = 0;  // stops once past frames, so it cannot overflow
  for (int p = 0; p < phonemes && total <= frames; ++p) {
    total = durations[p] > frames - total ? std::int64_t{frames} + 1 : total + durations[p];
  }
  if (total != frames) {
    throw InvalidArgument("durations add up to " +
                          (total > frames ? "more than " + std::to_string(frames)
                                          : std::to_string(total)) +
                          " frames but the line has " +
                          std::to_string(frames) + "; pass the durations the encoder returned "
                          "with mu");
  }
}

}  // namespace emomix
