// C (m x n) = A (m x k) B (k x n) for few inner products k (16, 24, 27, 32): the 1x1 expansions of
// MobileNetV2's early blocks (16-32 input channels) and the stem's 27-tap columns. oneDNN's sgemm
// packs B and A for each call and then does only k multiply-adds per output: at k = 16-32 it ran
// at 56-84 GFLOP/s per core on AMD Zen 4 (docs/performance.md). Here the k vectors of a 16-column
// block of B stay in registers while A's rows stream past, four rows of C at a time (four
// independent chains of multiply-adds, A's elements broadcast from memory). Each output is summed
// over k in order: the result does not depend on threads or on the partition of n.
#pragma once

#include <cstdint>

#include "tile_weight_grad.h"

#ifdef __AVX512F__
#include <immintrin.h>

namespace shm_skg {

using shm_twg::first_lanes;

// R rows of C (16 columns, masked) from B's K vectors ``bv`` (C += when ACCUMULATE).
template <int K, int R, bool ACCUMULATE>
inline void rows(const float* a, int64_t lda, const __m512* bv, float* c, int64_t ldc, __mmask16 mask) {
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = ACCUMULATE ? _mm512_maskz_loadu_ps(mask, c + r * ldc) : _mm512_setzero_ps();
  for (int k = 0; k < K; ++k)
    for (int r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(a[r * lda + k]), bv[k], acc[r]);
  for (int r = 0; r < R; ++r) _mm512_mask_storeu_ps(c + r * ldc, mask, acc[r]);
}

template <int K, bool ACCUMULATE>
void multiply_k(int64_t m, int64_t n, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                int64_t ldc) {
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 mask = first_lanes(n - j);
    __m512 bv[K];
    for (int k = 0; k < K; ++k) bv[k] = _mm512_maskz_loadu_ps(mask, b + k * ldb + j);
    int64_t i = 0;
    for (; i + 4 <= m; i += 4) rows<K, 4, ACCUMULATE>(a + i * lda, lda, bv, c + i * ldc + j, ldc, mask);
    switch (m - i) {
      case 3: rows<K, 3, ACCUMULATE>(a + i * lda, lda, bv, c + i * ldc + j, ldc, mask); break;
      case 2: rows<K, 2, ACCUMULATE>(a + i * lda, lda, bv, c + i * ldc + j, ldc, mask); break;
      case 1: rows<K, 1, ACCUMULATE>(a + i * lda, lda, bv, c + i * ldc + j, ldc, mask); break;
      default: break;
    }
  }
}

// C (m x n, row stride ldc) = A (m x k, lda) B (k x n, ldb), row-major, on this thread. Returns
// false, leaving C alone, for a k it has no kernel for.
inline bool multiply(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                     float* c, int64_t ldc) {
  switch (k) {
    case 16: multiply_k<16, false>(m, n, a, lda, b, ldb, c, ldc); return true;
    case 24: multiply_k<24, false>(m, n, a, lda, b, ldb, c, ldc); return true;
    case 27: multiply_k<27, false>(m, n, a, lda, b, ldb, c, ldc); return true;
    case 32:  // two halves: 32 vectors of B and the accumulators would not fit in the registers
      multiply_k<16, false>(m, n, a, lda, b, ldb, c, ldc);
      multiply_k<16, true>(m, n, a + 16, lda, b + 16 * ldb, ldb, c, ldc);
      return true;
    default: return false;
  }
}

}  // namespace shm_skg
#endif  // __AVX512F__
