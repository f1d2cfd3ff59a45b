// After warm-up, sample() with a reused workspace performs no heap allocation. Counts every
// replaceable global operator new in this binary.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "emomix/sampler.hpp"

namespace {
std::atomic<long> g_allocations{0};

void* counted_alloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

int main() {
  const int steps = 6, conditions = 3, n_mels = 80, frames = 64;
  std::vector<float> mu(std::size_t(n_mels) * frames, 0.25f), out(mu.size());
  std::vector<float> w_step, w_frame;
  for (int k = 0; k < steps; ++k) {
    const float a = k < 2 ? 1.0f : 0.5f;  // step 0, 1: condition 0 alone; later a 3-way mix
    w_step.insert(w_step.end(), {a, (1 - a) * 0.5f, (1 - a) * 0.5f});
    for (int i = 0; i < conditions; ++i)
      for (int f = 0; f < frames; ++f) w_frame.push_back(i == 0 ? a : (1 - a) * 0.5f);
  }
  const emomix::Denoiser denoise = [](const float* x, const float*, const int* cond, int batch,
                                      int c, int f, float* pred) {
    const std::size_t plane = std::size_t(c) * f;
    for (int b = 0; b < batch; ++b)
      for (std::size_t j = 0; j < plane; ++j) pred[b * plane + j] = x[j] - 0.1f * cond[b];
  };
  struct Case {
    emomix::Parameterisation p;
    emomix::Solver s;
  };
  const Case cases[] = {{emomix::Parameterisation::flow, emomix::Solver::euler},
                        {emomix::Parameterisation::flow, emomix::Solver::heun},
                        {emomix::Parameterisation::score, emomix::Solver::em},
                        {emomix::Parameterisation::score, emomix::Solver::pf_euler}};
  emomix::SamplerWorkspace ws;
  ws.reserve(steps, conditions, n_mels, frames);
  int failures = 0;
  for (const Case& c : cases) {
    for (int per_frame = 0; per_frame < 2; ++per_frame) {
      emomix::SamplerConfig config;
      config.parameterisation = c.p;
      config.solver = c.s;
      emomix::SampleInputs in;
      in.mu = mu.data();
      in.n_mels = n_mels;
      in.frames = frames;
      in.weights = per_frame ? emomix::WeightsView{w_frame.data(), steps, conditions, frames}
                             : emomix::WeightsView{w_step.data(), steps, conditions, 0};
      in.seed = 3;
      const long before = g_allocations.load();
      emomix::sample(denoise, in, config, ws, out.data());
      const long allocated = g_allocations.load() - before;
      std::fprintf(stderr, "%s/%s per_frame=%d: %ld allocations\n", emomix::to_string(c.p),
                   emomix::to_string(c.s), per_frame, allocated);
      failures += allocated != 0;
    }
  }
  // The counter works: a growing workspace does allocate.
  const long before = g_allocations.load();
  ws.reserve(steps, conditions, n_mels, frames * 2);
  if (g_allocations.load() == before) {
    std::fprintf(stderr, "operator new replacement is not counting\n");
    ++failures;
  }
  return failures == 0 ? 0 : 1;
}
