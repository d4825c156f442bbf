#include "VulkanContext.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "Error.h"
#include "FreeRanges.h"

namespace lathe::runtime::vk {

constexpr VkDeviceSize kBlockBytes = 64ull << 20;
constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

struct Block {
  Block(uint32_t type, VkDeviceSize size) : type(type), size(size), free(size) {}
  uint32_t type;
  VkDeviceSize size;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
  FreeRanges free;
};

VkDeviceMemory Allocation::memory() const { return block->memory; }
void* Allocation::mapped() const {
  return block->mapped == nullptr ? nullptr : static_cast<char*>(block->mapped) + offset;
}

MemoryPool::MemoryPool(const Api& api, VkDevice device, const VkPhysicalDeviceMemoryProperties& properties)
    : api_(api), device_(device), properties_(properties) {}

MemoryPool::~MemoryPool() {
  for (const auto& block : blocks_) api_.vkFreeMemory(device_, block->memory, nullptr);
}

Allocation MemoryPool::allocate(const VkMemoryRequirements& requirements, VkDeviceSize alignment,
                                const std::vector<VkMemoryPropertyFlags>& preferred) {
  alignment = std::max(alignment, requirements.alignment);
  for (VkMemoryPropertyFlags flags : preferred) {
    for (uint32_t type = 0; type < properties_.memoryTypeCount; ++type) {
      const bool allowed = (requirements.memoryTypeBits >> type) & 1u;
      if (!allowed || (properties_.memoryTypes[type].propertyFlags & flags) != flags) continue;
      Allocation allocation = allocateIn(type, requirements.size, alignment);
      if (allocation.block != nullptr) return allocation;
    }
  }
  throw Error(LATHE_ERROR_OUT_OF_MEMORY, "vulkan: cannot allocate " + std::to_string(requirements.size) +
                                             " bytes of device memory");
}

Allocation MemoryPool::allocateIn(uint32_t type, VkDeviceSize size, VkDeviceSize alignment) {
  for (const auto& block : blocks_) {
    if (block->type != type) continue;
    if (const std::optional<uint64_t> start = block->free.take(size, alignment)) return {block.get(), *start, size};
  }
  auto block = std::make_unique<Block>(type, std::max(size, kBlockBytes));
  const VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, nullptr, block->size, type};
  if (api_.vkAllocateMemory(device_, &info, nullptr, &block->memory) != VK_SUCCESS) return {};
  if (properties_.memoryTypes[type].propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) {
    check(api_.vkMapMemory(device_, block->memory, 0, VK_WHOLE_SIZE, 0, &block->mapped), "mapping device memory");
  }
  block->free.take(size);  // at offset 0 of the new block
  blocks_.push_back(std::move(block));
  return {blocks_.back().get(), 0, size};
}

void MemoryPool::release(const Allocation& allocation) { allocation.block->free.give(allocation.offset, allocation.size); }

namespace {

VKAPI_ATTR VkBool32 VKAPI_CALL onValidationMessage(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                   VkDebugUtilsMessageTypeFlagsEXT,
                                                   const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    static_cast<Context*>(user)->recordValidationError(data->pMessage ? data->pMessage : "(no message)");
  }
  return VK_FALSE;
}

int typeRank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 0;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 1;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 3;
    default: return 4;
  }
}

bool isIndex(const std::string& text) {
  return !text.empty() && text.size() < 9 && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Context::Context(const std::string& selector) {
  api_.loadGlobal();
  const char* validation = std::getenv("LATHE_VULKAN_VALIDATION");
  validation_ = validation != nullptr && std::string(validation) == "1";
  try {
    createInstance();
    createDevice(choosePhysicalDevice(selector));
  } catch (...) {
    destroy();
    throw;
  }
}

Context::~Context() { destroy(); }

void Context::destroy() {
  memory_.reset();
  if (device_ != VK_NULL_HANDLE) api_.vkDestroyDevice(device_, nullptr);
  if (messenger_ != VK_NULL_HANDLE) api_.vkDestroyDebugUtilsMessengerEXT(instance_, messenger_, nullptr);
  if (instance_ != VK_NULL_HANDLE) api_.vkDestroyInstance(instance_, nullptr);
}

void Context::createInstance() {
  std::vector<const char*> layers, extensions;
  if (validation_) {
    uint32_t count = 0;
    api_.vkEnumerateInstanceLayerProperties(&count, nullptr);
    std::vector<VkLayerProperties> available(count);
    api_.vkEnumerateInstanceLayerProperties(&count, available.data());
    const bool found = std::any_of(available.begin(), available.end(),
                                   [](const VkLayerProperties& layer) { return std::strcmp(layer.layerName, kValidationLayer) == 0; });
    if (!found) {
      throw Error(LATHE_ERROR_UNSUPPORTED, std::string("LATHE_VULKAN_VALIDATION=1, but the layer ") +
                                               kValidationLayer + " is not installed (vulkan-validationlayers)");
    }
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  VkApplicationInfo application{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  application.pApplicationName = "lathe";
  application.pEngineName = "lathe";
  application.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pApplicationInfo = &application;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  const VkResult result = api_.vkCreateInstance(&info, nullptr, &instance_);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER) {
    throw Error(LATHE_ERROR_UNSUPPORTED, "no Vulkan device: the loader found no Vulkan 1.2 driver");
  }
  check(result, "creating the instance");
  api_.loadInstance(instance_, validation_);
  if (validation_) {
    VkDebugUtilsMessengerCreateInfoEXT messenger{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    messenger.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    messenger.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                            VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                            VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    messenger.pfnUserCallback = onValidationMessage;
    messenger.pUserData = this;
    check(api_.vkCreateDebugUtilsMessengerEXT(instance_, &messenger, nullptr, &messenger_),
          "creating the validation messenger");
  }
}

VkPhysicalDevice Context::choosePhysicalDevice(const std::string& selector) {
  uint32_t count = 0;
  api_.vkEnumeratePhysicalDevices(instance_, &count, nullptr);
  std::vector<VkPhysicalDevice> devices(count);
  if (count > 0) check(api_.vkEnumeratePhysicalDevices(instance_, &count, devices.data()), "listing devices");
  if (devices.empty()) throw Error(LATHE_ERROR_UNSUPPORTED, "no Vulkan device: the loader lists none");
  std::vector<VkPhysicalDeviceProperties> properties(count);
  std::string names;
  for (uint32_t i = 0; i < count; ++i) {
    api_.vkGetPhysicalDeviceProperties(devices[i], &properties[i]);
    names += (i ? ", " : "") + std::to_string(i) + " '" + properties[i].deviceName + "'";
  }
  const std::string listing = std::to_string(count) + (count == 1 ? " device: " : " devices: ") + names;
  if (selector.empty()) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < count; ++i) {
      if (typeRank(properties[i].deviceType) < typeRank(properties[best].deviceType)) best = i;
    }
    return devices[best];
  }
  if (isIndex(selector)) {
    const unsigned long index = std::stoul(selector);
    if (index >= count) throw Error(LATHE_ERROR_INVALID_ARGUMENT, "vulkan:" + selector + " out of range (" + listing + ")");
    return devices[index];
  }
  for (uint32_t i = 0; i < count; ++i) {
    if (std::string(properties[i].deviceName).find(selector) != std::string::npos) return devices[i];
  }
  throw Error(LATHE_ERROR_NOT_FOUND, "no Vulkan device named like '" + selector + "' (" + listing + ")");
}

void Context::createDevice(VkPhysicalDevice physical) {
  DeviceSupport& s = support_;
  s.subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
  VkPhysicalDeviceProperties2 properties{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &s.subgroup};
  api_.vkGetPhysicalDeviceProperties2(physical, &properties);
  s.properties = properties.properties;
  if (s.properties.apiVersion < VK_API_VERSION_1_2) {
    throw Error(LATHE_ERROR_UNSUPPORTED, std::string("Vulkan device '") + s.properties.deviceName +
                                             "' supports Vulkan " + std::to_string(VK_API_VERSION_MAJOR(s.properties.apiVersion)) +
                                             "." + std::to_string(VK_API_VERSION_MINOR(s.properties.apiVersion)) +
                                             "; Lathe needs 1.2");
  }
  s.features12 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  s.features11 = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &s.features12};
  s.features = {VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &s.features11};
  api_.vkGetPhysicalDeviceFeatures2(physical, &s.features);
  uint32_t extension_count = 0;
  api_.vkEnumerateDeviceExtensionProperties(physical, nullptr, &extension_count, nullptr);
  std::vector<VkExtensionProperties> extensions(extension_count);
  api_.vkEnumerateDeviceExtensionProperties(physical, nullptr, &extension_count, extensions.data());
  for (const VkExtensionProperties& extension : extensions) s.extensions.insert(extension.extensionName);

  uint32_t family_count = 0;
  api_.vkGetPhysicalDeviceQueueFamilyProperties(physical, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  api_.vkGetPhysicalDeviceQueueFamilyProperties(physical, &family_count, families.data());
  bool found = false;
  for (uint32_t i = 0; i < family_count && !found; ++i) {
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      queue_family_ = i;
      found = true;
    }
  }
  if (!found) throw Error(LATHE_ERROR_UNSUPPORTED, "Vulkan device '" + name() + "' has no compute queue");
  timestamps_supported_ = families[queue_family_].timestampValidBits > 0;
  unified_memory_ = s.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                    s.properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;

  // Enable every feature a generated kernel may need that the device has;
  // the structs hold exactly the supported ones, minus unrelated extras.
  VkPhysicalDeviceVulkan12Features enable12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  enable12.shaderFloat16 = s.features12.shaderFloat16;
  enable12.shaderInt8 = s.features12.shaderInt8;
  enable12.storageBuffer8BitAccess = s.features12.storageBuffer8BitAccess;
  enable12.shaderBufferInt64Atomics = s.features12.shaderBufferInt64Atomics;
  enable12.vulkanMemoryModel = s.features12.vulkanMemoryModel;
  enable12.vulkanMemoryModelDeviceScope = s.features12.vulkanMemoryModelDeviceScope;
  VkPhysicalDeviceVulkan11Features enable11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &enable12};
  enable11.storageBuffer16BitAccess = s.features11.storageBuffer16BitAccess;
  enable11.variablePointersStorageBuffer = s.features11.variablePointersStorageBuffer;
  enable11.variablePointers = s.features11.variablePointers;
  VkPhysicalDeviceFeatures2 enable{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &enable11};
  enable.features.shaderInt64 = s.features.features.shaderInt64;
  enable.features.shaderInt16 = s.features.features.shaderInt16;
  enable.features.shaderFloat64 = s.features.features.shaderFloat64;

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue.queueFamilyIndex = queue_family_;
  queue.queueCount = 1;
  queue.pQueuePriorities = &priority;
  VkDeviceCreateInfo info{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &enable};
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queue;
  check(api_.vkCreateDevice(physical, &info, nullptr, &device_), "creating the device for '" + name() + "'");
  api_.vkGetDeviceQueue(device_, queue_family_, 0, &queue_);

  VkPhysicalDeviceMemoryProperties memory;
  api_.vkGetPhysicalDeviceMemoryProperties(physical, &memory);
  memory_ = std::make_unique<MemoryPool>(api_, device_, memory);
}

void Context::recordValidationError(const std::string& message) {
  std::lock_guard<std::mutex> lock(validation_mutex_);
  validation_errors_.push_back(message);
}

void Context::throwValidationErrors(const std::string& during) {
  std::lock_guard<std::mutex> lock(validation_mutex_);
  if (validation_errors_.empty()) return;
  std::string message = "vulkan validation: " + std::to_string(validation_errors_.size()) + " error(s) during " +
                        during + ": " + validation_errors_.front();
  validation_errors_.clear();
  throw Error(LATHE_ERROR_INTERNAL, message);
}

}  // namespace lathe::runtime::vk
