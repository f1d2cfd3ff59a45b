#include "emomix/weights.hpp"

#include <cmath>
#include <cstdio>
#include <string>

#include "emomix/error.hpp"

namespace emomix {

namespace {

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  return buf;
}

std::string where(int step, int frame, bool per_frame) {
  std::string s = "W[step " + std::to_string(step);
  if (per_frame) s += ", frame " + std::to_string(frame);
  return s + "]";
}

}  // namespace

void validate_weights(const WeightsView& w) {
  if (w.data == nullptr) throw InvalidArgument("W is missing (null data)");
  if (w.steps < 1 || w.conditions < 1 || w.frames < 0) {
    throw InvalidArgument("W must have shape [N, M] or [N, M, F] with N, M, F >= 1, got N=" +
                          std::to_string(w.steps) + ", M=" + std::to_string(w.conditions) +
                          (w.frames > 0 ? ", F=" + std::to_string(w.frames) : std::string()));
  }
  const int frames = w.row_length();
  for (int k = 0; k < w.steps; ++k) {
    for (int f = 0; f < frames; ++f) {
      double sum = 0.0;
      for (int i = 0; i < w.conditions; ++i) {
        const float v = w.row(k, i)[f];
        if (!std::isfinite(v)) {
          throw InvalidArgument(where(k, f, w.per_frame()) + ": weight of condition " +
                                std::to_string(i) + " is " + format_number(v) +
                                "; every weight must be finite");
        }
        sum += v;
      }
      if (!(std::fabs(sum - 1.0) <= kWeightSumTolerance)) {
        throw InvalidArgument(where(k, f, w.per_frame()) + ": weights sum to " +
                              format_number(sum) + " (must be 1 within 1e-4)");
      }
    }
  }
}

bool condition_active(const WeightsView& w, int step, int condition) noexcept {
  const float* row = w.row(step, condition);
  const int n = w.row_length();
  for (int f = 0; f < n; ++f) {
    if (row[f] != 0.0f) return true;
  }
  return false;
}

int active_conditions(const WeightsView& w, int step, int* out) noexcept {
  int count = 0;
  for (int i = 0; i < w.conditions; ++i) {
    if (condition_active(w, step, i)) out[count++] = i;
  }
  return count;
}

void gather_weights(const WeightsView& w, int step, const int* cond, int batch,
                    float* weights_out) noexcept {
  const int n = w.row_length();
  for (int b = 0; b < batch; ++b) {
    const float* row = w.row(step, cond[b]);
    for (int f = 0; f < n; ++f) weights_out[b * n + f] = row[f];
  }
}

void mix_predictions(const float* preds, const float* weights, int batch, int n_mels, int frames,
                     bool per_frame, float* out) noexcept {
  const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
  for (std::size_t i = 0; i < plane; ++i) out[i] = 0.0f;
  for (int b = 0; b < batch; ++b) {
    const float* p = preds + b * plane;
    if (per_frame) {
      const float* wb = weights + static_cast<std::size_t>(b) * frames;
      for (int c = 0; c < n_mels; ++c) {
        float* o = out + static_cast<std::size_t>(c) * frames;
        const float* pc = p + static_cast<std::size_t>(c) * frames;
        for (int f = 0; f < frames; ++f) o[f] += wb[f] * pc[f];
      }
    } else {
      const float wb = weights[b];
      for (std::size_t i = 0; i < plane; ++i) out[i] += wb * p[i];
    }
  }
}

}  // namespace emomix
