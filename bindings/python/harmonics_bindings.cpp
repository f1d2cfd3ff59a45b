// harmonics_bindings.cpp — emomix.harmonics in C++ (emomix/harmonics.hpp), for pitch voices:
// Model.frame_pitch, Model.render_harmonics and the HARMONICS constants. The GIL is released
// around native work; bad inputs raise ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <limits>
#include <string>

#include "arguments.hpp"
#include "bindings.hpp"
#include "emomix/error.hpp"
#include "emomix/harmonics.hpp"
#include "emomix/model.hpp"
#include "runtime_handles.hpp"

namespace py = pybind11;
using namespace emomix_py;

namespace {

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

}  // namespace

void register_harmonics(py::module_& m) {
  // Model is registered by register_model(); these methods come right after its own.
  py::class_<PyModel> model = m.attr("Model");
  model
      .def("frame_pitch", &py_frame_pitch, py::arg("pitch"), py::arg("durations"),
           py::arg("weights"),
           "emomix.harmonics.frame_pitch in C++ (pitch voices only): pitch (M, 2, T), durations "
           "(T,) int, weights (M,) or (M, F) with F = sum(durations) -> (f0 (F,) Hz, voicing "
           "(F,)) float64.")
      .def("render_harmonics", &py_render_harmonics, py::arg("mel"), py::arg("f0"),
           py::arg("voicing"),
           "emomix.harmonics.render_harmonics in C++ (pitch voices only): normalised mel (C, F), "
           "f0 (F,) Hz > 0, voicing (F,) -> mel (C, F) float32 with the harmonics put in.");

  py::dict harmonics;
  harmonics["f0_ref_hz"] = emomix::kF0RefHz;
  harmonics["smooth_frames"] = emomix::kPitchSmoothFrames;
  harmonics["lobe_bins"] = emomix::kHannLobeBins;
  m.attr("HARMONICS") = harmonics;  // emomix.harmonics' constants as the runtime has them
}
