// emomix/error.hpp — the exceptions the native core throws.
//
// The core reports bad inputs (shapes, weights, configs) by throwing InvalidArgument with a
// message that names the offending value and says what is expected. Nothing is thrown from the
// per-step math once sample() has validated its inputs, except what the caller's denoiser throws.
// Exceptions never cross the C ABI: bindings/c catches them and returns a result code.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace emomix {

// A caller passed something the contract does not allow (pybind11 maps it to ValueError).
class InvalidArgument : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A voice bundle is missing, malformed, inconsistent or corrupted: the C++ twin of Python's
// emomix.errors.VoiceBundleError (the pybind11 module raises that class from it). `path` is the
// file (or directory) at fault, `field` is "<file>:<dotted.field>" (e.g.
// "voice.json:emotions.happy.embedding", "weights.safetensors:denoiser.in_conv.weight") or just
// "<file>", `problem` says what is wrong and `hint` what to do. what() is
// "<path>: <field>: <problem> — <hint>.", the same text as Python's.
class VoiceError : public InvalidArgument {
 public:
  VoiceError(std::string path, std::string field, std::string problem, std::string hint)
      : InvalidArgument(path + ": " + field + ": " + strip_dots(problem) + " \xe2\x80\x94 " +
                        strip_dots(hint) + "."),  // an em dash, UTF-8
        path_(std::move(path)), field_(std::move(field)), problem_(std::move(problem)),
        hint_(std::move(hint)) {}
  const std::string& path() const noexcept { return path_; }
  const std::string& field() const noexcept { return field_; }
  const std::string& problem() const noexcept { return problem_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  static std::string strip_dots(std::string s) {
    while (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  std::string path_, field_, problem_, hint_;
};

// A feature that was compiled out (e.g. CUDA) or a device that is missing.
class Unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace emomix
