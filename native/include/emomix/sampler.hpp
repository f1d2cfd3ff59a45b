// emomix/sampler.hpp — the few-step mixed-noise sampler loop (EmoMix, Tang et al. 2023).
//
// Contract: docs/sampler.md (this is the C++ mirror of emomix.sampler.sample). For each step k of
// the grid tau[k] = 1 - k/N:
//   1. the conditions active at step k (non-zero weight at any frame) are found, ascending;
//   2. the denoiser is called ONCE with all of them as a batch (heun: twice, both with W[k]);
//   3. the batch is mixed with W[k] (per step or per frame) into one prediction;
//   4. the solver update of the parameterisation is applied.
// Conditions with zero weight at a step are never evaluated.
//
// Noise: with `noise` null, n_0 = normal(seed, stream 0) and step k's noise = normal(seed,
// stream k + 1), each anchored to the line's phoneme durations (fill_line_noise in
// emomix/rng.hpp; without durations, one segment). With `noise` given, it is
// read as [N + 1, n_mels, F]: noise[0] = n_0, noise[k + 1] = step k's noise (only em reads the
// latter, but the full extent must be readable).
//
// Memory: a SamplerWorkspace holds every buffer of the loop. sample() sizes it once on entry
// (growing it only if the shape outgrew it) and then allocates nothing per step; reuse one
// workspace across lines to allocate nothing at all. A workspace is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "emomix/solvers.hpp"
#include "emomix/weights.hpp"

namespace emomix {

// The denoiser D as a callback, called once per evaluation with the active conditions as a batch:
//   x_batch      [batch, n_mels, frames]  the current x repeated for each active condition
//   t_batch      [batch]                  the step's time tau (float32), equal for all rows
//   cond_indices [batch]                  the active condition indices, ascending
//   out          [batch, n_mels, frames]  the callback writes its predictions here (velocity for
//                                         flow, score for score); row b belongs to cond_indices[b]
// The pointers are valid only during the call. mu is bound into the callback by the backend.
// Exceptions thrown by the callback propagate out of sample(); the workspace stays usable.
using Denoiser = std::function<void(const float* x_batch, const float* t_batch,
                                    const int* cond_indices, int batch, int n_mels, int frames,
                                    float* out)>;

// The borrowed inputs of one line. The caller keeps every pointer alive during sample().
struct SampleInputs {
  const float* mu = nullptr;     // [n_mels, frames], the encoder's prior mean
  int n_mels = 0;
  int frames = 0;
  WeightsView weights;           // [N, M] or [N, M, frames]; N = steps of the solver
  std::uint64_t seed = 0;        // used when noise is null
  const float* noise = nullptr;  // optional [N + 1, n_mels, frames]
  const std::int64_t* durations = nullptr;  // optional [phonemes], adding up to frames: the
  int phonemes = 0;                         // seeded noise is anchored to them
};

// Every buffer the loop needs, owned here (RAII); reuse it so sampling does not allocate.
class SamplerWorkspace {
 public:
  SamplerWorkspace() = default;
  // Grows the buffers so a line of this shape fits; never shrinks. Throws InvalidArgument on
  // non-positive sizes or steps > kMaxSteps, std::bad_alloc when memory runs out.
  void reserve(int steps, int conditions, int n_mels, int frames);
  // Bytes held by the buffers.
  std::size_t bytes() const noexcept;

 private:
  friend void sample(const Denoiser&, const SampleInputs&, const SamplerConfig&,
                     SamplerWorkspace&, float*);
  std::vector<double> tau_;     // [N + 1]
  std::vector<float> x_;        // [C F]
  std::vector<float> x_trial_;  // [C F]     heun's predictor x'
  std::vector<float> x_batch_;  // [M C F]
  std::vector<float> t_batch_;  // [M]
  std::vector<float> preds_;    // [M C F]
  std::vector<float> mixed_;    // [C F]
  std::vector<float> mixed2_;   // [C F]     heun's second mixed velocity
  std::vector<float> weights_;  // [M F]     W[k] gathered for the active conditions
  std::vector<float> noise_;    // [C F]     seeded noise of the current stream
  std::vector<int> cond_;       // [M]
};

// Runs the sampler and writes x_N ([n_mels, frames]) to out. Validates every input first and
// throws InvalidArgument naming the problem (shape, non-finite mu, weights by step/frame,
// config); out is then untouched. out may alias mu but not weights or noise.
void sample(const Denoiser& denoise, const SampleInputs& inputs, const SamplerConfig& config,
            SamplerWorkspace& workspace, float* out);

// Convenience: a fresh workspace, the result returned as [n_mels * frames] floats.
std::vector<float> sample(const Denoiser& denoise, const SampleInputs& inputs,
                          const SamplerConfig& config);

}  // namespace emomix
