// emomix/cuda.hpp — CUDA kernels of the sampler (mixing + solver update) and device discovery.
//
// These symbols exist in every build. Without CUDA compiled in (EMOMIX_CUDA=OFF or no nvcc),
// cuda_available() is false and the launchers return kCudaNotBuilt. With CUDA compiled in, the
// CUDA runtime is linked statically and finds the driver lazily, so a machine without a GPU or
// driver loads the library fine and cuda_available() is simply false.
//
// The kernels round exactly like the CPU path (mix_predictions + flow_euler_update: float32,
// ascending batch order, no fused multiply-adds), so CPU and GPU results are bit-identical.
#pragma once

#include <string>

namespace emomix {

// Returned by the launchers when CUDA was not compiled in.
inline constexpr int kCudaNotBuilt = -1;

// True when CUDA is compiled in, a driver is loaded and at least one device is visible. Never
// throws; the first call initialises the runtime (may take a moment), later calls are cheap.
bool cuda_available() noexcept;

// Visible devices (0 without CUDA, driver or device).
int cuda_device_count() noexcept;

// A human-readable line: "not built", "no device (<runtime reason>)", or "<n> device(s): <name>".
std::string cuda_status();

// Message for a launcher's status code (0 = success).
const char* cuda_error_string(int status) noexcept;

namespace cuda {

// Device pointers; enqueued on `stream` (a cudaStream_t, nullptr = default stream); returns 0 or
// a cudaError_t code (kCudaNotBuilt without CUDA). Shapes as in emomix/weights.hpp:
//   preds [batch, n_mels, frames]; weights [batch] or [batch, frames] (per_frame).
// mix:        out[c, f]   = sum_b weights[b, (f)] * preds[b, c, f]
// mix_euler:  x_out[c, f] = x[c, f] - h * sum_b weights[b, (f)] * preds[b, c, f]   (x_out may be x)
int launch_mix(const float* preds, const float* weights, int batch, int n_mels, int frames,
               bool per_frame, float* out, void* stream) noexcept;
int launch_mix_euler(const float* x, const float* preds, const float* weights, int batch,
                     int n_mels, int frames, bool per_frame, float h, float* x_out,
                     void* stream) noexcept;

// Host-memory convenience for tests and parity checks: copies in, runs launch_mix_euler on the
// current device, copies out, synchronises. Throws Unavailable when CUDA is not built or no device
// is present, std::runtime_error on a CUDA error.
void mix_euler_host(const float* x, const float* preds, const float* weights, int batch,
                    int n_mels, int frames, bool per_frame, double h, float* x_out);

}  // namespace cuda
}  // namespace emomix
