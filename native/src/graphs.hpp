// Internal: the three network graphs, each with its own workspace. Used by Session only.
// Activations use the [channels][items * frames] layout of tensor.hpp.
#pragma once

#include <cstdint>
#include <vector>

#include "emomix/kernels.hpp"
#include "emomix/model.hpp"
#include "emomix/tensor.hpp"
#include "emomix/thread_pool.hpp"

namespace emomix::detail {

// Shared helpers over the [C][N] layout.
inline float* rows(Tensor& t, int r, std::size_t cols) {
  return t.reshape(r, static_cast<int>(cols));
}

class EncoderGraph {
 public:
  explicit EncoderGraph(const Model& m) : m_(m) {}
  // ids [T] -> mu_phone [C, T], log_dur [T].
  void run(ThreadPool* pool, const std::int64_t* ids, int T, const float* emotion,
           const float* speaker, float* mu_phone, float* log_dur);
  std::size_t bytes() const noexcept;

 private:
  const Model& m_;
  Tensor x_, a_, b_, qkv_, col_, scratch_, attn_;
  std::vector<float> cond_, vec_;
};

class DenoiserGraph {
 public:
  explicit DenoiserGraph(const Model& m);
  // Sizes every buffer for `batch` items of `frames` frames (no allocation in run() afterwards).
  void reserve(int batch, int frames, int threads);
  // x [B, C, F], t [B], mu [C, F], emotions [B, E], speakers [B, S] -> out [B, C, F].
  void run(ThreadPool* pool, const float* x, const float* t, const float* mu,
           const float* emotions, const float* speakers, int batch, int frames, float* out);
  std::size_t bytes() const noexcept;

 private:
  void res_block(ThreadPool* pool, const ResBlockW& w, Tensor& x, int items, int frames);
  void transformer_block(ThreadPool* pool, const TransformerBlockW& w, Tensor& x, int items,
                         int frames);
  const Model& m_;
  int max_rows_ = 0, max_col_rows_ = 0;
  Tensor h_, a_, b_, c_, col_, scratch_, attn_, out_;
  std::vector<Tensor> skips_;
  Tensor temb_, t1_, cond_, ctmp_, film_, emo_t_, spk_t_;
};

class VocoderGraph {
 public:
  explicit VocoderGraph(const Model& m);
  // The network on mel columns [a, b) of mel [C, F] (zero padding outside [a, b)), then the
  // inverse STFT for the samples of frames [out_begin, out_end) (a <= out_begin, out_end <= b).
  void run(ThreadPool* pool, const float* mel, int frames, int a, int b, int out_begin,
           int out_end, float* out);
  int context() const noexcept;
  std::size_t bytes() const noexcept;

 private:
  void spectrum_to_frames(ThreadPool* pool, const float* spec, int n, float* frames);
  const Model& m_;
  int n_fft_, hop_, bins_;
  bool use_fft_;
  std::vector<float> window_, window_sq_;
  std::vector<float> tw_re_, tw_im_;    // FFT twiddles of every stage, n_fft - 1 used
  std::vector<int> bitrev_;
  std::vector<float> basis_;            // dense iDFT basis [n_fft][2 bins] when n_fft is not 2^k
  Tensor x_, h_, a_, col_, scratch_, spec_, frames_, fft_;
};

class SerGraph {
 public:
  explicit SerGraph(const Model& m) : m_(m) {}
  // logmel [C, F] (normalised) -> embedding [E], logits [K].
  void run(ThreadPool* pool, const float* logmel, int frames, float* embedding, float* logits);
  std::size_t bytes() const noexcept;

 private:
  void lstm(const LstmW& w, const float* x, int frames, bool reverse, float* out, int out_ld);
  const Model& m_;
  Tensor a_, b_, col_, scratch_, gates_, seq_, att_;
  std::vector<float> h_, c_, g_, pooled_;
};

}  // namespace emomix::detail
