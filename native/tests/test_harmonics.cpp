// The harmonic rendering (emomix/harmonics.hpp) against values derived by hand: the filterbank's
// triangles, a comb whose F0 sits on bin centres (Hann lobe powers 1/4, 1/16, 0 at offsets 0, 1, 2+),
// bands without a harmonic at the floor, wide bands near a flat spectrum, the Gaussian envelope,
// and frame_pitch's mixing, smoothing and clamping. The numpy parity is tests/test_native_pitch.py.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "emomix/error.hpp"
#include "emomix/harmonics.hpp"
#include "harness.hpp"

namespace {

// 16 kHz, n_fft 512: bins 31.25 Hz apart, 257 of them; 40 mel bands over [0, 8000] Hz.
emomix::AudioParams audio(emomix::MelScale scale) {
  emomix::AudioParams a;
  a.sample_rate = 16000;
  a.n_fft = 512;
  a.hop_length = 128;
  a.win_length = 512;
  a.n_mels = 40;
  a.f_min = 0.0;
  a.f_max = 8000.0;
  a.mel_std = 2.0;
  a.mel_scale = scale;
  return a;
}

emomix::PitchParams pitch_params(double sigma) {
  emomix::PitchParams p;
  p.enabled = true;
  p.hidden = 8;
  p.kernel = 3;
  p.harmonic_floor = 0.05;
  p.envelope_sigma = sigma;
  p.f0_min = 60.0;
  p.f0_max = 500.0;
  return p;
}

constexpr int kBins = 257;
constexpr double kDf = 31.25;

}  // namespace

TEST(harmonics_filterbank_is_area_normalised_triangles) {
  for (emomix::MelScale scale : {emomix::MelScale::slaney, emomix::MelScale::htk}) {
    const emomix::AudioParams a = audio(scale);
    const std::vector<double> fb = emomix::mel_filterbank(a);
    REQUIRE(fb.size() == static_cast<std::size_t>(a.n_mels) * kBins);
    int prev_peak = -1;
    for (int m = 0; m < a.n_mels; ++m) {
      const double* row = fb.data() + static_cast<std::size_t>(m) * kBins;
      int peak = 0, lo = kBins, hi = -1;
      double sum = 0;
      for (int k = 0; k < kBins; ++k) {
        CHECK(row[k] >= 0.0);
        if (row[k] > row[peak]) peak = k;
        if (row[k] > 0) {
          lo = std::min(lo, k);
          hi = k;
        }
        sum += row[k];
      }
      CHECK(peak > prev_peak);  // centres ascend
      prev_peak = peak;
      // one triangle: rising to the peak, falling after it
      for (int k = lo; k < peak; ++k) CHECK(row[k] <= row[k + 1]);
      for (int k = peak; k < hi; ++k) CHECK(row[k] >= row[k + 1]);
      // area 1 in Hz (slaney normalisation), sampled every df: the wider the band, the closer
      if (hi - lo >= 4) CHECK_NEAR(sum * kDf, 1.0, 0.05);
      if (hi - lo >= 8) CHECK_NEAR(sum * kDf, 1.0, 0.01);
    }
  }
  // the slaney scale is linear below 1 kHz: the first bands are equally wide (13 triangles of
  // 8000 Hz's 45.25 slaney mels / 41 = 73.6 Hz steps reach 1 kHz)
  const emomix::AudioParams a = audio(emomix::MelScale::slaney);
  const std::vector<double> fb = emomix::mel_filterbank(a);
  const double step = (15.0 + std::log(8.0) / (std::log(6.4) / 27.0)) / 41.0 * 200.0 / 3.0;
  for (int m = 0; m < 10; ++m) {
    // the triangle's peak value is 2 / (right - left) = 1 / step, reached only at the centre
    double peak = 0;
    const double* row = fb.data() + static_cast<std::size_t>(m) * kBins;
    for (int k = 0; k < kBins; ++k) peak = std::max(peak, row[k]);
    CHECK(peak <= 1.0 / step + 1e-12);
    const double centre = (m + 1) * step;
    const int k = static_cast<int>(std::lround(centre / kDf));
    const double expected = (1.0 - std::fabs(k * kDf - centre) / step) / step;
    CHECK_NEAR(row[k], expected, 1e-12);
  }
}

TEST(harmonics_comb_on_bin_centres) {
  // F0 = 8 bins = 250 Hz: every harmonic's centre is a bin, so the periodic Hann window's power
  // spectrum puts (1/2)^2 on it, (1/4)^2 on each neighbour and 0 further out (sinc at integers).
  for (emomix::MelScale scale : {emomix::MelScale::slaney, emomix::MelScale::htk}) {
    const emomix::AudioParams a = audio(scale);
    const emomix::PitchParams p = pitch_params(0.0);
    const std::vector<double> fb = emomix::mel_filterbank(a);
    const int q = 8, top = 256;
    std::vector<double> comb(kBins, 0.0);
    for (int h = 1; h * q <= top + emomix::kHannLobeBins && h <= 8000 / 250 + 1; ++h) {
      for (int o = -1; o <= 1; ++o) {
        const int k = h * q + o;
        if (k >= 0 && k < kBins) comb[static_cast<std::size_t>(k)] += o == 0 ? 0.25 : 0.0625;
      }
    }
    double mean = 0;
    for (int k = 0; k <= top; ++k) mean += comb[static_cast<std::size_t>(k)];
    mean /= top + 1;

    const int F = 3;
    std::vector<float> mel(static_cast<std::size_t>(a.n_mels) * F, 0.0f), out(mel.size());
    const std::vector<double> f0(F, q * kDf), voicing = {1.0, 0.5, 0.0};
    emomix::HarmonicsWorkspace ws;
    emomix::render_harmonics(mel.data(), F, f0.data(), voicing.data(), a, p, fb, ws, out.data());
    const double fl = p.harmonic_floor;
    int floor_bands = 0, wide_bands = 0;
    for (int m = 0; m < a.n_mels; ++m) {
      const double* row = fb.data() + static_cast<std::size_t>(m) * kBins;
      double num = 0, den = 0, left = -1, right = -1;
      bool lobe = false;
      for (int k = 0; k < kBins; ++k) {
        num += row[k] * (comb[static_cast<std::size_t>(k)] / mean + fl);
        den += row[k];
        if (row[k] > 0 && left < 0) left = (k - 1) * kDf;
        if (row[k] > 0) right = (k + 1) * kDf;
        lobe |= row[k] > 0 && comb[static_cast<std::size_t>(k)] > 0;
      }
      const double expected = std::log(num / (den * (1.0 + fl))) / a.mel_std;
      const float* o = out.data() + static_cast<std::size_t>(m) * F;
      CHECK_NEAR(o[0], expected, 1e-5);
      CHECK_NEAR(o[1], 0.5 * expected, 1e-5);  // voicing scales the modulation
      CHECK(o[2] == 0.0f);                     // unvoiced: the (unsmoothed) mel as it is
      if (!lobe) {
        // no lobe in the band: the noise floor against the flat spectrum of the same power
        CHECK_NEAR(o[0], std::log(fl / (1.0 + fl)) / a.mel_std, 1e-6);
        ++floor_bands;
      }
      if (right - left >= 4 * q * kDf) {  // four harmonics or more in the band: nearly flat
        CHECK(std::fabs(o[0] * a.mel_std) < 0.1);
        ++wide_bands;
      }
    }
    CHECK(floor_bands > 0 && wide_bands > 0);
  }
}

TEST(harmonics_envelope_is_a_normalised_gaussian_across_bands) {
  const emomix::AudioParams a = audio(emomix::MelScale::slaney);
  const std::vector<double> fb = emomix::mel_filterbank(a);
  const int F = 2, C = a.n_mels;
  const double sigma = 1.5;
  const int radius = 5;  // ceil(3 sigma)
  const std::vector<double> f0(F, 120.0), unvoiced(F, 0.0);
  emomix::HarmonicsWorkspace ws;
  // frame 0: constant across bands (unchanged, edges included); frame 1: a unit impulse at band
  // 20 (the kernel exp(-i^2 / 2 sigma^2) / sum, no wider than the radius)
  std::vector<float> mel(static_cast<std::size_t>(C) * F, 0.0f), out(mel.size());
  for (int c = 0; c < C; ++c) mel[static_cast<std::size_t>(c) * F] = 1.75f;
  mel[20 * F + 1] = 1.0f;
  double sum = 0;
  for (int i = -radius; i <= radius; ++i) sum += std::exp(-0.5 * i * i / (sigma * sigma));
  emomix::render_harmonics(mel.data(), F, f0.data(), unvoiced.data(), a, pitch_params(sigma), fb,
                           ws, out.data());
  for (int c = 0; c < C; ++c) {
    CHECK_NEAR(out[static_cast<std::size_t>(c) * F], 1.75, 1e-6);
    const int i = c - 20;
    const double expected =
        std::abs(i) <= radius ? std::exp(-0.5 * i * i / (sigma * sigma)) / sum : 0.0;
    CHECK_NEAR(out[static_cast<std::size_t>(c) * F + 1], expected, 1e-7);
  }
  // an edge impulse: the replicated edge band counts once per tap beyond the edge
  std::fill(mel.begin(), mel.end(), 0.0f);
  mel[1] = 1.0f;  // band 0, frame 1
  emomix::render_harmonics(mel.data(), F, f0.data(), unvoiced.data(), a, pitch_params(sigma), fb,
                           ws, mel.data());  // in place
  double below = 0;
  for (int i = -radius; i <= 0; ++i) below += std::exp(-0.5 * i * i / (sigma * sigma));
  CHECK_NEAR(mel[1], below / sum, 1e-7);
  CHECK_NEAR(mel[static_cast<std::size_t>(radius) * F + 1],
             std::exp(-0.5 * radius * radius / (sigma * sigma)) / sum, 1e-7);
  CHECK(mel[static_cast<std::size_t>(radius + 1) * F + 1] == 0.0f);
}

TEST(harmonics_frame_pitch_mixes_smooths_and_clamps) {
  const emomix::PitchParams p = pitch_params(2.0);
  // Two conditions, three phonemes of 6, 0 and 6 frames (phoneme 1 has no frame: its values must
  // not show). Condition 0: ln F0 (ln 2, 9, ln 2), voicing logits (-2, 50, 2); condition 1:
  // ln F0 (0, 0, ln 4), logits all 30 (voiced).
  const int M = 2, T = 3, F = 12;
  const float ln2 = std::log(2.0f), ln4 = std::log(4.0f);
  const std::vector<float> pitch = {ln2, 9.0f, ln2, -2.0f, 50.0f, 2.0f,
                                    0.0f, 0.0f, ln4, 30.0f, 30.0f, 30.0f};
  const std::vector<std::int64_t> durations = {6, 0, 6};
  auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  emomix::HarmonicsWorkspace ws;
  std::vector<double> f0(F), voicing(F);
  // weights 0.25 / 0.75: ln F0 and the voicing probability mix linearly, then the ±2-frame
  // average (edge frames repeated) glides across the boundary between frames 5 and 6
  const std::vector<float> w = {0.25f, 0.75f};
  emomix::frame_pitch(pitch.data(), M, T, durations.data(), w.data(), false, F, p, ws, f0.data(),
                      voicing.data());
  const double lf0 = 0.25 * std::log(2.0), lf2 = 0.25 * std::log(2.0) + 0.75 * std::log(4.0);
  const double p0 = 0.25 * sigmoid(-2) + 0.75 * sigmoid(30);
  const double p2 = 0.25 * sigmoid(2) + 0.75 * sigmoid(30);
  for (int f = 0; f < F; ++f) {
    const int taps0 = std::clamp(8 - f, 0, 5);  // taps f-2 .. f+2 that fall on phoneme 0
    CHECK_NEAR(std::log(f0[f] / 100.0), (taps0 * lf0 + (5 - taps0) * lf2) / 5.0, 1e-6);
    CHECK_NEAR(voicing[f], (taps0 * p0 + (5 - taps0) * p2) / 5.0, 1e-7);
  }
  // per-frame weights 4 / -3 extrapolate: F0 clamps to [f0_min, f0_max], voicing to [0, 1]
  std::vector<float> wf(static_cast<std::size_t>(M) * F);
  for (int f = 0; f < F; ++f) {
    wf[static_cast<std::size_t>(f)] = 4.0f;
    wf[static_cast<std::size_t>(F + f)] = -3.0f;
  }
  emomix::frame_pitch(pitch.data(), M, T, durations.data(), wf.data(), true, F, p, ws, f0.data(),
                      voicing.data());
  CHECK(f0[0] == p.f0_max);   // 100 Hz * 2^4
  CHECK(f0[11] == p.f0_min);  // 100 Hz * 2^4 / 4^3
  CHECK(voicing[0] == 0.0);   // 4 sigmoid(-2) - 3 sigmoid(30) < 0
  CHECK_NEAR(voicing[11], 4 * sigmoid(2) - 3 * sigmoid(30), 1e-7);
  CHECK_THROWS_WITH(emomix::InvalidArgument,
                    emomix::frame_pitch(pitch.data(), M, T, durations.data(), w.data(), false,
                                        F + 1, p, ws, f0.data(), voicing.data()),
                    "durations sum to 12 frames but the line has 13");
}

TEST(harmonics_workspace_stops_growing) {
  const emomix::AudioParams a = audio(emomix::MelScale::slaney);
  const std::vector<double> fb = emomix::mel_filterbank(a);
  const int F = 50;
  std::vector<float> mel(static_cast<std::size_t>(a.n_mels) * F, 0.5f);
  std::vector<double> f0(F), voicing(F, 0.7);
  for (int f = 0; f < F; ++f) f0[static_cast<std::size_t>(f)] = 60.0 + 9.0 * f;
  emomix::HarmonicsWorkspace ws;
  emomix::render_harmonics(mel.data(), F, f0.data(), voicing.data(), a, pitch_params(2.0), fb, ws,
                           mel.data());
  const std::size_t bytes = ws.bytes();
  CHECK(bytes > 0);
  for (float v : mel) CHECK(std::isfinite(v));
  emomix::render_harmonics(mel.data(), F / 2, f0.data(), voicing.data(), a, pitch_params(2.0), fb,
                           ws, mel.data());
  CHECK(ws.bytes() == bytes);
  CHECK_THROWS_WITH(emomix::InvalidArgument,
                    emomix::render_harmonics(mel.data(), F, f0.data(), voicing.data(), a,
                                             pitch_params(2.0), std::vector<double>(3), ws,
                                             mel.data()),
                    "mel filterbank has 3 entries");
}
