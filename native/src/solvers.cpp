#include "emomix/solvers.hpp"

#include <cmath>
#include <string>

#include "emomix/error.hpp"

namespace emomix {

Parameterisation parse_parameterisation(std::string_view name) {
  if (name == "flow") return Parameterisation::flow;
  if (name == "score") return Parameterisation::score;
  throw InvalidArgument("unknown parameterisation '" + std::string(name) +
                        "'; expected 'flow' or 'score'");
}

Solver parse_solver(std::string_view name) {
  if (name == "euler") return Solver::euler;
  if (name == "heun") return Solver::heun;
  if (name == "em") return Solver::em;
  if (name == "pf_euler") return Solver::pf_euler;
  throw InvalidArgument("unknown solver '" + std::string(name) +
                        "'; expected 'euler' or 'heun' (flow), 'em' or 'pf_euler' (score)");
}

const char* to_string(Parameterisation p) noexcept {
  switch (p) {
    case Parameterisation::flow: return "flow";
    case Parameterisation::score: return "score";
  }
  return "?";
}

const char* to_string(Solver s) noexcept {
  switch (s) {
    case Solver::euler: return "euler";
    case Solver::heun: return "heun";
    case Solver::em: return "em";
    case Solver::pf_euler: return "pf_euler";
  }
  return "?";
}

int evaluations_per_step(Solver s) noexcept { return s == Solver::heun ? 2 : 1; }

bool uses_step_noise(Solver s) noexcept { return s == Solver::em; }

void validate_config(const SamplerConfig& config) {
  const bool flow = config.parameterisation == Parameterisation::flow;
  const bool flow_solver = config.solver == Solver::euler || config.solver == Solver::heun;
  if (flow != flow_solver) {
    throw InvalidArgument(std::string("solver '") + to_string(config.solver) +
                          "' does not apply to parameterisation '" +
                          to_string(config.parameterisation) + "'; use " +
                          (flow ? "'euler' or 'heun'" : "'em' or 'pf_euler'"));
  }
  if (!std::isfinite(config.temperature) || !(config.temperature > 0.0)) {
    throw InvalidArgument("temperature must be finite and > 0, got " +
                          std::to_string(config.temperature));
  }
  if (!flow && (!std::isfinite(config.beta_min) || !std::isfinite(config.beta_max) ||
                config.beta_min < 0.0 || config.beta_max < config.beta_min)) {
    throw InvalidArgument("beta_min and beta_max must be finite with 0 <= beta_min <= beta_max, "
                          "got beta_min=" + std::to_string(config.beta_min) +
                          ", beta_max=" + std::to_string(config.beta_max));
  }
}

void initial_sample(Parameterisation p, const float* mu, const float* n0, double temperature,
                    std::size_t n, float* x) noexcept {
  const float temp = static_cast<float>(temperature);
  if (p == Parameterisation::flow) {
    for (std::size_t i = 0; i < n; ++i) x[i] = temp * n0[i];
  } else {
    for (std::size_t i = 0; i < n; ++i) x[i] = mu[i] + n0[i] / temp;
  }
}

void flow_euler_update(const float* x, const float* v, double h, std::size_t n,
                       float* x_out) noexcept {
  const float hf = static_cast<float>(h);
  for (std::size_t i = 0; i < n; ++i) x_out[i] = x[i] - hf * v[i];
}

void flow_heun_update(const float* x, const float* v1, const float* v2, double h, std::size_t n,
                      float* x_out) noexcept {
  const float hf = static_cast<float>(h);
  const float half_h = hf * 0.5f;
  for (std::size_t i = 0; i < n; ++i) x_out[i] = x[i] - half_h * (v1[i] + v2[i]);
}

void score_em_update(const float* x, const float* mu, const float* s, const float* noise, double h,
                     double b, std::size_t n, float* x_out) noexcept {
  const float hb = static_cast<float>(h) * static_cast<float>(b);
  const float sd = std::sqrt(hb);
  for (std::size_t i = 0; i < n; ++i) {
    x_out[i] = x[i] - hb * (0.5f * (mu[i] - x[i]) - s[i]) + sd * noise[i];
  }
}

void score_pf_euler_update(const float* x, const float* mu, const float* s, double h, double b,
                           std::size_t n, float* x_out) noexcept {
  const float hb_half = static_cast<float>(h) * static_cast<float>(b) * 0.5f;
  for (std::size_t i = 0; i < n; ++i) x_out[i] = x[i] - hb_half * (mu[i] - x[i] - s[i]);
}

}  // namespace emomix
