// Internal: branch-free float32 exp / erfc / sin / cos that compilers vectorise (libm calls do
// not). Accuracy: exp and sin/cos within ~2 ulp (Cephes polynomials, |x| < 8192 for sin/cos);
// erfc relative error < 1.2e-7 (Numerical Recipes' Chebyshev fit).
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

inline float exp(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float kf = x * 1.44269504088896341f;
  const std::int32_t k = static_cast<std::int32_t>(kf + (kf >= 0.0f ? 0.5f : -0.5f));
  const float fk = static_cast<float>(k);
  const float r = (x - fk * 0.693359375f) - fk * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  return y * bits_to_float((k + 127) << 23);
}

// erfc(z) for z >= 0. z is clamped at 9 (erfc(9) = 4e-37, so the absolute error is below 1e-36)
// so that no denormal is ever computed: denormal arithmetic is very slow on many CPUs.
inline float erfc_pos(float z) {
  z = z < 9.0f ? z : 9.0f;
  const float t = 1.0f / (1.0f + 0.5f * z);
  const float poly =
      -1.26551223f +
      t * (1.00002368f +
           t * (0.37409196f +
                t * (0.09678418f +
                     t * (-0.18628806f +
                          t * (0.27886807f +
                               t * (-1.13520398f +
                                    t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  return t * exp(-z * z + poly);
}

// sin and cos of x by quadrant: z = x - j pi/2 in [-pi/4, pi/4].
inline void sincos(float x, float& s, float& c) {
  const float jf = x * 0.636619772367581343f;
  const std::int32_t j = static_cast<std::int32_t>(jf + (jf >= 0.0f ? 0.5f : -0.5f));
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
  s = (q & 2) ? -sv : sv;
  c = ((q + 1) & 2) ? -cv : cv;
}

}  // namespace emomix::vmath
