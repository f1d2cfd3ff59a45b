// model_bindings.cpp — emomix._native.Model: a voice's networks loaded from a bundle directory
// (emomix/model.hpp), and load_model(). Session (session_bindings.cpp) runs them; the harmonics
// methods are added by harmonics_bindings.cpp.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <string>

#include "bindings.hpp"
#include "emomix/error.hpp"
#include "emomix/model.hpp"
#include "emomix/voice.hpp"
#include "runtime_handles.hpp"

namespace py = pybind11;
using emomix_py::PyModel;

namespace emomix_py {

void require_pitch(const emomix::Model& m) {
  if (!m.has_pitch()) {
    throw emomix::InvalidArgument("this voice has no pitch predictor (model.config.pitch.enabled "
                                  "is false)");
  }
}

}  // namespace emomix_py

namespace {

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

}  // namespace

void register_model(py::module_& m) {
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
      }, "(n_speakers, S) float32 copy of the speaker embeddings.");

  m.def("load_model", &py_load_model, py::arg("path"), py::arg("verify_hashes") = true,
        "Loads a voice bundle directory's networks after validating the whole bundle (as "
        "check_voice does; verify_hashes=False skips the sha256 of the listed files). Raises "
        "emomix.errors.VoiceBundleError (a ValueError) naming the file and the field or tensor when "
        "voice.json or weights.safetensors is malformed or does not match.");
}
