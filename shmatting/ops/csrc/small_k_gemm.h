// C (m x n) = A (m x k) B (k x n) for few inner products k (16, 24, 27, 32): the 1x1 expansions of
// MobileNetV2's early blocks (16-32 input channels) and the stem's 27-tap columns. oneDNN's sgemm
// packs B and A for each call and then does only k multiply-adds per output: at k = 16-32 it ran
// at 56-84 GFLOP/s per core on AMD Zen 4 (docs/performance.md). Here the k vectors of a 16-column
// block of B stay in registers (half of them on the stack at k = 32) while A's rows stream past,
// four rows of C at a time (four independent chains of multiply-adds, A's elements broadcast from
// memory). Each output is summed over k in order: the result does not depend on threads or on the
// partition of n.
#pragma once

#include <algorithm>
#include <cstdint>

#include "tile_weight_grad.h"

#ifdef __AVX512F__
#include <immintrin.h>

namespace shm_skg {

using shm_twg::first_lanes;

// R rows of C (16 columns, masked) from B's K vectors ``bv``. STREAM: whole rows of 16 (64-byte
// aligned: multiply blocks the columns so) go to memory past the caches, for outputs far larger
// than the caches: no read of the line before it is written.
template <int K, int R, bool STREAM>
inline void rows(const float* a, int64_t lda, const __m512* bv, float* c, int64_t ldc, __mmask16 mask) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (int k = 0; k < K; ++k)
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + k]), bv[k], acc[r]);
  for (int r = 0; r < R; ++r) {
    if (STREAM && mask == 0xFFFF) _mm512_stream_ps(c + r * ldc, acc[r]);
    else _mm512_mask_storeu_ps(c + r * ldc, mask, acc[r]);
  }
}

// C's columns in blocks of 16, the first of `lead` (1..16) columns.
template <int K, bool STREAM>
void multiply_k(int64_t m, int64_t n, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                int64_t ldc, int64_t lead) {
  for (int64_t j = 0, len; j < n; j += len) {
    len = std::min<int64_t>(j == 0 ? lead : 16, n - j);
    const __mmask16 mask = first_lanes(len);
    __m512 bv[K];
    for (int k = 0; k < K; ++k) bv[k] = _mm512_maskz_loadu_ps(mask, b + k * ldb + j);
    int64_t i = 0;
    float* cj = c + j;
    for (; i + 4 <= m; i += 4) rows<K, 4, STREAM>(a + i * lda, lda, bv, cj + i * ldc, ldc, mask);
    switch (m - i) {
      case 3: rows<K, 3, STREAM>(a + i * lda, lda, bv, cj + i * ldc, ldc, mask); break;
      case 2: rows<K, 2, STREAM>(a + i * lda, lda, bv, cj + i * ldc, ldc, mask); break;
      case 1: rows<K, 1, STREAM>(a + i * lda, lda, bv, cj + i * ldc, ldc, mask); break;
      default: break;
    }
  }
  if (STREAM) _mm_sfence();  // the streamed rows visible before the caller reports the task done
}

// C = A B for K inner products, its lines streamed past the caches from the first 64-byte aligned
// column when ``stream`` (and its rows are whole vectors apart).
template <int K>
inline void multiply_k(int64_t m, int64_t n, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                       int64_t ldc, bool stream) {
  if (stream && ldc % 16 == 0)
    multiply_k<K, true>(m, n, a, lda, b, ldb, c, ldc, 16 - static_cast<int64_t>(reinterpret_cast<uintptr_t>(c) % 64 / 4));
  else multiply_k<K, false>(m, n, a, lda, b, ldb, c, ldc, 16);
}

// Whether multiply has a kernel for k inner products.
inline bool supports(int64_t k) { return k == 16 || k == 24 || k == 27 || k == 32; }

// C (m x n, row stride ldc) = A (m x k, lda) B (k x n, ldb), row-major, on this thread. Returns
// false, leaving C alone, for a k it has no kernel for (supports). stream: for an output no later
// kernel reads while in cache.
inline bool multiply(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                     float* c, int64_t ldc, bool stream = false) {
  switch (k) {
    case 16: multiply_k<16>(m, n, a, lda, b, ldb, c, ldc, stream); return true;
    case 24: multiply_k<24>(m, n, a, lda, b, ldb, c, ldc, stream); return true;
    case 27: multiply_k<27>(m, n, a, lda, b, ldb, c, ldc, stream); return true;
    case 32: multiply_k<32>(m, n, a, lda, b, ldb, c, ldc, stream); return true;  // half of B on the stack
    default: return false;
  }
}

}  // namespace shm_skg
#endif  // __AVX512F__
