// emomix/thread_pool.hpp — the runtime's own bounded pool of CPU threads.
//
// A ThreadPool of size T runs parallel loops on the calling thread plus T - 1 workers it owns, so
// a game decides how many cores speech may take (DESIGN §7). run() does not allocate: the
// callable is passed by pointer and tasks are claimed one at a time under the pool's mutex.
//
// run() returns when every task has finished. The caller claims tasks too, so a worker the OS
// does not schedule in time simply runs nothing. Every job field is read and every task claimed
// under one mutex: a late worker can only ever claim tasks of the job that is current, and a new
// job cannot start before the last one's tasks have all finished.
//
// A denoiser pass is a hundred short parallel loops, so waking a sleeping worker through the
// kernel for each one costs more than the work of many. Workers that have just finished a job
// therefore spin for a short while on the (atomic) job counter before they sleep on the
// condition variable, and the caller spins on the count of unfinished tasks. The spin adapts: each
// thread doubles its budget (up to 50 us) when a spin ends in the event and halves it when it
// times out, so on cores busy with other work (where the awaited thread is not running) it
// decays towards a plain sleep instead of taking CPU time from that work. Spinning only reads:
// claiming and finishing tasks still happens under the mutex.
//
// Thread safety: run() may be called by one thread at a time (the pool belongs to one Session).
#pragma once

#include <atomic>
#include <chrono>
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
  // Claims and runs tasks of the current job until none are left.
  void work(int thread) noexcept;
  void worker_main(int thread) noexcept;
  // Spins until pred() holds or `budget` microseconds have passed, then adapts the budget:
  // doubled on success (up to kSpinMicroseconds), halved on a timeout (down to
  // kMinSpinMicroseconds, which still catches a short gap, so the budget can grow back).
  template <class Pred>
  static void spin_until(Pred&& pred, int& budget) noexcept;

  // The longest a thread spins before it sleeps: a few times a short loop's length, far below
  // a frame of audio.
  static constexpr int kSpinMicroseconds = 50;
  static constexpr int kMinSpinMicroseconds = 2;

  std::vector<std::thread> workers_;
  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::condition_variable done_cv_;
  // Bumped per job (wakes the workers) and counted down per finished task. Both change only
  // under the mutex; they are atomic so that spinning threads can read them without it.
  std::atomic<std::uint64_t> generation_{0};
  Call call_ = nullptr;
  void* ctx_ = nullptr;
  int tasks_ = 0;
  int next_ = 0;       // next task index to claim
  std::atomic<int> remaining_{0};  // tasks of the current job not finished yet
  bool stop_ = false;
  int caller_spin_ = kSpinMicroseconds;  // the caller's spin budget (run() is single-caller)
};

// Splits [0, n) into `parts` near-equal contiguous ranges; range i is [begin, end).
inline void split_range(int n, int parts, int i, int& begin, int& end) noexcept {
  const int base = n / parts, extra = n % parts;
  begin = i * base + (i < extra ? i : extra);
  end = begin + base + (i < extra ? 1 : 0);
}

}  // namespace emomix
