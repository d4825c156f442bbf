#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

KernelPlan planGemmKernel(const DispatchShape&, const GpuLimits&) { return {}; }

}  // namespace lathe::codegen::gpu
