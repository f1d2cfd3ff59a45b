// emomix/kernels.hpp — CPU kernels of the networks (float32, row-major / C order).
//
// Matrix products go through a BLAS (OpenBLAS when found at configure time, run single-threaded
// per call and split over the runtime's own ThreadPool) or through a portable fallback GEMM.
// Everything else is a hand-written loop. Activations use the layout [channels][columns] with
// columns = batch * frames (see tensor.hpp); `items` is the batch size and `frames` the columns per
// item, so convolutions pad each item separately.
//
// A null ThreadPool runs single-threaded. No kernel allocates; scratch comes from the caller.
#pragma once

#include <cstddef>

#include "emomix/tensor.hpp"
#include "emomix/thread_pool.hpp"

namespace emomix {

// True when the build uses a BLAS library for gemm (false: the portable fallback).
bool blas_enabled() noexcept;
// "openblas" or "fallback".
const char* blas_name() noexcept;

// C = alpha * op(A) * op(B) + beta * C, row-major; op(A) is M x K, op(B) is K x N.
// lda/ldb/ldc are the row strides of A, B, C as stored. With a pool, large products are split
// over columns of C.
void gemm(ThreadPool* pool, bool trans_a, bool trans_b, int m, int n, int k, float alpha,
          const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc);
// The portable fallback, always available (tests compare the two).
void gemm_fallback(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                   int lda, const float* b, int ldb, float beta, float* c, int ldc) noexcept;

// y[o, j] = bias[o] + sum_i w[o, i] * x[i, j]: a 1x1 convolution or a linear layer.
// w [out, in] (a [out, in, 1] conv weight reads the same), x [in, cols], y [out, cols];
// bias may be null. y must not alias x.
void linear(ThreadPool* pool, const float* w, const float* bias, int out, int in, const float* x,
            int cols, float* y);

// 1-D convolution with zero "same"-style padding `pad`, stride `stride`, per item:
//   y[o, b, f] = bias[o] + sum_{i, j} w[o, i, j] * x[i, b, f * stride + j - pad]
// x [in][items * frames_in], y [out][items * frames_out] with
// frames_out = (frames_in + 2 pad - kernel) / stride + 1. `col` is scratch of
// in * kernel * items * frames_out floats (unused when kernel == 1 and stride == 1).
int conv_out_frames(int frames_in, int kernel, int stride, int pad) noexcept;
void conv1d(ThreadPool* pool, const float* w, const float* bias, int out, int in, int kernel,
            int stride, int pad, const float* x, int items, int frames_in, float* y, float* col);

// Depthwise conv (groups == channels), stride 1, no padding (callers pad the input):
//   y[c, f] = bias[c] + sum_j w[c, j] x[c, f + j],  f in [0, frames_out).
// w [channels, 1, kernel]; x [channels][>= frames_out + kernel - 1] with row stride ld_x;
// y [channels][frames_out], must not alias x.
void depthwise_conv1d_valid(ThreadPool* pool, const float* w, const float* bias, int channels,
                            int kernel, const float* x, std::size_t ld_x, int frames_out,
                            float* y);

// Layer norm over channels for every column (ChannelLayerNorm): in place allowed (y == x).
// x, y [channels][cols]; weight, bias [channels]. `scratch` holds 2 * cols floats.
void channel_layer_norm(ThreadPool* pool, const float* x, const float* weight, const float* bias,
                        int channels, int cols, float eps, float* y, float* scratch);

// Element-wise activations, in place over n floats.
void relu_inplace(float* x, std::size_t n) noexcept;
void silu_inplace(float* x, std::size_t n) noexcept;
void gelu_inplace(float* x, std::size_t n) noexcept;  // erf form, as torch's F.gelu (not tanh)

// y += x over n floats; y = a + b.
void add_inplace(float* y, const float* x, std::size_t n) noexcept;

// Vocoder head to spectrum, in place over n floats: m = exp(min(log_mag, log_mag_max));
// log_mag <- m cos(phase), phase <- m sin(phase).
void polar_inplace(float* log_mag, float* phase, std::size_t n, float log_mag_max) noexcept;

// FiLM per item: x[c, b, f] = x[c, b, f] * (1 + film[c, b]) + film[channels + c, b],
// film [2 * channels][items] (a linear layer's output over the items' condition columns:
// scale rows, then shift rows).
void film_inplace(float* x, const float* film, int channels, int items, int frames) noexcept;

// Nearest-neighbour x2 upsampling along frames, per item, keeping frames_out columns per item:
// y[c, b, f] = x[c, b, f / 2] for f < frames_out (frames_out <= 2 * frames_in).
void upsample2_nearest(const float* x, int channels, int items, int frames_in, int frames_out,
                       float* y) noexcept;

// Multi-head self-attention core for `items` items of `frames` frames, all keys valid:
//   qkv [3 * channels][items * frames] (q, k, v stacked by rows; head h = rows h*hd .. h*hd+hd-1)
//   y   [channels][items * frames] = per head softmax(q^T k * hd^-0.5) applied to v.
// scratch: pool threads * frames * frames floats.
void attention(ThreadPool* pool, const float* qkv, int channels, int heads, int items, int frames,
               float* y, float* scratch);
// Scratch floats attention() needs.
std::size_t attention_scratch(int threads, int frames) noexcept;

// Sinusoidal features of t: out[i] = sin(scale * t * w_i), out[half + i] = cos(...),
// w_i = exp(-ln(10000) * i / max(half - 1, 1)); dim even.
void sinusoidal_embedding(float t, int dim, float scale, float* out) noexcept;

}  // namespace emomix
