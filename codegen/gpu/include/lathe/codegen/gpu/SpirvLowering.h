// gpu.func kernels -> SPIR-V for Vulkan, through MLIR's upstream lowering
// (convert-gpu-to-spirv) and serializer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace lathe::codegen::gpu {

struct SpirvKernel {
  std::vector<uint32_t> words;
  std::vector<std::string> capabilities;  // what the module declares, e.g. "GroupNonUniformArithmetic"
  std::vector<std::string> extensions;
};

/// Lowers the single kernel of `module` (from buildKernelModule) for Vulkan
/// 1.2 with subgroup operations. Emits an MLIR error and fails if it cannot.
mlir::FailureOr<SpirvKernel> lowerToSpirv(mlir::ModuleOp module);

}  // namespace lathe::codegen::gpu
