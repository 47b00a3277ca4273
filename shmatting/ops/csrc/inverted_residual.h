// A MobileNetV2 inverted-residual block for inference, its BatchNorms folded: 1x1 expansion
// (+ bias, activation), depthwise 3x3 (+ bias, activation), 1x1 projection (+ bias), and the
// identity added when the block has one. Run as three layers, the 6x-expanded map is written to
// memory and read back twice (96 x 320 x 320 floats = 39 MB per image in the zoo network's
// first stages); here each task takes a band of output rows of one image and makes the expanded
// rows it needs a few at a time in a buffer that stays in cache:
// * the expansion's GEMM writes the new input rows of the chunk into the buffer (rows the next
//   chunk reads again are moved to its front, not recomputed);
// * the depthwise rows and the projection's GEMM read them from there;
// * the projection's bias and the identity are added while its output tile is in cache.
// Small maps (the expanded map fits in cache anyway) run as whole maps per image, each GEMM and
// each per-channel pass spread over the pool. Float32 NCHW; the arithmetic of each layer is the
// three kernels' (same epilogues), the GEMMs' partition differs (results agree to rounding).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "depthwise.h"

namespace shm_ir {

struct Shape {
  int64_t n, c, h, w;  // input
  int64_t e, o;        // expanded and output channels
  int64_t s;           // depthwise stride
  bool expand;         // false: the depthwise layer reads the input (a t = 1 block without expansion)
  bool residual;       // add the input to the output (stride 1, c == o)
  int64_t oh() const { return (h - 1) / s + 1; }
  int64_t ow() const { return (w - 1) / s + 1; }
};

struct Weights {
  const float *we, *be;  // expansion (E, C), (E); null without expansion
  const float *wd, *bd;  // depthwise (E, 9), (E)
  const float *wp, *bp;  // projection (O, E), (O)
};

// C (m x n, ldc) = A (m x k, lda) B (k x n, ldb), row-major; one thread.
using Gemm = void (*)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc);

constexpr int64_t kBufferFloats = 98304;  // expanded rows of one chunk: 384 KB, inside a Zen 4 core's L2

// output rows per chunk: as many as the buffer holds (S = 1 reads R + 2 input rows, S = 2 2R + 1)
inline int64_t chunk_rows(const Shape& s) {
  const int64_t rows = kBufferFloats / std::max<int64_t>(1, s.e * s.w);
  return std::max<int64_t>(1, (rows - 2) / s.s);
}

// One thread's buffers, grown on demand and kept between calls.
struct Scratch {
  std::vector<float> expanded, dw, zeros, split;
  void reserve(const Shape& s, int64_t R) {
    grow(expanded, s.expand ? s.e * (R * s.s + 2) * s.w : 0);
    grow(dw, s.e * R * s.ow());
    grow(zeros, s.w);
    grow(split, 6 * (s.w / 2 + 1));
  }

 private:
  static void grow(std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.assign(static_cast<size_t>(n), 0.f);
  }
};

// Output channel o's tile of n columns at ``offset`` += bias[o] (+ the input's plane o there).
inline void projection_epilogue(const Shape& s, const Weights& p, const float* xi, float* yi, int64_t o,
                                int64_t offset, int64_t n) {
  float* __restrict row = yi + o * s.oh() * s.ow() + offset;
  const float b = p.bp[o];
  if (s.residual) {
    const float* __restrict r = xi + o * s.h * s.w + offset;
    for (int64_t j = 0; j < n; ++j) row[j] = r[j] + (row[j] + b);
  } else {
    for (int64_t j = 0; j < n; ++j) row[j] += b;
  }
}

// The expanded rows a band holds: input rows [first, first + count) in ``buf`` (E planes of
// ``cap`` rows). Bring it to [lo, hi): keep the overlap, move it to the front, expand the rest.
template <int ACT>
void expand_rows(const Shape& s, const Weights& p, const float* xi, float* buf, int64_t cap, int64_t lo, int64_t hi,
                 int64_t* first, int64_t* count, Gemm gemm) {
  const int64_t W = s.w;
  const int64_t keep_from = std::max(lo, *first);
  const int64_t keep = std::max<int64_t>(0, *first + *count - keep_from);
  if (keep > 0 && keep_from > *first) {
    for (int64_t e = 0; e < s.e; ++e)
      std::memmove(buf + e * cap * W, buf + (e * cap + keep_from - *first) * W, sizeof(float) * keep * W);
  }
  *first = keep > 0 ? keep_from : lo;
  const int64_t fresh = hi - *first - keep;
  if (fresh > 0) {
    gemm(s.e, fresh * W, s.c, p.we, s.c, xi + (*first + keep) * W, s.h * W, buf + keep * W, cap * W);
    for (int64_t e = 0; e < s.e; ++e) shm_dw::bias_act_row<ACT>(buf + (e * cap + keep) * W, fresh * W, p.be[e]);
  }
  *count = hi - *first;
}

// Output rows [r0, r1) of image ``img``, R rows at a time.
template <int S, int ACT>
void band(const Shape& s, const Weights& p, const float* x, float* y, int64_t img, int64_t r0, int64_t r1,
          Scratch& sc, Gemm gemm) {
  const int64_t H = s.h, W = s.w, OH = s.oh(), OW = s.ow(), R = chunk_rows(s), cap = R * S + 2;
  sc.reserve(s, R);
  const float* xi = x + img * s.c * H * W;
  float* yi = y + img * s.o * OH * OW;
  int64_t first = 0, count = 0;
  for (int64_t a = r0; a < r1; a += R) {
    const int64_t b = std::min(r1, a + R);
    const int64_t lo = std::max<int64_t>(0, a * S - 1), hi = std::min(H, (b - 1) * S + 2);
    if (s.expand) expand_rows<ACT>(s, p, xi, sc.expanded.data(), cap, lo, hi, &first, &count, gemm);
    for (int64_t e = 0; e < s.e; ++e) {
      auto row = [&](int64_t ih) {
        return s.expand ? sc.expanded.data() + (e * cap + ih - first) * W : xi + (e * H + ih) * W;
      };
      for (int64_t oh = a; oh < b; ++oh) {
        const float* rows[3];
        for (int kh = 0; kh < 3; ++kh) {
          const int64_t ih = oh * S - 1 + kh;
          rows[kh] = ih >= 0 && ih < H ? row(ih) : sc.zeros.data();
        }
        float* out = sc.dw.data() + (e * R + oh - a) * OW;
        shm_dw::depthwise_row<S>(rows, p.wd + e * 9, out, W, OW, sc.split.data());
        shm_dw::bias_act_row<ACT>(out, OW, p.bd[e]);
      }
    }
    gemm(s.o, (b - a) * OW, s.e, p.wp, s.e, sc.dw.data(), R * OW, yi + a * OW, OH * OW);
    for (int64_t o = 0; o < s.o; ++o) projection_epilogue(s, p, xi, yi, o, a * OW, (b - a) * OW);
  }
}

// Bands per image: enough tasks for the pool to balance (each band re-expands one or two rows
// at its top edge), none shorter than two chunks.
inline int64_t bands_per_image(const Shape& s, int threads) {
  const int64_t want = std::max<int64_t>(1, (4 * threads + s.n - 1) / s.n);
  return std::max<int64_t>(1, std::min(want, s.oh() / (2 * chunk_rows(s))));
}

// Bands where the expanded map has 1M floats or more (4 MB: more than the cores' L2 holds);
// measured per zoo block at batch 1 (docs/performance.md): bands 1.2-1.5x faster than the three
// layers down to 80x80 maps, whole maps as fast or faster at 40x40 and 20x20.
inline bool in_bands(const Shape& s) { return s.e * s.h * s.w >= (int64_t{1} << 20); }

template <int S, int ACT, class Pool>
void forward_bands(const Shape& s, const Weights& p, const float* x, float* y, Pool& pool, Gemm gemm) {
  const int64_t bands = bands_per_image(s, pool.get_num_threads());
  const int64_t per = (s.oh() + bands - 1) / bands;
  pool.parallel_for(static_cast<int>(s.n * bands), [&](int task, int) {
    static thread_local Scratch sc;
    const int64_t img = task / bands, r0 = task % bands * per;
    band<S, ACT>(s, p, x, y, img, r0, std::min(s.oh(), r0 + per), sc, gemm);
  });
}

// Whole maps: ``big_gemm`` spreads one GEMM over the pool; ``buf`` holds E x (H x W + OH x OW).
template <int S, int ACT, class Pool, class BigGemm>
void forward_maps(const Shape& s, const Weights& p, const float* x, float* y, Pool& pool, BigGemm big_gemm,
                  float* buf) {
  const int64_t H = s.h, W = s.w, OH = s.oh(), OW = s.ow();
  float* ex = buf;
  float* dw = buf + s.e * H * W;
  for (int64_t img = 0; img < s.n; ++img) {
    const float* xi = x + img * s.c * H * W;
    float* yi = y + img * s.o * OH * OW;
    if (s.expand) big_gemm(s.e, H * W, s.c, p.we, s.c, xi, H * W, ex, H * W);
    const float* src = s.expand ? ex : xi;
    pool.parallel_for(static_cast<int>(s.e), [&](int e, int) {
      static thread_local Scratch sc;
      sc.reserve(s, 1);
      float* plane = ex + e * H * W;
      if (s.expand) shm_dw::bias_act_row<ACT>(plane, H * W, p.be[e]);
      const float* in = src + e * H * W;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const float* rows[3];
        for (int kh = 0; kh < 3; ++kh) {
          const int64_t ih = oh * S - 1 + kh;
          rows[kh] = ih >= 0 && ih < H ? in + ih * W : sc.zeros.data();
        }
        float* out = dw + (e * OH + oh) * OW;
        shm_dw::depthwise_row<S>(rows, p.wd + e * 9, out, W, OW, sc.split.data());
        shm_dw::bias_act_row<ACT>(out, OW, p.bd[e]);
      }
    });
    big_gemm(s.o, OH * OW, s.e, p.wp, s.e, dw, OH * OW, yi, OH * OW);
    pool.parallel_for(static_cast<int>(s.o), [&](int o, int) { projection_epilogue(s, p, xi, yi, o, 0, OH * OW); });
  }
}

}  // namespace shm_ir
