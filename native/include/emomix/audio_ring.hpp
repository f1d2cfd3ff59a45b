// emomix/audio_ring.hpp — a lock-free single-producer / single-consumer ring of float samples, for
// handing audio from a render thread to an engine's audio callback.
//
// One producer thread calls write(); one consumer thread calls read() and skip_to_flush(); any
// thread may call flush() *while holding whatever lock serialises it with the producer* (a flush
// marks everything written so far as discarded; the consumer drops it on its next read).
// Positions are 64-bit counters that never wrap in practice (2^64 samples). write() and read()
// never allocate, lock or block: they are a few atomic loads and stores and memcpy.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

namespace emomix {

class AudioRing {
 public:
  // capacity >= 1 samples, allocated here (the only allocation).
  explicit AudioRing(std::size_t capacity)
      : data_(new float[capacity]), capacity_(capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }

  // Producer: samples that fit now.
  std::size_t free_space() const noexcept {
    return capacity_ - static_cast<std::size_t>(write_.load(std::memory_order_relaxed) -
                                                read_.load(std::memory_order_acquire));
  }
  // Producer: copies up to n samples in; returns how many fit.
  std::size_t write(const float* in, std::size_t n) noexcept {
    const std::uint64_t w = write_.load(std::memory_order_relaxed);
    n = std::min(n, free_space());
    copy_in(w, in, n);
    write_.store(w + n, std::memory_order_release);
    return n;
  }
  // Any thread, serialised with the producer: discard everything written so far.
  void flush() noexcept {
    flush_.store(write_.load(std::memory_order_relaxed), std::memory_order_release);
  }

  // Consumer: samples readable now (after a pending flush is applied).
  std::size_t available() noexcept {
    skip_to_flush();
    return static_cast<std::size_t>(write_.load(std::memory_order_acquire) -
                                    read_.load(std::memory_order_relaxed));
  }
  // Consumer: copies up to n samples out; returns how many.
  std::size_t read(float* out, std::size_t n) noexcept {
    n = std::min(n, available());
    if (n == 0) return 0;  // out may be NULL then (memcpy's arguments must not be)
    const std::uint64_t r = read_.load(std::memory_order_relaxed);
    const std::size_t at = static_cast<std::size_t>(r % capacity_);
    const std::size_t first = std::min(n, capacity_ - at);
    std::memcpy(out, data_.get() + at, first * sizeof(float));
    std::memcpy(out + first, data_.get(), (n - first) * sizeof(float));
    read_.store(r + n, std::memory_order_release);
    return n;
  }

 private:
  void skip_to_flush() noexcept {
    const std::uint64_t f = flush_.load(std::memory_order_acquire);
    if (f > read_.load(std::memory_order_relaxed)) read_.store(f, std::memory_order_release);
  }
  void copy_in(std::uint64_t w, const float* in, std::size_t n) noexcept {
    const std::size_t at = static_cast<std::size_t>(w % capacity_);
    const std::size_t first = std::min(n, capacity_ - at);
    std::memcpy(data_.get() + at, in, first * sizeof(float));
    std::memcpy(data_.get(), in + first, (n - first) * sizeof(float));
  }
  std::unique_ptr<float[]> data_;
  std::size_t capacity_;
  alignas(64) std::atomic<std::uint64_t> write_{0};
  alignas(64) std::atomic<std::uint64_t> read_{0};
  alignas(64) std::atomic<std::uint64_t> flush_{0};
};

}  // namespace emomix
