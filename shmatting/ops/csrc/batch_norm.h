// BatchNorm (+ ReLU / ReLU6) over (N, H, W), one channel at a time: the pieces the training kernels
// share (cpu_kernels.cc's BatchNorm and BatchNorm + depthwise, dnnl_conv.cc's BatchNorm + 1x1).
// Float32 NCHW; a channel's elements are (n * C + c) * HW + i.
#ifndef SHMATTING_BATCH_NORM_H_
#define SHMATTING_BATCH_NORM_H_

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tile_weight_grad.h"

namespace shm_bn {

// ---- BatchNorm (+ ReLU / ReLU6) over (N, H, W) per channel, one channel per task ----
// ACT: 0 none, 1 ReLU, 2 ReLU6. The gradient passes where the activation is not clamped
// (0 < y, and y < 6 for ReLU6), as torch's and MindSpore's ReLU/ReLU6 gradients do.
template <int ACT>
inline float activate(float v) {
  if (ACT >= 1) v = v > 0.f ? v : 0.f;
  if (ACT == 2) v = v < 6.f ? v : 6.f;
  return v;
}

constexpr int64_t kChunk = 512;

// The per-channel affine map of the normalisation, from the float statistics the forward returns,
// so that the backward recomputes exactly the forward's pre-activation values (and so which
// elements the activation clamped) from x alone: it never needs the output y.
struct Affine {
  float scale, shift;
};

inline Affine affine(float gamma, float beta, float mean, float invstd) {
  const float scale = gamma * invstd;
  return {scale, beta - mean * scale};
}

// One rounding rule in every loop: an explicit FMA where the CPU has one (the compiler would
// otherwise be free to contract one loop and not another), separate multiply and add where not.
inline float pre_activation(float x, Affine a) {
#ifdef __FMA__
  return std::fma(x, a.scale, a.shift);
#else
  return x * a.scale + a.shift;
#endif
}

template <int ACT>
inline bool pre_activation_passes(float v) {
  if (ACT == 0) return true;
  if (ACT == 1) return v > 0.f;
  return v > 0.f && v < 6.f;
}

inline int64_t min_channels_per_thread(int64_t N, int64_t HW) {
  return std::max<int64_t>(1, 65536 / std::max<int64_t>(1, N * HW));
}

// Channel c's batch statistics over (N, HW), shifted by its first value against cancellation: float
// partial sums over short chunks (vectorised), double across chunks. Writes mean[c] and invstd[c]
// and the moving statistics' update (``moving * keep + batch * take``, the unbiased batch variance
// for the variance); returns the channel's affine map.
inline Affine channel_statistics(const float* x, int64_t c, int64_t N, int64_t C, int64_t HW, const float* gamma,
                                 const float* beta, const float* consts, const float* moving_mean,
                                 const float* moving_var, float* mean, float* invstd, float* new_mean,
                                 float* new_var) {
  const float eps = consts[0], keep = consts[1], take = consts[2];
  const float pivot = x[c * HW];
  double sum = 0.0, sumsq = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* __restrict xp = x + (n * C + c) * HW;
    for (int64_t i0 = 0; i0 < HW; i0 += kChunk) {
      const int64_t i1 = std::min(HW, i0 + kChunk);
      float s = 0.f, q = 0.f;
#pragma omp simd reduction(+ : s, q)
      for (int64_t i = i0; i < i1; ++i) {
        const float d = xp[i] - pivot;
        s += d;
        q += d * d;
      }
      sum += s;
      sumsq += q;
    }
  }
  const double count = static_cast<double>(N * HW);
  const double shifted_mean = sum / count;
  double v = sumsq / count - shifted_mean * shifted_mean;
  if (v < 0.0) v = 0.0;
  mean[c] = static_cast<float>(shifted_mean + pivot);
  invstd[c] = static_cast<float>(1.0 / std::sqrt(v + eps));
  const float var_unbiased = static_cast<float>(count > 1.0 ? v * count / (count - 1.0) : v);
  new_mean[c] = moving_mean[c] * keep + mean[c] * take;
  new_var[c] = moving_var[c] * keep + var_unbiased * take;
  return affine(gamma[c], beta[c], mean[c], invstd[c]);
}

#ifdef __AVX512F__
// channel_grad_sums' float sums over [c0, c1) with AVX-512: GCC keeps the two sums of an `omp simd
// reduction` loop with a condition on the stack (a store and a reload per vector); here they stay
// in registers. The activation's mask is pre_activation_passes' (a NaN fails both comparisons).
template <int ACT>
inline void chunk_grad_sums(const float* xp, const float* gp, Affine a, float m, int64_t c0, int64_t c1, float* sg,
                            float* sgx) {
  const __m512 scale = _mm512_set1_ps(a.scale), shift = _mm512_set1_ps(a.shift), mv = _mm512_set1_ps(m);
  __m512 s = _mm512_setzero_ps(), q = _mm512_setzero_ps();
  for (int64_t i = c0; i < c1; i += 16) {
    const __mmask16 in = shm_twg::first_lanes(c1 - i);
    const __m512 x = _mm512_maskz_loadu_ps(in, xp + i);
    const __m512 pre = _mm512_fmadd_ps(x, scale, shift);
    __mmask16 pass = in;
    if (ACT >= 1) pass = _mm512_mask_cmp_ps_mask(pass, pre, _mm512_setzero_ps(), _CMP_GT_OQ);
    if (ACT == 2) pass = _mm512_mask_cmp_ps_mask(pass, pre, _mm512_set1_ps(6.f), _CMP_LT_OQ);
    const __m512 g = _mm512_maskz_loadu_ps(pass, gp + i);
    s = _mm512_add_ps(s, g);
    q = _mm512_fmadd_ps(g, _mm512_sub_ps(x, mv), q);
  }
  *sg = _mm512_reduce_add_ps(s);
  *sgx = _mm512_reduce_add_ps(q);
}
#endif

// The two sums of a channel's BatchNorm gradient, sum(g) and sum(g * (x - mean)) where g is the
// output gradient passed by the activation, over elements [i0, i1) of one plane, added into
// sum_g and sum_gx: float partial sums (vectorised) over kChunk pieces from i0, added in double.
// Every caller walks a channel's planes in order and each plane in pieces from its start (i0 a
// multiple of kChunk), so the sums are the same bits whoever computes them.
template <int ACT>
inline void channel_grad_sums(const float* __restrict xp, const float* __restrict gp, Affine a, float m, int64_t i0,
                              int64_t i1, double* sum_g, double* sum_gx) {
  for (int64_t c0 = i0; c0 < i1; c0 += kChunk) {
    const int64_t c1 = std::min(i1, c0 + kChunk);
    float sg = 0.f, sgx = 0.f;
#ifdef __AVX512F__
    chunk_grad_sums<ACT>(xp, gp, a, m, c0, c1, &sg, &sgx);
#else
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t i = c0; i < c1; ++i) {
      const float g = pre_activation_passes<ACT>(pre_activation(xp[i], a)) ? gp[i] : 0.f;
      sg += g;
      sgx += g * (xp[i] - m);
    }
#endif
    *sum_g += sg;
    *sum_gx += sgx;
  }
}

// Channel c's dgamma[c], dbeta[c] and dx from its sums (channel_grad_sums over every plane), x
// and the output gradient dy. dx may be dy itself: each element is read before it is written.
template <int ACT>
inline void bn_act_channel_grad_apply(const float* x, const float* gamma, const float* beta, const float* mean,
                                      const float* invstd, const float* dy, float* dx, float* dgamma,
                                      float* dbeta, int64_t c, int64_t N, int64_t C, int64_t HW, double sum_g,
                                      double sum_gx) {
  const float m = mean[c], is = invstd[c];
  const Affine a = affine(gamma[c], beta[c], m, is);
  const double count = static_cast<double>(N * HW);
  dbeta[c] = static_cast<float>(sum_g);
  dgamma[c] = static_cast<float>(sum_gx * is);
  // dx = gamma * invstd * (g - mean(g) - xhat * mean(g * xhat))
  const float k = gamma[c] * is;
  const float mean_g = static_cast<float>(sum_g / count);
  const float coef = static_cast<float>(sum_gx * is * is / count);  // mean(g * xhat) * invstd
  for (int64_t n = 0; n < N; ++n) {
    const int64_t off = (n * C + c) * HW;
    const float* __restrict xp = x + off;
    const float* gp = dy + off;
    float* dxp = dx + off;
    for (int64_t i = 0; i < HW; ++i) {
      const float g = pre_activation_passes<ACT>(pre_activation(xp[i], a)) ? gp[i] : 0.f;
      dxp[i] = k * (g - mean_g - (xp[i] - m) * coef);
    }
  }
}

// Channel c's gradients from x and the output gradient dy: dgamma[c], dbeta[c] and dx. Reads x
// and dy twice (the activation's mask comes from x: see Affine). dx may be dy itself.
template <int ACT>
inline void bn_act_channel_grad(const float* x, const float* gamma, const float* beta, const float* mean,
                                const float* invstd, const float* dy, float* dx, float* dgamma, float* dbeta,
                                int64_t c, int64_t N, int64_t C, int64_t HW) {
  const Affine a = affine(gamma[c], beta[c], mean[c], invstd[c]);
  double sum_g = 0.0, sum_gx = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const int64_t off = (n * C + c) * HW;
    channel_grad_sums<ACT>(x + off, dy + off, a, mean[c], 0, HW, &sum_g, &sum_gx);
  }
  bn_act_channel_grad_apply<ACT>(x, gamma, beta, mean, invstd, dy, dx, dgamma, dbeta, c, N, C, HW, sum_g, sum_gx);
}

// One plane of y = act(x * scale + shift) into buf.
template <int ACT>
inline void normalise_plane(const float* __restrict xp, Affine a, float* __restrict buf, int64_t HW) {
  for (int64_t i = 0; i < HW; ++i) buf[i] = activate<ACT>(pre_activation(xp[i], a));
}

// One plane of y = act(x * scale + shift) + r: a residual added after the activation.
template <int ACT>
inline void normalise_plane_add(const float* __restrict xp, Affine a, const float* __restrict rp,
                                float* __restrict yp, int64_t HW) {
  for (int64_t i = 0; i < HW; ++i) yp[i] = activate<ACT>(pre_activation(xp[i], a)) + rp[i];
}

}  // namespace shm_bn

#endif  // SHMATTING_BATCH_NORM_H_
