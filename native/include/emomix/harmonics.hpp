// emomix/harmonics.hpp — pitch → harmonic fine structure of the mel: the C++ mirror of
// emomix.harmonics (frame_pitch, render_harmonics), which documents the method.
//
// A voice with a pitch predictor (model.config.pitch.enabled) predicts per phoneme and per
// condition ln(F0 / kF0RefHz) and a voicing logit. frame_pitch() mixes them over the conditions
// with each frame's weights and smooths them into per-frame F0 (Hz) and voicing; render_harmonics()
// puts the harmonics of that F0 into the sampler's normalised mel:
//   out = gaussian_bands(mel, envelope_sigma) + voicing * ln r(F0) / mel_std
// where r_m(F0) is mel band m of a comb of Hann main lobes at k F0 (harmonic_floor of noise
// between them) against a flat spectrum of the same mean power. Both compute in float64 like the
// numpy reference and agree with it to about 1e-6 on the output mel.
//
// Nothing here allocates once a HarmonicsWorkspace has grown to the line's size; a workspace is
// used by one thread at a time. Shapes (C order): C = n_mels, F = frames, T = phonemes,
// M = conditions, bins = n_fft / 2 + 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "emomix/model.hpp"

namespace emomix {

// Constants of emomix.harmonics (F0_REF_HZ, SMOOTH_FRAMES, _LOBE_BINS); the Python tests check
// that the two agree.
inline constexpr double kF0RefHz = 100.0;   // channel 0 of the predictor is ln(F0 / kF0RefHz)
inline constexpr int kPitchSmoothFrames = 2;  // F0 and voicing are averaged over ±this many frames
inline constexpr int kHannLobeBins = 4;     // bins each side of a harmonic that its lobe reaches

// The mel filterbank [C, bins], float64, exactly as emomix.features.mel_filterbank (triangles on
// audio.mel_scale over [f_min, f_max], slaney area normalisation).
std::vector<double> mel_filterbank(const AudioParams& audio);

// Scratch of frame_pitch() and render_harmonics(); buffers grow to the largest line and are kept.
class HarmonicsWorkspace {
 public:
  std::size_t bytes() const noexcept;

 private:
  friend void frame_pitch(const float*, int, int, const std::int64_t*, const float*, bool, int,
                          const PitchParams&, HarmonicsWorkspace&, double*, double*);
  friend void render_harmonics(const float*, int, const double*, const double*,
                               const AudioParams&, const PitchParams&, const std::vector<double>&,
                               HarmonicsWorkspace&, float*);
  std::vector<double> mixed_;   // [2, F] frame_pitch: ln F0 and voicing before smoothing
  std::vector<double> env_;     // [C, F] render_harmonics: the band-smoothed mel
  std::vector<double> comb_;    // [bins] one frame's harmonic comb
  std::vector<double> kernel_;  // the Gaussian across bands
  std::vector<int> band_;       // [C, 2] each band's non-zero bins [lo, hi)
};

// emomix.harmonics.frame_pitch: per-frame f0 [F] (Hz, clamped to [f0_min, f0_max]) and voicing
// [F] (in [0, 1]) of a line.
//   pitch     [M, 2, T] the predictor's output for each condition
//   durations [T] frames per phoneme (>= 0), summing to `frames`
//   weights   [M] (per_frame false) or [M, F]: the conditions' weights at the sampler's last step
// Throws InvalidArgument when the durations do not sum to `frames` or a size is not positive.
void frame_pitch(const float* pitch, int conditions, int phonemes, const std::int64_t* durations,
                 const float* weights, bool per_frame, int frames, const PitchParams& params,
                 HarmonicsWorkspace& workspace, double* f0, double* voicing);

// emomix.harmonics.render_harmonics: the sampler's normalised mel [C, F] with the harmonics of
// f0 [F] (Hz) put in, scaled by voicing [F]; out [C, F] float32 may alias mel. `filterbank` is
// mel_filterbank(audio) (Model::mel_filterbank()). Throws InvalidArgument when frames < 1 or the
// filterbank does not fit `audio`.
void render_harmonics(const float* mel, int frames, const double* f0, const double* voicing,
                      const AudioParams& audio, const PitchParams& params,
                      const std::vector<double>& filterbank, HarmonicsWorkspace& workspace,
                      float* out);

}  // namespace emomix
