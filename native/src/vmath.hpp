// Internal: branch-free float32 exp / erfc / sin / cos that compilers vectorise (libm calls do
// not). Accuracy: exp and sin/cos within ~2 ulp (Cephes polynomials, |x| < 8192 for sin/cos;
// NaN from |x| >= 6e6); erf absolute error < 4e-7 (see erf_pos).
#pragma once

#include <cstdint>
#include <cstring>

// Hot element-wise loops get an AVX2+FMA clone picked at load time on x86-64 (GCC/Clang ifunc);
// other targets and compilers build the portable version only, and so do sanitizer builds (an
// instrumented ifunc resolver runs before the sanitizer runtime is ready).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define EMOMIX_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define EMOMIX_SIMD_CLONES
#endif

namespace emomix::vmath {

inline float bits_to_float(std::int32_t i) {
  float f;
  std::memcpy(&f, &i, sizeof f);
  return f;
}

// Nearest integer (ties to even) of |v| < 2^22: adding 1.5 * 2^23 leaves the rounded integer in
// the low mantissa bits. Integer and float adds only, so loops calling exp or sincos vectorise in
// every clone (a sign-dependent +-0.5 is a branch to GCC, and floor is a libm call before SSE4.1).
inline std::int32_t round_to_int(float v) {
  const float t = v + 12582912.0f;
  std::int32_t i;
  std::memcpy(&i, &t, sizeof i);
  return i - 0x4B400000;
}

inline float exp(float x_in) {
  // NaN fails both comparisons of the clamp; it must not reach the int conversion (undefined), so
  // the arithmetic runs on 0 and the NaN is given back at the end.
  const bool nan = !(x_in == x_in);
  float x = nan ? 0.0f : x_in;
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float kf = x * 1.44269504088896341f;
  const std::int32_t k = round_to_int(kf);
  const float fk = static_cast<float>(k);
  const float r = (x - fk * 0.693359375f) - fk * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  return nan ? x_in : y * bits_to_float((k + 127) << 23);
}

// erf(z) for z >= 0: z P(z^2) / Q(z^2), a rational fit (degrees 5 and 5, Q >= 1 so no poles)
// made for this runtime by reweighted least squares on [0, 4]; absolute error < 4e-7 evaluated
// in float32. From z = 3.9 on, erf(z) rounds to 1 in float32 (erf(3.9) = 1 - 3.5e-8), so that
// is returned there.
inline float erf_pos(float z) {
  const float zc = z < 3.9f ? z : 3.9f;
  const float t = zc * zc;
  const float p =
      1.1283790e+00f +
      t * (1.9616997e-01f + t * (5.3456821e-02f + t * (4.0001823e-03f + t * (2.8794989e-04f +
                                                                          t * 1.9752702e-06f))));
  const float q =
      1.0f + t * (5.07182300e-01f + t * (1.16443560e-01f + t * (1.54375285e-02f +
                                                                t * (1.21549284e-03f +
                                                                     t * 3.74806041e-05f))));
  const float r = zc * p / q;
  const float capped = r < 1.0f ? r : 1.0f;
  return z < 3.9f ? capped : 1.0f;
}

// sin and cos of x by quadrant: z = x - j pi/2 in [-pi/4, pi/4].
inline void sincos(float x_in, float& s, float& c) {
  // NaN, infinities and |x| >= 6e6 (far outside the accurate range; the quadrant must stay
  // within round_to_int's range) give NaN: the arithmetic runs on 0 and both results are NaN.
  const bool ok = x_in > -6e6f && x_in < 6e6f;
  const float x = ok ? x_in : 0.0f;
  const float jf = x * 0.636619772367581343f;
  const std::int32_t j = round_to_int(jf);
  const float fj = static_cast<float>(j);
  const float z = ((x - fj * 1.5703125f) - fj * 4.837512969970703125e-4f) -
                  fj * 7.54978995489188216e-8f;
  const float zz = z * z;
  const float ps = z + z * zz * (-1.6666654611e-1f + zz * (8.3321608736e-3f + zz * -1.9515295891e-4f));
  const float pc = 1.0f - 0.5f * zz +
                   zz * zz * (4.166664568298827e-2f + zz * (-1.388731625493765e-3f + zz * 2.443315711809948e-5f));
  const std::int32_t q = j & 3;
  const float sv = (q & 1) ? pc : ps;
  const float cv = (q & 1) ? ps : pc;
  const float nan = bits_to_float(0x7fc00000);
  s = ok ? ((q & 2) ? -sv : sv) : nan;
  c = ok ? (((q + 1) & 2) ? -cv : cv) : nan;
}

}  // namespace emomix::vmath
