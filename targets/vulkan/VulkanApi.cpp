#include "VulkanApi.h"

#include <dlfcn.h>

#include "Error.h"

namespace lathe::runtime::vk {

void Api::loadGlobal() {
  library = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    throw Error(LATHE_ERROR_UNSUPPORTED, std::string("no Vulkan loader (libvulkan.so.1) on this machine: ") +
                                             dlerror() + "; install a Vulkan loader and driver (e.g. libvulkan1)");
  }
  vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(library, "vkGetInstanceProcAddr"));
  if (vkGetInstanceProcAddr == nullptr) {
    throw Error(LATHE_ERROR_UNSUPPORTED, "libvulkan.so.1 has no vkGetInstanceProcAddr");
  }
#define LATHE_VK_LOAD_GLOBAL(name)                                                         \
  name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(VK_NULL_HANDLE, #name));       \
  if (name == nullptr) throw Error(LATHE_ERROR_UNSUPPORTED, "the Vulkan loader lacks " #name);
  LATHE_VK_GLOBAL_FUNCTIONS(LATHE_VK_LOAD_GLOBAL)
#undef LATHE_VK_LOAD_GLOBAL
}

void Api::loadInstance(VkInstance instance, bool debug_utils) {
#define LATHE_VK_LOAD(name)                                                          \
  name = reinterpret_cast<PFN_##name>(vkGetInstanceProcAddr(instance, #name));       \
  if (name == nullptr) throw Error(LATHE_ERROR_UNSUPPORTED, "the Vulkan instance lacks " #name);
  LATHE_VK_INSTANCE_FUNCTIONS(LATHE_VK_LOAD)
  if (debug_utils) {
    LATHE_VK_DEBUG_FUNCTIONS(LATHE_VK_LOAD)
  }
#undef LATHE_VK_LOAD
}

Api::~Api() {
  if (library != nullptr) dlclose(library);
}

const char* resultName(VkResult result) {
  switch (result) {
#define LATHE_VK_RESULT(name) \
  case name: return #name;
    LATHE_VK_RESULT(VK_SUCCESS)
    LATHE_VK_RESULT(VK_NOT_READY)
    LATHE_VK_RESULT(VK_TIMEOUT)
    LATHE_VK_RESULT(VK_INCOMPLETE)
    LATHE_VK_RESULT(VK_ERROR_OUT_OF_HOST_MEMORY)
    LATHE_VK_RESULT(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    LATHE_VK_RESULT(VK_ERROR_INITIALIZATION_FAILED)
    LATHE_VK_RESULT(VK_ERROR_DEVICE_LOST)
    LATHE_VK_RESULT(VK_ERROR_MEMORY_MAP_FAILED)
    LATHE_VK_RESULT(VK_ERROR_LAYER_NOT_PRESENT)
    LATHE_VK_RESULT(VK_ERROR_EXTENSION_NOT_PRESENT)
    LATHE_VK_RESULT(VK_ERROR_FEATURE_NOT_PRESENT)
    LATHE_VK_RESULT(VK_ERROR_INCOMPATIBLE_DRIVER)
    LATHE_VK_RESULT(VK_ERROR_TOO_MANY_OBJECTS)
    LATHE_VK_RESULT(VK_ERROR_FORMAT_NOT_SUPPORTED)
    LATHE_VK_RESULT(VK_ERROR_FRAGMENTED_POOL)
    LATHE_VK_RESULT(VK_ERROR_UNKNOWN)
    LATHE_VK_RESULT(VK_ERROR_OUT_OF_POOL_MEMORY)
    LATHE_VK_RESULT(VK_ERROR_FRAGMENTATION)
    LATHE_VK_RESULT(VK_ERROR_INVALID_SHADER_NV)
#undef LATHE_VK_RESULT
    default: return "VkResult(unknown)";
  }
}

void check(VkResult result, const std::string& what) {
  if (result == VK_SUCCESS) return;
  const bool memory = result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY ||
                      result == VK_ERROR_OUT_OF_POOL_MEMORY;
  throw Error(memory ? LATHE_ERROR_OUT_OF_MEMORY : LATHE_ERROR_INTERNAL,
              "vulkan: " + what + ": " + resultName(result) + " (" + std::to_string(result) + ")");
}

}  // namespace lathe::runtime::vk
