#include "emomix/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "emomix/error.hpp"
#include "emomix/rng.hpp"
#include "emomix/schedule.hpp"

namespace emomix {

namespace {

template <typename T>
void grow(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

void validate_inputs(const SampleInputs& in, const SamplerConfig& config) {
  validate_config(config);
  if (in.mu == nullptr) throw InvalidArgument("mu is missing (null data)");
  if (in.n_mels < 1 || in.frames < 1) {
    throw InvalidArgument("mu must have shape [n_mels, F] with n_mels, F >= 1, got [" +
                          std::to_string(in.n_mels) + ", " + std::to_string(in.frames) + "]");
  }
  const std::size_t plane = static_cast<std::size_t>(in.n_mels) * in.frames;
  for (std::size_t i = 0; i < plane; ++i) {
    if (!std::isfinite(in.mu[i])) {
      throw InvalidArgument("mu contains NaN or inf (at mel " + std::to_string(i / in.frames) +
                            ", frame " + std::to_string(i % in.frames) + ")");
    }
  }
  if (in.weights.steps > kMaxSteps) {
    throw InvalidArgument("W has " + std::to_string(in.weights.steps) +
                          " steps; a few-step sampler takes at most " +
                          std::to_string(kMaxSteps));
  }
  if (in.weights.per_frame() && in.weights.frames != in.frames) {
    throw InvalidArgument("per-frame W has " + std::to_string(in.weights.frames) +
                          " frames but mu has " + std::to_string(in.frames) +
                          "; W must be [N, M, F] with F = mu's frame count");
  }
  validate_weights(in.weights);
  check_durations(in.durations, in.phonemes, in.frames);
}

}  // namespace

void SamplerWorkspace::reserve(int steps, int conditions, int n_mels, int frames) {
  if (steps < 1 || steps > kMaxSteps || conditions < 1 || n_mels < 1 || frames < 1) {
    throw InvalidArgument("workspace shape must be positive (steps <= " +
                          std::to_string(kMaxSteps) + "), got steps=" + std::to_string(steps) +
                          ", conditions=" + std::to_string(conditions) + ", n_mels=" +
                          std::to_string(n_mels) + ", frames=" + std::to_string(frames));
  }
  const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
  const std::size_t m = static_cast<std::size_t>(conditions);
  grow(tau_, static_cast<std::size_t>(steps) + 1);
  grow(x_, plane);
  grow(x_trial_, plane);
  grow(x_batch_, m * plane);
  grow(t_batch_, m);
  grow(preds_, m * plane);
  grow(mixed_, plane);
  grow(mixed2_, plane);
  grow(weights_, m * static_cast<std::size_t>(frames));
  grow(noise_, plane);
  grow(cond_, m);
}

std::size_t SamplerWorkspace::bytes() const noexcept {
  std::size_t floats = x_.size() + x_trial_.size() + x_batch_.size() + t_batch_.size() +
                       preds_.size() + mixed_.size() + mixed2_.size() + weights_.size() +
                       noise_.size();
  return floats * sizeof(float) + tau_.size() * sizeof(double) + cond_.size() * sizeof(int);
}

void sample(const Denoiser& denoise, const SampleInputs& in, const SamplerConfig& config,
            SamplerWorkspace& ws, float* out) {
  validate_inputs(in, config);
  if (!denoise) throw InvalidArgument("denoise callback is empty");
  if (out == nullptr) throw InvalidArgument("out is missing (null data)");

  const WeightsView& w = in.weights;
  const int steps = w.steps;
  const int n_mels = in.n_mels;
  const int frames = in.frames;
  const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
  ws.reserve(steps, w.conditions, n_mels, frames);
  time_grid(steps, ws.tau_.data());

  float* x = ws.x_.data();
  const float* n0 = in.noise;
  if (n0 == nullptr) {
    fill_line_noise(in.seed, 0, n_mels, frames, in.durations, in.phonemes, ws.noise_.data());
    n0 = ws.noise_.data();
  }
  initial_sample(config.parameterisation, in.mu, n0, config.temperature, plane, x);

  int* cond = ws.cond_.data();
  // One batched call of D at time t for the active conditions, mixed with W[k] into `mixed`.
  auto evaluate = [&](const float* x_in, double t, int batch, float* mixed) {
    for (int b = 0; b < batch; ++b) {
      std::copy(x_in, x_in + plane, ws.x_batch_.data() + b * plane);
      ws.t_batch_[b] = static_cast<float>(t);
    }
    denoise(ws.x_batch_.data(), ws.t_batch_.data(), cond, batch, n_mels, frames,
            ws.preds_.data());
    mix_predictions(ws.preds_.data(), ws.weights_.data(), batch, n_mels, frames, w.per_frame(),
                    mixed);
  };

  for (int k = 0; k < steps; ++k) {
    const double t = ws.tau_[k];
    const double h = ws.tau_[k] - ws.tau_[k + 1];
    // Validation guarantees every step's weights sum to 1, so at least one condition is active.
    const int batch = active_conditions(w, k, cond);
    gather_weights(w, k, cond, batch, ws.weights_.data());
    evaluate(x, t, batch, ws.mixed_.data());

    switch (config.solver) {
      case Solver::euler:
        flow_euler_update(x, ws.mixed_.data(), h, plane, x);
        break;
      case Solver::heun:
        flow_euler_update(x, ws.mixed_.data(), h, plane, ws.x_trial_.data());
        evaluate(ws.x_trial_.data(), ws.tau_[k + 1], batch, ws.mixed2_.data());
        flow_heun_update(x, ws.mixed_.data(), ws.mixed2_.data(), h, plane, x);
        break;
      case Solver::em: {
        const double b = beta(t, config.beta_min, config.beta_max);
        const float* noise = nullptr;
        if (in.noise != nullptr) {
          noise = in.noise + (static_cast<std::size_t>(k) + 1) * plane;
        } else {
          fill_line_noise(in.seed, static_cast<std::uint64_t>(k) + 1, n_mels, frames, in.durations,
                          in.phonemes, ws.noise_.data());
          noise = ws.noise_.data();
        }
        score_em_update(x, in.mu, ws.mixed_.data(), noise, h, b, plane, x);
        break;
      }
      case Solver::pf_euler:
        score_pf_euler_update(x, in.mu, ws.mixed_.data(), h,
                              beta(t, config.beta_min, config.beta_max), plane, x);
        break;
    }
  }
  std::copy(x, x + plane, out);
}

std::vector<float> sample(const Denoiser& denoise, const SampleInputs& inputs,
                          const SamplerConfig& config) {
  SamplerWorkspace workspace;
  std::vector<float> out(static_cast<std::size_t>(std::max(inputs.n_mels, 0)) *
                         static_cast<std::size_t>(std::max(inputs.frames, 0)));
  sample(denoise, inputs, config, workspace, out.data());
  return out;
}

}  // namespace emomix
