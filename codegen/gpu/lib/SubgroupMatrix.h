// Subgroup matrix multiply-accumulate C += A . B on f32 data (TF32 products),
// written once for the two ways a kernel runs it:
// - native: the gpu dialect's subgroup MMA ops, which the NVVM lowering turns
//   into wmma (tensor cores, sm_80+) — and SPIR-V's cooperative matrices could;
// - emulated: each op in scalar code, with the same memory semantics, so the
//   kernels built on it (tiling, staging, epilogues) run and are checked on any
//   device, lavapipe included.
// Tiles are A 16x8, B 8x16 and C 16x16, held by a subgroup of 32 invocations:
// 32 consecutive invocations of a 1-D workgroup (a warp on NVIDIA GPUs).
// Operands hold TF32 values (low 13 mantissa bits zero), so a product is exact
// in f32 and both ways agree up to the order of the sums.
// Emulated products are loops: on lavapipe, whose loop limiter silently ends
// every loop after 65535 back edges per invocation (docs/architecture.md), an
// emulated fp32-split GEMM stays exact up to K of about 2400.
#pragma once

#include <vector>

#include "lathe/codegen/gpu/KernelBuilder.h"

namespace lathe::codegen::gpu {

enum class MatrixRole { A, B, C };

/// One tile. Native: one !gpu.mma_matrix value in `values`. Emulated: a C tile
/// is this invocation's share, lane = invocation % 32: the elements e = lane +
/// 32r (r < 8) in row-major order, i.e. row e / 16, column e % 16; an A or B
/// tile is where it lies in memory, read by multiplyAdd (so the memory must not
/// change between the load and its use, as between two barriers).
struct Matrix {
  MatrixRole role;
  bool transposed = false;  // loaded from column-major storage (A, B)
  std::vector<V> values;
  mlir::Value memref;       // emulated A and B: the tile at memref[offset + ...]
  V offset;
  int64_t lead = 0;
};

class SubgroupMatrix {
public:
  static constexpr int64_t kSubgroup = 32;
  static constexpr int64_t kRows = 16;   // M and N of a tile
  static constexpr int64_t kDepth = 8;   // K of a tile
  /// Elements of memory between fragments' starts and `lead` must be
  /// multiples of this (wmma: 32-byte aligned pointers, 16-byte leads).
  static constexpr int64_t kOffsetAlignment = 8;
  static constexpr int64_t kLeadAlignment = 4;

  SubgroupMatrix(KernelBuilder& k, bool emulated) : k_(k), emulated_(emulated) {}

  /// The A or B tile at memref[offset + ...]: row-major with row pitch `lead`, or
  /// column-major (`transposed`) with column pitch `lead`.
  Matrix load(MatrixRole role, mlir::Value memref, V offset, int64_t lead, bool transposed);
  Matrix zero();
  Matrix multiplyAdd(const Matrix& a, const Matrix& b, const Matrix& c);
  /// Stores C row-major with row pitch `lead`.
  void store(const Matrix& c, mlir::Value memref, V offset, int64_t lead);

  /// A C tile as loop-carried values, and back.
  size_t carriedCount() const { return emulated_ ? kRows * kRows / kSubgroup : 1; }
  Matrix carried(const std::vector<V>& values, size_t first) const;

private:
  V lane();
  /// Element (row, column) of an emulated A or B tile.
  V element(const Matrix& tile, V row, V column);

  KernelBuilder& k_;
  bool emulated_;
};

}  // namespace lathe::codegen::gpu
