// Stride-1 'same' convolutions with few output channels (the M-Net's 16->1 5x5, the T-Net's
// 16->3 3x3 logits, where the library is built without AVX-512 or the maps are smaller than
// few_channel_conv.h takes), plain NCHW, for the ``dnnl`` library: oneDNN pads the channels of its
// blocked layouts to 8 and reorders both ways, which made these layers its slowest (9-21
// GFLOP/s forward). Each task takes a band of output rows of one image and copies the input rows
// it reads into a zero-padded buffer, so the inner loops have no borders.
// * forward: a block of 64 outputs (over at most 4 output channels) stays in registers across all
//   the taps: eight independent chains of multiply-adds hide their latency (two ran at 30 GFLOP/s).
// * input gradient: the same forward, of the output gradient with the weight transposed in its
//   channel axes and flipped in space (stride 1, padding K/2).
// * weight gradient: per task, the dot products of each output-gradient row with each shifted
//   padded input row; the tasks' sums are added in task order (deterministic).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace shm_direct {

constexpr int64_t kMaxOut = 4;    // output channels per register block (and of the layers taking this path)
constexpr int64_t kBandRows = 8;  // output rows per task

// output columns per register block for O output channels: 64 values in all
constexpr int64_t block_width(int O) { return O == 1 ? 64 : O == 2 ? 32 : O == 3 ? 24 : 16; }
constexpr int64_t kWidest = 64;

struct ConvShape {
  int64_t n, c, h, w, o, k;
  int64_t pad() const { return k / 2; }
  // columns of a padded row: the image, the margins and room for a last full block
  int64_t padded_w() const { return (w + kWidest - 1) / kWidest * kWidest + k - 1; }
};

// y = act(y + bias) for one value (ACT: 0 none, 1 ReLU, 2 ReLU6)
inline float finish(float v, int act) {
  if (act >= 1) v = std::max(v, 0.0f);
  if (act == 2) v = std::min(v, 6.0f);
  return v;
}

// Input rows [r0, r1) of every channel of one image into buf (rows of padded_w floats, zeros
// outside the image); rows outside the image are all zeros.
inline void pad_band(const ConvShape& s, const float* x, int64_t r0, int64_t r1, float* buf) {
  const int64_t pw = s.padded_w(), rows = r1 - r0;
  for (int64_t c = 0; c < s.c; ++c) {
    for (int64_t r = r0; r < r1; ++r) {
      float* dst = buf + (c * rows + (r - r0)) * pw;
      std::fill(dst, dst + pw, 0.0f);
      if (r >= 0 && r < s.h) std::memcpy(dst + s.pad(), x + (c * s.h + r) * s.w, sizeof(float) * s.w);
    }
  }
}

// One block of B outputs of each of the O channels at output row `out_row_in_band` of the band
// whose padded input starts at buf (band row 0: the input row `pad` above the band's first).
template <int O, int64_t B>
inline void block(const ConvShape& s, const float* buf, int64_t band_rows, int64_t out_row_in_band, int64_t w0,
                  const float* wgt, float acc[O][B]) {
  const int64_t pw = s.padded_w(), k = s.k;
  for (int64_t c = 0; c < s.c; ++c) {
    for (int64_t kh = 0; kh < k; ++kh) {
      const float* xr = buf + (c * band_rows + out_row_in_band + kh) * pw + w0;
      for (int64_t kw = 0; kw < k; ++kw) {
        const float* __restrict xs = xr + kw;
        for (int o = 0; o < O; ++o) {
          const float wv = wgt[((o * s.c + c) * k + kh) * k + kw];
#pragma omp simd
          for (int64_t j = 0; j < B; ++j) acc[o][j] += wv * xs[j];
        }
      }
    }
  }
}

// Output channels [o0, o0 + O) of the convolution: their weights (O, C, K, K) and bias or null
struct Group {
  int64_t o0;
  const float* wgt;
  const float* bias;
};

// buf sized for the padded input rows of a band of `out_rows` output rows
inline float* padded(const ConvShape& s, int64_t out_rows, std::vector<float>& buf) {
  buf.resize(static_cast<size_t>(s.c * (out_rows + s.k - 1) * s.padded_w()));
  return buf.data();
}

// Output rows [h0, h1) of image img, channels of group g: y (N, O, H, W) from the band's padded
// input rows (buf), act as finish().
template <int O>
void band(const ConvShape& s, const Group& g, const float* buf, int act, float* y, int64_t img, int64_t h0,
          int64_t h1) {
  const int64_t rows = h1 - h0 + s.k - 1;
  constexpr int64_t B = block_width(O);
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t w0 = 0; w0 < s.w; w0 += B) {
      float acc[O][B];
      for (int o = 0; o < O; ++o) std::fill(acc[o], acc[o] + B, g.bias == nullptr ? 0.0f : g.bias[o]);
      block<O, B>(s, buf, rows, h - h0, w0, g.wgt, acc);
      const int64_t m = std::min(B, s.w - w0);
      for (int o = 0; o < O; ++o) {
        float* yr = y + ((img * s.o + g.o0 + o) * s.h + h) * s.w + w0;
        for (int64_t j = 0; j < m; ++j) yr[j] = finish(acc[o][j], act);
      }
    }
  }
}

inline int64_t bands(const ConvShape& s) { return (s.h + kBandRows - 1) / kBandRows; }

// The whole convolution (any number of output channels, four at a time); Par is
// parallel_for(tasks, fn(task)) over the caller's threads.
template <typename Par>
void forward(const ConvShape& s, const float* x, const float* wgt, const float* bias, int act, float* y, Par par) {
  const int64_t nb = bands(s);
  par(s.n * nb, [&](int64_t task) {
    thread_local std::vector<float> buf;
    const int64_t img = task / nb, h0 = (task % nb) * kBandRows, h1 = std::min(s.h, h0 + kBandRows);
    pad_band(s, x + img * s.c * s.h * s.w, h0 - s.pad(), h1 + s.pad(), padded(s, h1 - h0, buf));
    for (int64_t o0 = 0; o0 < s.o; o0 += kMaxOut) {
      const Group g{o0, wgt + o0 * s.c * s.k * s.k, bias == nullptr ? nullptr : bias + o0};
      switch (std::min(kMaxOut, s.o - o0)) {
        case 1: band<1>(s, g, buf.data(), act, y, img, h0, h1); break;
        case 2: band<2>(s, g, buf.data(), act, y, img, h0, h1); break;
        case 3: band<3>(s, g, buf.data(), act, y, img, h0, h1); break;
        default: band<4>(s, g, buf.data(), act, y, img, h0, h1); break;
      }
    }
  });
}

// dx of the convolution: forward of dy with w transposed and flipped (wt: scratch of w's size)
template <typename Par>
void input_grad(const ConvShape& s, const float* dy, const float* wgt, float* wt, float* dx, Par par) {
  const int64_t kk = s.k * s.k;
  for (int64_t o = 0; o < s.o; ++o)
    for (int64_t c = 0; c < s.c; ++c)
      for (int64_t t = 0; t < kk; ++t) wt[(c * s.o + o) * kk + t] = wgt[(o * s.c + c) * kk + (kk - 1 - t)];
  const ConvShape back{s.n, s.o, s.h, s.w, s.c, s.k};
  forward(back, dy, wt, nullptr, 0, dx, par);
}

// sum_i a[i] * b[i] with four independent vector accumulators
inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[32] = {};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
#pragma omp simd
    for (int64_t t = 0; t < 32; ++t) acc[t] += a[i + t] * b[i + t];
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int64_t t = 0; t < 32; ++t) sum += acc[t];
  return sum;
}

// dw (O, C, K, K) and, with db, the bias gradient (O): per task partial sums (part: tasks x
// (O C K K + O) floats), added in task order in double.
template <typename Par>
void weight_grad(const ConvShape& s, const float* x, const float* dy, float* dw, float* db, std::vector<float>& part,
                 Par par) {
  const int64_t nb = bands(s), tasks = s.n * nb, kk = s.k * s.k, nw = s.o * s.c * kk, stride = nw + s.o;
  part.assign(static_cast<size_t>(tasks * stride), 0.0f);
  par(tasks, [&](int64_t task) {
    thread_local std::vector<float> buf;
    const int64_t img = task / nb, h0 = (task % nb) * kBandRows, h1 = std::min(s.h, h0 + kBandRows);
    const int64_t rows = h1 - h0 + s.k - 1, pw = s.padded_w();
    pad_band(s, x + img * s.c * s.h * s.w, h0 - s.pad(), h1 + s.pad(), padded(s, h1 - h0, buf));
    float* p = part.data() + task * stride;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t o = 0; o < s.o; ++o) {
        const float* g = dy + ((img * s.o + o) * s.h + h) * s.w;
        for (int64_t c = 0; c < s.c; ++c)
          for (int64_t kh = 0; kh < s.k; ++kh) {
            const float* xr = buf.data() + (c * rows + (h - h0) + kh) * pw;
            for (int64_t kw = 0; kw < s.k; ++kw) p[(o * s.c + c) * kk + kh * s.k + kw] += dot(g, xr + kw, s.w);
          }
        float sum = 0.0f;
        for (int64_t i = 0; i < s.w; ++i) sum += g[i];
        p[nw + o] += sum;
      }
    }
  });
  for (int64_t i = 0; i < stride; ++i) {
    double sum = 0.0;
    for (int64_t t = 0; t < tasks; ++t) sum += part[t * stride + i];
    if (i < nw) dw[i] = static_cast<float>(sum);
    else if (db != nullptr) db[i - nw] = static_cast<float>(sum);
  }
}

}  // namespace shm_direct
