// gpu.func kernels -> PTX for CUDA, in process, through MLIR's NVVM path
// (convert-gpu-to-nvvm with 32-bit indices, then LLVM's NVPTX backend, no
// libdevice); cubins come from ptxas (PtxAssembler.h).
#pragma once

#include <string>
#include <vector>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

namespace lathe::codegen::gpu {

/// The CUDA architectures ("sm_80") kernels can be compiled for, oldest first.
const std::vector<std::string>& supportedCudaArchs();

/// The oldest of `archs` (PTX for it assembles for all of them and JITs
/// forward on newer GPUs). Empty with `error` set if one is unknown or the
/// list is empty.
std::string lowestCudaArch(const std::vector<std::string>& archs, std::string& error);

/// Lowers the single kernel of `module` (from buildKernelModule) to PTX for
/// `arch`. Kernel parameters use the bare-pointer convention: one pointer per
/// memref argument (operands, then the parameter block). Emits an MLIR error
/// and fails if it cannot.
mlir::FailureOr<std::string> lowerToPtx(mlir::ModuleOp module, const std::string& arch);

}  // namespace lathe::codegen::gpu
