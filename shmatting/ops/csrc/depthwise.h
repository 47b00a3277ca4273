// Depthwise 3x3 rows (zero padding 1, stride 1 or 2) and the inference epilogue, shared by the
// ``core`` library's depthwise kernels (cpu_kernels.cc) and the ``dnnl`` library's fused
// inverted-residual block (inverted_residual.h).
#pragma once

#include <algorithm>
#include <cstdint>

namespace shm_dw {

// y = act(y + bias[c]) over one row (ACT: 0 none, 1 ReLU, 2 ReLU6); the inference epilogue of a
// convolution with its BatchNorm folded in
template <int ACT>
inline void bias_act_row(float* __restrict y, int64_t n, float bias) {
  for (int64_t i = 0; i < n; ++i) {
    float v = y[i] + bias;
    if (ACT >= 1) v = v > 0.f ? v : 0.f;
    if (ACT == 2) v = v < 6.f ? v : 6.f;
    y[i] = v;
  }
}

// The interior columns of one output row: tap (kh, kw) of column ow reads t[kh * 3 + kw][ow], so
// every load is contiguous and the nine products are summed in registers with one store (the
// compiler vectorises the loop). The order of the sum is the border columns' order too.
inline void depthwise_interior(const float* const t[9], const float* k, float* __restrict y, int64_t lo,
                               int64_t hi) {
  const float* __restrict a0 = t[0];
  const float* __restrict a1 = t[1];
  const float* __restrict a2 = t[2];
  const float* __restrict b0 = t[3];
  const float* __restrict b1 = t[4];
  const float* __restrict b2 = t[5];
  const float* __restrict c0 = t[6];
  const float* __restrict c1 = t[7];
  const float* __restrict c2 = t[8];
  const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7],
              k8 = k[8];
  for (int64_t ow = lo; ow < hi; ++ow) {
    float acc = k0 * a0[ow];
    acc += k1 * a1[ow];
    acc += k2 * a2[ow];
    acc += k3 * b0[ow];
    acc += k4 * b1[ow];
    acc += k5 * b2[ow];
    acc += k6 * c0[ow];
    acc += k7 * c1[ow];
    acc += k8 * c2[ow];
    y[ow] = acc;
  }
}

// Even and odd columns of a row, for stride 2: output column ow reads columns 2ow-1, 2ow, 2ow+1,
// that is odd[ow-1], even[ow], odd[ow]
inline void deinterleave(const float* __restrict x, int64_t W, float* __restrict even, float* __restrict odd) {
  for (int64_t j = 0; j < W / 2; ++j) {
    even[j] = x[2 * j];
    odd[j] = x[2 * j + 1];
  }
  if (W % 2) even[W / 2] = x[W - 1];
}

// The nine taps' rows of one output row from its input rows r[0..2]: tap (kh, kw) of output
// column ow is t[kh * 3 + kw][ow]. Stride 2 first splits each row into even and odd columns in
// ``split`` (6 * (W / 2 + 1) floats), so that output column ow reads odd[ow - 1], even[ow], odd[ow].
template <int S>
inline void tap_rows(const float* const r[3], int64_t W, float* split, const float* t[9]) {
  for (int kh = 0; kh < 3; ++kh) {
    if (S == 1) {
      t[kh * 3] = r[kh] - 1, t[kh * 3 + 1] = r[kh], t[kh * 3 + 2] = r[kh] + 1;
    } else {
      float* even = split + kh * 2 * (W / 2 + 1);
      float* odd = even + (W / 2 + 1);
      deinterleave(r[kh], W, even, odd);
      t[kh * 3] = odd - 1, t[kh * 3 + 1] = even, t[kh * 3 + 2] = odd;
    }
  }
}

// One output row of a depthwise 3x3 convolution from input rows r[0..2] (a zero row where the
// padding is). Stride 2 first splits each row into even and odd columns (``split``: 6 * (W / 2 +
// 1) floats) so that the interior reads contiguously; the one or two border columns go tap by tap.
template <int S>
inline void depthwise_row(const float* const r[3], const float* k, float* __restrict y, int64_t W, int64_t OW,
                          float* split) {
  // interior: 1 <= ow (left tap at ow*S-1 >= 0) and ow*S+1 <= W-1
  const int64_t lo = std::min<int64_t>(1, OW);
  const int64_t hi = std::max<int64_t>(lo, W >= 2 ? std::min<int64_t>(OW, (W - 2) / S + 1) : lo);
  auto border = [&](int64_t ow) {
    float acc = 0.f;
    for (int kh = 0; kh < 3; ++kh)
      for (int kw = 0; kw < 3; ++kw) {
        const int64_t iw = ow * S - 1 + kw;
        if (iw >= 0 && iw < W) acc += k[kh * 3 + kw] * r[kh][iw];
      }
    y[ow] = acc;
  };
  for (int64_t ow = 0; ow < lo; ++ow) border(ow);
  const float* taps[9];
  tap_rows<S>(r, W, split, taps);
  depthwise_interior(taps, k, y, lo, hi);
  for (int64_t ow = hi; ow < OW; ++ow) border(ow);
}

}  // namespace shm_dw
