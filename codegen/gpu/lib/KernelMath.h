// Scalar math shared by GPU kernels (activations used by unary kernels and
// GEMM epilogues), and the loop shapes most kernels start from.
#pragma once

#include <functional>

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

}  // namespace lathe::codegen::gpu
