// One invocation per element: Unary, Binary, SwiGLU, Accumulate.
#include "KernelMath.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

namespace {

const char* const kActNames[] = {"none", "gelu", "gelu_tanh", "relu", "silu"};

/// A one-dimensional plan over dim 0 (n) of the dispatch.
KernelPlan linearPlan(std::string name, std::function<void(KernelBuilder&)> body) {
  KernelPlan plan;
  plan.name = std::move(name);
  plan.workgroup = {kLinearWorkgroup, 1, 1};
  plan.grid[0] = {{0}, kLinearWorkgroup, /*stride_loop=*/true};
  plan.body = std::move(body);
  return plan;
}

}  // namespace

KernelPlan planElementwiseKernel(const DispatchShape& shape, const GpuLimits&) {
  using fb::KernelKind;
  switch (shape.kind) {
    case KernelKind::Unary: {
      const int64_t act = shape.ints[0];
      return linearPlan(std::string("unary_") + kActNames[act], [act](KernelBuilder& k) {
        forEachElement(k, k.dim(0), [&](V i) { k.store(activate(k, act, k.load(k.operand(0), i)), k.operand(1), i); });
      });
    }
    case KernelKind::Binary: {
      const bool mul = shape.ints[0] == 1;
      return linearPlan(mul ? "binary_mul" : "binary_add", [mul](KernelBuilder& k) {
        forEachElement(k, k.dim(0), [&](V i) {
          V a = k.load(k.operand(0), i), b = k.load(k.operand(1), i);
          k.store(mul ? a * b : a + b, k.operand(2), i);
        });
      });
    }
    case KernelKind::SwiGLU:
      return linearPlan("swiglu", [](KernelBuilder& k) {
        forEachElement(k, k.dim(0), [&](V i) {
          V gate = k.load(k.operand(0), i);
          k.store(gate * sigmoid(k, gate) * k.load(k.operand(1), i), k.operand(2), i);
        });
      });
    case KernelKind::Accumulate:
      return linearPlan("accumulate", [](KernelBuilder& k) {
        forEachElement(k, k.dim(0), [&](V i) {
          k.store(k.load(k.operand(0), i) + k.load(k.operand(1), i), k.operand(0), i);
        });
      });
    default:
      return {};
  }
}

}  // namespace lathe::codegen::gpu
