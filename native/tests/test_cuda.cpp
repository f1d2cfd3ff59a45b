// CUDA mix + Euler kernel: bit-identical to the CPU path when a device is present; a clean
// "not built"/"no device" answer otherwise.
#include <vector>

#include "emomix/cuda.hpp"
#include "emomix/error.hpp"
#include "emomix/rng.hpp"
#include "emomix/solvers.hpp"
#include "emomix/version.hpp"
#include "emomix/weights.hpp"
#include "harness.hpp"

TEST(cuda_absent_is_reported_not_fatal) {
  if (emomix::cuda_available()) SKIP("a CUDA device is present");
  CHECK(emomix::cuda_device_count() == 0);
  CHECK(!emomix::cuda_status().empty());
  float x = 0, p = 0, w = 1;
  CHECK_THROWS_WITH(emomix::Unavailable,
                    emomix::cuda::mix_euler_host(&x, &p, &w, 1, 1, 1, false, 0.5, &x), "");
  if (!emomix::cuda_compiled()) {
    CHECK(emomix::cuda::launch_mix(&p, &w, 1, 1, 1, false, &x, nullptr) == emomix::kCudaNotBuilt);
  }
}

TEST(cuda_mix_euler_matches_cpu_bitwise) {
  if (!emomix::cuda_available()) SKIP("no CUDA device: " + emomix::cuda_status());
  const int batch = 3, n_mels = 80, frames = 517;
  const std::size_t plane = std::size_t(n_mels) * frames;
  std::vector<float> x(plane), preds(batch * plane), w_frame(batch * frames);
  emomix::fill_normal(1, 0, 0, x.data(), plane);
  emomix::fill_normal(1, 1, 0, preds.data(), preds.size());
  emomix::fill_normal(1, 2, 0, w_frame.data(), w_frame.size());
  const float w_step[3] = {0.2f, -0.5f, 1.3f};
  const double h = 1.0 / 3.0;
  for (bool per_frame : {false, true}) {
    const float* w = per_frame ? w_frame.data() : w_step;
    std::vector<float> mixed(plane), cpu(plane), gpu(plane);
    emomix::mix_predictions(preds.data(), w, batch, n_mels, frames, per_frame, mixed.data());
    emomix::flow_euler_update(x.data(), mixed.data(), h, plane, cpu.data());
    emomix::cuda::mix_euler_host(x.data(), preds.data(), w, batch, n_mels, frames, per_frame, h,
                                 gpu.data());
    CHECK(cpu == gpu);
  }
}
