// Whether a device can run a generated kernel: its SPIR-V capabilities and
// extensions, workgroup size and shared memory against the device's features
// and limits.
#pragma once

#include <string>

#include "VulkanContext.h"
#include "artifact_generated.h"

namespace lathe::runtime::vk {

/// Empty when `support` runs `kernel`, else what is missing ("capability
/// GroupNonUniformClustered (subgroup clustered operations in compute shaders)").
std::string missingSupport(const DeviceSupport& support, const fb::GpuKernel& kernel);

}  // namespace lathe::runtime::vk
