#include "emomix/schedule.hpp"

#include <string>

#include "emomix/error.hpp"

namespace emomix {

void time_grid(int steps, double* tau) {
  if (steps < 1 || steps > kMaxSteps) {
    throw InvalidArgument("steps must be between 1 and " + std::to_string(kMaxSteps) + ", got " +
                          std::to_string(steps));
  }
  // Same expression as the oracle (1.0 - arange(N + 1) / N) so the grids are bit-identical.
  for (int k = 0; k <= steps; ++k) tau[k] = 1.0 - static_cast<double>(k) / steps;
}

}  // namespace emomix
