#include "KernelMath.h"

namespace lathe::codegen::gpu {

V sigmoid(KernelBuilder& k, V x) { return k.f32(1.0) / (k.exp(-x) + k.f32(1.0)); }

V activate(KernelBuilder& k, int64_t act, V x) {
  switch (act) {
    case 1: return x * (k.erf(x * 0.7071067811865476) + k.f32(1.0)) * 0.5;
    case 2: {
      // x sigmoid(2u) = 0.5 x (1 + tanh u), without cancellation for x < 0 (as on the cpu).
      V u = (x + x * x * x * 0.044715) * 0.7978845608028654;
      return x * sigmoid(k, u * 2.0);
    }
    case 3: return k.max(x, k.f32(0.0));
    case 4: return x * sigmoid(k, x);
    default: return x;
  }
}

void forEachElement(KernelBuilder& k, V n, const std::function<void(V)>& body) {
  V start = k.blockId() * static_cast<int64_t>(kLinearWorkgroup) + k.threadId();
  V stride = k.gridDim() * static_cast<int64_t>(kLinearWorkgroup);
  k.loop(start, n, stride, body);
}

}  // namespace lathe::codegen::gpu
