// emomix/error.hpp — the exceptions the native core throws.
//
// The core reports bad inputs (shapes, weights, configs) by throwing InvalidArgument with a
// message that names the offending value and says what is expected. Nothing is thrown from the
// per-step math once sample() has validated its inputs, except what the caller's denoiser throws.
// Exceptions never cross the C ABI: bindings/c catches them and returns a result code.
#pragma once

#include <stdexcept>
#include <string>

namespace emomix {

// A caller passed something the contract does not allow (pybind11 maps it to ValueError).
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A feature that was compiled out (e.g. CUDA) or a device that is missing.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace emomix
