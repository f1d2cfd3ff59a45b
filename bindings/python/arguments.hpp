// arguments.hpp — conversion and checking of the Python arguments of emomix._native, shared by the
// binding sources. Every check throws emomix::InvalidArgument (a std::invalid_argument, so Python
// sees ValueError) with a message naming the argument and, for arrays, the shape it got.
// Call with the GIL held.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "emomix/error.hpp"
#include "emomix/weights.hpp"

namespace py = pybind11;

namespace emomix_py {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Int64Array = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// "(2, 3)", "(4,)": a shape as numpy prints it, for error messages.
std::string shape_string(const py::array& a);

inline int as_int(py::ssize_t v) { return static_cast<int>(v); }

// A non-negative integer (Python int, numpy integer, anything with __index__) reduced modulo
// 2**64, as emomix.sampler.rng does.
std::uint64_t as_u64(const py::handle& v, const char* what);

// A C-contiguous float32 array of obj (a view when it already is one, else a copy).
FloatArray to_float_array(const py::handle& obj, const char* what);

// Checks a's shape; -1 in `shape` matches any extent. `expected` spells the shape for the message.
void require_shape(const py::array& a, std::initializer_list<py::ssize_t> shape, const char* what,
                   const char* expected);

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

// W (N, M) or (N, M, F) as the sampler reads it; the view borrows w's data.
emomix::WeightsView weights_view(const FloatArray& w);

// A line's optional phoneme durations (None, or a 1-D integer array) that anchor its seeded noise;
// the sampler checks that they add up to the line's frames. `data` borrows `array`.
struct Durations {
  Int64Array array;
  const std::int64_t* data = nullptr;
  int phonemes = 0;
};

Durations durations_arg(const py::object& obj);

// An optional injected sampler noise: None, or a float32 array (N + 1, n_mels, F) (the layout of
// emomix/sampler.hpp); anything else throws InvalidArgument naming the expected shape. data()
// is null for None.
struct Noise {
  FloatArray array;
  const float* data = nullptr;
};
Noise noise_arg(const py::object& obj, int steps, int n_mels, int frames);

}  // namespace emomix_py
