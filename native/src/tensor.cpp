#include "emomix/tensor.hpp"

#include <cstdlib>
#include <new>

#include "emomix/error.hpp"

namespace emomix {

namespace {
thread_local std::uint64_t g_allocations = 0;
}

std::uint64_t tensor_allocations() noexcept { return g_allocations; }

void Tensor::Free::operator()(float* p) const noexcept { std::free(p); }

void Tensor::reserve(std::size_t n) {
  if (n <= capacity_) return;
  // Round up to 64 bytes: aligned_alloc needs a multiple of the alignment.
  const std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw std::bad_alloc();
  ++g_allocations;
  data_.reset(static_cast<float*>(p));
  capacity_ = bytes / sizeof(float);
}

float* Tensor::reshape(int d0, int d1, int d2, int d3) {
  const int dims[4] = {d0, d1, d2, d3};
  int nd = 0;
  std::size_t n = 1;
  for (int d : dims) {
    if (d < 0) break;
    shape_[static_cast<std::size_t>(nd++)] = d;
    n *= static_cast<std::size_t>(d);
  }
  if (nd == 0) throw InvalidArgument("Tensor::reshape needs at least one dimension");
  ndim_ = nd;
  reserve(n);
  size_ = n;
  return data_.get();
}

}  // namespace emomix
