// CUDA kernels for the sampler's mixing and flow-Euler update (emomix/cuda.hpp).
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "emomix/cuda.hpp"
#include "emomix/error.hpp"

namespace emomix {

namespace {

constexpr int kThreads = 256;

// __fmul_rn/__fadd_rn forbid contraction into FMA, so the GPU rounds exactly like the CPU path.
__device__ __forceinline__ float mixed_at(const float* preds, const float* weights, int batch,
                                          std::size_t plane, int frames, bool per_frame,
                                          std::size_t i) {
  const int f = static_cast<int>(i % static_cast<std::size_t>(frames));
  float acc = 0.0f;
  for (int b = 0; b < batch; ++b) {
    const float w = per_frame ? weights[static_cast<std::size_t>(b) * frames + f] : weights[b];
    acc = __fadd_rn(acc, __fmul_rn(w, preds[b * plane + i]));
  }
  return acc;
}

__global__ void mix_kernel(const float* __restrict__ preds, const float* __restrict__ weights,
                           int batch, std::size_t plane, int frames, bool per_frame,
                           float* __restrict__ out) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < plane;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    out[i] = mixed_at(preds, weights, batch, plane, frames, per_frame, i);
  }
}

// x and x_out may alias (each element is read then written by the same thread).
__global__ void mix_euler_kernel(const float* x, const float* __restrict__ preds,
                                 const float* __restrict__ weights, int batch, std::size_t plane,
                                 int frames, bool per_frame, float h, float* x_out) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < plane;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const float v = mixed_at(preds, weights, batch, plane, frames, per_frame, i);
    x_out[i] = __fsub_rn(x[i], __fmul_rn(h, v));
  }
}

unsigned grid_for(std::size_t plane) {
  const std::size_t blocks = (plane + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65535 ? (blocks == 0 ? 1 : blocks) : 65535);
}

bool shape_ok(int batch, int n_mels, int frames) {
  return batch >= 1 && n_mels >= 1 && frames >= 1;
}

struct DeviceFree {
  void operator()(float* p) const noexcept { cudaFree(p); }
};
using DeviceBuffer = std::unique_ptr<float, DeviceFree>;

DeviceBuffer device_copy(const float* host, std::size_t n) {
  float* p = nullptr;
  cudaError_t err = cudaMalloc(&p, n * sizeof(float));
  if (err != cudaSuccess) throw std::runtime_error(std::string("cudaMalloc: ") + cudaGetErrorString(err));
  DeviceBuffer buf(p);
  if (host != nullptr) {
    err = cudaMemcpy(p, host, n * sizeof(float), cudaMemcpyHostToDevice);
    if (err != cudaSuccess) throw std::runtime_error(std::string("cudaMemcpy: ") + cudaGetErrorString(err));
  }
  return buf;
}

struct Discovery {
  int count = 0;
  cudaError_t error = cudaSuccess;
};

// Runtime initialisation is done once: it loads the driver lazily (cudart is static), and a missing
// driver or device is an ordinary answer here, never a crash.
const Discovery& discover() noexcept {
  static Discovery d;
  static std::once_flag once;
  std::call_once(once, [] {
    d.error = cudaGetDeviceCount(&d.count);
    if (d.error != cudaSuccess) {
      d.count = 0;
      cudaGetLastError();  // clear it so later runtime calls start clean
    }
  });
  return d;
}

}  // namespace

bool cuda_available() noexcept { return discover().count > 0; }

int cuda_device_count() noexcept { return discover().count; }

std::string cuda_status() {
  const Discovery& d = discover();
  if (d.count == 0) {
    return std::string("no device (") +
           (d.error != cudaSuccess ? cudaGetErrorString(d.error) : "no CUDA device visible") + ")";
  }
  cudaDeviceProp prop{};
  std::string name = cudaGetDeviceProperties(&prop, 0) == cudaSuccess ? prop.name : "unknown";
  return std::to_string(d.count) + " device(s): " + name;
}

const char* cuda_error_string(int status) noexcept {
  if (status == kCudaNotBuilt) return "CUDA support was not built";
  return cudaGetErrorString(static_cast<cudaError_t>(status));
}

namespace cuda {

int launch_mix(const float* preds, const float* weights, int batch, int n_mels, int frames,
               bool per_frame, float* out, void* stream) noexcept {
  if (!shape_ok(batch, n_mels, frames)) return cudaErrorInvalidValue;
  const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
  mix_kernel<<<grid_for(plane), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      preds, weights, batch, plane, frames, per_frame, out);
  return cudaGetLastError();
}

int launch_mix_euler(const float* x, const float* preds, const float* weights, int batch,
                     int n_mels, int frames, bool per_frame, float h, float* x_out,
                     void* stream) noexcept {
  if (!shape_ok(batch, n_mels, frames)) return cudaErrorInvalidValue;
  const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
  mix_euler_kernel<<<grid_for(plane), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      x, preds, weights, batch, plane, frames, per_frame, h, x_out);
  return cudaGetLastError();
}

void mix_euler_host(const float* x, const float* preds, const float* weights, int batch,
                    int n_mels, int frames, bool per_frame, double h, float* x_out) {
  if (!cuda_available()) throw Unavailable("no CUDA device: " + cuda_status());
  if (!shape_ok(batch, n_mels, frames)) {
    throw InvalidArgument("mix_euler: batch, n_mels and frames must be >= 1");
  }
  const std::size_t plane = static_cast<std::size_t>(n_mels) * frames;
  const std::size_t n_weights = static_cast<std::size_t>(batch) * (per_frame ? frames : 1);
  DeviceBuffer d_x = device_copy(x, plane);
  DeviceBuffer d_preds = device_copy(preds, batch * plane);
  DeviceBuffer d_w = device_copy(weights, n_weights);
  int status = launch_mix_euler(d_x.get(), d_preds.get(), d_w.get(), batch, n_mels, frames,
                                per_frame, static_cast<float>(h), d_x.get(), nullptr);
  if (status == cudaSuccess) status = cudaDeviceSynchronize();
  if (status == cudaSuccess) {
    status = cudaMemcpy(x_out, d_x.get(), plane * sizeof(float), cudaMemcpyDeviceToHost);
  }
  if (status != cudaSuccess) {
    throw std::runtime_error(std::string("CUDA mix_euler: ") + cuda_error_string(status));
  }
}

}  // namespace cuda
}  // namespace emomix
