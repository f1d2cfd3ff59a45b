#include "emomix/version.hpp"

namespace emomix {

const char* version() noexcept { return EMOMIX_VERSION_STRING; }

bool cuda_compiled() noexcept { return EMOMIX_WITH_CUDA != 0; }

}  // namespace emomix
