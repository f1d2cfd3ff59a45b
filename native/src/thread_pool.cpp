#include "emomix/thread_pool.hpp"

#include <chrono>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define EMOMIX_PAUSE() _mm_pause()
#else
#define EMOMIX_PAUSE() std::this_thread::yield()
#endif

namespace emomix {

namespace {
// How long an idle worker (or the waiting caller) polls before it sleeps on a condition variable.
constexpr auto kSpin = std::chrono::microseconds(50);

template <class Pred>
bool spin_until(Pred pred) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (pred()) return true;
    EMOMIX_PAUSE();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
  }
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  const int n = threads < 1 ? 0 : threads - 1;
  workers_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this, i] { worker_main(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::work(int thread) noexcept {
  for (;;) {
    const int task = next_.fetch_add(1, std::memory_order_relaxed);
    if (task >= tasks_) break;
    call_(ctx_, task, thread);
  }
}

void ThreadPool::dispatch(int tasks, Call call, void* ctx) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_ = tasks;
    call_ = call;
    ctx_ = ctx;
    next_.store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  work(0);
  const int n = static_cast<int>(workers_.size());
  if (!spin_until([&] { return finished_.load(std::memory_order_acquire) == n; })) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return finished_.load(std::memory_order_acquire) == n; });
  }
}

void ThreadPool::worker_main(int thread) noexcept {
  std::uint64_t seen = 0;
  for (;;) {
    if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    bool stop;
    {
      // The job fields were written under the mutex; taking it once per job orders the reads.
      std::lock_guard<std::mutex> lock(mutex_);
      seen = generation_.load(std::memory_order_acquire);
      stop = stop_;
    }
    if (stop) return;
    work(thread);
    if (finished_.fetch_add(1, std::memory_order_acq_rel) + 1 ==
        static_cast<int>(workers_.size())) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace emomix
