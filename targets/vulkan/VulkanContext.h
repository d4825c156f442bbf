// One Vulkan instance + logical device with a compute queue, the memory
// sub-allocator, and (with LATHE_VULKAN_VALIDATION=1) the Khronos validation
// layer whose errors are counted. Shared (shared_ptr) by the device, its
// buffers and prepared entries, so it is destroyed last.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "VulkanApi.h"

namespace lathe::runtime::vk {

/// What the chosen physical device supports, for the kernels' capability checks.
struct DeviceSupport {
  VkPhysicalDeviceProperties properties{};
  VkPhysicalDeviceSubgroupProperties subgroup{};
  VkPhysicalDeviceFeatures2 features{};
  VkPhysicalDeviceVulkan11Features features11{};
  VkPhysicalDeviceVulkan12Features features12{};
  std::set<std::string> extensions;
};

/// A range of one VkDeviceMemory block.
struct Allocation {
  struct Block* block = nullptr;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
  VkDeviceMemory memory() const;
  /// Host address of the range; null when the memory is not host-visible.
  void* mapped() const;
};

/// Sub-allocates big blocks per memory type (first fit, aligned offsets).
class MemoryPool {
public:
  MemoryPool(const Api& api, VkDevice device, const VkPhysicalDeviceMemoryProperties& properties);
  ~MemoryPool();
  /// Memory for `requirements` in the first of the `preferred` property sets
  /// that a memory type offers and that has room; throws LATHE_ERROR_OUT_OF_MEMORY.
  Allocation allocate(const VkMemoryRequirements& requirements, VkDeviceSize alignment,
                      const std::vector<VkMemoryPropertyFlags>& preferred);
  void release(const Allocation& allocation);

private:
  Allocation allocateIn(uint32_t type, VkDeviceSize size, VkDeviceSize alignment);

  const Api& api_;
  VkDevice device_;
  VkPhysicalDeviceMemoryProperties properties_;
  std::vector<std::unique_ptr<Block>> blocks_;
};

class Context {
public:
  /// selector: "" (best device), "N" (index) or a device name substring.
  explicit Context(const std::string& selector);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Api& api() const { return api_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  uint32_t queueFamily() const { return queue_family_; }
  const DeviceSupport& support() const { return support_; }
  const VkPhysicalDeviceLimits& limits() const { return support_.properties.limits; }
  std::string name() const { return support_.properties.deviceName; }
  /// Whether buffers live in host-visible memory the host may map (integrated and cpu devices).
  bool unifiedMemory() const { return unified_memory_; }
  bool timestampsSupported() const { return timestamps_supported_; }
  MemoryPool& memory() { return *memory_; }

  /// Throws the validation errors reported since the last call (validation runs only).
  void throwValidationErrors(const std::string& during);
  /// Called by the debug messenger.
  void recordValidationError(const std::string& message);

private:
  void createInstance();
  VkPhysicalDevice choosePhysicalDevice(const std::string& selector);
  void createDevice(VkPhysicalDevice physical);
  void destroy();

  Api api_;
  bool validation_ = false;
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  uint32_t queue_family_ = 0;
  DeviceSupport support_;
  bool unified_memory_ = false;
  bool timestamps_supported_ = false;
  std::unique_ptr<MemoryPool> memory_;
  std::mutex validation_mutex_;
  std::vector<std::string> validation_errors_;
};

}  // namespace lathe::runtime::vk
