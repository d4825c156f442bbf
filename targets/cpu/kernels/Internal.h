// Internal plumbing shared by the kernel translation units: the per-ISA
// kernel table that Kernels.cpp dispatches through, and scratch memory.
#pragma once

#include <cstddef>
#include <cstdint>

#include "Kernels.h"

namespace lathe::cpu::detail {

/// One complete implementation of Kernels.h, compiled for one instruction set.
struct KernelTable {
  const char* name;
  void (*gemm)(ThreadPool&, const GemmArgs&);
  void (*embedding)(ThreadPool&, const int32_t*, const float*, float*, int64_t, int64_t);
  void (*addLearnedPositions)(ThreadPool&, float*, const float*, int64_t, int64_t, int64_t, int64_t);
  void (*addSinusoidalPositions)(ThreadPool&, float*, int64_t, int64_t, int64_t, int64_t);
  void (*layerNorm)(ThreadPool&, const float*, const float*, const float*, float*, int64_t, int64_t, float);
  void (*rmsNorm)(ThreadPool&, const float*, const float*, float*, int64_t, int64_t, float);
  void (*rope)(ThreadPool&, float*, int64_t, int64_t, int64_t, int64_t, float, int64_t);
  void (*attention)(ThreadPool&, const AttentionArgs&);
  void (*unary)(ThreadPool&, Act, const float*, float*, int64_t);
  void (*binary)(ThreadPool&, Binary, const float*, const float*, float*, int64_t);
  void (*swiglu)(ThreadPool&, const float*, const float*, float*, int64_t);
  void (*cachedAttention)(ThreadPool&, const CachedAttentionArgs&);
  /// Floats of a PackedWeight of B(N,K), and the packing itself.
  int64_t (*packedWeightFloats)(int64_t N, int64_t K);
  void (*packWeight)(ThreadPool&, const float* B, int64_t ldb, int64_t N, int64_t K, float* dst);
};

/// Compiled with -mavx512f and friends; call only when cpuHasAvx512().
const KernelTable& avx512Kernels();
/// Baseline x86-64 (or any target) build of the same kernels.
const KernelTable& portableKernels();

bool cpuHasAvx512();

/// The table the public functions use: AVX-512 when the CPU has it, unless the
/// portable kernels are forced (by forcePortableKernels or by the environment
/// variable LATHE_CPU_KERNELS=portable).
const KernelTable& activeKernels();
void forcePortableKernels(bool force);

/// Thread-local, 64-byte aligned scratch memory that grows on demand and is
/// kept for later calls. Distinct slots may be used at the same time.
enum class ScratchSlot : int { PackedA = 0, PackedB = 1, Residual = 2, Attention = 3, Count = 4 };
float* scratchFloats(ScratchSlot slot, size_t count);

}  // namespace lathe::cpu::detail
