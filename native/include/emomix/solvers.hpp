// emomix/solvers.hpp — sampler configuration and the per-step solver updates.
//
// Contract: docs/sampler.md, "Parameterisations and solvers". With h = tau[k] - tau[k+1] > 0,
// t = tau[k] and b = beta(t):
//   flow  (velocity v = dx/dtau, integrated from tau = 1 down to 0)
//     initial   x_0 = temperature * n_0
//     euler     x_{k+1} = x_k - h * v(x_k, t)
//     heun      x_{k+1} = x_k - h * (v(x_k, t) + v(x_k - h v(x_k, t), tau[k+1])) / 2
//   score (Grad-TTS SDE, score s = grad log p_t)
//     initial   x_0 = mu + n_0 / temperature
//     em        x_{k+1} = x_k - h b (1/2 (mu - x_k) - s) + sqrt(h b) n_{k+1}
//     pf_euler  x_{k+1} = x_k - h b 1/2 (mu - x_k - s)
//
// Arithmetic mirrors the numpy oracle (emomix.sampler.loop) operation for operation: h and b are
// computed in float64 and rounded to float32; every product after that (h*b, sqrt(h*b), h/2, the
// tensor expressions in the order written above) is float32; no fused multiply-adds. Given the
// same mixed predictions, the updates are bit-identical to the oracle's. The update functions are
// pure, do not allocate, and allow x_out to alias x.
#pragma once

#include <cstddef>
#include <string_view>

namespace emomix {

enum class Parameterisation : int { flow = 0, score = 1 };
enum class Solver : int { euler = 0, heun = 1, em = 2, pf_euler = 3 };

struct SamplerConfig {
  Parameterisation parameterisation = Parameterisation::flow;
  Solver solver = Solver::euler;  // flow: euler | heun; score: em | pf_euler
  double temperature = 1.0;       // > 0; scales the initial noise (flow) or divides it (score)
  double beta_min = 0.05;         // score only: beta(t) = beta_min + (beta_max - beta_min) t
  double beta_max = 20.0;
};

// "flow" | "score" -> enum; throws InvalidArgument naming the accepted values.
Parameterisation parse_parameterisation(std::string_view name);
// "euler" | "heun" | "em" | "pf_euler" -> enum; throws InvalidArgument naming the accepted values.
Solver parse_solver(std::string_view name);
const char* to_string(Parameterisation p) noexcept;
const char* to_string(Solver s) noexcept;

// Denoiser evaluations per step: 2 for heun, 1 otherwise.
int evaluations_per_step(Solver s) noexcept;
// True when the solver adds fresh noise each step (em), i.e. consumes noise streams 1 .. N.
bool uses_step_noise(Solver s) noexcept;

// Throws InvalidArgument when the solver does not belong to the parameterisation, the temperature
// is not finite and > 0, or (score) the betas are not finite with 0 <= beta_min <= beta_max.
void validate_config(const SamplerConfig& config);

// x[i] = temperature * n0[i] (flow) or mu[i] + n0[i] / temperature (score), i < n.
// mu is read only for score and may be null for flow.
void initial_sample(Parameterisation p, const float* mu, const float* n0, double temperature,
                    std::size_t n, float* x) noexcept;

// x_out = x - h * v.
void flow_euler_update(const float* x, const float* v, double h, std::size_t n,
                       float* x_out) noexcept;
// x_out = x - h * (v1 + v2) / 2.
void flow_heun_update(const float* x, const float* v1, const float* v2, double h, std::size_t n,
                      float* x_out) noexcept;
// x_out = x - h b (1/2 (mu - x) - s) + sqrt(h b) noise.
void score_em_update(const float* x, const float* mu, const float* s, const float* noise, double h,
                     double b, std::size_t n, float* x_out) noexcept;
// x_out = x - h b 1/2 (mu - x - s).
void score_pf_euler_update(const float* x, const float* mu, const float* s, double h, double b,
                           std::size_t n, float* x_out) noexcept;

}  // namespace emomix
