// The Vulkan functions the device uses, loaded at run time from
// libvulkan.so.1 so that the runtime library has no link-time dependency on
// the loader (a machine without Vulkan still runs the cpu device).
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <string>

namespace lathe::runtime::vk {

// Functions needed before an instance exists.
#define LATHE_VK_GLOBAL_FUNCTIONS(X) \
  X(vkCreateInstance)                \
  X(vkEnumerateInstanceLayerProperties)

// Instance and device functions, looked up through the instance.
#define LATHE_VK_INSTANCE_FUNCTIONS(X)         \
  X(vkDestroyInstance)                         \
  X(vkEnumeratePhysicalDevices)                \
  X(vkGetPhysicalDeviceProperties)             \
  X(vkGetPhysicalDeviceProperties2)            \
  X(vkGetPhysicalDeviceFeatures2)              \
  X(vkGetPhysicalDeviceMemoryProperties)       \
  X(vkGetPhysicalDeviceQueueFamilyProperties)  \
  X(vkEnumerateDeviceExtensionProperties)      \
  X(vkCreateDevice)                            \
  X(vkDestroyDevice)                           \
  X(vkDeviceWaitIdle)                          \
  X(vkGetDeviceQueue)                          \
  X(vkCreateBuffer)                            \
  X(vkDestroyBuffer)                           \
  X(vkGetBufferMemoryRequirements)             \
  X(vkAllocateMemory)                          \
  X(vkFreeMemory)                              \
  X(vkBindBufferMemory)                        \
  X(vkMapMemory)                               \
  X(vkCreateCommandPool)                       \
  X(vkDestroyCommandPool)                      \
  X(vkAllocateCommandBuffers)                  \
  X(vkFreeCommandBuffers)                      \
  X(vkBeginCommandBuffer)                      \
  X(vkEndCommandBuffer)                        \
  X(vkCmdCopyBuffer)                           \
  X(vkCmdFillBuffer)                           \
  X(vkCmdBindPipeline)                         \
  X(vkCmdBindDescriptorSets)                   \
  X(vkCmdDispatch)                             \
  X(vkCmdPipelineBarrier)                      \
  X(vkCmdResetQueryPool)                       \
  X(vkCmdWriteTimestamp)                       \
  X(vkQueueSubmit)                             \
  X(vkCreateFence)                             \
  X(vkDestroyFence)                            \
  X(vkWaitForFences)                           \
  X(vkResetFences)                             \
  X(vkCreateShaderModule)                      \
  X(vkDestroyShaderModule)                     \
  X(vkCreateComputePipelines)                  \
  X(vkDestroyPipeline)                         \
  X(vkCreatePipelineLayout)                    \
  X(vkDestroyPipelineLayout)                   \
  X(vkCreateDescriptorSetLayout)               \
  X(vkDestroyDescriptorSetLayout)              \
  X(vkCreateDescriptorPool)                    \
  X(vkDestroyDescriptorPool)                   \
  X(vkAllocateDescriptorSets)                  \
  X(vkUpdateDescriptorSets)                    \
  X(vkCreateQueryPool)                         \
  X(vkDestroyQueryPool)                        \
  X(vkGetQueryPoolResults)

// Only present when VK_EXT_debug_utils is enabled (validation runs).
#define LATHE_VK_DEBUG_FUNCTIONS(X) \
  X(vkCreateDebugUtilsMessengerEXT) \
  X(vkDestroyDebugUtilsMessengerEXT)

#define LATHE_VK_DECLARE(name) PFN_##name name = nullptr;

struct Api {
  void* library = nullptr;
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  LATHE_VK_GLOBAL_FUNCTIONS(LATHE_VK_DECLARE)
  LATHE_VK_INSTANCE_FUNCTIONS(LATHE_VK_DECLARE)
  LATHE_VK_DEBUG_FUNCTIONS(LATHE_VK_DECLARE)

  /// Opens libvulkan.so.1; throws Error(LATHE_ERROR_UNSUPPORTED) without it.
  void loadGlobal();
  /// Looks up the instance functions; throws naming a missing one.
  void loadInstance(VkInstance instance, bool debug_utils);
  ~Api();
};

#undef LATHE_VK_DECLARE

/// "VK_ERROR_OUT_OF_DEVICE_MEMORY".
const char* resultName(VkResult result);

/// Throws Error (LATHE_ERROR_OUT_OF_MEMORY for memory results, else
/// LATHE_ERROR_INTERNAL) "vulkan: <what>: <result name>" unless result is VK_SUCCESS.
void check(VkResult result, const std::string& what);

}  // namespace lathe::runtime::vk
