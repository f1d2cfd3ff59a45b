// runtime_handles.hpp — the Python-side handles of the native runtime, shared by the binding
// sources that add methods to them (model_bindings.cpp and session_bindings.cpp register the
// classes; harmonics_bindings.cpp adds Model.frame_pitch and Model.render_harmonics,
// generation_bindings.cpp Session.synthesize_text). One definition, so pybind11 sees one type.
#pragma once

#include <memory>
#include <mutex>

#include "emomix/model.hpp"
#include "emomix/session.hpp"

namespace emomix_py {

// A loaded voice's networks (immutable, shared by Sessions).
struct PyModel {
  std::shared_ptr<const emomix::Model> model;
};

// A Session plus a mutex: the C++ Session is single-threaded by contract; the binding serialises
// accidental concurrent use from several Python threads instead of racing.
struct PySession {
  std::shared_ptr<const emomix::Model> model;
  std::unique_ptr<emomix::Session> session;
  std::mutex mutex;
};

// Throws InvalidArgument (ValueError) unless the voice has a pitch predictor
// (model.config.pitch.enabled). Defined in model_bindings.cpp.
void require_pitch(const emomix::Model& m);

}  // namespace emomix_py
