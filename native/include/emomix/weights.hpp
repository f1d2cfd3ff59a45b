// emomix/weights.hpp — the weight schedule W: validation, active conditions, mixing.
//
// Contract: docs/sampler.md, "Weights are data". W is float32 in C order, shape [N, M] (per step,
// per condition) or [N, M, F] (also per mel frame). Rules checked before sampling:
//   * every entry finite;
//   * for every step (and frame) the weights of the M conditions sum to 1 within kWeightSumTolerance;
//   * condition i is active at step k when any of its weights at step k is non-zero. Only active
//     conditions are evaluated (in one batched denoiser call); individual weights may be negative
//     (extrapolating presets make them on purpose).
// The mixed prediction of step k is  pred[c, f] = sum over active i (ascending) of
// W[k, i, (f)] * D_i[c, f], accumulated in float32 in that order.
//
// Nothing here allocates; every function is thread-safe on distinct outputs.
#pragma once

#include <cstddef>

namespace emomix {

inline constexpr double kWeightSumTolerance = 1e-4;

// A borrowed view of W. The caller keeps `data` alive while the view is used.
struct WeightsView {
  const float* data = nullptr;  // [steps, conditions] or [steps, conditions, frames], C order
  int steps = 0;                // N >= 1
  int conditions = 0;           // M >= 1
  int frames = 0;               // 0: per-step weights [N, M]; F > 0: per-frame weights [N, M, F]

  bool per_frame() const noexcept { return frames > 0; }
  // Floats per (step, condition) row: F for per-frame weights, 1 otherwise.
  int row_length() const noexcept { return per_frame() ? frames : 1; }
  // Pointer to W[k, i, 0] (or W[k, i]); row_length() floats follow.
  const float* row(int step, int condition) const noexcept {
    return data + (static_cast<std::size_t>(step) * conditions + condition) * row_length();
  }
};

// Throws InvalidArgument when W breaks a rule above or its shape is empty; the message names the
// step (and frame, and condition for a non-finite entry), e.g.
// "W[step 3, frame 7]: weights sum to 0.8 (must be 1 within 1e-4)".
void validate_weights(const WeightsView& w);

// True when condition `condition` has a non-zero weight at `step` (any frame).
bool condition_active(const WeightsView& w, int step, int condition) noexcept;

// Writes the ascending indices of the conditions active at `step` into out (room for
// w.conditions ints) and returns how many there are. No bounds checks: `step` must be in range.
int active_conditions(const WeightsView& w, int step, int* out) noexcept;

// Copies W[step, cond[b], :] for b < batch into weights_out (batch * w.row_length() floats), the
// layout mix_predictions() takes.
void gather_weights(const WeightsView& w, int step, const int* cond, int batch,
                    float* weights_out) noexcept;

// out[c, f] = sum_b weights[b, (f)] * preds[b, c, f], accumulated in float32 in ascending b.
//   preds   : [batch, n_mels, frames]
//   weights : [batch] when per_frame is false, [batch, frames] when true
//   out     : [n_mels, frames]; must not alias preds
void mix_predictions(const float* preds, const float* weights, int batch, int n_mels, int frames,
                     bool per_frame, float* out) noexcept;

}  // namespace emomix
