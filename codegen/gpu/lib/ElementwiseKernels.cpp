// One invocation per span of elements: Unary, Binary, SwiGLU, Accumulate.
// When n is a multiple of 4 each operand moves 16 bytes per access
// (mapElements); the arithmetic per element is the same either way.
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
  plan.grid[0] = {{0}, kLinearGridDivisor, /*stride_loop=*/true};
  plan.body = std::move(body);
  return plan;
}

using Values = std::vector<V>;

}  // namespace

KernelPlan planElementwiseKernel(const DispatchShape& shape, const GpuLimits&) {
  using fb::KernelKind;
  switch (shape.kind) {
    case KernelKind::Unary: {
      const int64_t act = shape.ints[0];
      return linearPlan(std::string("unary_") + kActNames[act], [act](KernelBuilder& k) {
        mapElements(k, k.dim(0), {k.operand(0)}, {k.operand(1)}, [&](const Values& x) {
          return Values{activate(k, act, x[0])};
        });
      });
    }
    case KernelKind::Binary: {
      const bool mul = shape.ints[0] == 1;
      return linearPlan(mul ? "binary_mul" : "binary_add", [mul](KernelBuilder& k) {
        mapElements(k, k.dim(0), {k.operand(0), k.operand(1)}, {k.operand(2)}, [&](const Values& ab) {
          return Values{mul ? ab[0] * ab[1] : ab[0] + ab[1]};
        });
      });
    }
    case KernelKind::SwiGLU:
      return linearPlan("swiglu", [](KernelBuilder& k) {
        mapElements(k, k.dim(0), {k.operand(0), k.operand(1)}, {k.operand(2)}, [&](const Values& gate_up) {
          V gate = gate_up[0];
          return Values{gate * sigmoid(k, gate) * gate_up[1]};
        });
      });
    case KernelKind::Accumulate:
      return linearPlan("accumulate", [](KernelBuilder& k) {
        mapElements(k, k.dim(0), {k.operand(0), k.operand(1)}, {k.operand(0)}, [&](const Values& acc_x) {
          return Values{acc_x[0] + acc_x[1]};
        });
      });
    default:
      return {};
  }
}

}  // namespace lathe::codegen::gpu
