// The backward of a depthwise 3x3 plane (zero padding 1) through zero-bordered copies, with
// AVX-512: stride 1 on planes up to 160 x 160 (MobileNetV2's later blocks), stride 2 on all. The
// row kernels (depthwise_grad.h) pay per row for their border columns, their loop remainders and
// nine horizontal sums, and at stride 2 split each input row into even and odd columns once per
// output row reading it; on rows of 20-80 columns that cost more than the arithmetic. Here the
// plane (at stride 2: its even and its odd columns) and the output gradient are copied into
// buffers with a zero border and rows of whole vectors plus one: every tap is an unmasked load,
// the weight gradient's nine sums stay vectors for eight rows, and only the stores of a row's
// last vector are masked. (The forward gained nothing this way: it has no horizontal sums.
// Measurements: docs/performance.md.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>

#include "tile_weight_grad.h"

namespace shm_dwp {

using shm_twg::first_lanes;

// Stride 1's widest plane this path takes: on wider ones the row kernels ran as fast (320 x 320).
// Stride 2 takes every width (the row kernels split every input row into even and odd columns for
// each output row that reads it, and write the input gradient's columns one at a time).
constexpr int64_t kMaxWidthStride1 = 160;

// Rows whose weight-gradient products are summed in float vectors before they are added to the
// double sums: at most 8 x 10 terms per lane.
constexpr int64_t kRowsPerSum = 8;

inline bool takes(int64_t stride, int64_t W) { return stride == 2 || (stride == 1 && W <= kMaxWidthStride1); }

// A padded plane's elements as plain values, for the inner loops: with the buffer's owner behind a
// reference (thread-local) the compiler reloads its members after every store of the output.
struct View {
  const float* data;  // element (-1, -1)
  int64_t row, vectors;
  // Element (i, j), i in [-1, H], j in [-1, 16 vectors].
  const float* at(int64_t i, int64_t j) const { return data + (i + 1) * row + j + 1; }
};

// A plane of H x W in a buffer of H + 2 rows of `row` floats: element (i, j) at (i + 1) * row +
// j + 1, zeros around it and past column W. Rows hold every vector of the plane plus one, so a
// vector starting at any column below 16 V - 1 + 2 is inside the row.
class PaddedPlane {
 public:
  // The buffer for an H x W plane; its border is zeroed when the shape changes.
  void shape(int64_t H, int64_t W) {
    if (H == h_ && W == w_) return;
    h_ = H, w_ = W, vectors_ = (W + 15) / 16, row_ = 16 * (vectors_ + 1);
    buf_.assign(static_cast<size_t>((H + 2) * row_), 0.f);
  }
  // Plane p (H x W, contiguous) inside the border, each vector through f (__m512 -> __m512).
  template <class F>
  void fill(const float* p, F f) {
    for (int64_t i = 0; i < h_; ++i)
      for (int64_t j = 0; j < w_; j += 16) {
        const __mmask16 m = first_lanes(w_ - j);
        _mm512_mask_storeu_ps(at(i, j), m, f(_mm512_maskz_loadu_ps(m, p + i * w_ + j)));
      }
  }
  void fill(const float* p) {
    fill(p, [](__m512 v) { return v; });
  }
  View view() const { return {buf_.data(), row_, vectors_}; }
  // Element (i, j), as View::at.
  float* at(int64_t i, int64_t j) { return buf_.data() + (i + 1) * row_ + j + 1; }

 private:
  std::vector<float> buf_;
  int64_t h_ = -1, w_ = -1, vectors_ = 0, row_ = 0;
};

// Output row i of x convolved with k (x padded), columns of vector v: y = sum over taps of
// k[kh][kw] * x(i - 1 + kh, 16 v - 1 + kw).
inline __m512 conv_vector(View x, const __m512 k[9], int64_t i, int64_t v) {
  __m512 acc = _mm512_mul_ps(k[0], _mm512_loadu_ps(x.at(i - 1, 16 * v - 1)));
  for (int t = 1; t < 9; ++t)
    acc = _mm512_fmadd_ps(k[t], _mm512_loadu_ps(x.at(i - 1 + t / 3, 16 * v - 1 + t % 3)), acc);
  return acc;
}

// The backward of one stride-1 plane: dx (H x W, every element written) from the output gradient
// (in `gp`) and the kernel k; acc[t] += sum of g * x over tap t (x in `xp`).
inline void backward_s1(const PaddedPlane& xp, const PaddedPlane& gp, const float* k, float* __restrict dx,
                     double acc[9], int64_t H, int64_t W) {
  const View x = xp.view(), g = gp.view();
  __m512 flipped[9], sums[9];
  for (int t = 0; t < 9; ++t) flipped[t] = _mm512_set1_ps(k[8 - t]), sums[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < H; ++i) {
    for (int64_t v = 0; v < x.vectors; ++v) {
      const __m512 gv = _mm512_loadu_ps(g.at(i, 16 * v));  // zeros past column W
      for (int t = 0; t < 9; ++t)
        sums[t] = _mm512_fmadd_ps(gv, _mm512_loadu_ps(x.at(i - 1 + t / 3, 16 * v - 1 + t % 3)), sums[t]);
      _mm512_mask_storeu_ps(dx + i * W + 16 * v, first_lanes(W - 16 * v), conv_vector(g, flipped, i, v));
    }
    if (i % kRowsPerSum == kRowsPerSum - 1 || i == H - 1)
      for (int t = 0; t < 9; ++t) acc[t] += _mm512_reduce_add_ps(sums[t]), sums[t] = _mm512_setzero_ps();
  }
}

// Plane p (H x W) through f into its even columns (x(i, 2j) at even(i, j)) and its odd ones, for
// stride 2: tap kw of output column j reads odd(., j - 1), even(., j), odd(., j) (kw = 0, 1, 2).
template <class F>
void fill_split(const float* p, int64_t H, int64_t W, PaddedPlane& even, PaddedPlane& odd, F f) {
  const int64_t half = (W + 1) / 2;
  even.shape(H, half), odd.shape(H, half);
  const __m512i even_lanes = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd_lanes = _mm512_add_epi32(even_lanes, _mm512_set1_epi32(1));
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; j += 32) {  // input columns [j, j + 32) -> plane columns [j / 2, j / 2 + 16)
      const __mmask16 m0 = first_lanes(W - j), m1 = first_lanes(std::max<int64_t>(0, W - j - 16));
      const __m512 a = _mm512_maskz_mov_ps(m0, f(_mm512_maskz_loadu_ps(m0, p + i * W + j)));
      const __m512 b = _mm512_maskz_mov_ps(m1, f(_mm512_maskz_loadu_ps(m1, p + i * W + j + 16)));
      _mm512_storeu_ps(even.at(i, j / 2), _mm512_permutex2var_ps(a, even_lanes, b));
      _mm512_storeu_ps(odd.at(i, j / 2), _mm512_permutex2var_ps(a, odd_lanes, b));
    }
}

// Input-gradient columns 32 v .. 32 v + 31 of row ih (stride 2), from the output gradient g
// (OH x OW, padded): the even columns take tap kw = 1 of output column j, the odd ones tap 2 of
// column j and tap 0 of column j + 1; an even row 2m takes kernel row 1 of output row m, an odd
// row 2m + 1 kernel row 2 of output row m and kernel row 0 of output row m + 1.
inline void input_grad_s2(View g, const float* k, float* __restrict dxr, int64_t ih, int64_t v, int64_t W) {
  const int64_t m = ih / 2;
  __m512 even = _mm512_setzero_ps(), odd = _mm512_setzero_ps();
  const int rows[2] = {ih % 2 == 0 ? 1 : 2, 0};
  for (int r = 0; r < (ih % 2 == 0 ? 1 : 2); ++r) {
    const int kh = rows[r];
    const int64_t oh = m + r;
    const __m512 g0 = _mm512_loadu_ps(g.at(oh, 16 * v)), g1 = _mm512_loadu_ps(g.at(oh, 16 * v + 1));
    even = _mm512_fmadd_ps(_mm512_set1_ps(k[3 * kh + 1]), g0, even);
    odd = _mm512_fmadd_ps(_mm512_set1_ps(k[3 * kh + 2]), g0, odd);
    odd = _mm512_fmadd_ps(_mm512_set1_ps(k[3 * kh]), g1, odd);
  }
  const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
  const int64_t x0 = 32 * v;
  _mm512_mask_storeu_ps(dxr + x0, first_lanes(W - x0), _mm512_permutex2var_ps(even, lo, odd));
  if (W > x0 + 16)
    _mm512_mask_storeu_ps(dxr + x0 + 16, first_lanes(W - x0 - 16), _mm512_permutex2var_ps(even, hi, odd));
}

// The backward of one stride-2 plane: dx (H x W) from the output gradient (OH x OW, in `gp`) and
// the kernel k; acc[t] += sum of g * x over tap t (x split into `even` and `odd`).
inline void backward_s2(const PaddedPlane& even_p, const PaddedPlane& odd_p, const PaddedPlane& gp, const float* k,
                        float* __restrict dx, double acc[9], int64_t H, int64_t W, int64_t OH) {
  const View even = even_p.view(), odd = odd_p.view(), g = gp.view();
  __m512 sums[9];
  for (int t = 0; t < 9; ++t) sums[t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < OH; ++i) {
    for (int64_t v = 0; v < g.vectors; ++v) {
      const __m512 gv = _mm512_loadu_ps(g.at(i, 16 * v));  // zeros past column OW
      for (int kh = 0; kh < 3; ++kh) {
        const int64_t r = 2 * i - 1 + kh;
        sums[3 * kh] = _mm512_fmadd_ps(gv, _mm512_loadu_ps(odd.at(r, 16 * v - 1)), sums[3 * kh]);
        sums[3 * kh + 1] = _mm512_fmadd_ps(gv, _mm512_loadu_ps(even.at(r, 16 * v)), sums[3 * kh + 1]);
        sums[3 * kh + 2] = _mm512_fmadd_ps(gv, _mm512_loadu_ps(odd.at(r, 16 * v)), sums[3 * kh + 2]);
      }
    }
    if (i % kRowsPerSum == kRowsPerSum - 1 || i == OH - 1)
      for (int t = 0; t < 9; ++t) acc[t] += _mm512_reduce_add_ps(sums[t]), sums[t] = _mm512_setzero_ps();
  }
  for (int64_t ih = 0; ih < H; ++ih)
    for (int64_t v = 0; 32 * v < W; ++v) input_grad_s2(g, k, dx + ih * W, ih, v, W);
}

// One thread's padded input (for stride 2 its even columns), odd columns and output gradient.
struct Scratch {
  PaddedPlane x, odd, g;
};

inline Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

// The input plane xp (H x W) through f (__m512 -> __m512) into this thread's scratch, as the
// stride's backward reads it.
template <int S, class F>
void fill_input(const float* xp, int64_t H, int64_t W, F f) {
  Scratch& pad = scratch();
  if (S == 1) {
    pad.x.shape(H, W);
    pad.x.fill(xp, f);
  } else {
    fill_split(xp, H, W, pad.x, pad.odd, f);
  }
}

// The backward of one plane whose input is in this thread's scratch (fill_input): dx (H x W) and
// acc[t] += the weight gradient's tap t, from the output gradient gp (OH x OW) and the kernel k.
template <int S>
void backward(const float* gp, const float* k, float* dx, double acc[9], int64_t H, int64_t W, int64_t OH,
              int64_t OW) {
  Scratch& pad = scratch();
  pad.g.shape(OH, OW);
  pad.g.fill(gp);
  if (S == 1) backward_s1(pad.x, pad.g, k, dx, acc, H, W);
  else backward_s2(pad.x, pad.odd, pad.g, k, dx, acc, H, W, OH);
}

}  // namespace shm_dwp
#endif  // __AVX512F__
