#include "VulkanCapabilities.h"

#include <functional>
#include <map>

namespace lathe::runtime::vk {
namespace {

struct Requirement {
  const char* what;  // the feature, as the error names it
  std::function<bool(const DeviceSupport&)> supported;
};

Requirement subgroupOperation(const char* what, VkSubgroupFeatureFlagBits bit) {
  return {what, [bit](const DeviceSupport& s) {
            return (s.subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                   (s.subgroup.supportedOperations & bit);
          }};
}

const std::map<std::string, Requirement>& capabilityRequirements() {
  static const std::map<std::string, Requirement> requirements = {
      {"Shader", {"shaders", [](const DeviceSupport&) { return true; }}},
      // Implied by Shader; MLIR's SPIR-V modules declare it explicitly.
      {"Matrix", {"shaders", [](const DeviceSupport&) { return true; }}},
      {"Int64", {"shaderInt64", [](const DeviceSupport& s) { return s.features.features.shaderInt64 == VK_TRUE; }}},
      {"Int16", {"shaderInt16", [](const DeviceSupport& s) { return s.features.features.shaderInt16 == VK_TRUE; }}},
      {"Float64", {"shaderFloat64", [](const DeviceSupport& s) { return s.features.features.shaderFloat64 == VK_TRUE; }}},
      {"Float16", {"shaderFloat16", [](const DeviceSupport& s) { return s.features12.shaderFloat16 == VK_TRUE; }}},
      {"Int8", {"shaderInt8", [](const DeviceSupport& s) { return s.features12.shaderInt8 == VK_TRUE; }}},
      {"StorageBuffer16BitAccess",
       {"storageBuffer16BitAccess", [](const DeviceSupport& s) { return s.features11.storageBuffer16BitAccess == VK_TRUE; }}},
      {"StorageBuffer8BitAccess",
       {"storageBuffer8BitAccess", [](const DeviceSupport& s) { return s.features12.storageBuffer8BitAccess == VK_TRUE; }}},
      {"VariablePointersStorageBuffer",
       {"variablePointersStorageBuffer",
        [](const DeviceSupport& s) { return s.features11.variablePointersStorageBuffer == VK_TRUE; }}},
      {"VariablePointers", {"variablePointers", [](const DeviceSupport& s) { return s.features11.variablePointers == VK_TRUE; }}},
      {"Int64Atomics",
       {"shaderBufferInt64Atomics", [](const DeviceSupport& s) { return s.features12.shaderBufferInt64Atomics == VK_TRUE; }}},
      {"VulkanMemoryModel",
       {"vulkanMemoryModel", [](const DeviceSupport& s) { return s.features12.vulkanMemoryModel == VK_TRUE; }}},
      {"VulkanMemoryModelDeviceScope",
       {"vulkanMemoryModelDeviceScope",
        [](const DeviceSupport& s) { return s.features12.vulkanMemoryModelDeviceScope == VK_TRUE; }}},
      {"GroupNonUniform", subgroupOperation("basic subgroup operations in compute shaders", VK_SUBGROUP_FEATURE_BASIC_BIT)},
      {"GroupNonUniformVote", subgroupOperation("subgroup vote operations in compute shaders", VK_SUBGROUP_FEATURE_VOTE_BIT)},
      {"GroupNonUniformArithmetic",
       subgroupOperation("subgroup arithmetic operations in compute shaders", VK_SUBGROUP_FEATURE_ARITHMETIC_BIT)},
      {"GroupNonUniformBallot",
       subgroupOperation("subgroup ballot operations in compute shaders", VK_SUBGROUP_FEATURE_BALLOT_BIT)},
      {"GroupNonUniformShuffle",
       subgroupOperation("subgroup shuffle operations in compute shaders", VK_SUBGROUP_FEATURE_SHUFFLE_BIT)},
      {"GroupNonUniformShuffleRelative",
       subgroupOperation("subgroup relative shuffle operations in compute shaders",
                         VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT)},
      {"GroupNonUniformClustered",
       subgroupOperation("subgroup clustered operations in compute shaders", VK_SUBGROUP_FEATURE_CLUSTERED_BIT)},
      {"GroupNonUniformQuad", subgroupOperation("subgroup quad operations in compute shaders", VK_SUBGROUP_FEATURE_QUAD_BIT)},
  };
  return requirements;
}

// SPIR-V extensions a Vulkan 1.2 device accepts without enabling a device
// extension (their features are checked through the capabilities).
const std::map<std::string, const char*>& coreExtensions() {
  static const std::map<std::string, const char*> extensions = {
      {"SPV_KHR_16bit_storage", "Vulkan 1.1"},
      {"SPV_KHR_8bit_storage", "Vulkan 1.2"},
      {"SPV_KHR_storage_buffer_storage_class", "Vulkan 1.1"},
      {"SPV_KHR_variable_pointers", "Vulkan 1.1"},
      {"SPV_KHR_vulkan_memory_model", "Vulkan 1.2"},
      {"SPV_KHR_shader_ballot", "Vulkan 1.1"},
  };
  return extensions;
}

}  // namespace

std::string missingSupport(const DeviceSupport& support, const fb::GpuKernel& kernel) {
  if (kernel.capabilities() != nullptr) {
    for (const flatbuffers::String* capability : *kernel.capabilities()) {
      const auto found = capabilityRequirements().find(capability->str());
      if (found == capabilityRequirements().end()) {
        return "capability " + capability->str() + ", which the Lathe Vulkan runtime does not enable";
      }
      if (!found->second.supported(support)) {
        return "capability " + capability->str() + " (" + found->second.what + "), which the device lacks";
      }
    }
  }
  if (kernel.extensions() != nullptr) {
    for (const flatbuffers::String* extension : *kernel.extensions()) {
      if (coreExtensions().count(extension->str()) == 0) {
        return "SPIR-V extension " + extension->str() + ", which the Lathe Vulkan runtime does not enable";
      }
    }
  }
  const VkPhysicalDeviceLimits& limits = support.properties.limits;
  if (kernel.shared_bytes() > limits.maxComputeSharedMemorySize) {
    return std::to_string(kernel.shared_bytes()) + " bytes of shared memory (the device has " +
           std::to_string(limits.maxComputeSharedMemorySize) + ")";
  }
  uint64_t invocations = 1;
  for (uint32_t axis = 0; axis < 3; ++axis) {
    const uint32_t size = kernel.workgroup_size()->Get(axis);
    invocations *= size;
    if (size > limits.maxComputeWorkGroupSize[axis]) {
      return "workgroup size " + std::to_string(size) + " along axis " + std::to_string(axis) + " (the device allows " +
             std::to_string(limits.maxComputeWorkGroupSize[axis]) + ")";
    }
  }
  if (invocations > limits.maxComputeWorkGroupInvocations) {
    return std::to_string(invocations) + " invocations per workgroup (the device allows " +
           std::to_string(limits.maxComputeWorkGroupInvocations) + ")";
  }
  return "";
}

}  // namespace lathe::runtime::vk
