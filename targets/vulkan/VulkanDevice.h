// The Vulkan backend of the runtime's device abstraction (runtime/src/Device.h):
// runs each dispatch through the SPIR-V kernel the artifact's "vulkan"
// GpuProgram holds for it (binding convention: runtime/schema/artifact.fbs).
#pragma once

#include <memory>
#include <string>

#include "Device.h"

namespace lathe::runtime {

/// selector: "" (the best device: discrete > integrated > virtual > cpu),
/// "N" (index) or a substring of the device name ("llvmpipe").
std::unique_ptr<Device> makeVulkanDevice(const std::string& selector);

}  // namespace lathe::runtime
