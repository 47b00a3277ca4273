// A column tile's share of a 1x1 layer's weight gradient: C (M x N) += A (M x n) B (N x n)^T,
// with A the tile of dY (M output channels) and B the tile of the layer's input (N channels), both
// rows of n columns. oneDNN's sgemm runs these long, thin products (a few dozen rows, hundreds of
// columns) at 25-50 GFLOP/s on AVX-512; as dot products over 16-column vectors, 4 x 4 rows at a
// time, they run at about 145 (docs/performance.md). The sums run in a fixed order: the result
// does not depend on threads.
#pragma once

#include <cstdint>

#ifdef __AVX512F__
#include <immintrin.h>

namespace shm_twg {

// The rows of a tile this kernel is chosen for: at least this many columns (shorter tiles, of
// wide layers, are faster on oneDNN's sgemm).
constexpr int64_t kMinColumns = 400;

inline __mmask16 first_lanes(int64_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << count) - 1);
}

// c[MR x NR] += a[MR rows] . b[NR rows]^T over n columns
template <int MR, int NR>
inline void block(int64_t n, const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc) {
  __m512 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {  // whole vectors (unmasked: the accumulators stay in registers)
    __m512 bv[NR];
    for (int j = 0; j < NR; ++j) bv[j] = _mm512_loadu_ps(b + j * ldb + k);
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_loadu_ps(a + i * lda + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  if (k < n) {
    const __mmask16 m = first_lanes(n - k);
    __m512 bv[NR];
    for (int j = 0; j < NR; ++j) bv[j] = _mm512_maskz_loadu_ps(m, b + j * ldb + k);
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(m, a + i * lda + k);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) c[i * ldc + j] += _mm512_reduce_add_ps(acc[i][j]);
}

template <int MR>
inline void rows(int64_t N, int64_t n, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                 int64_t ldc) {
  int64_t j = 0;
  for (; j + 4 <= N; j += 4) block<MR, 4>(n, a, lda, b + j * ldb, ldb, c + j, ldc);
  switch (N - j) {
    case 3: block<MR, 3>(n, a, lda, b + j * ldb, ldb, c + j, ldc); break;
    case 2: block<MR, 2>(n, a, lda, b + j * ldb, ldb, c + j, ldc); break;
    case 1: block<MR, 1>(n, a, lda, b + j * ldb, ldb, c + j, ldc); break;
    default: break;
  }
}

// C (M x N, row stride ldc) += A (M x n, lda) B (N x n, ldb)^T
inline void accumulate(int64_t M, int64_t N, int64_t n, const float* a, int64_t lda, const float* b, int64_t ldb,
                       float* c, int64_t ldc) {
  int64_t i = 0;
  for (; i + 4 <= M; i += 4) rows<4>(N, n, a + i * lda, lda, b, ldb, c + i * ldc, ldc);
  switch (M - i) {
    case 3: rows<3>(N, n, a + i * lda, lda, b, ldb, c + i * ldc, ldc); break;
    case 2: rows<2>(N, n, a + i * lda, lda, b, ldb, c + i * ldc, ldc); break;
    case 1: rows<1>(N, n, a + i * lda, lda, b, ldb, c + i * ldc, ldc); break;
    default: break;
  }
}

}  // namespace shm_twg
#endif  // __AVX512F__
