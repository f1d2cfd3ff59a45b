#include "emomix/thread_pool.hpp"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace emomix {

namespace {
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}
}  // namespace

template <class Pred>
void ThreadPool::spin_until(Pred&& pred, int& budget) noexcept {
  bool ok = pred();
  if (!ok) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(budget);
    while (!ok) {
      for (int i = 0; i < 64 && !ok; ++i) {
        cpu_relax();
        ok = pred();
      }
      if (!ok && std::chrono::steady_clock::now() >= deadline) break;
    }
  }
  budget = ok ? std::min(kSpinMicroseconds, 2 * budget)
              : std::max(kMinSpinMicroseconds, budget / 2);
}

ThreadPool::ThreadPool(int threads) {
  const int n = threads < 1 ? 0 : threads - 1;
  workers_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this, i] { worker_main(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::work(int thread) noexcept {
  std::unique_lock<std::mutex> lock(mutex_);
  while (next_ < tasks_) {
    const int task = next_++;
    const Call call = call_;
    void* ctx = ctx_;
    lock.unlock();
    call(ctx, task, thread);
    lock.lock();
    if (--remaining_ == 0) done_cv_.notify_all();
  }
}

void ThreadPool::dispatch(int tasks, Call call, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    call_ = call;
    ctx_ = ctx;
    tasks_ = tasks;
    next_ = 0;
    remaining_ = tasks;
    ++generation_;
  }
  wake_.notify_all();
  work(0);
  spin_until([this] { return remaining_.load(std::memory_order_acquire) == 0; }, caller_spin_);
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return remaining_ == 0; });
}

void ThreadPool::worker_main(int thread) noexcept {
  std::uint64_t seen = 0;
  int spin = kSpinMicroseconds;
  for (;;) {
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }, spin);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    work(thread);
  }
}

}  // namespace emomix
