// generation_bindings.cpp — emomix._native's GenerationConfig, line plan and
// Session.synthesize_text (emomix/generation.hpp).
//
// A config crosses from Python as a mapping or any object with the fields of
// generation_config_fields() (emomix.generation.GenerationConfig): fields that are missing or
// None keep the voice's defaults (default_generation_config). emotions and speakers are
// {name: weight} mappings, keyframes a sequence of (position, {name: weight}) pairs, solver and
// preset names. The GIL is released around native work. Errors: GenerationConfigError becomes
// ValueError with the field in its message.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "bindings.hpp"
#include "emomix/generation.hpp"
#include "emomix/schedule.hpp"
#include "runtime_handles.hpp"

namespace py = pybind11;
using emomix::GenerationConfig;
using emomix::GenerationConfigError;
using emomix::GenerationErrorCode;
using emomix::GenerationWeight;
using emomix_py::PyModel;
using emomix_py::PySession;

namespace {

py::object field_of(const py::handle& obj, const char* name) {
  if (py::isinstance<py::dict>(obj) || py::hasattr(obj, "keys")) {
    py::object mapping = py::reinterpret_borrow<py::object>(obj);
    if (mapping.attr("__contains__")(name).cast<bool>()) return mapping[py::str(name)];
    return py::none();
  }
  return py::getattr(obj, name, py::none());
}

void put_name(GenerationWeight& w, const std::string& name, const std::string& field) {
  if (name.size() >= sizeof w.name) {
    throw GenerationConfigError(GenerationErrorCode::bad_name, field + ".name",
                                "'" + name + "' is longer than " +
                                    std::to_string(sizeof w.name - 1) + " bytes");
  }
  std::memset(w.name, 0, sizeof w.name);
  std::memcpy(w.name, name.data(), name.size());
}

// {name: weight} -> entries; returns the count.
std::uint32_t put_mix(const py::handle& obj, GenerationWeight* out, int capacity,
                      const std::string& field) {
  const py::dict d = py::dict(py::reinterpret_borrow<py::object>(obj));
  if (static_cast<int>(d.size()) > capacity) {
    throw GenerationConfigError(GenerationErrorCode::bad_count, "n_" + field,
                                "is " + std::to_string(d.size()) + "; at most " +
                                    std::to_string(capacity));
  }
  std::uint32_t n = 0;
  for (const auto& [k, v] : d) {
    const std::string where = field + "[" + std::to_string(n) + "]";
    put_name(out[n], py::str(k).cast<std::string>(), where);
    out[n].weight = py::float_(py::reinterpret_borrow<py::object>(v)).cast<double>();
    ++n;
  }
  return n;
}

GenerationConfig config_from_py(const py::handle& obj, const emomix::VoiceInfo& voice) {
  GenerationConfig c = emomix::default_generation_config(voice);
  if (obj.is_none()) return c;
  py::object v;
  if (!(v = field_of(obj, "emotions")).is_none()) {
    c.n_emotions = put_mix(v, c.emotions, emomix::kGenerationMaxEmotions, "emotions");
  }
  if (!(v = field_of(obj, "keyframes")).is_none()) {
    const py::list keys = py::list(v);
    if (static_cast<int>(keys.size()) > emomix::kGenerationMaxKeyframes) {
      throw GenerationConfigError(GenerationErrorCode::bad_count, "n_keyframes",
                                  "is " + std::to_string(keys.size()) + "; at most " +
                                      std::to_string(emomix::kGenerationMaxKeyframes));
    }
    c.n_keyframes = 0;
    for (const auto& item : keys) {
      const py::tuple pair = py::tuple(py::reinterpret_borrow<py::object>(item));
      if (pair.size() != 2) {
        throw GenerationConfigError(GenerationErrorCode::bad_keyframes, "keyframes",
                                    "keyframes are (position, {emotion: weight}) pairs");
      }
      auto& key = c.keyframes[c.n_keyframes];
      key.position = pair[0].cast<double>();
      key.n_emotions = put_mix(pair[1], key.emotions, emomix::kGenerationMaxEmotions,
                               "keyframes[" + std::to_string(c.n_keyframes) + "].emotions");
      ++c.n_keyframes;
    }
  }
  if (!(v = field_of(obj, "intensity")).is_none()) c.intensity = v.cast<double>();
  if (!(v = field_of(obj, "emotion_scale")).is_none()) c.emotion_scale = v.cast<double>();
  if (!(v = field_of(obj, "speakers")).is_none()) {
    if (py::isinstance<py::str>(v)) {
      c.n_speakers = 1;
      put_name(c.speakers[0], v.cast<std::string>(), "speakers[0]");
      c.speakers[0].weight = 1.0;
    } else {
      c.n_speakers = put_mix(v, c.speakers, emomix::kGenerationMaxSpeakers, "speakers");
    }
  }
  if (!(v = field_of(obj, "steps")).is_none()) c.steps = v.cast<std::int32_t>();
  if (!(v = field_of(obj, "solver")).is_none()) {
    try {
      c.solver = static_cast<std::int32_t>(emomix::parse_solver(v.cast<std::string>()));
    } catch (const emomix::InvalidArgument& e) {
      throw GenerationConfigError(GenerationErrorCode::bad_solver, "solver", e.what());
    }
  }
  if (!(v = field_of(obj, "preset")).is_none()) {
    try {
      c.preset = static_cast<std::int32_t>(emomix::parse_preset(v.cast<std::string>()));
    } catch (const emomix::InvalidArgument& e) {
      throw GenerationConfigError(GenerationErrorCode::bad_preset, "preset", e.what());
    }
  }
  if (!(v = field_of(obj, "temperature")).is_none()) c.temperature = v.cast<double>();
  if (!(v = field_of(obj, "k_max")).is_none()) c.k_max = v.cast<double>();
  if (!(v = field_of(obj, "k_min")).is_none()) c.k_min = v.cast<double>();
  if (!(v = field_of(obj, "length_scale")).is_none()) c.length_scale = v.cast<double>();
  if (!(v = field_of(obj, "seed")).is_none()) {
    const py::int_ seed(v);
    if (seed.cast<py::object>() < py::int_(0)) {
      throw emomix::InvalidArgument("seed must be in [0, 2**64)");
    }
    c.seed = PyLong_AsUnsignedLongLongMask(seed.ptr());
  }
  return c;
}

py::dict mix_to_py(const GenerationWeight* w, std::uint32_t n) {
  py::dict d;
  for (std::uint32_t i = 0; i < n; ++i) d[py::str(w[i].name)] = w[i].weight;
  return d;
}

py::dict config_to_py(const GenerationConfig& c) {
  py::dict d;
  d["emotions"] = mix_to_py(c.emotions, c.n_emotions);
  py::list keys;
  for (std::uint32_t k = 0; k < c.n_keyframes; ++k) {
    keys.append(py::make_tuple(c.keyframes[k].position,
                               mix_to_py(c.keyframes[k].emotions, c.keyframes[k].n_emotions)));
  }
  d["keyframes"] = keys;
  d["intensity"] = c.intensity;
  d["emotion_scale"] = c.emotion_scale;
  d["speakers"] = mix_to_py(c.speakers, c.n_speakers);
  d["steps"] = c.steps;
  d["solver"] = emomix::to_string(static_cast<emomix::Solver>(c.solver));
  d["preset"] = emomix::to_string(static_cast<emomix::Preset>(c.preset));
  d["temperature"] = c.temperature;
  d["k_max"] = c.k_max;
  d["k_min"] = c.k_min;
  d["length_scale"] = c.length_scale;
  d["seed"] = py::int_(c.seed);
  return d;
}

template <typename T>
py::array_t<T> array_of(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> a(shape);
  if (!v.empty()) std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(T));
  return a;
}

py::dict plan_to_py(const emomix::GenerationPlan& p, const emomix::VoiceInfo& voice, int frames) {
  const py::ssize_t M = static_cast<py::ssize_t>(p.conditions.size());
  py::list names;
  for (int i : p.conditions) names.append(voice.emotions[static_cast<std::size_t>(i)].name);
  py::dict d;
  d["conditions"] = names;
  d["neutral"] = p.neutral < 0 ? py::object(py::none()) : py::object(py::int_(p.neutral));
  d["emotions"] = array_of(p.emotions, {M, voice.emotion_dim});
  d["speaker"] = array_of(p.speaker, {static_cast<py::ssize_t>(p.speaker.size())});
  d["enc_emotion"] = array_of(p.enc_emotion, {voice.emotion_dim});
  d["alpha"] = p.alpha;
  d["guide"] = p.guide;
  d["preset"] = emomix::to_string(p.preset);
  d["steps"] = p.steps;
  d["parameterisation"] = emomix::to_string(p.sampler.parameterisation);
  d["solver"] = emomix::to_string(p.sampler.solver);
  d["temperature"] = p.sampler.temperature;
  d["beta_min"] = p.sampler.beta_min;
  d["beta_max"] = p.sampler.beta_max;
  d["k_max"] = p.k_max;
  d["k_min"] = p.k_min;
  if (p.key_positions.empty()) {
    d["W"] = array_of(p.weights, {p.steps, M});
  } else if (frames > 0) {
    d["W"] = array_of(emomix::schedule_weights(p, frames), {p.steps, M, frames});
  } else {
    d["W"] = py::none();  // a trajectory's W needs the line's frames
  }
  return d;
}

}  // namespace

void register_generation(py::module_& m) {
  m.def("generation_config_fields", [] { return emomix::generation_config_fields(); },
        "The fields of the C++ GenerationConfig after struct_size, in order (each (n_x, x[]) "
        "pair as one field x): what emomix.generation.GenerationConfig mirrors.");
  m.def("generation_config_bytes", [] { return sizeof(GenerationConfig); },
        "sizeof(GenerationConfig): the struct_size a caller of this build sets.");
  m.def(
      "default_generation_config",
      [](const PyModel& model) {
        return config_to_py(emomix::default_generation_config(model.model->voice()));
      },
      py::arg("model"),
      "The defaults of a line on this voice (default_generation_config) as a dict of the fields.");
  m.def(
      "generation_plan",
      [](const PyModel& model, const py::object& config, int frames) {
        const emomix::VoiceInfo& voice = model.model->voice();
        const GenerationConfig c = config_from_py(config, voice);
        emomix::GenerationPlan p;
        {
          py::gil_scoped_release release;
          p = emomix::plan_generation(voice, model.model->speaker_table(),
                                      model.model->config().speaker_dim, c);
        }
        return plan_to_py(p, voice, frames);
      },
      py::arg("model"), py::arg("config") = py::none(), py::arg("frames") = 0,
      "The line plan of `config` (plan_generation): {'conditions' (M names), 'neutral', "
      "'emotions' (M, E), 'speaker' (S,), 'enc_emotion' (E,), 'W' (N, M) — (N, M, frames) for a "
      "trajectory given `frames`, else None —, 'alpha', 'guide', solver settings}.");

  py::object session_cls = m.attr("Session");
  session_cls.attr("synthesize_text") = py::cpp_function(
      [](PySession& s, const std::string& text, const py::object& config) {
        const emomix::VoiceInfo& voice = s.model->voice();
        const GenerationConfig c = config_from_py(config, voice);
        emomix::SynthesisOutput r;
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          r = s.session->synthesize_text(text, c);
        }
        const py::ssize_t C = s.model->config().audio.n_mels;
        py::dict d;
        d["audio"] = array_of(r.audio, {static_cast<py::ssize_t>(r.audio.size())});
        d["mel"] = array_of(r.mel, {C, r.frames});
        d["mu"] = array_of(r.mu, {C, r.frames});
        d["durations"] = array_of(r.durations, {static_cast<py::ssize_t>(r.durations.size())});
        d["seed"] = py::int_(c.seed);
        return d;
      },
      py::name("synthesize_text"), py::is_method(session_cls), py::arg("text"),
      py::arg("config") = py::none(),
      "Text to audio in C++ (Session::synthesize_text): the native text frontend, the plan of "
      "`config` (a GenerationConfig, a dict of its fields, or None for the voice's defaults), "
      "encode, sample, pitch, vocode. Returns {'audio', 'mel', 'mu', 'durations', 'seed'}.");
}
