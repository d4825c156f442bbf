// The GpuProgram table of an artifact (runtime/schema/artifact.fbs) for one
// GPU target: one kernel per distinct dispatch variant, lowered for the target.
#pragma once

#include <string>
#include <vector>

#include "flatbuffers/flatbuffers.h"
#include "lathe/codegen/gpu/GpuKernels.h"

namespace lathe::codegen::gpu {

struct EntryDispatches {
  std::string entry;
  std::vector<DispatchShape> shapes;
  std::vector<std::string> names;  // Dispatch.name, for errors
};

struct GpuProgramOptions {
  /// cuda: the architectures to assemble cubins for; the PTX targets the oldest.
  std::vector<std::string> cuda_archs{"sm_80", "sm_90"};
  /// cuda: GEMMs on tensor cores (MatrixUnitGemmKernels.cpp) when every
  /// architecture named is sm_80 or newer, else the scalar tiled kernels.
  bool tensor_cores = true;
  /// What tensor-core GEMMs compute with; the scalar kernels are fp32 whatever this says.
  MatmulPrecision matmul_precision = MatmulPrecision::Fp32;
  /// vulkan, for tests: the tensor-core GEMMs with their matrix ops emulated in scalar code.
  bool emulate_matrix_units = false;
};

/// What kernels for `target` ("vulkan" or "cuda") may use, as writeGpuProgram plans them.
GpuLimits targetLimits(const std::string& target, const GpuProgramOptions& options = {});

/// Writes the program for `target` ("vulkan" or "cuda"). On failure returns a
/// null offset and sets `error` to a message naming the entry point and dispatch.
flatbuffers::Offset<fb::GpuProgram> writeGpuProgram(flatbuffers::FlatBufferBuilder& fbb, const std::string& target,
                                                    const std::vector<EntryDispatches>& entries, std::string& error,
                                                    const GpuProgramOptions& options = {});

}  // namespace lathe::codegen::gpu
