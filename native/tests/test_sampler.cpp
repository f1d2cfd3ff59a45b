// The sampler loop: time grid, analytic trajectories for every solver, batching and skipping of
// zero-weight conditions, noise injection, and input errors.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/rng.hpp"
#include "emomix/sampler.hpp"
#include "emomix/schedule.hpp"
#include "harness.hpp"

using emomix::InvalidArgument;
using emomix::Parameterisation;
using emomix::SamplerConfig;
using emomix::Solver;

namespace {

constexpr int kMels = 3;
constexpr int kFrames = 4;
constexpr int kPlane = kMels * kFrames;

// Per-condition targets a_i[c, f] = target(i, c, f).
float target(int i, int c, int f) { return 0.5f * (i + 1) + 0.1f * c - 0.05f * f * (i % 2 ? 1 : -1); }

// Flow: v_i(x) = x - a_i (the velocity whose Euler steps pull x towards a_i).
// Score: s_i(x) = a_i - x (the score of N(a_i, I)).
emomix::Denoiser linear_denoiser(Parameterisation p) {
  return [p](const float* x, const float*, const int* cond, int batch, int n_mels, int frames,
             float* out) {
    for (int b = 0; b < batch; ++b) {
      for (int c = 0; c < n_mels; ++c) {
        for (int f = 0; f < frames; ++f) {
          const int j = (b * n_mels + c) * frames + f;
          const float a = target(cond[b], c, f);
          out[j] = p == Parameterisation::flow ? x[j] - a : a - x[j];
        }
      }
    }
  };
}

// The mixed target a-bar[c, f] of step k under W ([N, M] or [N, M, F]).
double mixed_target(const emomix::WeightsView& w, int k, int c, int f) {
  double a = 0;
  for (int i = 0; i < w.conditions; ++i) a += double(w.row(k, i)[w.per_frame() ? f : 0]) * target(i, c, f);
  return a;
}

std::vector<float> run(Parameterisation p, Solver s, const emomix::WeightsView& w,
                       const std::vector<float>& mu, const float* noise, std::uint64_t seed = 0,
                       double temperature = 1.0, const std::int64_t* durations = nullptr,
                       int phonemes = 0) {
  SamplerConfig config;
  config.parameterisation = p;
  config.solver = s;
  config.temperature = temperature;
  emomix::SampleInputs in;
  in.mu = mu.data();
  in.n_mels = kMels;
  in.frames = kFrames;
  in.weights = w;
  in.seed = seed;
  in.noise = noise;
  in.durations = durations;
  in.phonemes = phonemes;
  return emomix::sample(linear_denoiser(p), in, config);
}

// N = 4 steps, M = 3 conditions; the base alone, a mix, the mix-ins alone (an emomix schedule).
const std::vector<float> kW = {1, 0, 0, 0.5f, 0.3f, 0.2f, 0.5f, 0.3f, 0.2f, 0, 0.6f, 0.4f};

// Per frame [N=4, M=2, F=4]: a trajectory moving from condition 0 to condition 1 across frames.
std::vector<float> trajectory_weights() {
  std::vector<float> w;
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 2; ++i) {
      for (int f = 0; f < kFrames; ++f) {
        const float alpha = f / float(kFrames - 1);
        w.push_back(i == 0 ? 1 - alpha : alpha);
      }
    }
  }
  return w;
}

std::vector<float> mu_values() {
  std::vector<float> mu(kPlane);
  for (int j = 0; j < kPlane; ++j) mu[j] = 0.3f * j - 1.0f;
  return mu;
}

}  // namespace

TEST(schedule_time_grid) {
  double tau[5];
  emomix::time_grid(4, tau);
  CHECK(tau[0] == 1.0 && tau[1] == 0.75 && tau[2] == 0.5 && tau[3] == 0.25 && tau[4] == 0.0);
  CHECK_THROWS_WITH(InvalidArgument, emomix::time_grid(0, tau), "between 1 and 1000");
  CHECK_THROWS_WITH(InvalidArgument, emomix::time_grid(1001, tau), "got 1001");
  CHECK(emomix::beta(0.5, 0.05, 20.0) == 0.05 + 19.95 * 0.5);
}

TEST(sampler_flow_euler_analytic) {
  // From x_0 = 0 (zero noise), Euler on v = x - a-bar_k gives x_{k+1} = (1 - h) x_k + h a-bar_k.
  for (bool per_frame : {false, true}) {
    const std::vector<float> wdata = per_frame ? trajectory_weights() : kW;
    const emomix::WeightsView w{wdata.data(), 4, per_frame ? 2 : 3, per_frame ? kFrames : 0};
    const std::vector<float> noise(5 * kPlane, 0.0f);
    const std::vector<float> x = run(Parameterisation::flow, Solver::euler, w, mu_values(), noise.data());
    for (int c = 0; c < kMels; ++c) {
      for (int f = 0; f < kFrames; ++f) {
        double e = 0;
        for (int k = 0; k < 4; ++k) e = 0.75 * e + 0.25 * mixed_target(w, k, c, f);
        CHECK_NEAR(x[c * kFrames + f], e, 2e-6);
      }
    }
  }
  // Single condition, closed form: x_N = a (1 - (1 - h)^N).
  const std::vector<float> one = {1, 1, 1, 1};
  const emomix::WeightsView w1{one.data(), 4, 1, 0};
  const std::vector<float> zeros(5 * kPlane, 0.0f);
  const std::vector<float> x = run(Parameterisation::flow, Solver::euler, w1, mu_values(), zeros.data());
  CHECK_NEAR(x[5], target(0, 1, 1) * (1 - std::pow(0.75, 4)), 2e-6);
}

TEST(sampler_flow_heun_analytic) {
  // v = x - a-bar is time independent, so one Heun step scales (x - a-bar) by 1 - h + h^2 / 2.
  const emomix::WeightsView w{kW.data(), 4, 3, 0};
  std::vector<float> noise(5 * kPlane, 0.0f);
  for (int j = 0; j < kPlane; ++j) noise[j] = 0.1f * j - 0.4f;
  const double temperature = 0.7;
  const std::vector<float> x =
      run(Parameterisation::flow, Solver::heun, w, mu_values(), noise.data(), 0, temperature);
  const double h = 0.25, g = 1 - h + h * h / 2;
  for (int c = 0; c < kMels; ++c) {
    for (int f = 0; f < kFrames; ++f) {
      double e = float(temperature) * noise[c * kFrames + f];
      for (int k = 0; k < 4; ++k) {
        const double a = mixed_target(w, k, c, f);
        e = a + g * (e - a);
      }
      CHECK_NEAR(x[c * kFrames + f], e, 1e-5);
    }
  }
}

TEST(sampler_score_pf_euler_analytic) {
  // s = a-bar - x makes the pf-ODE drift constant: x_{k+1} = x_k - h b_k / 2 (mu - a-bar_k).
  const emomix::WeightsView w{kW.data(), 4, 3, 0};
  const std::vector<float> mu = mu_values();
  std::vector<float> noise(5 * kPlane);
  emomix::fill_normal(9, 0, 0, noise.data(), kPlane);
  const double temperature = 1.5;
  const std::vector<float> x =
      run(Parameterisation::score, Solver::pf_euler, w, mu, noise.data(), 0, temperature);
  double tau[5];
  emomix::time_grid(4, tau);
  for (int c = 0; c < kMels; ++c) {
    for (int f = 0; f < kFrames; ++f) {
      const int j = c * kFrames + f;
      double e = mu[j] + noise[j] / temperature;
      for (int k = 0; k < 4; ++k) {
        const double b = emomix::beta(tau[k], 0.05, 20.0);
        e -= 0.25 * b / 2 * (mu[j] - mixed_target(w, k, c, f));
      }
      CHECK_NEAR(x[j], e, 1e-4);
    }
  }
}

TEST(sampler_score_em_seeded_matches_reference_and_provided_noise) {
  const std::vector<float> wdata = trajectory_weights();
  const emomix::WeightsView w{wdata.data(), 4, 2, kFrames};
  const std::vector<float> mu = mu_values();
  const std::uint64_t seed = 2024;
  // Build the noise the seed stands for: stream 0 = n_0, stream k + 1 = step k (one segment).
  std::vector<float> noise(5 * kPlane);
  for (int s = 0; s < 5; ++s) {
    emomix::fill_line_noise(seed, s, kMels, kFrames, nullptr, 0, noise.data() + s * kPlane);
  }

  const std::vector<float> seeded = run(Parameterisation::score, Solver::em, w, mu, nullptr, seed);
  const std::vector<float> provided = run(Parameterisation::score, Solver::em, w, mu, noise.data());
  CHECK(seeded == provided);

  double tau[5];
  emomix::time_grid(4, tau);
  for (int c = 0; c < kMels; ++c) {
    for (int f = 0; f < kFrames; ++f) {
      const int j = c * kFrames + f;
      double e = mu[j] + noise[j];
      for (int k = 0; k < 4; ++k) {
        const double hb = 0.25 * emomix::beta(tau[k], 0.05, 20.0);
        const double s = mixed_target(w, k, c, f) - e;
        e = e - hb * (0.5 * (mu[j] - e) - s) + std::sqrt(hb) * noise[(k + 1) * kPlane + j];
      }
      CHECK_NEAR(seeded[j], e, 1e-4 * (1 + std::fabs(e)));
    }
  }
}

TEST(sampler_anchors_seeded_noise_to_the_durations) {
  const std::vector<float> wdata = trajectory_weights();
  const emomix::WeightsView w{wdata.data(), 4, 2, kFrames};
  const std::vector<float> mu = mu_values();
  const std::uint64_t seed = 77;
  const std::int64_t dur[] = {1, 3};
  std::vector<float> noise(5 * kPlane);
  for (int s = 0; s < 5; ++s) {
    emomix::fill_line_noise(seed, s, kMels, kFrames, dur, 2, noise.data() + s * kPlane);
  }
  const auto em = [&](const float* n, const std::int64_t* d, int p) {
    return run(Parameterisation::score, Solver::em, w, mu, n, seed, 1.0, d, p);
  };
  CHECK(em(nullptr, dur, 2) == em(noise.data(), nullptr, 0));
  CHECK(em(nullptr, dur, 2) != em(nullptr, nullptr, 0));
  const std::int64_t wrong[] = {1, 2};
  CHECK_THROWS_WITH(emomix::InvalidArgument, em(nullptr, wrong, 2),
                    "durations add up to 3 frames but the line has 4");
}

TEST(sampler_batches_active_conditions_and_skips_zero_weights) {
  // [N=4, M=3]; step 0: {0}; steps 1, 2: {0, 1, 2}; step 3: {1, 2}.
  const emomix::WeightsView w{kW.data(), 4, 3, 0};
  const std::vector<float> mu = mu_values();
  struct Call {
    std::vector<int> cond;
    float t;
  };
  for (Solver s : {Solver::euler, Solver::heun}) {
    std::vector<Call> calls;
    emomix::Denoiser inner = linear_denoiser(Parameterisation::flow);
    emomix::Denoiser recording = [&](const float* x, const float* t, const int* cond, int batch,
                                     int n_mels, int frames, float* out) {
      calls.push_back({std::vector<int>(cond, cond + batch), t[0]});
      for (int b = 1; b < batch; ++b) {
        CHECK(t[b] == t[0]);
        for (int j = 0; j < n_mels * frames; ++j) CHECK(x[b * n_mels * frames + j] == x[j]);
      }
      inner(x, t, cond, batch, n_mels, frames, out);
    };
    SamplerConfig config;
    config.solver = s;
    emomix::SampleInputs in{mu.data(), kMels, kFrames, w, 1, nullptr};
    emomix::sample(recording, in, config);

    const int per_step = s == Solver::heun ? 2 : 1;
    REQUIRE(calls.size() == std::size_t(4 * per_step));
    const std::vector<std::vector<int>> expected = {{0}, {0, 1, 2}, {0, 1, 2}, {1, 2}};
    std::size_t evaluated = 0;
    for (int k = 0; k < 4; ++k) {
      for (int e = 0; e < per_step; ++e) {
        const Call& call = calls[k * per_step + e];
        CHECK(call.cond == expected[k]);
        CHECK(call.t == float(1.0 - (k + e) / 4.0));  // heun's 2nd call is at tau[k + 1]
        evaluated += call.cond.size();
      }
    }
    CHECK(evaluated == std::size_t(9 * per_step));  // of 4 x 3 condition slots, 3 are skipped
  }
}

TEST(sampler_rejects_bad_inputs_without_touching_out) {
  const std::vector<float> mu = mu_values();
  const emomix::WeightsView w{kW.data(), 4, 3, 0};
  emomix::SampleInputs in{mu.data(), kMels, kFrames, w, 0, nullptr};
  const emomix::Denoiser d = linear_denoiser(Parameterisation::flow);
  emomix::SamplerWorkspace ws;
  std::vector<float> out(kPlane, 123.0f);

  SamplerConfig bad;
  bad.solver = Solver::em;  // score solver with flow
  CHECK_THROWS_WITH(InvalidArgument, emomix::sample(d, in, bad, ws, out.data()),
                    "does not apply to parameterisation 'flow'");
  bad = SamplerConfig{};
  bad.temperature = 0;
  CHECK_THROWS_WITH(InvalidArgument, emomix::sample(d, in, bad, ws, out.data()), "temperature");
  bad = SamplerConfig{Parameterisation::score, Solver::em, 1.0, 1.0, 0.5};
  CHECK_THROWS_WITH(InvalidArgument, emomix::sample(d, in, bad, ws, out.data()), "beta_min");

  const std::vector<float> wrong_sum = {1, 0, 0, 0.5f, 0.3f, 0.3f, 1, 0, 0, 1, 0, 0};
  in.weights = {wrong_sum.data(), 4, 3, 0};
  CHECK_THROWS_WITH(InvalidArgument, emomix::sample(d, in, SamplerConfig{}, ws, out.data()),
                    "W[step 1]: weights sum to 1.1");
  const std::vector<float> traj = trajectory_weights();
  in.weights = {traj.data(), 4, 2, kFrames - 1};  // per-frame weights with the wrong F
  CHECK_THROWS_WITH(InvalidArgument, emomix::sample(d, in, SamplerConfig{}, ws, out.data()),
                    "per-frame W has 3 frames but mu has 4");
  in.weights = w;
  in.frames = 0;
  CHECK_THROWS_WITH(InvalidArgument, emomix::sample(d, in, SamplerConfig{}, ws, out.data()),
                    "n_mels, F >= 1");
  for (float v : out) CHECK(v == 123.0f);

  CHECK_THROWS_WITH(InvalidArgument, emomix::parse_solver("dpm"), "unknown solver 'dpm'");
  CHECK_THROWS_WITH(InvalidArgument, emomix::parse_parameterisation("v"), "'flow' or 'score'");
  CHECK(emomix::parse_solver("pf_euler") == Solver::pf_euler);
}

TEST(sampler_callback_exception_propagates_and_workspace_stays_usable) {
  const std::vector<float> mu = mu_values();
  const emomix::WeightsView w{kW.data(), 4, 3, 0};
  emomix::SampleInputs in{mu.data(), kMels, kFrames, w, 5, nullptr};
  emomix::SamplerWorkspace ws;
  std::vector<float> a(kPlane), b(kPlane);
  int calls = 0;
  const emomix::Denoiser failing = [&](const float*, const float*, const int*, int, int, int,
                                       float*) {
    if (++calls == 2) throw std::runtime_error("network failed");
  };
  CHECK_THROWS_WITH(std::runtime_error, emomix::sample(failing, in, SamplerConfig{}, ws, a.data()),
                    "network failed");
  const emomix::Denoiser d = linear_denoiser(Parameterisation::flow);
  emomix::sample(d, in, SamplerConfig{}, ws, a.data());
  emomix::SamplerWorkspace fresh;
  emomix::sample(d, in, SamplerConfig{}, fresh, b.data());
  CHECK(a == b);
  CHECK(ws.bytes() > 0);
}
