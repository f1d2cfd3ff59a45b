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

constexpr std::uint32_t generation_of(std::uint64_t s) { return static_cast<std::uint32_t>(s >> 32); }
constexpr int index_of(std::uint64_t s) { return static_cast<int>(s & 0xFFFFFFFFu); }
}  // namespace

ThreadPool::ThreadPool(int threads) {
  const int n = threads < 1 ? 0 : threads - 1;
  workers_.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) workers_.emplace_back([this, i] { worker_main(i + 1); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // No generation bump: a worker that read it as a new job would run a stale call and then
    // sleep waiting for a generation that never comes (seen as a hang at join).
    stop_.store(true, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::work(std::uint32_t gen, int thread) noexcept {
  std::uint64_t s = state_.load(std::memory_order_acquire);
  for (;;) {
    if (generation_of(s) != gen) return;
    // Read the job before claiming: a successful CAS proves it still belongs to `gen`.
    const int tasks = tasks_.load(std::memory_order_relaxed);
    const Call call = call_.load(std::memory_order_relaxed);
    void* ctx = ctx_.load(std::memory_order_relaxed);
    const int task = index_of(s);
    if (task >= tasks) return;
    if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // s was reloaded
    }
    call(ctx, task, thread);
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) {
      std::lock_guard<std::mutex> lock(mutex_);  // the caller may be asleep on done_cv_
      done_cv_.notify_one();
    }
    s = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::dispatch(int tasks, Call call, void* ctx) {
  std::uint32_t gen;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.store(tasks, std::memory_order_relaxed);
    call_.store(call, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    gen = generation_of(state_.load(std::memory_order_relaxed)) + 1;
    state_.store(static_cast<std::uint64_t>(gen) << 32, std::memory_order_release);
  }
  wake_.notify_all();
  work(gen, 0);
  // Only tasks some thread has claimed are outstanding; wait for those (workers that never woke
  // up do not matter).
  auto finished = [&] { return done_.load(std::memory_order_acquire) == tasks; };
  if (!spin_until(finished)) {
    std::unique_lock<std::mutex> lock(mutex_);
    // Timed waits: a lost wake-up costs a millisecond, never a hang.
    while (!finished()) done_cv_.wait_for(lock, std::chrono::milliseconds(1));
  }
}

void ThreadPool::worker_main(int thread) noexcept {
  std::uint32_t seen = 0;
  for (;;) {
    auto changed = [&] {
      return stop_.load(std::memory_order_acquire) ||
             generation_of(state_.load(std::memory_order_acquire)) != seen;
    };
    if (!spin_until(changed)) {
      std::unique_lock<std::mutex> lock(mutex_);
      while (!changed()) wake_.wait_for(lock, std::chrono::milliseconds(1));
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_of(state_.load(std::memory_order_acquire));
    work(seen, thread);
  }
}

}  // namespace emomix
