// Checks of an artifact's GPU programs (schema version 4): one per GPU target
// the artifact names, a kernel for every dispatch with consistent bindings and
// grid, for Vulkan well-formed SPIR-V that uses only the capabilities and
// extensions its kernel declares, and for CUDA PTX text with a .version,
// .target and the kernel's .entry, and cubins (ELF) for well-formed sm_XY names.
#pragma once

#include "artifact_generated.h"

namespace lathe::runtime {

/// Throws invalidArtifact naming the program, entry point, dispatch or kernel
/// and the problem. Expects the entry points to be verified already.
void verifyGpuPrograms(const fb::Artifact& artifact);

}  // namespace lathe::runtime
