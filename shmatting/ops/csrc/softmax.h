// Softmax over the channel axis of a float32 (N, C, H, W) map with few channels (the T-Net's
// trimap logits), and the cross-entropy of class indices, for the ``core`` library. Each pixel's
// channels are HW floats apart, so the loops run over a tile of pixels at a time, vectorised along
// the pixels, with an exp of our own that the compiler can vectorise (the C library's is scalar).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace shm_softmax {

constexpr int64_t kTile = 256;  // pixels per tile: the tile's C rows stay in L1

// exp(v) for v <= 0 (shifted logits): 2^n * p(r) with r = v - n ln2 in [-ln2/2, ln2/2] and a
// degree-6 polynomial (Cephes' expf coefficients, within 2 ulp); below -87 it is 2^-126 (the
// true value is below 1e-38, negligible beside the 1 that the maximum contributes).
inline float exp_nonpositive(float v) {
  v = std::max(v, -87.0f);
  const float round = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float n = (v * 1.44269504088896341f + round) - round;
  const float r = (v - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return e * scale;
}

// For pixels [i0, i0 + m) of one image (x points at its channel 0): the maximum over the channels
// (mx) and the sum of exp(x - max) (sum); with y, the exps are written there too.
inline void tile_exp_sum(const float* x, float* y, float* mx, float* sum, int64_t C, int64_t HW,
                         int64_t i0, int64_t m) {
  std::copy(x + i0, x + i0 + m, mx);
  for (int64_t c = 1; c < C; ++c) {
    const float* __restrict xc = x + c * HW + i0;
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) mx[i] = std::max(mx[i], xc[i]);
  }
  std::fill(sum, sum + m, 0.0f);
  for (int64_t c = 0; c < C; ++c) {
    const float* __restrict xc = x + c * HW + i0;
    float* __restrict yc = y == nullptr ? nullptr : y + c * HW + i0;
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) {
      const float e = exp_nonpositive(xc[i] - mx[i]);
      sum[i] += e;
      if (yc != nullptr) yc[i] = e;
    }
  }
}

// Run fn(image, first pixel, count) over every tile of an (N, C, HW) map; Par is the caller's
// parallel_for(n, min_per_thread, fn(begin, end)).
template <typename Par, typename Fn>
void for_tiles(Par par, int64_t N, int64_t HW, Fn fn) {
  const int64_t per_image = (HW + kTile - 1) / kTile;
  par(N * per_image, 16, [=](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t n = t / per_image, i0 = (t % per_image) * kTile;
      fn(n, i0, std::min(kTile, HW - i0));
    }
  });
}

// y = softmax over the channels of x
template <typename Par>
void softmax_forward(Par par, const float* x, float* y, int64_t N, int64_t C, int64_t HW) {
  for_tiles(par, N, HW, [=](int64_t n, int64_t i0, int64_t m) {
    float mx[kTile], sum[kTile];
    float* yn = y + n * C * HW;
    tile_exp_sum(x + n * C * HW, yn, mx, sum, C, HW, i0, m);
#pragma omp simd
    for (int64_t i = 0; i < m; ++i) sum[i] = 1.0f / sum[i];
    for (int64_t c = 0; c < C; ++c) {
      float* __restrict yc = yn + c * HW + i0;
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) yc[i] *= sum[i];
    }
  });
}

// dx = y * (dy - sum_c dy * y), from the softmax's output y
template <typename Par>
void softmax_backward(Par par, const float* y, const float* dy, float* dx, int64_t N, int64_t C, int64_t HW) {
  for_tiles(par, N, HW, [=](int64_t n, int64_t i0, int64_t m) {
    float dot[kTile];
    const int64_t base = n * C * HW + i0;
    std::fill(dot, dot + m, 0.0f);
    for (int64_t c = 0; c < C; ++c) {
      const float* __restrict yc = y + base + c * HW;
      const float* __restrict gc = dy + base + c * HW;
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) dot[i] += yc[i] * gc[i];
    }
    for (int64_t c = 0; c < C; ++c) {
      const float* __restrict yc = y + base + c * HW;
      const float* __restrict gc = dy + base + c * HW;
      float* __restrict dc = dx + base + c * HW;
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) dc[i] = yc[i] * (gc[i] - dot[i]);
    }
  });
}

// The label's channel if it is a class index, else -1 (such a pixel has no target: zero loss and
// zero gradient, as a one-hot row of zeros gives).
inline int64_t target(int32_t label, int64_t C) { return label >= 0 && label < C ? label : -1; }

// nll = log(sum_c exp(x_c)) - x_label per pixel, (N, HW) from the (N, C, HW) logits
template <typename Par>
void nll_forward(Par par, const float* x, const int32_t* label, float* nll, int64_t N, int64_t C, int64_t HW) {
  for_tiles(par, N, HW, [=](int64_t n, int64_t i0, int64_t m) {
    float mx[kTile], sum[kTile];
    const float* xn = x + n * C * HW;
    tile_exp_sum(xn, nullptr, mx, sum, C, HW, i0, m);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t t = target(label[n * HW + i0 + i], C);
      nll[n * HW + i0 + i] = t < 0 ? 0.0f : std::log(sum[i]) - (xn[t * HW + i0 + i] - mx[i]);
    }
  });
}

// dx_c = dnll * (softmax_c - [c == label])
template <typename Par>
void nll_backward(Par par, const float* x, const int32_t* label, const float* dnll, float* dx, int64_t N, int64_t C,
                  int64_t HW) {
  for_tiles(par, N, HW, [=](int64_t n, int64_t i0, int64_t m) {
    float mx[kTile], sum[kTile], g[kTile];
    float* dn = dx + n * C * HW;
    tile_exp_sum(x + n * C * HW, dn, mx, sum, C, HW, i0, m);
    const int32_t* __restrict lab = label + n * HW + i0;
    for (int64_t i = 0; i < m; ++i) {
      g[i] = target(lab[i], C) < 0 ? 0.0f : dnll[n * HW + i0 + i];
      sum[i] = g[i] / sum[i];  // the factor of the exps
    }
    for (int64_t c = 0; c < C; ++c) {
      float* __restrict dc = dn + c * HW + i0;
#pragma omp simd
      for (int64_t i = 0; i < m; ++i) dc[i] = dc[i] * sum[i] - (lab[i] == c ? g[i] : 0.0f);
    }
  });
}

}  // namespace shm_softmax
