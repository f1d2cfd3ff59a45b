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

// The text encoder: states() computes a line's final encoder states (TextEncoder.states) and keeps
// them; the heads read the states of the last states() call, so one line's states serve both the
// mu/duration head and the pitch head of several conditions.
class EncoderGraph {
 public:
  explicit EncoderGraph(const Model& m) : m_(m) {}
  // ids [T] -> the states [hidden, T], kept for the heads.
  void states(ThreadPool* pool, const std::int64_t* ids, int T);
  // Heads on the kept states: emotion [E], speaker [S] -> mu_phone [C, T], log_dur [T].
  void mu_and_durations(ThreadPool* pool, const float* emotion, const float* speaker,
                        float* mu_phone, float* log_dur);
  // emotions [M, E], speakers [M, S] -> out [M, 2, T]: ln(F0 / 100 Hz) and the voicing logit per
  // condition (the model must have a pitch predictor).
  void pitch(ThreadPool* pool, const float* emotions, const float* speakers, int M, float* out);
  std::size_t bytes() const noexcept;

 private:
  // A phone-level predictor (the duration head, the pitch head) on the kept states for M
  // conditions: hidden `ph` channels, kernel `k` -> out [M, outputs, T].
  void predict(ThreadPool* pool, const PredictorW& w, int ph, int k, int outputs,
               const float* emotions, const float* speakers, int M, float* out);
  const Model& m_;
  int T_ = 0;  // phonemes of the kept states
  Tensor x_, a_, b_, qkv_, col_, scratch_, attn_, cond_;
  std::vector<float> vec_;
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

// Frames [lo, lo + len) of a [rows][frames] signal, each row stored with stride cap: what a
// streaming layer keeps of its input between calls.
struct FrameWindow {
  std::vector<float> data;
  int rows = 0, cap = 0, lo = 0, len = 0;
  int hi() const noexcept { return lo + len; }
  void reset(int r) noexcept {
    rows = r;
    lo = 0;
    len = 0;
  }
  // Appends n frames: src rows with stride ld.
  void append(const float* src, std::size_t ld, int n);
  // Forgets the frames before `frame`.
  void drop_before(int frame) noexcept;
  // Frames [a, b) into dst (rows with stride ld); frames before 0 or from hi() on are zeros (the
  // line's padding), frames already dropped must not be asked for.
  void read(int a, int b, float* dst, std::size_t ld) const noexcept;
};

// One line's streaming vocoder state: the mel not yet consumed, each ConvNeXt level's recent
// frames and the inverse-STFT frames still overlapping unsent samples.
struct VocoderState {
  FrameWindow mel;                  // [n_mels] frames pushed, from what level 0 still needs
  std::vector<FrameWindow> levels;  // levels[l]: input of block l ([dim] rows)
  std::vector<float> ola;           // time-domain frames [ola_lo, ola_lo + ola_len), n_fft each
  int ola_lo = 0, ola_len = 0;
  int done = 0;                     // frames whose samples were pulled
  bool ended = false;               // no more mel will come
  void reset(int n_mels, int dim, int n_layers);
  // Frames [0, k) whose samples the mel pushed determines, for a vocoder with this lookahead.
  int ready_end(int lookahead) const noexcept {
    return ended ? mel.hi() : (mel.hi() > lookahead ? mel.hi() - lookahead : 0);
  }
};

// Mel frames past frame f that f's samples depend on: the convolutions' reach to the right plus
// the inverse STFT's.
int vocoder_lookahead(const ModelConfig& c) noexcept;

class VocoderGraph {
 public:
  explicit VocoderGraph(const Model& m);
  // Whole line: mel [C, F] -> out [F * hop] (a stream pushed, ended and pulled at once).
  void run(ThreadPool* pool, const float* mel, int frames, float* out);
  // Streaming: the samples of frames [s.done, s.done + k) where k <= max_frames is as many as
  // the mel pushed so far determines (all remaining ones once s.ended); returns k. Every frame of
  // every layer is computed once, so chunked output equals run() up to float rounding.
  int pull(ThreadPool* pool, VocoderState& s, int max_frames, float* out);
  std::size_t bytes() const noexcept;
  const Model& model() const noexcept { return m_; }

 private:
  void spectrum_to_frames(ThreadPool* pool, const float* spec, int n, float* frames);
  const Model& m_;
  int n_fft_, hop_, bins_, trim_;
  bool use_fft_;
  std::vector<float> window_, window_sq_;
  std::vector<float> tw_re_, tw_im_;    // FFT twiddles of every stage, n_fft - 1 used
  std::vector<int> bitrev_;
  std::vector<float> basis_;            // dense iDFT basis [n_fft][2 bins] when n_fft is not 2^k
  Tensor x_, h_, a_, col_, scratch_, spec_, fft_;
  std::vector<int> targets_;            // pull(): frames each level must reach
  int lookahead_ = 0;                   // vocoder_lookahead(config)
  VocoderState whole_;                  // run()'s state, kept for its buffers
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
