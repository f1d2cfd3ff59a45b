// session_bindings.cpp — emomix._native.Session and VocoderStream: a Model's networks run with a
// per-Session workspace (emomix/session.hpp): encode, pitch, denoise, vocode (whole or streamed),
// ser, the mixed sampler with the native denoiser, and the whole pipeline.
//
// The GIL is released around native work; calls on one Session (and pulls from one stream) are
// serialised by a mutex. Bad inputs raise ValueError naming the argument and the shape expected.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "arguments.hpp"
#include "bindings.hpp"
#include "emomix/error.hpp"
#include "emomix/model.hpp"
#include "emomix/sampler.hpp"
#include "emomix/session.hpp"
#include "emomix/tensor.hpp"
#include "runtime_handles.hpp"

namespace py = pybind11;
using namespace emomix_py;

namespace {

// A streaming vocoder state plus a mutex (pulls from several Python threads are serialised; the
// stream lock is always taken before a Session's).
struct PyVocoderStream {
  std::unique_ptr<emomix::VocoderStream> stream;
  std::mutex mutex;
};

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

}  // namespace

void register_session(py::module_& m) {
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
                        const py::object& durations_obj, const py::object& noise_obj) {
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
        const Noise noise = noise_arg(noise_obj, view.steps, c.audio.n_mels, F);
        py::array_t<float> out({c.audio.n_mels, F});
        float* o = out.mutable_data();
        {
          py::gil_scoped_release release;
          std::lock_guard<std::mutex> lock(s.mutex);
          s.session->sample(mu.data(), F, view, emo.data(), spk.data(), config, sd, o,
                            durations.data, durations.phonemes, noise.data);
        }
        return out;
      }, py::arg("mu"), py::arg("W"), py::arg("emotions"), py::arg("speakers"),
      py::arg("solver"), py::arg("temperature") = 1.0, py::arg("seed") = 0,
      py::arg("durations") = py::none(), py::arg("noise") = py::none(),
      "The mixed sampler with the native denoiser (no Python in the loop): mu (C, F), W (N, M) or "
      "(N, M, F), emotions (M, E), speakers (M, S) -> mel (C, F); durations (T,) anchor the seeded "
      "noise, or noise (N + 1, C, F) is used as given. Same arithmetic and noise as "
      "emomix._native.sample with this Session's denoise().")
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

  m.def("tensor_allocations", [] { return emomix::tensor_allocations(); },
        "Workspace buffer allocations made by the calling thread so far (for no-allocation tests).");
}
