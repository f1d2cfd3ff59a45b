// emomix/thread_pool.hpp — the runtime's own bounded pool of CPU threads.
//
// A ThreadPool of size T runs parallel loops on the calling thread plus T - 1 workers it owns, so
// a game decides how many cores speech may take (DESIGN §7). run() does not allocate: the
// callable is passed by pointer and tasks are claimed one at a time from an atomic counter.
//
// run() returns when every task has finished. The caller claims tasks too and never waits for a
// worker that has not claimed one: on a machine whose cores are busy with other work, a worker
// that is not scheduled in time simply does nothing, instead of stalling every parallel loop
// until the OS runs it. Workers spin briefly (tens of microseconds) after a loop before sleeping.
//
// Thread safety: run() may be called by one thread at a time (the pool belongs to one Session).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace emomix {

class ThreadPool {
 public:
  // threads >= 1 (values < 1 are treated as 1). threads == 1 runs everything inline.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const noexcept { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(task, thread) for every task in [0, tasks); `thread` in [0, size()) identifies the
  // executing thread (0 = the caller), e.g. to pick per-thread scratch. fn must not throw.
  template <class Fn>
  void run(int tasks, Fn&& fn) {
    if (tasks <= 0) return;
    if (tasks == 1 || workers_.empty()) {
      for (int t = 0; t < tasks; ++t) fn(t, 0);
      return;
    }
    using F = std::remove_reference_t<Fn>;
    dispatch(tasks, [](void* ctx, int task, int thread) { (*static_cast<F*>(ctx))(task, thread); },
             const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Call = void (*)(void*, int, int);
  void dispatch(int tasks, Call call, void* ctx);
  // Claims and runs tasks of generation `gen` until none are left or the job has moved on.
  void work(std::uint32_t gen, int thread) noexcept;
  void worker_main(int thread) noexcept;

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  // (generation << 32) | next task index. A claim is a CAS that also checks the generation, so a
  // late worker can never run a task of a job that has been replaced.
  std::atomic<std::uint64_t> state_{0};
  std::atomic<int> tasks_{0};
  std::atomic<Call> call_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};  // set under mutex_ so a sleeping worker cannot miss it
};

// Splits [0, n) into `parts` near-equal contiguous ranges; range i is [begin, end).
inline void split_range(int n, int parts, int i, int& begin, int& end) noexcept {
  const int base = n / parts, extra = n % parts;
  begin = i * base + (i < extra ? i : extra);
  end = begin + base + (i < extra ? 1 : 0);
}

}  // namespace emomix
