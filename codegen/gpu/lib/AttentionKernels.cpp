#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

KernelPlan planAttentionKernel(const DispatchShape&, const GpuLimits&) { return {}; }

}  // namespace lathe::codegen::gpu
