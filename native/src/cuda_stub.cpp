// The CUDA entry points of emomix/cuda.hpp when CUDA is not compiled in: same symbols, "not built".
#include "emomix/cuda.hpp"

#include "emomix/error.hpp"

namespace emomix {

bool cuda_available() noexcept { return false; }

int cuda_device_count() noexcept { return 0; }

std::string cuda_status() { return "not built (configure with -DEMOMIX_CUDA=ON and a CUDA toolkit)"; }

const char* cuda_error_string(int status) noexcept {
  if (status == 0) return "success";
  if (status == kCudaNotBuilt) return "CUDA support was not built";
  return "CUDA error";
}

namespace cuda {

int launch_mix(const float*, const float*, int, int, int, bool, float*, void*) noexcept {
  return kCudaNotBuilt;
}

int launch_mix_euler(const float*, const float*, const float*, int, int, int, bool, float, float*,
                     void*) noexcept {
  return kCudaNotBuilt;
}

void mix_euler_host(const float*, const float*, const float*, int, int, int, bool, double,
                    float*) {
  throw Unavailable("CUDA support was not built into emomix");
}

}  // namespace cuda
}  // namespace emomix
