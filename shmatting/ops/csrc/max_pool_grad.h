// Max pooling 3x3 / stride 2 / padding 1, backward: each output's gradient goes to the first
// element of its window (taps in row, then column order) equal to its maximum (a NaN maximum: the
// first NaN; no match, when y is not this x's: the window's first element). One output row at a
// time, the winning tap of every output is chosen branch-free on the input rows' even and odd
// columns (output ow reads odd[ow - 1], even[ow], odd[ow]), and every input-gradient row is
// written once, when the output rows that read it are done.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "depthwise.h"

namespace shm_maxpool {

inline bool matches(float v, float m) { return v == m || (m != m && v != v); }

// One plane's rows: input rows split into even and odd columns, the winning taps of one output
// row, and the gradient of two input rows (the odd one is shared with the next output row).
struct PoolGradScratch {
  int64_t half;
  std::vector<float> cols;  // 3 rows x (even, odd), ``half`` floats each
  std::vector<int32_t> tap;
  std::vector<float> grad;  // rows 2oh - 1 (carried), 2oh, 2oh + 1: (even, odd) each
  PoolGradScratch(int64_t W, int64_t OW)
      : half(W / 2 + 1), cols(static_cast<size_t>(6 * half)), tap(static_cast<size_t>(OW)),
        grad(static_cast<size_t>(6 * half)) {}
  float* even(int r) { return cols.data() + 2 * r * half; }
  float* odd(int r) { return even(r) + half; }
  float* g_even(int r) { return grad.data() + 2 * r * half; }
  float* g_odd(int r) { return g_even(r) + half; }
};

// The winning tap (kh * 3 + kw) of output column ow, any column, tap by tap.
inline int32_t border_tap(PoolGradScratch& s, const bool rows[3], int64_t ow, int64_t W, float m) {
  int32_t first = -1;
  for (int kh = 0; kh < 3; ++kh) {
    if (!rows[kh]) continue;
    for (int kw = 0; kw < 3; ++kw) {
      const int64_t iw = 2 * ow - 1 + kw;
      if (iw < 0 || iw >= W) continue;
      const float v = iw % 2 ? s.odd(kh)[iw / 2] : s.even(kh)[iw / 2];
      if (first < 0) first = kh * 3 + kw;
      if (matches(v, m)) return kh * 3 + kw;
    }
  }
  return first;
}

// The winning taps of the interior columns [lo, hi) (all three column taps inside the row): the
// taps tested from the last to the first so that the first match is what stays. TOP / BOTTOM:
// whether rows 2oh - 1 and 2oh + 1 exist.
template <bool TOP, bool BOTTOM>
inline void interior_taps(PoolGradScratch& s, const float* __restrict y, int64_t lo, int64_t hi) {
  const float *e0 = s.even(0), *o0 = s.odd(0), *e1 = s.even(1), *o1 = s.odd(1), *e2 = s.even(2), *o2 = s.odd(2);
  int32_t* __restrict tap = s.tap.data();
  const int32_t first = TOP ? 0 : 3;
  for (int64_t ow = lo; ow < hi; ++ow) {
    const float m = y[ow];
    int32_t t = first;
    if (BOTTOM) {
      t = matches(o2[ow], m) ? 8 : t;
      t = matches(e2[ow], m) ? 7 : t;
      t = matches(o2[ow - 1], m) ? 6 : t;
    }
    t = matches(o1[ow], m) ? 5 : t;
    t = matches(e1[ow], m) ? 4 : t;
    t = matches(o1[ow - 1], m) ? 3 : t;
    if (TOP) {
      t = matches(o0[ow], m) ? 2 : t;
      t = matches(e0[ow], m) ? 1 : t;
      t = matches(o0[ow - 1], m) ? 0 : t;
    }
    tap[ow] = t;
  }
}

// Adds the gradients dy of the outputs whose winning tap is in window row kh into that input
// row's (even, odd) gradient: tap 1 to even[ow], tap 2 to odd[ow], tap 0 to odd[ow - 1].
inline void add_row_grad(const int32_t* __restrict tap, const float* __restrict dy, int kh, float* __restrict ge,
                         float* __restrict go, int64_t OW, int64_t n_odd) {
  const int32_t t0 = kh * 3, t1 = t0 + 1, t2 = t0 + 2;
  for (int64_t j = 0; j < OW; ++j) ge[j] += tap[j] == t1 ? dy[j] : 0.f;
  const int64_t inner = std::min(n_odd, OW - 1);
  for (int64_t j = 0; j < inner; ++j) go[j] += (tap[j] == t2 ? dy[j] : 0.f) + (tap[j + 1] == t0 ? dy[j + 1] : 0.f);
  for (int64_t j = inner; j < n_odd; ++j) go[j] += tap[j] == t2 ? dy[j] : 0.f;
}

// Writes an input row from its (even, odd) gradient.
inline void store_row(const float* __restrict ge, const float* __restrict go, float* __restrict d, int64_t W) {
  for (int64_t j = 0; j < W / 2; ++j) {
    d[2 * j] = ge[j];
    d[2 * j + 1] = go[j];
  }
  if (W % 2) d[W - 1] = ge[W / 2];
}

// One plane: x (H x W), y and dy (OH x OW); writes every element of dx.
inline void plane_backward(PoolGradScratch& s, const float* xp, const float* yp, const float* gp, float* dp, int64_t H,
                           int64_t W, int64_t OH, int64_t OW) {
  const int64_t n_odd = W / 2, h = s.half;
  const int64_t lo = std::min<int64_t>(1, OW), hi = std::max<int64_t>(lo, std::min<int64_t>(OW, n_odd));
  for (int64_t oh = 0; oh < OH; ++oh) {
    const float* yr = yp + oh * OW;
    const float* gr = gp + oh * OW;
    const bool rows[3] = {oh > 0, true, 2 * oh + 1 < H};
    for (int kh = 0; kh < 3; ++kh)
      if (rows[kh]) shm_dw::deinterleave(xp + (2 * oh - 1 + kh) * W, W, s.even(kh), s.odd(kh));
    if (rows[0] && rows[2]) interior_taps<true, true>(s, yr, lo, hi);
    else if (rows[0]) interior_taps<true, false>(s, yr, lo, hi);
    else if (rows[2]) interior_taps<false, true>(s, yr, lo, hi);
    else interior_taps<false, false>(s, yr, lo, hi);
    for (int64_t ow = 0; ow < lo; ++ow) s.tap[ow] = border_tap(s, rows, ow, W, yr[ow]);
    for (int64_t ow = hi; ow < OW; ++ow) s.tap[ow] = border_tap(s, rows, ow, W, yr[ow]);
    // row 2oh - 1 already holds output row oh - 1's share (carried in slot 0); rows 2oh, 2oh + 1 start at 0
    std::fill(s.grad.begin() + 2 * h, s.grad.end(), 0.f);
    for (int kh = 0; kh < 3; ++kh)
      if (rows[kh]) add_row_grad(s.tap.data(), gr, kh, s.g_even(kh), s.g_odd(kh), OW, n_odd);
    if (rows[0]) store_row(s.g_even(0), s.g_odd(0), dp + (2 * oh - 1) * W, W);
    store_row(s.g_even(1), s.g_odd(1), dp + 2 * oh * W, W);
    if (rows[2]) std::copy(s.grad.begin() + 4 * h, s.grad.end(), s.grad.begin());  // carry row 2oh + 1
  }
  if (2 * OH - 1 < H) store_row(s.g_even(0), s.g_odd(0), dp + (2 * OH - 1) * W, W);
}

}  // namespace shm_maxpool
