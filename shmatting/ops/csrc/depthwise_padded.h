// The backward of a stride-1 depthwise 3x3 plane (zero padding 1) through zero-bordered copies,
// with AVX-512, for the planes of MobileNetV2's later blocks (20 x 20 to 160 x 160). The row
// kernels (depthwise_grad.h) pay per row for their border columns, their loop remainders and nine
// horizontal sums; on rows of 20-80 columns that cost more than the arithmetic. Here the plane
// and its output gradient are copied into buffers with a zero border and rows of whole vectors
// plus one: every tap is an unmasked load, the weight gradient's nine sums stay vectors for eight
// rows, and only the stores of a row's last vector are masked. (The forward gained nothing this
// way: it has no horizontal sums. Measurements: docs/performance.md.)
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef __AVX512F__
#include <immintrin.h>

#include "tile_weight_grad.h"

namespace shm_dwp {

using shm_twg::first_lanes;

// Widths this path takes (wider rows are long enough for the row kernels).
constexpr int64_t kMaxWidth = 160;

// Rows whose weight-gradient products are summed in float vectors before they are added to the
// double sums: at most 8 x 10 terms per lane.
constexpr int64_t kRowsPerSum = 8;

inline bool takes(int64_t stride, int64_t W) { return stride == 1 && W <= kMaxWidth; }

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

 private:
  float* at(int64_t i, int64_t j) { return buf_.data() + (i + 1) * row_ + j + 1; }

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

// The backward of one plane: dx (H x W, every element written) from the output gradient (in
// `gp`) and the kernel k; acc[t] += sum of g * x over tap t (x in `xp`).
inline void backward(const PaddedPlane& xp, const PaddedPlane& gp, const float* k, float* __restrict dx,
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

// One thread's padded input and output-gradient planes.
struct Scratch {
  PaddedPlane x, g;
};

inline Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace shm_dwp
#endif  // __AVX512F__
