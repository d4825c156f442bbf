// Scalar math shared by GPU kernels (activations used by unary kernels and
// GEMM epilogues), and the loop shapes most kernels start from.
#pragma once

#include <functional>
#include <vector>

#include "lathe/codegen/gpu/KernelBuilder.h"

namespace lathe::codegen::gpu {

/// The activations of targets/cpu/kernels/Kernels.h (Act): 0 none, 1 gelu (erf),
/// 2 gelu_tanh, 3 relu, 4 silu.
V activate(KernelBuilder& k, int64_t act, V x);
V sigmoid(KernelBuilder& k, V x);
/// act'(x), the derivatives of targets/cpu/kernels TrainingImpl.inc (relu'(0) = 0).
V activationDerivative(KernelBuilder& k, int64_t act, V x);
/// Phi(x), the standard normal CDF, from erfc so that the tail x << 0 keeps its
/// relative accuracy (the CPU's vnormalCdf without its x^2 rounding correction).
V normalCdf(KernelBuilder& k, V x);

/// Invocations per workgroup of one-dimensional kernels.
constexpr uint32_t kLinearWorkgroup = 256;

/// body(i) for every i in [0, n), spread over a one-dimensional grid of
/// kLinearWorkgroup-wide workgroups that may be smaller than n needs.
void forEachElement(KernelBuilder& k, V n, const std::function<void(V)>& body);

/// Elements per vector access (KernelBuilder::load4, 16 bytes of f32).
constexpr int64_t kVectorWidth = 4;

/// `width` (1 or kVectorWidth) consecutive elements from `first`, which is a
/// multiple of the width: what one step of a vectorized loop covers.
struct ElementSpan {
  V first;
  int64_t width;
  /// Elements base + first ... of `memref` (base: a multiple of kVectorWidth
  /// when width > 1), with one vector access when width > 1.
  std::vector<V> load(KernelBuilder& k, mlir::Value memref, V base) const;
  std::vector<V> load(KernelBuilder& k, mlir::Value memref) const;
  void store(KernelBuilder& k, const std::vector<V>& values, mlir::Value memref, V base) const;
  void store(KernelBuilder& k, const std::vector<V>& values, mlir::Value memref) const;
};

/// body(span) for the spans numbered start, start + stride, ... that cover
/// [0, n): spans of kVectorWidth elements when n is a multiple of it (a
/// uniform branch), else single elements.
void forEachSpan(KernelBuilder& k, V n, V start, V stride, const std::function<void(const ElementSpan&)>& body);

/// Workgroups of a one-dimensional grid over n elements: sized for spans of
/// kVectorWidth, so the scalar path (n not a multiple of it) loops more.
constexpr uint32_t kLinearGridDivisor = kLinearWorkgroup * kVectorWidth;

/// For every element i in [0, n) of a kLinearGridDivisor grid: fn(element i of
/// each of `reads`) returns element i of each of `writes`. Each element is
/// computed by the same ops whichever path runs; all of a span's reads happen
/// before its writes, so a write may alias a read (in place).
void mapElements(KernelBuilder& k, V n, const std::vector<mlir::Value>& reads, const std::vector<mlir::Value>& writes,
                 const std::function<std::vector<V>(const std::vector<V>&)>& fn);

}  // namespace lathe::codegen::gpu
