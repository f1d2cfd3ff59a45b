// arguments.cpp — the argument conversions and checks of arguments.hpp.
#include "arguments.hpp"

#include <string>

namespace emomix_py {

std::string shape_string(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (d) s += ", ";
    s += std::to_string(a.shape(d));
  }
  return s + (a.ndim() == 1 ? ",)" : ")");
}

Durations durations_arg(const py::object& obj) {
  Durations d;
  if (obj.is_none()) return d;
  const py::array a = py::array::ensure(obj);
  if (!a || a.ndim() != 1 || a.shape(0) == 0 ||
      (a.dtype().kind() != 'i' && a.dtype().kind() != 'u')) {
    PyErr_Clear();
    throw emomix::InvalidArgument("durations must be a non-empty 1-D array of integer frame "
                                  "counts, got " +
                                  py::repr(obj).cast<std::string>().substr(0, 80));
  }
  d.array = Int64Array::ensure(a);
  d.data = d.array.data();
  d.phonemes = static_cast<int>(d.array.shape(0));
  return d;
}

std::uint64_t as_u64(const py::handle& v, const char* what) {
  auto bad = [&] {
    return emomix::InvalidArgument(std::string(what) + " must be a non-negative integer, got " +
                                   py::repr(v).cast<std::string>());
  };
  PyObject* index = PyNumber_Index(v.ptr());
  if (index == nullptr) {
    PyErr_Clear();
    throw bad();
  }
  const py::object as_int = py::reinterpret_steal<py::object>(index);
  if (PyObject_RichCompareBool(as_int.ptr(), py::int_(0).ptr(), Py_LT) == 1) throw bad();
  const unsigned long long r = PyLong_AsUnsignedLongLongMask(as_int.ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  return static_cast<std::uint64_t>(r);
}

FloatArray to_float_array(const py::handle& obj, const char* what) {
  FloatArray a = FloatArray::ensure(obj);
  if (!a) {
    PyErr_Clear();
    throw emomix::InvalidArgument(std::string(what) + " must be convertible to a float32 array");
  }
  return a;
}

emomix::WeightsView weights_view(const FloatArray& w) {
  if (w.ndim() != 2 && w.ndim() != 3) {
    throw emomix::InvalidArgument("W must have shape (N, M) or (N, M, F), got " + shape_string(w));
  }
  emomix::WeightsView v;
  v.data = w.data();
  v.steps = as_int(w.shape(0));
  v.conditions = as_int(w.shape(1));
  v.frames = w.ndim() == 3 ? as_int(w.shape(2)) : 0;
  if (w.ndim() == 3 && v.frames == 0) {
    throw emomix::InvalidArgument("per-frame W must have F >= 1, got " + shape_string(w));
  }
  return v;
}

void require_shape(const py::array& a, std::initializer_list<py::ssize_t> shape, const char* what,
                   const char* expected) {
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  py::ssize_t d = 0;
  for (py::ssize_t s : shape) {
    if (ok && s >= 0 && a.shape(d) != s) ok = false;
    ++d;
  }
  if (!ok) {
    throw emomix::InvalidArgument(std::string(what) + " must have shape " + expected + ", got " +
                                  shape_string(a));
  }
}

Noise noise_arg(const py::object& obj, int steps, int n_mels, int frames) {
  Noise n;
  if (obj.is_none()) return n;
  n.array = to_float_array(obj, "noise");
  const py::ssize_t expected[3] = {steps + 1, n_mels, frames};
  if (n.array.ndim() != 3 || n.array.shape(0) != expected[0] ||
      n.array.shape(1) != expected[1] || n.array.shape(2) != expected[2]) {
    throw emomix::InvalidArgument(
        "noise must have shape (N + 1, n_mels, F) = (" + std::to_string(expected[0]) + ", " +
        std::to_string(expected[1]) + ", " + std::to_string(expected[2]) + "), got " +
        shape_string(n.array));
  }
  n.data = n.array.data();
  return n;
}

}  // namespace emomix_py
