// sampler_bindings.cpp — emomix._native's sampler pieces: counter-based noise (splitmix64, normal),
// the time grid, weight-schedule checks, the mixed prediction and the mixed-noise sampler loop
// with a Python denoiser (docs/sampler.md), plus the CUDA mix kernel for parity tests.
//
// Every function releases the GIL around native work; sample() re-acquires it only to call the
// Python denoiser. Bad inputs raise ValueError with a message naming the problem.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "bindings.hpp"
#include "emomix/cuda.hpp"
#include "emomix/error.hpp"
#include "emomix/kernels.hpp"
#include "emomix/rng.hpp"
#include "emomix/sampler.hpp"
#include "emomix/schedule.hpp"
#include "emomix/weights.hpp"

namespace py = pybind11;
using namespace emomix_py;

namespace {

py::array_t<float> py_normal(const py::object& seed, const py::object& stream, py::ssize_t n,
                             const py::object& offset) {
  if (n < 0) throw emomix::InvalidArgument("n must be >= 0, got " + std::to_string(n));
  const std::uint64_t s = as_u64(seed, "seed");
  const std::uint64_t st = as_u64(stream, "stream");
  const std::uint64_t off = as_u64(offset, "offset");
  py::array_t<float> out(n);
  float* p = out.mutable_data();
  {
    py::gil_scoped_release release;
    emomix::fill_normal(s, st, off, p, static_cast<std::size_t>(n));
  }
  return out;
}

py::array_t<float> py_make_noise(const py::object& seed, int steps, int n_mels, int frames,
                                 const py::object& durations_obj, const py::object& streams_obj) {
  if (steps < 0 || steps > emomix::kMaxSteps || n_mels < 1 || frames < 1) {
    throw emomix::InvalidArgument("make_noise needs 0 <= steps <= " +
                                  std::to_string(emomix::kMaxSteps) +
                                  " and n_mels, frames >= 1, got steps " + std::to_string(steps) +
                                  ", n_mels " + std::to_string(n_mels) + ", frames " +
                                  std::to_string(frames));
  }
  const int streams = streams_obj.is_none() ? steps + 1 : streams_obj.cast<int>();
  if (streams < 1 || streams > steps + 1) {
    throw emomix::InvalidArgument("streams must be between 1 and steps + 1 = " +
                                  std::to_string(steps + 1) + ", got " + std::to_string(streams));
  }
  const std::uint64_t s = as_u64(seed, "seed");
  const Durations durations = durations_arg(durations_obj);
  emomix::check_durations(durations.data, durations.phonemes, frames);
  py::array_t<float> out({steps + 1, n_mels, frames});
  float* p = out.mutable_data();
  {
    py::gil_scoped_release release;
    const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
    for (int k = 0; k < streams; ++k) {
      emomix::fill_line_noise(s, static_cast<std::uint64_t>(k), n_mels, frames, durations.data,
                              durations.phonemes, p + k * plane);
    }
    std::fill(p + streams * plane, p + (steps + 1) * plane, 0.0f);
  }
  return out;
}

py::array_t<double> py_time_grid(int steps) {
  if (steps < 1 || steps > emomix::kMaxSteps) {
    throw emomix::InvalidArgument("steps must be between 1 and " +
                                  std::to_string(emomix::kMaxSteps) + ", got " +
                                  std::to_string(steps));
  }
  py::array_t<double> tau(steps + 1);
  emomix::time_grid(steps, tau.mutable_data());
  return tau;
}

void py_validate_weights(const py::handle& w_obj) {
  FloatArray w = to_float_array(w_obj, "W");
  emomix::WeightsView v = weights_view(w);
  py::gil_scoped_release release;
  emomix::validate_weights(v);
}

std::vector<int> py_active_conditions(const py::handle& w_obj, int step) {
  FloatArray w = to_float_array(w_obj, "W");
  emomix::WeightsView v = weights_view(w);
  if (step < 0 || step >= v.steps) {
    throw emomix::InvalidArgument("step " + std::to_string(step) + " is out of range for W with " +
                                  std::to_string(v.steps) + " steps");
  }
  std::vector<int> out(static_cast<std::size_t>(v.conditions));
  const int n = emomix::active_conditions(v, step, out.data());
  out.resize(static_cast<std::size_t>(n));
  return out;
}

py::array_t<float> py_mix(const py::handle& preds_obj, const py::handle& weights_obj) {
  FloatArray preds = to_float_array(preds_obj, "preds");
  FloatArray weights = to_float_array(weights_obj, "weights");
  if (preds.ndim() != 3 || preds.shape(0) < 1 || preds.shape(1) < 1 || preds.shape(2) < 1) {
    throw emomix::InvalidArgument("preds must have shape (B, n_mels, F) with B, n_mels, F >= 1, "
                                  "got " + shape_string(preds));
  }
  const int batch = as_int(preds.shape(0));
  const int n_mels = as_int(preds.shape(1));
  const int frames = as_int(preds.shape(2));
  const bool per_frame = weights.ndim() == 2;
  const bool ok = (weights.ndim() == 1 && weights.shape(0) == batch) ||
                  (per_frame && weights.shape(0) == batch && weights.shape(1) == frames);
  if (!ok) {
    throw emomix::InvalidArgument("weights must have shape (B,) or (B, F) = (" +
                                  std::to_string(batch) + ",) or (" + std::to_string(batch) +
                                  ", " + std::to_string(frames) + ") for preds " +
                                  shape_string(preds) + ", got " + shape_string(weights));
  }
  py::array_t<float> out({n_mels, frames});
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    emomix::mix_predictions(preds.data(), weights.data(), batch, n_mels, frames, per_frame, o);
  }
  return out;
}

// Calls the Python denoiser from inside the native loop (GIL released around the loop).
void call_python_denoiser(const py::function& denoise, const float* x_batch, const float* t_batch,
                          const int* cond, int batch, int n_mels, int frames, float* out) {
  py::gil_scoped_acquire acquire;
  const std::size_t n = static_cast<std::size_t>(batch) * n_mels * frames;
  // Copies, not views: the callback may keep its arguments after it returns.
  py::array_t<float> x({batch, n_mels, frames});
  std::memcpy(x.mutable_data(), x_batch, n * sizeof(float));
  py::array_t<float> t(batch);
  std::memcpy(t.mutable_data(), t_batch, static_cast<std::size_t>(batch) * sizeof(float));
  // int64 array, as the numpy oracle passes np.flatnonzero(...).
  py::array_t<std::int64_t> indices(batch);
  for (int b = 0; b < batch; ++b) indices.mutable_data()[b] = cond[b];

  py::object result = denoise(x, t, indices);
  FloatArray pred = FloatArray::ensure(result);
  if (!pred) {
    PyErr_Clear();
    throw emomix::InvalidArgument("denoise must return a float32 array of shape (B, n_mels, F), "
                                  "got " + py::repr(py::type::of(result)).cast<std::string>());
  }
  if (pred.ndim() != 3 || pred.shape(0) != batch || pred.shape(1) != n_mels ||
      pred.shape(2) != frames) {
    throw emomix::InvalidArgument("denoise returned shape " + shape_string(pred) + ", expected (" +
                                  std::to_string(batch) + ", " + std::to_string(n_mels) + ", " +
                                  std::to_string(frames) + ") for conditions " +
                                  py::str(indices).cast<std::string>());
  }
  std::memcpy(out, pred.data(), n * sizeof(float));
}

py::array_t<float> py_sample(const py::function& denoise, const py::handle& mu_obj,
                             const py::handle& w_obj, const std::string& parameterisation,
                             const std::string& solver, double temperature, const py::object& seed,
                             double beta_min, double beta_max, const py::object& noise_obj,
                             const py::object& durations_obj) {
  emomix::SamplerConfig config;
  config.parameterisation = emomix::parse_parameterisation(parameterisation);
  config.solver = emomix::parse_solver(solver);
  config.temperature = temperature;
  config.beta_min = beta_min;
  config.beta_max = beta_max;

  FloatArray mu = to_float_array(mu_obj, "mu");
  if (mu.ndim() != 2) {
    throw emomix::InvalidArgument("mu must have shape (n_mels, F), got " + shape_string(mu));
  }
  FloatArray w = to_float_array(w_obj, "W");
  emomix::SampleInputs in;
  in.mu = mu.data();
  in.n_mels = as_int(mu.shape(0));
  in.frames = as_int(mu.shape(1));
  in.weights = weights_view(w);
  in.seed = as_u64(seed, "seed");
  const Durations durations = durations_arg(durations_obj);
  in.durations = durations.data;
  in.phonemes = durations.phonemes;

  const Noise noise = noise_arg(noise_obj, in.weights.steps, in.n_mels, in.frames);
  in.noise = noise.data;

  py::array_t<float> out({in.n_mels, in.frames});
  float* o = out.mutable_data();
  emomix::Denoiser callback = [&denoise](const float* x, const float* t, const int* cond, int b,
                                         int c, int f, float* pred) {
    call_python_denoiser(denoise, x, t, cond, b, c, f, pred);
  };
  {
    py::gil_scoped_release release;
    emomix::SamplerWorkspace workspace;
    emomix::sample(callback, in, config, workspace, o);
  }
  return out;
}

py::array_t<float> py_cuda_mix_euler(const py::handle& x_obj, const py::handle& preds_obj,
                                     const py::handle& weights_obj, double h) {
  FloatArray x = to_float_array(x_obj, "x");
  FloatArray preds = to_float_array(preds_obj, "preds");
  FloatArray weights = to_float_array(weights_obj, "weights");
  if (preds.ndim() != 3 || x.ndim() != 2 || x.shape(0) != preds.shape(1) ||
      x.shape(1) != preds.shape(2)) {
    throw emomix::InvalidArgument("x must be (n_mels, F) and preds (B, n_mels, F), got x " +
                                  shape_string(x) + ", preds " + shape_string(preds));
  }
  const int batch = as_int(preds.shape(0));
  const int n_mels = as_int(preds.shape(1));
  const int frames = as_int(preds.shape(2));
  const bool per_frame = weights.ndim() == 2;
  if (!((weights.ndim() == 1 && weights.shape(0) == batch) ||
        (per_frame && weights.shape(0) == batch && weights.shape(1) == frames))) {
    throw emomix::InvalidArgument("weights must have shape (B,) or (B, F), got " +
                                  shape_string(weights));
  }
  py::array_t<float> out({n_mels, frames});
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    emomix::cuda::mix_euler_host(x.data(), preds.data(), weights.data(), batch, n_mels, frames,
                                 per_frame, h, o);
  }
  return out;
}

}  // namespace

void register_sampler(py::module_& m) {
  m.def("splitmix64", [](const py::object& z) { return emomix::splitmix64(as_u64(z, "z")); },
        py::arg("z"), "The splitmix64 finaliser of z (taken modulo 2**64).");

  m.def("normal", &py_normal, py::arg("seed"), py::arg("stream"), py::arg("n"),
        py::arg("offset") = 0,
        "n standard normal deviates, float32 array (n,), for (seed, stream) at indices offset .. "
        "offset + n - 1. Bit-compatible with emomix.sampler.rng.normal.");

  m.def("make_noise", &py_make_noise, py::arg("seed"), py::arg("steps"), py::arg("n_mels"),
        py::arg("frames"), py::arg("durations") = py::none(), py::arg("streams") = py::none(),
        "A line's sampler noise, float32 (steps + 1, n_mels, frames): [0] the initial sample, "
        "[k + 1] step k's, anchored to the phoneme durations when given. Bit-compatible with "
        "emomix.sampler.make_noise. Only the first `streams` planes (default all) are drawn; "
        "the rest are zero.");

  m.def("time_grid", &py_time_grid, py::arg("steps"),
        "tau, float64 array (steps + 1,): tau[k] = 1 - k / steps. 1 <= steps <= 1000.");

  m.def("validate_weights", &py_validate_weights, py::arg("W"),
        "Checks W (N, M) or (N, M, F): finite entries, each step (and frame) summing to 1 within "
        "1e-4. Raises ValueError naming the step (and frame) at fault.");

  m.def("active_conditions", &py_active_conditions, py::arg("W"), py::arg("step"),
        "Ascending indices of the conditions with a non-zero weight at `step` (any frame).");

  m.def("mix", &py_mix, py::arg("preds"), py::arg("weights"),
        "Mixed prediction (n_mels, F) float32 = sum_b weights[b, (f)] * preds[b].\n\n"
        "preds: (B, n_mels, F), one row per evaluated condition; weights: (B,) or (B, F), the "
        "weights of those conditions at the step, e.g. W[k, active_conditions(W, k)].");

  m.def("sample", &py_sample, py::arg("denoise"), py::arg("mu"), py::arg("W"),
        py::arg("parameterisation"), py::arg("solver"), py::arg("temperature") = 1.0,
        py::arg("seed") = 0, py::arg("beta_min") = 0.05, py::arg("beta_max") = 20.0,
        py::arg("noise") = py::none(), py::arg("durations") = py::none(),
        "Runs the mixed-noise sampler (docs/sampler.md) and returns x_N, float32 (n_mels, F).\n\n"
        "denoise(x_batch (B, n_mels, F) float32, t_batch (B,) float32, cond_indices (B,) int64) -> "
        "(B, n_mels, F). Called once per evaluation with the conditions active at the step "
        "(ascending); heun calls it twice per step.\n"
        "mu: (n_mels, F). W: (N, M) or (N, M, F); N is the number of steps.\n"
        "parameterisation: 'flow' (solver 'euler' | 'heun') or 'score' (solver 'em' | "
        "'pf_euler').\n"
        "noise: optional float32 (N + 1, n_mels, F): noise[0] = n_0, noise[k + 1] = step k's "
        "noise; without it the noise is drawn from `seed` (stream 0, then k + 1).\n"
        "durations: optional (T,) int phoneme lengths adding up to F; the seeded noise is anchored "
        "to them (docs/sampler.md).\n"
        "The GIL is released except while denoise runs. Raises ValueError on bad inputs.");

  m.def("cuda_mix_euler", &py_cuda_mix_euler, py::arg("x"), py::arg("preds"), py::arg("weights"),
        py::arg("h"),
        "x - h * mix(preds, weights) computed by the CUDA kernel (bit-identical to the CPU path). "
        "Raises RuntimeError when CUDA is not built or no device is present.");
}
