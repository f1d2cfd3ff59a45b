// emomix._native — Python bindings of the native core (native/include/emomix).
//
// Every function releases the GIL around native work; sample() re-acquires it only to call the
// Python denoiser. Bad inputs raise ValueError with a message naming the problem; nothing crashes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include <memory>
#include <mutex>

#include "emomix/cuda.hpp"
#include "emomix/error.hpp"
#include "emomix/harmonics.hpp"
#include "emomix/kernels.hpp"
#include "emomix/model.hpp"
#include "emomix/session.hpp"
#include "emomix/rng.hpp"
#include "emomix/sampler.hpp"
#include "emomix/schedule.hpp"
#include "emomix/version.hpp"
#include "emomix/weights.hpp"
#include "runtime_handles.hpp"

namespace py = pybind11;

// voice_bindings.cpp: the voice bundle contract (validator, sha256, schema; VoiceError translation).
void register_voice(py::module_& m);
// text_bindings.cpp: the text frontend, emomix._native.text (emomix/text.hpp).
void register_text(py::module_& m);
// generation_bindings.cpp: GenerationConfig, the line plan and Session.synthesize_text.
void register_generation(py::module_& m);

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Int64Array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (d) s += ", ";
    s += std::to_string(a.shape(d));
  }
  return s + (a.ndim() == 1 ? ",)" : ")");
}

int as_int(py::ssize_t v) { return static_cast<int>(v); }

// A line's optional phoneme durations (None, or a 1-D integer array) that anchor its seeded noise;
// the sampler checks that they add up to the line's frames.
struct Durations {
  Int64Array array;
  const std::int64_t* data = nullptr;
  int phonemes = 0;
};

Durations durations_arg(const py::object& obj) {
  Durations d;
  if (obj.is_none()) return d;
  const py::array a = py::array::ensure(obj);
  if (!a || a.ndim() != 1 || a.shape(0) == 0 ||
      (a.dtype().kind() != 'i' && a.dtype().kind() != 'u')) {
    PyErr_Clear();
    throw emomix::InvalidArgument("durations must be a non-empty 1-D array of integer frame "
                                  "counts, got " +
                                  py::repr(obj).cast<std::string>().substr(0, 80));
  }
  d.array = Int64Array::ensure(a);
  d.data = d.array.data();
  d.phonemes = static_cast<int>(d.array.shape(0));
  return d;
}

// A non-negative integer (Python int, numpy integer, anything with __index__) reduced modulo
// 2**64, as emomix.sampler.rng does.
std::uint64_t as_u64(const py::handle& v, const char* what) {
  auto bad = [&] {
    return emomix::InvalidArgument(std::string(what) + " must be a non-negative integer, got " +
                                   py::repr(v).cast<std::string>());
  };
  PyObject* index = PyNumber_Index(v.ptr());
  if (index == nullptr) {
    PyErr_Clear();
    throw bad();
  }
  const py::object as_int = py::reinterpret_steal<py::object>(index);
  if (PyObject_RichCompareBool(as_int.ptr(), py::int_(0).ptr(), Py_LT) == 1) throw bad();
  const unsigned long long r = PyLong_AsUnsignedLongLongMask(as_int.ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  return static_cast<std::uint64_t>(r);
}

FloatArray to_float_array(const py::handle& obj, const char* what) {
  FloatArray a = FloatArray::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw emomix::InvalidArgument(std::string(what) + " must be convertible to a float32 array");
  }
  return a;
}

emomix::WeightsView weights_view(const FloatArray& w) {
  if (w.ndim() != 2 && w.ndim() != 3) {
    throw emomix::InvalidArgument("W must have shape (N, M) or (N, M, F), got " + shape_string(w));
  }
  emomix::WeightsView v;
  v.data = w.data();
  v.steps = as_int(w.shape(0));
  v.conditions = as_int(w.shape(1));
  v.frames = w.ndim() == 3 ? as_int(w.shape(2)) : 0;
  if (w.ndim() == 3 && v.frames == 0) {
    throw emomix::InvalidArgument("per-frame W must have F >= 1, got " + shape_string(w));
  }
  return v;
}

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

  FloatArray noise;
  if (!noise_obj.is_none()) {
    noise = to_float_array(noise_obj, "noise");
    const py::ssize_t expected[3] = {in.weights.steps + 1, in.n_mels, in.frames};
    if (noise.ndim() != 3 || noise.shape(0) != expected[0] || noise.shape(1) != expected[1] ||
        noise.shape(2) != expected[2]) {
      throw emomix::InvalidArgument(
          "noise must have shape (N + 1, n_mels, F) = (" + std::to_string(expected[0]) + ", " +
          std::to_string(expected[1]) + ", " + std::to_string(expected[2]) + "), got " +
          shape_string(noise));
    }
    in.noise = noise.data();
  }

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


// --- the native runtime: Model and Session --------------------------------------------------------

// PyModel, PySession: runtime_handles.hpp (generation_bindings.cpp adds methods to Session).
using emomix_py::PyModel;
using emomix_py::PySession;

// A streaming vocoder state plus a mutex (pulls from several Python threads are serialised; the
// stream lock is always taken before a Session's).
struct PyVocoderStream {
  std::unique_ptr<emomix::VocoderStream> stream;
  std::mutex mutex;
};

void require_shape(const py::array& a, std::initializer_list<py::ssize_t> shape, const char* what,
                   const char* expected) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  py::ssize_t d = 0;
  for (py::ssize_t s : shape) {
    if (ok && s >= 0 && a.shape(d) != s) ok = false;
    ++d;
  }
  if (!ok) {
    throw emomix::InvalidArgument(std::string(what) + " must have shape " + expected + ", got " +
                                  shape_string(a));
  }
}

// The encoder's inputs, converted and checked: phonemes (T,) int, an emotion (E,) and a speaker
// (S,) vector. `emotion_name` names the emotion argument in errors.
struct EncoderInputs {
  Int64Array ids;
  FloatArray emotion;
  FloatArray speaker;
  int phonemes() const { return as_int(ids.shape(0)); }
};

EncoderInputs encoder_inputs(const emomix::ModelConfig& c, const py::handle& ids_obj,
                             const py::handle& emo_obj, const py::handle& spk_obj,
                             const char* emotion_name) {
  EncoderInputs in{Int64Array::ensure(ids_obj), FloatArray(), FloatArray()};
  if (!in.ids || in.ids.ndim() != 1 || in.ids.shape(0) < 1) {
    PyErr_Clear();
    throw emomix::InvalidArgument("phonemes must be a non-empty 1-D integer array");
  }
  in.emotion = to_float_array(emo_obj, emotion_name);
  in.speaker = to_float_array(spk_obj, "speaker");
  require_shape(in.emotion, {c.emotion_dim}, emotion_name, "(E,)");
  require_shape(in.speaker, {c.speaker_dim}, "speaker", "(S,)");
  return in;
}

const emomix::ModelConfig& cfg_of(PySession& s) { return s.model->config(); }

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

template <typename T>
void require_finite(const py::array_t<T, py::array::c_style | py::array::forcecast>& a,
                    const char* what) {
  const T* p = a.data();
  for (py::ssize_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(p[i])) {
      throw emomix::InvalidArgument(std::string(what) + " contains NaN or inf (at flat index " +
                                    std::to_string(i) + ")");
    }
  }
}

void require_pitch(const emomix::Model& m) {
  if (!m.has_pitch()) {
    throw emomix::InvalidArgument("this voice has no pitch predictor (model.config.pitch.enabled "
                                  "is false)");
  }
}

// frame_pitch() of a line: pitch (M, 2, T), durations (T,), weights (M,) or (M, F) -> (f0 (F,),
// voicing (F,)) float64.
py::tuple py_frame_pitch(const PyModel& p, const py::handle& pitch_obj, const py::handle& dur_obj,
                         const py::handle& w_obj) {
  const emomix::Model& m = *p.model;
  require_pitch(m);
  FloatArray pitch = to_float_array(pitch_obj, "pitch");
  Int64Array dur = Int64Array::ensure(dur_obj);
  if (!dur) {
    PyErr_Clear();
    throw emomix::InvalidArgument("durations must be convertible to an int64 array");
  }
  FloatArray w = to_float_array(w_obj, "weights");
  if (pitch.ndim() != 3 || pitch.shape(0) < 1 || pitch.shape(1) != 2 || pitch.shape(2) < 1) {
    throw emomix::InvalidArgument("pitch must have shape (M, 2, T) with M, T >= 1, got " +
                                  shape_string(pitch));
  }
  const py::ssize_t M = pitch.shape(0), T = pitch.shape(2);
  require_shape(dur, {T}, "durations", "(T,) matching pitch");
  std::int64_t frames = 0;
  for (py::ssize_t t = 0; t < T; ++t) {
    if (dur.data()[t] < 0) throw emomix::InvalidArgument("durations must be >= 0");
    frames += dur.data()[t];
  }
  if (frames < 1 || frames > std::numeric_limits<int>::max()) {
    throw emomix::InvalidArgument("durations must sum to at least one frame, got " +
                                  std::to_string(frames));
  }
  const bool per_frame = w.ndim() == 2;
  if (!((w.ndim() == 1 && w.shape(0) == M) ||
        (per_frame && w.shape(0) == M && w.shape(1) == frames))) {
    throw emomix::InvalidArgument("weights must have shape (M,) = (" + std::to_string(M) +
                                  ",) or (M, F) = (" + std::to_string(M) + ", " +
                                  std::to_string(frames) + "), got " + shape_string(w));
  }
  require_finite(pitch, "pitch");
  require_finite(w, "weights");
  const py::ssize_t F = static_cast<py::ssize_t>(frames);
  py::array_t<double> f0(F), voicing(F);
  double* f = f0.mutable_data();
  double* v = voicing.mutable_data();
  {
    py::gil_scoped_release release;
    emomix::HarmonicsWorkspace ws;
    emomix::frame_pitch(pitch.data(), as_int(M), as_int(T), dur.data(), w.data(), per_frame,
                        static_cast<int>(frames), m.config().pitch, ws, f, v);
  }
  return py::make_tuple(f0, voicing);
}

// render_harmonics(): mel (C, F), f0 (F,) Hz, voicing (F,) -> mel (C, F) float32.
py::array_t<float> py_render_harmonics(const PyModel& p, const py::handle& mel_obj,
                                       const py::handle& f0_obj, const py::handle& voicing_obj) {
  const emomix::Model& m = *p.model;
  require_pitch(m);
  const emomix::ModelConfig& c = m.config();
  FloatArray mel = to_float_array(mel_obj, "mel");
  require_shape(mel, {c.audio.n_mels, -1}, "mel", "(n_mels, F)");
  const py::ssize_t F = mel.shape(1);
  if (F < 1) throw emomix::InvalidArgument("mel needs at least one frame");
  DoubleArray f0 = DoubleArray::ensure(f0_obj), voicing = DoubleArray::ensure(voicing_obj);
  if (!f0 || !voicing) {
    PyErr_Clear();
    throw emomix::InvalidArgument("f0 and voicing must be convertible to float64 arrays");
  }
  require_shape(f0, {F}, "f0", "(F,) matching mel");
  require_shape(voicing, {F}, "voicing", "(F,) matching mel");
  require_finite(mel, "mel");
  require_finite(f0, "f0");
  require_finite(voicing, "voicing");
  for (py::ssize_t i = 0; i < F; ++i) {
    if (!(f0.data()[i] > 0.0)) {
      throw emomix::InvalidArgument("f0 must be > 0 Hz, got " + std::to_string(f0.data()[i]) +
                                    " at frame " + std::to_string(i));
    }
  }
  py::array_t<float> out({static_cast<py::ssize_t>(c.audio.n_mels), F});
  float* o = out.mutable_data();
  {
    py::gil_scoped_release release;
    emomix::HarmonicsWorkspace ws;
    emomix::render_harmonics(mel.data(), as_int(F), f0.data(), voicing.data(), c.audio, c.pitch,
                             m.mel_filterbank(), ws, o);
  }
  return out;
}

py::dict model_config_dict(const emomix::Model& m) {
  const emomix::ModelConfig& c = m.config();
  py::dict d;
  d["n_symbols"] = c.n_symbols;
  d["n_speakers"] = c.n_speakers;
  d["emotion_dim"] = c.emotion_dim;
  d["speaker_dim"] = c.speaker_dim;
  d["n_emotions"] = c.n_emotions;
  d["n_mels"] = c.audio.n_mels;
  d["hop_length"] = c.audio.hop_length;
  d["n_fft"] = c.audio.n_fft;
  d["sample_rate"] = c.audio.sample_rate;
  d["parameterisation"] = emomix::to_string(c.parameterisation);
  d["beta_min"] = c.beta_min;
  d["beta_max"] = c.beta_max;
  return d;
}

PyModel py_load_model(const std::string& path, bool verify_hashes) {
  py::gil_scoped_release release;
  emomix::VoiceLoadOptions options;
  options.verify_hashes = verify_hashes;
  return PyModel{emomix::Model::load(path, options)};
}

emomix::SamplerConfig sampler_config(const emomix::ModelConfig& c, const std::string& solver,
                                     double temperature) {
  emomix::SamplerConfig config;
  config.parameterisation = c.parameterisation;
  config.solver = emomix::parse_solver(solver);
  config.temperature = temperature;
  config.beta_min = c.beta_min;
  config.beta_max = c.beta_max;
  return config;
}

void register_runtime(py::module_& m) {
  py::class_<PyModel>(m, "Model",
      "A voice's networks loaded from a bundle directory (voice.json + weights.safetensors, "
      "memory-mapped; float16 converted once). Immutable; share it between Sessions and threads.")
      .def_property_readonly("config", [](const PyModel& p) { return model_config_dict(*p.model); },
                             "The hyperparameters the runtime read from voice.json.")
      .def_property_readonly("path", [](const PyModel& p) { return p.model->path(); })
      .def_property_readonly("has_ser", [](const PyModel& p) { return p.model->has_ser(); },
                             "True when the bundle's SER weights were loaded.")
      .def_property_readonly("has_pitch", [](const PyModel& p) { return p.model->has_pitch(); },
                             "True when the voice has a pitch predictor (model.config.pitch."
                             "enabled): Session.pitch works and Session.synthesize renders "
                             "harmonics.")
      .def_property_readonly("storage_dtype", [](const PyModel& p) { return p.model->storage_dtype(); })
      .def_property_readonly("converted_bytes", [](const PyModel& p) { return p.model->converted_bytes(); },
                             "Bytes of weights converted to float32 in memory (float16 bundles).")
      .def_property_readonly("mapped_bytes", [](const PyModel& p) { return p.model->mapped_bytes(); },
                             "Bytes of the memory-mapped weights file (0 once released).")
      .def("speaker_table", [](const PyModel& p) {
        const emomix::ModelConfig& c = p.model->config();
        py::array_t<float> out({c.n_speakers, c.speaker_dim});
        std::memcpy(out.mutable_data(), p.model->speaker_table(),
                    sizeof(float) * static_cast<std::size_t>(c.n_speakers) * c.speaker_dim);
        return out;
      }, "(n_speakers, S) float32 copy of the speaker embeddings.")
      .def("frame_pitch", &py_frame_pitch, py::arg("pitch"), py::arg("durations"),
           py::arg("weights"),
           "emomix.harmonics.frame_pitch in C++ (pitch voices only): pitch (M, 2, T), durations "
           "(T,) int, weights (M,) or (M, F) with F = sum(durations) -> (f0 (F,) Hz, voicing "
           "(F,)) float64.")
      .def("render_harmonics", &py_render_harmonics, py::arg("mel"), py::arg("f0"),
           py::arg("voicing"),
           "emomix.harmonics.render_harmonics in C++ (pitch voices only): normalised mel (C, F), "
           "f0 (F,) Hz > 0, voicing (F,) -> mel (C, F) float32 with the harmonics put in.");

  py::class_<PyVocoderStream>(m, "VocoderStream",
      "One line's streaming vocoder state: push(mel) as the sampler makes it, finish() at the "
      "line's end, and Session.vocode_pull(stream) for the audio the mel pushed so far "
      "determines (all but the last `lookahead` frames until finish()).")
      .def(py::init([](const PyModel& model) {
             auto s = std::make_unique<PyVocoderStream>();
             s->stream = std::make_unique<emomix::VocoderStream>(model.model);
             return s;
           }), py::arg("model"))
      .def("push", [](PyVocoderStream& vs, const py::handle& mel_obj) {
        const emomix::ModelConfig& c = vs.stream->model()->config();
        FloatArray mel = to_float_array(mel_obj, "mel");
        require_shape(mel, {c.audio.n_mels, -1}, "mel", "(n_mels, frames)");
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> lock(vs.mutex);
        vs.stream->push(mel.data(), as_int(mel.shape(1)));
      }, py::arg("mel"), "Appends mel frames (C, n) float32 (normalised, as the sampler makes them).")
      .def("finish", [](PyVocoderStream& vs) {
        std::lock_guard<std::mutex> lock(vs.mutex);
        vs.stream->finish();
      }, "Marks the line's mel complete: its last frames become ready.")
      .def_property_readonly("finished", [](PyVocoderStream& vs) { return vs.stream->finished(); })
      .def_property_readonly("pushed", [](PyVocoderStream& vs) { return vs.stream->pushed(); },
                             "Mel frames pushed.")
      .def_property_readonly("done", [](PyVocoderStream& vs) { return vs.stream->done(); },
                             "Frames whose samples were pulled.")
      .def_property_readonly("ready", [](PyVocoderStream& vs) { return vs.stream->ready(); },
                             "Frames whose samples vocode_pull() can return now.")
      .def_property_readonly("lookahead", [](PyVocoderStream& vs) { return vs.stream->lookahead(); },
                             "Mel frames past a frame that its samples depend on.");

  m.def("load_model", &py_load_model, py::arg("path"), py::arg("verify_hashes") = true,
        "Loads a voice bundle directory's networks after validating the whole bundle (as "
        "check_voice does; verify_hashes=False skips the sha256 of the listed files). Raises "
        "emomix.errors.VoiceBundleError (a ValueError) naming the file and the field or tensor when "
        "voice.json or weights.safetensors is malformed or does not match.");

  py::class_<PySession>(m, "Session",
      "Runs a Model's networks with its own workspace and `threads` threads. Use one Session per "
      "thread (calls on one Session are serialised).")
      .def(py::init([](const PyModel& model, int threads) {
             auto s = std::make_unique<PySession>();
             s->model = model.model;
             s->session = std::make_unique<emomix::Session>(model.model, threads);
             return s;
           }), py::arg("model"), py::arg("threads") = 1)
      .def_property_readonly("threads", [](PySession& s) { return s.session->threads(); })
      .def("workspace_bytes", [](PySession& s) {
        std::lock_guard<std::mutex> lock(s.mutex);
        return s.session->workspace_bytes();
      })
      .def("encode_phones", [](PySession& s, const py::handle& ids_obj, const py::handle& emo_obj,
                               const py::handle& spk_obj) {
        const emomix::ModelConfig& c = cfg_of(s);
        const EncoderInputs in = encoder_inputs(c, ids_obj, emo_obj, spk_obj, "emotion");
        const int T = in.phonemes();
        py::array_t<float> mu({c.audio.n_mels, T});
        py::array_t<float> log_dur(T);
        float* mp = mu.mutable_data();
        float* lp = log_dur.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->encode_phones(in.ids.data(), T, in.emotion.data(), in.speaker.data(), mp, lp);
        }
        return py::make_tuple(mu, log_dur);
      }, py::arg("phonemes"), py::arg("emotion"), py::arg("speaker"),
      "The encoder network: phonemes (T,) int, emotion (E,), speaker (S,) -> (mu_phone (C, T), "
      "log_dur (T,)).")
      .def("encode", [](PySession& s, const py::handle& ids_obj, const py::handle& emo_obj,
                        const py::handle& spk_obj, double length_scale) {
        const emomix::ModelConfig& c = cfg_of(s);
        const EncoderInputs in = encoder_inputs(c, ids_obj, emo_obj, spk_obj, "emotion");
        std::vector<float> mu;
        std::vector<std::int64_t> durations;
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->encode(in.ids.data(), in.phonemes(), in.emotion.data(), in.speaker.data(),
                            length_scale, mu, durations);
        }
        const py::ssize_t frames = static_cast<py::ssize_t>(mu.size()) / c.audio.n_mels;
        py::array_t<float> mu_out({static_cast<py::ssize_t>(c.audio.n_mels), frames});
        std::memcpy(mu_out.mutable_data(), mu.data(), mu.size() * sizeof(float));
        py::array_t<std::int64_t> dur_out(static_cast<py::ssize_t>(durations.size()));
        std::memcpy(dur_out.mutable_data(), durations.data(), durations.size() * sizeof(std::int64_t));
        return py::make_tuple(mu_out, dur_out);
      }, py::arg("phonemes"), py::arg("emotion"), py::arg("speaker"), py::arg("length_scale") = 1.0,
      "Encoder + length regulation -> (mu (C, F) float32, durations (T,) int64).")
      .def("pitch", [](PySession& s, const py::handle& ids_obj, const py::handle& emo_obj,
                       const py::handle& spk_obj) {
        require_pitch(*s.model);
        const emomix::ModelConfig& c = cfg_of(s);
        Int64Array ids = Int64Array::ensure(ids_obj);
        if (!ids || ids.ndim() != 1 || ids.shape(0) < 1) {
          PyErr_Clear();
          throw emomix::InvalidArgument("phonemes must be a non-empty 1-D integer array");
        }
        FloatArray emo = to_float_array(emo_obj, "emotions");
        FloatArray spk = to_float_array(spk_obj, "speakers");
        if (emo.ndim() != 2 || emo.shape(0) < 1) {
          throw emomix::InvalidArgument("emotions must have shape (M, E) with M >= 1, got " +
                                        shape_string(emo));
        }
        const py::ssize_t M = emo.shape(0), T = ids.shape(0);
        require_shape(emo, {M, c.emotion_dim}, "emotions", "(M, E)");
        require_shape(spk, {M, c.speaker_dim}, "speakers", "(M, S) with M = emotions' rows");
        require_finite(emo, "emotions");
        require_finite(spk, "speakers");
        py::array_t<float> out({M, static_cast<py::ssize_t>(2), T});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->pitch(ids.data(), as_int(T), emo.data(), spk.data(), as_int(M), o);
        }
        return out;
      }, py::arg("phonemes"), py::arg("emotions"), py::arg("speakers"),
      "The pitch predictor (voices with model.config.pitch.enabled): phonemes (T,) int, emotions "
      "(M, E), speakers (M, S) -> (M, 2, T) float32: per condition and phoneme ln(F0 / 100 Hz) "
      "and the voicing logit.")
      .def("denoise", [](PySession& s, const py::handle& x_obj, const py::handle& t_obj,
                         const py::handle& mu_obj, const py::handle& emo_obj,
                         const py::handle& spk_obj) {
        const emomix::ModelConfig& c = cfg_of(s);
        FloatArray x = to_float_array(x_obj, "x");
        FloatArray t = to_float_array(t_obj, "t");
        FloatArray mu = to_float_array(mu_obj, "mu");
        FloatArray emo = to_float_array(emo_obj, "emotions");
        FloatArray spk = to_float_array(spk_obj, "speakers");
        if (x.ndim() != 3 || x.shape(0) < 1 || x.shape(1) != c.audio.n_mels || x.shape(2) < 1) {
          throw emomix::InvalidArgument("x must have shape (B, n_mels=" +
                                        std::to_string(c.audio.n_mels) + ", F), got " + shape_string(x));
        }
        const py::ssize_t B = x.shape(0), F = x.shape(2);
        require_shape(t, {B}, "t", "(B,)");
        require_shape(mu, {c.audio.n_mels, F}, "mu", "(n_mels, F) matching x");
        require_shape(emo, {B, c.emotion_dim}, "emotions", "(B, E)");
        require_shape(spk, {B, c.speaker_dim}, "speakers", "(B, S)");
        py::array_t<float> out({B, static_cast<py::ssize_t>(c.audio.n_mels), F});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->denoise(x.data(), t.data(), mu.data(), emo.data(), spk.data(), as_int(B),
                             as_int(F), o);
        }
        return out;
      }, py::arg("x"), py::arg("t"), py::arg("mu"), py::arg("emotions"), py::arg("speakers"),
      "One denoiser evaluation: x (B, C, F), t (B,), mu (C, F), emotions (B, E), speakers (B, S) "
      "-> (B, C, F).")
      .def("vocode", [](PySession& s, const py::handle& mel_obj) {
        const emomix::ModelConfig& c = cfg_of(s);
        FloatArray mel = to_float_array(mel_obj, "mel");
        require_shape(mel, {c.audio.n_mels, -1}, "mel", "(n_mels, F)");
        const py::ssize_t F = mel.shape(1);
        if (F < 1) throw emomix::InvalidArgument("mel needs at least one frame");
        py::array_t<float> out(F * c.audio.hop_length);
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->vocode(mel.data(), as_int(F), o);
        }
        return out;
      }, py::arg("mel"), "mel (C, F) -> waveform (F * hop,) float32.")
      .def("vocode_pull", [](PySession& s, PyVocoderStream& vs, int max_frames) {
        if (max_frames < 1) {
          throw emomix::InvalidArgument("max_frames must be >= 1, got " + std::to_string(max_frames));
        }
        const int hop = cfg_of(s).audio.hop_length;
        std::vector<float> audio;
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> stream_lock(vs.mutex);
          std::lock_guard<std::mutex> lock(s.mutex);
          const int k = std::min(std::max(vs.stream->ready(), 0), max_frames);
          audio.resize(static_cast<std::size_t>(k) * hop);
          const int got = s.session->vocode_pull(*vs.stream, k, audio.data());
          audio.resize(static_cast<std::size_t>(got) * hop);
        }
        py::array_t<float> out(static_cast<py::ssize_t>(audio.size()));
        std::memcpy(out.mutable_data(), audio.data(), sizeof(float) * audio.size());
        return out;
      }, py::arg("stream"), py::arg("max_frames") = std::numeric_limits<int>::max(),
      "Streaming vocoder: the samples of the stream's next frames that its pushed mel determines "
      "(at most max_frames frames; an empty array when it needs more mel or is done). Joined, the "
      "pulls equal vocode() on the whole mel within float rounding; each frame is computed once.")
      .def("ser", [](PySession& s, const py::handle& mel_obj) {
        const emomix::ModelConfig& c = cfg_of(s);
        FloatArray mel = to_float_array(mel_obj, "logmel");
        require_shape(mel, {c.audio.n_mels, -1}, "logmel", "(n_mels, F)");
        const int F = as_int(mel.shape(1));
        if (F < 1) throw emomix::InvalidArgument("logmel needs at least one frame");
        py::array_t<float> emb(c.emotion_dim), logits(c.n_emotions);
        float* e = emb.mutable_data();
        float* l = logits.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->ser(mel.data(), F, e, l);
        }
        return py::make_tuple(emb, logits);
      }, py::arg("logmel"),
      "The speech-emotion recogniser: normalised log-mel (C, F) -> (embedding (E,), logits "
      "(n_emotions,)). RuntimeError when the bundle has no SER weights.")
      .def("sample", [](PySession& s, const py::handle& mu_obj, const py::handle& w_obj,
                        const py::handle& emo_obj, const py::handle& spk_obj,
                        const std::string& solver, double temperature, const py::object& seed,
                        const py::object& durations_obj) {
        const emomix::ModelConfig& c = cfg_of(s);
        FloatArray mu = to_float_array(mu_obj, "mu");
        FloatArray w = to_float_array(w_obj, "W");
        FloatArray emo = to_float_array(emo_obj, "emotions");
        FloatArray spk = to_float_array(spk_obj, "speakers");
        require_shape(mu, {c.audio.n_mels, -1}, "mu", "(n_mels, F)");
        emomix::WeightsView view = weights_view(w);
        require_shape(emo, {view.conditions, c.emotion_dim}, "emotions", "(M, E)");
        require_shape(spk, {view.conditions, c.speaker_dim}, "speakers", "(M, S)");
        const emomix::SamplerConfig config = sampler_config(c, solver, temperature);
        const std::uint64_t sd = as_u64(seed, "seed");
        const Durations durations = durations_arg(durations_obj);
        const int F = as_int(mu.shape(1));
        py::array_t<float> out({c.audio.n_mels, F});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->sample(mu.data(), F, view, emo.data(), spk.data(), config, sd, o,
                            durations.data, durations.phonemes);
        }
        return out;
      }, py::arg("mu"), py::arg("W"), py::arg("emotions"), py::arg("speakers"),
      py::arg("solver"), py::arg("temperature") = 1.0, py::arg("seed") = 0,
      py::arg("durations") = py::none(),
      "The mixed sampler with the native denoiser (no Python in the loop): mu (C, F), W (N, M) or "
      "(N, M, F), emotions (M, E), speakers (M, S) -> mel (C, F); durations (T,) anchor the noise. "
      "Same arithmetic and noise as emomix._native.sample with this Session's denoise().")
      .def("synthesize", [](PySession& s, const py::handle& ids_obj, const py::handle& enc_obj,
                            const py::handle& spk_obj, double length_scale, const py::handle& w_obj,
                            const py::handle& emo_obj, const py::handle& spks_obj,
                            const std::string& solver, double temperature, const py::object& seed) {
        const emomix::ModelConfig& c = cfg_of(s);
        const EncoderInputs in = encoder_inputs(c, ids_obj, enc_obj, spk_obj, "enc_emotion");
        FloatArray w = to_float_array(w_obj, "W");
        FloatArray emo = to_float_array(emo_obj, "emotions");
        FloatArray spks = to_float_array(spks_obj, "speakers");
        emomix::WeightsView view = weights_view(w);
        require_shape(emo, {view.conditions, c.emotion_dim}, "emotions", "(M, E)");
        require_shape(spks, {view.conditions, c.speaker_dim}, "speakers", "(M, S)");
        const emomix::SamplerConfig config = sampler_config(c, solver, temperature);
        const std::uint64_t sd = as_u64(seed, "seed");
        emomix::SynthesisOutput r;
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          r = s.session->synthesize(in.ids.data(), in.phonemes(), in.emotion.data(),
                                    in.speaker.data(), length_scale, view, emo.data(), spks.data(),
                                    config, sd);
        }
        auto plane = [&](const std::vector<float>& v) {
          py::array_t<float> a({static_cast<py::ssize_t>(c.audio.n_mels),
                                static_cast<py::ssize_t>(r.frames)});
          std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(float));
          return a;
        };
        py::array_t<float> audio(static_cast<py::ssize_t>(r.audio.size()));
        std::memcpy(audio.mutable_data(), r.audio.data(), r.audio.size() * sizeof(float));
        py::array_t<std::int64_t> dur(static_cast<py::ssize_t>(r.durations.size()));
        std::memcpy(dur.mutable_data(), r.durations.data(), r.durations.size() * sizeof(std::int64_t));
        py::dict d;
        d["audio"] = audio;
        d["mel"] = plane(r.mel);
        d["mu"] = plane(r.mu);
        d["durations"] = dur;
        return d;
      }, py::arg("phonemes"), py::arg("enc_emotion"), py::arg("speaker"), py::arg("length_scale"),
      py::arg("W"), py::arg("emotions"), py::arg("speakers"), py::arg("solver"),
      py::arg("temperature") = 1.0, py::arg("seed") = 0,
      "The whole pipeline in C++: encode -> mixed sampler -> (pitch voices: harmonics of the "
      "conditions' pitch mixed with W[-1]) -> vocode. Returns {'audio', 'mel', 'mu', "
      "'durations'}; 'mel' is what was vocoded.");

  py::dict harmonics;
  harmonics["f0_ref_hz"] = emomix::kF0RefHz;
  harmonics["smooth_frames"] = emomix::kPitchSmoothFrames;
  harmonics["lobe_bins"] = emomix::kHannLobeBins;
  m.attr("HARMONICS") = harmonics;  // emomix.harmonics' constants as the runtime has them

  m.def("blas", [] { return std::string(emomix::blas_name()); },
        "'openblas' when matrix products use OpenBLAS, 'fallback' for the portable GEMM.");
  m.def("tensor_allocations", [] { return emomix::tensor_allocations(); },
        "Workspace buffer allocations made by the calling thread so far (for no-allocation tests).");
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "emomix native core: counter-based noise, weight schedules and the mixed-noise sampler "
            "loop (docs/sampler.md, docs/native.md).";
  m.attr("__version__") = emomix::version();

  m.def("build_info", [] {
    py::dict info;
    info["version"] = emomix::version();
    info["cuda_compiled"] = emomix::cuda_compiled();
#if defined(__clang__)
    info["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = "gcc " __VERSION__;
#elif defined(_MSC_VER)
    info["compiler"] = "msvc " + std::to_string(_MSC_VER);
#endif
    return info;
  }, "Build facts: {'version': str, 'cuda_compiled': bool, 'compiler': str}. Does not touch the "
     "GPU; see cuda_available().");

  m.def("cuda_available", [] {
    py::gil_scoped_release release;
    return emomix::cuda_available();
  }, "True when CUDA is compiled in and a device is visible. Never raises; safe without a driver.");
  m.def("cuda_status", [] {
    py::gil_scoped_release release;
    return emomix::cuda_status();
  }, "One line on CUDA: 'not built', 'no device (...)' or '<n> device(s): <name>'.");

  m.def("splitmix64", [](const py::object& z) { return emomix::splitmix64(as_u64(z, "z")); },
        py::arg("z"), "The splitmix64 finaliser of z (taken modulo 2**64).");

  m.def("normal", &py_normal, py::arg("seed"), py::arg("stream"), py::arg("n"),
        py::arg("offset") = 0,
        "n standard normal deviates, float32 array (n,), for (seed, stream) at indices offset .. "
        "offset + n - 1. Bit-compatible with emomix.sampler.rng.normal.");

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

  register_runtime(m);
  register_voice(m);
  register_text(m);
  register_generation(m);

  m.def("cuda_mix_euler", &py_cuda_mix_euler, py::arg("x"), py::arg("preds"), py::arg("weights"),
        py::arg("h"),
        "x - h * mix(preds, weights) computed by the CUDA kernel (bit-identical to the CPU path). "
        "Raises RuntimeError when CUDA is not built or no device is present.");
}
