// emomix/rng.hpp — counter-based Gaussian noise shared by every backend.
//
// Contract: docs/sampler.md, "Injected, seeded noise". A normal deviate is a pure function of
// (seed, stream, index), so every backend draws the same numbers without sharing arrays:
//
//     key    = splitmix64(seed ^ splitmix64(stream))
//     u1     = ((splitmix64(key + 2*index)     >> 11) + 0.5) * 2^-53
//     u2     = ((splitmix64(key + 2*index + 1) >> 11) + 0.5) * 2^-53
//     normal = sqrt(-2 ln u1) * cos(2 pi u2)      (float64, then rounded to float32)
//
// All integer arithmetic is unsigned 64-bit and wraps. The sampler uses stream 0 for the initial
// sample n_0 and stream k + 1 for the noise added by step k. A line's (n_mels, F) noise is
// anchored to its phonemes (fill_line_noise): element (c, f), frame f being the j-th frame of
// phoneme p, has index (p << 32) + j * n_mels + c. Bit-compatible with emomix.sampler.rng (up to
// libm's last ulp of float64 log/cos, which float32 rounding almost always hides).
//
// Every function here is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace emomix {

// The splitmix64 finaliser (Steele, Lea & Flood 2014), wrapping arithmetic.
constexpr std::uint64_t splitmix64(std::uint64_t z) noexcept {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The per-(seed, stream) key: splitmix64(seed ^ splitmix64(stream)).
constexpr std::uint64_t noise_key(std::uint64_t seed, std::uint64_t stream) noexcept {
  return splitmix64(seed ^ splitmix64(stream));
}

// The standard normal deviate number `index` of the stream with key `key` (Box–Muller, cos branch).
float normal_at(std::uint64_t key, std::uint64_t index) noexcept;

// Writes n deviates for (seed, stream), indices offset .. offset + n - 1, into out[0 .. n).
// out must hold n floats; n == 0 writes nothing.
void fill_normal(std::uint64_t seed, std::uint64_t stream, std::uint64_t offset, float* out,
                 std::size_t n) noexcept;

// Bits of a line-noise index below the phoneme's number.
inline constexpr int kSegmentShift = 32;

// One stream's [n_mels, frames] noise of a line, anchored to its phonemes: durations[p] frames
// for phoneme p, p < phonemes, adding up to frames (the caller checks; see check_durations).
// durations == nullptr means one segment of all the frames. A phoneme's noise depends only on its
// number and its own frames, so lengthening one phoneme leaves the others' noise unchanged.
void fill_line_noise(std::uint64_t seed, std::uint64_t stream, int n_mels, int frames,
                     const std::int64_t* durations, int phonemes, float* out) noexcept;

// Throws InvalidArgument unless durations[0 .. phonemes) are >= 0 and add up to frames
// (durations == nullptr with phonemes == 0 is accepted: one segment).
void check_durations(const std::int64_t* durations, int phonemes, int frames);

}  // namespace emomix
