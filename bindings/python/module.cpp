// emomix._native — Python bindings of the native core (native/include/emomix).
//
// Every function releases the GIL around native work; sample() re-acquires it only to call the
// Python denoiser. Bad inputs raise ValueError with a message naming the problem; nothing crashes.
//
// This file only assembles the module; each part lives in its own *_bindings.cpp (bindings.hpp
// lists them). Exceptions: emomix::InvalidArgument is a std::invalid_argument, which pybind11
// turns into ValueError; voice_bindings.cpp and text_bindings.cpp register the translators of
// VoiceError and TextError.
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "emomix/version.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_native, m) {
  m.doc() = "emomix native core: counter-based noise, weight schedules and the mixed-noise sampler "
            "loop (docs/sampler.md, docs/native.md).";
  m.attr("__version__") = emomix::version();

  register_build_info(m);
  register_sampler(m);
  register_model(m);
  register_harmonics(m);
  register_session(m);
  register_voice(m);
  register_text(m);
  register_generation(m);
}
