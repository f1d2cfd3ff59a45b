// emomix/tensor.hpp — the runtime's small tensor types.
//
// Tensor   an owning, 64-byte aligned float buffer with a shape of up to 4 dims, C order. Its
//          storage only grows: reshaping to a size that fits reuses the memory, so a workspace
//          sized once for the largest line allocates nothing afterwards. Contents are not kept
//          across a growing reshape.
// Weight   a borrowed, read-only view of a model tensor (memory-mapped file or converted copy).
//
// Activations inside the graphs use the layout [channels][batch * frames]: batch items are
// contiguous column blocks of one (C x B*F) matrix, so a 1x1 convolution over a whole batch is one
// matrix product and per-frame ops see every item at once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace emomix {

class Tensor {
 public:
  Tensor() = default;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;
  Tensor(Tensor&&) noexcept = default;
  Tensor& operator=(Tensor&&) noexcept = default;

  // Sets the shape (1-4 dims, each >= 0) and grows the storage if needed. Returns data().
  float* reshape(int d0, int d1 = -1, int d2 = -1, int d3 = -1);
  // Grows the storage to at least n floats without changing the shape.
  void reserve(std::size_t n);

  float* data() noexcept { return data_.get(); }
  const float* data() const noexcept { return data_.get(); }
  int ndim() const noexcept { return ndim_; }
  int dim(int i) const noexcept { return shape_[static_cast<std::size_t>(i)]; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  // 2-D convenience: rows = dim(0), cols = product of the other dims.
  int rows() const noexcept { return ndim_ ? shape_[0] : 0; }
  int cols() const noexcept { return rows() ? static_cast<int>(size_ / static_cast<std::size_t>(rows())) : 0; }

 private:
  struct Free {
    void operator()(float* p) const noexcept;
  };
  std::unique_ptr<float[], Free> data_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
  std::array<int, 4> shape_{};
  int ndim_ = 0;
};

// Count of Tensor storage allocations made by the calling thread so far: tests check that a
// repeated line allocates nothing.
std::uint64_t tensor_allocations() noexcept;

// A read-only view of a weight tensor (shape as in the torch state dict).
struct Weight {
  const float* data = nullptr;
  std::array<int, 4> shape{};
  int ndim = 0;
  std::size_t size() const noexcept {
    std::size_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= static_cast<std::size_t>(shape[static_cast<std::size_t>(i)]);
    return ndim ? n : 0;
  }
  int dim(int i) const noexcept { return shape[static_cast<std::size_t>(i)]; }
};

}  // namespace emomix
