// build_info_bindings.cpp — emomix._native's build facts: version, compiler, whether CUDA is
// compiled in and usable, which BLAS the matrix products use. Nothing here touches the GPU except
// cuda_available() and cuda_status(), which never raise.
#include <pybind11/pybind11.h>

#include <string>

#include "bindings.hpp"
#include "emomix/cuda.hpp"
#include "emomix/kernels.hpp"
#include "emomix/version.hpp"

namespace py = pybind11;

void register_build_info(py::module_& m) {
  m.def("build_info", [] {
    py::dict info;
    info["version"] = emomix::version();
    info["cuda_compiled"] = emomix::cuda_compiled();
#if defined(__clang__)
    info["compiler"] = "clang " __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = "gcc " __VERSION__;
#elif defined(_MSC_VER)
    info["compiler"] = "msvc " + std::to_string(_MSC_VER);
#endif
    return info;
  }, "Build facts: {'version': str, 'cuda_compiled': bool, 'compiler': str}. Does not touch the "
     "GPU; see cuda_available().");

  m.def("cuda_available", [] {
    py::gil_scoped_release release;
    return emomix::cuda_available();
  }, "True when CUDA is compiled in and a device is visible. Never raises; safe without a driver.");
  m.def("cuda_status", [] {
    py::gil_scoped_release release;
    return emomix::cuda_status();
  }, "One line on CUDA: 'not built', 'no device (...)' or '<n> device(s): <name>'.");

  m.def("blas", [] { return std::string(emomix::blas_name()); },
        "'openblas' when matrix products use OpenBLAS, 'fallback' for the portable GEMM.");
}
