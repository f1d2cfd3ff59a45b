// emomix/version.hpp — what this build of the native core is.
#pragma once

namespace emomix {

// The package version ("0.1.0"), taken from pyproject.toml at configure time.
const char* version() noexcept;

// True when the CUDA kernels were compiled in (EMOMIX_CUDA=ON/AUTO with a CUDA compiler).
// Says nothing about whether a GPU is present: see cuda_available() in emomix/cuda.hpp.
bool cuda_compiled() noexcept;

}  // namespace emomix
