// What the scalar tiled GEMMs (GemmKernels.cpp) and the matrix-unit ones
// (MatrixUnitGemmKernels.cpp) share: operand slabs staged from global memory,
// and Gemm's epilogue.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lathe/codegen/gpu/KernelBuilder.h"

namespace lathe::codegen::gpu {

/// One operand of a tiled product as stored in its buffer, seen from C:
/// `extent` rows of C (M for A) or columns (N for B), and the reduction dim K
/// either contiguous (stored (extent, K)) or outermost (stored (K, extent)).
struct ProductOperand {
  mlir::Value buffer;
  bool k_contiguous;
  V extent;
  V row_stride;
};

/// A slab: `tile` rows (or columns) of C by `depth` of K, loaded by `threads`
/// invocations, `width` consecutive elements of memory per access (1, or 4
/// when the operand's rows start 16 bytes aligned: row_stride % 4 == 0).
struct SlabShape {
  int64_t tile;
  int64_t depth;
  int64_t threads;
  int64_t width = 1;
  int64_t loadsPerInvocation() const { return tile * depth / threads; }
};

/// Element l of this invocation's share of a slab: (kk, r) of the (depth, tile)
/// slab, chosen so that consecutive invocations read consecutive addresses in
/// either storage order; with width 4, elements 4j..4j+3 are adjacent in memory.
std::pair<V, V> slabElement(const ProductOperand& operand, const SlabShape& slab, V tid, int64_t l);

/// This invocation's share of slab [k0, k0 + depth) of the operand's tile
/// [start, start + tile), read from global memory; 0 outside the matrix. With
/// width 4, the caller guarantees row_stride % 4 == 0 (so a group of 4 is
/// wholly inside or outside the matrix) and k0, start multiples of 4.
std::vector<V> fetchSlab(KernelBuilder& k, const ProductOperand& operand, const SlabShape& slab, V start, V k0, V K,
                         V tid);

/// Gemm's variant: B's layout and what follows the product (ints of the dispatch).
struct GemmVariant {
  bool trans_b;  // B stored (N,K), else (K,N)
  int64_t act;   // KernelMath.h's activation index
  bool has_bias;
  bool has_residual;

  /// From the dispatch's ints (trans_b, act, has_bias, has_residual); false when they are malformed.
  bool read(const std::vector<int64_t>& ints);
  /// "nt_gelu_bias", "nn_none_residual", ...
  std::string name() const;
  /// C(row, col) = act(value + bias(col)) + residual(row, col), for the operands
  /// A, B, C (M,N), then bias (N) and residual (M,N) when present. The residual
  /// may alias C: each element is read and written by the same invocation.
  void store(KernelBuilder& k, V N, V row, V col, V value) const;
};

}  // namespace lathe::codegen::gpu
