// emomix._native — the voice bundle contract (emomix/voice.hpp): the C++ validator, SHA-256 and the
// embedded voice schema, for Python. Registered from module.cpp by register_voice().
//
// A VoiceError raised anywhere in the module (load_model included) reaches Python as
// emomix.errors.VoiceBundleError with the same path, field, problem and hint, so C++ and Python
// errors read and compare alike (tests/test_voice_contract.py). Every function releases the GIL
// around native work.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "bindings.hpp"
#include "emomix/error.hpp"
#include "emomix/sha256.hpp"
#include "emomix/voice.hpp"
#include "emomix/voice_schema.hpp"

namespace py = pybind11;

namespace {

void raise_voice_error(const emomix::VoiceError& e) {
  try {
    py::object cls = py::module_::import("emomix.errors").attr("VoiceBundleError");
    py::object err = cls(e.problem(), py::arg("path") = e.path(), py::arg("field") = e.field(),
                         py::arg("hint") = e.hint());
    PyErr_SetObject(cls.ptr(), err.ptr());
  } catch (const py::error_already_set&) {  // emomix.errors cannot be imported: a plain ValueError
    PyErr_SetString(PyExc_ValueError, e.what());
  }
}

py::dict voice_dict(const emomix::VoiceInfo& v) {
  py::dict d;
  d["dir"] = v.dir;
  d["meta_path"] = v.meta_path;
  d["format"] = v.format;
  d["format_version"] = v.format_version;
  d["name"] = v.name;
  d["description"] = v.description;
  d["model_family"] = v.model_family;
  d["parameterisation"] = emomix::to_string(v.parameterisation);
  py::dict audio;
  const emomix::VoiceAudio& a = v.audio;
  audio["sample_rate"] = a.sample_rate;
  audio["n_fft"] = a.n_fft;
  audio["hop_length"] = a.hop_length;
  audio["win_length"] = a.win_length;
  audio["window"] = a.window;
  audio["n_mels"] = a.n_mels;
  audio["f_min"] = a.f_min;
  audio["f_max"] = a.f_max;
  audio["mel_scale"] = a.mel_scale;
  audio["log_floor"] = a.log_floor;
  audio["mel_mean"] = a.mel_mean;
  audio["mel_std"] = a.mel_std;
  d["audio"] = audio;
  if (v.pitch.enabled) {
    py::dict pitch;
    pitch["hidden"] = v.pitch.hidden;
    pitch["kernel"] = v.pitch.kernel;
    pitch["harmonic_floor"] = v.pitch.harmonic_floor;
    pitch["envelope_sigma"] = v.pitch.envelope_sigma;
    pitch["f0_min"] = v.pitch.f0_min;
    pitch["f0_max"] = v.pitch.f0_max;
    d["pitch"] = pitch;
  } else {
    d["pitch"] = py::none();
  }
  d["beta_min"] = v.has_beta_min ? py::object(py::float_(v.beta_min)) : py::none();
  d["beta_max"] = v.has_beta_max ? py::object(py::float_(v.beta_max)) : py::none();
  d["symbols"] = v.symbols;
  d["language"] = v.language;
  py::dict speakers;
  for (std::size_t i = 0; i < v.speakers.size(); ++i)
    speakers[py::str(v.speakers[i])] = i;
  d["speakers"] = speakers;
  d["default_speaker"] = v.default_speaker;
  py::dict emotions;
  for (const emomix::VoiceEmotion& e : v.emotions) {
    py::dict entry;
    entry["embedding"] = e.embedding;  // float32 values, as a list
    entry["vad"] = py::make_tuple(e.vad[0], e.vad[1], e.vad[2]);
    emotions[py::str(e.name)] = entry;
  }
  d["emotions"] = emotions;
  d["emotion_dim"] = v.emotion_dim;
  py::dict sampler;
  const emomix::VoiceSampler& s = v.sampler;
  sampler["parameterisation"] = emomix::to_string(s.parameterisation);
  sampler["steps"] = s.steps;
  sampler["solver"] = emomix::to_string(s.solver);
  sampler["k_max"] = s.k_max;
  sampler["k_min"] = s.k_min;
  sampler["temperature"] = s.temperature;
  sampler["preset"] = s.preset;
  sampler["emotion_scale"] = s.emotion_scale;
  sampler["length_scale"] = s.length_scale;
  d["sampler"] = sampler;
  py::dict files;
  for (const emomix::VoiceFile& f : v.files) {
    py::dict entry;
    entry["sha256"] = f.sha256;
    entry["bytes"] = f.bytes;
    files[py::str(f.path)] = entry;
  }
  d["files"] = files;
  return d;
}

}  // namespace

void register_voice(py::module_& m) {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const emomix::VoiceError& e) {
      raise_voice_error(e);
    }
  });

  m.def(
      "check_voice",
      [](const std::string& path, bool verify_hashes) {
        emomix::VoiceInfo v;
        {
          py::gil_scoped_release release;
          emomix::VoiceLoadOptions options;
          options.verify_hashes = verify_hashes;
          v = emomix::load_voice(path, options);
        }
        return voice_dict(v);
      },
      py::arg("path"), py::arg("verify_hashes") = true,
      "The C++ twin of emomix.voice.load_bundle: validates the bundle at `path` (directory or "
      "voice.json) — voice.json against the voice schema, every listed file's size and (with "
      "verify_hashes) sha256, the weights header — and returns what it read as a dict (name, "
      "audio, "
      "symbols, speakers, default_speaker, emotions, sampler, pitch, files, ...). Raises "
      "emomix.errors.VoiceBundleError naming the file and field.");

  m.def(
      "validate_voice_meta",
      [](const py::bytes& text, const std::string& path, bool require_files) {
        const std::string bytes = text;
        emomix::VoiceInfo v;
        {
          py::gil_scoped_release release;
          v = emomix::parse_voice_meta(bytes, path, require_files);
        }
        return voice_dict(v);
      },
      py::arg("text"), py::arg("path") = "voice.json", py::arg("require_files") = true,
      "Checks the bytes of a voice.json (UTF-8, JSON, then every rule of the schema) and returns "
      "the "
      "dict check_voice() returns. `path` names the file in errors.");

  m.def(
      "sha256_file",
      [](const std::string& path) {
        py::gil_scoped_release release;
        return emomix::sha256_file(path);
      },
      py::arg("path"), "Lowercase hex SHA-256 of a file (the runtime's own implementation).");

  m.def(
      "sha256",
      [](const py::bytes& data) {
        const std::string bytes = data;
        py::gil_scoped_release release;
        return emomix::sha256_hex(bytes);
      },
      py::arg("data"), "Lowercase hex SHA-256 of bytes (the runtime's own implementation).");

  m.def(
      "voice_schema_json", [] { return py::bytes(std::string(emomix::voice_schema_json())); },
      "The voice schema (emomix/voice/schema.json) as embedded into this build, byte for byte.");
}
