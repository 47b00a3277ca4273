// Depthwise 3x3 backward (zero padding 1, stride 1 or 2), one plane at a time: the input gradient
// as a convolution of the output gradient (every element written once, from registers) and the
// weight gradient as nine dot products per output row. Shared by the core library's depthwise
// and BatchNorm + depthwise training kernels (cpu_kernels.cc).
#pragma once

#include <algorithm>
#include <cstdint>

#include "depthwise.h"
#include "depthwise_padded.h"

namespace shm_dw {

// Output columns [lo, hi) whose tap t (0..2) reads an input column ow * S - 1 + t inside [0, W).
inline void tap_range(int t, int64_t S, int64_t W, int64_t OW, int64_t* lo, int64_t* hi) {
  const int64_t first = 1 - t, last = W - t;  // first <= ow * S <= last
  *lo = first <= 0 ? 0 : (first + S - 1) / S;
  const int64_t h = last < 0 ? 0 : last / S + 1;
  *hi = h > OW ? OW : h;
}

// acc[i] += sum over ow of g[ow] * t[i][ow] for the nine taps of an output row whose input rows
// are r (a zero row where the padding is). One loop over the columns where every tap is inside
// the row carries nine independent sums; the border columns go tap by tap.
template <int S>
inline void weight_grad_row(const float* const r[3], const float* __restrict g, double acc[9], int64_t W,
                            int64_t OW, float* split) {
  int64_t lo[3], hi[3];
  for (int kw = 0; kw < 3; ++kw) tap_range(kw, S, W, OW, &lo[kw], &hi[kw]);
  const int64_t a = std::max(lo[0], std::max(lo[1], lo[2]));
  const int64_t b = std::max(a, std::min(hi[0], std::min(hi[1], hi[2])));
  const float* t[9];
  tap_rows<S>(r, W, split, t);
  const float *__restrict t0 = t[0], *__restrict t1 = t[1], *__restrict t2 = t[2];
  const float *__restrict t3 = t[3], *__restrict t4 = t[4], *__restrict t5 = t[5];
  const float *__restrict t6 = t[6], *__restrict t7 = t[7], *__restrict t8 = t[8];
  float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f, s4 = 0.f, s5 = 0.f, s6 = 0.f, s7 = 0.f, s8 = 0.f;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7, s8)
  for (int64_t ow = a; ow < b; ++ow) {
    const float v = g[ow];
    s0 += v * t0[ow], s1 += v * t1[ow], s2 += v * t2[ow];
    s3 += v * t3[ow], s4 += v * t4[ow], s5 += v * t5[ow];
    s6 += v * t6[ow], s7 += v * t7[ow], s8 += v * t8[ow];
  }
  float s[9] = {s0, s1, s2, s3, s4, s5, s6, s7, s8};
  for (int i = 0; i < 9; ++i) {
    const int kw = i % 3;
    for (int64_t ow = lo[kw]; ow < std::min(a, hi[kw]); ++ow) s[i] += g[ow] * t[i][ow];
    for (int64_t ow = std::max(b, lo[kw]); ow < hi[kw]; ++ow) s[i] += g[ow] * t[i][ow];
    acc[i] += s[i];
  }
}

// Row ih of a stride-2 layer's input gradient from the output rows that read it: ih = 2m takes
// kernel row 1 of output row m (g0, k0; g1 null); ih = 2m + 1 kernel row 2 of output row m (g0,
// k0) and kernel row 0 of output row m + 1 (g1, k1; null past the last row). Column 2j takes tap
// 1 of output column j, column 2j + 1 tap 2 of column j and tap 0 of column j + 1. ``even`` and
// ``odd``: W / 2 + 1 floats each.
inline void input_grad_row_s2(const float* __restrict g0, const float* k0, const float* __restrict g1,
                              const float* k1, float* __restrict dx, int64_t W, int64_t OW, float* __restrict even,
                              float* __restrict odd) {
  const int64_t n_even = (W + 1) / 2, n_odd = W / 2;  // n_even == OW
  const int64_t inner = std::min(n_odd, OW - 1);      // odd columns whose tap 0 is inside the row
  const float a0 = k0[0], a1 = k0[1], a2 = k0[2];
  if (g1) {
    const float b0 = k1[0], b1 = k1[1], b2 = k1[2];
    for (int64_t j = 0; j < n_even; ++j) even[j] = a1 * g0[j] + b1 * g1[j];
    for (int64_t j = 0; j < inner; ++j) odd[j] = a2 * g0[j] + a0 * g0[j + 1] + (b2 * g1[j] + b0 * g1[j + 1]);
    for (int64_t j = inner; j < n_odd; ++j) odd[j] = a2 * g0[j] + b2 * g1[j];
  } else {
    for (int64_t j = 0; j < n_even; ++j) even[j] = a1 * g0[j];
    for (int64_t j = 0; j < inner; ++j) odd[j] = a2 * g0[j] + a0 * g0[j + 1];
    for (int64_t j = inner; j < n_odd; ++j) odd[j] = a2 * g0[j];
  }
  for (int64_t j = 0; j < n_odd; ++j) {
    dx[2 * j] = even[j];
    dx[2 * j + 1] = odd[j];
  }
  if (W % 2) dx[W - 1] = even[n_even - 1];
}

// Row ih of the input gradient dxp (H x W) from the output gradient gp (OH x OW). Stride 1: the
// output gradient convolved with the kernel turned by 180 degrees (``flipped``), rows out of the
// plane read ``zeros``; stride 2: input_grad_row_s2, ``split`` its scratch.
template <int S>
inline void input_grad_row(const float* gp, const float* k, const float* flipped, float* dxp, int64_t ih,
                           int64_t W, int64_t OH, int64_t OW, const float* zeros, float* split) {
  float* dxr = dxp + ih * W;
  if (S == 1) {
    const float* g[3];
    for (int a = 0; a < 3; ++a) {
      const int64_t oh = ih - 1 + a;
      g[a] = oh >= 0 && oh < OH ? gp + oh * OW : zeros;
    }
    depthwise_row<1>(g, flipped, dxr, W, W, nullptr);
    return;
  }
  float *even = split, *odd = split + (W / 2 + 1);
  const int64_t m = ih / 2;
  if (ih % 2 == 0)
    input_grad_row_s2(gp + m * OW, k + 3, nullptr, k, dxr, W, OW, even, odd);
  else
    input_grad_row_s2(gp + m * OW, k + 6, m + 1 < OH ? gp + (m + 1) * OW : nullptr, k, dxr, W, OW, even, odd);
}

// One plane's input gradient dxp (every element written) and weight gradient (added into acc)
// from its input xp and output gradient gp, a row at a time: input-gradient row ih is made as soon
// as the output rows it reads have been through the weight gradient, and ``rows_done(n)`` is told
// that dxp's first n elements are final. ``zeros``: W floats of zero; ``split``: 6 * (W / 2 + 1)
// floats for stride 2.
template <int S, class RowsDone>
inline void depthwise_plane_backward(const float* xp, const float* k, const float* gp, float* dxp, double acc[9],
                                     int64_t H, int64_t W, int64_t OH, int64_t OW, const float* zeros, float* split,
                                     RowsDone rows_done) {
#ifdef __AVX512F__
  if (shm_dwp::takes(S, W)) {
    shm_dwp::fill_input<S>(xp, H, W, [](__m512 v) { return v; });
    shm_dwp::backward<S>(gp, k, dxp, acc, H, W, OH, OW);
    rows_done(H * W);
    return;
  }
#endif
  float flipped[9];
  for (int i = 0; i < 9; ++i) flipped[i] = k[8 - i];
  int64_t next = 0;
  auto emit_ready = [&](int64_t last_output_row) {
    const int64_t first = next;
    for (; next < H && std::min<int64_t>(OH - 1, (next + 1) / S) <= last_output_row; ++next)
      input_grad_row<S>(gp, k, flipped, dxp, next, W, OH, OW, zeros, split);
    if (next > first) rows_done(next * W);
  };
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* r[3];
    for (int kh = 0; kh < 3; ++kh) {
      const int64_t ih = oh * S - 1 + kh;
      r[kh] = ih >= 0 && ih < H ? xp + ih * W : zeros;
    }
    weight_grad_row<S>(r, gp + oh * OW, acc, W, OW, split);
    emit_ready(oh);
  }
  emit_ready(OH);
}

}  // namespace shm_dw
