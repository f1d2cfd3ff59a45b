// emomix/schedule.hpp — time grids and noise schedules, computed once before the solver loop.
//
// Contract: docs/sampler.md, "Time grid" and "score — Grad-TTS SDE". Mirrors
// emomix.sampler.schedules. Pure and thread-safe.
#pragma once

#include "emomix/schema_constants.hpp"

namespace emomix {

// Largest step count accepted (a few-step sampler needs far fewer): the voice schema's
// sampler.steps_range, which the Python oracle reads too.
inline constexpr int kMaxSteps = schema::kMaxSteps;

// Writes tau[k] = 1 - k / steps for k = 0 .. steps into tau (steps + 1 doubles): tau[0] = 1 (noise),
// tau[steps] = 0 (data). Throws InvalidArgument unless 1 <= steps <= kMaxSteps.
void time_grid(int steps, double* tau);

// Grad-TTS linear noise rate beta(t) = beta_min + (beta_max - beta_min) * t.
constexpr double beta(double t, double beta_min, double beta_max) noexcept {
  return beta_min + (beta_max - beta_min) * t;
}

}  // namespace emomix
