// Public entry points: argument checks, then dispatch to the ISA-specific table.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "ArgumentChecks.h"
#include "Internal.h"
#include "ThreadPool.h"

namespace lathe::cpu {
namespace detail {
namespace {

std::atomic<bool> g_force_portable{false};

bool portableRequestedByEnvironment() {
  const char* env = std::getenv("LATHE_CPU_KERNELS");
  return env != nullptr && std::strcmp(env, "portable") == 0;
}

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};

struct ScratchBuffer {
  std::unique_ptr<float, AlignedFree> data;
  size_t capacity = 0;
};

}  // namespace

bool cpuHasAvx512() {
#if defined(__x86_64__) && defined(__GNUC__)
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

const KernelTable& activeKernels() {
#if defined(LATHE_CPU_HAVE_AVX512_TU)
  static const bool env_portable = portableRequestedByEnvironment();
  if (cpuHasAvx512() && !env_portable && !g_force_portable.load(std::memory_order_relaxed)) return avx512Kernels();
#endif
  return portableKernels();
}

void forcePortableKernels(bool force) { g_force_portable.store(force, std::memory_order_relaxed); }

float* scratchFloats(ScratchSlot slot, size_t count) {
  thread_local ScratchBuffer buffers[static_cast<int>(ScratchSlot::Count)];
  ScratchBuffer& buffer = buffers[static_cast<int>(slot)];
  if (buffer.capacity < count) {
    size_t bytes = ((count * sizeof(float) + 63) / 64) * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (p == nullptr) throw std::bad_alloc();
    buffer.data.reset(static_cast<float*>(p));
    buffer.capacity = count;
  }
  return buffer.data.get();
}

}  // namespace detail

namespace {

using detail::fail;
using detail::requireAct;
using detail::requireAtLeast;
using detail::requireNonNegative;
using detail::requirePointer;

}  // namespace

void gemm(ThreadPool& pool, const GemmArgs& a) {
  const char* k = "gemm";
  requireNonNegative(k, "M", a.M);
  requireNonNegative(k, "N", a.N);
  requireNonNegative(k, "K", a.K);
  requireAct(k, a.act);
  if (a.M == 0 || a.N == 0) return;
  requirePointer(k, "C", a.C);
  requireAtLeast(k, "ldc", a.ldc, "N", a.N);
  const PackedWeight* packed = a.packed_b;
  if (packed != nullptr) {
    if (!a.trans_b || a.trans_a) fail(k, "a packed B needs trans_b and no trans_a");
    if (packed->N() != a.N || packed->K() != a.K)
      fail(k, "packed B is " + std::to_string(packed->N()) + "x" + std::to_string(packed->K()) + ", expected N x K = " +
                  std::to_string(a.N) + "x" + std::to_string(a.K));
  }
  if (a.K > 0) {
    requirePointer(k, "A", a.A);
    requireAtLeast(k, "lda", a.lda, a.trans_a ? "M" : "K", a.trans_a ? a.M : a.K);
    if (packed == nullptr) {
      requirePointer(k, "B", a.B);
      requireAtLeast(k, "ldb", a.ldb, a.trans_b ? "K" : "N", a.trans_b ? a.K : a.N);
    }
  }
  if (a.residual != nullptr) requireAtLeast(k, "ldr", a.ldr, "N", a.N);
  if (a.accumulate && (a.act != Act::None || a.residual != nullptr))
    fail(k, "accumulate cannot be combined with an activation or a residual");
  const detail::KernelTable& kernels = detail::activeKernels();
  if (packed != nullptr && packed->layout() != &kernels) {
    // Packed by the other kernel build (forcePortableKernels changed since): use B as stored.
    if (a.K > 0 && a.B == nullptr) fail(k, "packed B has another kernel build's layout and B is null");
    GemmArgs unpacked = a;
    unpacked.packed_b = nullptr;
    return kernels.gemm(pool, unpacked);
  }
  kernels.gemm(pool, a);
}

void PackedWeight::Free::operator()(float* p) const { std::free(p); }

PackedWeight::PackedWeight(ThreadPool& pool, const float* B, int64_t ldb, int64_t N, int64_t K) : N_(N), K_(K) {
  const char* k = "PackedWeight";
  requireNonNegative(k, "N", N);
  requireNonNegative(k, "K", K);
  if (N > 0 && K > 0) {
    requirePointer(k, "B", B);
    requireAtLeast(k, "ldb", ldb, "K", K);
  }
  const detail::KernelTable& kernels = detail::activeKernels();
  layout_ = &kernels;
  const int64_t floats = kernels.packedWeightFloats(N, K);
  bytes_ = static_cast<size_t>(floats) * sizeof(float);
  void* p = std::aligned_alloc(64, (bytes_ / 64 + 1) * 64);
  if (p == nullptr) throw std::bad_alloc();
  data_.reset(static_cast<float*>(p));
  if (floats > 0) kernels.packWeight(pool, B, ldb, N, K, data_.get());
}

void embedding(ThreadPool& pool, const int32_t* ids, const float* table, float* out, int64_t rows, int64_t C) {
  const char* k = "embedding";
  requireNonNegative(k, "rows", rows);
  requireNonNegative(k, "C", C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "ids", ids);
  requirePointer(k, "table", table);
  requirePointer(k, "out", out);
  detail::activeKernels().embedding(pool, ids, table, out, rows, C);
}

void addLearnedPositions(ThreadPool& pool, float* x, const float* pos, int64_t B, int64_t T, int64_t C,
                         int64_t pos_offset) {
  const char* k = "addLearnedPositions";
  requireNonNegative(k, "B", B);
  requireNonNegative(k, "T", T);
  requireNonNegative(k, "C", C);
  requireNonNegative(k, "pos_offset", pos_offset);
  if (B == 0 || T == 0 || C == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "pos", pos);
  detail::activeKernels().addLearnedPositions(pool, x, pos, B, T, C, pos_offset);
}

void addSinusoidalPositions(ThreadPool& pool, float* x, int64_t B, int64_t T, int64_t C, int64_t pos_offset) {
  const char* k = "addSinusoidalPositions";
  requireNonNegative(k, "B", B);
  requireNonNegative(k, "T", T);
  requireNonNegative(k, "C", C);
  requireNonNegative(k, "pos_offset", pos_offset);
  if (B == 0 || T == 0 || C == 0) return;
  requirePointer(k, "x", x);
  detail::activeKernels().addSinusoidalPositions(pool, x, B, T, C, pos_offset);
}

void layerNorm(ThreadPool& pool, const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t C,
               float eps) {
  const char* k = "layerNorm";
  requireNonNegative(k, "rows", rows);
  requireNonNegative(k, "C", C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "w", w);
  requirePointer(k, "y", y);
  detail::activeKernels().layerNorm(pool, x, w, b, y, rows, C, eps);
}

void rmsNorm(ThreadPool& pool, const float* x, const float* w, float* y, int64_t rows, int64_t C, float eps) {
  const char* k = "rmsNorm";
  requireNonNegative(k, "rows", rows);
  requireNonNegative(k, "C", C);
  if (rows == 0 || C == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "w", w);
  requirePointer(k, "y", y);
  detail::activeKernels().rmsNorm(pool, x, w, y, rows, C, eps);
}

void rope(ThreadPool& pool, float* x, int64_t B, int64_t T, int64_t H, int64_t D, float theta, int64_t pos_offset) {
  if (!detail::checkRopeArgs("rope", "x", x, B, T, H, D, theta, pos_offset)) return;
  detail::activeKernels().rope(pool, x, B, T, H, D, theta, pos_offset);
}

void attention(ThreadPool& pool, const AttentionArgs& a) {
  const char* k = "attention";
  requireNonNegative(k, "B", a.B);
  requireNonNegative(k, "T", a.T);
  requireNonNegative(k, "H", a.H);
  requireNonNegative(k, "Hkv", a.Hkv);
  requireNonNegative(k, "D", a.D);
  if (a.B == 0 || a.T == 0 || a.H == 0 || a.D == 0) return;
  if (a.Hkv <= 0 || a.H % a.Hkv != 0)
    fail(k, "H (" + std::to_string(a.H) + ") must be a positive multiple of Hkv (" + std::to_string(a.Hkv) + ")");
  requirePointer(k, "q", a.q);
  requirePointer(k, "k", a.k);
  requirePointer(k, "v", a.v);
  requirePointer(k, "out", a.out);
  requireAtLeast(k, "q_row_stride", a.q_row_stride, "H*D", a.H * a.D);
  requireAtLeast(k, "k_row_stride", a.k_row_stride, "Hkv*D", a.Hkv * a.D);
  requireAtLeast(k, "v_row_stride", a.v_row_stride, "Hkv*D", a.Hkv * a.D);
  requireAtLeast(k, "out_row_stride", a.out_row_stride, "H*D", a.H * a.D);
  detail::activeKernels().attention(pool, a);
}

void unary(ThreadPool& pool, Act act, const float* x, float* y, int64_t n) {
  const char* k = "unary";
  requireNonNegative(k, "n", n);
  requireAct(k, act);
  if (n == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "y", y);
  detail::activeKernels().unary(pool, act, x, y, n);
}

void binary(ThreadPool& pool, Binary op, const float* a, const float* b, float* y, int64_t n) {
  const char* k = "binary";
  requireNonNegative(k, "n", n);
  if (op != Binary::Add && op != Binary::Mul) fail(k, "unknown op " + std::to_string(static_cast<int32_t>(op)));
  if (n == 0) return;
  requirePointer(k, "a", a);
  requirePointer(k, "b", b);
  requirePointer(k, "y", y);
  detail::activeKernels().binary(pool, op, a, b, y, n);
}

void swiglu(ThreadPool& pool, const float* gate, const float* up, float* y, int64_t n) {
  const char* k = "swiglu";
  requireNonNegative(k, "n", n);
  if (n == 0) return;
  requirePointer(k, "gate", gate);
  requirePointer(k, "up", up);
  requirePointer(k, "y", y);
  detail::activeKernels().swiglu(pool, gate, up, y, n);
}

}  // namespace lathe::cpu

namespace lathe::cpu {

void kvCacheWrite(ThreadPool&, float* cache, const float* x, const int32_t* offsets, int64_t B, int64_t T,
                  int64_t Hkv, int64_t D, int64_t S) {
  const char* k = "kvCacheWrite";
  requireNonNegative(k, "B", B);
  requireNonNegative(k, "T", T);
  if (B == 0 || T == 0 || Hkv <= 0 || D <= 0) return;
  requirePointer(k, "cache", cache);
  requirePointer(k, "x", x);
  const int64_t row = Hkv * D;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t start = offsets != nullptr ? offsets[b] : 0;
    if (start < 0 || start + T > S)
      fail(k, "sequence " + std::to_string(b) + " at position " + std::to_string(start) + " + T=" +
                  std::to_string(T) + " does not fit the cache of " + std::to_string(S));
    // One contiguous block per sequence: a memcpy is already memory-bound.
    std::memcpy(cache + (b * S + start) * row, x + b * T * row, static_cast<size_t>(T * row) * sizeof(float));
  }
}

void cachedAttention(ThreadPool& pool, const CachedAttentionArgs& a) {
  const char* k = "cachedAttention";
  requireNonNegative(k, "B", a.B);
  requireNonNegative(k, "T", a.T);
  if (a.B == 0 || a.T == 0 || a.H == 0 || a.D == 0) return;
  if (a.Hkv <= 0 || a.H % a.Hkv != 0)
    fail(k, "H (" + std::to_string(a.H) + ") must be a positive multiple of Hkv (" + std::to_string(a.Hkv) + ")");
  requirePointer(k, "q", a.q);
  requirePointer(k, "k_cache", a.k_cache);
  requirePointer(k, "v_cache", a.v_cache);
  requirePointer(k, "offsets", a.offsets);
  requirePointer(k, "out", a.out);
  for (int64_t b = 0; b < a.B; ++b)
    if (a.offsets[b] < 0 || a.offsets[b] + a.T > a.S)
      fail(k, "sequence " + std::to_string(b) + " at position " + std::to_string(a.offsets[b]) +
                  " does not fit the cache of " + std::to_string(a.S));
  detail::activeKernels().cachedAttention(pool, a);
}

void gatherLast(ThreadPool&, const float* x, const int32_t* lengths, float* y, int64_t B, int64_t T, int64_t C) {
  const char* k = "gatherLast";
  requireNonNegative(k, "B", B);
  requireNonNegative(k, "C", C);
  if (B == 0 || C == 0) return;
  requirePointer(k, "x", x);
  requirePointer(k, "y", y);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t length = lengths != nullptr ? lengths[b] : T;
    if (length < 1 || length > T)
      fail(k, "length " + std::to_string(length) + " of sequence " + std::to_string(b) + " is outside [1, " +
                  std::to_string(T) + "]");
    std::memcpy(y + b * C, x + (b * T + length - 1) * C, static_cast<size_t>(C) * sizeof(float));
  }
}

}  // namespace lathe::cpu
