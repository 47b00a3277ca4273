// CPU kernels for MindSpore's ``ops.Custom(func_type='aot')``: float32 NCHW, threads over planes.
//
// * depthwise 3x3 convolution, zero padding 1, stride 1 or 2 (MobileNetV2's depthwise layers),
//   and for inference the same with a folded BatchNorm's bias and a ReLU/ReLU6 fused:
//   MindSpore 2.10 runs grouped convolutions on oneDNN's im2col + gemm path in plain NCHW, a
//   tiny GEMM per channel; these loops are 5-10x faster on the network's shapes.
// * exact bilinear x2 upsampling with half-pixel centres (torch ``align_corners=False``).
// * BatchNorm with an optional ReLU/ReLU6 fused (training with batch statistics, and inference).
// * max pooling 3x3 / stride 2 / padding 1 (MindSpore's MaxPool3DWithArgmax is slow here).
// * softmax over the channels and the cross-entropy of class indices (softmax.h): MindSpore runs
//   them as a dozen element-wise and reduction passes, its channel-axis sums slowly.
//
// Every entry point has MindSpore's aot signature
//   int f(int nparam, void** params, int* ndims, int64_t** shapes, const char** dtypes,
//         void* stream, void* extra)
// with the inputs first and the outputs after them in ``params``; a non-zero return is an error.
//
// Reductions are vectorised with ``#pragma omp simd`` (-fopenmp-simd: no OpenMP runtime).
// Threads: plain std::threads per call, joined before returning, as many as the CPUs this process
// may run on (``SHMATTING_KERNEL_THREADS`` overrides). Not OpenMP: MindSpore links libgomp, and
// its default spin-waiting workers took the cores from MindSpore's own pool between kernels
// (inference at batch 1: 344 ms with OpenMP spinning vs 164 ms with sleeping workers).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "batch_norm.h"
#include "depthwise.h"
#include "depthwise_grad.h"
#include "max_pool_grad.h"
#include "softmax.h"
#include "thread_pool.h"

namespace {

using namespace shm_bn;  // NOLINT: the BatchNorm pieces are this file's own vocabulary
using shm_dw::bias_act_row;
using shm_dw::depthwise_plane_backward;
using shm_dw::depthwise_row;

// as many as the dnnl library's pool (thread_pool.h), read once
int num_threads() {
  static const int n = shm_pool::num_threads();
  return n;
}

// Run fn(begin, end) over [0, n) in contiguous chunks, one per thread (the caller takes the first).
template <typename Fn>
void parallel_for(int64_t n, int64_t min_per_thread, Fn fn) {
  int64_t threads = std::min<int64_t>(num_threads(), (n + min_per_thread - 1) / min_per_thread);
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  const int64_t chunk = (n + threads - 1) / threads;
  std::vector<std::thread> workers;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t b = t * chunk, e = std::min(n, b + chunk);
    if (b < e) workers.emplace_back(fn, b, e);
  }
  fn(0, std::min(n, chunk));
  for (auto& w : workers) w.join();
}

bool is_f32(const char* dtype) { return std::strcmp(dtype, "float32") == 0; }

// One plane of a depthwise 3x3 convolution; ACT < 0: no epilogue (training), otherwise the bias
// and the activation. ``zeros``: W floats of zero; ``split``: as depthwise_row's.
template <int S, int ACT = -1>
inline void depthwise_plane(const float* xp, const float* k, float* __restrict yp, int64_t H, int64_t W,
                            int64_t OH, int64_t OW, const float* zeros, float* split, float bias = 0.f) {
  for (int64_t oh = 0; oh < OH; ++oh) {
    float* __restrict yr = yp + oh * OW;
    const float* rows[3];
    for (int kh = 0; kh < 3; ++kh) {
      const int64_t ih = oh * S - 1 + kh;
      rows[kh] = ih >= 0 && ih < H ? xp + ih * W : zeros;
    }
    depthwise_row<S>(rows, k, yr, W, OW, split);
    if (ACT >= 0) bias_act_row<ACT < 0 ? 0 : ACT>(yr, OW, bias);
  }
}

// Scratch rows of one thread's depthwise planes: a zero row and depthwise_row's split.
struct DepthwiseScratch {
  std::vector<float> zeros, split;
  DepthwiseScratch(int64_t S, int64_t W)
      : zeros(static_cast<size_t>(W), 0.f), split(static_cast<size_t>(S == 2 ? 6 * (W / 2 + 1) : 0)) {}
};

// Rows summed in registers (depthwise_row; stride 1, 8x32x320x320: 20.1 -> 12.9 ms against
// accumulating tap by tap into the output row).
template <int S, int ACT = -1>
void depthwise_forward(const float* x, const float* w, float* y, int64_t N, int64_t C, int64_t H,
                       int64_t W, int64_t OH, int64_t OW, const float* bias = nullptr) {
  const int64_t min_planes = std::max<int64_t>(1, 16384 / (OH * OW));  // small maps: one thread
  parallel_for(N * C, min_planes, [=](int64_t begin, int64_t end) {
    DepthwiseScratch scratch(S, W);
    for (int64_t p = begin; p < end; ++p) {
      depthwise_plane<S, ACT>(x + p * H * W, w + (p % C) * 9, y + p * OH * OW, H, W, OH, OW,
                              scratch.zeros.data(), scratch.split.data(), ACT >= 0 ? bias[p % C] : 0.f);
    }
  });
}

// Input and weight gradients in one pass over x and dy; one channel per task so that the weight
// gradient needs no reduction across threads (accumulated in double over the batch).
template <int S>
void depthwise_backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                        int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t min_channels = std::max<int64_t>(1, 16384 / (N * OH * OW));
  parallel_for(C, min_channels, [=](int64_t begin, int64_t end) {
    DepthwiseScratch scratch(S, W);
    for (int64_t c = begin; c < end; ++c) {
      double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t n = 0; n < N; ++n) {
        const int64_t p = n * C + c;
        depthwise_plane_backward<S>(x + p * H * W, w + c * 9, dy + p * OH * OW, dx + p * H * W, acc, H, W, OH, OW,
                                    scratch.zeros.data(), scratch.split.data(), [](int64_t) {});
      }
      for (int i = 0; i < 9; ++i) dw[c * 9 + i] = static_cast<float>(acc[i]);
    }
  });
}

// Indices [0, len) of a row: the first and last by ``border(i)`` (they clamp their neighbours),
// the interior [1, len - 1) by ``interior(lo, hi)``, a loop without clamps that vectorises.
template <class Border, class Interior>
inline void with_borders(int64_t len, Border border, Interior interior) {
  if (len < 3) {
    for (int64_t i = 0; i < len; ++i) border(i);
    return;
  }
  border(0);
  interior(1, len - 1);
  border(len - 1);
}

// One axis of the x2 upsampling: out[2i] = .25 in[i-1] + .75 in[i], out[2i+1] = .75 in[i] + .25 in[i+1]
// with clamped indices; ``step`` is the distance between neighbours, ``len`` the input length.
inline void upsample_line(const float* in, float* out, int64_t len) {
  auto border = [&](int64_t i) {
    const float prev = in[i > 0 ? i - 1 : 0];
    const float next = in[i + 1 < len ? i + 1 : len - 1];
    out[2 * i] = 0.25f * prev + 0.75f * in[i];
    out[2 * i + 1] = 0.75f * in[i] + 0.25f * next;
  };
  with_borders(len, border, [&](int64_t lo, int64_t hi) {
    const float* __restrict a = in;
    float* __restrict o = out;
    for (int64_t i = lo; i < hi; ++i) {
      o[2 * i] = 0.25f * a[i - 1] + 0.75f * a[i];
      o[2 * i + 1] = 0.75f * a[i] + 0.25f * a[i + 1];
    }
  });
}

// The adjoint of upsample_line: in-gradient of length len from an out-gradient of length 2 len.
inline void upsample_line_grad(const float* g, float* d, int64_t len) {
  auto border = [&](int64_t i) {
    float v = 0.75f * (g[2 * i] + g[2 * i + 1]);
    v += 0.25f * (i > 0 ? g[2 * i - 1] : g[0]);
    v += 0.25f * (i + 1 < len ? g[2 * i + 2] : g[2 * len - 1]);
    d[i] = v;
  };
  with_borders(len, border, [&](int64_t lo, int64_t hi) {
    const float* __restrict a = g;
    float* __restrict o = d;
    for (int64_t i = lo; i < hi; ++i) {  // the same sums in the same order, without the clamps
      float v = 0.75f * (a[2 * i] + a[2 * i + 1]);
      v += 0.25f * a[2 * i - 1];
      v += 0.25f * a[2 * i + 2];
      o[i] = v;
    }
  });
}

void upsample_forward(const float* x, float* y, int64_t planes, int64_t H, int64_t W) {
  parallel_for(planes, std::max<int64_t>(1, 16384 / (H * W)), [=](int64_t begin, int64_t end) {
    std::vector<float> rows(static_cast<size_t>(H * 2 * W));
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = x + p * H * W;
      float* yp = y + p * 4 * H * W;
      for (int64_t i = 0; i < H; ++i) upsample_line(xp + i * W, rows.data() + i * 2 * W, W);
      const int64_t OW = 2 * W;
      for (int64_t i = 0; i < H; ++i) {
        const float* __restrict cur = rows.data() + i * OW;
        const float* __restrict prev = rows.data() + (i > 0 ? i - 1 : 0) * OW;
        const float* __restrict next = rows.data() + (i + 1 < H ? i + 1 : H - 1) * OW;
        float* __restrict even = yp + 2 * i * OW;
        float* __restrict odd = even + OW;
        for (int64_t j = 0; j < OW; ++j) {
          even[j] = 0.25f * prev[j] + 0.75f * cur[j];
          odd[j] = 0.75f * cur[j] + 0.25f * next[j];
        }
      }
    }
  });
}

void upsample_backward(const float* g, float* dx, int64_t planes, int64_t H, int64_t W) {
  const int64_t OW = 2 * W;
  parallel_for(planes, std::max<int64_t>(1, 16384 / (H * W)), [=](int64_t begin, int64_t end) {
    std::vector<float> rows(static_cast<size_t>(OW));
    for (int64_t p = begin; p < end; ++p) {
      const float* gp = g + p * 4 * H * W;
      float* dp = dx + p * H * W;
      for (int64_t i = 0; i < H; ++i) {
        // vertical adjoint into one row of width 2W, then the horizontal adjoint into dx
        const float* __restrict ge = gp + 2 * i * OW;
        const float* __restrict go = ge + OW;
        const float* __restrict above = i > 0 ? ge - OW : ge;
        const float* __restrict below = i + 1 < H ? go + OW : go;
        float* __restrict r = rows.data();
        for (int64_t j = 0; j < OW; ++j) r[j] = 0.75f * (ge[j] + go[j]) + 0.25f * (above[j] + below[j]);
        upsample_line_grad(r, dp + i * W, W);
      }
    }
  });
}


// inputs x, gamma, beta, consts (eps, momentum, 1 - momentum), moving mean, moving variance;
// outputs y, mean, invstd and the updated moving statistics: one launch for what took seven
// element-wise operators per layer, which PyNative paid one by one.
// With a residual r (else null), y = act(BN(x)) + r in the same pass.
template <int ACT>
void bn_act_train(const float* x, const float* gamma, const float* beta, const float* consts,
                  const float* moving_mean, const float* moving_var, const float* r, float* y, float* mean,
                  float* invstd, float* new_mean, float* new_var, int64_t N, int64_t C, int64_t HW) {
  parallel_for(C, min_channels_per_thread(N, HW), [=](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      const Affine a = channel_statistics(x, c, N, C, HW, gamma, beta, consts, moving_mean, moving_var, mean,
                                          invstd, new_mean, new_var);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t p = (n * C + c) * HW;
        if (r == nullptr)
          normalise_plane<ACT>(x + p, a, y + p, HW);
        else
          normalise_plane_add<ACT>(x + p, a, r + p, y + p, HW);
      }
    }
  });
}

// inputs x, gamma, beta, mean, invstd, dy; outputs dx, dgamma, dbeta. Five tensor passes where x,
// y, dy took seven.
template <int ACT>
void bn_act_train_grad(const float* x, const float* gamma, const float* beta, const float* mean,
                       const float* invstd, const float* dy, float* dx, float* dgamma, float* dbeta, int64_t N,
                       int64_t C, int64_t HW) {
  parallel_for(C, min_channels_per_thread(N, HW), [=](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c)
      bn_act_channel_grad<ACT>(x, gamma, beta, mean, invstd, dy, dx, dgamma, dbeta, c, N, C, HW);
  });
}

// ---- BatchNorm (+ ReLU / ReLU6) fused into the depthwise 3x3 convolution that reads it ----
#ifdef __AVX512F__
// Plane xp normalised, act(BN(x)), into this thread's zero-bordered planes (depthwise_padded.h),
// with normalise_plane's rounding (one FMA) and clamps (a NaN becomes 0 as there).
template <int S, int ACT>
void normalise_padded(const float* xp, Affine a, int64_t H, int64_t W) {
  const __m512 scale = _mm512_set1_ps(a.scale), shift = _mm512_set1_ps(a.shift);
  shm_dwp::fill_input<S>(xp, H, W, [&](__m512 v) {
    v = _mm512_fmadd_ps(v, scale, shift);
    if (ACT >= 1) v = _mm512_max_ps(v, _mm512_setzero_ps());  // the second operand where v is NaN
    if (ACT == 2) v = _mm512_min_ps(v, _mm512_set1_ps(6.f));
    return v;
  });
}
#endif

// Training only. The normalised map y = act(BN(x)) exists one plane at a time, in cache: the
// forward convolves each plane as it is made, the backward makes it again for the weight gradient.
// So a step holds x, which the BatchNorm's backward reads anyway, and never y (MobileNetV2's
// depthwise inputs: about 1 GB at batch 8, 320x320), and y's write and two reads are saved.

// inputs x, gamma, beta, consts, moving mean, moving variance, w (C, 9); outputs the convolution's
// output, mean, invstd and the updated moving statistics (as bn_act_train's).
template <int S, int ACT>
void bn_act_depthwise_train(const float* x, const float* gamma, const float* beta, const float* consts,
                            const float* moving_mean, const float* moving_var, const float* w, float* out,
                            float* mean, float* invstd, float* new_mean, float* new_var, int64_t N, int64_t C,
                            int64_t H, int64_t W, int64_t OH, int64_t OW) {
  const int64_t HW = H * W;
  parallel_for(C, min_channels_per_thread(N, HW), [=](int64_t begin, int64_t end) {
    DepthwiseScratch scratch(S, W);
    std::vector<float> buf(static_cast<size_t>(HW));
    for (int64_t c = begin; c < end; ++c) {
      const Affine a = channel_statistics(x, c, N, C, HW, gamma, beta, consts, moving_mean, moving_var, mean,
                                          invstd, new_mean, new_var);
      for (int64_t n = 0; n < N; ++n) {
        const int64_t p = n * C + c;
        normalise_plane<ACT>(x + p * HW, a, buf.data(), HW);
        depthwise_plane<S>(buf.data(), w + c * 9, out + p * OH * OW, H, W, OH, OW, scratch.zeros.data(),
                           scratch.split.data());
      }
    }
  });
}

// inputs x, gamma, beta, mean, invstd, w, dout; outputs dx, dgamma, dbeta, dw. The gradient
// with respect to y goes into dx's planes, and the BatchNorm's sums are taken from each row band
// as it is finished (still in cache); the BatchNorm's backward then overwrites dx.
template <int S, int ACT>
void bn_act_depthwise_train_grad(const float* x, const float* gamma, const float* beta, const float* mean,
                                 const float* invstd, const float* w, const float* dout, float* dx, float* dgamma,
                                 float* dbeta, float* dw, int64_t N, int64_t C, int64_t H, int64_t W, int64_t OH,
                                 int64_t OW) {
  const int64_t HW = H * W;
  parallel_for(C, min_channels_per_thread(N, HW), [=](int64_t begin, int64_t end) {
    DepthwiseScratch scratch(S, W);
    std::vector<float> buf(static_cast<size_t>(HW));
    for (int64_t c = begin; c < end; ++c) {
      const Affine a = affine(gamma[c], beta[c], mean[c], invstd[c]);
      double acc[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
      double sum_g = 0.0, sum_gx = 0.0;
      for (int64_t n = 0; n < N; ++n) {
        const int64_t p = n * C + c;
        const float* xp = x + p * HW;
        float* gp = dx + p * HW;
#ifdef __AVX512F__
        if (shm_dwp::takes(S, W)) {
          normalise_padded<S, ACT>(xp, a, H, W);
          shm_dwp::backward<S>(dout + p * OH * OW, w + c * 9, gp, acc, H, W, OH, OW);
          channel_grad_sums<ACT>(xp, gp, a, mean[c], 0, HW, &sum_g, &sum_gx);
          continue;
        }
#endif
        normalise_plane<ACT>(xp, a, buf.data(), HW);
        int64_t summed = 0;  // whole kChunk pieces from the plane's start, as bn_act_channel_grad takes them
        auto sum_rows = [&](int64_t ready) {
          const int64_t end = ready == HW ? HW : summed + (ready - summed) / kChunk * kChunk;
          channel_grad_sums<ACT>(xp, gp, a, mean[c], summed, end, &sum_g, &sum_gx);
          summed = end;
        };
        depthwise_plane_backward<S>(buf.data(), w + c * 9, dout + p * OH * OW, gp, acc, H, W, OH, OW,
                                    scratch.zeros.data(), scratch.split.data(), sum_rows);
      }
      for (int i = 0; i < 9; ++i) dw[c * 9 + i] = static_cast<float>(acc[i]);
      bn_act_channel_grad_apply<ACT>(x, gamma, beta, mean, invstd, dx, dx, dgamma, dbeta, c, N, C, HW, sum_g,
                                     sum_gx);
    }
  });
}

// inputs x, gamma, beta, moving mean, moving variance, eps(1); output y
template <int ACT>
void bn_act_infer(const float* x, const float* gamma, const float* beta, const float* mean, const float* var,
                  float eps, float* y, int64_t N, int64_t C, int64_t HW) {
  const int64_t min_planes = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, HW));
  parallel_for(N * C, min_planes, [=](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t c = p % C;
      const float is = 1.f / std::sqrt(var[c] + eps);
      const float scale = gamma[c] * is, shift = beta[c] - mean[c] * gamma[c] * is;
      const float* __restrict xp = x + p * HW;
      float* __restrict yp = y + p * HW;
      for (int64_t i = 0; i < HW; ++i) yp[i] = activate<ACT>(xp[i] * scale + shift);
    }
  });
}


// ---- max pooling, kernel 3, stride 2, padding 1 (padding never wins: -inf) ----
// NaN propagates as in torch; the gradient goes to the first maximum in row-major window order.
inline float max_nan(float a, float b) { return (b > a || std::isnan(b)) ? b : a; }

void maxpool_forward(const float* x, float* y, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW) {
  parallel_for(planes, std::max<int64_t>(1, 16384 / (H * W)), [=](int64_t begin, int64_t end) {
    std::vector<float> colmax(static_cast<size_t>(W));
    for (int64_t p = begin; p < end; ++p) {
      const float* xp = x + p * H * W;
      float* yp = y + p * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = std::max<int64_t>(0, 2 * oh - 1), h1 = std::min<int64_t>(H, 2 * oh + 2);
        float* __restrict t = colmax.data();
        std::memcpy(t, xp + h0 * W, sizeof(float) * W);
        for (int64_t ih = h0 + 1; ih < h1; ++ih) {
          const float* __restrict r = xp + ih * W;
          for (int64_t iw = 0; iw < W; ++iw) t[iw] = max_nan(t[iw], r[iw]);
        }
        float* __restrict yr = yp + oh * OW;
        auto border = [&](int64_t ow) {
          const int64_t w0 = std::max<int64_t>(0, 2 * ow - 1), w1 = std::min<int64_t>(W, 2 * ow + 2);
          float m = t[w0];
          for (int64_t iw = w0 + 1; iw < w1; ++iw) m = max_nan(m, t[iw]);
          yr[ow] = m;
        };
        // interior columns 1 <= ow, 2 ow + 1 < W in one branch-free loop (vectorised; the border's
        // order of comparisons, so NaNs and ties resolve as there)
        const int64_t lo = std::min<int64_t>(1, OW), hi = std::max<int64_t>(lo, std::min<int64_t>(OW, (W - 2) / 2 + 1));
        for (int64_t ow = 0; ow < lo; ++ow) border(ow);
        for (int64_t ow = lo; ow < hi; ++ow) yr[ow] = max_nan(max_nan(t[2 * ow - 1], t[2 * ow]), t[2 * ow + 1]);
        for (int64_t ow = hi; ow < OW; ++ow) border(ow);
      }
    }
  });
}

// inputs x, y (the forward output), dy; output dx (max_pool_grad.h)
void maxpool_backward(const float* x, const float* y, const float* dy, float* dx, int64_t planes, int64_t H,
                      int64_t W, int64_t OH, int64_t OW) {
  parallel_for(planes, std::max<int64_t>(1, 16384 / (H * W)), [=](int64_t begin, int64_t end) {
    shm_maxpool::PoolGradScratch scratch(W, OW);
    for (int64_t p = begin; p < end; ++p)
      shm_maxpool::plane_backward(scratch, x + p * H * W, y + p * OH * OW, dy + p * OH * OW, dx + p * H * W, H, W,
                                  OH, OW);
  });
}

}  // namespace

#define SHM_CHECK_F32(n)                               \
  for (int i = 0; i < (n); ++i)                                                                              \
    if (!is_f32(dtypes[i])) return 1;

#define SHM_F(i) static_cast<const float*>(params[i])
#define SHM_O(i) static_cast<float*>(params[i])
#define SHM_HW(s) ((s)[2] * (s)[3])
#define SHM_AOT_ARGS int, void **params, int *, int64_t **shapes, const char **dtypes, void *, void *

// forward: inputs x (N, C, H, W), w (C, 9); output y (N, C, OH, OW)
// gradient: inputs x, w, dy; outputs dx, dw
#define SHM_DEPTHWISE_ENTRIES(S)                                                                                     \
  extern "C" int shm_depthwise3x3_s##S(SHM_AOT_ARGS) {                                                       \
    SHM_CHECK_F32(3);                                                                                        \
    const int64_t* s = shapes[0];                                                                            \
    depthwise_forward<S>(SHM_F(0), SHM_F(1), SHM_O(2), s[0], s[1], s[2], s[3], shapes[2][2],                 \
                         shapes[2][3]);                                                                      \
    return 0;                                                                                                \
  }                                                                                                          \
  extern "C" int shm_depthwise3x3_s##S##_grad(SHM_AOT_ARGS) {                                                \
    SHM_CHECK_F32(5);                                                                                        \
    const int64_t* s = shapes[0];                                                                            \
    depthwise_backward<S>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_O(3), SHM_O(4), s[0], s[1], s[2], s[3],          \
                          shapes[2][2], shapes[2][3]);                                                       \
    return 0;                                                                                                \
  }

SHM_DEPTHWISE_ENTRIES(1)
SHM_DEPTHWISE_ENTRIES(2)

// inference with a folded BatchNorm: inputs x, w (C, 9), b (C); output y
#define SHM_DEPTHWISE_BIAS_ENTRY(S, suffix, ACT)                                                   \
  extern "C" int shm_depthwise3x3_s##S##_bias##suffix(SHM_AOT_ARGS) {                            \
    SHM_CHECK_F32(4);                                                                            \
    const int64_t* s = shapes[0];                                                                \
    depthwise_forward<S, ACT>(SHM_F(0), SHM_F(1), SHM_O(3), s[0], s[1], s[2], s[3], shapes[3][2], \
                              shapes[3][3], SHM_F(2));                                           \
    return 0;                                                                                    \
  }

SHM_DEPTHWISE_BIAS_ENTRY(1, , 0)
SHM_DEPTHWISE_BIAS_ENTRY(1, _relu, 1)
SHM_DEPTHWISE_BIAS_ENTRY(1, _relu6, 2)
SHM_DEPTHWISE_BIAS_ENTRY(2, , 0)
SHM_DEPTHWISE_BIAS_ENTRY(2, _relu, 1)
SHM_DEPTHWISE_BIAS_ENTRY(2, _relu6, 2)

// input x (N, C, H, W); output y (N, C, 2H, 2W)
extern "C" int shm_upsample_bilinear2x(SHM_AOT_ARGS) {
  SHM_CHECK_F32(2);
  const int64_t* s = shapes[0];
  upsample_forward(SHM_F(0), SHM_O(1), s[0] * s[1], s[2], s[3]);
  return 0;
}

// input dy (N, C, 2H, 2W); output dx (N, C, H, W)
extern "C" int shm_upsample_bilinear2x_grad(SHM_AOT_ARGS) {
  SHM_CHECK_F32(2);
  const int64_t* s = shapes[1];
  upsample_backward(SHM_F(0), SHM_O(1), s[0] * s[1], s[2], s[3]);
  return 0;
}

#define SHM_BN_ENTRIES(suffix, ACT)                                                                          \
  extern "C" int shm_bn##suffix##_train(SHM_AOT_ARGS) {                                                      \
    SHM_CHECK_F32(11);                                                                                       \
    bn_act_train<ACT>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_F(3), SHM_F(4), SHM_F(5), nullptr, SHM_O(6),         \
                      SHM_O(7), SHM_O(8), SHM_O(9), SHM_O(10), shapes[0][0], shapes[0][1],                   \
                      SHM_HW(shapes[0]));                                                                    \
    return 0;                                                                                                \
  }                                                                                                          \
  extern "C" int shm_bn##suffix##_add_train(SHM_AOT_ARGS) {                                                  \
    SHM_CHECK_F32(12);                                                                                       \
    bn_act_train<ACT>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_F(3), SHM_F(4), SHM_F(5), SHM_F(6), SHM_O(7),        \
                      SHM_O(8), SHM_O(9), SHM_O(10), SHM_O(11), shapes[0][0], shapes[0][1],                  \
                      SHM_HW(shapes[0]));                                                                    \
    return 0;                                                                                                \
  }                                                                                                          \
  extern "C" int shm_bn##suffix##_train_grad(SHM_AOT_ARGS) {                                                 \
    SHM_CHECK_F32(9);                                                                                        \
    bn_act_train_grad<ACT>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_F(3), SHM_F(4), SHM_F(5), SHM_O(6), SHM_O(7),   \
                           SHM_O(8), shapes[0][0], shapes[0][1], SHM_HW(shapes[0]));                         \
    return 0;                                                                                                \
  }                                                                                                          \
  extern "C" int shm_bn##suffix##_infer(SHM_AOT_ARGS) {                                                      \
    SHM_CHECK_F32(7);                                                                                        \
    bn_act_infer<ACT>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_F(3), SHM_F(4), SHM_F(5)[0], SHM_O(6), shapes[0][0], \
                      shapes[0][1], SHM_HW(shapes[0]));                                                      \
    return 0;                                                                                                \
  }

// BatchNorm alone, + ReLU, + ReLU6
SHM_BN_ENTRIES(, 0)
SHM_BN_ENTRIES(_relu, 1)
SHM_BN_ENTRIES(_relu6, 2)

// BatchNorm (+ act) then depthwise 3x3, training: inputs x, gamma, beta, consts, moving mean,
// moving variance, w (C, 9); outputs out (N, C, OH, OW), mean, invstd, new moving mean and variance.
// gradient: inputs x, gamma, beta, mean, invstd, w, dout; outputs dx, dgamma, dbeta, dw
#define SHM_BN_DEPTHWISE_ENTRIES(suffix, ACT, S)                                                          \
  extern "C" int shm_bn##suffix##_depthwise3x3_s##S##_train(SHM_AOT_ARGS) {                             \
    SHM_CHECK_F32(12);                                                                                  \
    const int64_t* s = shapes[0];                                                                       \
    bn_act_depthwise_train<S, ACT>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_F(3), SHM_F(4), SHM_F(5), SHM_F(6), \
                                   SHM_O(7), SHM_O(8), SHM_O(9), SHM_O(10), SHM_O(11), s[0], s[1], s[2], \
                                   s[3], shapes[7][2], shapes[7][3]);                                   \
    return 0;                                                                                           \
  }                                                                                                     \
  extern "C" int shm_bn##suffix##_depthwise3x3_s##S##_train_grad(SHM_AOT_ARGS) {                        \
    SHM_CHECK_F32(11);                                                                                  \
    const int64_t* s = shapes[0];                                                                       \
    bn_act_depthwise_train_grad<S, ACT>(SHM_F(0), SHM_F(1), SHM_F(2), SHM_F(3), SHM_F(4), SHM_F(5),      \
                                        SHM_F(6), SHM_O(7), SHM_O(8), SHM_O(9), SHM_O(10), s[0], s[1],   \
                                        s[2], s[3], shapes[6][2], shapes[6][3]);                        \
    return 0;                                                                                           \
  }

SHM_BN_DEPTHWISE_ENTRIES(, 0, 1)
SHM_BN_DEPTHWISE_ENTRIES(, 0, 2)
SHM_BN_DEPTHWISE_ENTRIES(_relu, 1, 1)
SHM_BN_DEPTHWISE_ENTRIES(_relu, 1, 2)
SHM_BN_DEPTHWISE_ENTRIES(_relu6, 2, 1)
SHM_BN_DEPTHWISE_ENTRIES(_relu6, 2, 2)

// input x (N, C, H, W); output y (N, C, OH, OW) with OH = (H - 1) / 2 + 1
extern "C" int shm_maxpool3x3s2(SHM_AOT_ARGS) {
  SHM_CHECK_F32(2);
  const int64_t* s = shapes[0];
  maxpool_forward(SHM_F(0), SHM_O(1), s[0] * s[1], s[2], s[3], shapes[1][2], shapes[1][3]);
  return 0;
}

// inputs x, y, dy; output dx
extern "C" int shm_maxpool3x3s2_grad(SHM_AOT_ARGS) {
  SHM_CHECK_F32(4);
  const int64_t* s = shapes[0];
  maxpool_backward(SHM_F(0), SHM_F(1), SHM_F(2), SHM_O(3), s[0] * s[1], s[2], s[3], shapes[1][2],
                   shapes[1][3]);
  return 0;
}

// ---- softmax over the channels, cross-entropy of class indices (softmax.h) ----
namespace {
// parallel_for as a value softmax.h's templates can take
struct Parallel {
  template <typename Fn>
  void operator()(int64_t n, int64_t min_per_thread, Fn fn) const {
    parallel_for(n, min_per_thread, fn);
  }
};
bool is_i32(const char* dtype) { return std::strcmp(dtype, "int32") == 0; }
}  // namespace

// input x (N, C, H, W); output y, the softmax over C
extern "C" int shm_softmax_channels(SHM_AOT_ARGS) {
  SHM_CHECK_F32(2);
  const int64_t* s = shapes[0];
  shm_softmax::softmax_forward(Parallel(), SHM_F(0), SHM_O(1), s[0], s[1], SHM_HW(s));
  return 0;
}

// inputs y (the softmax), dy; output dx
extern "C" int shm_softmax_channels_grad(SHM_AOT_ARGS) {
  SHM_CHECK_F32(3);
  const int64_t* s = shapes[0];
  shm_softmax::softmax_backward(Parallel(), SHM_F(0), SHM_F(1), SHM_O(2), s[0], s[1], SHM_HW(s));
  return 0;
}

// inputs logits (N, C, H, W) float32, label (N, H, W) int32; output nll (N, H, W)
extern "C" int shm_softmax_nll(SHM_AOT_ARGS) {
  if (!is_f32(dtypes[0]) || !is_i32(dtypes[1]) || !is_f32(dtypes[2])) return 1;
  const int64_t* s = shapes[0];
  shm_softmax::nll_forward(Parallel(), SHM_F(0), static_cast<const int32_t*>(params[1]), SHM_O(2), s[0], s[1],
                           SHM_HW(s));
  return 0;
}

// inputs logits, label, dnll; output dlogits
extern "C" int shm_softmax_nll_grad(SHM_AOT_ARGS) {
  if (!is_f32(dtypes[0]) || !is_i32(dtypes[1]) || !is_f32(dtypes[2]) || !is_f32(dtypes[3])) return 1;
  const int64_t* s = shapes[0];
  shm_softmax::nll_backward(Parallel(), SHM_F(0), static_cast<const int32_t*>(params[1]), SHM_F(2), SHM_O(3), s[0],
                            s[1], SHM_HW(s));
  return 0;
}
