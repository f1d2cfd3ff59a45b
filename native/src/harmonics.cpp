// Pitch → harmonics of the mel (emomix.harmonics), in float64 like the numpy reference.
#include "emomix/harmonics.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "emomix/error.hpp"

namespace emomix {

namespace {

constexpr double kPi = 3.14159265358979323846;

// emomix.features.hz_to_mel / mel_to_hz.
constexpr double kSlaneyHzPerMel = 200.0 / 3.0, kSlaneyMinLogHz = 1000.0;

double hz_to_mel(double f, MelScale scale) {
  if (scale == MelScale::htk) return 2595.0 * std::log10(1.0 + f / 700.0);
  const double min_log_mel = kSlaneyMinLogHz / kSlaneyHzPerMel, logstep = std::log(6.4) / 27.0;
  if (f >= kSlaneyMinLogHz) return min_log_mel + std::log(f / kSlaneyMinLogHz) / logstep;
  return f / kSlaneyHzPerMel;
}

double mel_to_hz(double m, MelScale scale) {
  if (scale == MelScale::htk) return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0);
  const double min_log_mel = kSlaneyMinLogHz / kSlaneyHzPerMel, logstep = std::log(6.4) / 27.0;
  if (m >= min_log_mel) return kSlaneyMinLogHz * std::exp(logstep * (m - min_log_mel));
  return kSlaneyHzPerMel * m;
}

// numpy.linspace(start, stop, n)[i]: start + i * step, the last point exactly stop.
double linspace_at(double start, double stop, int n, int i) {
  if (i == n - 1) return stop;
  return static_cast<double>(i) * ((stop - start) / (n - 1)) + start;
}

// Power of a periodic Hann window's spectrum x bins from a sinusoid, given s = sin(pi x); zero
// for |x| >= kHannLobeBins. The amplitude sinc(x)/2 + (sinc(x - 1) + sinc(x + 1))/4 is
// s / (2 pi x (1 - x^2)) since sin(pi (x -+ 1)) = -s: 1/2 at x = 0 and 1/4 at x = +-1. One
// harmonic's bins lie whole bins apart, so the caller evaluates one sine per harmonic (this is
// the rendering's inner loop: about eight bins per harmonic, up to a hundred per frame). The
// numpy reference evaluates the same expression.
double hann_lobe(double x, double s) {
  if (!(std::fabs(x) < kHannLobeBins)) return 0.0;
  const double den = 2.0 * kPi * x * (1.0 - x * x);
  const double w = den == 0.0 ? (x == 0.0 ? 0.5 : 0.25) : s / den;
  return w * w;
}

// Moving average over ±radius with the edge values repeated beyond the ends: x [n] -> y [n].
void smooth_frames(const double* x, int n, int radius, double* y) {
  const double width = 2.0 * radius + 1.0;
  for (int f = 0; f < n; ++f) {
    double s = 0.0;
    for (int j = f - radius; j <= f + radius; ++j) s += x[std::clamp(j, 0, n - 1)];
    y[f] = s / width;
  }
}

template <typename T>
void grow(std::vector<T>& v, std::size_t n) {
  if (v.size() < n) v.resize(n);
}

}  // namespace

std::vector<double> mel_filterbank(const AudioParams& a) {
  const int bins = a.n_fft / 2 + 1, C = a.n_mels;
  std::vector<double> hz(static_cast<std::size_t>(C) + 2);
  const double lo = hz_to_mel(a.f_min, a.mel_scale), hi = hz_to_mel(a.f_max, a.mel_scale);
  for (int i = 0; i < C + 2; ++i) {
    hz[static_cast<std::size_t>(i)] = mel_to_hz(linspace_at(lo, hi, C + 2, i), a.mel_scale);
  }
  std::vector<double> fb(static_cast<std::size_t>(C) * bins);
  for (int m = 0; m < C; ++m) {
    const double left = hz[m], centre = hz[m + 1], right = hz[m + 2];
    const double area = 2.0 / (right - left);
    for (int k = 0; k < bins; ++k) {
      const double f = linspace_at(0.0, a.sample_rate / 2.0, bins, k);
      const double lower = -(left - f) / (centre - left);
      const double upper = (right - f) / (right - centre);
      fb[static_cast<std::size_t>(m) * bins + k] = std::max(0.0, std::min(lower, upper)) * area;
    }
  }
  return fb;
}

std::size_t HarmonicsWorkspace::bytes() const noexcept {
  return (mixed_.capacity() + env_.capacity() + comb_.capacity() + kernel_.capacity()) *
             sizeof(double) +
         band_.capacity() * sizeof(int);
}

void frame_pitch(const float* pitch, int conditions, int phonemes, const std::int64_t* durations,
                 const float* weights, bool per_frame, int frames, const PitchParams& params,
                 HarmonicsWorkspace& ws, double* f0, double* voicing) {
  if (conditions < 1 || phonemes < 1 || frames < 1) {
    throw InvalidArgument("frame_pitch needs M, T, F >= 1, got M=" + std::to_string(conditions) +
                          ", T=" + std::to_string(phonemes) + ", F=" + std::to_string(frames));
  }
  std::int64_t total = 0;
  for (int t = 0; t < phonemes; ++t) {
    if (durations[t] < 0) throw InvalidArgument("durations must be >= 0");
    total += durations[t];
  }
  if (total != frames) {
    throw InvalidArgument("durations sum to " + std::to_string(total) +
                          " frames but the line has " + std::to_string(frames));
  }
  const std::size_t F = static_cast<std::size_t>(frames), T = static_cast<std::size_t>(phonemes);
  grow(ws.mixed_, 2 * F);
  double* log_f0 = ws.mixed_.data();
  double* p = log_f0 + F;
  std::size_t f = 0;
  for (std::size_t t = 0; t < T; ++t) {
    for (std::int64_t r = 0; r < durations[t]; ++r, ++f) {
      double lf = 0.0, v = 0.0;
      for (int m = 0; m < conditions; ++m) {
        const double w = weights[per_frame ? m * F + f : static_cast<std::size_t>(m)];
        const float* row = pitch + static_cast<std::size_t>(m) * 2 * T;
        lf += w * static_cast<double>(row[t]);
        v += w / (1.0 + std::exp(-static_cast<double>(row[T + t])));
      }
      log_f0[f] = lf;
      p[f] = v;
    }
  }
  smooth_frames(log_f0, frames, kPitchSmoothFrames, f0);
  smooth_frames(p, frames, kPitchSmoothFrames, voicing);
  for (f = 0; f < F; ++f) {
    voicing[f] = std::clamp(voicing[f], 0.0, 1.0);
    f0[f] = std::clamp(kF0RefHz * std::exp(f0[f]), params.f0_min, params.f0_max);
  }
}

void render_harmonics(const float* mel, int frames, const double* f0, const double* voicing,
                      const AudioParams& a, const PitchParams& params,
                      const std::vector<double>& filterbank, HarmonicsWorkspace& ws, float* out) {
  const int C = a.n_mels, bins = a.n_fft / 2 + 1;
  if (frames < 1) throw InvalidArgument("render_harmonics needs at least one frame");
  if (filterbank.size() != static_cast<std::size_t>(C) * bins) {
    throw InvalidArgument("the mel filterbank has " + std::to_string(filterbank.size()) +
                          " entries; expected n_mels * (n_fft / 2 + 1) = " +
                          std::to_string(static_cast<std::size_t>(C) * bins));
  }
  const std::size_t F = static_cast<std::size_t>(frames);
  grow(ws.env_, static_cast<std::size_t>(C) * F);
  grow(ws.comb_, static_cast<std::size_t>(bins));
  grow(ws.band_, 2 * static_cast<std::size_t>(C));
  double* env = ws.env_.data();
  double* comb = ws.comb_.data();

  // The envelope: a Gaussian across bands, the edge bands repeated beyond the edges. It is
  // complete before `out` is written, so out may alias mel.
  const double sigma = params.envelope_sigma;
  if (sigma > 0.0) {
    const int radius = static_cast<int>(std::ceil(3.0 * sigma));
    grow(ws.kernel_, 2 * static_cast<std::size_t>(radius) + 1);
    double* k = ws.kernel_.data();
    double sum = 0.0;
    for (int i = -radius; i <= radius; ++i) {
      const double z = i / sigma;
      k[i + radius] = std::exp(-0.5 * z * z);
      sum += k[i + radius];
    }
    for (int i = 0; i <= 2 * radius; ++i) k[i] /= sum;
    std::fill(env, env + static_cast<std::size_t>(C) * F, 0.0);
    for (int c = 0; c < C; ++c) {
      double* row = env + static_cast<std::size_t>(c) * F;
      for (int i = -radius; i <= radius; ++i) {
        const float* src = mel + static_cast<std::size_t>(std::clamp(c + i, 0, C - 1)) * F;
        const double w = k[i + radius];
        for (std::size_t f = 0; f < F; ++f) row[f] += static_cast<double>(src[f]) * w;
      }
    }
  } else {
    for (std::size_t i = 0; i < static_cast<std::size_t>(C) * F; ++i) env[i] = mel[i];
  }

  // Each band's non-zero bins: the comb's product with the filterbank skips the zeros.
  int* band = ws.band_.data();
  for (int m = 0; m < C; ++m) {
    const double* row = filterbank.data() + static_cast<std::size_t>(m) * bins;
    int lo = 0, hi = bins;
    while (lo < bins && row[lo] == 0.0) ++lo;
    while (hi > lo && row[hi - 1] == 0.0) --hi;
    band[2 * m] = lo;
    band[2 * m + 1] = hi;
  }

  const double df = static_cast<double>(a.sample_rate) / a.n_fft;
  const int top = static_cast<int>(a.f_max / df);  // the comb's mean is over bins 0..top
  const int mean_bins = std::min(top + 1, bins);
  // Harmonics 1..H with H from the lowest F0 of the line, as the reference sizes its comb.
  double lowest = f0[0];
  for (std::size_t f = 1; f < F; ++f) lowest = std::min(lowest, f0[f]);
  if (!(lowest >= 1.0)) lowest = 1.0;
  const int harmonics = std::max(static_cast<int>(std::floor(a.f_max / lowest)) + 1, 1);
  const double floor = params.harmonic_floor;

  for (std::size_t f = 0; f < F; ++f) {
    std::fill(comb, comb + bins, 0.0);
    for (int h = 1; h <= harmonics; ++h) {
      const double centre = static_cast<double>(h) * f0[f] / df;
      if (!(centre <= top + kHannLobeBins)) break;  // centres grow with h (and NaN stops here)
      const double base = std::floor(centre);
      const double frac = centre - base;
      // bin base + o is x = o - frac bins away (= j - centre exactly): sin(pi x) = (-1)^o s0
      const double s0 = std::sin(-kPi * frac);
      for (int o = -kHannLobeBins + 1; o <= kHannLobeBins; ++o) {
        const double j = base + o;
        if (j < 0.0 || j >= bins) continue;
        comb[static_cast<int>(j)] += hann_lobe(o - frac, (o & 1) ? -s0 : s0);
      }
    }
    double mean = 0.0;
    for (int k = 0; k < mean_bins; ++k) mean += comb[k];
    mean = std::max(mean / mean_bins, 1e-12);
    for (int k = 0; k < bins; ++k) comb[k] = comb[k] / mean + floor;
    for (int m = 0; m < C; ++m) {
      const double* row = filterbank.data() + static_cast<std::size_t>(m) * bins;
      double num = 0.0, den = 0.0;
      for (int k = band[2 * m]; k < band[2 * m + 1]; ++k) {
        num += comb[k] * row[k];
        den += row[k];
      }
      const double r = std::max(num / (den * (1.0 + floor)), 1e-12);
      const std::size_t i = static_cast<std::size_t>(m) * F + f;
      out[i] = static_cast<float>(env[i] + voicing[f] * std::log(r) / a.mel_std);
    }
  }
}

}  // namespace emomix
