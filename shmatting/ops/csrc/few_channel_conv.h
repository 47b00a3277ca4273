// Stride-1 'same' convolutions (K = 3 or 5) on plain NCHW with AVX-512, for layers of few channels
// on large maps (the T-Net's stem, its decoder's 16-32 channel layers at 160x160 and 320x320 and
// its logits, the M-Net's outer layers and its last 5x5): oneDNN runs them on blocked layouts
// padded to 8 or 16 channels, reorders every map both ways and, for 24 channels, takes its AVX2
// kernels (docs/performance.md). Each task (a band of rows of one image) copies the input rows it reads
// into a buffer with a zero border, so the inner loops have no edges and no masks but the last
// column block's stores.
// * forward: a register block of up to 6 output channels x 64 columns (at most 3 outputs: 3 x 128)
//   stays in registers across all input channels and taps; the input vectors loaded for one tap
//   serve all of the block's channels.
// * input gradient: the forward of dy with the weights transposed in their channel axes and
//   rotated 180 degrees.
// * weight gradient: the K x K taps of one input channel for 3 output channels (K = 3: 27
//   registers) or one (K = 5: 25) over a band; the tasks' sums are added in a fixed order
//   (deterministic).
#pragma once

#ifdef __AVX512F__
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tile_weight_grad.h"

namespace shm_fcc {

using shm_twg::first_lanes;

struct Shape {
  int64_t n, c, h, w, o;  // x (n, c, h, w), y (n, o, h, w)
};

// The forward's register block: kOutBlock output channels x kCols vectors of 16 columns (24
// accumulators; 8 x 3 and 4 x 6 ran within noise of it on AMD Zen 4).
constexpr int kOutBlock = 6;
constexpr int kCols = 4;
// Layers of at most kFewOut output channels (the logits, the M-Net's last layer): 3 x 8 vectors,
// so that each input vector loaded serves as many multiply-adds as in the 6 x 4 block.
constexpr int kFewOut = 3;
constexpr int kWideCols = 8;
// The largest block of output channels at P vectors of columns (24 accumulators).
constexpr int out_block_for(int P) { return P > kCols ? kFewOut : kOutBlock; }
// output channels per weight-gradient register block: K x K accumulators each
constexpr int grad_outputs(int K) { return K == 3 ? 3 : 1; }

// A band of input rows of one image with a zero border of K / 2: row r (input row h0 - K / 2 + r)
// of channel c at data + c * channel + r * row, input column x at x + K / 2. The copy's channel stride is not a
// multiple of 4 KB, unlike the maps' (160 x 160 and 320 x 320 planes), whose channels' rows would
// share a few L1 sets and evict each other.
struct Band {
  const float* data;
  int64_t row, channel;
};

inline int64_t padded_row(const Shape& s) { return (s.w + 15) / 16 * 16 + 16; }

// Input rows [h0 - K / 2, h1 + K / 2) of every channel of image xi into buf (zeros outside the
// image).
template <int K>
inline Band pad_band(const Shape& s, const float* xi, int64_t h0, int64_t h1, std::vector<float>& buf) {
  const int64_t row = padded_row(s), rows = h1 - h0 + K - 1;
  const int64_t channel = rows * row + ((rows * row + 16) % 1024 == 0 ? 32 : 16);  // 4 KB = 1024 floats
  buf.resize(static_cast<size_t>(s.c * channel));
  for (int64_t c = 0; c < s.c; ++c)
    for (int64_t r = 0; r < rows; ++r) {
      float* dst = buf.data() + c * channel + r * row;
      const int64_t src = h0 - K / 2 + r;
      std::fill(dst, dst + row, 0.f);
      if (src >= 0 && src < s.h) std::copy_n(xi + (c * s.h + src) * s.w, s.w, dst + K / 2);
    }
  return {buf.data(), row, channel};
}

// Forward weights regrouped per block of kOutBlock output channels: wp[((b * C + c) * K K + tap) *
// kOutBlock + j] = w[b * kOutBlock + j][c][tap] (zeros past O).
template <int K>
inline void pack_forward(const float* w, int64_t o_count, int64_t c_count, std::vector<float>& wp) {
  constexpr int T = K * K;
  const int64_t blocks = (o_count + kOutBlock - 1) / kOutBlock;
  wp.assign(static_cast<size_t>(blocks * c_count * T * kOutBlock), 0.f);
  for (int64_t o = 0; o < o_count; ++o)
    for (int64_t c = 0; c < c_count; ++c)
      for (int t = 0; t < T; ++t)
        wp[((o / kOutBlock * c_count + c) * T + t) * kOutBlock + o % kOutBlock] = w[(o * c_count + c) * T + t];
}

// Output row y (row y_in_band of the band) of OB output channels at columns [x0, x0 + 16 P): the
// sums over every input channel and tap, then bias and activation (act: 0 none, 1 ReLU, 2 ReLU6).
template <int K, int OB, int P>
inline void out_block(const Shape& s, const Band& band, int64_t y_in_band, const float* wp, const float* bias,
                      int act, int64_t x0, float* yrow) {
  __m512 acc[OB][P];
  for (int j = 0; j < OB; ++j)
    for (int p = 0; p < P; ++p) acc[j][p] = bias ? _mm512_set1_ps(bias[j]) : _mm512_setzero_ps();
  for (int64_t c = 0; c < s.c; ++c) {
    const float* wc = wp + c * K * K * kOutBlock;
    const float* base = band.data + c * band.channel + y_in_band * band.row + x0;
    for (int ky = 0; ky < K; ++ky)
      for (int kx = 0; kx < K; ++kx) {
        __m512 v[P];
        for (int p = 0; p < P; ++p) v[p] = _mm512_loadu_ps(base + ky * band.row + 16 * p + kx);
        const float* wt = wc + (ky * K + kx) * kOutBlock;
        for (int j = 0; j < OB; ++j) {
          const __m512 wv = _mm512_set1_ps(wt[j]);
          for (int p = 0; p < P; ++p) acc[j][p] = _mm512_fmadd_ps(v[p], wv, acc[j][p]);
        }
      }
  }
  const int64_t plane = s.h * s.w;
  for (int j = 0; j < OB; ++j)
    for (int p = 0; p < P; ++p) {
      __m512 v = acc[j][p];
      if (act >= 1) v = _mm512_max_ps(v, _mm512_setzero_ps());
      if (act == 2) v = _mm512_min_ps(v, _mm512_set1_ps(6.f));
      _mm512_mask_storeu_ps(yrow + j * plane + x0 + 16 * p, first_lanes(s.w - x0 - 16 * p), v);
    }
}

// Output channels [o0, o0 + OB) at one block of P vectors, OB = min(kOutBlock, O - o0) found by
// descent.
template <int K, int OB, int P>
inline void block_of(const Shape& s, const Band& band, int64_t yb, const float* wb, const float* bb, int act,
                     int64_t x0, float* yrow, int64_t count) {
  if (count >= OB) return out_block<K, OB, P>(s, band, yb, wb, bb, act, x0, yrow);
  block_of<K, (OB > 1 ? OB - 1 : 1), P>(s, band, yb, wb, bb, act, x0, yrow, count);
}

// One block of P vectors at column x0 of output row y (band row yb), every output channel: the
// input rows it reads stay in L1 from one block of output channels to the next.
template <int K, int P>
inline void column_block(const Shape& s, const Band& band, int64_t yb, const std::vector<float>& wp,
                         const float* bias, int act, float* yi, int64_t y, int64_t x0) {
  for (int64_t o0 = 0; o0 < s.o; o0 += kOutBlock)
    block_of<K, out_block_for(P), P>(s, band, yb, wp.data() + o0 / kOutBlock * s.c * K * K * kOutBlock,
                                     bias ? bias + o0 : nullptr, act, x0, yi + (o0 * s.h + y) * s.w, s.o - o0);
}

// The last block of a row, of `vectors` (1..P) vectors.
template <int K, int P>
inline void last_block(const Shape& s, const Band& band, int64_t yb, const std::vector<float>& wp,
                       const float* bias, int act, float* yi, int64_t y, int64_t x0, int64_t vectors) {
  if (vectors == P) return column_block<K, P>(s, band, yb, wp, bias, act, yi, y, x0);
  last_block<K, (P > 1 ? P - 1 : 1)>(s, band, yb, wp, bias, act, yi, y, x0, vectors);
}

// Output row y of one image (band row yb): blocks of 16 P columns, the last one narrower.
template <int K, int P>
inline void out_row(const Shape& s, const Band& band, int64_t yb, const std::vector<float>& wp, const float* bias,
                    int act, float* yi, int64_t y) {
  int64_t x0 = 0;
  for (; x0 + 16 * P <= s.w; x0 += 16 * P) column_block<K, P>(s, band, yb, wp, bias, act, yi, y, x0);
  if (s.w > x0) last_block<K, P>(s, band, yb, wp, bias, act, yi, y, x0, (s.w - x0 + 15) / 16);
}

// Output rows per task: at least 2560 columns' worth (the weight gradient sums a register block
// over a band before adding it up), 8 rows at least.
inline int64_t band_rows(const Shape& s) { return std::max<int64_t>(8, 2560 / s.w); }

// The tasks' bands: image task / per_image, rows [first, last).
struct Bands {
  int64_t rows, per_image;
  explicit Bands(const Shape& s) : rows(band_rows(s)), per_image((s.h + rows - 1) / rows) {}
  int64_t image(int64_t task) const { return task / per_image; }
  int64_t first(int64_t task) const { return task % per_image * rows; }
  int64_t last(const Shape& s, int64_t task) const { return std::min(s.h, first(task) + rows); }
};

// y = act(conv(x, w) + bias) (bias may be null); wp: scratch for the packed weights; Par is
// parallel_for(tasks, fn(task)) over the caller's threads.
template <int K, typename Par>
void forward(const Shape& s, const float* x, const float* w, const float* bias, int act, float* y,
             std::vector<float>& wp, Par par) {
  pack_forward<K>(w, s.o, s.c, wp);
  const Bands bands(s);
  par(s.n * bands.per_image, [&](int64_t task) {
    thread_local std::vector<float> buf;
    const int64_t img = bands.image(task), h0 = bands.first(task), h1 = bands.last(s, task);
    const Band band = pad_band<K>(s, x + img * s.c * s.h * s.w, h0, h1, buf);
    float* yi = y + img * s.o * s.h * s.w;
    for (int64_t yy = h0; yy < h1; ++yy) {
      if (s.o <= kFewOut) out_row<K, kWideCols>(s, band, yy - h0, wp, bias, act, yi, yy);
      else out_row<K, kCols>(s, band, yy - h0, wp, bias, act, yi, yy);
    }
  });
}

// dx = the forward of dy with wt[c][o][K K - 1 - tap] = w[o][c][tap] (wt, wp: scratch).
template <int K, typename Par>
void input_grad(const Shape& s, const float* dy, const float* w, float* dx, std::vector<float>& wt,
                std::vector<float>& wp, Par par) {
  constexpr int T = K * K;
  wt.resize(static_cast<size_t>(s.o * s.c * T));
  for (int64_t o = 0; o < s.o; ++o)
    for (int64_t c = 0; c < s.c; ++c)
      for (int t = 0; t < T; ++t) wt[(c * s.o + o) * T + t] = w[(o * s.c + c) * T + (T - 1 - t)];
  forward<K>(Shape{s.n, s.o, s.h, s.w, s.c}, dy, wt.data(), nullptr, 0, dx, wp, par);
}

// acc[j][tap] += the dy row of output channel o0 + j times the input row of channel c shifted by
// the tap, over the columns [x0, x0 + 16); FULL: all 16 columns lie in the image.
template <int K, int OB, bool FULL>
inline void grad_block(const Shape& s, const float* const* dyrows, const float* xrow, int64_t row, int64_t x0,
                       __m512 (&acc)[OB][K * K]) {
  const __mmask16 in = first_lanes(s.w - x0);
  __m512 g[OB];
  for (int j = 0; j < OB; ++j) g[j] = FULL ? _mm512_loadu_ps(dyrows[j] + x0) : _mm512_maskz_loadu_ps(in, dyrows[j] + x0);
  for (int ky = 0; ky < K; ++ky)
    for (int kx = 0; kx < K; ++kx) {
      __m512 v = _mm512_loadu_ps(xrow + ky * row + x0 + kx);
      __asm__("" : "+v"(v));  // one load for OB multiply-adds: keeps the compiler from folding it into each
      for (int j = 0; j < OB; ++j) acc[j][ky * K + kx] = _mm512_fmadd_ps(g[j], v, acc[j][ky * K + kx]);
    }
}

// part[(o0 + j) * C + c][tap] += the band's sums for OB output channels and input channel c.
template <int K, int OB>
void grad_channel(const Shape& s, const float* dyi, const Band& band, int64_t o0, int64_t c, int64_t h0, int64_t h1,
                  float* part) {
  constexpr int T = K * K;
  __m512 acc[OB][T];
  for (int j = 0; j < OB; ++j)
    for (int t = 0; t < T; ++t) acc[j][t] = _mm512_setzero_ps();
  for (int64_t yy = h0; yy < h1; ++yy) {
    const float* dyrows[OB];
    for (int j = 0; j < OB; ++j) dyrows[j] = dyi + ((o0 + j) * s.h + yy) * s.w;
    const float* xrow = band.data + c * band.channel + (yy - h0) * band.row;
    int64_t x0 = 0;
    for (; x0 + 16 <= s.w; x0 += 16) grad_block<K, OB, true>(s, dyrows, xrow, band.row, x0, acc);
    if (x0 < s.w) grad_block<K, OB, false>(s, dyrows, xrow, band.row, x0, acc);
  }
  for (int j = 0; j < OB; ++j)
    for (int t = 0; t < T; ++t) part[((o0 + j) * s.c + c) * T + t] += _mm512_reduce_add_ps(acc[j][t]);
}

// The output channels' blocks of one input channel: of grad_outputs(K), 4 as 2 + 2 rather than
// 3 + 1.
template <int K>
inline void grad_input_channel(const Shape& s, const float* dyi, const Band& band, int64_t c, int64_t h0, int64_t h1,
                               float* part) {
  constexpr int most = grad_outputs(K);
  for (int64_t o0 = 0, ob; o0 < s.o; o0 += ob) {
    ob = most == 3 && s.o - o0 == 4 ? 2 : std::min<int64_t>(most, s.o - o0);
    if (ob == most) grad_channel<K, most>(s, dyi, band, o0, c, h0, h1, part);
    else if (ob == 2) grad_channel<K, most == 3 ? 2 : 1>(s, dyi, band, o0, c, h0, h1, part);
    else grad_channel<K, 1>(s, dyi, band, o0, c, h0, h1, part);
  }
}

// One task's weight (and bias) gradient: rows [h0, h1) of image img into part (O C K K [+ O]).
template <int K>
inline void grad_band(const Shape& s, const float* x, const float* dy, int64_t img, int64_t h0, int64_t h1,
                      bool with_bias, float* part) {
  thread_local std::vector<float> buf;
  const Band band = pad_band<K>(s, x + img * s.c * s.h * s.w, h0, h1, buf);
  const float* dyi = dy + img * s.o * s.h * s.w;
  for (int64_t c = 0; c < s.c; ++c) grad_input_channel<K>(s, dyi, band, c, h0, h1, part);
  if (!with_bias) return;
  float* db = part + s.o * s.c * K * K;
  for (int64_t o = 0; o < s.o; ++o) {
    __m512 sum = _mm512_setzero_ps();
    for (int64_t yy = h0; yy < h1; ++yy)
      for (int64_t x0 = 0; x0 < s.w; x0 += 16)
        sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(first_lanes(s.w - x0), dyi + (o * s.h + yy) * s.w + x0));
    db[o] += _mm512_reduce_add_ps(sum);
  }
}

// dw (O, C, K, K) and, with db, the bias gradient: the tasks split into a fixed number of parts in
// order, each summing its tasks into its own copy (part: parts x (O C K K + O)), then the parts
// added in order, so the result does not depend on which thread ran a part.
template <int K, typename Par>
void weight_grad(const Shape& s, const float* x, const float* dy, float* dw, float* db, std::vector<float>& part,
                 Par par) {
  const Bands bands(s);
  const int64_t tasks = s.n * bands.per_image, parts = std::min<int64_t>(tasks, 16);
  const int64_t nw = s.o * s.c * K * K, stride = nw + s.o;
  part.assign(static_cast<size_t>(parts * stride), 0.f);
  par(parts, [&](int64_t p) {
    for (int64_t t = p * tasks / parts; t < (p + 1) * tasks / parts; ++t)
      grad_band<K>(s, x, dy, bands.image(t), bands.first(t), bands.last(s, t), db != nullptr, part.data() + p * stride);
  });
  for (int64_t i = 0; i < stride; ++i) {
    float sum = part[i];
    for (int64_t p = 1; p < parts; ++p) sum += part[p * stride + i];
    if (i < nw) dw[i] = sum;
    else if (db != nullptr) db[i - nw] = sum;
  }
}

}  // namespace shm_fcc
#endif  // __AVX512F__
