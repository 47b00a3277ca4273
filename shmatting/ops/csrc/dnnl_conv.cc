// Dense convolutions on oneDNN's blocked-layout kernels, for ``ops.Custom(func_type='aot')``.
//
// MindSpore 2.10's CPU Conv2D describes its tensors to oneDNN as plain NCHW, for which oneDNN
// (capped at AVX2, see shmatting/__init__.py) only has im2col + GEMM. Given ``format_tag::any``
// oneDNN picks its direct kernels on blocked layouts (nChw8c / nChw16c; a few shapes ask for one,
// see Geometry::preferred_layout); reordering the activations there and back costs less than the
// GEMM path saves on the network's k x k convolutions (measured per shape in docs/performance.md).
// This library links a private copy of MindSpore's libdnnl.so.3 (oneDNN 3.10, THREADPOOL CPU
// runtime; see lift_isa_cap) and hands it a thread pool of its own.
//
// Entry points (MindSpore's aot signature, inputs then outputs in ``params``; float32 NCHW):
//   shm_conv_same        x (N,C,H,W), w (O,C,K,K)          -> y (N,O,H,W)  stride 1, pad K/2
//   shm_conv_same_grad   x, w, dy                          -> dx, dw
//   shm_conv_same_biased       x, w, b (O)                 -> y            training, bias inside
//   shm_conv_same_biased_grad  x, w, dy                    -> dx, dw, db
//   shm_conv_same{,_biased}_on_data  as shm_conv_same{,_biased}, for inputs that are data,
//   shm_conv_same{,_biased}_wgrad    x, w, dy             -> dw[, db]     whose backward this is
//   shm_conv_same_bias{,_relu,_relu6}  x, w, b (O)         -> y            inference, fused
//   shm_deconv_s2        x (N,C,H,W), w (C,O,K,K)          -> y (N,O,2H,2W) torch ConvTranspose2d
//                                                             (stride 2, pad K/2, output_padding 1)
//   shm_deconv_s2_grad   x, w, dy                          -> dx, dw
// A non-zero return is an error (its message goes to stderr once).
//
// One convolution runs at a time (a mutex): the primitives, the scratch buffers and the pool are
// shared. Primitives are cached per shape; weights are reordered on every call (they change at
// every training step).

// The headers (PyPI's onednn-devel-cpu-gomp) are configured for OpenMP; the library is THREADPOOL.
#include "oneapi/dnnl/dnnl_config.h"
#undef DNNL_CPU_THREADING_RUNTIME
#undef DNNL_CPU_RUNTIME
#undef DNNL_GPU_RUNTIME
#define DNNL_CPU_THREADING_RUNTIME DNNL_RUNTIME_THREADPOOL
#define DNNL_CPU_RUNTIME DNNL_RUNTIME_THREADPOOL
#define DNNL_GPU_RUNTIME DNNL_RUNTIME_NONE
#include "oneapi/dnnl/dnnl.hpp"
#include "oneapi/dnnl/dnnl_threadpool.hpp"
#include "oneapi/dnnl/dnnl_threadpool_iface.hpp"
#include "oneapi/dnnl/dnnl_version.h"

#include <cpuid.h>
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "batch_norm.h"
#include "direct_conv.h"
#include "few_channel_conv.h"
#include "inverted_residual.h"
#include "small_k_gemm.h"
#include "thread_pool.h"
#include "tile_weight_grad.h"

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

// oneDNN's view of the pool (thread_pool.h): synchronous, so wait() has nothing to do.
class ThreadPool : public dnnl::threadpool_interop::threadpool_iface {
 public:
  explicit ThreadPool(int n) : pool_(n) {}
  int get_num_threads() const override { return pool_.size(); }
  bool get_in_parallel() const override { return shm_pool::in_parallel(); }
  uint64_t get_flags() const override { return 0; }
#if DNNL_VERSION_MAJOR > 3 || DNNL_VERSION_MINOR >= 11
  void wait() override {}  // 3.11 added it
#endif
  void parallel_for(int n, const std::function<void(int, int)>& fn) override { pool_.parallel_for(n, fn); }
  int64_t spin_ns() const { return pool_.spin_ns(); }

 private:
  shm_pool::Pool pool_;
};

// Growable 64-byte aligned buffers reused by every call. They stay resident between calls, each
// as large as the largest tensor ever put in it (about 100 MB at batch 8, 320x320), so the
// backward reuses the forward's once they are free: dy goes where the forward's output went, dx
// and then x where its input went. kDiffDstWei: dy again, when the weight gradient wants another
// layout than the input gradient.
enum Slot { kSrc, kWei, kDst, kDiffDstWei, kDiffWei, kScratch, kSlots };

class Arena {
 public:
  void* get(Slot slot, size_t bytes) {
    Buffer& b = buffers_[slot];
    if (b.size < bytes) {
      std::free(b.ptr);
      b.size = (bytes + 63) / 64 * 64;
      b.ptr = std::aligned_alloc(64, b.size);
      if (b.ptr == nullptr) {
        b.size = 0;
        throw std::bad_alloc();
      }
    }
    return b.ptr;
  }

  // Bytes held by every slot together (resident between calls).
  size_t bytes() const {
    size_t total = 0;
    for (const Buffer& b : buffers_) total += b.size;
    return total;
  }

 private:
  struct Buffer {
    void* ptr = nullptr;
    size_t size = 0;
  };
  Buffer buffers_[kSlots];
};

struct Runtime {
  std::mutex mutex;
  ThreadPool pool;
  dnnl::engine eng;
  dnnl::stream strm;
  Arena arena;
  Runtime()
      : pool(shm_pool::num_threads()),
        eng(dnnl::engine::kind::cpu, 0),
        strm(dnnl::threadpool_interop::make_stream(eng, &pool)) {}
};

// The instruction sets this library's oneDNN may use. MindSpore's own convolutions need oneDNN
// capped at AVX2 (ONEDNN_MAX_CPU_ISA, shmatting/__init__.py: on AVX-512 its plain-layout k x k
// convolutions fall to the reference kernel, 100x slower). Built against a private copy of that
// library (SHM_PRIVATE_ONEDNN, see shmatting/ops/build.py), these kernels lift the cap for
// themselves alone: AVX-512 where the CPU has it, AVX2 when built with SHM_KERNEL_ISA_AVX2
// (kernel_isa() there). Linked to MindSpore's own copy they must leave the setting alone.
void lift_isa_cap() {
#if defined(SHM_PRIVATE_ONEDNN) && defined(SHM_KERNEL_ISA_AVX2)
  dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx2);
#elif defined(SHM_PRIVATE_ONEDNN)
  dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core);
#endif
}

Runtime& runtime() {
  // never destroyed: kernels may run while Python exits
  static Runtime* rt = (lift_isa_cap(), new Runtime());
  return *rt;
}

// ---------------------------------------------------------------- the training GEMMs
// The BatchNorm + 1x1 training kernels multiply matrices of few rows and columns by a whole image
// (16 x 32 by 32 x 102400, and the weight gradient's 16 x 102400 by 102400 x 32). They run on this
// library's oneDNN, per column tile with the weight gradient as AVX-512 dot products where that is
// AVX-512 (gemms_per_tile). SHMATTING_KERNEL_GEMM_ISA=AVX2 (compiled in as SHM_GEMM_ISA_AVX2,
// shmatting/ops/build.py) sends them to MindSpore's own copy, capped at AVX2 (shmatting/__init__.py),
// one GEMM per image: the default on AMD Zen 4 until 2026-12-03, where the per-tile path on
// AVX-512 proved faster too (the step 3.25 -> 2.85 s, docs/performance.md).
using SgemmFn = decltype(&dnnl_threadpool_interop_sgemm);

// Whether a library's effective ``dnnl_cpu_isa_t`` includes AVX-512.
bool runs_avx512(int isa) { return (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core; }

// AMD family 19h with AVX-512 (Zen 4): AVX-512 on 256-bit units (Geometry::preferred_layout).
bool avx512_on_256_bit_units() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
  const bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
  if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
  const unsigned family = ((eax >> 8) & 0xf) + ((eax >> 20) & 0xff);
  return family == 0x19 && __builtin_cpu_supports("avx512f");
}

struct TrainingGemm {
  SgemmFn sgemm = &dnnl_threadpool_interop_sgemm;
  int isa = 0;  // the dnnl_cpu_isa_t its library runs on
};

TrainingGemm choose_training_gemm() {
  TrainingGemm own{&dnnl_threadpool_interop_sgemm, static_cast<int>(dnnl_get_effective_cpu_isa())};
#if defined(SHM_GEMM_ISA_AVX2)
  void* mindspore_onednn = dlopen("libdnnl.so.3", RTLD_NOW | RTLD_NOLOAD);
  if (mindspore_onednn == nullptr) return own;
  void* fn = dlsym(mindspore_onednn, "dnnl_threadpool_interop_sgemm");
  void* isa = dlsym(mindspore_onednn, "dnnl_get_effective_cpu_isa");
  if (fn == nullptr || isa == nullptr) return own;
  return {reinterpret_cast<SgemmFn>(fn), static_cast<int>(reinterpret_cast<dnnl_cpu_isa_t (*)()>(isa)())};
#else
  return own;
#endif
}

const TrainingGemm& training_gemm() {
  static const TrainingGemm chosen = choose_training_gemm();
  return chosen;
}

SgemmFn training_sgemm() { return training_gemm().sgemm; }

memory::desc any(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, tag::any);
}

dnnl::primitive_attr user_scratchpad(const dnnl::post_ops* ops = nullptr) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (ops != nullptr) attr.set_post_ops(*ops);
  return attr;
}

// ``user`` in the layout ``want`` (a reorder into an arena slot when they differ).
memory in_layout(Runtime& rt, memory user, const memory::desc& want, Slot slot) {
  if (user.get_desc() == want) return user;
  memory m(want, rt.eng, rt.arena.get(slot, want.get_size()));
  dnnl::reorder(user, m).execute(rt.strm, user, m);
  return m;
}

// Where a primitive writes ``user``: the user buffer itself, or an arena slot to reorder from.
memory out_layout(Runtime& rt, const memory& user, const memory::desc& have, Slot slot) {
  if (user.get_desc() == have) return user;
  return memory(have, rt.eng, rt.arena.get(slot, have.get_size()));
}

void copy_back(Runtime& rt, memory& from, memory& user) {
  if (from.get_data_handle() != user.get_data_handle())
    dnnl::reorder(from, user).execute(rt.strm, from, user);
}

memory scratchpad(Runtime& rt, const memory::desc& desc) {
  return memory(desc, rt.eng, rt.arena.get(kScratch, std::max<size_t>(desc.get_size(), 64)));
}

memory::desc plain(const memory::dims& dims, tag t) {
  return memory::desc(dims, memory::data_type::f32, t);
}

// ---------------------------------------------------------------- geometry of one layer
struct Geometry {
  bool deconv;
  memory::dim n, c, h, w, o, k;
  bool bias;  // the primitives add a bias (forward) and give its gradient (backward weights)
  memory::dims src() const { return {n, c, h, w}; }
  memory::dims wei() const { return {o, c, k, k}; }  // oneDNN's logical order, both kinds
  memory::dims dst() const { return deconv ? memory::dims{n, o, 2 * h, 2 * w} : memory::dims{n, o, h, w}; }
  memory::dims strides() const { return deconv ? memory::dims{2, 2} : memory::dims{1, 1}; }
  memory::dims pad_l() const { return {k / 2, k / 2}; }
  memory::dims pad_r() const { return deconv ? memory::dims{k / 2 - 1, k / 2 - 1} : pad_l(); }
  // the caller's weight layout: (O, C, K, K) for a convolution, (C, O, K, K) for torch's deconv
  tag wei_tag() const { return deconv ? tag::iohw : tag::oihw; }
  // a zero descriptor: no bias
  memory::desc bias_desc() const { return bias ? plain({o}, tag::a) : memory::desc(); }
  // The activations' layout to ask oneDNN for (any: its own choice), measured per shape on AVX-512
  // (docs/performance.md):
  // * maps of 8 but not 16 channels per block (24), where AVX-512 runs on 256-bit units (AMD Zen
  //   4): oneDNN pads them to 16-channel blocks and reorders into and out of the padded layout on
  //   its generic kernel (8x24x320x320: 34.5 against 12.8 ms); on 8-channel blocks it takes its
  //   AVX2 kernels. Forward and gradients at batch 8: 24->16 at 320x320 316 -> 268 ms, 24->24 at
  //   160x160 141 -> 97, 32->24 at 160x160 134 -> 112. With full-width AVX-512 units (AMD Zen 5)
  //   the padded 16-channel blocks are the faster: 24->16 68 -> 59 ms, 32->24 31 -> 24 ms.
  // * transposed convolutions: left to choose, oneDNN runs the forward on NHWC, and the reorder of
  //   the output back to NCHW is slow (8x16x320x320: 51 ms); on the blocks of the kernels' vector
  //   width (16 channels on AVX-512, 8 on AVX2, where 16-channel blocks have only a reference
  //   kernel) it is a blocked reorder.
  tag preferred_layout() const {
    if (deconv) {
      static const bool avx512 = runs_avx512(dnnl_get_effective_cpu_isa());
      const memory::dim block = avx512 ? 16 : 8;
      return c % block == 0 && o % block == 0 ? (avx512 ? tag::nChw16c : tag::nChw8c) : tag::any;
    }
    static const bool narrow_units = avx512_on_256_bit_units();
    const bool eights = (c % 16 != 0 || o % 16 != 0) && c % 8 == 0 && o % 8 == 0;
    return eights && narrow_units ? tag::nChw8c : tag::any;
  }
  memory::desc src_desc(tag t) const { return memory::desc(src(), memory::data_type::f32, t); }
  memory::desc dst_desc(tag t) const { return memory::desc(dst(), memory::data_type::f32, t); }
  std::tuple<bool, memory::dim, memory::dim, memory::dim, memory::dim, memory::dim, memory::dim, bool> key()
      const {
    return std::make_tuple(deconv, n, c, h, w, o, k, bias);
  }
};

Geometry geometry(bool deconv, int64_t** shapes, bool bias = false) {
  const int64_t* x = shapes[0];
  const int64_t* w = shapes[1];
  Geometry g{deconv, x[0], x[1], x[2], x[3], deconv ? w[1] : w[0], w[2], bias};
  return g;
}

// ---------------------------------------------------------------- training primitives
struct Training {
  dnnl::primitive_desc fwd_pd, bwd_data_pd, bwd_wei_pd;
  dnnl::primitive fwd, bwd_data, bwd_wei;
};

// The three primitives of one family (convolution or deconvolution: the same descriptors), with
// the activations in layout ``t``
template <typename Fwd, typename BwdData, typename BwdWei>
Training make_training_of(Runtime& rt, const Geometry& g, algorithm alg, tag t) {
  const auto attr = user_scratchpad();
  auto fwd = typename Fwd::primitive_desc(rt.eng, prop_kind::forward_training, alg, g.src_desc(t),
                                          any(g.wei()), g.bias_desc(), g.dst_desc(t), g.strides(),
                                          g.pad_l(), g.pad_r(), attr);
  auto bd = typename BwdData::primitive_desc(rt.eng, alg, g.src_desc(t), any(g.wei()), g.dst_desc(t),
                                             g.strides(), g.pad_l(), g.pad_r(), fwd, attr);
  auto bw = typename BwdWei::primitive_desc(rt.eng, alg, g.src_desc(t), any(g.wei()), g.bias_desc(),
                                            g.dst_desc(t), g.strides(), g.pad_l(), g.pad_r(), fwd, attr);
  Training tr;
  tr.fwd_pd = fwd, tr.bwd_data_pd = bd, tr.bwd_wei_pd = bw;
  tr.fwd = Fwd(fwd);
  tr.bwd_data = BwdData(bd);
  tr.bwd_wei = BwdWei(bw);
  return tr;
}

// oneDNN's reference kernels, alone ("ref:any") or inside a composed implementation (a transposed
// convolution on 16-channel blocks without AVX-512 runs as "conv:any+ref:any", about 100x slower)
bool reference_kernel(const dnnl::primitive_desc& pd) {
  return ("+" + std::string(pd.impl_info_str())).find("+ref") != std::string::npos;
}

// ``make(t)`` in the layer's preferred layout, or in oneDNN's own choice where it has no kernel for
// that layout but its reference one (an ISA cap or a CPU without them: a 6->16 3x3 layer forced onto
// 8-channel blocks took 13 s) or none at all.
template <typename Make, typename Reference>
auto in_preferred_layout(const Geometry& g, Make make, Reference is_reference) -> decltype(make(tag::any)) {
  const tag want = g.preferred_layout();
  if (want != tag::any) {
    try {
      auto made = make(want);
      if (!is_reference(made)) return made;
    } catch (const dnnl::error&) {
    }
  }
  return make(tag::any);
}

Training make_training(Runtime& rt, const Geometry& g) {
  auto make = [&](tag t) {
    if (g.deconv)
      return make_training_of<dnnl::deconvolution_forward, dnnl::deconvolution_backward_data,
                              dnnl::deconvolution_backward_weights>(rt, g, algorithm::deconvolution_direct, t);
    return make_training_of<dnnl::convolution_forward, dnnl::convolution_backward_data,
                            dnnl::convolution_backward_weights>(rt, g, algorithm::convolution_direct, t);
  };
  auto is_reference = [](const Training& tr) {
    return reference_kernel(tr.fwd_pd) || reference_kernel(tr.bwd_data_pd) || reference_kernel(tr.bwd_wei_pd);
  };
  return in_preferred_layout(g, make, is_reference);
}

Training& training(Runtime& rt, const Geometry& g) {
  static std::map<decltype(g.key()), Training> cache;
  auto it = cache.find(g.key());
  if (it == cache.end()) it = cache.emplace(g.key(), make_training(rt, g)).first;
  return it->second;
}

// ---------------------------------------------------------------- BatchNorm + act -> 1x1, training
// A BatchNorm (+ ReLU/ReLU6) and the 1x1 convolution that reads it, as one operator: the
// normalised map exists one column tile (a buffer in cache per thread) or one image (a reused
// buffer) at a time, in the forward and again for the weight gradient, so the step holds the
// BatchNorm's input alone (which its gradient reads anyway) and never the map (MobileNetV2's
// projection inputs, about 0.6 GB at batch 8, 320x320). Per tile, the backward is one pass; with
// the GEMMs on AVX-512 (AMD Zen 5) it took 4% off the step. Where they run on MindSpore's AVX2 copy
// it stays per image: sequential per-tile GEMMs had been slower than MindSpore's own 1x1
// convolution in a GRAPH step there (docs/performance.md).

struct NormConvShape {
  int64_t n, c, hw, o;
};

NormConvShape norm_conv_shape(int64_t** shapes, int w_index) {
  const int64_t* x = shapes[0];
  return {x[0], x[1], x[2] * x[3], shapes[w_index][0]};
}

// One GEMM spread over the pool by oneDNN (the same partition on every call: deterministic), on
// ``gemm`` (this library's sgemm by default).
void sgemm_pool(Runtime& rt, char ta, char tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
                SgemmFn gemm = &dnnl_threadpool_interop_sgemm) {
  if (gemm(ta, tb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc, &rt.pool) != dnnl_success)
    throw std::runtime_error("oneDNN sgemm failed");
}

// Column tiles of the images' (rows x HW) maps, all of a tile's maps together about 512 KB (in L2).
constexpr int64_t kTileFloats = 131072;

struct ColumnTiles {
  int64_t hw, cols, per_image, count;
  ColumnTiles(int64_t n, int64_t hw_, int64_t rows)
      : hw(hw_),
        cols(std::min(hw_, std::max<int64_t>(64, kTileFloats / rows / 16 * 16))),
        per_image((hw_ + cols - 1) / cols),
        count(n * per_image) {}
  int64_t image(int64_t t) const { return t / per_image; }
  int64_t first(int64_t t) const { return t % per_image * cols; }
  int64_t width(int64_t t) const { return std::min(cols, hw - first(t)); }
};

// Rows [0, rows) of n columns (row stride `stride`) fetched into cache, one row after the other:
// a tile's rows are far apart in memory, and read all at once, as a GEMM reads them, they came
// from memory at a third of its speed. AVX-512 builds (the ones with per-tile GEMMs) only.
void fetch_rows(const float* p, int64_t rows, int64_t stride, int64_t n) {
#ifdef __AVX512F__
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; j += 16) _mm_prefetch(reinterpret_cast<const char*>(p + r * stride + j), _MM_HINT_T1);
#endif
}

// The number of parts tiles_with_weight_grad splits the tiles into.
int64_t weight_grad_parts(const ColumnTiles& tiles) { return std::min<int64_t>(tiles.count, 8); }

// fn(tile, part's weight gradient, part) -> ok, over the tiles split into a fixed number of parts,
// each summing its own weight gradient in tile order; then dw = the parts' sum in order: the same
// sums whichever thread runs a part.
template <typename Fn>
void tiles_with_weight_grad(Runtime& rt, const ColumnTiles& tiles, int64_t wsize, float* dw, Fn fn) {
  static std::vector<float> partial;  // under rt.mutex
  const int64_t parts = weight_grad_parts(tiles);
  partial.assign(static_cast<size_t>(parts * wsize), 0.f);
  std::atomic<int> failed{0};
  rt.pool.parallel_for(static_cast<int>(parts), [&](int part, int) {
    for (int64_t t = part * tiles.count / parts; t < (part + 1) * tiles.count / parts; ++t)
      if (!fn(t, partial.data() + part * wsize, part)) failed = 1;
  });
  if (failed) throw std::runtime_error("oneDNN sgemm failed");
  std::copy(partial.begin(), partial.begin() + wsize, dw);
  for (int64_t part = 1; part < parts; ++part)
    for (int64_t i = 0; i < wsize; ++i) dw[i] += partial[part * wsize + i];
}

// part_dw (M x N) += A (M x n, lda) B (N x n, ldb)^T: a column tile's share of a weight gradient,
// as dot products on long tiles (tile_weight_grad.h), on the training GEMM otherwise.
bool tile_weight_grad(SgemmFn gemm, int64_t m, int64_t nn, int64_t n, const float* a, int64_t lda, const float* b,
                      int64_t ldb, float* part_dw) {
#ifdef __AVX512F__
  if (n >= shm_twg::kMinColumns) {
    shm_twg::accumulate(m, nn, n, a, lda, b, ldb, part_dw, nn);
    return true;
  }
#endif
  return gemm('N', 'T', m, nn, n, 1.f, a, lda, b, ldb, 1.f, part_dw, nn, nullptr) == dnnl_success;
}

// Per column tile where the training GEMMs run on AVX-512 (measured on AMD Zen 4 and 5), one GEMM
// per image over a whole-image buffer on AVX2 (equal to per tile there on Zen 4, and no AVX-512
// dot products for the weight gradient).
bool gemms_per_tile() {
  static const bool avx512 = runs_avx512(training_gemm().isa);
  return avx512;
}

// One image's normalised map (C x HW) into buf, channels spread over the pool.
template <int ACT>
void normalise_image(Runtime& rt, const float* x, const shm_bn::Affine* a, int64_t c_count, int64_t hw,
                     int64_t img, float* buf) {
  rt.pool.parallel_for(static_cast<int>(c_count), [&](int c, int) {
    shm_bn::normalise_plane<ACT>(x + (img * c_count + c) * hw, a[c], buf + c * hw, hw);
  });
}

// A thread's buffer for one tile's normalised map (C x cols), made from x.
template <int ACT>
const float* normalised_tile(const NormConvShape& s, const float* x, const shm_bn::Affine* a,
                             const ColumnTiles& tiles, int64_t t) {
  static thread_local std::vector<float> buf;
  buf.resize(static_cast<size_t>(s.c * tiles.cols));
  const int64_t img = tiles.image(t), j0 = tiles.first(t), n = tiles.width(t);
  for (int64_t c = 0; c < s.c; ++c)
    shm_bn::normalise_plane<ACT>(x + (img * s.c + c) * s.hw + j0, a[c], buf.data() + c * tiles.cols, n);
  return buf.data();
}

// y = W act(norm(x)), the normalised map made per tile or per image (gemms_per_tile)
template <int ACT>
void project(Runtime& rt, const NormConvShape& s, const float* x, const shm_bn::Affine* a, const float* w,
             float* y) {
  const SgemmFn gemm = training_sgemm();
  if (!gemms_per_tile()) {
    float* buf = static_cast<float*>(rt.arena.get(kSrc, sizeof(float) * s.c * s.hw));
    for (int64_t img = 0; img < s.n; ++img) {
      normalise_image<ACT>(rt, x, a, s.c, s.hw, img, buf);
      sgemm_pool(rt, 'N', 'N', s.o, s.hw, s.c, w, s.c, buf, s.hw, 0.f, y + img * s.o * s.hw, s.hw, gemm);
    }
    return;
  }
  const ColumnTiles tiles(s.n, s.hw, s.o + 2 * s.c);
  std::atomic<int> failed{0};
  rt.pool.parallel_for(static_cast<int>(tiles.count), [&](int t, int) {
    fetch_rows(x + tiles.image(t) * s.c * s.hw + tiles.first(t), s.c, s.hw, tiles.width(t));
    const float* buf = normalised_tile<ACT>(s, x, a, tiles, t);
    const int64_t j0 = tiles.first(t);
    if (gemm('N', 'N', s.o, tiles.width(t), s.c, 1.f, w, s.c, buf, tiles.cols, 0.f,
             y + tiles.image(t) * s.o * s.hw + j0, s.hw, nullptr) != dnnl_success)
      failed = 1;
  });
  if (failed) throw std::runtime_error("oneDNN sgemm failed");
}

// The BatchNorm's sums (shm_bn::channel_grad_sums) of one tile's columns, channel by channel,
// into sums (2 per channel), while the tile's x and dx are in cache.
template <int ACT>
void tile_channel_sums(const NormConvShape& s, const float* x, const float* dx, const shm_bn::Affine* a,
                       const float* mean, int64_t img, int64_t j0, int64_t n, double* sums) {
  for (int64_t c = 0; c < s.c; ++c) {
    const int64_t off = (img * s.c + c) * s.hw + j0;
    shm_bn::channel_grad_sums<ACT>(x + off, dx + off, a[c], mean[c], 0, n, &sums[2 * c], &sums[2 * c + 1]);
  }
}

// W^T (C x O) for input_grad_tile's register kernel where it has one for O inner products (1x1
// layers of 16, 24 or 32 outputs: the first blocks' projections, the first block's 32 -> 32), else
// empty.
std::vector<float> transposed_for_small_k(const float* w, int64_t o, int64_t c) {
  std::vector<float> wt;
#ifdef __AVX512F__
  if (!shm_skg::supports(o)) return wt;
  wt.resize(static_cast<size_t>(o * c));
  for (int64_t i = 0; i < o; ++i)
    for (int64_t j = 0; j < c; ++j) wt[j * o + i] = w[i * c + j];
#else
  (void)w, (void)o, (void)c;
#endif
  return wt;
}

// A tile's dx (C x n, row stride hw) = W^T dy (W: O x C) of a 1x1 layer: on the register kernel
// with few inner products (wt = transposed_for_small_k(W) not empty; oneDNN's sgemm packs both
// operands for each call and then does only O multiply-adds per output), on the training GEMM
// otherwise.
bool input_grad_tile(SgemmFn gemm, int64_t c, int64_t o, int64_t hw, const float* w, const std::vector<float>& wt,
                     const float* dyt, int64_t n, float* dxt) {
#ifdef __AVX512F__
  if (!wt.empty()) return shm_skg::multiply(c, n, o, wt.data(), o, dyt, hw, dxt, hw);
#endif
  return gemm('T', 'N', c, n, o, 1.f, w, c, dyt, hw, 0.f, dxt, hw, nullptr) == dnnl_success;
}

// dx = W^T dy (the gradient with respect to the normalised map) and dw = sum dy act(norm(x))^T,
// per tile (one pass, the tile's map in cache) or per image (gemms_per_tile). Per tile, the
// BatchNorm's sums (2 per channel) go into ``sums`` too (per part in tile order, the parts added in
// order: the same bits on any thread) and it returns true; per image it returns false.
template <int ACT>
bool project_grad(Runtime& rt, const NormConvShape& s, const float* x, const shm_bn::Affine* a, const float* mean,
                  const float* w, const float* dy, float* dx, float* dw, double* sums) {
  const SgemmFn gemm = training_sgemm();
  if (!gemms_per_tile()) {
    float* buf = static_cast<float*>(rt.arena.get(kSrc, sizeof(float) * s.c * s.hw));
    for (int64_t img = 0; img < s.n; ++img) {
      const float* dyi = dy + img * s.o * s.hw;
      sgemm_pool(rt, 'T', 'N', s.c, s.hw, s.o, w, s.c, dyi, s.hw, 0.f, dx + img * s.c * s.hw, s.hw, gemm);
      normalise_image<ACT>(rt, x, a, s.c, s.hw, img, buf);
      sgemm_pool(rt, 'N', 'T', s.o, s.c, s.hw, dyi, s.hw, buf, s.hw, img == 0 ? 0.f : 1.f, dw, s.c, gemm);
    }
    return false;
  }
  const ColumnTiles tiles(s.n, s.hw, s.o + 3 * s.c);
  std::vector<double> part_sums(static_cast<size_t>(weight_grad_parts(tiles) * 2 * s.c), 0.0);
  const std::vector<float> wt = transposed_for_small_k(w, s.o, s.c);
  tiles_with_weight_grad(rt, tiles, s.o * s.c, dw, [&](int64_t t, float* part_dw, int part) {
    const int64_t img = tiles.image(t), j0 = tiles.first(t), n = tiles.width(t);
    const float* dyt = dy + img * s.o * s.hw + j0;
    fetch_rows(dyt, s.o, s.hw, n);
    fetch_rows(x + img * s.c * s.hw + j0, s.c, s.hw, n);
    if (!input_grad_tile(gemm, s.c, s.o, s.hw, w, wt, dyt, n, dx + img * s.c * s.hw + j0)) return false;
    tile_channel_sums<ACT>(s, x, dx, a, mean, img, j0, n, part_sums.data() + part * 2 * s.c);
    const float* buf = normalised_tile<ACT>(s, x, a, tiles, t);
    return tile_weight_grad(gemm, s.o, s.c, n, dyt, s.hw, buf, tiles.cols, part_dw);
  });
  std::fill(sums, sums + 2 * s.c, 0.0);
  for (size_t i = 0; i < part_sums.size(); ++i) sums[i % (2 * s.c)] += part_sums[i];
  return true;
}

// inputs x, gamma, beta, consts, moving mean, moving variance, w (O, C); outputs y (N, O, H, W),
// mean, invstd, new moving mean and variance.
template <int ACT>
void bn_act_conv1x1_train(const NormConvShape& s, void** params) {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  auto in = [&](int i) { return static_cast<const float*>(params[i]); };
  auto out = [&](int i) { return static_cast<float*>(params[i]); };
  std::vector<shm_bn::Affine> a(static_cast<size_t>(s.c));
  rt.pool.parallel_for(static_cast<int>(s.c), [&](int c, int) {
    a[c] = shm_bn::channel_statistics(in(0), c, s.n, s.c, s.hw, in(1), in(2), in(3), in(4), in(5), out(8), out(9),
                                      out(10), out(11));
  });
  project<ACT>(rt, s, in(0), a.data(), in(6), out(7));
}

// inputs x, gamma, beta, mean, invstd, w, dy; outputs dx, dgamma, dbeta, dw. The gradient with
// respect to the normalised map goes into dx, which the BatchNorm's backward then overwrites.
template <int ACT>
void bn_act_conv1x1_train_grad(const NormConvShape& s, void** params) {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  const float *x = static_cast<const float*>(params[0]), *gamma = static_cast<const float*>(params[1]),
              *beta = static_cast<const float*>(params[2]), *mean = static_cast<const float*>(params[3]),
              *invstd = static_cast<const float*>(params[4]), *w = static_cast<const float*>(params[5]),
              *dy = static_cast<const float*>(params[6]);
  float *dx = static_cast<float*>(params[7]), *dgamma = static_cast<float*>(params[8]),
        *dbeta = static_cast<float*>(params[9]), *dw = static_cast<float*>(params[10]);
  std::vector<shm_bn::Affine> a(static_cast<size_t>(s.c));
  for (int64_t c = 0; c < s.c; ++c) a[c] = shm_bn::affine(gamma[c], beta[c], mean[c], invstd[c]);
  std::vector<double> sums(static_cast<size_t>(2 * s.c));
  const bool summed = project_grad<ACT>(rt, s, x, a.data(), mean, w, dy, dx, dw, sums.data());
  rt.pool.parallel_for(static_cast<int>(s.c), [&](int c, int) {
    if (summed)
      shm_bn::bn_act_channel_grad_apply<ACT>(x, gamma, beta, mean, invstd, dx, dx, dgamma, dbeta, c, s.n, s.c, s.hw,
                                             sums[2 * c], sums[2 * c + 1]);
    else
      shm_bn::bn_act_channel_grad<ACT>(x, gamma, beta, mean, invstd, dx, dx, dgamma, dbeta, c, s.n, s.c, s.hw);
  });
}

// ---------------------------------------------------------------- few output channels: direct
bool direct(const Geometry& g) { return !g.deconv && g.k > 1 && g.o <= shm_direct::kMaxOut; }

shm_direct::ConvShape direct_shape(const Geometry& g) { return {g.n, g.c, g.h, g.w, g.o, g.k}; }

// shm_direct's tasks on the pool
std::function<void(int64_t, const std::function<void(int64_t)>&)> on_pool(Runtime& rt) {
  return [&rt](int64_t tasks, const std::function<void(int64_t)>& fn) {
    rt.pool.parallel_for(static_cast<int>(tasks), [&fn](int i, int) { fn(i); });
  };
}

// y = act(conv(x, w) + b) (b may be null)
void forward_direct(Runtime& rt, const Geometry& g, const void* x, const void* w, const void* b, int act, void* y) {
  shm_direct::forward(direct_shape(g), static_cast<const float*>(x), static_cast<const float*>(w),
                      static_cast<const float*>(b), act, static_cast<float*>(y), on_pool(rt));
}

// Maps of at least 160 x 160, where the choices below measured faster. There, at batch 8, the 1x1
// expansions' output gradients are 118-315 MB; at 80 x 80 and below 12-39 MB, about the size of the
// last-level cache (32 MB on the AMD Zen 4 machine).
bool large_map(const Geometry& g) { return g.h * g.w >= 160 * 160; }

// ---------------------------------------------------------------- few channels on shm_fcc
// Where this build has AVX-512: 3x3 and 5x5 layers of at most 32 input and output channels on maps
// of at least 160 x 160 (the T-Net's stem and its decoder's layers at 160 and 320, its logits, the
// M-Net's outer layers and its last 5x5), which ran faster on few_channel_conv.h than on oneDNN's
// blocked kernels with their reorders or on the few-output direct kernel; at 80 x 80 (32 -> 32)
// oneDNN's weight gradient was the faster (docs/performance.md).
constexpr int64_t kFewChannels = 32;

bool few_channels(const Geometry& g) {
#ifdef __AVX512F__
  return !g.deconv && (g.k == 3 || g.k == 5) && g.c <= kFewChannels && g.o <= kFewChannels && large_map(g);
#else
  return false;
#endif
}

#ifdef __AVX512F__
shm_fcc::Shape fcc_shape(const Geometry& g) { return {g.n, g.c, g.h, g.w, g.o}; }

// the kernels' packed weights and weight-gradient parts (under rt.mutex)
struct FewChannelScratch {
  std::vector<float> packed, transposed, parts;
};
FewChannelScratch& few_channel_scratch() {
  static FewChannelScratch s;
  return s;
}
#endif

// y = act(conv(x, w) + b) (b may be null) on few_channel_conv.h
void forward_few_channels(Runtime& rt, const Geometry& g, const void* x, const void* w, const void* b, int act,
                          void* y) {
#ifdef __AVX512F__
  const auto* xf = static_cast<const float*>(x);
  const auto* wf = static_cast<const float*>(w);
  const auto* bf = static_cast<const float*>(b);
  auto& packed = few_channel_scratch().packed;
  if (g.k == 3) shm_fcc::forward<3>(fcc_shape(g), xf, wf, bf, act, static_cast<float*>(y), packed, on_pool(rt));
  else shm_fcc::forward<5>(fcc_shape(g), xf, wf, bf, act, static_cast<float*>(y), packed, on_pool(rt));
#endif
}

// A backward call's tensors: dx is null when the caller needs no input gradient (the layer reads
// the image), db when the layer has no bias.
struct Grads {
  void *x, *w, *dy, *dx, *dw, *db;
};

// params: x, w, dy, dx, dw[, db] (with_dx), or x, w, dy, dw[, db]
Grads grads(const Geometry& g, void** params, bool with_dx) {
  const int o = with_dx ? 1 : 0;  // the outputs after dx move up one slot without it
  return {params[0], params[1], params[2], with_dx ? params[3] : nullptr, params[3 + o],
          g.bias ? params[4 + o] : nullptr};
}

void backward_direct(Runtime& rt, const Geometry& g, const Grads& p) {
  static std::vector<float> part;  // the weight gradient's per-task sums (under rt.mutex)
  const shm_direct::ConvShape s = direct_shape(g);
  const auto* x = static_cast<const float*>(p.x);
  const auto* dy = static_cast<const float*>(p.dy);
  if (p.dx) {
    auto* wt = static_cast<float*>(rt.arena.get(kWei, sizeof(float) * g.o * g.c * g.k * g.k));
    shm_direct::input_grad(s, dy, static_cast<const float*>(p.w), wt, static_cast<float*>(p.dx), on_pool(rt));
  }
  shm_direct::weight_grad(s, x, dy, static_cast<float*>(p.dw), static_cast<float*>(p.db), part, on_pool(rt));
}

template <int K>
void backward_few_channels(Runtime& rt, const Geometry& g, const Grads& p) {
#ifdef __AVX512F__
  const shm_fcc::Shape s = fcc_shape(g);
  FewChannelScratch& scratch = few_channel_scratch();
  const auto* dy = static_cast<const float*>(p.dy);
  if (p.dx)
    shm_fcc::input_grad<K>(s, dy, static_cast<const float*>(p.w), static_cast<float*>(p.dx), scratch.transposed,
                           scratch.packed, on_pool(rt));
  shm_fcc::weight_grad<K>(s, static_cast<const float*>(p.x), dy, static_cast<float*>(p.dw), static_cast<float*>(p.db),
                          scratch.parts, on_pool(rt));
#endif
}

// ---------------------------------------------------------------- 1x1 without bias: GEMMs on NCHW
// Per image Y (O x HW) = W (O x C) X (C x HW), dX = W^T dY, and dW the sum over the images of
// dY X^T, each one GEMM spread over the pool, on the training GEMMs' oneDNN. No layout changes:
// the blocked 1x1 kernels spend as long reordering as multiplying (docs/performance.md).
bool plain_gemm(const Geometry& g) { return !g.deconv && g.k == 1 && !g.bias; }

// 16, 24 or 32 inputs (small_k_gemm.h's k) where it is built: per column tile of kSmallKColumns, the
// tile's input rows fetched first, the output streamed past the caches (the next kernel reads it
// map by map, long after). oneDNN's sgemm ran these at 68-97 GFLOP/s on AMD Zen 4, this at 115-164
// (docs/performance.md).
constexpr int64_t kSmallKColumns = 512;

bool forward_small_k(Runtime& rt, const Geometry& g, const float* x, const float* w, float* y) {
#ifdef __AVX512F__
  if (!shm_skg::supports(g.c)) return false;
  const int64_t hw = g.h * g.w, per_image = (hw + kSmallKColumns - 1) / kSmallKColumns;
  rt.pool.parallel_for(static_cast<int>(g.n * per_image), [&](int t, int) {
    const int64_t img = t / per_image, j0 = t % per_image * kSmallKColumns, n = std::min(kSmallKColumns, hw - j0);
    const float* xt = x + img * g.c * hw + j0;
    fetch_rows(xt, g.c, hw, n);
    shm_skg::multiply(g.o, n, g.c, w, g.c, xt, hw, y + img * g.o * hw + j0, hw, true);
  });
  return true;
#else
  return false;
#endif
}

void forward_gemm(Runtime& rt, const Geometry& g, const float* x, const float* w, float* y) {
  if (forward_small_k(rt, g, x, w, y)) return;
  const int64_t hw = g.h * g.w;
  for (int64_t img = 0; img < g.n; ++img)
    sgemm_pool(rt, 'N', 'N', g.o, hw, g.c, w, g.c, x + img * g.c * hw, hw, 0.f, y + img * g.o * hw, hw,
               training_sgemm());
}

// The backward in one pass over dY: per column tile the input gradient's columns and the tile's
// share of the weight gradient, by sequential GEMMs while the tiles are in cache. On large maps the
// weight gradient goes first: it reads the tile from memory row by row, and the input gradient's
// GEMM then finds it in cache (3-11% faster there; 1-4% slower on maps that fit the last-level
// cache, docs/performance.md).
void backward_gemm(Runtime& rt, const Geometry& g, const Grads& p) {
  const int64_t hw = g.h * g.w;
  const ColumnTiles tiles(g.n, hw, g.o + 2 * g.c);
  const auto* x = static_cast<const float*>(p.x);
  const auto* w = static_cast<const float*>(p.w);
  const auto* dy = static_cast<const float*>(p.dy);
  auto* dx = static_cast<float*>(p.dx);
  const SgemmFn gemm = training_sgemm();
  const bool weight_grad_first = large_map(g);
  const std::vector<float> wt = transposed_for_small_k(w, g.o, g.c);
  tiles_with_weight_grad(rt, tiles, g.o * g.c, static_cast<float*>(p.dw), [&](int64_t t, float* part_dw, int) {
    const int64_t img = tiles.image(t), j0 = tiles.first(t), n = tiles.width(t);
    const float* dyt = dy + img * g.o * hw + j0;
    const auto input_grad = [&] {
      return !dx || input_grad_tile(gemm, g.c, g.o, hw, w, wt, dyt, n, dx + img * g.c * hw + j0);
    };
    if (!weight_grad_first && !input_grad()) return false;
    if (!tile_weight_grad(gemm, g.o, g.c, n, dyt, hw, x + img * g.c * hw + j0, hw, part_dw)) return false;
    return !weight_grad_first || input_grad();
  });
}

// params: x, w, [b,] y
void forward(const Geometry& g, void** params) {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (few_channels(g)) return forward_few_channels(rt, g, params[0], params[1], g.bias ? params[2] : nullptr, 0,
                                                   params[g.bias ? 3 : 2]);
  if (direct(g)) return forward_direct(rt, g, params[0], params[1], g.bias ? params[2] : nullptr, 0,
                                       params[g.bias ? 3 : 2]);
  if (plain_gemm(g))
    return forward_gemm(rt, g, static_cast<const float*>(params[0]), static_cast<const float*>(params[1]),
                        static_cast<float*>(params[2]));
  Training& t = training(rt, g);
  memory x(plain(g.src(), tag::nchw), rt.eng, params[0]);
  memory w(plain(g.wei(), g.wei_tag()), rt.eng, params[1]);
  memory y(plain(g.dst(), tag::nchw), rt.eng, params[g.bias ? 3 : 2]);
  memory xb = in_layout(rt, x, t.fwd_pd.src_desc(0), kSrc);
  memory wb = in_layout(rt, w, t.fwd_pd.weights_desc(0), kWei);
  memory yb = out_layout(rt, y, t.fwd_pd.dst_desc(0), kDst);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xb},
                                       {DNNL_ARG_WEIGHTS, wb},
                                       {DNNL_ARG_DST, yb},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(rt, t.fwd_pd.scratchpad_desc())}};
  if (g.bias) args.emplace(DNNL_ARG_BIAS, memory(g.bias_desc(), rt.eng, params[2]));
  t.fwd.execute(rt.strm, args);
  copy_back(rt, yb, y);
  rt.strm.wait();
}

// The input gradient (skipped without p.dx) and the weight (and bias) gradient. dy is reordered
// into the blocked layout once when both passes take the same one.
void backward(const Geometry& g, const Grads& p) {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (few_channels(g)) return g.k == 3 ? backward_few_channels<3>(rt, g, p) : backward_few_channels<5>(rt, g, p);
  if (direct(g)) return backward_direct(rt, g, p);
  if (plain_gemm(g)) return backward_gemm(rt, g, p);
  Training& t = training(rt, g);
  memory x(plain(g.src(), tag::nchw), rt.eng, p.x);
  memory dy(plain(g.dst(), tag::nchw), rt.eng, p.dy);
  memory dw(plain(g.wei(), g.wei_tag()), rt.eng, p.dw);

  memory dyb;
  if (p.dx) {
    memory w(plain(g.wei(), g.wei_tag()), rt.eng, p.w);
    memory dx(plain(g.src(), tag::nchw), rt.eng, p.dx);
    dyb = in_layout(rt, dy, t.bwd_data_pd.diff_dst_desc(0), kDst);
    memory wb = in_layout(rt, w, t.bwd_data_pd.weights_desc(0), kWei);
    memory dxb = out_layout(rt, dx, t.bwd_data_pd.diff_src_desc(0), kSrc);
    t.bwd_data.execute(rt.strm, {{DNNL_ARG_DIFF_DST, dyb},
                                 {DNNL_ARG_WEIGHTS, wb},
                                 {DNNL_ARG_DIFF_SRC, dxb},
                                 {DNNL_ARG_SCRATCHPAD, scratchpad(rt, t.bwd_data_pd.scratchpad_desc())}});
    copy_back(rt, dxb, dx);
  }

  const memory::desc want_dy = t.bwd_wei_pd.diff_dst_desc(0);
  // without the input gradient, kDst is free for dy
  memory dyb2 = p.dx && dyb.get_desc() == want_dy ? dyb : in_layout(rt, dy, want_dy, p.dx ? kDiffDstWei : kDst);
  memory xb = in_layout(rt, x, t.bwd_wei_pd.src_desc(0), kSrc);  // dx's slot: copied back
  memory dwb = out_layout(rt, dw, t.bwd_wei_pd.diff_weights_desc(0), kDiffWei);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, xb},
                                       {DNNL_ARG_DIFF_DST, dyb2},
                                       {DNNL_ARG_DIFF_WEIGHTS, dwb},
                                       {DNNL_ARG_SCRATCHPAD, scratchpad(rt, t.bwd_wei_pd.scratchpad_desc())}};
  if (g.bias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(g.bias_desc(), rt.eng, p.db));
  t.bwd_wei.execute(rt.strm, args);
  copy_back(rt, dwb, dw);
  rt.strm.wait();
}

// ---------------------------------------------------------------- inference: conv + bias + act
// The O rows of n columns of a tile just written by its GEMM (row stride ld): y = act(y + b[o])
// while they are in cache (act: 0 none, 1 ReLU, 2 ReLU6).
void tile_bias_act(float* yt, int64_t ld, int64_t rows, int64_t n, const float* b, int act) {
  const float hi = act == 2 ? 6.f : 3.4e38f;
  for (int64_t o = 0; o < rows; ++o) {
    float* row = yt + o * ld;
    const float bias = b[o];
    if (act == 0) {
      for (int64_t j = 0; j < n; ++j) row[j] += bias;
    } else {
      for (int64_t j = 0; j < n; ++j) row[j] = std::min(std::max(row[j] + bias, 0.f), hi);
    }
  }
}

bool blocked(const Geometry& g) { return g.k > 1; }

// 1x1, plain layout: per image Y (O x HW) = W (O x C) X (C x HW). Run as column tiles, one
// sequential GEMM per tile on the pool, with the bias and the activation applied while the tile is
// in cache. (oneDNN's plain-layout convolution applies an activation post-op in a slow pass of its
// own: a 16->96 1x1 at 320x320 took 2.4 ms with the bias only, 72 ms with ReLU6; a pass of our own
// after it costs a second trip through memory; the blocked 1x1 kernels pay reorders.)
void gemm_bias_act(Runtime& rt, const Geometry& g, int act, void** params) {
  const float* x = static_cast<const float*>(params[0]);
  const float* w = static_cast<const float*>(params[1]);
  const float* b = static_cast<const float*>(params[2]);
  float* y = static_cast<float*>(params[3]);
  const int64_t hw = g.h * g.w;
  // a tile of O x cols floats of about 192 KB stays in L2; columns in whole cache lines
  const int64_t cols = std::min<int64_t>(hw, std::max<int64_t>(64, (49152 / g.o) / 16 * 16));
  const int64_t per_image = (hw + cols - 1) / cols;
  std::atomic<int> failed{0};
  rt.pool.parallel_for(static_cast<int>(g.n * per_image), [&](int task, int) {
    const int64_t img = task / per_image, j0 = task % per_image * cols;
    const int64_t n = std::min(cols, hw - j0);
    float* yt = y + img * g.o * hw + j0;
    const dnnl_status_t st = dnnl_threadpool_interop_sgemm(
        'N', 'N', g.o, n, g.c, 1.f, w, g.c, x + img * g.c * hw + j0, hw, 0.f, yt, hw, nullptr);
    if (st != dnnl_success) {
      failed = 1;
      return;
    }
    tile_bias_act(yt, hw, g.o, n, b, act);
  });
  if (failed) throw std::runtime_error("oneDNN sgemm failed");
}

// C (m x n, ldc) = A (m x k, lda) B (k x n, ldb) on the calling thread, for inference: few inner
// products (small_k_gemm.h: the early expansions, the stem's 27 taps) where it is built, oneDNN's
// sgemm otherwise. Returns false when oneDNN fails.
bool inference_sgemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                     float* c, int64_t ldc) {
#ifdef __AVX512F__
  if (shm_skg::multiply(m, n, k, a, lda, b, ldb, c, ldc)) return true;
#endif
  return dnnl_threadpool_interop_sgemm('N', 'N', m, n, k, 1.f, a, lda, b, ldb, 0.f, c, ldc, nullptr) == dnnl_success;
}

// Inference, k x k with few inputs (K = C k k <= 64: the stem's 3 -> 32 3x3, the M-Net's first
// 6 -> 16), plain layout: per tile of R output rows the patches (K x R W) are gathered into a
// buffer in cache and one sequential GEMM writes the tile straight into the NCHW output, the bias
// and the activation applied while it is in cache. oneDNN's blocked kernel ran the stem at about
// 30 GFLOP/s at batch 1 and reordered its output back (3.2 -> 2.3 ms, 6 -> 16: 2.7 -> 2.2 ms;
// with K = 144 and more the GEMM lost to oneDNN: 16 -> 16 at 320x320 4.6 -> 5.0 ms).
constexpr int64_t kIm2colMaxK = 64;

bool im2col(const Geometry& g) { return !g.deconv && g.k > 1 && g.c * g.k * g.k <= kIm2colMaxK; }

// rows [oh0, oh0 + rows) of image ``xi``'s patches: row (c, kh, kw) of P holds x[c][oh + kh - p][ow + kw - p]
void gather_patches(const Geometry& g, const float* xi, int64_t oh0, int64_t rows, float* P) {
  const int64_t H = g.h, W = g.w, k = g.k, pad = k / 2, n = rows * W;
  for (int64_t c = 0; c < g.c; ++c)
    for (int64_t kh = 0; kh < k; ++kh)
      for (int64_t kw = 0; kw < k; ++kw) {
        float* dst = P + ((c * k + kh) * k + kw) * n;
        const int64_t shift = kw - pad, lo = std::max<int64_t>(0, -shift), hi = std::min(W, W - shift);
        for (int64_t r = 0; r < rows; ++r) {
          float* d = dst + r * W;
          const int64_t ih = oh0 + r + kh - pad;
          if (ih < 0 || ih >= H) {
            std::memset(d, 0, sizeof(float) * W);
            continue;
          }
          const float* src = xi + (c * H + ih) * W + shift;
          for (int64_t j = 0; j < lo; ++j) d[j] = 0.f;
          std::memcpy(d + lo, src + lo, sizeof(float) * (hi - lo));
          for (int64_t j = hi; j < W; ++j) d[j] = 0.f;
        }
      }
}

void im2col_bias_act(Runtime& rt, const Geometry& g, int act, void** params) {
  const float* x = static_cast<const float*>(params[0]);
  const float* w = static_cast<const float*>(params[1]);
  const float* b = static_cast<const float*>(params[2]);
  float* y = static_cast<float*>(params[3]);
  const int64_t HW = g.h * g.w, K = g.c * g.k * g.k;
  const int64_t R = std::max<int64_t>(1, std::min<int64_t>(g.h, 2048 / g.w)), per_image = (g.h + R - 1) / R;
  std::atomic<int> failed{0};
  rt.pool.parallel_for(static_cast<int>(g.n * per_image), [&](int task, int) {
    static thread_local std::vector<float> P;
    P.resize(static_cast<size_t>(K * R * g.w));
    const int64_t img = task / per_image, oh0 = task % per_image * R, rows = std::min(R, g.h - oh0), n = rows * g.w;
    gather_patches(g, x + img * g.c * HW, oh0, rows, P.data());
    float* yt = y + img * g.o * HW + oh0 * g.w;
    if (!inference_sgemm(g.o, n, K, w, K, P.data(), n, yt, HW)) {
      failed = 1;
      return;
    }
    tile_bias_act(yt, HW, g.o, n, b, act);
  });
  if (failed) throw std::runtime_error("oneDNN sgemm failed");
}

struct Inference {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::primitive prim;
};

Inference& inference(Runtime& rt, const Geometry& g, int act) {
  static std::map<std::tuple<decltype(g.key()), int>, Inference> cache;
  const auto key = std::make_tuple(g.key(), act);
  auto it = cache.find(key);
  if (it == cache.end()) {
    // k x k: blocked layouts, the activation fused as a post-op
    dnnl::post_ops ops;
    if (act == 1) ops.append_eltwise(algorithm::eltwise_relu, 0.f, 0.f);
    if (act == 2) ops.append_eltwise(algorithm::eltwise_clip, 0.f, 6.f);
    auto make = [&](tag t) {
      return dnnl::convolution_forward::primitive_desc(
          rt.eng, prop_kind::forward_inference, algorithm::convolution_direct, g.src_desc(t), any(g.wei()),
          plain({g.o}, tag::a), g.dst_desc(t), g.strides(), g.pad_l(), g.pad_r(), user_scratchpad(&ops));
    };
    auto pd = in_preferred_layout(g, make, reference_kernel);
    it = cache.emplace(key, Inference{pd, dnnl::convolution_forward(pd)}).first;
  }
  return it->second;
}

void forward_bias_act(const Geometry& g, int act, void** params) {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  if (!blocked(g)) return gemm_bias_act(rt, g, act, params);
  if (few_channels(g) && !im2col(g))
    return forward_few_channels(rt, g, params[0], params[1], params[2], act, params[3]);
  if (direct(g)) return forward_direct(rt, g, params[0], params[1], params[2], act, params[3]);
  if (im2col(g)) return im2col_bias_act(rt, g, act, params);
  Inference& f = inference(rt, g, act);
  memory x(plain(g.src(), tag::nchw), rt.eng, params[0]);
  memory w(plain(g.wei(), tag::oihw), rt.eng, params[1]);
  memory b(plain({g.o}, tag::a), rt.eng, params[2]);
  memory y(plain(g.dst(), tag::nchw), rt.eng, params[3]);
  memory xb = in_layout(rt, x, f.pd.src_desc(), kSrc);
  memory wb = in_layout(rt, w, f.pd.weights_desc(), kWei);
  memory yb = out_layout(rt, y, f.pd.dst_desc(), kDst);
  f.prim.execute(rt.strm, {{DNNL_ARG_SRC, xb},
                           {DNNL_ARG_WEIGHTS, wb},
                           {DNNL_ARG_BIAS, b},
                           {DNNL_ARG_DST, yb},
                           {DNNL_ARG_SCRATCHPAD, scratchpad(rt, f.pd.scratchpad_desc())}});
  copy_back(rt, yb, y);
  rt.strm.wait();
}

// ---- a MobileNetV2 inverted-residual block for inference (inverted_residual.h) ----
std::atomic<int> ir_gemm_failed{0};

// One GEMM on the calling thread (inside a pool task: errors are flagged, not thrown)
void sgemm_one_thread(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc) {
  if (!inference_sgemm(m, n, k, a, lda, b, ldb, c, ldc)) ir_gemm_failed = 1;
}

int64_t elements(int ndim, const int64_t* shape) {
  int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[i];
  return n;
}

// inputs x, [we (E, C), be], wd (E, 9), bd, wp (O, E), bp (the weights may keep their layers' 4-D
// shapes: only their sizes are checked); output y
shm_ir::Shape ir_shape(int nparam, const int* ndims, int64_t** shapes, int64_t S, bool residual) {
  const bool expand = nparam == 8;
  const int64_t* x = shapes[0];
  const int wd = expand ? 3 : 1;
  const shm_ir::Shape s{x[0], x[1], x[2], x[3], shapes[wd][0], shapes[wd + 2][0], S, expand, residual};
  auto size = [&](int i) { return elements(ndims[i], shapes[i]); };
  const bool ok = (nparam == 8 || nparam == 6) && ndims[0] == 4 &&
                  (expand ? size(1) == s.e * s.c && size(2) == s.e : s.e == s.c) && size(wd) == s.e * 9 &&
                  size(wd + 1) == s.e && size(wd + 2) == s.o * s.e && size(wd + 3) == s.o &&
                  (!residual || (S == 1 && s.o == s.c));
  if (!ok) throw std::invalid_argument("inconsistent inverted-residual shapes");
  return s;
}

template <int S, int ACT>
void inverted_residual(int nparam, void** params, const int* ndims, int64_t** shapes, bool residual) {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  const shm_ir::Shape s = ir_shape(nparam, ndims, shapes, S, residual);
  auto f = [&](int i) { return static_cast<const float*>(params[i]); };
  const int wd = s.expand ? 3 : 1;
  const shm_ir::Weights p{s.expand ? f(1) : nullptr, s.expand ? f(2) : nullptr, f(wd), f(wd + 1), f(wd + 2),
                          f(wd + 3)};
  float* y = static_cast<float*>(params[nparam - 1]);
  ir_gemm_failed = 0;
  if (shm_ir::in_bands(s)) {
    shm_ir::forward_bands<S, ACT>(s, p, f(0), y, rt.pool, sgemm_one_thread);
  } else {
    auto big_gemm = [&](int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                        float* c, int64_t ldc) { sgemm_pool(rt, 'N', 'N', m, n, k, a, lda, b, ldb, 0.f, c, ldc); };
    const size_t floats = static_cast<size_t>(s.e * (s.h * s.w + s.oh() * s.ow()));
    float* buf = static_cast<float*>(rt.arena.get(kScratch, sizeof(float) * floats));
    shm_ir::forward_maps<S, ACT>(s, p, f(0), y, rt.pool, big_gemm, buf);
  }
  if (ir_gemm_failed) throw std::runtime_error("oneDNN sgemm failed");
}

bool all_f32(const char** dtypes, int n) {
  for (int i = 0; i < n; ++i)
    if (std::strcmp(dtypes[i], "float32") != 0) return false;
  return true;
}

template <typename Fn>
int guarded(const char* name, Fn fn) {
  try {
    fn();
    return 0;
  } catch (const dnnl::error& e) {
    std::fprintf(stderr, "shmatting %s: oneDNN error %d: %s\n", name, static_cast<int>(e.status),
                 e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "shmatting %s: %s\n", name, e.what());
  }
  return 1;
}

}  // namespace

#define SHM_AOT_ARGS int, void **params, int *, int64_t **shapes, const char **dtypes, void *, void *

// The bytes the kernels' scratch buffers hold between calls (for tests and memory reports).
extern "C" int64_t shm_dnnl_arena_bytes() {
  Runtime& rt = runtime();
  std::lock_guard<std::mutex> lock(rt.mutex);
  return static_cast<int64_t>(rt.arena.bytes());
}

// How long the pool's idle threads poll before sleeping, in nanoseconds (thread_pool.h), and what
// the rule gives a pool of ``threads`` in this process's present environment and affinity.
extern "C" int64_t shm_dnnl_pool_spin_ns() { return runtime().pool.spin_ns(); }
extern "C" int64_t shm_dnnl_spin_ns_for(int threads) { return shm_pool::spin_ns_for(threads); }

// The instruction set this library's oneDNN runs on (a dnnl_cpu_isa_t value), for tests and
// benchmarks.
extern "C" int shm_dnnl_effective_isa() {
  runtime();
  return static_cast<int>(dnnl::get_effective_cpu_isa());
}

// The instruction set (a dnnl_cpu_isa_t value) the training GEMMs run on: this library's oneDNN's,
// or AVX2 on MindSpore's copy (SHMATTING_KERNEL_GEMM_ISA=AVX2).
extern "C" int shm_dnnl_gemm_isa() {
  runtime();
  return training_gemm().isa;
}

// The training entries: a forward (x, w[, b] -> y) and its backward (x, w, dy -> [dx,] dw[, db]).
#define SHM_FORWARD_ENTRY(name, DECONV, BIAS)                                              \
  extern "C" int name(SHM_AOT_ARGS) {                                                      \
    if (!all_f32(dtypes, 3 + (BIAS))) return 1;                                            \
    return guarded(#name, [&] { forward(geometry(DECONV, shapes, BIAS), params); });       \
  }
#define SHM_BACKWARD_ENTRY(name, DECONV, BIAS, WITH_DX)                                    \
  extern "C" int name(SHM_AOT_ARGS) {                                                      \
    if (!all_f32(dtypes, 4 + (BIAS) + (WITH_DX))) return 1;                                \
    return guarded(#name, [&] {                                                            \
      const Geometry g = geometry(DECONV, shapes, BIAS);                                   \
      backward(g, grads(g, params, WITH_DX));                                              \
    });                                                                                    \
  }

SHM_FORWARD_ENTRY(shm_conv_same, false, false)
SHM_BACKWARD_ENTRY(shm_conv_same_grad, false, false, true)
SHM_FORWARD_ENTRY(shm_conv_same_biased, false, true)
SHM_BACKWARD_ENTRY(shm_conv_same_biased_grad, false, true, true)
SHM_FORWARD_ENTRY(shm_deconv_s2, true, false)
SHM_BACKWARD_ENTRY(shm_deconv_s2_grad, true, false, true)
// The forward again under another name, for layers whose input is data: MindSpore caches a custom
// operator's backward by the operator's function, so those layers' weights-only backward needs a
// function of its own.
SHM_FORWARD_ENTRY(shm_conv_same_on_data, false, false)
SHM_BACKWARD_ENTRY(shm_conv_same_wgrad, false, false, false)
SHM_FORWARD_ENTRY(shm_conv_same_biased_on_data, false, true)
SHM_BACKWARD_ENTRY(shm_conv_same_biased_wgrad, false, true, false)

#define SHM_CONV_BIAS_ENTRY(suffix, ACT)                                                      \
  extern "C" int shm_conv_same_bias##suffix(SHM_AOT_ARGS) {                                  \
    if (!all_f32(dtypes, 4)) return 1;                                                        \
    return guarded("shm_conv_same_bias" #suffix,                                             \
                   [&] { forward_bias_act(geometry(false, shapes), ACT, params); });          \
  }

SHM_CONV_BIAS_ENTRY(, 0)
SHM_CONV_BIAS_ENTRY(_relu, 1)
SHM_CONV_BIAS_ENTRY(_relu6, 2)

// BatchNorm (+ act) then a 1x1 convolution without bias, training:
//   shm_bn{,_relu,_relu6}_conv1x1_train       x, gamma, beta, consts, moving mean, moving var, w (O, C)
//                                              -> y (N, O, H, W), mean, invstd, new mean, new var
//   shm_bn{,_relu,_relu6}_conv1x1_train_grad  x, gamma, beta, mean, invstd, w, dy -> dx, dgamma, dbeta, dw
#define SHM_BN_CONV1X1_ENTRIES(suffix, ACT)                                                    \
  extern "C" int shm_bn##suffix##_conv1x1_train(SHM_AOT_ARGS) {                              \
    if (!all_f32(dtypes, 12)) return 1;                                                       \
    return guarded("shm_bn" #suffix "_conv1x1_train",                                        \
                   [&] { bn_act_conv1x1_train<ACT>(norm_conv_shape(shapes, 6), params); });  \
  }                                                                                           \
  extern "C" int shm_bn##suffix##_conv1x1_train_grad(SHM_AOT_ARGS) {                         \
    if (!all_f32(dtypes, 11)) return 1;                                                       \
    return guarded("shm_bn" #suffix "_conv1x1_train_grad",                                   \
                   [&] { bn_act_conv1x1_train_grad<ACT>(norm_conv_shape(shapes, 5), params); }); \
  }

SHM_BN_CONV1X1_ENTRIES(, 0)
SHM_BN_CONV1X1_ENTRIES(_relu, 1)
SHM_BN_CONV1X1_ENTRIES(_relu6, 2)

// MobileNetV2 inverted-residual block, inference, BatchNorms folded (inverted_residual.h):
//   shm_inverted_residual_s{1,2}[_res]{,_relu,_relu6}  x, [we (E, C), be (E)], wd (E, 9), bd (E),
//   wp (O, E), bp (O) -> y (N, O, ceil(H / s), ceil(W / s)); the activation after the expansion and
//   the depthwise layer; _res adds x to the output.
#define SHM_IR_ENTRY(S, res, RES, suffix, ACT)                                                                \
  extern "C" int shm_inverted_residual_s##S##res##suffix(int nparam, void** params, int* ndims,               \
                                                         int64_t** shapes, const char** dtypes, void*, void*) { \
    if (!all_f32(dtypes, nparam)) return 1;                                                                 \
    return guarded("shm_inverted_residual_s" #S #res #suffix,                                               \
                   [&] { inverted_residual<S, ACT>(nparam, params, ndims, shapes, RES); });                  \
  }

SHM_IR_ENTRY(1, , false, , 0)
SHM_IR_ENTRY(1, , false, _relu, 1)
SHM_IR_ENTRY(1, , false, _relu6, 2)
SHM_IR_ENTRY(1, _res, true, , 0)
SHM_IR_ENTRY(1, _res, true, _relu, 1)
SHM_IR_ENTRY(1, _res, true, _relu6, 2)
SHM_IR_ENTRY(2, , false, , 0)
SHM_IR_ENTRY(2, , false, _relu, 1)
SHM_IR_ENTRY(2, , false, _relu6, 2)
